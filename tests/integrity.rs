//! Integration tests for `hash`, `verify` and `diff`, driving the real binary on temporary
//! trees (in the spirit of b3sum's tests/cli_tests.rs).

use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn mlguard() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mlguard"));
    c.stdin(Stdio::null());
    c
}

fn run(args: &[&OsStr]) -> Output {
    mlguard().args(args).output().expect("run mlguard")
}

fn s(x: &str) -> &OsStr {
    OsStr::new(x)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small dataset tree.
fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    std::fs::create_dir_all(d.join("train")).unwrap();
    std::fs::write(d.join("train/a.csv"), "x,y\n1,2\n").unwrap();
    std::fs::write(d.join("train/b.csv"), "x,y\n3,4\n").unwrap();
    std::fs::write(d.join("labels.txt"), "cat\ndog\n").unwrap();
    t
}

fn hash_to(dir: &Path, manifest: &Path, extra: &[&str]) -> Value {
    let mut args: Vec<&OsStr> = vec![
        s("hash"),
        dir.as_os_str(),
        s("-o"),
        manifest.as_os_str(),
        s("-q"),
    ];
    args.extend(extra.iter().map(|x| s(x)));
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "hash failed: {}", stderr(&o));
    serde_json::from_slice(&std::fs::read(manifest).unwrap()).unwrap()
}

fn verify_json(dir: &Path, manifest: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args: Vec<&OsStr> = vec![
        s("verify"),
        dir.as_os_str(),
        s("--manifest"),
        manifest.as_os_str(),
        s("--format"),
        s("json"),
        s("-q"),
    ];
    args.extend(extra.iter().map(|x| s(x)));
    let o = run(&args);
    let code = o.status.code().unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("bad json ({e}): {} / {}", stdout(&o), stderr(&o)));
    (code, v)
}

fn status_of<'a>(report: &'a Value, path: &str) -> Option<&'a Value> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
}

#[test]
fn unchanged_tree_verifies() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    let man = hash_to(&d, &m, &[]);
    assert_eq!(man["version"], 1);
    let paths: Vec<&str> = man["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["labels.txt", "train/a.csv", "train/b.csv"]);
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 0);
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["summary"]["ok"], 3);
    assert_eq!(r["files"].as_array().unwrap().len(), 0);
    // Human output: a summary line and nothing else.
    let o = run(&[s("verify"), d.as_os_str(), s("--manifest"), m.as_os_str()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "verify: PASS (3 files: 3 ok)\n");
}

#[test]
fn every_status_is_reported() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    std::os::unix::fs::symlink("labels.txt", d.join("link")).unwrap();
    std::fs::write(d.join("gone.txt"), "bye").unwrap();
    hash_to(&d, &m, &["--follow-symlinks"]);
    // That manifest followed links; make a second, link-recording manifest for type checks.
    let m2 = t.path().join("m2.json");
    hash_to(&d, &m2, &[]);

    std::fs::write(d.join("train/a.csv"), "x,y\n1,9\n").unwrap(); // modified
    std::fs::remove_file(d.join("gone.txt")).unwrap(); // missing
    std::fs::write(d.join("new.csv"), "new").unwrap(); // added
    std::fs::rename(d.join("train/b.csv"), d.join("train/b2.csv")).unwrap(); // moved
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["verdict"], "fail");
    assert_eq!(status_of(&r, "train/a.csv").unwrap()["status"], "modified");
    assert_eq!(status_of(&r, "gone.txt").unwrap()["status"], "missing");
    assert_eq!(status_of(&r, "new.csv").unwrap()["status"], "added");
    let moved = status_of(&r, "train/b2.csv").unwrap();
    assert_eq!(moved["status"], "moved");
    assert_eq!(moved["from"], "train/b.csv");
    assert_eq!(r["summary"]["modified"], 1);
    assert_eq!(r["summary"]["missing"], 1);
    assert_eq!(r["summary"]["added"], 1);
    assert_eq!(r["summary"]["moved"], 1);
    // A retargeted symlink is type_changed (link-recording manifest).
    std::fs::remove_file(d.join("link")).unwrap();
    std::os::unix::fs::symlink("new.csv", d.join("link")).unwrap();
    let (code, r) = verify_json(&d, &m2, &[]);
    assert_eq!(code, 1);
    let tc = status_of(&r, "link").unwrap();
    assert_eq!(tc["status"], "type_changed");
    assert!(
        tc["detail"].as_str().unwrap().contains("labels.txt"),
        "{tc}"
    );
    // A symlink replaced by a regular file is type_changed too.
    std::fs::remove_file(d.join("link")).unwrap();
    std::fs::write(d.join("link"), "labels").unwrap();
    let (_, r) = verify_json(&d, &m2, &[]);
    assert_eq!(status_of(&r, "link").unwrap()["status"], "type_changed");
}

