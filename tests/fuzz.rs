//! Fuzzing as part of the tests: a seeded mutation loop (stable Rust, no nightly, no
//! fuzzing crate) over real seed files for every parser of untrusted input, driven in-process
//! through the library. Each case must return (an `Ok` or an input error): a panic fails
//! the test with the case's seed and a copy of the input under `target/fuzz-failures/`, and
//! a case that runs longer than [`CASE_LIMIT`] aborts the run with the same information (a
//! hang). An abort (an allocation failure) kills the test binary, which fails the run.
//!
//! `MLGUARD_FUZZ_CASES=N` sets the cases per target (default [`DEFAULT_CASES`], sized so
//! the whole file stays near a minute on the debug build on 2 cores) and
//! `MLGUARD_FUZZ_SEED=S` the seed (default 1). Long runs: docs/fuzzing.md.

use mlguard::config::Config;
use mlguard::input::logs::{self, registry};
use mlguard::input::table;
use mlguard::integrity::{dsse, manifest::Manifest, proof::Proof};
use mlguard::profile::Profile;
use mlguard_testgen::Rng;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::util as common;
use common::{bin, ipc_bytes, iris_batches, parquet_bytes, testdata, typed_batch};

const DEFAULT_CASES: u64 = 1500;
/// A case taking longer than this is a hang (the slowest targets take milliseconds).
const CASE_LIMIT: Duration = Duration::from_secs(60);

fn cases(default: u64) -> u64 {
    std::env::var("MLGUARD_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn base_seed() -> u64 {
    std::env::var("MLGUARD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

// ---------------------------------------------------------------------------------------
// The mutators (over the test tooling's one seeded RNG)

const INTERESTING_BYTES: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b'"', b'\n', b'\r', b',', b'{'];
const INTERESTING_INTS: &[u64] = &[
    0,
    1,
    0x7f,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    u64::MAX,
    1 << 40,
];
const INTERESTING_TOKENS: &[&str] = &[
    "-1",
    "0",
    "1e999",
    "-1e999",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "NaN",
    "null",
    "[]",
    "{}",
    "[[[[[[[[[[[[[[[[",
    "\"",
    "\\u0000",
    "\u{feff}",
    "\u{1b}[2J",
    "\r",
    "9999-12-31T23:59:59Z",
    "+275760-09-13T00:00:00Z",
    "1e308",
];

/// 1 to 4 random byte-level mutations of `data`.
fn mutate_bytes(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        let n = d.len();
        match rng.below(9) {
            0 if n > 0 => {
                let i = rng.below(n);
                d[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                d[i] = rng.next_u64() as u8;
            }
            2 if n > 0 => {
                let i = rng.below(n);
                d[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
            }
            3 if n >= 4 => {
                // An interesting little-endian integer over 1, 2, 4 or 8 bytes (lengths,
                // offsets and counts of binary formats).
                let w = [1usize, 2, 4, 8][rng.below(4)].min(n);
                let i = rng.below(n - w + 1);
                let v = INTERESTING_INTS[rng.below(INTERESTING_INTS.len())];
                d[i..i + w].copy_from_slice(&v.to_le_bytes()[..w]);
            }
            4 if n > 0 => {
                let i = rng.below(n);
                let len = 1 + rng.below((n - i).min(64));
                d.drain(i..i + len);
            }
            5 => {
                let i = rng.below(n + 1);
                let t = INTERESTING_TOKENS[rng.below(INTERESTING_TOKENS.len())];
                d.splice(i..i, t.bytes());
            }
            6 if n > 0 => {
                // Duplicate a range (repeated sections, lengths that no longer add up).
                let i = rng.below(n);
                let len = 1 + rng.below((n - i).min(256));
                let copy = d[i..i + len].to_vec();
                let at = rng.below(n + 1);
                d.splice(at..at, copy);
            }
            7 if n > 0 => d.truncate(rng.below(n)),
            _ => {
                let i = rng.below(n + 1);
                let b = rng.next_u64() as u8;
                d.insert(i, b);
            }
        }
    }
    d
}

/// A random hostile JSON value (small, but with depth, extremes and odd types).
fn hostile_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 9 } else { 12 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(2)),
        2 => serde_json::json!(-1),
        3 => serde_json::json!(u64::MAX),
        4 => serde_json::json!(i64::MIN),
        5 => serde_json::json!([1e308, -1e308, 5e-324][rng.below(3)]),
        6 => Value::String(String::new()),
        7 => Value::String(INTERESTING_TOKENS[rng.below(INTERESTING_TOKENS.len())].into()),
        8 => serde_json::json!(rng.next_u64() % 100_000),
        9 => Value::Array(
            (0..rng.below(4))
                .map(|_| hostile_value(rng, depth + 1))
                .collect(),
        ),
        10 => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                m.insert(
                    INTERESTING_TOKENS[rng.below(INTERESTING_TOKENS.len())].into(),
                    hostile_value(rng, depth + 1),
                );
            }
            Value::Object(m)
        }
        _ => {
            // Deep nesting.
            let mut v = Value::Null;
            for _ in 0..200 {
                v = Value::Array(vec![v]);
            }
            v
        }
    }
}

/// Every node of `v` (pre-order), as a JSON pointer.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// 1 to 3 structure-aware mutations of a JSON document: a node replaced by a hostile
/// value, a key removed, an array element duplicated or a number nudged.
fn mutate_json(rng: &mut Rng, v: &Value) -> Value {
    let mut v = v.clone();
    for _ in 0..1 + rng.below(3) {
        let mut ptrs = Vec::new();
        pointers(&v, String::new(), &mut ptrs);
        let p = ptrs[rng.below(ptrs.len())].clone();
        let choice = rng.below(5);
        let Some(node) = v.pointer_mut(&p) else {
            continue;
        };
        match choice {
            0 | 1 => *node = hostile_value(rng, 0),
            2 => {
                if let Value::Object(m) = node {
                    if !m.is_empty() {
                        let k = m.keys().nth(rng.below(m.len())).unwrap().clone();
                        m.remove(&k);
                    }
                }
            }
            3 => {
                if let Value::Array(a) = node {
                    if !a.is_empty() {
                        let x = a[rng.below(a.len())].clone();
                        for _ in 0..1 + rng.below(3) {
                            a.push(x.clone());
                        }
                    }
                }
            }
            _ => {
                if let Some(n) = node.as_u64() {
                    *node = serde_json::json!(match rng.below(4) {
                        0 => n.wrapping_add(1),
                        1 => n.saturating_sub(1),
                        2 => n.saturating_mul(1 << 20),
                        _ => 0,
                    });
                } else if let Some(f) = node.as_f64() {
                    *node = serde_json::json!(-f);
                }
            }
        }
    }
    v
}

/// Mutate: bytes, or (for JSON seeds, half the time) structure.
fn mutate(rng: &mut Rng, seed: &Seed) -> Vec<u8> {
    match &seed.json {
        Some(v) if rng.chance(2) => serde_json::to_vec(&mutate_json(rng, v)).unwrap(),
        _ => mutate_bytes(rng, &seed.bytes),
    }
}

// ---------------------------------------------------------------------------------------
// The loop

struct Seed {
    name: String,
    bytes: Vec<u8>,
    json: Option<Value>,
}

