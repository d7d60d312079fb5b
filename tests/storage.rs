//! Object storage end to end: the real `mlguard` binary against a real S3-compatible server
//! on 127.0.0.1 (moto's server mode, started by `.ci/run`, address in
//! `MLGUARD_TEST_S3_ENDPOINT`). Without the server these tests print a note and pass
//! outside CI; with `CI` set they fail.

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};

use crate::util as common;
use common::{bin, testdata};

/// The loopback server's endpoint, or `None` (with a note; a failure in CI).
fn endpoint() -> Option<String> {
    let ep = std::env::var("MLGUARD_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:5055".to_string());
    let hostport = ep.trim_start_matches("http://").to_string();
    let up = std::net::TcpStream::connect(&hostport).is_ok();
    if up {
        return Some(ep);
    }
    if std::env::var_os("CI").is_some() {
        panic!("no S3 server at {ep}: .ci/run starts moto_server (pip moto[server]) in CI");
    }
    eprintln!(
        "note: skipping object-storage test: no S3 server at {ep} \
         (run `moto_server -H 127.0.0.1 -p 5055`, or set MLGUARD_TEST_S3_ENDPOINT)"
    );
    None
}

struct S3 {
    endpoint: String,
    bucket: String,
    store: AmazonS3,
    rt: tokio::runtime::Runtime,
}

impl S3 {
    /// A fresh bucket for one test.
    fn new(test: &str) -> Option<S3> {
        let endpoint = endpoint()?;
        let bucket = format!(
            "t-{}-{}-{}",
            test.replace('_', "-"),
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        // Bucket creation is not part of object_store: a plain PUT /bucket (moto needs no
        // body for us-east-1).
        let hostport = endpoint.trim_start_matches("http://");
        let mut c = std::net::TcpStream::connect(hostport).unwrap();
        write!(
            c,
            "PUT /{bucket} HTTP/1.1\r\nHost: {hostport}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        c.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "create bucket: {resp}");
        let store = AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_bucket_name(&bucket)
            .with_region("us-east-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Some(S3 {
            endpoint,
            bucket,
            store,
            rt,
        })
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn put(&self, key: &str, bytes: &[u8]) {
        self.rt
            .block_on(
                self.store
                    .put(&ObjPath::from(key), PutPayload::from(bytes.to_vec())),
            )
            .unwrap();
    }

    fn delete(&self, key: &str) {
        self.rt
            .block_on(self.store.delete(&ObjPath::from(key)))
            .unwrap();
    }

    /// Upload every file under `dir` to `prefix/`.
    fn upload(&self, dir: &Path, prefix: &str) {
        for e in walkdir::WalkDir::new(dir) {
            let e = e.unwrap();
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy();
                self.put(
                    &format!("{prefix}/{rel}"),
                    &std::fs::read(e.path()).unwrap(),
                );
            }
        }
    }

    /// `mlguard` with the standard AWS environment pointing at the loopback server.
    fn cmd(&self) -> Command {
        let mut c = bin();
        c.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let o = self.cmd().args(args).output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !all.contains("testing-secret-never-printed"),
            "a credential was printed: {all}"
        );
        o
    }
}