#[test]
fn added_files_fail_unless_allowed() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    hash_to(&d, &m, &[]);
    std::fs::write(d.join("extra.bin"), "poison").unwrap();
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&r, "extra.bin").unwrap()["status"], "added");
    let (code, r) = verify_json(&d, &m, &["--allow-added"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["summary"]["added"], 1);
}

#[test]
fn unreadable_file_is_reported_not_skipped() {
    // Root can read any mode, so make the file unreadable by turning it into a dangling
    // symlink in a manifest that follows links.
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    hash_to(&d, &m, &["--follow-symlinks"]);
    std::fs::remove_file(d.join("labels.txt")).unwrap();
    std::os::unix::fs::symlink("nowhere", d.join("labels.txt")).unwrap();
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&r, "labels.txt").unwrap()["status"], "unreadable");
    // hash refuses (exit 2, naming the file) unless --allow-unreadable.
    let o = run(&[s("hash"), s("--follow-symlinks"), d.as_os_str(), s("-q")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("labels.txt"), "{}", stderr(&o));
    let o = run(&[
        s("hash"),
        s("--follow-symlinks"),
        s("--allow-unreadable"),
        d.as_os_str(),
        s("-q"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let man: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(man["skipped"][0]["path"], "labels.txt");
    assert!(man["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("unreadable"));
}

#[test]
fn modified_large_file_reports_byte_range() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    std::fs::create_dir(&d).unwrap();
    let mut big: Vec<u8> = (0..3_500_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(d.join("shard.bin"), &big).unwrap();
    let m = t.path().join("m.json");
    let man = hash_to(&d, &m, &["--chunk-size", "1M"]);
    assert_eq!(man["files"][0]["chunks"].as_array().unwrap().len(), 4);
    assert_eq!(
        man["files"][0]["blake3"].as_str().unwrap(),
        blake3::hash(&big).to_hex().as_str(),
        "chunked hashing must give the plain BLAKE3 of the file"
    );
    big[1_500_000] ^= 0xff;
    std::fs::write(d.join("shard.bin"), &big).unwrap();
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 1);
    let f = status_of(&r, "shard.bin").unwrap();
    assert_eq!(f["status"], "modified");
    assert_eq!(f["first_difference"], serde_json::json!([1048576, 2097151]));
}

#[test]
fn output_is_deterministic_across_thread_counts() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    for i in 0..200 {
        let sub = d.join(format!("part{}", i % 7));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i}.bin")), vec![i as u8; i * 97]).unwrap();
    }
    std::fs::write(d.join("big.bin"), vec![7u8; 3 << 20]).unwrap();
    let a = t.path().join("a.json");
    let b = t.path().join("b.json");
    let o1 = run(&[
        s("-j"),
        s("1"),
        s("hash"),
        d.as_os_str(),
        s("--chunk-size"),
        s("1M"),
        s("-o"),
        a.as_os_str(),
    ]);
    let o2 = run(&[
        s("--threads"),
        s("2"),
        s("hash"),
        d.as_os_str(),
        s("--chunk-size"),
        s("1M"),
        s("-o"),
        b.as_os_str(),
    ]);
    assert!(o1.status.success() && o2.status.success());
    let va: Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    let vb: Value = serde_json::from_slice(&std::fs::read(&b).unwrap()).unwrap();
    assert_eq!(va["files"], vb["files"]);
    assert_eq!(va["root"], vb["root"]);
    assert_eq!(va["files"].as_array().unwrap().len(), 201);
}

#[test]
fn non_utf8_names_roundtrip() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    std::fs::create_dir(&d).unwrap();
    let name = OsStr::from_bytes(b"caf\xe9.csv");
    std::fs::write(d.join(name), "latin-1 name").unwrap();
    std::fs::write(d.join("back\\slash"), "b").unwrap();
    let m = t.path().join("m.json");
    let man = hash_to(&d, &m, &[]);
    let paths: Vec<&str> = man["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["back\\\\slash", "caf\\xe9.csv"]);
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 0, "{r}");
    // Renaming the file to the escaped spelling is a different file.
    std::fs::rename(d.join(name), d.join("caf\\xe9.csv")).unwrap();
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["moved"], 1, "{r}");
}