impl Seed {
    fn new(name: &str, bytes: Vec<u8>) -> Seed {
        let json = serde_json::from_slice(&bytes).ok();
        Seed {
            name: name.into(),
            bytes,
            json,
        }
    }
    fn file(p: &Path) -> Seed {
        Seed::new(
            &p.file_name().unwrap().to_string_lossy(),
            std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
    }
}

/// What is running now, for the hang watchdog: (start, description).
static CURRENT: OnceLock<Mutex<Vec<(u64, Instant, String)>>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn watchdog() -> &'static Mutex<Vec<(u64, Instant, String)>> {
    CURRENT.get_or_init(|| {
        std::thread::spawn(|| loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = Instant::now();
            if let Some(m) = CURRENT.get() {
                let running = m.lock().unwrap_or_else(|e| e.into_inner());
                for (_, start, what) in running.iter() {
                    if now - *start > CASE_LIMIT {
                        eprintln!("fuzz: HANG (> {CASE_LIMIT:?}): {what}");
                        std::process::abort();
                    }
                }
            }
        });
        Mutex::new(Vec::new())
    })
}

/// Where failing inputs are kept.
fn failures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures")
}

/// Run `n` cases of `target` over `seeds`: each case picks a seed, mutates it and calls
/// `run` with the bytes. Returns how many cases returned `Ok`/`true` (for the caller's
/// sanity check that the harness reaches past the first parse).
fn fuzz(target: &str, seeds: &[Seed], n: u64, run: &(dyn Fn(&[u8]) -> bool + Sync)) -> u64 {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let seed = base_seed();
    let tag = target.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let ok = AtomicU64::new(0);
    let wd = watchdog();
    for case in 0..n {
        let mut rng = Rng::new(seed ^ tag ^ case.wrapping_mul(0x9e37_79b9));
        let s = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, s);
        let what = format!(
            "target {target}, MLGUARD_FUZZ_SEED={seed}, case {case}, seed file {}",
            s.name
        );
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        wd.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, Instant::now(), what.clone()));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&input)));
        wd.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(i, _, _)| *i != id);
        match r {
            Ok(true) => {
                ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(p) => {
                let dir = failures_dir();
                std::fs::create_dir_all(&dir).unwrap();
                let keep = dir.join(format!("{target}-{seed}-{case}.bin"));
                std::fs::write(&keep, &input).unwrap();
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                panic!(
                    "fuzz: PANIC in {what}: {msg}\n  input kept in {}",
                    keep.display()
                );
            }
        }
    }
    ok.load(Ordering::Relaxed)
}

/// A scratch file with `name` holding `bytes` (per thread, reused).
fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().unwrap();
    }
    DIR.with(|d| {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    })
}

/// Every file under `dir` whose name ends with `ext`, sorted.
fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Run the real binary once to make a seed (a manifest, a proof, a profile).
fn made_by_binary(args: &[&str]) -> Vec<u8> {
    let o = bin().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

// ---------------------------------------------------------------------------------------
// Targets: integrity

#[test]
fn fuzz_manifest() {
    let m = made_by_binary(&[
        "hash",
        testdata("datasets").to_str().unwrap(),
        "--chunk-size",
        "1K",
        "-o",
        "-",
    ]);
    let seeds = [Seed::new("datasets.manifest.json", m)];
    let ok = fuzz(
        "manifest",
        &seeds,
        cases(DEFAULT_CASES * 2),
        &|b| match Manifest::from_slice(b, Path::new("m.json")) {
            Ok(m) => {
                let _ = m.leaves();
                let _ = dsse::canonical_manifest(&m);
                true
            }
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{e}");
                false
            }
        },
    );
    assert!(
        ok > 0,
        "no mutated manifest was valid: the harness only tests parse errors"
    );
}

#[test]
fn fuzz_envelope() {
    let env = std::fs::read(testdata("datasets.dsse.json")).unwrap();
    let parsed: Value = serde_json::from_slice(&env).unwrap();
    let payload = dsse::b64decode(parsed["payload"].as_str().unwrap()).unwrap();
    let seeds = [
        Seed::new("datasets.dsse.json", env),
        Seed::new("statement.json", payload),
    ];
    let name = Path::new("e.dsse.json");
    let ok = fuzz("envelope", &seeds, cases(DEFAULT_CASES * 2), &|b| {
        // As an envelope (structure and signatures, nothing trusted: threshold 0), then
        // its payload, or the bytes themselves, as the signed statement.
        if let Ok(env) = dsse::parse_envelope(b, name) {
            if let Ok(p) = dsse::verify_signatures(&env, &[], 0, name) {
                let _ = dsse::parse_statement(&p, name);
            }
        }
        dsse::parse_statement(b, name).is_ok()
    });
    assert!(ok > 0);
}

/// OpenSSF model-signing bundles (key and certificate mode, both made by the real
/// model_signing CLI) and their statements: `parse_bundle`, then the certificate chain
/// against the fixture root (`verify_bundle_certificate`), then `parse_statement` on the
/// payload and on the raw bytes. Errors only; never a panic.
#[test]
fn fuzz_model_signing_bundle() {
    use mlguard::integrity::{model_signing as ms, x509};
    let fx = |f: &str| std::fs::read(testdata(&format!("model-signing/{f}"))).unwrap();
    let roots = x509::parse_pem_chain(&fx("root.pem"), "root.pem").unwrap();
    let mut seeds = vec![
        Seed::new("datasets.cert.sig", fx("datasets.cert.sig")),
        Seed::new("datasets.key.sig", fx("datasets.key.sig")),
    ];
    let b = ms::parse_bundle(&fx("datasets.key.sig"), Path::new("k.sig")).unwrap();
    seeds.push(Seed::new("statement.json", b.payload));
    let name = Path::new("m.sig");
    let ok = fuzz("model-signing", &seeds, cases(DEFAULT_CASES * 2), &|b| {
        let mut ok = false;
        match ms::parse_bundle(b, name) {
            Ok(bundle) => {
                ok = true;
                if matches!(bundle.material, ms::Material::Certificate { .. }) {
                    if let Err(e) = ms::verify_bundle_certificate(&bundle, &roots, name) {
                        assert!(matches!(e.exit_code(), 2 | 3), "{e}");
                    }
                }
                let _ = ms::parse_statement(&bundle.payload, name);
            }
            Err(e) => assert_eq!(e.exit_code(), 2, "{e}"),
        }
        match ms::parse_statement(b, name) {
            Ok(st) => {
                assert!(st.resources.len() <= ms::MAX_RESOURCES);
                true
            }
            Err(e) => {
                assert!(matches!(e.exit_code(), 2 | 3), "{e}");
                ok
            }
        }
    });
    assert!(ok > 0, "no mutated bundle or statement parsed");
}

