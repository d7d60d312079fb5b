//! Integration tests for keygen, sign, verify --signature, prove and verify-file.

use base64::Engine;
use ed25519_dalek::Signer;
use mlguard::integrity::{dsse, keys};
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::util::testdata;

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mlguard")
}
fn mlguard_out(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mlguard")
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    /// data/ with three files, keys owner/sec, and data.dsse.json signed by owner.
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("data")).unwrap();
        for (n, c) in [("a.csv", "1,2\n"), ("b.csv", "3,4\n"), ("c.txt", "label\n")] {
            std::fs::write(d.join("data").join(n), c).unwrap();
        }
        let f = Fixture { dir };
        for k in ["owner", "sec"] {
            f.ok(&["keygen", "-o", k, "-q"]);
        }
        f.ok(&[
            "hash",
            "data",
            "--sign",
            "owner",
            "-o",
            "data.dsse.json",
            "-q",
        ]);
        f
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn run(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), args)
    }
    fn ok(&self, args: &[&str]) -> Output {
        let o = self.run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        o
    }
    fn envelope(&self, name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.p(name)).unwrap()).unwrap()
    }
    fn write(&self, name: &str, v: &Value) {
        std::fs::write(self.p(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }
    /// Sign arbitrary payload bytes with payload type `ptype` using key file `key`.
    fn craft(&self, name: &str, ptype: &str, payload: &[u8], key: &str) {
        let k = keys::read_private(&self.p(key)).unwrap();
        let sig = k.sign(&dsse::pae(ptype, payload));
        let env = json!({
            "payloadType": ptype,
            "payload": dsse::b64encode(payload),
            "signatures": [{"keyid": "ignored", "sig": dsse::b64encode(&sig.to_bytes())}],
        });
        self.write(name, &env);
    }
    fn payload(&self) -> Value {
        let env = self.envelope("data.dsse.json");
        serde_json::from_slice(&dsse::b64decode(env["payload"].as_str().unwrap()).unwrap()).unwrap()
    }
    fn verify(&self, env: &str, extra: &[&str]) -> Output {
        let mut a = vec!["verify", "data", "--signature", env];
        a.extend_from_slice(extra);
        self.run(&a)
    }
}

#[test]
fn keygen_writes_standard_private_key_0600_and_refuses_overwrite() {
    let f = Fixture::new();
    let meta = std::fs::metadata(f.p("owner")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let pem = std::fs::read_to_string(f.p("owner")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(std::fs::read_to_string(f.p("owner.pub"))
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    let o = f.run(&["keygen", "-o", "owner"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(f.p("owner")).unwrap(),
        pem,
        "must not be overwritten"
    );
    let o = f.ok(&["keygen", "-o", "owner", "--force"]);
    assert_ne!(std::fs::read_to_string(f.p("owner")).unwrap(), pem);
    // Never print private key material.
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), err(&o));
    assert!(
        !all.contains("PRIVATE") && !all.contains(&body[..20]),
        "{all}"
    );
}

#[test]
fn signed_round_trip_and_data_mismatch() {
    let f = Fixture::new();
    let env = f.envelope("data.dsse.json");
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let st = f.payload();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        st["subject"][0]["digest"]["blake3"],
        st["predicate"]["root"]
    );
    assert_eq!(st["subject"][0]["name"], "data");
    assert_eq!(
        st["subject"][0]["digest"]["sha256"].as_str().unwrap().len(),
        64
    );
    // keyid = sha256 of the SPKI DER.
    let vk = keys::read_public(&f.p("owner.pub")).unwrap();
    assert_eq!(env["signatures"][0]["keyid"], keys::keyid(&vk));
    let o = f.verify("data.dsse.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    std::fs::write(f.p("data/b.csv"), "3,5\n").unwrap();
    let o = f.verify("data.dsse.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(1), "data mismatch is exit 1");
}

#[test]
fn sign_command_and_cosigning_with_threshold() {
    let f = Fixture::new();
    f.ok(&["hash", "data", "-o", "m.json", "-q"]);
    f.ok(&["sign", "m.json", "--key", "owner", "-o", "s.json"]);
    let before = f.envelope("s.json");
    f.ok(&["sign", "s.json", "--key", "sec", "-o", "s.json"]);
    let after = f.envelope("s.json");
    assert_eq!(
        before["payload"], after["payload"],
        "co-signing keeps the payload"
    );
    assert_eq!(after["signatures"].as_array().unwrap().len(), 2);
    f.ok(&[
        "verify",
        "data",
        "--signature",
        "s.json",
        "--pubkey",
        "owner.pub",
        "--pubkey",
        "sec.pub",
        "--threshold",
        "2",
    ]);
    // Only one of two trusted keys signed the single-signature envelope.
    let o = f.verify(
        "data.dsse.json",
        &[
            "--pubkey",
            "owner.pub",
            "--pubkey",
            "sec.pub",
            "--threshold",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        err(&o).contains("1 of 2 trusted key(s) signed, threshold is 2"),
        "{}",
        err(&o)
    );
    // Signing twice with one key is refused.
    let o = f.run(&["sign", "s.json", "--key", "sec", "-o", "s2.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("already signed"));
}

#[test]
fn a_duplicated_signature_counts_once() {
    let f = Fixture::new();
    let mut env = f.envelope("data.dsse.json");
    let sig = env["signatures"][0].clone();
    env["signatures"].as_array_mut().unwrap().push(sig);
    f.write("dup.json", &env);
    let o = f.verify(
        "dup.json",
        &[
            "--pubkey",
            "owner.pub",
            "--pubkey",
            "sec.pub",
            "--threshold",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    // The same key listed twice is one trusted key.
    let o = f.verify(
        "dup.json",
        &[
            "--pubkey",
            "owner.pub",
            "--pubkey",
            "owner.pub",
            "--threshold",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("more than the 1 distinct"));
}

#[test]
fn trust_failures_exit_3_and_say_which_check_failed() {
    let f = Fixture::new();
    // Wrong key.
    let o = f.verify("data.dsse.json", &["--pubkey", "sec.pub"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(err(&o).contains("signature check failed"));
    // Tampered payload byte.
    let mut env = f.envelope("data.dsse.json");
    let mut payload = dsse::b64decode(env["payload"].as_str().unwrap()).unwrap();
    let i = payload.len() / 2;
    payload[i] ^= 1;
    env["payload"] = dsse::b64encode(&payload).into();
    f.write("tampered.json", &env);
    let o = f.verify("tampered.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(3));
    // Swapped signature: a valid signature by the right key, over another payload.
    f.ok(&[
        "hash",
        "data",
        "--exclude",
        "c.txt",
        "--sign",
        "owner",
        "-o",
        "other.json",
        "-q",
    ]);
    let mut env = f.envelope("data.dsse.json");
    env["signatures"] = f.envelope("other.json")["signatures"].clone();
    f.write("swapped.json", &env);
    assert_eq!(
        f.verify("swapped.json", &["--pubkey", "owner.pub"])
            .status
            .code(),
        Some(3)
    );
    // No signatures.
    let mut env = f.envelope("data.dsse.json");
    env["signatures"] = json!([]);
    f.write("nosig.json", &env);
    let o = f.verify("nosig.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(err(&o).contains("no signatures"));
    // Properly signed, but the wrong payloadType / statement type / predicate type.
    let payload = serde_json::to_vec(&f.payload()).unwrap();
    f.craft("ptype.json", "application/json", &payload, "owner");
    let o = f.verify("ptype.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(err(&o).contains("payloadType"), "{}", err(&o));
    for (field, value, needle) in [
        ("_type", "https://in-toto.io/Statement/v0.1", "_type"),
        (
            "predicateType",
            "https://example.com/other",
            "predicateType",
        ),
    ] {
        let mut st = f.payload();
        st[field] = value.into();
        f.craft(
            "st.json",
            dsse::PAYLOAD_TYPE,
            &serde_json::to_vec(&st).unwrap(),
            "owner",
        );
        let o = f.verify("st.json", &["--pubkey", "owner.pub"]);
        assert_eq!(o.status.code(), Some(3), "{field}");
        assert!(err(&o).contains(needle), "{}", err(&o));
    }
    // Signed manifest whose root does not match its own entries.
    let mut st = f.payload();
    st["predicate"]["files"][0]["size"] = 12345.into();
    f.craft(
        "badroot.json",
        dsse::PAYLOAD_TYPE,
        &serde_json::to_vec(&st).unwrap(),
        "owner",
    );
    let o = f.verify("badroot.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        err(&o).contains("does not match its own entries"),
        "{}",
        err(&o)
    );
}

#[test]
fn malformed_envelopes_are_input_errors_and_url_safe_base64_is_accepted() {
    let f = Fixture::new();
    let mut env = f.envelope("data.dsse.json");
    env["payload"] = "%%%not base64%%%".into();
    f.write("badb64.json", &env);
    let o = f.verify("badb64.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("badb64.json") && err(&o).contains("base64"),
        "{}",
        err(&o)
    );
    std::fs::write(f.p("trunc.json"), "{\"payloadType\": ").unwrap();
    let o = f.verify("trunc.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("trunc.json"));
    // URL-safe, unpadded base64 (DSSE says verifiers accept it).
    let mut env = f.envelope("data.dsse.json");
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = dsse::b64decode(env["payload"].as_str().unwrap()).unwrap();
    env["payload"] = url.encode(raw).into();
    let raw = dsse::b64decode(env["signatures"][0]["sig"].as_str().unwrap()).unwrap();
    env["signatures"][0]["sig"] = url.encode(raw).into();
    f.write("url.json", &env);
    let o = f.verify("url.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

#[test]
fn trust_from_config_file() {
    let f = Fixture::new();
    std::fs::write(
        f.p("mlguard.toml"),
        "[trust]\nkeys = [\"owner.pub\"]\nthreshold = 1\n",
    )
    .unwrap();
    let o = f.verify("data.dsse.json", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    std::fs::write(f.p("mlguard.toml"), "[trust]\nkeys = [\"sec.pub\"]\n").unwrap();
    assert_eq!(f.verify("data.dsse.json", &[]).status.code(), Some(3));
    std::fs::remove_file(f.p("mlguard.toml")).unwrap();
    let o = f.verify("data.dsse.json", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no trusted keys"));
}

#[test]
fn inclusion_proofs_through_the_binary() {
    let f = Fixture::new();
    f.ok(&["prove", "data.dsse.json", "b.csv", "-o", "b.proof"]);
    let proof: Value = serde_json::from_slice(&std::fs::read(f.p("b.proof")).unwrap()).unwrap();
    assert_eq!(proof["leaf_index"], 1);
    assert_eq!(proof["tree_size"], 3);
    assert_eq!(proof["audit_path"].as_array().unwrap().len(), 2);
    let args = [
        "verify-file",
        "data/b.csv",
        "--proof",
        "b.proof",
        "--signature",
        "data.dsse.json",
        "--pubkey",
        "owner.pub",
    ];
    let o = f.ok(&args);
    assert!(String::from_utf8_lossy(&o.stdout).contains("OK"));
    // Wrong key: trust failure before anything else.
    let mut bad = args;
    bad[7] = "sec.pub";
    assert_eq!(f.run(&bad).status.code(), Some(3));
    // A different file presented under the proof: content mismatch, exit 1.
    let mut other = args;
    other[1] = "data/a.csv";
    let o = f.run(&other);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("FAILED"));
    // Tampered proof: exit 3.
    let mut p = proof.clone();
    let h = p["audit_path"][0].as_str().unwrap().to_string();
    p["audit_path"][0] =
        format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]).into();
    f.write("b.proof", &p);
    let o = f.run(&args);
    assert_eq!(o.status.code(), Some(3));
    assert!(err(&o).contains("tampered"), "{}", err(&o));
    // Unknown path.
    let o = f.run(&["prove", "data.dsse.json", "nope.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("nope.csv"));
}

#[test]
fn inclusion_proofs_for_every_leaf_of_trees_1_to_17() {
    use mlguard::integrity::manifest::{Entry, EntryKind, Manifest, ManifestOptions};
    use mlguard::integrity::proof::Proof;
    for n in 1..=17usize {
        let files: Vec<Entry> = (0..n)
            .map(|i| Entry {
                path: format!("shard-{i:02}"),
                kind: EntryKind::File,
                size: i as u64,
                blake3: blake3::hash(&[i as u8]).to_hex().to_string(),
                sha256: None,
                target: None,
                chunks: None,
                object: None,
            })
            .collect();
        let m = Manifest::new(ManifestOptions::default(), files).unwrap();
        for e in &m.files {
            let p = Proof::for_path(&m, &e.path, Path::new("m")).unwrap();
            assert!(p.includes(e, &m.root), "n={n} {}", e.path);
            let mut wrong = e.clone();
            wrong.size += 1;
            assert!(!p.includes(&wrong, &m.root), "n={n}");
            if !p.audit_path.is_empty() {
                let mut t = p.clone();
                t.audit_path.reverse();
                t.audit_path[0] = "00".repeat(32);
                assert!(!t.includes(e, &m.root), "tampered proof accepted n={n}");
            }
        }
    }
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required in CI (.ci/run installs it)");
        }
        eprintln!("note: {tool} not on PATH; skipping");
    }
    ok
}

fn openssl(dir: &Path, args: &[&OsStr]) -> Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn openssl_interop() {
    if !have("openssl") {
        return;
    }
    let f = Fixture::new();
    let d = f.dir.path();
    let s = OsStr::new;
    // openssl derives the same public key from our private key.
    let o = openssl(d, &[s("pkey"), s("-in"), s("owner"), s("-pubout")]);
    assert!(o.status.success());
    assert_eq!(o.stdout, std::fs::read(f.p("owner.pub")).unwrap());
    // Our signature verifies with openssl over the PAE bytes.
    let env = f.envelope("data.dsse.json");
    let payload = dsse::b64decode(env["payload"].as_str().unwrap()).unwrap();
    std::fs::write(
        f.p("pae.bin"),
        dsse::pae(env["payloadType"].as_str().unwrap(), &payload),
    )
    .unwrap();
    let sig = dsse::b64decode(env["signatures"][0]["sig"].as_str().unwrap()).unwrap();
    std::fs::write(f.p("sig.bin"), &sig).unwrap();
    let o = openssl(
        d,
        &[
            s("pkeyutl"),
            s("-verify"),
            s("-pubin"),
            s("-inkey"),
            s("owner.pub"),
            s("-rawin"),
            s("-in"),
            s("pae.bin"),
            s("-sigfile"),
            s("sig.bin"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    std::fs::write(f.p("pae.bin"), b"DSSEv1 other").unwrap();
    let o = openssl(
        d,
        &[
            s("pkeyutl"),
            s("-verify"),
            s("-pubin"),
            s("-inkey"),
            s("owner.pub"),
            s("-rawin"),
            s("-in"),
            s("pae.bin"),
            s("-sigfile"),
            s("sig.bin"),
        ],
    );
    assert!(
        !o.status.success(),
        "openssl must reject a different message"
    );
    // A key made by openssl signs, and verifies with its openssl-made public key.
    assert!(openssl(
        d,
        &[
            s("genpkey"),
            s("-algorithm"),
            s("ed25519"),
            s("-out"),
            s("ossl.key")
        ]
    )
    .status
    .success());
    assert!(openssl(
        d,
        &[
            s("pkey"),
            s("-in"),
            s("ossl.key"),
            s("-pubout"),
            s("-out"),
            s("ossl.pub")
        ]
    )
    .status
    .success());
    f.ok(&[
        "hash",
        "data",
        "--sign",
        "ossl.key",
        "-o",
        "ossl.dsse.json",
        "-q",
    ]);
    f.ok(&[
        "verify",
        "data",
        "--signature",
        "ossl.dsse.json",
        "--pubkey",
        "ossl.pub",
    ]);
}

/// A validly signed envelope whose manifest options carry a chunk size the hasher cannot use
/// (the root does not cover options) is refused before any hashing: no panic after
/// "signature OK".
#[test]
fn signed_manifest_with_bad_chunk_size_is_refused_not_a_panic() {
    let f = Fixture::new();
    for cs in [0u64, 1, 1000, 3072, 1 << 40] {
        let mut st = f.payload();
        st["predicate"]["options"]["chunk_size"] = cs.into();
        let payload = serde_json::to_vec(&st).unwrap();
        f.craft("bad.json", dsse::PAYLOAD_TYPE, &payload, "owner");
        let o = f.verify("bad.json", &["--pubkey", "owner.pub"]);
        assert_eq!(o.status.code(), Some(3), "chunk_size {cs}: {}", err(&o));
        assert!(err(&o).contains("options.chunk_size"), "{}", err(&o));
    }
}

#[test]
fn hostile_proofs_and_envelopes_are_input_errors() {
    let f = Fixture::new();
    f.ok(&["prove", "data.dsse.json", "a.csv", "-o", "a.proof.json"]);
    let good = f.envelope("a.proof.json");
    let cases: Vec<(&str, Value)> = vec![
        ("leaf_index", {
            let mut p = good.clone();
            p["leaf_index"] = 3.into();
            p
        }),
        ("audit_path", {
            let mut p = good.clone();
            p["audit_path"] = vec![json!("00".repeat(32)); 100].into();
            p
        }),
        ("64 hex", {
            let mut p = good.clone();
            p["audit_path"][0] = "zz".into();
            p
        }),
        ("escapes", {
            let mut p = good.clone();
            p["entry"]["path"] = "../etc/passwd".into();
            p
        }),
    ];
    for (want, p) in cases {
        f.write("bad.proof.json", &p);
        let o = f.run(&[
            "verify-file",
            "data/a.csv",
            "--proof",
            "bad.proof.json",
            "--signature",
            "data.dsse.json",
            "--pubkey",
            "owner.pub",
        ]);
        assert_eq!(o.status.code(), Some(2), "{want}: {}", err(&o));
        assert!(
            err(&o).contains("bad.proof.json") && err(&o).contains(want),
            "{want}: {}",
            err(&o)
        );
    }
    // An envelope with more signatures than the documented maximum.
    let mut env = f.envelope("data.dsse.json");
    let one = env["signatures"][0].clone();
    env["signatures"] = vec![one; dsse::MAX_SIGNATURES + 1].into();
    f.write("many.json", &env);
    let o = f.verify("many.json", &["--pubkey", "owner.pub"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("many.json") && err(&o).contains("at most 64"));
}

// ---- OpenSSF model-signing bundles -------------------------------------------------------

/// A model directory with nested files, names whose order differs between string and
/// path-component sorting (`a/b` vs `a-b`), and git paths model_signing ignores.
fn model_dir(root: &Path) -> PathBuf {
    let m = root.join("model");
    for (n, c) in [
        ("config.json", &b"{\"layers\": 2}\n"[..]),
        ("weights/layer0.bin", &[0u8, 1, 2, 3, 255][..]),
        ("a/b", b"nested\n"),
        ("a-b", b"dash\n"),
        (".git/HEAD", b"ref: refs/heads/main\n"),
        (".gitignore", b"*.tmp\n"),
    ] {
        let p = m.join(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    }
    m
}

fn bundle_payload(bundle: &Value) -> Value {
    let b = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&b).unwrap()
}

/// Re-sign `statement` into `bundle` with the P-256 key in `key` (PKCS#8 PEM): a forged but
/// validly signed bundle, to prove the checks after the signature.
fn resign(bundle: &Value, statement: &Value, key: &Path) -> Value {
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::DecodePrivateKey;
    let k =
        p256::ecdsa::SigningKey::from_pkcs8_pem(&std::fs::read_to_string(key).unwrap()).unwrap();
    let payload = serde_json::to_vec(statement).unwrap();
    let sig: p256::ecdsa::DerSignature =
        k.sign(&dsse::pae("application/vnd.in-toto+json", &payload));
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut out = bundle.clone();
    out["dsseEnvelope"]["payload"] = b64(&payload).into();
    out["dsseEnvelope"]["signatures"][0]["sig"] = b64(sig.as_bytes()).into();
    out
}

#[test]
fn model_signing_bundles_round_trip_and_every_check_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    model_dir(d);
    let ok = |args: &[&str]| {
        let o = run_in(d, args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        o
    };
    ok(&["keygen", "--algorithm", "p256", "-o", "ec", "-q"]);
    ok(&["keygen", "--algorithm", "p384", "-o", "ec384", "-q"]);
    ok(&["keygen", "-o", "ed", "-q"]);
    for k in ["ec", "ec384"] {
        let meta = std::fs::metadata(d.join(k)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(std::fs::read_to_string(d.join(k))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
    }
    ok(&[
        "sign",
        "model",
        "--format",
        "model-signing",
        "--key",
        "ec",
        "-o",
        "model/model.sig",
    ]);
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(d.join("model/model.sig")).unwrap()).unwrap();
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let st = bundle_payload(&bundle);
    assert_eq!(st["predicateType"], "https://model_signing/signature/v1.0");
    assert_eq!(st["subject"][0]["name"], "model");
    let names: Vec<&str> = st["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    // Component-wise order, git paths and the signature left out.
    assert_eq!(names, ["a/b", "a-b", "config.json", "weights/layer0.bin"]);
    assert!(st["predicate"]["serialization"]["ignore_paths"]
        .as_array()
        .unwrap()
        .contains(&json!("model.sig")));
    // The subject digest is SHA-256 over the raw resource digests in order.
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    for r in st["predicate"]["resources"].as_array().unwrap() {
        sha2::Digest::update(&mut h, hex::decode(r["digest"].as_str().unwrap()).unwrap());
    }
    assert_eq!(
        st["subject"][0]["digest"]["sha256"],
        hex::encode(sha2::Digest::finalize(h))
    );
    let verify = |sig: &str, key: &str, extra: &[&str]| {
        let mut a = vec!["verify", "model", "--signature", sig, "--pubkey", key];
        a.extend_from_slice(extra);
        run_in(d, &a)
    };
    let o = verify("model/model.sig", "ec.pub", &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let rep: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["summary"]["ok"], 4);
    assert_eq!(rep["root"], st["subject"][0]["digest"]["sha256"]);
    // Wrong key (another curve, another P-256 key, an Ed25519 key) → 3.
    for k in ["ec384.pub", "ed.pub"] {
        let o = verify("model/model.sig", k, &[]);
        assert_eq!(o.status.code(), Some(3), "{k}: {}", err(&o));
        assert!(err(&o).contains("signature check failed"), "{}", err(&o));
    }
    // Data changes → 1 with the same statuses as manifests.
    std::fs::write(d.join("model/config.json"), b"{\"layers\": 3}\n").unwrap();
    std::fs::write(d.join("model/extra.py"), b"import os\n").unwrap();
    std::fs::rename(d.join("model/a-b"), d.join("model/renamed")).unwrap();
    std::fs::remove_file(d.join("model/a/b")).unwrap();
    let o = verify("model/model.sig", "ec.pub", &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let rep: Value = serde_json::from_slice(&o.stdout).unwrap();
    let status = |p: &str| {
        rep["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .map(|f| f["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("config.json").as_deref(), Some("modified"));
    assert_eq!(status("extra.py").as_deref(), Some("added"));
    assert_eq!(status("renamed").as_deref(), Some("moved"));
    assert_eq!(status("a/b").as_deref(), Some("missing"));
    let modified = rep["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "config.json")
        .unwrap();
    assert_eq!(modified["expected_sha256"].as_str().unwrap().len(), 64);
    // Forged statements, validly signed, are trust failures.
    let forge = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut s = st.clone();
        edit(&mut s);
        let b = resign(&bundle, &s, &d.join("ec"));
        std::fs::write(d.join(name), serde_json::to_vec(&b).unwrap()).unwrap();
        verify(name, "ec.pub", &[])
    };
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "subject",
            Box::new(|s| s["subject"][0]["digest"]["sha256"] = "00".repeat(32).into()),
            "does not match the resources",
        ),
        (
            "ptype",
            Box::new(|s| s["predicateType"] = "https://example.com/other".into()),
            "unknown predicateType",
        ),
        (
            "escape",
            Box::new(|s| s["predicate"]["resources"][0]["name"] = "../../etc/passwd".into()),
            "escapes the model directory",
        ),
        (
            "algo",
            Box::new(|s| s["predicate"]["resources"][0]["algorithm"] = "md5".into()),
            "algorithm",
        ),
    ];
    for (name, edit, want) in &cases {
        let o = forge(name, edit.as_ref());
        assert_eq!(o.status.code(), Some(3), "{name}: {}", err(&o));
        assert!(err(&o).contains(want), "{name}: {}", err(&o));
    }
    // Ed25519 keys verify bundles too (the signature passes; the changed data then fails).
    {
        let k = keys::read_private(&d.join("ed")).unwrap();
        let payload = serde_json::to_vec(&st).unwrap();
        let sig = k.sign(&dsse::pae("application/vnd.in-toto+json", &payload));
        let mut b = bundle.clone();
        b["dsseEnvelope"]["payload"] = dsse::b64encode(&payload).into();
        b["dsseEnvelope"]["signatures"][0]["sig"] = dsse::b64encode(&sig.to_bytes()).into();
        std::fs::write(d.join("ed.sig"), serde_json::to_vec(&b).unwrap()).unwrap();
        let o = verify("ed.sig", "ed.pub", &[]);
        assert_eq!(o.status.code(), Some(1), "{}", err(&o));
        assert!(err(&o).contains("signature OK"), "{}", err(&o));
        assert_eq!(verify("ed.sig", "ec.pub", &[]).status.code(), Some(3));
    }
    // Unsupported but genuine features are input errors, not forgeries.
    let o = forge("shards", &|s| {
        s["predicate"]["serialization"]["method"] = "shards".into()
    });
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("shards"), "{}", err(&o));
    // Boundary checks on the bundle itself.
    let write_bundle = |name: &str, b: &Value| {
        std::fs::write(d.join(name), serde_json::to_vec(b).unwrap()).unwrap();
    };
    let mut b = bundle.clone();
    b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.9+json".into();
    write_bundle("media.sig", &b);
    let o = verify("media.sig", "ec.pub", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("unsupported bundle mediaType"),
        "{}",
        err(&o)
    );
    let mut b = bundle.clone();
    let p = b["dsseEnvelope"]["payload"]
        .as_str()
        .unwrap()
        .replace('=', "");
    b["dsseEnvelope"]["payload"] = format!("{p}-_").into();
    write_bundle("b64.sig", &b);
    let o = verify("b64.sig", "ec.pub", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("base64"), "{}", err(&o));
    let mut b = bundle.clone();
    b["verificationMaterial"] = json!({"certificate": {"rawBytes": "AAAA"}, "tlogEntries": []});
    write_bundle("cert.sig", &b);
    let o = verify("cert.sig", "ec.pub", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("not a DER X.509 certificate"),
        "{}",
        err(&o)
    );
    // A key-mode bundle with --certificate-chain: the flag does not apply.
    let o = run_in(
        d,
        &[
            "verify",
            "model",
            "--signature",
            "model/model.sig",
            "--certificate-chain",
            "ec.pub",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("key-mode bundle"), "{}", err(&o));
    let mut b = bundle.clone();
    b["dsseEnvelope"]["signatures"] = json!([]);
    write_bundle("nosig.sig", &b);
    assert_eq!(verify("nosig.sig", "ec.pub", &[]).status.code(), Some(3));
    // An Ed25519 key cannot make a bundle model_signing would accept.
    let o = run_in(
        d,
        &[
            "sign",
            "model",
            "--format",
            "model-signing",
            "--key",
            "ed",
            "-o",
            "x.sig",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("ECDSA"), "{}", err(&o));
    assert!(!d.join("x.sig").exists());
}

fn have_model_signing() -> bool {
    let ok = Command::new("model_signing")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("model_signing is required in CI (.ci/run installs it with pip)");
        }
        eprintln!("note: model_signing (pip install model-signing) not on PATH; skipping");
    }
    ok
}

fn model_signing(dir: &Path, args: &[&str]) -> Output {
    Command::new("model_signing")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Both directions against the real OpenSSF `model_signing` CLI, with keys made by openssl:
/// their signature verifies with mlguard, ours with theirs; a tampered file and a wrong key
/// are refused by both.
#[test]
fn model_signing_cli_interop() {
    if !have("openssl") || !have_model_signing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    model_dir(d);
    let s = OsStr::new;
    for (curve, key) in [
        ("prime256v1", "p256"),
        ("secp384r1", "p384"),
        ("prime256v1", "other"),
    ] {
        let o = openssl(
            d,
            &[
                s("ecparam"),
                s("-name"),
                s(curve),
                s("-genkey"),
                s("-noout"),
                s("-out"),
                s("sec1.pem"),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let k = format!("{key}.pem");
        let o = openssl(
            d,
            &[
                s("pkcs8"),
                s("-topk8"),
                s("-nocrypt"),
                s("-in"),
                s("sec1.pem"),
                s("-out"),
                s(&k),
            ],
        );
        assert!(o.status.success());
        let pubk = format!("{key}.pub");
        let o = openssl(
            d,
            &[
                s("pkey"),
                s("-in"),
                s(&k),
                s("-pubout"),
                s("-out"),
                s(&pubk),
            ],
        );
        assert!(o.status.success());
    }
    let verify = |key: &str| {
        run_in(
            d,
            &[
                "verify",
                "model",
                "--signature",
                "model/model.sig",
                "--pubkey",
                key,
            ],
        )
    };
    for key in ["p256", "p384"] {
        // Theirs → ours.
        let _ = std::fs::remove_file(d.join("model/model.sig"));
        let o = model_signing(
            d,
            &[
                "sign",
                "key",
                "--private_key",
                &format!("{key}.pem"),
                "model",
                "--signature",
                "model/model.sig",
            ],
        );
        assert!(o.status.success(), "model_signing sign: {}", err(&o));
        let o = verify(&format!("{key}.pub"));
        assert_eq!(o.status.code(), Some(0), "{key}: {}", err(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("4 ok"));
        let o = verify("other.pub");
        assert_eq!(o.status.code(), Some(3), "wrong key: {}", err(&o));
        // A tampered file: both refuse.
        std::fs::write(d.join("model/weights/layer0.bin"), [9u8, 9]).unwrap();
        let o = verify(&format!("{key}.pub"));
        assert_eq!(o.status.code(), Some(1), "{}", err(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("MODIFIED"));
        let theirs = model_signing(
            d,
            &[
                "verify",
                "key",
                "--public_key",
                &format!("{key}.pub"),
                "model",
                "--signature",
                "model/model.sig",
            ],
        );
        assert!(
            !theirs.status.success(),
            "model_signing accepted a tampered model"
        );
        std::fs::write(d.join("model/weights/layer0.bin"), [0u8, 1, 2, 3, 255]).unwrap();

        // Ours → theirs (key made by openssl, PKCS#8).
        let o = run_in(
            d,
            &[
                "sign",
                "model",
                "--format",
                "model-signing",
                "--key",
                &format!("{key}.pem"),
                "-o",
                "model/model.sig",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let their_verify = |pubk: &str| {
            model_signing(
                d,
                &[
                    "verify",
                    "key",
                    "--public_key",
                    pubk,
                    "model",
                    "--signature",
                    "model/model.sig",
                ],
            )
        };
        let o = their_verify(&format!("{key}.pub"));
        assert!(
            o.status.success(),
            "model_signing rejected our bundle: {}{}",
            String::from_utf8_lossy(&o.stdout),
            err(&o)
        );
        assert!(!their_verify("other.pub").status.success());
        std::fs::write(d.join("model/a-b"), b"changed\n").unwrap();
        assert!(!their_verify(&format!("{key}.pub")).status.success());
        assert_eq!(verify(&format!("{key}.pub")).status.code(), Some(1));
        std::fs::write(d.join("model/a-b"), b"dash\n").unwrap();
    }
    // A key made by `mlguard keygen --algorithm p256` signs for model_signing too.
    assert_eq!(
        run_in(d, &["keygen", "--algorithm", "p256", "-o", "mine", "-q"])
            .status
            .code(),
        Some(0)
    );
    let o = run_in(
        d,
        &[
            "sign",
            "model",
            "--format",
            "model-signing",
            "--key",
            "mine",
            "-o",
            "model/model.sig",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = model_signing(
        d,
        &[
            "verify",
            "key",
            "--public_key",
            "mine.pub",
            "model",
            "--signature",
            "model/model.sig",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
}

// ---- model-signing certificate mode ------------------------------------------------------

/// Run a shell pipeline of openssl commands in `d` (the test's own CA), failing loudly.
fn sh(d: &Path, script: &str) {
    let o = Command::new("sh")
        .current_dir(d)
        .args(["-ec", script])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `NAME.key` (PKCS#8) and `NAME.pem`: self-signed when `issuer` is None, else issued by
/// `issuer` (its `.pem`/`.key`), with the given extensions and validity in days.
fn cert(d: &Path, name: &str, curve: &str, issuer: Option<&str>, ext: &str, days: i32) {
    std::fs::write(d.join(format!("{name}.ext")), ext.replace(';', "\n")).unwrap();
    sh(
        d,
        &format!(
            "openssl ecparam -name {curve} -genkey -noout -out {name}.sec1
             openssl pkcs8 -topk8 -nocrypt -in {name}.sec1 -out {name}.key
             openssl req -new -key {name}.key -subj '/CN={name}' -out {name}.csr 2>/dev/null"
        ),
    );
    let (ca, cakey) = match issuer {
        Some(i) => (format!("{i}.pem"), format!("{i}.key")),
        None => (String::new(), format!("{name}.key")),
    };
    let sign = if issuer.is_some() {
        format!(
            "-CA {ca} -CAkey {cakey} -set_serial 0x{}",
            hex::encode(name)
        )
    } else {
        format!("-signkey {cakey}")
    };
    sh(
        d,
        &format!(
            "openssl x509 -req -in {name}.csr {sign} -days {days} -sha384 -extfile {name}.ext -out {name}.pem 2>/dev/null"
        ),
    );
}

/// Certificate-mode bundles (`model_signing sign certificate`): chains built by openssl in
/// the test; every rule of the chain check fails closed, tampering is exit 1, and the real
/// model_signing CLI agrees with mlguard in both directions when it is installed.
#[test]
fn model_signing_certificate_mode() {
    // Bundles the real model_signing 1.1.1 made (testdata/model-signing/README.md) verify
    // without it, in both modes; the wrong mode's flag is refused.
    let fx = |f: &str| testdata(&format!("model-signing/{f}"));
    let data = testdata("datasets");
    let o = mlguard_out(&[
        "verify".as_ref(),
        data.as_os_str(),
        "--signature".as_ref(),
        fx("datasets.cert.sig").as_os_str(),
        "--certificate-chain".as_ref(),
        fx("root.pem").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("'O=example,CN=mlguard test publisher' via CN=mlguard test intermediate -> CN=mlguard test root"),
        "{}",
        err(&o)
    );
    let o = mlguard_out(&[
        "verify".as_ref(),
        data.as_os_str(),
        "--signature".as_ref(),
        fx("datasets.key.sig").as_os_str(),
        "--pubkey".as_ref(),
        fx("leaf.pub").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = mlguard_out(&[
        "verify".as_ref(),
        data.as_os_str(),
        "--signature".as_ref(),
        fx("datasets.cert.sig").as_os_str(),
        "--certificate-chain".as_ref(),
        fx("int.pem").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));

    if !have("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    model_dir(d);
    const CA: &str = "basicConstraints=critical,CA:TRUE;keyUsage=critical,keyCertSign,cRLSign";
    const INT: &str = "basicConstraints=critical,CA:TRUE,pathlen:0;keyUsage=critical,keyCertSign";
    const LEAF: &str = "basicConstraints=CA:FALSE;keyUsage=critical,digitalSignature";
    cert(d, "root", "prime256v1", None, CA, 3650);
    cert(d, "int", "secp384r1", Some("root"), INT, 1000);
    cert(d, "leaf", "prime256v1", Some("int"), LEAF, 100);
    // Same subject as the root, another key: the impostor root.
    std::fs::create_dir(d.join("evil")).unwrap();
    cert(&d.join("evil"), "root", "prime256v1", None, CA, 3650);
    sh(d, "cat int.pem root.pem > chain.pem");
    let sign = |leaf: &str, chain: &[&str], out: &str| {
        let (key, pem) = (format!("{leaf}.key"), format!("{leaf}.pem"));
        let mut a = vec![
            "sign",
            "model",
            "--format",
            "model-signing",
            "--key",
            &key,
            "--certificate",
            &pem,
            "-o",
            out,
        ];
        for c in chain {
            a.extend(["--certificate-chain", c]);
        }
        run_in(d, &a)
    };
    let verify = |sig: &str, roots: &[&str]| {
        let mut a = vec!["verify", "model", "--signature", sig];
        for r in roots {
            a.extend(["--certificate-chain", r]);
        }
        run_in(d, &a)
    };
    let o = sign("leaf", &["chain.pem"], "model/model.sig");
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(d.join("model/model.sig")).unwrap()).unwrap();
    let certs = bundle["verificationMaterial"]["x509CertificateChain"]["certificates"]
        .as_array()
        .unwrap();
    assert_eq!(certs.len(), 3, "leaf, intermediate, root");
    assert!(bundle["verificationMaterial"].get("publicKey").is_none());
    // The root alone is enough (the intermediate comes from the bundle).
    let o = verify("model/model.sig", &["root.pem"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("certificate 'CN=leaf' via CN=int -> CN=root"),
        "{}",
        err(&o)
    );
    // Trust failures (3): an intermediate alone, an impostor root of the same name.
    let o = verify("model/model.sig", &["int.pem"]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(err(&o).contains("self-signed root"), "{}", err(&o));
    let o = verify("model/model.sig", &["evil/root.pem"]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(
        err(&o).contains("does not verify with the key"),
        "{}",
        err(&o)
    );
    // Flags of the other mode, or no roots: usage (2).
    for extra in [&["--pubkey", "root.pem"][..], &[]] {
        let mut a = vec!["verify", "model", "--signature", "model/model.sig"];
        a.extend_from_slice(extra);
        let o = run_in(d, &a);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", err(&o));
        assert!(err(&o).contains("--certificate-chain"), "{}", err(&o));
    }
    // Tampered data: 1.
    std::fs::write(d.join("model/a-b"), b"changed\n").unwrap();
    let o = verify("model/model.sig", &["root.pem"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    std::fs::write(d.join("model/a-b"), b"dash\n").unwrap();
    // A statement re-signed by a key that is not the leaf's: 3.
    {
        cert(d, "stray", "prime256v1", None, LEAF, 10);
        let st = bundle_payload(&bundle);
        let forged = resign(&bundle, &st, &d.join("stray.key"));
        std::fs::write(d.join("forged.sig"), serde_json::to_vec(&forged).unwrap()).unwrap();
        let o = verify("forged.sig", &["root.pem"]);
        assert_eq!(o.status.code(), Some(3), "{}", err(&o));
        assert!(
            err(&o).contains("signing certificate 'CN=leaf'"),
            "{}",
            err(&o)
        );
    }
    // Chain rules, each a trust failure naming the rule.
    for (name, issuer, curve, ext, days) in [
        (
            "nokuleaf",
            "int",
            "prime256v1",
            "basicConstraints=CA:FALSE;keyUsage=keyEncipherment",
            100,
        ),
        (
            "notca",
            "root",
            "prime256v1",
            "basicConstraints=CA:FALSE;keyUsage=digitalSignature,keyCertSign",
            100,
        ),
        ("expint", "root", "secp384r1", INT, -1),
        (
            "critleaf",
            "int",
            "prime256v1",
            "basicConstraints=CA:FALSE;keyUsage=digitalSignature;1.2.3.4=critical,ASN1:NULL",
            100,
        ),
    ] {
        cert(d, name, curve, Some(issuer), ext, days);
    }
    // Leaves under the non-CA and the expired intermediate.
    cert(d, "undernotca", "prime256v1", Some("notca"), LEAF, 50);
    cert(d, "underexp", "prime256v1", Some("expint"), LEAF, 50);
    // pathlen:0 on `int` forbids another intermediate below it.
    cert(d, "int2", "prime256v1", Some("int"), INT, 500);
    cert(d, "underint2", "prime256v1", Some("int2"), LEAF, 50);
    for (leaf, chain, want) in [
        (
            "nokuleaf",
            "int.pem",
            "neither keyUsage digitalSignature nor extendedKeyUsage codeSigning",
        ),
        ("critleaf", "int.pem", "unknown critical extension 1.2.3.4"),
        ("undernotca", "notca.pem", "is not a CA certificate"),
        ("underexp", "expint.pem", "is not valid at the signing time"),
        ("underint2", "int2.pem", "pathLenConstraint 0"),
    ] {
        let out = format!("{leaf}.sig");
        let chain_files = [chain, "int.pem"];
        let o = sign(leaf, &chain_files, &out);
        assert_eq!(o.status.code(), Some(0), "{leaf}: {}", err(&o));
        let o = verify(&out, &["root.pem"]);
        assert_eq!(o.status.code(), Some(3), "{leaf}: {}", err(&o));
        assert!(err(&o).contains(want), "{leaf}: {}", err(&o));
    }
    // Only extendedKeyUsage codeSigning is enough (model_signing's rule).
    cert(
        d,
        "ekuleaf",
        "secp384r1",
        Some("int"),
        "basicConstraints=CA:FALSE;extendedKeyUsage=codeSigning",
        100,
    );
    let o = sign("ekuleaf", &["int.pem"], "eku.sig");
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = verify("eku.sig", &["root.pem"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // The key must be the certificate's.
    let o = run_in(
        d,
        &[
            "sign",
            "model",
            "--format",
            "model-signing",
            "--key",
            "stray.key",
            "--certificate",
            "leaf.pem",
            "-o",
            "x.sig",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(!d.join("x.sig").exists());
    // Keyless (Rekor entries) is refused with the reason; broken certificate bytes are input errors.
    let mut b = bundle.clone();
    b["verificationMaterial"]["tlogEntries"] = json!([{"logIndex": "1"}]);
    std::fs::write(d.join("keyless.sig"), serde_json::to_vec(&b).unwrap()).unwrap();
    let o = verify("keyless.sig", &["root.pem"]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(err(&o).contains("keyless"), "{}", err(&o));
    let mut b = bundle.clone();
    b["verificationMaterial"] = json!({"certificate": {"rawBytes": "AAAA"}, "tlogEntries": []});
    std::fs::write(d.join("badcert.sig"), serde_json::to_vec(&b).unwrap()).unwrap();
    let o = verify("badcert.sig", &["root.pem"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("not a DER X.509 certificate"),
        "{}",
        err(&o)
    );
    // [trust] certificate_chain in mlguard.toml.
    std::fs::write(
        d.join("mlguard.toml"),
        "[trust]\ncertificate_chain = [\"root.pem\"]\n",
    )
    .unwrap();
    let o = run_in(d, &["verify", "model", "--signature", "model/model.sig"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    std::fs::remove_file(d.join("mlguard.toml")).unwrap();

    if !have_model_signing() {
        return;
    }
    let theirs_verify = |root: &str| {
        model_signing(
            d,
            &[
                "verify",
                "certificate",
                "--certificate_chain",
                root,
                "model",
                "--signature",
                "model/model.sig",
            ],
        )
    };
    // Ours → theirs.
    let o = theirs_verify("root.pem");
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("succeeded"),
        "model_signing rejected our certificate bundle: {}{}",
        String::from_utf8_lossy(&o.stdout),
        err(&o)
    );
    let o = theirs_verify("evil/root.pem");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Verification succeeded"));
    // Theirs → ours, for the P-256 leaf and the P-384 one.
    for leaf in ["leaf", "ekuleaf"] {
        let _ = std::fs::remove_file(d.join("model/model.sig"));
        let o = model_signing(
            d,
            &[
                "sign",
                "certificate",
                "--private_key",
                &format!("{leaf}.key"),
                "--signing_certificate",
                &format!("{leaf}.pem"),
                "--certificate_chain",
                "int.pem",
                "--certificate_chain",
                "root.pem",
                "model",
                "--signature",
                "model/model.sig",
            ],
        );
        assert!(
            o.status.success(),
            "model_signing sign certificate: {}",
            err(&o)
        );
        let o = verify("model/model.sig", &["root.pem"]);
        assert_eq!(o.status.code(), Some(0), "{leaf}: {}", err(&o));
        assert_eq!(
            verify("model/model.sig", &["evil/root.pem"]).status.code(),
            Some(3)
        );
        std::fs::write(d.join("model/config.json"), b"{}").unwrap();
        assert_eq!(
            verify("model/model.sig", &["root.pem"]).status.code(),
            Some(1)
        );
        let o = theirs_verify("root.pem");
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("Verification succeeded"),
            "model_signing accepted a tampered model"
        );
        std::fs::write(d.join("model/config.json"), b"{\"layers\": 2}\n").unwrap();
    }
}

#[test]
fn verify_file_on_a_directory_says_so() {
    let f = Fixture::new();
    f.ok(&["prove", "data.dsse.json", "b.csv", "-o", "b.proof"]);
    let o = f.run(&[
        "verify-file",
        "data",
        "--proof",
        "b.proof",
        "--signature",
        "data.dsse.json",
        "--pubkey",
        "owner.pub",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(e.contains("data is a directory"), "{e}");
    assert!(!e.contains("after the walk"), "{e}");
}

#[test]
fn outputs_never_overwrite_an_input() {
    let f = Fixture::new();
    let before = std::fs::read(f.p("data.dsse.json")).unwrap();
    for args in [
        &[
            "verify",
            "data",
            "--signature",
            "data.dsse.json",
            "--pubkey",
            "owner.pub",
            "-o",
            "data.dsse.json",
        ][..],
        &[
            "verify",
            "data",
            "--signature",
            "data.dsse.json",
            "--pubkey",
            "owner.pub",
            "-o",
            "owner.pub",
        ][..],
        &["prove", "data.dsse.json", "b.csv", "-o", "data.dsse.json"][..],
        &["hash", "data", "--sign", "owner", "-o", "owner"][..],
    ] {
        let o = f.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(
            err(&o).contains("is also an input"),
            "{args:?}: {}",
            err(&o)
        );
    }
    assert_eq!(std::fs::read(f.p("data.dsse.json")).unwrap(), before);
    assert!(std::fs::read_to_string(f.p("owner.pub"))
        .unwrap()
        .contains("PUBLIC KEY"));
    // Co-signing in place stays allowed (documented): the envelope is read, then replaced.
    f.ok(&[
        "sign",
        "data.dsse.json",
        "--key",
        "sec",
        "-o",
        "data.dsse.json",
    ]);
}