#[test]
fn symlinks_recorded_and_loops_rejected() {
    let t = tree();
    let d = t.path().join("data");
    std::os::unix::fs::symlink("..", d.join("train/loop")).unwrap();
    let o = run(&[s("hash"), d.as_os_str(), s("-q")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let man: Value = serde_json::from_slice(&o.stdout).unwrap();
    let link = man["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "train/loop")
        .unwrap();
    assert_eq!(link["type"], "symlink");
    assert_eq!(link["target"], "..");
    let o = run(&[s("hash"), s("--follow-symlinks"), d.as_os_str(), s("-q")]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("symlink loop") && err.contains("train/loop"),
        "{err}"
    );
}

#[test]
fn fifo_is_skipped_and_reported_without_hanging() {
    let t = tree();
    let d = t.path().join("data");
    let fifo = d.join("pipe");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let o = run(&[s("hash"), d.as_os_str()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("FIFO"), "{}", stderr(&o));
    let man: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(man["skipped"][0]["path"], "pipe");
    assert!(man["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["path"] != "pipe"));
}

#[test]
fn verify_with_a_fifo_in_the_tree_is_incomplete_not_pass() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    hash_to(&d, &m, &[]);
    let st = Command::new("mkfifo").arg(d.join("pipe")).status().unwrap();
    assert!(st.success());
    // Every manifest file verifies, but the FIFO was never read: exit 2, verdict incomplete.
    let (code, v) = verify_json(&d, &m, &["--allow-added"]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["summary"]["skipped"], 1);
    assert_eq!(v["skipped"][0]["what"], "file");
    assert_eq!(v["skipped"][0]["file"], "pipe");
    assert!(v["skipped"][0]["reason"].as_str().unwrap().contains("FIFO"));
    // The table lists it and says INCOMPLETE.
    let o = run(&[s("verify"), d.as_os_str(), s("-m"), m.as_os_str(), s("-q")]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    assert!(
        out.contains("not read (skipped):\n  file pipe: FIFO"),
        "{out}"
    );
    assert!(out.contains("verify: INCOMPLETE (3 files:"), "{out}");
    // JUnit: an erroring gate case and a skipped case naming the file.
    let o = run(&[
        s("verify"),
        d.as_os_str(),
        s("-m"),
        m.as_os_str(),
        s("--format"),
        s("junit"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let x = stdout(&o);
    assert!(x.contains(r#"errors="1" skipped="1""#), "{x}");
    assert!(x.contains(r#"name="gate (incomplete)""#), "{x}");
    assert!(
        x.contains(r#"name="pipe"><skipped message="file pipe: FIFO"#),
        "{x}"
    );
    // --allow-partial restores warnings-only.
    let (code, v) = verify_json(&d, &m, &["--allow-partial"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["skipped"][0]["file"], "pipe");
    // A real difference still fails (1) with the FIFO listed.
    std::fs::write(d.join("labels.txt"), "cat\nemu\n").unwrap();
    let (code, v) = verify_json(&d, &m, &[]);
    assert_eq!(code, 1);
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["summary"]["skipped"], 1);
}

#[test]
fn empty_files_and_directories() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    std::fs::create_dir_all(d.join("empty_dir")).unwrap();
    let o = run(&[s("hash"), d.as_os_str(), s("-q")]);
    assert_eq!(o.status.code(), Some(0));
    let man: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(man["files"].as_array().unwrap().len(), 0);
    // MTH({}) = BLAKE3("").
    assert_eq!(
        man["root"],
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    std::fs::write(d.join("empty.csv"), "").unwrap();
    let o = run(&[s("hash"), d.as_os_str(), s("-q")]);
    let man: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(man["files"][0]["size"], 0);
    assert_eq!(
        man["files"][0]["blake3"],
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
}

#[test]
fn blake3_known_answers() {
    // Official BLAKE3 test vectors: input byte i is (i % 251).
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    std::fs::create_dir(&d).unwrap();
    let vectors = [
        (
            0usize,
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        ),
        (
            1,
            "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
        ),
        (
            1023,
            "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11",
        ),
        (
            1024,
            "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
        ),
        (
            1025,
            "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
        ),
        (
            102400,
            "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085",
        ),
    ];
    for (n, _) in vectors {
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        std::fs::write(d.join(format!("v{n:06}")), data).unwrap();
    }
    // Chunk size 1K forces the chunked (parallel, merged) path for the larger inputs.
    let o = run(&[
        s("hash"),
        d.as_os_str(),
        s("--chunk-size"),
        s("1K"),
        s("-q"),
    ]);
    let man: Value = serde_json::from_slice(&o.stdout).unwrap();
    for (i, (n, hex)) in vectors.iter().enumerate() {
        assert_eq!(man["files"][i]["path"], format!("v{n:06}"));
        assert_eq!(man["files"][i]["blake3"], *hex, "len {n}");
    }
}

/// RFC 9162 Merkle tree head, written independently of the library.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => *blake3::hash(b"").as_bytes(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            let mut h = blake3::Hasher::new();
            h.update(&[1]);
            h.update(&mth(&leaves[..k]));
            h.update(&mth(&leaves[k..]));
            *h.finalize().as_bytes()
        }
    }
}

fn leaf(path: &str, content: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&[0x00, 0x01]); // leaf prefix, then kind = regular file
    h.update(&(path.len() as u64).to_le_bytes());
    h.update(path.as_bytes());
    h.update(&(content.len() as u64).to_le_bytes());
    h.update(blake3::hash(content).as_bytes());
    *h.finalize().as_bytes()
}

#[test]
fn merkle_roots_known_answers() {
    for n in [0usize, 1, 2, 3, 7] {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        std::fs::create_dir(&d).unwrap();
        let mut leaves = Vec::new();
        for i in 0..n {
            let name = format!("f{i}");
            let content = format!("content {i}");
            std::fs::write(d.join(&name), &content).unwrap();
            leaves.push(leaf(&name, content.as_bytes()));
        }
        let o = run(&[s("hash"), d.as_os_str(), s("-q")]);
        let man: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            man["root"].as_str().unwrap(),
            hex::encode(mth(&leaves)),
            "n={n}"
        );
    }
}

fn write_manifest_with(dir: &Path, edit: impl Fn(&mut Value)) -> PathBuf {
    let d = dir.join("data");
    let m = dir.join("m.json");
    let mut man = hash_to(&d, &m, &[]);
    edit(&mut man);
    let bad = dir.join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&man).unwrap()).unwrap();
    bad
}

#[test]
fn malicious_manifests_are_rejected_naming_the_entry() {
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "absolute path",
            Box::new(|m: &mut Value| m["files"][0]["path"] = "/etc/passwd".into()),
        ),
        (
            "'..'",
            Box::new(|m: &mut Value| m["files"][0]["path"] = "../../etc/passwd".into()),
        ),
        (
            "NUL",
            Box::new(|m: &mut Value| m["files"][0]["path"] = "a\\x00b".into()),
        ),
        (
            "duplicate path",
            Box::new(|m: &mut Value| {
                let f = m["files"][1].clone();
                m["files"].as_array_mut().unwrap().insert(1, f);
            }),
        ),
        (
            "does not match its own entries",
            Box::new(|m: &mut Value| m["files"][0]["size"] = 999.into()),
        ),
    ];
    for (needle, edit) in cases {
        let t = tree();
        let bad = write_manifest_with(t.path(), edit);
        let o = run(&[
            s("verify"),
            t.path().join("data").as_os_str(),
            s("--manifest"),
            bad.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{needle}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(needle) && err.contains("bad.json"),
            "{needle}: {err}"
        );
    }
    // Malformed JSON names the file too.
    let t = tree();
    let bad = t.path().join("trunc.json");
    std::fs::write(&bad, "{\"version\": 1, \"files\": [").unwrap();
    let o = run(&[
        s("verify"),
        t.path().join("data").as_os_str(),
        s("--manifest"),
        bad.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("trunc.json"));
}

#[test]
fn diff_compares_manifests() {
    let t = tree();
    let d = t.path().join("data");
    let m1 = t.path().join("v1.json");
    hash_to(&d, &m1, &[]);
    std::fs::write(d.join("labels.txt"), "cat\nfox\n").unwrap();
    std::fs::rename(d.join("train/a.csv"), d.join("train/a_moved.csv")).unwrap();
    std::fs::remove_file(d.join("train/b.csv")).unwrap();
    std::fs::write(d.join("new.csv"), "n").unwrap();
    let m2 = t.path().join("v2.json");
    hash_to(&d, &m2, &[]);
    let o = run(&[
        s("diff"),
        m1.as_os_str(),
        m2.as_os_str(),
        s("--format"),
        s("json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status_of(&r, "labels.txt").unwrap()["status"], "modified");
    assert_eq!(
        status_of(&r, "train/a_moved.csv").unwrap()["from"],
        "train/a.csv"
    );
    assert_eq!(status_of(&r, "train/b.csv").unwrap()["status"], "removed");
    assert_eq!(status_of(&r, "new.csv").unwrap()["status"], "added");
    assert_eq!(r["summary"]["removed"], 1);
    assert_eq!(r["summary"]["moved"], 1);
    assert_eq!(r["summary"]["added"], 1);
    assert!(r["summary"].get("missing").is_none());
    let o = run(&[s("diff"), m1.as_os_str(), m1.as_os_str()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("diff: PASS"));
}

#[test]
fn junit_and_exit_codes() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    hash_to(&d, &m, &[]);
    std::fs::write(d.join("labels.txt"), "changed").unwrap();
    let o = run(&[
        s("verify"),
        d.as_os_str(),
        s("--manifest"),
        m.as_os_str(),
        s("--format"),
        s("junit"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let x = stdout(&o);
    assert!(
        x.contains("<testcase classname=\"integrity.modified\" name=\"labels.txt\">"),
        "{x}"
    );
    assert!(x.contains("failures=\"1\""));
    // Usage and input errors are 2.
    assert_eq!(run(&[s("verify"), d.as_os_str()]).status.code(), Some(2));
    assert_eq!(
        run(&[s("hash"), s("/nonexistent/dir")]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&[s("hash"), d.as_os_str(), s("--chunk-size"), s("1000")])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&[s("hash"), d.as_os_str(), s("--format"), s("sarif")])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn manifest_written_inside_the_tree_is_not_part_of_it() {
    let t = tree();
    let d = t.path().join("data");
    let m = d.join("MANIFEST.json");
    let man = hash_to(&d, &m, &[]);
    assert!(man["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["path"] != "MANIFEST.json"));
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 0, "{r}");
}

#[test]
fn exclude_globs_and_ignore_file() {
    let t = tree();
    let d = t.path().join("data");
    std::fs::create_dir(d.join(".git")).unwrap();
    std::fs::write(d.join(".git/HEAD"), "ref").unwrap();
    std::fs::write(d.join("train/tmp.swp"), "x").unwrap();
    std::fs::write(d.join(".mlguardignore"), "*.swp\n").unwrap();
    let m = t.path().join("m.json");
    let man = hash_to(&d, &m, &["--exclude", ".git"]);
    let paths: Vec<&str> = man["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [".mlguardignore", "labels.txt", "train/a.csv", "train/b.csv"]
    );
    assert_eq!(man["options"]["excludes"][0], ".git");
    // verify re-applies the manifest's excludes: a new .git file does not count as added.
    std::fs::write(d.join(".git/index"), "i").unwrap();
    let (code, _) = verify_json(&d, &m, &[]);
    assert_eq!(code, 0);
}

/// Tools named by the issue are required in CI (`.ci/run` installs them); locally a missing
/// tool skips the test with a note.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required in CI (.ci/run installs it)");
        }
        eprintln!("note: {tool} not on PATH; skipping its interop check");
    }
    ok
}

#[test]
fn check_files_accepted_by_b3sum_and_sha256sum() {
    let t = tree();
    let d = t.path().join("data");
    std::fs::write(d.join("we\\ird"), "backslash").unwrap();
    std::fs::write(d.join("new\nline"), "newline").unwrap();
    for (fmt, tool) in [("b3sum", "b3sum"), ("sha256sum", "sha256sum")] {
        if !have(tool) {
            continue;
        }
        let list = t.path().join(format!("list.{fmt}"));
        let o = run(&[
            s("hash"),
            d.as_os_str(),
            s("--format"),
            s(fmt),
            s("-o"),
            list.as_os_str(),
            s("-q"),
        ]);
        assert_eq!(o.status.code(), Some(0));
        let text = std::fs::read_to_string(&list).unwrap();
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with('\\') && l.ends_with("  new\\nline")),
            "{text}"
        );
        let c = Command::new(tool)
            .current_dir(&d)
            .arg("--check")
            .arg(&list)
            .output()
            .unwrap();
        assert!(
            c.status.success(),
            "{tool} --check failed: {}",
            String::from_utf8_lossy(&c.stdout)
        );
        std::fs::write(d.join("labels.txt"), "tampered").unwrap();
        let c = Command::new(tool)
            .current_dir(&d)
            .arg("--check")
            .arg(&list)
            .output()
            .unwrap();
        assert!(!c.status.success(), "{tool} should notice the change");
        std::fs::write(d.join("labels.txt"), "cat\ndog\n").unwrap();
    }
}

/// Manifest options are not covered by the root: they are validated on read, naming the
/// manifest and the field, before the hasher sees them.
#[test]
fn manifest_options_are_validated_naming_the_field() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    let good = hash_to(&d, &m, &[]);
    let bad = t.path().join("bad.json");
    let check = |v: &Value, want: &str| {
        std::fs::write(&bad, serde_json::to_vec(v).unwrap()).unwrap();
        for cmd in [
            vec![s("verify"), d.as_os_str(), s("-m"), bad.as_os_str()],
            vec![s("diff"), bad.as_os_str(), m.as_os_str()],
        ] {
            let o = run(&cmd);
            assert_eq!(o.status.code(), Some(2), "{want}: {}", stderr(&o));
            let e = stderr(&o);
            assert!(e.contains("bad.json") && e.contains(want), "{want}: {e}");
        }
    };
    for cs in [0u64, 1, 1000, 3072, 1 << 31] {
        let mut v = good.clone();
        v["options"]["chunk_size"] = cs.into();
        check(&v, "options.chunk_size");
    }
    let mut v = good.clone();
    v["options"]["excludes"] = serde_json::json!(["ok", "a[b"]);
    let o = {
        check(&v, "options.excludes[1] 'a[b'");
        run(&[s("verify"), d.as_os_str(), s("-m"), bad.as_os_str()])
    };
    // The manifest's glob is not blamed on a flag the user never gave.
    assert!(!stderr(&o).contains("--exclude"), "{}", stderr(&o));
}

#[test]
fn thread_count_is_capped() {
    let t = tree();
    let d = t.path().join("data");
    for n in ["0", "257", "100000"] {
        let o = run(&[s("-j"), s(n), s("hash"), d.as_os_str()]);
        assert_eq!(o.status.code(), Some(2), "-j {n}");
        assert!(stderr(&o).contains("from 1 to 256"), "{}", stderr(&o));
    }
    let o = run(&[s("-j"), s("256"), s("hash"), d.as_os_str(), s("-q")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn control_characters_in_names_are_escaped_in_human_output() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    hash_to(&d, &m, &[]);
    // A name that would overwrite its line with a forged verdict, and one that clears the
    // screen.
    let forged = "x\rverify: PASS (3 files: 3 ok)";
    std::fs::write(d.join(forged), "new").unwrap();
    std::fs::write(d.join("\u{1b}[2Jhidden"), "new").unwrap();
    let o = run(&[s("verify"), d.as_os_str(), s("-m"), m.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(!out.contains('\r') && !out.contains('\u{1b}'), "{out:?}");
    assert!(out.contains("x\\rverify: PASS"), "{out}");
    assert!(out.contains("\\u{1b}[2Jhidden"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("verify: ")).count(), 1);
    assert!(
        out.lines().last().unwrap().starts_with("verify: FAIL"),
        "{out}"
    );
    // JSON keeps the exact names.
    let (_, v) = verify_json(&d, &m, &[]);
    assert!(status_of(&v, forged).is_some(), "{v}");
    // Errors and notes are escaped too.
    let missing = t.path().join("no\u{1b}]0;title\u{7}such");
    let o = run(&[s("verify"), missing.as_os_str(), s("-m"), m.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(!e.contains('\u{1b}') && !e.contains('\u{7}'), "{e:?}");
    assert!(e.contains("no\\u{1b}]0;title\\u{7}such"), "{e}");
}

#[test]
fn output_equal_to_an_input_is_refused_before_writing() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    hash_to(&d, &m, &[]);
    let before = std::fs::read(&m).unwrap();
    let via_dots = t.path().join("data/../m.json");
    let link = t.path().join("link.json");
    std::os::unix::fs::symlink(&m, &link).unwrap();
    for out in [&m, &via_dots, &link] {
        let o = run(&[
            s("verify"),
            d.as_os_str(),
            s("-m"),
            m.as_os_str(),
            s("-o"),
            out.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
    }
    let m2 = t.path().join("m2.json");
    std::fs::copy(&m, &m2).unwrap();
    let o = run(&[
        s("diff"),
        m.as_os_str(),
        m2.as_os_str(),
        s("-o"),
        m2.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&m).unwrap(), before);
    assert_eq!(std::fs::read(&m2).unwrap(), before);
    // hash: the tree itself is not a place for the manifest; inside the tree is (it is
    // left out of the walk).
    let o = run(&[s("hash"), d.as_os_str(), s("-o"), d.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
}

#[test]
fn ignore_file_must_be_a_regular_file_in_the_tree() {
    let t = tree();
    let d = t.path().join("data");
    let outside = t.path().join("outside.ignore");
    std::fs::write(&outside, "*.secret\n").unwrap();
    std::os::unix::fs::symlink(&outside, d.join(".mlguardignore")).unwrap();
    let m = t.path().join("m.json");
    let o = run(&[s("hash"), d.as_os_str(), s("-o"), m.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(".mlguardignore") && e.contains("is a symlink"),
        "{e}"
    );
    assert!(!m.exists());
    // With a regular ignore file the tree hashes; swapping it for a link later makes
    // verify refuse too, instead of letting the link's target hide added files.
    std::fs::remove_file(d.join(".mlguardignore")).unwrap();
    std::fs::write(d.join(".mlguardignore"), "*.secret\n").unwrap();
    hash_to(&d, &m, &[]);
    std::fs::remove_file(d.join(".mlguardignore")).unwrap();
    std::os::unix::fs::symlink(&outside, d.join(".mlguardignore")).unwrap();
    std::fs::write(&outside, "*.secret\n*.csv\n").unwrap();
    let o = run(&[s("verify"), d.as_os_str(), s("-m"), m.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("is a symlink"), "{}", stderr(&o));
}

/// verify and diff have no --fail-on (every difference fails), so no output names one
/// (`verify --format json` once carried `"fail_on": "high"`).
#[test]
fn verify_and_diff_outputs_name_no_fail_on_level() {
    let t = tree();
    let d = t.path().join("data");
    let m = t.path().join("m.json");
    hash_to(&d, &m, &[]);
    std::fs::write(d.join("train/a.csv"), "x,y\n1,9\n").unwrap();
    let (code, r) = verify_json(&d, &m, &[]);
    assert_eq!(code, 1, "{r}");
    assert!(r.get("fail_on").is_none(), "{r}");
    assert_eq!(r["findings"][0]["severity"], "high");
    let m2 = t.path().join("m2.json");
    hash_to(&d, &m2, &[]);
    let o = run(&[
        s("diff"),
        m.as_os_str(),
        m2.as_os_str(),
        s("--format"),
        s("json"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("fail_on").is_none(), "{v}");
    let o = run(&[s("verify"), d.as_os_str(), s("--manifest"), m.as_os_str()]);
    assert!(!stdout(&o).contains("fail-on"), "{}", stdout(&o));
    // The gates that have --fail-on keep the key.
    let o = run(&[
        s("verify"),
        d.as_os_str(),
        s("--manifest"),
        m.as_os_str(),
        s("--fail-on"),
        s("high"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "verify has no --fail-on: {}",
        stderr(&o)
    );
}

/// `hash` of one large file moves its progress in bytes as the file's pieces are hashed,
/// not once at the end (the bar used to sit at `0 B/60.00 GiB` for the whole file); with
/// --sha256 the second (SHA-256) pass counts too. Seen through the plain-text test seam
/// (`MLGUARD_PROGRESS_TEST=1`; indicatif draws nothing on a pipe); `--quiet` silences it.
#[test]
fn hash_progress_moves_inside_one_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let size: u64 = 6 << 20;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(data.join("big.bin"), &bytes).unwrap();
    let m = dir.path().join("m.json");
    let hash = |extra: &[&str]| {
        mlguard()
            .env("MLGUARD_PROGRESS_TEST", "1")
            .arg("hash")
            .arg(&data)
            .args(["--chunk-size", "1M", "-o"])
            .arg(&m)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = hash(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    crate::util::assert_moves_inside(&o.stderr, size, 4);
    let o = hash(&["--sha256"]);
    assert!(o.status.success(), "{}", stderr(&o));
    crate::util::assert_moves_inside(&o.stderr, 2 * size, 9);
    let o = hash(&["--quiet"]);
    assert!(o.status.success());
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    // verify goes through the same hashing.
    let o = mlguard()
        .env("MLGUARD_PROGRESS_TEST", "1")
        .arg("verify")
        .arg(&data)
        .arg("--manifest")
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    crate::util::assert_moves_inside(&o.stderr, size, 4);
}