/// X.509: DER certificates (`parse_certificate`, then the chain check with the mutated
/// certificate as leaf, intermediate or root) and PEM files (`parse_pem_chain`).
#[test]
fn fuzz_certificates() {
    use mlguard::integrity::x509;
    let fx = |f: &str| std::fs::read(testdata(&format!("model-signing/{f}"))).unwrap();
    let pem = |f: &str| x509::parse_pem_chain(&fx(f), f).unwrap().remove(0);
    let (root, int, leaf) = (pem("root.pem"), pem("int.pem"), pem("leaf.pem"));
    let roots = std::slice::from_ref(&root);
    assert!(x509::verify_chain(&[leaf.clone(), int.clone()], roots).is_ok());
    let seeds = [
        Seed::new("leaf.der", leaf.der.clone()),
        Seed::new("int.der", int.der.clone()),
        Seed::new("root.der", root.der.clone()),
    ];
    let ok = fuzz("x509-der", &seeds, cases(DEFAULT_CASES * 2), &|b| {
        let Ok(c) = x509::parse_certificate(b, "fuzz") else {
            return false;
        };
        let one = std::slice::from_ref(&c);
        let _ = x509::verify_chain(&[c.clone(), int.clone()], roots);
        let _ = x509::verify_chain(&[leaf.clone(), c.clone()], roots);
        let _ = x509::verify_chain(&[leaf.clone(), int.clone()], one);
        let _ = x509::verify_chain(one, one);
        true
    });
    assert!(ok > 0, "no mutated certificate parsed");
    let mut both = fx("int.pem");
    both.extend(fx("root.pem"));
    let seeds = [
        Seed::new("chain.pem", both),
        Seed::new("leaf.pem", fx("leaf.pem")),
    ];
    let ok = fuzz("x509-pem", &seeds, cases(DEFAULT_CASES), &|b| {
        x509::parse_pem_chain(b, "fuzz.pem").is_ok()
    });
    assert!(ok > 0);
}

/// 7z archives: `sevenz::list` and `sevenz::unpack` of every folder (1 MiB cap), then the
/// whole inspection of the mutated archive. Seeds: picklescan's LZMA2 `malicious1.7z`
/// and a truncated copy. Errors only; never a panic or an allocation beyond the cap.
#[test]
fn fuzz_sevenz() {
    use mlguard::inspect::{self, sevenz};
    let lzma2 = std::fs::read(testdata("models/picklescan/malicious1.7z")).unwrap();
    let mut seeds = vec![Seed::new("malicious1.7z", lzma2.clone())];
    let mut truncated_tail = lzma2.clone();
    truncated_tail.truncate(lzma2.len() - 3);
    seeds.push(Seed::new("cut.7z", truncated_tail));
    let opts = inspect::Options {
        max_member_bytes: 1 << 20,
        ..inspect::Options::default()
    };
    let ok = fuzz("7z", &seeds, cases(DEFAULT_CASES * 2), &|b| {
        let _ = inspect::inspect_bytes("m.7z", b, &opts);
        match sevenz::list(b) {
            Ok(l) => {
                for i in 0..l.streams.folders.len() {
                    if let Ok(v) = sevenz::unpack(b, &l.streams, i, 1 << 20) {
                        assert!(v.len() <= 1 << 20);
                    }
                }
                true
            }
            Err(_) => false,
        }
    });
    assert!(ok > 0, "no mutated 7z parsed");
}

/// safetensors header validation (src/inspect/safetensors.rs) on mutated headers: errors
/// only, never a panic; the unmutated seed validates.
#[test]
fn fuzz_safetensors() {
    use mlguard::inspect::{safetensors, Mem};
    let header = r#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[6],"data_offsets":[24,36]}}"#;
    let mut f = (header.len() as u64).to_le_bytes().to_vec();
    f.extend_from_slice(header.as_bytes());
    f.resize(f.len() + 36, 0);
    assert_eq!(safetensors::check(&Mem(&f)), Ok(2));
    let seeds = vec![Seed::new("model.safetensors", f)];
    let ok = fuzz("safetensors", &seeds, cases(DEFAULT_CASES), &|b| {
        let _ = mlguard::inspect::inspect_bytes("m.safetensors", b, &Default::default());
        safetensors::check(&Mem(b)).is_ok()
    });
    assert!(ok > 0, "no mutated header validated");
}

#[test]
fn fuzz_proof() {
    let p = made_by_binary(&[
        "prove",
        testdata("datasets.dsse.json").to_str().unwrap(),
        "iris.csv",
    ]);
    let seeds = [Seed::new("iris.proof.json", p)];
    let entry_ok = fuzz("proof", &seeds, cases(DEFAULT_CASES * 2), &|b| {
        let path = scratch("p.json", b);
        match Proof::read(&path) {
            Ok(p) => {
                let e = p.recorded_entry();
                let _ = p.includes(&e, &"0".repeat(64));
                true
            }
            Err(_) => false,
        }
    });
    assert!(entry_ok > 0);
}

// ---------------------------------------------------------------------------------------
// Targets: profiles and config

#[test]
fn fuzz_profile_load_and_merge() {
    let iris = made_by_binary(&["profile", testdata("datasets/iris.csv").to_str().unwrap()]);
    let wine = made_by_binary(&[
        "profile",
        testdata("datasets/wine.csv").to_str().unwrap(),
        "--label",
        "cultivar",
    ]);
    let base = Profile::load(&scratch("base.json", &iris)).unwrap();
    // Format 2 (packed sketches) as written now, and a format 1 profile (JSON arrays, plain
    // base64, the fingerprint map) as older mlguard wrote it.
    let seeds = [
        Seed::new("iris.profile.json", iris),
        Seed::new("wine.profile.json", wine),
        Seed::new(
            "iris.v1.profile.json",
            std::fs::read(testdata("profiles/iris.v1.json")).unwrap(),
        ),
    ];
    let ok = fuzz("profile", &seeds, cases(DEFAULT_CASES), &|b| {
        let path = scratch("p.json", b);
        let Ok(p) = Profile::load(&path) else {
            return false;
        };
        // Merge both ways, and with itself.
        let mut a = base.clone();
        let _ = a.merge(&p);
        let mut c = p.clone();
        let _ = c.merge(&base);
        let mut d = p.clone();
        let _ = d.merge(&p);
        let _ = d.to_json();
        true
    });
    assert!(ok > 0);
}

/// The label-consistency section (`label.consistency`: features, labels, scored rows,
/// disagreement pairs), mutated on its own inside a real baseline: loading validates it,
/// and a section that loads is used by `drift` to score real current rows (the model is
/// rebuilt from the baseline's moments and matched against the section), never panicking.
/// The check itself runs (`drift::consistency::check`), not the whole comparison.
#[test]
fn fuzz_profile_label_consistency() {
    let wine = made_by_binary(&[
        "profile",
        testdata("datasets/wine.csv").to_str().unwrap(),
        "--label",
        "cultivar",
    ]);
    let base: Value = serde_json::from_slice(&wine).unwrap();
    let section = base.pointer("/label/consistency").cloned().unwrap();
    assert!(section["disagree"].as_array().is_some(), "{section}");
    let st = Profile::load(&scratch("w.json", &wine)).unwrap().settings;
    let cur = mlguard::profile::profile_paths(
        &[testdata("datasets/wine.csv")],
        None,
        &st,
        &indicatif::ProgressBar::hidden(),
        &|_| {},
    )
    .unwrap();
    assert!(cur.sample.is_some());
    let seeds = [Seed::new(
        "wine.consistency.json",
        serde_json::to_vec(&section).unwrap(),
    )];
    let settings = mlguard::drift::Settings::default();
    let ok = fuzz("profile-consistency", &seeds, cases(DEFAULT_CASES), &|b| {
        let Ok(sec) = serde_json::from_slice::<Value>(b) else {
            return false;
        };
        let mut v = base.clone();
        *v.pointer_mut("/label/consistency").unwrap() = sec;
        let path = scratch("c.json", &serde_json::to_vec(&v).unwrap());
        match Profile::load(&path) {
            Ok(p) => {
                let mut found = Vec::new();
                let cov = mlguard::drift::consistency::check(&p, &cur, &settings, &mut found);
                assert!(cov.is_some_and(|c| c.detection == "drift.label_consistency"));
                let mut d = p.clone();
                let _ = d.merge(&p);
                let _ = d.to_json();
                true
            }
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{e}");
                false
            }
        }
    });
    assert!(ok > 0);
}