fn text(o: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A small dataset tree: nested directories, a file larger than the chunk size (so it is
/// hashed with parallel ranged GETs), an ignored file.
fn dataset() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    std::fs::create_dir_all(root.join("train/part")).unwrap();
    std::fs::copy(testdata("datasets/iris.csv"), root.join("train/iris.csv")).unwrap();
    std::fs::copy(
        testdata("datasets/wine.csv"),
        root.join("train/part/wine.csv"),
    )
    .unwrap();
    let big: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(root.join("weights.bin"), &big).unwrap();
    std::fs::write(root.join("notes.tmp"), "scratch").unwrap();
    std::fs::write(root.join(".mlguardignore"), "*.tmp\n").unwrap();
    d
}

fn hash_local(dir: &Path, extra: &[&str]) -> Value {
    let o = bin().arg("hash").arg(dir).args(extra).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn hash_of_a_prefix_is_the_manifest_of_a_local_copy_and_verifies_both_ways() {
    let Some(s3) = S3::new("hash") else { return };
    let d = dataset();
    s3.upload(d.path(), "data");
    let chunk = ["--chunk-size", "64K"];
    let local = hash_local(d.path(), &chunk);
    let o = s3.run(&["hash", &s3.url("data/"), "--chunk-size", "64K"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let remote: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(remote["root"], local["root"], "the same Merkle root");
    // Every object records the version it was read at (ETag, last-modified), outside the
    // root: a local tree has none.
    for f in remote["files"].as_array().unwrap() {
        let o = &f["object"];
        assert!(o["etag"].as_str().is_some_and(|e| !e.is_empty()), "{f}");
        assert!(
            o["last_modified"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{f}"
        );
    }
    assert!(local["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f.get("object").is_none()));
    let timeless = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("created");
        for f in v["files"].as_array_mut().unwrap() {
            f.as_object_mut().unwrap().remove("object");
        }
        v
    };
    assert_eq!(
        timeless(&remote),
        timeless(&local),
        "the same manifest (all but the creation time and the object versions)"
    );
    assert!(
        remote["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "weights.bin" && f["chunks"].as_array().unwrap().len() > 1),
        "the large object was hashed by chunks"
    );
    // Without the trailing slash, and as file:// for the local side: the same root.
    let o = s3.run(&["hash", &s3.url("data")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let file_url = format!("file://{}", d.path().display());
    assert_eq!(v["root"], hash_local(Path::new(&file_url), &[])["root"]);

    // Manifest from the laptop verifies the bucket, and the bucket's verifies the laptop.
    let m = d.path().parent().unwrap().join(format!(
        "{}.manifest.json",
        d.path().file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&m, serde_json::to_vec(&local).unwrap()).unwrap();
    let o = s3.run(&[
        "verify",
        &s3.url("data/"),
        "--manifest",
        m.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rm = m.with_extension("remote.json");
    std::fs::write(&rm, serde_json::to_vec(&remote).unwrap()).unwrap();
    let o = bin()
        .arg("verify")
        .arg(d.path())
        .arg("--manifest")
        .arg(&rm)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::remove_file(&rm).unwrap();

    // Tamper one object, delete another: the same statuses as on a local tree.
    s3.put("data/train/iris.csv", b"sepal_length\n1\n");
    s3.delete("data/train/part/wine.csv");
    let o = s3.run(&[
        "verify",
        &s3.url("data/"),
        "--manifest",
        m.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let status = |p: &str| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .map(|f| f["status"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(status("train/iris.csv"), "modified", "{v}");
    assert_eq!(status("train/part/wine.csv"), "missing", "{v}");
    std::fs::remove_file(&m).unwrap();
}

#[test]
fn verify_file_accepts_an_object_url() {
    let Some(s3) = S3::new("vfile") else { return };
    let d = dataset();
    s3.upload(d.path(), "ds");
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("k");
    let o = bin().args(["keygen", "-o"]).arg(&key).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let env = keys.path().join("ds.dsse.json");
    let o = s3.run(&[
        "hash",
        &s3.url("ds/"),
        "--sign",
        key.to_str().unwrap(),
        "-o",
        env.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let proof = keys.path().join("iris.proof.json");
    let o = bin()
        .arg("prove")
        .arg(&env)
        .args(["train/iris.csv", "-o"])
        .arg(&proof)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let pubkey = keys.path().join("k.pub");
    let args = |url: &str| {
        vec![
            "verify-file".to_string(),
            url.to_string(),
            "--proof".into(),
            proof.display().to_string(),
            "--signature".into(),
            env.display().to_string(),
            "--pubkey".into(),
            pubkey.display().to_string(),
        ]
    };
    let a = args(&s3.url("ds/train/iris.csv"));
    let o = s3.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    s3.put("ds/train/iris.csv", b"tampered\n");
    let o = s3.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn failures_exit_2_naming_the_url_and_never_write_a_manifest() {
    let Some(s3) = S3::new("fail") else { return };
    s3.put("x/a.csv", b"a\n1\n");
    let out = tempfile::tempdir().unwrap();
    let m = out.path().join("m.json");
    let missing_bucket = format!("s3://no-such-bucket-{}/data/", std::process::id());
    for url in [missing_bucket.clone(), s3.url("typo/")] {
        let o = s3.run(&["hash", &url, "-o", m.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(url.trim_end_matches('/')), "{err}");
        assert!(!m.exists(), "no manifest on failure");
    }
    let o = s3.run(&["profile", &s3.url("x/missing.csv")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.csv"));
}

/// An object replaced after the listing must not be hashed as if it were the listed one:
/// reads are pinned to the listed ETag (If-Match).
#[test]
fn an_object_replaced_between_list_and_read_is_an_error() {
    let Some(s3) = S3::new("race") else { return };
    s3.put("p/a.bin", &[1u8; 5000]);
    std::env::set_var("AWS_ENDPOINT_URL", &s3.endpoint);
    std::env::set_var("AWS_ALLOW_HTTP", "true");
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_REGION", "us-east-1");
    let listing = mlguard::input::source::list(
        Path::new(&s3.url("p/")),
        &mlguard::input::source::WalkOptions::default(),
    )
    .unwrap();
    assert_eq!(listing.items.len(), 1);
    s3.put("p/a.bin", &[2u8; 5000]);
    let src = listing.items[0].remote.clone().unwrap();
    let err = mlguard::integrity::hasher::hash_source(
        src.as_ref(),
        &mlguard::integrity::hasher::HashOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("changed while"), "{err}");
}

fn parquet_of(csv: &Path, out: &Path, rows_per_group: usize) {
    use std::sync::Arc;
    let fmt = arrow_csv::reader::Format::default().with_header(true);
    let (schema, _) = fmt
        .infer_schema(std::fs::File::open(csv).unwrap(), None)
        .unwrap();
    let schema = Arc::new(schema);
    let r = arrow_csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(std::fs::File::open(csv).unwrap())
        .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(out).unwrap(),
        schema,
        Some(props),
    )
    .unwrap();
    for b in r {
        w.write(&b.unwrap()).unwrap();
    }
    w.close().unwrap();
}

/// The profile's statistics without the input list (paths differ between a URL and a
/// local copy; sizes and digests must not).
fn stats(mut p: Value) -> (Value, Vec<(u64, String)>) {
    let inputs = p["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["size"].as_u64().unwrap(),
                i["blake3"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    p.as_object_mut().unwrap().remove("inputs");
    (p, inputs)
}

#[test]
fn profile_and_drift_on_urls_equal_a_local_copy() {
    let Some(s3) = S3::new("prof") else { return };
    let d = tempfile::tempdir().unwrap();
    let pq = d.path().join("wine.parquet");
    parquet_of(&testdata("datasets/wine.csv"), &pq, 50);
    s3.put("t/wine.parquet", &std::fs::read(&pq).unwrap());
    let csv_gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&std::fs::read(testdata("datasets/iris.csv")).unwrap())
            .unwrap();
        e.finish().unwrap()
    };
    std::fs::write(d.path().join("iris.csv.gz"), &csv_gz).unwrap();
    s3.put("c/iris.csv.gz", &csv_gz);
    for (url, local) in [
        (s3.url("t/wine.parquet"), pq.clone()),
        (s3.url("c/"), d.path().join("iris.csv.gz")),
    ] {
        let o = s3.run(&["profile", &url]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let remote: Value = serde_json::from_slice(&o.stdout).unwrap();
        let o = bin().arg("profile").arg(&local).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let here: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(stats(remote.clone()), stats(here), "{url}");
        // drift of the URL against the local profile passes.
        let base = d.path().join("base.json");
        std::fs::write(&base, serde_json::to_vec(&remote).unwrap()).unwrap();
        let o = s3.run(&["drift", "--baseline", base.to_str().unwrap(), &url]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
}

#[test]
fn scan_of_a_log_prefix_equals_a_local_scan() {
    let Some(s3) = S3::new("scan") else { return };
    let logs = testdata("scan/gcp");
    s3.upload(&logs, "AWSLogs/gcp");
    let run = |c: &mut Command| -> Value {
        let o = c.output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let local = run(bin().arg("scan").arg(&logs).args(["--format", "json"]));
    let remote = run(s3
        .cmd()
        .args(["scan", &s3.url("AWSLogs/gcp/"), "--format", "json"]));
    assert_eq!(remote["summary"], local["summary"]);
    let ids = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(ids(&remote), ids(&local));
}

// ---------------------------------------------------------------------------------------
// Sharding on object storage (`--shard`, `manifest merge`, docs/scale.md) and the Spark job.

fn json_of(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn timeless(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("created");
    v
}

fn entry_paths(m: &Value) -> Vec<String> {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sharded_hash_of_a_prefix_merges_to_the_unsharded_manifest() {
    let Some(s3) = S3::new("shard") else { return };
    let d = dataset();
    for i in 0..12 {
        std::fs::write(d.path().join(format!("train/s{i}.txt")), format!("{i}")).unwrap();
    }
    s3.upload(d.path(), "data");
    let url = s3.url("data/");
    let whole = json_of(&s3.run(&["hash", &url, "--chunk-size", "64K"]));
    let out = tempfile::tempdir().unwrap();
    let n = 3;
    let mut parts = Vec::new();
    for k in 0..n {
        let p = out.path().join(format!("part-{k}.json"));
        let shard = format!("{k}/{n}");
        let o = s3.run(&[
            "hash",
            &url,
            "--chunk-size",
            "64K",
            "--shard",
            &shard,
            "-o",
            p.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        // The split depends on the relative path only: a local copy splits the same way.
        let local = hash_local(d.path(), &["--chunk-size", "64K", "--shard", &shard]);
        let remote: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(entry_paths(&remote), entry_paths(&local), "part {shard}");
        assert_eq!(remote["shard"], local["shard"], "part {shard}");
        parts.push(p);
    }
    let o = bin()
        .args(["manifest", "merge"])
        .args(&parts)
        .output()
        .unwrap();
    let merged = json_of(&o);
    assert_eq!(timeless(&merged), timeless(&whole));

    // A sharded verify of the bucket fails only the part that holds the tampered object.
    let m = out.path().join("m.json");
    std::fs::write(&m, serde_json::to_vec(&merged).unwrap()).unwrap();
    s3.put("data/train/s3.txt", b"tampered");
    let mut failing = Vec::new();
    for k in 0..n {
        let o = s3.run(&[
            "verify",
            &url,
            "--manifest",
            m.to_str().unwrap(),
            "--shard",
            &format!("{k}/{n}"),
            "--format",
            "json",
        ]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        match o.status.code() {
            Some(0) => assert_eq!(v["files"].as_array().unwrap().len(), 0, "{v}"),
            Some(1) => {
                assert_eq!(v["files"][0]["path"], "train/s3.txt", "{v}");
                assert_eq!(v["files"][0]["status"], "modified", "{v}");
                failing.push(k);
            }
            c => panic!("exit {c:?}: {}", text(&o)),
        }
    }
    assert_eq!(failing.len(), 1, "exactly one part holds the object");
}

/// Python with pyspark and a Java runtime, or `None` (with a note; a failure in CI).
fn spark() -> Option<()> {
    let py = Command::new("python3")
        .args(["-c", "import pyspark"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let java = Command::new("java")
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if py && java {
        return Some(());
    }
    let what = format!(
        "{}{}",
        if py {
            ""
        } else {
            "pyspark (pip install pyspark) "
        },
        if java {
            ""
        } else {
            "java (apt-get install default-jre-headless)"
        }
    );
    if std::env::var_os("CI").is_some() {
        panic!("the Spark test needs {what}: .ci/run installs them in CI");
    }
    eprintln!("note: skipping the Spark test: missing {what}");
    None
}

/// `contrib/spark/mlguard_spark.py` in Spark local mode with two worker threads. `ship`:
/// the binary is sent to the executors with addFile (= spark-submit --files), else it is
/// named as a path every executor has (`--mlguard`, a binary on the image).
fn spark_job(s3: &S3, ship: bool, args: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/spark/mlguard_spark.py");
    let mut c = Command::new("python3");
    c.arg(script)
        .args(["--master", "local[2]"])
        .args([
            if ship { "--ship" } else { "--mlguard" },
            env!("CARGO_BIN_EXE_mlguard"),
        ])
        .args(args)
        .env("AWS_ENDPOINT_URL", &s3.endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed")
        .env("AWS_REGION", "us-east-1")
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("PYSPARK_PYTHON", "python3")
        // A JVM that starts fast (the job is tiny): C1 only, serial GC.
        .env(
            "JAVA_TOOL_OPTIONS",
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    let o = c.output().unwrap();
    assert!(
        !text(&o).contains("testing-secret-never-printed"),
        "a credential was printed"
    );
    o
}

#[test]
fn spark_job_merges_shards_to_the_single_process_manifest_and_profile() {
    let Some(s3) = S3::new("spark") else { return };
    let Some(()) = spark() else { return };
    let d = dataset();
    // Tabular shards for the profile: diabetes.csv in 6 files.
    let src = std::fs::read_to_string(testdata("datasets/diabetes.csv")).unwrap();
    let mut lines = src.lines();
    let header = lines.next().unwrap().to_string();
    let rows: Vec<&str> = lines.collect();
    for (i, chunk) in rows.chunks(80).enumerate() {
        s3.put(
            &format!("tab/d{i}.csv"),
            format!("{header}\n{}\n", chunk.join("\n")).as_bytes(),
        );
    }
    s3.upload(d.path(), "data");
    let out = tempfile::tempdir().unwrap();

    // hash: the merged manifest's root is the single-process root.
    let merged = out.path().join("merged.manifest.json");
    let o = spark_job(
        &s3,
        true,
        &[
            "--shards",
            "3",
            "hash",
            &s3.url("data/"),
            "-o",
            merged.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let merged_m: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    let whole = json_of(&s3.run(&["hash", &s3.url("data/")]));
    assert_eq!(merged_m["root"], whole["root"]);
    assert_eq!(timeless(&merged_m), timeless(&whole));

    // profile: the merged profile passes drift against the unsharded one.
    let merged_p = out.path().join("merged.profile.json");
    let o = spark_job(
        &s3,
        true,
        &[
            "--shards",
            "4",
            "profile",
            &s3.url("tab/"),
            "-o",
            merged_p.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let whole_p = out.path().join("whole.profile.json");
    let o = s3.run(&["profile", &s3.url("tab/"), "-o", whole_p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mp: Value = serde_json::from_slice(&std::fs::read(&merged_p).unwrap()).unwrap();
    assert_eq!(mp["rows"], 442);
    let o = bin()
        .args(["drift", "--baseline"])
        .arg(&whole_p)
        .arg(&merged_p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // verify: the parts' verdicts combine to 1 when one object was tampered.
    s3.put("data/train/iris.csv", b"sepal_length\n1\n");
    let o = spark_job(
        &s3,
        false,
        &[
            "--shards",
            "3",
            "verify",
            &s3.url("data/"),
            "--",
            "--manifest",
            merged.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("train/iris.csv"),
        "{}",
        text(&o)
    );
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A CloudTrail record at `time` (a DeleteTrail: each one is a finding, so the findings
/// prove which records were read).
fn trail_record(time: &str, i: u32) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"{time}","eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.{i}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u{i}"}},"requestParameters":{{"name":"trail-{i}"}},"recipientAccountId":"111122223333"}}"#
    )
}

/// A delivered CloudTrail tree, `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz`:
/// valid files in March 2026 (and April 1st, holding a late-delivered March event), and
/// corrupt files on days outside March, which a read would report.
fn cloudtrail_tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("AWSLogs/111122223333/CloudTrail/us-east-1");
    let put = |day: &str, name: &str, bytes: &[u8]| {
        let dir = base.join(day);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let file =
        |records: &[String]| gz(format!("{{\"Records\":[{}]}}", records.join(",")).as_bytes());
    for (i, day) in ["02", "15", "31"].iter().enumerate() {
        let i = i as u32;
        put(
            &format!("2026/03/{day}"),
            &format!("111122223333_CloudTrail_us-east-1_202603{day}T1005Z_a{i}.json.gz"),
            &file(&[
                trail_record(&format!("2026-03-{day}T10:00:00Z"), i),
                trail_record(&format!("2026-03-{day}T10:01:00Z"), i + 10),
            ]),
        );
    }
    put(
        "2026/04/01",
        "111122223333_CloudTrail_us-east-1_20260401T0005Z_late.json.gz",
        &file(&[
            trail_record("2026-03-31T23:58:00Z", 20),
            trail_record("2026-04-01T00:03:00Z", 21),
        ]),
    );
    for day in [
        "2019/01/01",
        "2025/12/31",
        "2026/02/28",
        "2026/04/02",
        "2026/05/01",
    ] {
        put(day, "corrupt.json.gz", b"\x1f\x8bnot really gzip at all");
    }
    d
}

/// `scan --since/--until` on a delivered CloudTrail tree lists only the date prefixes in
/// range: the corrupt objects on other days are never read (a read would report each), and
/// the findings equal those of the same scan of a local copy.
#[test]
fn scan_since_until_prunes_the_date_layout_and_equals_a_local_copy() {
    let Some(s3) = S3::new("trail") else { return };
    let tree = cloudtrail_tree();
    s3.upload(&tree.path().join("AWSLogs"), "AWSLogs");
    let range = ["--since", "2026-03-01", "--until", "2026-03-31"];
    let run = |c: &mut Command| -> Value {
        let o = c.output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let remote = run(s3
        .cmd()
        .args(["scan", &s3.url("AWSLogs/"), "--format", "json"])
        .args(range));
    let local = run(bin()
        .arg("scan")
        .arg(tree.path().join("AWSLogs"))
        .args(["--format", "json"])
        .args(range));
    let sum = &remote["summary"];
    assert_eq!(sum["warnings"], 0, "no corrupt object was read: {remote}");
    assert_eq!(sum["files"], 4, "three March days and April 1st: {remote}");
    assert_eq!(sum["events"]["cloudtrail"], 7, "{remote}");
    assert_eq!(sum["outside_time_range"], 1, "the April event: {remote}");
    let pruned: Vec<String> = remote["pruned_by_date"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let ct = s3.url("AWSLogs/111122223333/CloudTrail/us-east-1");
    for p in ["2019", "2025", "2026/02", "2026/04/02", "2026/05"] {
        assert!(pruned.contains(&format!("{ct}/{p}")), "{p} in {pruned:?}");
    }
    assert_eq!(
        remote["summary"], local["summary"],
        "the same as a local copy"
    );
    let ids = |v: &Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap_or_default().to_string(),
                    f["evidence"]["time"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&remote), ids(&local));
    assert!(
        ids(&remote)
            .iter()
            .any(|(_, t)| t == "2026-03-31T23:58:00Z"),
        "the late-delivered March event was read: {:?}",
        ids(&remote)
    );
    assert!(ids(&remote).iter().all(|(_, t)| !t.starts_with("2026-04")));
    // Without the range every object is listed and read: the corrupt ones are reported.
    let o = s3.run(&["scan", &s3.url("AWSLogs/"), "--format", "json"]);
    let all: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(all["summary"]["warnings"], 5, "{all}");
    assert_ne!(o.status.code(), Some(0), "an incomplete read never passes");
}

/// What the [`Relay`] in front of the S3 server does.
#[derive(Clone, Copy)]
enum Mode {
    /// Forward everything, counting the bytes the server sends.
    Pass,
    /// Forward, but cut the one connection that carries the response byte number `n`
    /// (counted over all connections) — a connection dropped mid-object, once.
    CutOnceAt(u64),
    /// Forward, but cut every connection after `n` response bytes on it.
    CutEachAfter(u64),
    /// Answer every request with this raw HTTP response, never reaching the server.
    Respond(&'static str),
}

/// A TCP relay on 127.0.0.1 in front of the loopback S3 server: the real binary talks
/// real HTTP to it, so a dropped connection or a 403/503 is what a store would do.
struct Relay {
    endpoint: String,
    /// Response bytes sent to the client (headers included).
    down: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Connections cut.
    cuts: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Relay {
    fn start(upstream: &str, mode: Mode) -> Relay {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
        use std::sync::Arc;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", l.local_addr().unwrap());
        let up = upstream.trim_start_matches("http://").to_string();
        let down = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(AtomicU64::new(0));
        let cut_once = Arc::new(AtomicBool::new(false));
        let (d, c) = (down.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in l.incoming() {
                let Ok(mut client) = client else { return };
                let (up, d, c, cut_once) = (up.clone(), d.clone(), c.clone(), cut_once.clone());
                std::thread::spawn(move || {
                    if let Mode::Respond(resp) = mode {
                        // Read one request head, answer, close.
                        let mut head = Vec::new();
                        let mut b = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            match client.read(&mut b) {
                                Ok(1) => head.push(b[0]),
                                _ => return,
                            }
                        }
                        let _ = client.write_all(resp.as_bytes());
                        d.fetch_add(resp.len() as u64, SeqCst);
                        return;
                    }
                    let Ok(mut server) = std::net::TcpStream::connect(&up) else {
                        return;
                    };
                    let (mut c2, mut s2) =
                        (client.try_clone().unwrap(), server.try_clone().unwrap());
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut c2, &mut s2);
                        let _ = s2.shutdown(std::net::Shutdown::Write);
                    });
                    let mut buf = [0u8; 16 << 10];
                    let mut here = 0u64;
                    loop {
                        let n = match server.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let before = d.fetch_add(n as u64, SeqCst);
                        here += n as u64;
                        let cut = match mode {
                            Mode::CutOnceAt(at) => {
                                before + n as u64 >= at && !cut_once.swap(true, SeqCst)
                            }
                            Mode::CutEachAfter(k) => here >= k,
                            _ => false,
                        };
                        if cut {
                            // Send part of this read, then drop the connection.
                            let _ = client.write_all(&buf[..n / 2]);
                            c.fetch_add(1, SeqCst);
                            let _ = client.shutdown(std::net::Shutdown::Both);
                            let _ = server.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                        if client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = client.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Relay {
            endpoint,
            down,
            cuts,
        }
    }

    fn down(&self) -> u64 {
        self.down.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn cuts(&self) -> u64 {
        self.cuts.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl S3 {
    /// `mlguard` talking to the store through `relay`.
    fn via(&self, relay: &Relay, args: &[&str]) -> Output {
        let o = self
            .cmd()
            .env("AWS_ENDPOINT_URL", &relay.endpoint)
            .args(args)
            .output()
            .unwrap();
        assert!(
            !text(&o).contains("testing-secret-never-printed"),
            "a credential was printed: {}",
            text(&o)
        );
        o
    }
}

/// A connection dropped in the middle of an object's body: the range is fetched again and
/// the digest is the right one (never a digest of a short read). A store that drops every
/// connection: exit 2 naming the object, no manifest written.
#[test]
fn a_connection_dropped_mid_object_retries_the_range_and_never_yields_a_short_digest() {
    let Some(s3) = S3::new("drop") else { return };
    let d = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(d.path().join("big.bin"), &big).unwrap();
    s3.upload(d.path(), "obj");
    let want = hash_local(d.path(), &["--chunk-size", "1M"]);
    let relay = Relay::start(&s3.endpoint, Mode::CutOnceAt(1_200_000));
    let o = s3.via(&relay, &["hash", &s3.url("obj/"), "--chunk-size", "1M"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(relay.cuts(), 1, "the relay did cut a connection mid-body");
    assert_eq!(got["root"], want["root"]);
    assert_eq!(got["files"][0]["blake3"], want["files"][0]["blake3"]);
    assert_eq!(got["files"][0]["chunks"], want["files"][0]["chunks"]);

    let relay = Relay::start(&s3.endpoint, Mode::CutEachAfter(4_000));
    let m = d
        .path()
        .parent()
        .unwrap()
        .join(format!("drop-{}.json", std::process::id()));
    let o = s3.via(
        &relay,
        &[
            "hash",
            &s3.url("obj/"),
            "--chunk-size",
            "1M",
            "-o",
            m.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&s3.url("obj/big.bin")), "{err}");
    assert!(relay.cuts() > 1, "every attempt was cut");
    assert!(!m.exists(), "no manifest from a failed read");
}

fn http_error(status: &str, code: &str) -> &'static str {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
    );
    Box::leak(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    )
}

/// 403 (wrong credentials, a bucket policy) and throttling (503 SlowDown, after
/// object_store's retries with backoff): a clear error naming the URL, exit 2, nothing
/// written.
#[test]
fn access_denied_and_throttling_are_clear_errors_naming_the_url() {
    let Some(s3) = S3::new("deny") else { return };
    s3.put("d/a.csv", b"x\n1\n");
    let out = tempfile::tempdir().unwrap();
    let m = out.path().join("m.json");
    for (status, code, says) in [
        ("403 Forbidden", "AccessDenied", "access denied"),
        ("503 Slow Down", "SlowDown", "throttled"),
    ] {
        let relay = Relay::start(&s3.endpoint, Mode::Respond(http_error(status, code)));
        for args in [
            vec!["hash", &s3.url("d/"), "-o", m.to_str().unwrap()],
            vec!["profile", &s3.url("d/a.csv"), "-o", m.to_str().unwrap()],
        ] {
            let o = s3.via(&relay, &args);
            assert_eq!(o.status.code(), Some(2), "{}", text(&o));
            let err = String::from_utf8_lossy(&o.stderr).to_lowercase();
            assert!(err.contains(&s3.url("d/").to_lowercase()), "{err}");
            assert!(err.contains(says), "{err}");
            assert!(!m.exists(), "nothing written on failure");
        }
    }
}

/// A CSV of `rows` rows (numbers and categories), about 50 bytes a row.
fn wide_csv(path: &Path, rows: u32) {
    let mut s = String::from("id,amount,ratio,city,flag\n");
    for i in 0..rows {
        let x = i.wrapping_mul(2654435761);
        s.push_str(&format!(
            "{i},{},{:.4},{},{}\n",
            x % 100_000,
            (x % 977) as f64 / 977.0,
            ["oslo", "lima", "pune", "kyiv", "rome"][(x % 5) as usize],
            x % 2 == 0
        ));
    }
    std::fs::write(path, s).unwrap();
}

fn ipc_of(csv: &Path, file: &Path, stream: &Path) {
    use std::sync::Arc;
    let fmt = arrow_csv::reader::Format::default().with_header(true);
    let (schema, _) = fmt
        .infer_schema(std::fs::File::open(csv).unwrap(), None)
        .unwrap();
    let schema = Arc::new(schema);
    let batches: Vec<_> = arrow_csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .with_batch_size(4096)
        .build(std::fs::File::open(csv).unwrap())
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    let mut w =
        arrow_ipc::writer::FileWriter::try_new(std::fs::File::create(file).unwrap(), &schema)
            .unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    let mut w =
        arrow_ipc::writer::StreamWriter::try_new(std::fs::File::create(stream).unwrap(), &schema)
            .unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
}

/// Profile input digests come from the bytes the profile read: each object is fetched
/// about once (counted by a relay in front of the server; before, the digest was a second
/// full download, and CSV schema inference a third partial one), Parquet by ranges
/// (footer, then the row groups' column chunks), and the digest is still the BLAKE3 of
/// the whole object. Arrow IPC files and streams are read from object storage too. Every
/// profile equals the one of the local copy.
#[test]
fn profile_reads_each_object_once_and_digests_the_same_bytes() {
    let Some(s3) = S3::new("once") else { return };
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("wide.csv");
    wide_csv(&csv, 60_000);
    let pq = d.path().join("wide.parquet");
    parquet_of(&csv, &pq, 15_000);
    let (ipc, ipcs) = (d.path().join("wide.arrow"), d.path().join("wide.arrows"));
    ipc_of(&csv, &ipc, &ipcs);
    for (name, local) in [
        ("wide.csv", &csv),
        ("wide.parquet", &pq),
        ("wide.arrow", &ipc),
        ("wide.arrows", &ipcs),
    ] {
        let bytes = std::fs::read(local).unwrap();
        s3.put(&format!("p/{name}"), &bytes);
        let size = bytes.len() as u64;
        let relay = Relay::start(&s3.endpoint, Mode::Pass);
        let o = s3.via(&relay, &["profile", &s3.url(&format!("p/{name}"))]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
        let remote: Value = serde_json::from_slice(&o.stdout).unwrap();
        let down = relay.down();
        // Response headers are a few hundred bytes per request; the 64 KiB blocks around
        // the bytes no reader needs (Parquet's magic and indexes) are fetched for the digest.
        assert!(
            down < size + size / 10 + (200 << 10),
            "{name}: {down} bytes fetched for an object of {size}"
        );
        assert!(
            down >= size,
            "{name}: the whole object was read ({down} < {size})"
        );
        let o = bin().arg("profile").arg(local).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let here: Value = serde_json::from_slice(&o.stdout).unwrap();
        let digest = blake3::hash(&bytes).to_hex().to_string();
        assert_eq!(
            here["inputs"][0]["blake3"],
            digest.as_str(),
            "{name} (local)"
        );
        assert_eq!(
            remote["inputs"][0]["blake3"],
            digest.as_str(),
            "{name} (S3)"
        );
        assert_eq!(remote["inputs"][0]["size"], size);
        assert_eq!(stats(remote), stats(here), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Azure Blob Storage: Azurite (npm `azurite`), started by .ci/run

/// Azurite's blob endpoint, or `None` (with a note; a failure in CI).
fn azurite() -> Option<String> {
    let ep = std::env::var("MLGUARD_TEST_AZURITE_BLOB")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:10000".to_string());
    if std::net::TcpStream::connect(ep.trim_start_matches("http://")).is_ok() {
        return Some(ep);
    }
    if std::env::var_os("CI").is_some() {
        panic!("no Azurite at {ep}: .ci/run starts azurite-blob (npm azurite) in CI");
    }
    eprintln!(
        "note: skipping Azure test: no Azurite at {ep} (npm install azurite; \
         azurite-blob --blobHost 127.0.0.1 --blobPort 10000 --loose; or set MLGUARD_TEST_AZURITE_BLOB)"
    );
    None
}

/// Azurite's well-known development account key (public, documented by Microsoft).
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let pad = |x: u8| k.iter().map(|b| b ^ x).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// Create a container (not part of object_store): one SharedKey-signed PUT.
fn az_create_container(ep: &str, name: &str) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let sts = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/{name}\nrestype:container"
    );
    let sig = b64.encode(hmac_sha256(
        &b64.decode(AZURITE_KEY).unwrap(),
        sts.as_bytes(),
    ));
    let hostport = ep.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(hostport).unwrap();
    write!(
        c,
        "PUT /devstoreaccount1/{name}?restype=container HTTP/1.1\r\nHost: {hostport}\r\nx-ms-date: {date}\r\nx-ms-version: 2021-08-06\r\nAuthorization: SharedKey devstoreaccount1:{sig}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 201"), "create container: {resp}");
}

/// `hash az://CONTAINER/PREFIX/` equals `hash` of a local copy (same root), `verify` of the
/// container against the local manifest passes, and a tampered blob is `modified`.
#[test]
fn azure_hash_and_verify_equal_a_local_copy() {
    let Some(ep) = azurite() else { return };
    let container = format!(
        "mlg{}x{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    az_create_container(&ep, &container);
    std::env::set_var("AZURITE_BLOB_STORAGE_URL", &ep);
    let store = object_store::azure::MicrosoftAzureBuilder::new()
        .with_use_emulator(true)
        .with_container_name(&container)
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let put = |key: &str, bytes: Vec<u8>| {
        rt.block_on(store.put(&ObjPath::from(key), PutPayload::from(bytes)))
            .unwrap();
    };
    let d = dataset();
    for e in walkdir::WalkDir::new(d.path()) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(d.path()).unwrap().to_string_lossy();
            put(&format!("data/{rel}"), std::fs::read(e.path()).unwrap());
        }
    }
    let az = |args: &[&str]| -> Output {
        bin()
            .env("AZURE_STORAGE_USE_EMULATOR", "true")
            .env("AZURITE_BLOB_STORAGE_URL", &ep)
            .args(args)
            .output()
            .unwrap()
    };
    let url = format!("az://{container}/data/");
    let local = hash_local(d.path(), &["--chunk-size", "64K"]);
    let o = az(&["hash", &url, "--chunk-size", "64K"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let remote: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(remote["root"], local["root"], "the same Merkle root");
    assert_eq!(
        remote["files"].as_array().unwrap().len(),
        local["files"].as_array().unwrap().len()
    );
    assert!(remote["files"][0]["object"]["etag"].is_string(), "{remote}");
    let m = d.path().parent().unwrap().join(format!("{container}.json"));
    std::fs::write(&m, serde_json::to_vec(&local).unwrap()).unwrap();
    let o = az(&["verify", &url, "--manifest", m.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    put("data/train/iris.csv", b"tampered\n".to_vec());
    let o = az(&[
        "verify",
        &url,
        "--manifest",
        m.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "train/iris.csv" && f["status"] == "modified"),
        "{v}"
    );
    std::fs::remove_file(&m).unwrap();
}

/// `[storage] part_size` is validated where it is read: a size outside 1M..1G, or text that
/// is not a size, is an error naming the configuration file (exit 2).
#[test]
fn storage_part_size_is_validated() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.txt"), "x").unwrap();
    for (value, says) in [("\"512K\"", "from 1M to 1G"), ("\"lots\"", "not a size")] {
        let cfg = d.path().join("mlguard.toml");
        std::fs::write(&cfg, format!("[storage]\npart_size = {value}\n")).unwrap();
        let o = bin()
            .arg("--config")
            .arg(&cfg)
            .arg("hash")
            .arg(d.path().join("a.txt").parent().unwrap())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("mlguard.toml") && err.contains(says), "{err}");
    }
    let cfg = d.path().join("ok.toml");
    std::fs::write(&cfg, "[storage]\npart_size = \"64M\"\nconcurrency = 4\n").unwrap();
    let o = bin()
        .arg("--config")
        .arg(&cfg)
        .arg("hash")
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "a known section: {}", text(&o));
}
