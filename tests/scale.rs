//! Sharding end to end on local trees: `hash|verify|profile --shard INDEX/COUNT`,
//! `manifest merge` and `profile merge` of the parts (the object-storage and Spark versions
//! are in tests/storage.rs).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util as common;
use common::{bin, testdata};

fn text(o: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    bin().args(args).output().unwrap()
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

fn json_ok(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn timeless(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("created");
    v
}

fn paths(m: &Value) -> Vec<String> {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// A tree with nested directories, a symlink, a FIFO (listed as skipped), a file larger
/// than the chunk size, and enough files that every one of 3 shards gets some.
fn tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    for i in 0..30 {
        let dir = r.join(format!("part-{}", i % 4));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i:02}.txt")), format!("content {i}\n")).unwrap();
    }
    std::fs::copy(testdata("datasets/iris.csv"), r.join("iris.csv")).unwrap();
    let big: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(r.join("weights.bin"), big).unwrap();
    std::os::unix::fs::symlink("iris.csv", r.join("latest.csv")).unwrap();
    let fifo = r.join("pipe");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    d
}

/// `hash --shard k/n` of `root` for every k, written next to `out` as part-k.json.
fn hash_parts(root: &Path, n: u64, out: &Path, extra: &[&str]) -> Vec<PathBuf> {
    (0..n)
        .map(|k| {
            let p = out.join(format!("part-{k}.json"));
            let o = bin()
                .arg("hash")
                .arg(root)
                .args(["--shard", &format!("{k}/{n}"), "-o"])
                .arg(&p)
                .args(extra)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            p
        })
        .collect()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn merge(parts: &[PathBuf]) -> Output {
    bin()
        .args(["manifest", "merge"])
        .args(parts)
        .output()
        .unwrap()
}

#[test]
fn shard_parts_cover_every_file_once_and_merge_to_the_unsharded_manifest() {
    let d = tree();
    let out = tempfile::tempdir().unwrap();
    let chunk = ["--chunk-size", "64K"];
    let whole = json_ok(
        &bin()
            .arg("hash")
            .arg(d.path())
            .args(chunk)
            .output()
            .unwrap(),
    );
    let all: Vec<String> = paths(&whole);
    assert!(all.len() >= 33, "{all:?}");
    assert_eq!(whole["skipped"][0]["path"], "pipe");
    for n in [1u64, 3, 7] {
        let parts = hash_parts(d.path(), n, out.path(), &chunk);
        let mut seen: Vec<String> = Vec::new();
        let mut skipped = 0;
        let mut listing = BTreeSet::new();
        for (k, p) in parts.iter().enumerate() {
            let m = read_json(p);
            assert_eq!(m["shard"]["index"], k as u64);
            assert_eq!(m["shard"]["count"], n);
            // The whole listing: 33 entries + the FIFO.
            assert_eq!(m["shard"]["listed"], all.len() as u64 + 1);
            listing.insert(m["shard"]["listing"].as_str().unwrap().to_string());
            if n > 1 {
                assert!(paths(&m).len() < all.len(), "part {k}/{n} holds everything");
            }
            seen.extend(paths(&m));
            skipped += m["skipped"].as_array().map(|a| a.len()).unwrap_or(0);
        }
        assert_eq!(listing.len(), 1, "one listing fingerprint for all parts");
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "a file in two parts");
        let mut want = all.clone();
        want.sort();
        assert_eq!(sorted, want, "every file in exactly one part (n = {n})");
        assert_eq!(skipped, 1, "the FIFO is listed by exactly one part");
        // Any order of the parts.
        let mut rev = parts.clone();
        rev.reverse();
        let merged = json_ok(&merge(&rev));
        assert_eq!(timeless(&merged), timeless(&whole), "n = {n}");
        assert!(merged.get("shard").is_none());
    }
    // The merged manifest verifies the tree (exit 0), and -o works.
    let parts = hash_parts(d.path(), 3, out.path(), &[]);
    let m = out.path().join("merged.json");
    let o = bin()
        .args(["manifest", "merge"])
        .args(&parts)
        .arg("-o")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = bin()
        .arg("verify")
        .arg(d.path())
        .arg("--manifest")
        .arg(&m)
        .arg("--allow-partial")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn adding_a_file_moves_only_that_file() {
    let d = tree();
    let out1 = tempfile::tempdir().unwrap();
    let out2 = tempfile::tempdir().unwrap();
    let before = hash_parts(d.path(), 5, out1.path(), &[]);
    std::fs::write(d.path().join("part-0/new.txt"), "new").unwrap();
    let after = hash_parts(d.path(), 5, out2.path(), &[]);
    let mut moved = 0;
    for (a, b) in before.iter().zip(&after) {
        let (a, b) = (paths(&read_json(a)), paths(&read_json(b)));
        let extra: Vec<&String> = b.iter().filter(|p| !a.contains(p)).collect();
        assert!(a.iter().all(|p| b.contains(p)), "a file left its shard");
        moved += extra.len();
        assert!(extra.iter().all(|p| *p == "part-0/new.txt"), "{extra:?}");
    }
    assert_eq!(moved, 1);
}

#[test]
fn merge_refuses_missing_duplicated_foreign_and_altered_parts() {
    let d = tree();
    let out = tempfile::tempdir().unwrap();
    let parts = hash_parts(d.path(), 3, out.path(), &[]);
    let refused = |o: Output, needle: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(e.contains(needle), "{needle:?} not in {e}");
        assert!(o.stdout.is_empty(), "a manifest was written: {}", text(&o));
        e
    };
    // Missing.
    let e = refused(merge(&parts[..2]), "missing part");
    assert!(e.contains("2/3"), "{e}");
    // Duplicated (the same part under another name).
    let copy = out.path().join("copy-of-0.json");
    std::fs::copy(&parts[0], &copy).unwrap();
    refused(
        merge(&[
            parts[0].clone(),
            parts[1].clone(),
            parts[2].clone(),
            copy.clone(),
        ]),
        &format!("{}: duplicated part", copy.display()),
    );
    // Foreign: another shard count, other options, another listing.
    let other = tempfile::tempdir().unwrap();
    let four = hash_parts(d.path(), 4, other.path(), &[]);
    refused(
        merge(&[parts[0].clone(), parts[1].clone(), four[2].clone()]),
        &format!("{}: foreign part", four[2].display()),
    );
    let opts = tempfile::tempdir().unwrap();
    let sha = hash_parts(d.path(), 3, opts.path(), &["--sha256"]);
    refused(
        merge(&[parts[0].clone(), parts[1].clone(), sha[2].clone()]),
        &format!(
            "{}: foreign part: hashed with other options",
            sha[2].display()
        ),
    );
    std::fs::write(d.path().join("added-later.txt"), "x").unwrap();
    let later = tempfile::tempdir().unwrap();
    let changed = hash_parts(d.path(), 3, later.path(), &[]);
    refused(
        merge(&[parts[0].clone(), parts[1].clone(), changed[2].clone()]),
        &format!("{}: foreign part: its listing", changed[2].display()),
    );
    // A whole manifest is not a part.
    let whole = out.path().join("whole.json");
    let o = bin()
        .arg("hash")
        .arg(d.path())
        .arg("-o")
        .arg(&whole)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    refused(
        merge(&[parts[0].clone(), whole.clone()]),
        &format!("{}: not a shard part", whole.display()),
    );
    // Altered: the FIFO dropped from the skipped list of the part that holds it (outside
    // the root, so the part alone still validates) -> the union no longer has the
    // listing's fingerprint.
    let holder = parts
        .iter()
        .find(|p| read_json(p)["skipped"].as_array().is_some())
        .unwrap();
    let mut v = read_json(holder);
    v.as_object_mut().unwrap().remove("skipped");
    let altered = out.path().join("altered.json");
    std::fs::write(&altered, serde_json::to_vec(&v).unwrap()).unwrap();
    let rest: Vec<PathBuf> = parts.iter().filter(|p| *p != holder).cloned().collect();
    refused(merge(&[rest, vec![altered]].concat()), "a part was altered");
    // An entry moved into another part is refused by that part's validation.
    let mut a = read_json(&parts[0]);
    let b = read_json(&parts[1]);
    a["files"]
        .as_array_mut()
        .unwrap()
        .push(b["files"][0].clone());
    let moved = out.path().join("moved.json");
    std::fs::write(&moved, serde_json::to_vec(&a).unwrap()).unwrap();
    refused(
        merge(&[moved, parts[1].clone(), parts[2].clone()]),
        "moved.json",
    );
    // A part cannot be used where the whole manifest is needed.
    let o = run(&[
        os("verify"),
        d.path().as_os_str(),
        os("--manifest"),
        parts[0].as_os_str(),
    ]);
    refused(o, "manifest merge");
}

#[test]
fn bad_shard_values_exit_2() {
    let d = tree();
    let csv = testdata("datasets/iris.csv");
    let m = tempfile::tempdir().unwrap();
    let manifest = m.path().join("m.json");
    std::fs::write(
        &manifest,
        bin().arg("hash").arg(d.path()).output().unwrap().stdout,
    )
    .unwrap();
    for bad in [
        "3/3", "4/3", "-1/3", "0/0", "1", "a/3", "1/x", "0/100001", "1/3/4", " 0/3",
    ] {
        for args in [
            vec![os("hash"), d.path().as_os_str()],
            vec![
                os("verify"),
                d.path().as_os_str(),
                os("--manifest"),
                manifest.as_os_str(),
            ],
            vec![os("profile"), csv.as_os_str()],
        ] {
            let mut a = args.clone();
            let flag = format!("--shard={bad}");
            a.push(os(&flag));
            let o = run(&a);
            assert_eq!(o.status.code(), Some(2), "{bad:?} {args:?}: {}", text(&o));
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("INDEX/COUNT"),
                "{}",
                text(&o)
            );
        }
    }
    // The largest count is accepted.
    let o = run(&[
        os("hash"),
        d.path().as_os_str(),
        os("--shard"),
        os("99999/100000"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A part is JSON and unsigned: sign/convert the merged manifest.
    for extra in [&["--format", "b3sum"][..], &["--sign", "k.pem"][..]] {
        let mut a = vec![os("hash"), d.path().as_os_str(), os("--shard"), os("0/2")];
        a.extend(extra.iter().map(os));
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    }
}

/// Which shard of `n` holds `path` (from the parts of `hash --shard`).
fn owner(root: &Path, n: u64, path: &str) -> u64 {
    let out = tempfile::tempdir().unwrap();
    hash_parts(root, n, out.path(), &[])
        .iter()
        .position(|p| paths(&read_json(p)).iter().any(|x| x == path))
        .unwrap_or_else(|| panic!("{path} in no part")) as u64
}

fn verify_shard(root: &Path, manifest: &Path, k: u64, n: u64) -> (Option<i32>, Value) {
    let o = bin()
        .arg("verify")
        .arg(root)
        .arg("--manifest")
        .arg(manifest)
        .args(["--shard", &format!("{k}/{n}"), "--format", "json"])
        .arg("--allow-partial")
        .output()
        .unwrap();
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    (o.status.code(), v)
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn sharded_verify_checks_only_its_share_and_fails_on_a_change_in_it() {
    let d = tree();
    let out = tempfile::tempdir().unwrap();
    let manifest = out.path().join("m.json");
    let o = bin()
        .arg("hash")
        .arg(d.path())
        .arg("-o")
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let n = 3;
    let whole = read_json(&manifest);
    let mut total = 0;
    for k in 0..n {
        let (code, v) = verify_shard(d.path(), &manifest, k, n);
        assert_eq!(code, Some(0), "{v}");
        assert_eq!(v["shard"]["index"], k);
        assert_eq!(v["shard"]["count"], n);
        total += v["summary"]["total"].as_u64().unwrap();
    }
    assert_eq!(
        total,
        whole["files"].as_array().unwrap().len() as u64,
        "the parts check every file once"
    );

    // Modify one file, delete another, add a third: each fails only its own shard.
    let modified = "part-1/f05.txt";
    let deleted = "part-2/f10.txt";
    let added = "part-3/zz-added.txt";
    let (sm, sd) = (owner(d.path(), n, modified), owner(d.path(), n, deleted));
    std::fs::write(d.path().join(modified), "tampered\n").unwrap();
    std::fs::remove_file(d.path().join(deleted)).unwrap();
    std::fs::write(d.path().join(added), "new\n").unwrap();
    let sa = owner(d.path(), n, added);
    for k in 0..n {
        let (code, v) = verify_shard(d.path(), &manifest, k, n);
        let st = statuses(&v);
        let mut want = Vec::new();
        if k == sa {
            want.push((added.to_string(), "added".to_string()));
        }
        if k == sm {
            want.push((modified.to_string(), "modified".to_string()));
        }
        if k == sd {
            want.push((deleted.to_string(), "missing".to_string()));
        }
        want.sort();
        assert_eq!(st, want, "shard {k}/{n}");
        let expect = if want.is_empty() { 0 } else { 1 };
        assert_eq!(code, Some(expect), "shard {k}/{n}: {v}");
    }
    // The unsharded verify sees the same three (the combined verdict: any 1 -> 1).
    let o = bin()
        .arg("verify")
        .arg(d.path())
        .arg("--manifest")
        .arg(&manifest)
        .args(["--format", "json", "--allow-partial"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(statuses(&v).len(), 3, "{v}");
}

/// Exact normalised rank of x in `values`.
fn exact_rank(values: &[f64], x: f64) -> f64 {
    values.iter().filter(|v| **v <= x).count() as f64 / values.len() as f64
}

/// Rank of x in a serialised KLL sketch (items at level h weigh 2^h; the levels are
/// decoded from the packed form by the sketch's own reader, the rank counted here).
fn kll_rank(kll: &Value, x: f64) -> f64 {
    let kll: mlguard::profile::sketch::Kll = serde_json::from_value(kll.clone()).unwrap();
    let (mut below, mut total) = (0u64, 0u64);
    for (h, l) in kll.levels.iter().enumerate() {
        for v in l {
            total += 1 << h;
            if *v <= x {
                below += 1 << h;
            }
        }
    }
    below as f64 / total as f64
}

#[test]
fn profile_shards_merge_to_the_whole_within_the_sketch_error_and_pass_drift() {
    // diabetes.csv (442 rows) split into 9 files in two directories.
    let src = std::fs::read_to_string(testdata("datasets/diabetes.csv")).unwrap();
    let mut lines = src.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let d = tempfile::tempdir().unwrap();
    for (i, chunk) in rows.chunks(50).enumerate() {
        let dir = d.path().join(if i % 2 == 0 { "a" } else { "b" });
        std::fs::create_dir_all(&dir).unwrap();
        let mut t = format!("{header}\n");
        for r in chunk {
            t.push_str(r);
            t.push('\n');
        }
        std::fs::write(dir.join(format!("s{i}.csv")), t).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let whole_p = out.path().join("whole.json");
    let o = bin()
        .arg("profile")
        .arg(d.path())
        .arg("-o")
        .arg(&whole_p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let whole = read_json(&whole_p);
    // 16 shards for 9 files: some parts are empty and must still be written and merged.
    for n in [3u64, 16] {
        let parts: Vec<PathBuf> = (0..n)
            .map(|k| {
                let p = out.path().join(format!("p{k}-{n}.json"));
                let o = bin()
                    .arg("profile")
                    .arg(d.path())
                    .args(["--shard", &format!("{k}/{n}"), "-o"])
                    .arg(&p)
                    .output()
                    .unwrap();
                assert_eq!(o.status.code(), Some(0), "{}", text(&o));
                let v = read_json(&p);
                assert_eq!(v["shard"]["count"], n);
                assert_eq!(v["shard"]["listed"], 9);
                p
            })
            .collect();
        if n == 16 {
            assert!(parts.iter().any(|p| read_json(p)["rows"] == 0));
        }
        let merged_p = out.path().join(format!("merged-{n}.json"));
        let o = bin()
            .args(["profile", "merge"])
            .args(&parts)
            .arg("-o")
            .arg(&merged_p)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let merged = read_json(&merged_p);
        assert!(merged.get("shard").is_none());
        assert_eq!(merged["rows"], 442);
        let files = |v: &Value| {
            let mut f: Vec<String> = v["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["path"].as_str().unwrap().to_string())
                .collect();
            f.sort();
            f
        };
        assert_eq!(files(&merged), files(&whole));
        for c in whole["columns"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            let m = merged["columns"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == name)
                .unwrap();
            // Exact parts: counts, HLL registers, min/max; the mean to 1e-9.
            assert_eq!(m["count"], c["count"], "{name}");
            assert_eq!(m["nulls"], c["nulls"], "{name}");
            assert_eq!(m["distinct"], c["distinct"], "{name}");
            assert_eq!(m["moments"]["min"], c["moments"]["min"], "{name}");
            assert_eq!(m["moments"]["max"], c["moments"]["max"], "{name}");
            let (a, b) = (
                m["moments"]["mean"].as_f64().unwrap(),
                c["moments"]["mean"].as_f64().unwrap(),
            );
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
            // Quantiles: the rank of each decile within the stated single-rank epsilon
            // (2.296 / k^0.9723 = 1.33 % at k = 200) of the exact rank, and the rank of every
            // data value within the all-ranks bound (DataSketches' 2.446 / k^0.9433 = 1.66 %).
            let col: usize = header.split(',').position(|h| h == name).unwrap();
            let mut values: Vec<f64> = rows
                .iter()
                .map(|r| r.split(',').nth(col).unwrap().parse().unwrap())
                .collect();
            values.sort_by(f64::total_cmp);
            let (single, all) = (2.296 / 200f64.powf(0.9723), 2.446 / 200f64.powf(0.9433));
            for q in 1..10 {
                let x = values[values.len() * q / 10];
                let err = (kll_rank(&m["quantiles"], x) - exact_rank(&values, x)).abs();
                assert!(
                    err <= single,
                    "{name}: rank error {err} at decile {q} (n = {n})"
                );
            }
            for x in &values {
                let err = (kll_rank(&m["quantiles"], *x) - exact_rank(&values, *x)).abs();
                assert!(err <= all, "{name}: rank error {err} at {x} (n = {n})");
            }
        }
        // The drift gate passes the merged parts against the unsharded profile.
        let o = bin()
            .args(["drift", "--baseline"])
            .arg(&whole_p)
            .arg(&merged_p)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        // A missing or foreign part is refused.
        let o = bin()
            .args(["profile", "merge"])
            .args(&parts[1..])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("missing part"));
        let o = bin()
            .args(["profile", "merge"])
            .args(&parts)
            .arg(&whole_p)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("whole.json: not a shard part"),
            "{}",
            text(&o)
        );
    }
}