/// Format 2's packed payloads (a KLL sketch's items text, HLL registers, the fingerprint
/// entries' binary records), mutated after inflating and packed again: mutating the base64
/// text of a profile mostly stops at the base64 or DEFLATE check, so this is how the
/// decoders behind them see hostile bytes.
#[test]
fn fuzz_profile_packed_payloads() {
    use mlguard::profile::sketch::{pack, unpack};
    let wine = made_by_binary(&[
        "profile",
        testdata("datasets/wine.csv").to_str().unwrap(),
        "--label",
        "cultivar",
    ]);
    let base: Value = serde_json::from_slice(&wine).unwrap();
    let slots = [
        "/columns/0/quantiles/packed",
        "/columns/0/distinct/packed",
        "/row_fingerprints/entries/packed",
    ];
    let seeds: Vec<Seed> = slots
        .iter()
        .map(|s| {
            let packed = base.pointer(s).and_then(Value::as_str).unwrap();
            Seed::new(s, unpack(packed, 1 << 30).unwrap())
        })
        .collect();
    let ok = fuzz("profile-packed", &seeds, cases(DEFAULT_CASES), &|b| {
        let mut any = false;
        for s in &slots {
            let mut v = base.clone();
            *v.pointer_mut(s).unwrap() = pack(b).into();
            let path = scratch("packed.json", &serde_json::to_vec(&v).unwrap());
            match Profile::load(&path) {
                Ok(p) => {
                    let mut d = p.clone();
                    let _ = d.merge(&p);
                    let _ = d.to_json();
                    any = true;
                }
                Err(e) => assert_eq!(e.exit_code(), 2, "{e}"),
            }
        }
        any
    });
    assert!(
        ok > 0,
        "no mutated payload was valid: the harness only tests errors"
    );
}

#[test]
fn fuzz_config() {
    let text = r#"[trust]
keys = ["a.pub"]
threshold = 1

[drift]
psi = 0.2

[input]
max_decompressed_bytes = 1000000
max_decompression_ratio = 100
max_columns = 100
max_record_bytes = 100000

[scan]
baseline_days = 7
working_hours = "08:00-18:00"

[assets]
"models/**" = "model"

[inference]
client = "client"
"#;
    let seeds = [Seed::new("mlguard.toml", text.as_bytes().to_vec())];
    fuzz("config", &seeds, cases(DEFAULT_CASES * 2), &|b| {
        let Ok(t) = std::str::from_utf8(b) else {
            return false;
        };
        let Ok(c) = Config::parse(t, Some("c.toml".into())) else {
            return false;
        };
        let _ = c.section::<mlguard::input::source::Limits>("input");
        let _ = c.section::<mlguard::integrity::dsse::TrustConfig>("trust");
        let _ = c.section::<mlguard::drift::Settings>("drift");
        let _ = c.section::<mlguard::scan::detect::Settings>("scan");
        let _ = c.section::<mlguard::scan::assets::AssetConfig>("assets");
        let _ = c.section::<mlguard::scan::inference::Settings>("inference");
        let _ = c.section::<mlguard::inspect::policy::Section>("inspect");
        true
    });
}

// ---------------------------------------------------------------------------------------
// Targets: log sources and Sigma

fn log_target(target: &str, source: &str, seeds: &[Seed]) {
    let src = registry::by_name(source).unwrap_or_else(|| panic!("no source {source}"));
    let ok = fuzz(target, seeds, cases(DEFAULT_CASES * 2), &|b| {
        let p = Path::new("log.json");
        // Forced to this source, then auto-detected (the sniffers see it too).
        let forced = logs::read::read_bytes(p, b, Some(src));
        let _ = logs::read::read_bytes(p, b, None);
        !forced.events.is_empty()
    });
    assert!(ok > 0, "{target}: no mutated input gave an event");
}

#[test]
fn fuzz_cloudtrail() {
    let mut seeds: Vec<Seed> = files_under(&testdata("sigma/events/cloudtrail"), ".json")
        .iter()
        .map(|p| Seed::file(p))
        .collect();
    seeds.extend(
        files_under(&testdata("scan/cloudtrail/traildiscover.cloud"), ".json")
            .iter()
            .take(4)
            .map(|p| Seed::file(p)),
    );
    log_target("cloudtrail", "cloudtrail", &seeds);
}

/// The streaming `{"Records": [...]}` reader (`input::logs::stream`), with a small record
/// cap so mutations also cross it: a Records container of the stratus recordings' events.
#[test]
fn fuzz_cloudtrail_stream() {
    let mut seeds = Vec::new();
    for p in files_under(&testdata("scan/cloudtrail/stratus-red-team.cloud"), ".json")
        .iter()
        .take(6)
    {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        let recs = if v.is_array() {
            v
        } else {
            v["Records"].clone()
        };
        let doc = serde_json::json!({ "Records": recs });
        seeds.push(Seed::new("records.json", serde_json::to_vec(&doc).unwrap()));
        seeds.push(Seed::new(
            "pretty.json",
            serde_json::to_vec_pretty(&doc).unwrap(),
        ));
    }
    let src = registry::by_name("cloudtrail").unwrap();
    let ok = fuzz(
        "cloudtrail_stream",
        &seeds,
        cases(DEFAULT_CASES * 2),
        &|b| {
            let p = Path::new("log.json");
            let mut n = 0usize;
            let r = logs::stream::read_records_from(p, b, Some(src), 4096, &mut |e| n += e.len());
            let _ = logs::stream::read_records_from(p, b, None, 4096, &mut |_| {});
            // Every record is an event or a warning; a stop is a warning naming the record.
            assert!(n > 0 || !r.warnings.is_empty());
            n > 0
        },
    );
    assert!(ok > 0, "cloudtrail_stream: no mutated input gave an event");
}

#[test]
fn fuzz_gcp() {
    let seeds: Vec<Seed> = files_under(&testdata("scan/gcp"), ".json")
        .iter()
        .map(|p| Seed::file(p))
        .collect();
    log_target("gcp", "gcp", &seeds);
}

#[test]
fn fuzz_azure() {
    // No Azure export is in testdata: the shapes the parser documents, built here.
    let storage = serde_json::json!({"records": [{
        "time": "2024-01-02T03:04:05Z", "category": "StorageRead",
        "operationName": "GetBlob", "callerIpAddress": "10.1.2.3:5555",
        "statusCode": 200, "statusText": "Success",
        "uri": "https://acct.blob.core.windows.net/models/prod/model.onnx?sv=1",
        "identity": {"type": "OAuth", "requester": {"upn": "bob@example.com"}},
        "properties": {"responseBodySize": 2356.0, "userAgentHeader": "azcopy"}
    }]});
    let activity = serde_json::json!({"value": [{
        "time": "2024-01-02T04:00:00Z", "category": "Administrative",
        "operationName": "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE",
        "resultType": "Success", "callerIpAddress": "203.0.113.9",
        "identity": {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "eve@example.com"}},
        "resourceId": "/SUBSCRIPTIONS/1/RESOURCEGROUPS/ml/PROVIDERS/MICROSOFT.MACHINELEARNINGSERVICES/WORKSPACES/w",
        "properties": {"statusCode": "OK"}
    }]});
    let seeds = [
        Seed::new("azure-storage.json", serde_json::to_vec(&storage).unwrap()),
        Seed::new(
            "azure-activity.json",
            serde_json::to_vec(&activity).unwrap(),
        ),
    ];
    log_target("azure", "azure", &seeds);
}

#[test]
fn fuzz_wandb() {
    // No public W&B audit log exists: the documented record shapes, as NDJSON (bucket
    // sync) and as an `/admin/audit_logs` page.
    let rec = |ts: &str, action: &str, extra: Value| {
        let mut r = serde_json::json!({"timestamp": ts, "action": action,
            "actor_email": "ana@acme.ai", "actor_user_id": "VXNlcjox", "actor_ip": "198.51.100.10",
            "response_code": 200, "cli_version": "0.19.1", "entity_name": "acme", "project_name": "llm"});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let recs = [
        rec(
            "2026-03-02T10:00:00Z",
            "artifact:read",
            serde_json::json!({"artifact_qualified_name": "acme/llm/w:v3", "artifact_digest": "ab12"}),
        ),
        rec(
            "2026-03-02T10:01:00Z",
            "user:create_api_key",
            serde_json::json!({"user_email": "ana@acme.ai"}),
        ),
        rec(
            "2026-03-02T10:02:00Z",
            "project:delete",
            serde_json::json!({"project_asset": "UHJvamVjdDox", "response_code": "403"}),
        ),
        rec(
            "2026-03-02T10:03:00Z",
            "organization:update_member",
            serde_json::json!({"user_email": "eve@x.example"}),
        ),
    ];
    let ndjson: String = recs.iter().map(|r| format!("{r}\n")).collect();
    let page = serde_json::json!({"audit_logs": recs, "range_start_time": "2026-03-02T00:00:00Z",
        "range_end_time": "2026-03-03T00:00:00Z", "count": 4, "next_cursor": "x"});
    let seeds = [
        Seed::new("wandb.ndjson", ndjson.into_bytes()),
        Seed::new("wandb-page.json", serde_json::to_vec(&page).unwrap()),
    ];
    log_target("wandb", "wandb", &seeds);
}

#[test]
fn fuzz_k8s() {
    // Raw audit events and the GKE / AKS / EKS envelopes (the unwrapping parses JSON text
    // inside records).
    let mut seeds: Vec<Seed> = files_under(&testdata("scan/k8s-managed"), ".json")
        .iter()
        .map(|p| Seed::file(p))
        .collect();
    seeds.push(Seed::file(&testdata("scan/k8s-managed/raw.jsonl")));
    // AKS through Log Analytics (`aks-table.json`, an `AKSAudit` row array, is one of the
    // `.json` files above): the `AzureDiagnostics` rows with the event in `log_s`.
    seeds.push(Seed::file(&testdata(
        "scan/k8s-managed/aks-diagnostics.jsonl",
    )));
    for r in k8s_shapes() {
        seeds.push(Seed::new("shape.json", serde_json::to_vec(&r).unwrap()));
    }
    log_target("k8s", "k8s", &seeds);
}

/// Kubernetes shapes the samples lack: an impersonated exec, an ephemeral container added
/// (`kubectl debug`), a GKE entry through service-account delegation.
fn k8s_shapes() -> Vec<Value> {
    vec![
        serde_json::json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
            "auditID": "i1", "stage": "ResponseStarted", "verb": "create",
            "requestURI": "/api/v1/namespaces/ml/pods/t-0/exec?command=sh&command=-c",
            "user": {"username": "alice", "groups": ["system:authenticated"]},
            "impersonatedUser": {"username": "system:serviceaccount:ml:t", "groups": ["x"]},
            "sourceIPs": ["203.0.113.7", "10.0.0.1"],
            "objectRef": {"resource": "pods", "namespace": "ml", "name": "t-0", "subresource": "exec"},
            "responseStatus": {"code": 101}, "stageTimestamp": "2026-03-10T10:00:00Z"}),
        serde_json::json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
            "auditID": "e1", "stage": "ResponseComplete", "verb": "patch",
            "requestURI": "/api/v1/namespaces/ml/pods/t-0/ephemeralcontainers",
            "user": {"username": "bob"}, "sourceIPs": ["203.0.113.8"],
            "objectRef": {"resource": "pods", "namespace": "ml", "name": "t-0", "subresource": "ephemeralcontainers"},
            "requestObject": {"spec": {"ephemeralContainers": [{"name": "d", "image": "busybox",
                "command": ["sh"], "args": ["-c", "id"]}]}},
            "responseStatus": {"code": 200}, "stageTimestamp": "2026-03-10T10:00:00Z"}),
        serde_json::json!({"insertId": "g1", "timestamp": "2026-03-10T10:05:00Z",
            "resource": {"labels": {"cluster_name": "c"}},
            "protoPayload": {"serviceName": "k8s.io", "methodName": "io.k8s.core.v1.secrets.get",
                "resourceName": "core/v1/namespaces/ml/secrets/s",
                "authenticationInfo": {"principalEmail": "sa@p.iam.gserviceaccount.com",
                    "serviceAccountDelegationInfo": [{"firstPartyPrincipal": {"principalEmail": "bob@x.example"}},
                        {"principalSubject": "serviceAccount:y"}]},
                "requestMetadata": {"callerIp": "198.51.100.4"}, "status": {"code": 7}}}),
    ]
}

/// The built-in detections on mutated records: the document parsers of exposure (bucket
/// policies, ACLs, public access block, GCP IAM deltas, Azure role-assignment bodies) and
/// the severity factors (trail destinations, SSE-KMS contexts) read untrusted JSON.
#[test]
fn fuzz_detections() {
    use mlguard::scan::{assets, detect};
    let ct = |name: &str, rp: Value| {
        serde_json::json!({"eventVersion": "1.09", "eventTime": "2026-11-03T12:00:00Z",
            "eventSource": if name == "Decrypt" { "kms.amazonaws.com" } else { "s3.amazonaws.com" },
            "eventName": name, "sourceIPAddress": "198.51.100.7", "userAgent": "rclone/v1.66.0",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/eve", "accountId": "111122223333"},
            "recipientAccountId": "111122223333", "requestParameters": rp})
    };
    let recs = [
        ct(
            "PutBucketPolicy",
            serde_json::json!({"bucketName": "b", "bucketPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["*", "arn:aws:iam::444455556666:root"]}, "Action": "s3:GetObject",
             "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": "v"}, "IpAddress": {"aws:SourceIp": ["0.0.0.0/0"]}}},
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": ["s3:PutObject"]}]}}),
        ),
        ct(
            "PutBucketAcl",
            serde_json::json!({"bucketName": "b", "x-amz-acl": ["public-read"], "x-amz-grant-read": "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",
            "AccessControlPolicy": {"Owner": {"ID": "o"}, "AccessControlList": {"Grant": [{"Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}, {"Grantee": {"ID": "x"}, "Permission": "WRITE"}]}}}),
        ),
        ct(
            "PutBucketPublicAccessBlock",
            serde_json::json!({"bucketName": "b", "PublicAccessBlockConfiguration": {"BlockPublicAcls": "false", "IgnorePublicAcls": true}}),
        ),
        ct(
            "CreateTrail",
            serde_json::json!({"name": "t", "s3BucketName": "logs"}),
        ),
        ct(
            "GetObject",
            serde_json::json!({"bucketName": "logs", "key": "AWSLogs/1/CloudTrail/x"}),
        ),
        ct(
            "Decrypt",
            serde_json::json!({"encryptionContext": {"aws:s3:arn": "arn:aws:s3:::b/k"}}),
        ),
        serde_json::json!({"protoPayload": {"methodName": "SetIamPolicy", "authenticationInfo": {"principalEmail": "a@corp.example"},
            "serviceData": {"policyDelta": {"bindingDeltas": [{"action": "ADD", "member": "user:e@gmail.com"}, {"action": "ADD", "member": "serviceAccount:x@p.iam.gserviceaccount.com"}]}}},
            "resource": {"labels": {"project_id": "q"}}, "timestamp": "2026-11-03T12:00:00Z"}),
        serde_json::json!({"time": "2026-11-03T12:00:00Z", "tenantId": "t1", "operationName": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
            "resourceId": "/subscriptions/S/x", "category": "Administrative", "resultType": "Success",
            "properties": {"requestbody": "{\"Properties\": {\"PrincipalId\": \"p\", \"PrincipalType\": \"ForeignGroup\", \"PrincipalTenantId\": \"t2\"}}"}}),
    ];
    // The AWS families: documents they parse (trust policies, inline policies,
    // share lists, Lambda permissions, SSM name lists) and the sign-in fields they read.
    let aws = |source: &str, name: &str, rp: Value| {
        let mut r = ct(name, rp);
        r["eventSource"] = source.into();
        r["eventID"] = format!("id-{name}").into();
        r
    };
    let mut root = aws("signin.amazonaws.com", "ConsoleLogin", Value::Null);
    root["userIdentity"]["type"] = "Root".into();
    root["additionalEventData"] = serde_json::json!({"MFAUsed": "No"});
    root["responseElements"] = serde_json::json!({"ConsoleLogin": "Failure"});
    let recs: Vec<Value> = recs
        .into_iter()
        .chain([
            aws("iam.amazonaws.com", "UpdateAssumeRolePolicy", serde_json::json!({"roleName": "r",
                "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\",\"arn:aws:iam::444455556666:root\"]},\"Action\":\"sts:AssumeRole\"}]}"})),
            aws("iam.amazonaws.com", "PutUserPolicy", serde_json::json!({"userName": "u",
                "policyDocument": {"Statement": {"Effect": "Allow", "Action": ["*:*"], "Resource": "*"}}})),
            aws("iam.amazonaws.com", "CreateAccessKey", serde_json::json!({"userName": "other"})),
            aws("lambda.amazonaws.com", "AddPermission20150331v2", serde_json::json!({"functionName": "f",
                "principal": "*", "functionUrlAuthType": "NONE"})),
            aws("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", serde_json::json!({"functionName": "f",
                "layers": ["arn:aws:lambda:us-east-1:444455556666:layer:l:1"]})),
            aws("ec2.amazonaws.com", "ModifySnapshotAttribute", serde_json::json!({"snapshotId": "snap-1",
                "createVolumePermission": {"add": {"items": [{"userId": "444455556666"}, {"group": "all"}]},
                "remove": {"items": [{"userId": "444455556666"}]}}})),
            aws("ssm.amazonaws.com", "GetParameters", serde_json::json!({"names": ["/a", "/b"], "withDecryption": true})),
            aws("logs.amazonaws.com", "DeleteLogGroup", serde_json::json!({"logGroupName": "aws-cloudtrail-logs"})),
            root,
            // W&B (the member-change evidence is read from the raw record).
            serde_json::json!({"timestamp": "2026-11-03T12:00:00Z", "action": "organization:update_member",
                "actor_email": "a@corp.example", "actor_ip": "198.51.100.7", "user_email": "e@x.example",
                "entity_name": "acme", "response_code": 200}),
        ])
        .collect();
    let seeds: Vec<Seed> = recs
        .iter()
        .enumerate()
        .map(|(i, r)| Seed::new(&format!("rec{i}.json"), serde_json::to_vec(r).unwrap()))
        .collect();
    // Environments and an identity, so the cross-environment chains run on mutated events
    // too (the seeds' accounts in two environments; the record file in a third).
    let mut settings = detect::Settings::default();
    for (name, acct, path) in [
        ("dev", "111122223333", ""),
        ("prod", "444455556666", ""),
        ("lab", "", "rec*"),
    ] {
        let e = detect::chains::Environment {
            aws_accounts: [acct]
                .iter()
                .filter(|a| !a.is_empty())
                .map(|a| a.to_string())
                .collect(),
            paths: [path]
                .iter()
                .filter(|a| !a.is_empty())
                .map(|a| a.to_string())
                .collect(),
            ..Default::default()
        };
        settings.environments.insert(name.into(), e);
    }
    settings.identities.insert(
        "p".into(),
        detect::chains::Identity {
            aws_arns: vec!["arn:aws:*".into()],
            k8s_users: vec!["*".into()],
            ..Default::default()
        },
    );
    let amap = assets::AssetMap::new(&assets::AssetConfig::default()).unwrap();
    let ok = fuzz("detections", &seeds, cases(DEFAULT_CASES), &|b| {
        let r = logs::read::read_bytes(Path::new("rec.json"), b, None);
        let mut det = detect::Detector::new(&settings, None).unwrap();
        let mut n = 0;
        for e in &r.events {
            n += det.record(&amap, e).len();
        }
        n += det.run(&amap, &r.events).len();
        n > 0
    });
    assert!(ok > 0, "no mutated record gave a finding");
}

/// The ML-platform and Kubernetes detections on mutated records: SageMaker lifecycle
/// scripts (base64 decoded and searched), request parameters searched for roles and output
/// paths, Vertex request bodies, Azure ML operation names, Kubernetes pod specs (nested
/// Kubeflow replica templates), RBAC rules, exec request URIs. Seeds: every record of the
/// ML-platform samples and the falco traces; run with and without a baseline.
#[test]
fn fuzz_ml_platform_detections() {
    use mlguard::scan::{assets, detect};
    let mut seeds: Vec<Seed> = Vec::new();
    for (f, key) in [
        ("scan/mlplat/cloudtrail/sagemaker.json", "Records"),
        ("scan/mlplat/gcp/vertex.json", "entries"),
        ("scan/mlplat/azure/azureml-activity.json", "records"),
    ] {
        let v: Value = serde_json::from_slice(&std::fs::read(testdata(f)).unwrap()).unwrap();
        for (i, r) in v[key].as_array().unwrap().iter().enumerate() {
            // The interesting records (not the many routine baseline ones).
            if i % 3 == 0 || i + 12 > v[key].as_array().unwrap().len() {
                seeds.push(Seed::new(
                    &format!("{key}{i}.json"),
                    serde_json::to_vec(r).unwrap(),
                ));
            }
        }
    }
    for p in files_under(&testdata("scan/k8s-falco"), ".json") {
        seeds.push(Seed::file(&p));
    }
    for r in k8s_shapes() {
        seeds.push(Seed::new("shape.json", serde_json::to_vec(&r).unwrap()));
    }
    let plain = detect::Settings::default();
    let learning = detect::Settings {
        baseline_days: 0.0001,
        ..detect::Settings::default()
    };
    let amap = assets::AssetMap::new(&assets::AssetConfig::default()).unwrap();
    let ok = fuzz(
        "ml_platform_detections",
        &seeds,
        cases(DEFAULT_CASES),
        &|b| {
            let r = logs::read::read_bytes(Path::new("rec.json"), b, None);
            let mut n = 0;
            for s in [&plain, &learning] {
                let mut det = detect::Detector::new(s, None).unwrap();
                for e in &r.events {
                    n += det.record(&amap, e).len();
                }
                n += det.run(&amap, &r.events).len();
                let _ = det.coverage(&amap, None);
            }
            n > 0
        },
    );
    assert!(ok > 0, "no mutated record gave a finding");
}

/// GeoIP databases (`--geoip`): MaxMind's test databases, mutated, opened (metadata,
/// search tree, verification) and asked about addresses they hold.
#[test]
fn fuzz_geoip() {
    use mlguard::scan::geoip::GeoIp;
    let seeds: Vec<Seed> = ["GeoLite2-Country-Test.mmdb", "GeoLite2-ASN-Test.mmdb"]
        .iter()
        .map(|f| Seed::file(&testdata(&format!("geoip/{f}"))))
        .collect();
    let ips: Vec<std::net::IpAddr> = ["89.160.20.115", "1.128.0.1", "2001:218::1", "203.0.113.9"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let ok = fuzz("geoip", &seeds, cases(DEFAULT_CASES / 3), &|b| {
        let Ok(g) = GeoIp::from_bytes(Path::new("db.mmdb"), b.to_vec()) else {
            return false;
        };
        for ip in &ips {
            let _ = g.lookup(*ip);
        }
        true
    });
    assert!(ok > 0, "no mutated database opened");
}

#[test]
fn fuzz_mlflow() {
    let seeds: Vec<Seed> = files_under(&testdata("scan/mlflow"), ".json")
        .iter()
        .map(|p| Seed::file(p))
        .collect();
    let src = registry::by_name("mlflow").expect("mlflow source");
    let ok = fuzz("mlflow", &seeds, cases(DEFAULT_CASES * 2), &|b| {
        let r = logs::read::read_bytes(Path::new("model.json"), b, Some(src));
        let _ = logs::read::read_bytes(Path::new("model.json"), b, None);
        !r.events.is_empty() || r.unused.is_some()
    });
    assert!(ok > 0);
}

#[test]
fn fuzz_sigma_rules() {
    let seeds: Vec<Seed> = files_under(&testdata("sigma/rules"), ".yml")
        .iter()
        .step_by(7)
        .map(|p| Seed::file(p))
        .collect();
    let ok = fuzz("sigma", &seeds, cases(DEFAULT_CASES * 2), &|b| {
        let Ok(t) = std::str::from_utf8(b) else {
            return false;
        };
        let mut rs = mlguard::scan::sigma::RuleSet::default();
        rs.add_yaml(t, "rule.yml").is_ok()
    });
    assert!(ok > 0);
}

/// Sigma v2 correlation documents (and the multi-document files that hold them with their
/// base rules): parse, then run the correlation over matches of generated records, so
/// mutated timespans, thresholds, group-by fields and aliases reach the sliding windows.
#[test]
fn fuzz_sigma_correlations() {
    let dir = testdata("sigma/suzaku-rules/suzaku/aws/cloudtrail");
    let mut seeds: Vec<Seed> = [
        "aws_cloudtrail_many_failed_logins.yml",
        "aws_cloudtrail_many_access_denied.yml",
        "aws_cloudtrail_many_recon_events.yml",
        "aws_cloudtrail_s3_enum_after_getcalleridentity.yml",
        "aws_cloudtrail_iam_persistence_chain.yml",
    ]
    .iter()
    .map(|f| Seed::file(&dir.join(f)))
    .collect();
    seeds.push(Seed::new(
        "temporal_alias.yml",
        b"title: c\nid: c1\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  group-by: [ip]\n  timespan: 1m\n  condition: {gte: 2, lt: 3}\n  generate: true\n  aliases:\n    ip: {a: sourceIPAddress, b: userIdentity.arn}\n---\ntitle: A\nname: a\nid: a1\nlogsource: {product: aws}\ndetection: {s: {eventName: 'List*'}, condition: s}\n---\ntitle: B\nname: b\nid: b1\nlogsource: {product: aws}\ndetection: {s: {errorCode|exists: true}, condition: s}\n"
            .to_vec(),
    ));
    let names = [
        "ListUsers",
        "ListBuckets",
        "GetCallerIdentity",
        "CreateUser",
        "CreateAccessKey",
        "ConsoleLogin",
    ];
    let sources = [
        "iam.amazonaws.com",
        "s3.amazonaws.com",
        "sts.amazonaws.com",
        "signin.amazonaws.com",
    ];
    let records: Vec<Value> = (0..40)
        .map(|i| {
            serde_json::json!({
                "eventName": names[i % names.len()],
                "eventSource": sources[i % sources.len()],
                "sourceIPAddress": format!("10.0.0.{}", i % 3),
                "userIdentity": {"arn": format!("arn:aws:iam::1:user/u{}", i % 2), "accessKeyId": "AKIA1"},
                "errorCode": if i % 5 == 0 { Value::from("AccessDenied") } else { Value::Null },
                "responseElements": {"ConsoleLogin": "Failure"},
            })
        })
        .collect();
    let ok = fuzz("sigma_correlation", &seeds, cases(DEFAULT_CASES), &|b| {
        let Ok(t) = std::str::from_utf8(b) else {
            return false;
        };
        let mut rs = mlguard::scan::sigma::RuleSet::default();
        if rs.add_yaml(t, "corr.yml").is_err() {
            return false;
        }
        let mut hits = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let before = hits.len();
            let _ = rs.evaluate_with_hits(r, "aws", Some("cloudtrail"), &mut hits);
            for h in &mut hits[before..] {
                // Out of order and with gaps; one in 13 has no time.
                h.time_ms = (i % 13 != 0).then_some(((i * 37) % 41) as i64 * 7_000);
            }
        }
        let (findings, stats) = rs.correlate(hits, 2);
        assert!(stats.iter().all(|s| s.findings as usize <= findings.len()));
        rs.correlation_count() > 0
    });
    assert!(ok > 0);
}

/// Rule ignore lists (Suzaku's `<id> # reason` format).
#[test]
fn fuzz_sigma_ignore_list() {
    let dir = testdata("sigma/suzaku-rules/config");
    let seeds: Vec<Seed> = [
        "aws_ignore_rule_list.txt",
        "azure_ignore_rule_list.txt",
        "filtered_sigma_rules.txt",
    ]
    .iter()
    .map(|f| Seed::file(&dir.join(f)))
    .collect();
    let ok = fuzz("sigma_ignore", &seeds, cases(DEFAULT_CASES), &|b| {
        let p = scratch("ignore.txt", b);
        let mut l = mlguard::scan::sigma::IgnoreList::default();
        match l.add_file(&p) {
            Ok(()) => true,
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{e}");
                false
            }
        }
    });
    assert!(ok > 0);
}

// ---------------------------------------------------------------------------------------
// Targets: tables (CSV, JSON Lines, Parquet, Arrow IPC file and stream)

/// Read every batch of `path` as the profile does; the error if it could not be read.
fn read_table(path: &Path) -> Result<(), String> {
    let fmt = table::detect_format(path).map_err(|e| e.to_string())?;
    let opts = table::ReadOptions {
        batch_rows: 64,
        ..table::ReadOptions::default()
    };
    let units = table::units(&[(path.to_path_buf(), fmt)]).map_err(|e| e.to_string())?;
    let mut rows = 0usize;
    for u in &units {
        let r = table::read_unit(u, &opts, &mut |b| {
            rows += b.num_rows();
            // Touch every value the way the sketches do (casts, nulls).
            for c in b.columns() {
                let _ =
                    arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &Default::default())
                        .map(|f| {
                            for i in 0..c.len().min(8) {
                                let _ = f.value(i).to_string();
                            }
                        });
            }
            Ok(())
        });
        if let Err(e) = r {
            assert_eq!(e.exit_code(), 2, "{e}");
            return Err(e.to_string());
        }
    }
    Ok(())
}

fn table_target(target: &str, ext: &str, seeds: &[Seed], n: u64) {
    let name = format!("t.{ext}");
    let ok = fuzz(target, seeds, n, &|b| {
        read_table(&scratch(&name, b)).is_ok()
    });
    assert!(ok > 0, "{target}: no mutated input was readable");
}

#[test]
fn fuzz_csv() {
    let seeds = [
        Seed::file(&testdata("datasets/iris.csv")),
        Seed::new(
            "quoted.csv",
            b"a,b,c\n1,\"x,y\",2024-01-01T00:00:00Z\n2,\"multi\nline\",\n3,,2024-02-30\n".to_vec(),
        ),
    ];
    table_target("csv", "csv", &seeds, cases(DEFAULT_CASES));
}

#[test]
fn fuzz_jsonl() {
    let seeds = [Seed::new(
        "rows.jsonl",
        b"{\"a\": 1, \"b\": \"x\", \"c\": [1, 2], \"d\": {\"e\": true}}\n{\"a\": 2.5, \"b\": null, \"c\": [], \"d\": {\"e\": false}}\n{\"a\": 3, \"b\": \"z\", \"c\": null, \"d\": null}\n"
            .to_vec(),
    )];
    table_target("jsonl", "jsonl", &seeds, cases(DEFAULT_CASES));
}

fn parquet_seeds() -> Vec<Seed> {
    use parquet::basic::{Compression, ZstdLevel};
    vec![
        Seed::new(
            "iris.parquet",
            parquet_bytes(&iris_batches(), Compression::UNCOMPRESSED),
        ),
        Seed::new(
            "iris.snappy.parquet",
            parquet_bytes(&iris_batches(), Compression::SNAPPY),
        ),
        Seed::new(
            "typed.zstd.parquet",
            parquet_bytes(&[typed_batch()], Compression::ZSTD(ZstdLevel::default())),
        ),
    ]
}

fn ipc_seeds() -> Vec<Seed> {
    vec![
        Seed::new("iris.arrow", ipc_bytes(&iris_batches(), false, false)),
        Seed::new("typed.lz4.arrow", ipc_bytes(&[typed_batch()], false, true)),
        Seed::new("iris.arrows", ipc_bytes(&iris_batches(), true, false)),
        Seed::new("typed.arrows", ipc_bytes(&[typed_batch()], true, true)),
    ]
}

#[test]
fn fuzz_parquet() {
    table_target("parquet", "parquet", &parquet_seeds(), cases(DEFAULT_CASES));
}

#[test]
fn fuzz_ipc() {
    // The extension is the same for all: the readers detect file and stream by magic.
    table_target("ipc", "arrow", &ipc_seeds(), cases(DEFAULT_CASES * 2));
}

/// Every one-byte change (five values per offset) of every Parquet and IPC seed: none may
/// escape as a panic, and the distinct decoder panics contained on the way are printed
/// with their first reproducer (seed, offset, byte) — what docs/upstream-panics.md
/// records. Long (minutes on a release build), so not in the default run:
/// `cargo test --release --test tests -- --ignored fuzz::one_byte --nocapture`.
#[test]
#[ignore]
fn one_byte_mutations_of_binary_seeds() {
    let mut seen: std::collections::BTreeMap<String, (String, usize, u8, u8)> = Default::default();
    let mut total = 0u64;
    let mut panicked = 0u64;
    // MLGUARD_FUZZ_STRIDE=N: every Nth offset only (a quick look on a debug build).
    let stride = std::env::var("MLGUARD_FUZZ_STRIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    for (ext, seeds) in [("parquet", parquet_seeds()), ("arrow", ipc_seeds())] {
        for s in &seeds {
            for off in (0..s.bytes.len()).step_by(stride) {
                let orig = s.bytes[off];
                let mut vals = vec![0x00, 0xff, 0x7f, orig ^ 0x01, orig ^ 0x80];
                vals.sort();
                vals.dedup();
                for v in vals.into_iter().filter(|v| *v != orig) {
                    let mut b = s.bytes.clone();
                    b[off] = v;
                    total += 1;
                    let r =
                        std::panic::catch_unwind(|| read_table(&scratch(&format!("t.{ext}"), &b)));
                    let r = r.unwrap_or_else(|_| {
                        panic!(
                            "uncontained panic: seed {}, offset {off}, byte {v:#04x}",
                            s.name
                        )
                    });
                    if let Err(e) = r {
                        if let Some(i) = e.find("(it panicked: ") {
                            panicked += 1;
                            let msg = e[i + 14..].trim_end_matches("); the file is not readable");
                            // One entry per panic site (digits in messages vary).
                            let key = msg.rsplit(", at ").next().unwrap_or(msg).to_string();
                            seen.entry(key)
                                .or_insert((format!("{}: {msg}", s.name), off, orig, v));
                        }
                    }
                }
            }
        }
    }
    println!(
        "{total} one-byte mutations, {panicked} contained decoder panics, {} sites:",
        seen.len()
    );
    for (site, (msg, off, orig, v)) in &seen {
        println!(
            "- {site}
    {msg}
    offset {off}: {orig:#04x} -> {v:#04x}"
        );
    }
}
