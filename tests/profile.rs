//! `mlguard profile` end to end on scikit-learn's datasets (testdata/datasets) re-encoded
//! into every supported format, shards, merges, and broken files.

use arrow_array::RecordBatch;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use crate::util as common;
use common::bin;

fn data(name: &str) -> PathBuf {
    common::testdata("datasets").join(name)
}

fn profile(args: &[&std::ffi::OsStr]) -> (Output, Option<Value>) {
    let o = bin().arg("profile").args(args).output().unwrap();
    let v = serde_json::from_slice(&o.stdout).ok();
    (o, v)
}

fn prof(paths: &[&Path], extra: &[&str]) -> Value {
    let mut c = bin();
    c.arg("profile").args(paths).args(extra);
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The row fingerprint sample as a JSON map `{key: {count, labels}}`, decoded from the
/// packed form by the profile's own reader.
fn entries(p: &Value) -> Value {
    let r: mlguard::profile::RowSection =
        serde_json::from_value(p["row_fingerprints"].clone()).unwrap();
    serde_json::to_value(&r.entries).unwrap()
}

fn col<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// Parse a numeric CSV column exactly (the oracle).
fn csv_column(path: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(i).unwrap().parse().unwrap())
        .collect()
}

fn read_csv_batches(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    let fmt = arrow_csv::reader::Format::default().with_header(true);
    let (schema, _) = fmt
        .infer_schema(std::fs::File::open(path).unwrap(), None)
        .unwrap();
    arrow_csv::ReaderBuilder::new(Arc::new(schema))
        .with_header(true)
        .build(f)
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

#[test]
fn iris_profile_matches_exact_answers() {
    let p = prof(&[&data("iris.csv")], &["--label", "species"]);
    assert_eq!(p["version"], 2);
    assert_eq!(p["tool"], "mlguard-profile");
    assert_eq!(p["rows"], 150);
    assert_eq!(p["columns"].as_array().unwrap().len(), 5);
    let xs = csv_column(&data("iris.csv"), "sepal_length_cm");
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let c = col(&p, "sepal_length_cm");
    assert_eq!(c["logical_type"], "numeric");
    assert!((c["moments"]["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert_eq!(c["moments"]["min"], 4.3);
    assert_eq!(c["moments"]["max"], 7.9);
    assert_eq!(c["nulls"], 0);
    let counts = &p["label"]["counts"]["counts"];
    assert_eq!(counts["setosa"], 50);
    assert_eq!(counts["virginica"], 50);
    let per = p["label"]["per_label"].as_object().unwrap();
    assert_eq!(per.len(), 3);
    // The label column is not profiled inside its own sections.
    assert!(per["setosa"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["name"] != "species"));
    let setosa_len = per["setosa"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "petal_length_cm")
        .unwrap();
    assert_eq!(setosa_len["count"], 50);
    assert!(setosa_len["moments"]["max"].as_f64().unwrap() < 2.0);
    // Iris has exactly one duplicated row (sklearn rows 101 and 142), same species.
    let e = entries(&p);
    let e: Vec<&Value> = e
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["count"].as_u64().unwrap() > 1)
        .collect();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["count"], 2);
    assert_eq!(p["row_fingerprints"]["mode"], "exact");
    // Inputs are listed with size and BLAKE3.
    let inp = &p["inputs"][0];
    let bytes = std::fs::read(data("iris.csv")).unwrap();
    assert_eq!(inp["size"], bytes.len());
    assert_eq!(inp["blake3"], blake3::hash(&bytes).to_hex().as_str());
}

#[test]
fn deterministic_across_runs_and_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = std::fs::read_to_string(data("digits.csv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    for (i, chunk) in lines[1..].chunks(400).enumerate() {
        let mut t = lines[0].clone() + "\n";
        t.push_str(&chunk.join("\n"));
        std::fs::write(dir.path().join(format!("part{i}.csv")), t).unwrap();
    }
    let run = |j: &str| {
        let o = bin()
            .args(["-j", j, "profile"])
            .arg(dir.path())
            .args(["--label", "digit"])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    let a = run("1");
    let b = run("2");
    let c = run("2");
    assert_eq!(a, b);
    assert_eq!(b, c);
    let v: Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(v["rows"], 1797);
    assert_eq!(v["inputs"].as_array().unwrap().len(), 5);
}

#[test]
fn merge_of_shards_equals_whole_within_sketch_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = data("breast_cancer.csv");
    let text = std::fs::read_to_string(&src).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut shards = Vec::new();
    for (i, chunk) in lines[1..].chunks(200).enumerate() {
        let f = dir.path().join(format!("s{i}.csv"));
        std::fs::write(&f, format!("{}\n{}\n", lines[0], chunk.join("\n"))).unwrap();
        let out = dir.path().join(format!("s{i}.json"));
        let o = bin()
            .arg("profile")
            .arg(&f)
            .args(["--label", "diagnosis", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success());
        shards.push(out);
    }
    assert_eq!(shards.len(), 3);
    let merged = dir.path().join("merged.json");
    let mut c = bin();
    c.args(["profile", "merge"])
        .args(&shards)
        .arg("-o")
        .arg(&merged);
    assert!(c.output().unwrap().status.success());
    let m: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    let w = prof(&[&src], &["--label", "diagnosis"]);
    assert_eq!(m["rows"], w["rows"]);
    assert_eq!(m["inputs"].as_array().unwrap().len(), 3);
    assert_eq!(
        m["label"]["counts"]["counts"],
        w["label"]["counts"]["counts"]
    );
    let xs = {
        let mut v = csv_column(&src, "mean_radius");
        v.sort_by(|a, b| a.total_cmp(b));
        v
    };
    let (cm, cw) = (col(&m, "mean_radius"), col(&w, "mean_radius"));
    assert!(
        (cm["moments"]["mean"].as_f64().unwrap() - cw["moments"]["mean"].as_f64().unwrap()).abs()
            < 1e-9
    );
    assert!(
        (cm["moments"]["m2"].as_f64().unwrap() - cw["moments"]["m2"].as_f64().unwrap()).abs()
            < 1e-6
    );
    // Quantiles from the merged sketch land within eps of the true rank.
    let k: mlguard::profile::sketch::Kll = serde_json::from_value(cm["quantiles"].clone()).unwrap();
    for q in [0.1, 0.25, 0.5, 0.75, 0.9] {
        let x = k.quantile(q).unwrap();
        let r = xs.partition_point(|v| *v <= x) as f64 / xs.len() as f64;
        assert!(
            (r - q).abs() <= k.epsilon() + 1.0 / xs.len() as f64,
            "q={q} r={r}"
        );
    }
    let hm: mlguard::profile::sketch::Hll = serde_json::from_value(cm["distinct"].clone()).unwrap();
    let hw: mlguard::profile::sketch::Hll = serde_json::from_value(cw["distinct"].clone()).unwrap();
    assert_eq!(hm, hw, "HLL merge is exact (register max)");
    assert_eq!(entries(&m), entries(&w));
    // Different settings refuse to merge.
    let other = dir.path().join("nolabel.json");
    let o = bin()
        .arg("profile")
        .arg(&src)
        .arg("-o")
        .arg(&other)
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = bin()
        .args(["profile", "merge"])
        .arg(&merged)
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("different settings"));
}

#[test]
fn every_format_gives_the_same_profile() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = data("wine.csv");
    let batches = read_csv_batches(&src);
    let schema = batches[0].schema();
    // Parquet (zstd, 2 row groups), Arrow IPC file, JSONL, CSV.gz, CSV.zst, TSV.
    let pq = d.join("wine.parquet");
    {
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
            .set_max_row_group_row_count(Some(100))
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&pq).unwrap(),
            schema.clone(),
            Some(props),
        )
        .unwrap();
        for b in &batches {
            w.write(b).unwrap();
        }
        w.close().unwrap();
    }
    let ipc = d.join("wine.arrow");
    {
        let mut w =
            arrow_ipc::writer::FileWriter::try_new(std::fs::File::create(&ipc).unwrap(), &schema)
                .unwrap();
        for b in &batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
    }
    let jsonl = d.join("wine.jsonl");
    {
        let mut w = arrow_json::LineDelimitedWriter::new(std::fs::File::create(&jsonl).unwrap());
        for b in &batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
    }
    let raw = std::fs::read(&src).unwrap();
    let gz = d.join("wine.csv.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    e.write_all(&raw).unwrap();
    e.finish().unwrap();
    let zst = d.join("wine.csv.zst");
    std::fs::write(&zst, zstd::encode_all(&raw[..], 3).unwrap()).unwrap();
    let tsv = d.join("wine.tsv");
    std::fs::write(
        &tsv,
        String::from_utf8(raw.clone()).unwrap().replace(',', "\t"),
    )
    .unwrap();

    let base = prof(&[&src], &["--label", "cultivar"]);
    for f in [&pq, &ipc, &jsonl, &gz, &zst, &tsv] {
        let p = prof(&[f], &["--label", "cultivar"]);
        assert_eq!(p["rows"], 178, "{}", f.display());
        for c in ["alcohol", "proline", "hue"] {
            let (a, b) = (col(&base, c), col(&p, c));
            assert!(
                (a["moments"]["mean"].as_f64().unwrap() - b["moments"]["mean"].as_f64().unwrap())
                    .abs()
                    < 1e-9,
                "{} {c}",
                f.display()
            );
            assert_eq!(a["moments"]["max"], b["moments"]["max"]);
        }
        assert_eq!(
            p["label"]["counts"]["counts"],
            base["label"]["counts"]["counts"],
            "{}",
            f.display()
        );
        // The canonical row encoding makes fingerprints format-independent.
        assert_eq!(
            entries(&p).as_object().unwrap().len(),
            entries(&base).as_object().unwrap().len()
        );
    }
    let pqp = prof(&[&pq], &["--label", "cultivar"]);
    assert_eq!(entries(&pqp), entries(&base));
    // Mixed formats in one directory are an error naming a file.
    let (o, _) = profile(&[d.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mixed input formats"));
}

#[test]
fn broken_inputs_are_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let check = |f: &Path, extra: &[&str], want: &[&str]| {
        let mut c = bin();
        c.arg("profile").arg(f).args(extra);
        let o = c.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{}: {err}", f.display());
        for w in want {
            assert!(err.contains(w), "{}: '{w}' not in: {err}", f.display());
        }
        assert!(!err.contains("panicked"));
    };
    let ragged = d.join("ragged.csv");
    std::fs::write(&ragged, "a,b,c\n1,2,3\n4,5\n6,7,8\n").unwrap();
    check(&ragged, &[], &["ragged.csv:3"]);
    let utf = d.join("utf.csv");
    std::fs::write(&utf, b"a,b\n1,x\n2,\xff\xfe\n").unwrap();
    check(&utf, &[], &["utf.csv:3"]);
    let js = d.join("bad.jsonl");
    std::fs::write(&js, "{\"a\": 1}\n{\"a\": 2\n{\"a\": 3}\n").unwrap();
    check(&js, &[], &["bad.jsonl:2"]);
    // Parquet: truncated footer and bad magic.
    let pq = d.join("good.parquet");
    {
        let b = read_csv_batches(&data("iris.csv"));
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&pq).unwrap(),
            b[0].schema(),
            None,
        )
        .unwrap();
        for x in &b {
            w.write(x).unwrap();
        }
        w.close().unwrap();
    }
    let bytes = std::fs::read(&pq).unwrap();
    let cut = d.join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).unwrap();
    check(&cut, &[], &["cut.parquet"]);
    let magic = d.join("magic.parquet");
    let mut m = bytes.clone();
    let n = m.len();
    m[n - 4..].copy_from_slice(b"XXXX");
    std::fs::write(&magic, m).unwrap();
    check(&magic, &[], &["magic.parquet"]);
    let empty = d.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    check(&empty, &[], &["empty.csv"]);
    check(
        &data("iris.csv"),
        &["--label", "nope"],
        &["no column 'nope'"],
    );

    // --skip-bad-rows: counted and recorded, the rest profiled.
    let o = bin()
        .arg("profile")
        .arg(&ragged)
        .arg("--skip-bad-rows")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["rows"], 2);
    assert_eq!(p["skipped"]["rows"], 1);
    assert_eq!(p["skipped"]["examples"][0]["line"], 3);
    assert!(String::from_utf8_lossy(&o.stderr).contains("skipped 1 bad row"));
}

#[test]
fn text_embedding_and_conflicting_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("reviews.jsonl");
    let mut s = String::new();
    for i in 0..60 {
        let (label, text) = if i % 3 == 0 {
            (1, "Great product, works GREAT")
        } else {
            (0, "bad quality; broke fast")
        };
        s.push_str(&format!(
            "{{\"id\": {i}, \"review\": \"{text}\", \"emb\": [{}, {}, 0.0], \"y\": {label}}}\n",
            i as f64 / 10.0,
            1.0
        ));
    }
    // The same features twice with different labels.
    s.push_str("{\"id\": 999, \"review\": \"same\", \"emb\": [0.0, 0.0, 0.0], \"y\": 0}\n");
    s.push_str("{\"id\": 999, \"review\": \"same\", \"emb\": [0.0, 0.0, 0.0], \"y\": 1}\n");
    std::fs::write(&f, s).unwrap();
    let p = prof(
        &[&f],
        &["--label", "y", "--text", "review", "--embedding", "emb"],
    );
    assert_eq!(p["rows"], 62);
    let t = &p["text"][0];
    assert_eq!(t["column"], "review");
    assert_eq!(t["docs"], 62);
    // Tokens are lower-cased and counted once per document.
    assert_eq!(t["tokens"]["counts"]["great"], 20);
    assert_eq!(t["per_label"]["1"]["counts"]["great"], 20);
    assert!(t["per_label"]["0"]["counts"].get("great").is_none());
    let e = &p["embedding"];
    assert_eq!(e["dim"], 3);
    assert_eq!(e["rows"], 62);
    assert_eq!(e["dims"].as_array().unwrap().len(), 3);
    assert_eq!(e["dims"][1]["max"], 1.0);
    let all = entries(&p);
    let conflicting: Vec<&Value> = all
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["labels"].as_object().map(|l| l.len()).unwrap_or(0) > 1)
        .collect();
    assert_eq!(conflicting.len(), 1);
    assert_eq!(conflicting[0]["count"], 2);
    // `profile show` renders a table naming every column.
    let out = dir.path().join("p.json");
    std::fs::write(&out, serde_json::to_vec(&p).unwrap()).unwrap();
    let o = bin().args(["profile", "show"]).arg(&out).output().unwrap();
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    for c in [
        "id",
        "review",
        "y",
        "label 'y'",
        "text 'review'",
        "embedding 'emb': dim 3",
        "1 of them with conflicting labels",
    ] {
        assert!(s.contains(c), "'{c}' not in:\n{s}");
    }
    // A non-profile is refused.
    let o = bin().args(["profile", "show"]).arg(&f).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn fingerprint_sampling_is_bounded_and_says_so() {
    let p = prof(&[&data("digits.csv")], &["--max-fingerprints", "100"]);
    let r = &p["row_fingerprints"];
    assert_eq!(r["mode"], "sampled");
    assert!(r["sample_rate"].as_f64().unwrap() < 0.1);
    assert!(entries(&p).as_object().unwrap().len() <= 100);
    let distinct = r["distinct"]["p"].as_u64().unwrap();
    assert_eq!(distinct, 12);
}

/// Globs as the README writes them, through the source layer: `dir/*.csv` matches the files
/// directly in `dir` (relative to the working directory), `*` does not cross `/`, `**` does;
/// a symlinked file inside a profiled directory is read and said to be read through a link.
#[test]
fn globs_and_symlinks_through_the_source_layer() {
    let d = tempfile::tempdir().unwrap();
    let sub = d.path().join("data/more");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(data("iris.csv"), d.path().join("data/iris.csv")).unwrap();
    std::fs::copy(data("iris.csv"), sub.join("iris2.csv")).unwrap();
    let rows = |args: &[&str]| -> (i32, u64, usize, String) {
        let o = bin()
            .current_dir(d.path())
            .arg("profile")
            .args(args)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        (
            o.status.code().unwrap(),
            v["rows"].as_u64().unwrap_or(0),
            v["inputs"].as_array().map(|a| a.len()).unwrap_or(0),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, n, files, err) = rows(&["data/*.csv"]);
    assert_eq!((code, n, files), (0, 150, 1), "{err}");
    let (code, n, files, err) = rows(&["data/**/*.csv"]);
    assert_eq!((code, n, files), (0, 300, 2), "{err}");
    let (code, _, _, err) = rows(&["data/*.parquet"]);
    assert_eq!(code, 2);
    assert!(err.contains("no file matches 'data/*.parquet'"), "{err}");
    // A symlinked file inside the directory is read, and said so.
    std::os::unix::fs::symlink(data("iris.csv"), sub.join("linked.csv")).unwrap();
    std::os::unix::fs::symlink(d.path().join("nowhere"), sub.join("dangling.csv")).unwrap();
    let (code, n, files, err) = rows(&["data"]);
    assert_eq!((code, n, files), (0, 450, 3), "{err}");
    assert!(
        err.contains("read through a symlink") && err.contains("linked.csv"),
        "{err}"
    );
    assert!(
        err.contains("dangling.csv: symlink that cannot be followed"),
        "{err}"
    );
}

/// Run with a deadline: a hostile profile must never make mlguard loop.
fn run_bounded(cmd: &mut std::process::Command) -> Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("mlguard did not finish in 60 s: {cmd:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Hand-edited (hostile) profiles: each is refused on load with exit 2, naming the
/// file and the field, by `drift` (baseline or current) and `profile merge` — no panic,
/// no endless loop, no huge allocation.
#[test]
fn hostile_profiles_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("x,y\n");
    for i in 0..300 {
        csv.push_str(&format!("{},{}\n", i % 23, i % 2));
    }
    let data_csv = d.join("d.csv");
    std::fs::write(&data_csv, csv).unwrap();
    let good = prof(&[&data_csv], &["--label", "y"]);
    let good_path = d.join("good.json");
    std::fs::write(&good_path, serde_json::to_vec(&good).unwrap()).unwrap();
    let x = good["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == "x")
        .unwrap();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "no levels",
            Box::new(move |p| p["columns"][x]["quantiles"]["level_sizes"] = serde_json::json!([])),
        ),
        // Keys "0" and "00" are one value: with max_entries 1 the merge looped forever.
        (
            "2 entries, max_entries is 1",
            Box::new(|p| {
                let r = &mut p["row_fingerprints"];
                r["max_entries"] = 1.into();
                r["entries"] = serde_json::json!({"0": {"count": 1}, "00": {"count": 1}});
            }),
        ),
        (
            "16 lowercase hex",
            Box::new(|p| {
                let r = &mut p["row_fingerprints"];
                r["max_entries"] = 2.into();
                r["entries"] = serde_json::json!({"0": {"count": 1}, "00": {"count": 1}});
            }),
        ),
        (
            "settings.hll_p",
            Box::new(|p| p["settings"]["hll_p"] = 40.into()),
        ),
        (
            "settings.hll_p",
            Box::new(|p| p["settings"]["hll_p"] = 255.into()),
        ),
        (
            "over the limit of 2^53",
            Box::new(|p| p["rows"] = (u64::MAX - 10).into()),
        ),
        (
            "exceed count",
            Box::new(move |p| p["columns"][x]["nulls"] = 100_000.into()),
        ),
        (
            "greater than max",
            Box::new(move |p| p["columns"][x]["moments"]["min"] = 1e9.into()),
        ),
        (
            "m2 is negative",
            Box::new(move |p| p["columns"][x]["moments"]["m2"] = (-5.0).into()),
        ),
        (
            "levels weigh",
            Box::new(move |p| p["columns"][x]["quantiles"]["n"] = 7.into()),
        ),
        (
            "settings.kll_k",
            Box::new(|p| p["settings"]["kll_k"] = 0.into()),
        ),
    ];
    for (want, edit) in cases {
        let mut p = good.clone();
        edit(&mut p);
        let bad = d.join("bad.json");
        std::fs::write(&bad, serde_json::to_vec(&p).unwrap()).unwrap();
        let runs = [
            // As the baseline of a drift on data (profiled with the baseline's settings).
            run_bounded(
                bin()
                    .args(["-q", "drift", "--baseline"])
                    .arg(&bad)
                    .arg(&data_csv),
            ),
            // As the current profile.
            run_bounded(
                bin()
                    .args(["-q", "drift", "--baseline"])
                    .arg(&good_path)
                    .arg(&bad),
            ),
            run_bounded(
                bin()
                    .args(["-q", "profile", "merge"])
                    .arg(&good_path)
                    .arg(&bad),
            ),
        ];
        for o in runs {
            let e = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{want}: {e}");
            assert!(e.contains("bad.json") && e.contains(want), "{want}: {e}");
        }
    }
    // Merging valid profiles whose sum would pass 2^53 rows is refused, not wrapped.
    let mut big = good.clone();
    big["rows"] = (1u64 << 52).into();
    big["row_fingerprints"]["rows"] = 0.into();
    big["row_fingerprints"]["entries"] = serde_json::json!({});
    let big_path = d.join("big.json");
    std::fs::write(&big_path, serde_json::to_vec(&big).unwrap()).unwrap();
    // A second, different profile (the same one twice is refused before any sum).
    big["rows"] = ((1u64 << 52) + (1u64 << 51)).into();
    let big2_path = d.join("big2.json");
    std::fs::write(&big2_path, serde_json::to_vec(&big).unwrap()).unwrap();
    let o = run_bounded(
        bin()
            .args(["-q", "profile", "merge"])
            .arg(&big_path)
            .arg(&big2_path),
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("2^53"), "{e}");
}

/// Run `mlguard -q profile ARGS`: (exit code, profile JSON or Null, stderr).
fn profile_of(args: &[&std::ffi::OsStr]) -> (i32, Value, String) {
    let o = bin().arg("-q").arg("profile").args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        serde_json::from_slice(&o.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn jsonl_key_first_seen_after_ten_thousand_rows_is_a_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("late.jsonl");
    let mut text = String::new();
    for i in 0..10_001 {
        text.push_str(&format!("{{\"a\":{i}}}\n"));
    }
    // A new key, and a late change of type (integer, then float) in an old one.
    text.push_str("{\"a\":0.5,\"b\":\"x\"}\n");
    std::fs::write(&f, text).unwrap();
    let (code, p, err) = profile_of(&[f.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p["rows"], 10_002);
    let b = col(&p, "b");
    assert_eq!(b["count"], 10_002, "{b}");
    assert_eq!(b["nulls"], 10_001, "{b}");
    assert_eq!(col(&p, "a")["arrow_type"], "Float64");
    assert_eq!(col(&p, "a")["nulls"], 0);
}

#[test]
fn csv_line_endings_cr_crlf_and_lf_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut profiles = Vec::new();
    for (name, eol) in [("lf.csv", "\n"), ("crlf.csv", "\r\n"), ("cr.csv", "\r")] {
        // A quoted field holding a line break stays one field.
        let text = ["n,s", "1,\"two\nlines\"", "2,b", "3,c", ""].join(eol);
        let f = d.join(name);
        std::fs::write(&f, text).unwrap();
        let (code, p, err) = profile_of(&[f.as_os_str()]);
        assert_eq!(code, 0, "{name}: {err}");
        assert_eq!(p["rows"], 3, "{name}");
        assert_eq!(p["columns"].as_array().unwrap().len(), 2, "{name}");
        assert_eq!(col(&p, "n")["moments"]["max"], 3.0, "{name}");
        profiles.push(p);
    }
    // The row fingerprints see the same values whatever the line ending.
    assert_eq!(
        profiles[0]["row_fingerprints"]["distinct"],
        profiles[2]["row_fingerprints"]["distinct"]
    );
}

#[test]
fn header_only_and_blank_csvs_are_errors_like_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, text, want) in [
        ("empty.csv", "", "empty file"),
        (
            "header.csv",
            "a,b\n",
            "header.csv:1: a header row and no data rows",
        ),
        ("header_crlf.csv", "a,b\r\n\r\n", "no data rows"),
        (
            "blank.csv",
            "\n\n  \n",
            "no header row (3 line(s), all blank)",
        ),
    ] {
        let f = d.join(name);
        std::fs::write(&f, text).unwrap();
        let (code, _, err) = profile_of(&[f.as_os_str()]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
}

#[test]
fn duplicate_column_names_are_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = d.join("dup.csv");
    std::fs::write(&f, "id,a,b,a\n1,2,3,\n2,3,4,\n").unwrap();
    let (code, _, err) = profile_of(&[f.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("dup.csv") && err.contains("columns 2 and 4") && err.contains("'a'"),
        "{err}"
    );
    // Parquet can carry a repeated name too.
    let schema = Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("x", arrow_schema::DataType::Int64, false),
        arrow_schema::Field::new("x", arrow_schema::DataType::Int64, false),
    ]));
    let col = Arc::new(arrow_array::Int64Array::from(vec![1, 2])) as arrow_array::ArrayRef;
    let batch = RecordBatch::try_new(schema.clone(), vec![col.clone(), col]).unwrap();
    let pq = d.join("dup.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&pq).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (code, _, err) = profile_of(&[pq.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("dup.parquet") && err.contains("columns 1 and 2"),
        "{err}"
    );
}

#[test]
fn output_that_is_an_input_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = d.join("t.csv");
    std::fs::write(&f, "a,b\n1,2\n").unwrap();
    let (code, _, err) = profile_of(&[f.as_os_str(), "-o".as_ref(), f.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is also an input"), "{err}");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "a,b\n1,2\n");
    // The same file spelled another way, and an output inside an input directory.
    let other = d.join(".").join("t.csv");
    let (code, _, err) = profile_of(&[f.as_os_str(), "-o".as_ref(), other.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    let inside = d.join("p.json");
    let (code, _, err) = profile_of(&[d.as_os_str(), "-o".as_ref(), inside.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("inside the input directory"), "{err}");
    assert!(!inside.exists());
}

#[test]
fn profile_show_escapes_control_characters_from_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = d.join("t.csv");
    std::fs::write(&f, "\"col\u{1b}[2J\",label\n1,\"x\rPASS\"\n2,y\n").unwrap();
    let out = d.join("p.json");
    let (code, _, err) = profile_of(&[
        f.as_os_str(),
        "--label".as_ref(),
        "label".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    // The profile keeps the exact names.
    let p: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(p["columns"][0]["name"], "col\u{1b}[2J");
    let o = bin().args(["profile", "show"]).arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let shown = String::from_utf8(o.stdout).unwrap();
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\r'),
        "{shown:?}"
    );
    assert!(
        shown.contains("col\\u{1b}[2J") && shown.contains("x\\rPASS"),
        "{shown}"
    );
}

/// Profiles are compact (format 2: packed sketches and fingerprints) and lose nothing:
/// the profile of breast_cancer.csv (124 KB) stays under a size bound, is rewritten to the
/// same bytes, and the merge of its halves gates the whole data with a pass.
#[test]
fn profiles_are_compact_and_round_trip_through_merge_and_drift() {
    let csv = data("breast_cancer.csv");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&std::ffi::OsStr]| {
        let o = bin().arg("-q").args(args).output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let whole = d.join("whole.json");
    let (code, err) = run(&[
        "profile".as_ref(),
        csv.as_os_str(),
        "--label".as_ref(),
        "diagnosis".as_ref(),
        "-o".as_ref(),
        whole.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    // Format 1 wrote 1,044,003 bytes for this profile, format 2 about 154 KB
    // (docs/profile.md has the figures for every dataset).
    let size = std::fs::metadata(&whole).unwrap().len();
    assert!(size < 200_000, "labelled profile is {size} bytes");
    let bare = prof(&[&csv], &[]);
    let bare_size = serde_json::to_vec(&bare).unwrap().len();
    assert!(
        bare_size < 90_000,
        "unlabelled profile is {bare_size} bytes"
    );
    // The file is indented down to each column's fields, sketches on one line each.
    let text = std::fs::read_to_string(&whole).unwrap();
    assert!(text.contains("\n  \"columns\": [\n    {\n      \"name\": \"mean_radius\",\n"));
    assert!(
        text.contains("\"quantiles\": {\"k\":200,\"n\":569,"),
        "{}",
        &text[..2000]
    );
    // Rewriting a profile (a merge of one) gives the same bytes: every packed sketch reads
    // back to exactly what was written.
    let again = d.join("again.json");
    let (code, err) = run(&[
        "profile".as_ref(),
        "merge".as_ref(),
        whole.as_os_str(),
        "-o".as_ref(),
        again.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&again).unwrap() == text.as_bytes());
    // Two halves, profiled apart and merged, are a baseline the whole data passes.
    let src = std::fs::read_to_string(&csv).unwrap();
    let mut lines = src.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let mut parts = Vec::new();
    for (i, half) in rows.chunks(rows.len().div_ceil(2)).enumerate() {
        let f = d.join(format!("half{i}.csv"));
        std::fs::write(&f, format!("{header}\n{}\n", half.join("\n"))).unwrap();
        let p = d.join(format!("half{i}.json"));
        let (code, err) = run(&[
            "profile".as_ref(),
            f.as_os_str(),
            "--label".as_ref(),
            "diagnosis".as_ref(),
            "-o".as_ref(),
            p.as_os_str(),
        ]);
        assert_eq!(code, 0, "{err}");
        parts.push(p);
    }
    let merged = d.join("merged.json");
    let (code, err) = run(&[
        "profile".as_ref(),
        "merge".as_ref(),
        parts[0].as_os_str(),
        parts[1].as_os_str(),
        "-o".as_ref(),
        merged.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    let m: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(m["rows"], 569);
    assert_eq!(entries(&m), entries(&serde_json::from_str(&text).unwrap()));
    let (code, err) = run(&[
        "drift".as_ref(),
        "--baseline".as_ref(),
        merged.as_os_str(),
        csv.as_os_str(),
    ]);
    assert_eq!(
        code, 0,
        "the whole data against the merge of its halves: {err}"
    );
}

/// A format 1 profile (written by mlguard before packed sketches; testdata/profiles) is
/// still read: shown, used as a drift baseline, and rewritten as format 2 with the same
/// content as a fresh profile. An unknown format version is refused, naming it.
#[test]
fn format_1_profiles_are_still_read_and_rewritten_as_format_2() {
    let v1 = common::testdata("profiles/iris.v1.json");
    let old: Value = serde_json::from_slice(&std::fs::read(&v1).unwrap()).unwrap();
    assert_eq!(old["version"], 1);
    assert!(old["columns"][0]["quantiles"]["levels"].is_array());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v2.json");
    let o = bin()
        .args(["-q", "profile", "merge"])
        .arg(&v1)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let new: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(new["version"], 2);
    let mut fresh = prof(&[&data("iris.csv")], &[]);
    // Atoms (exact repeats, issue 14) are newer than format 1: a rewritten old profile has
    // none (the point-mass test skips such columns, docs/profile.md); the rest is the same.
    for c in fresh["columns"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("atoms");
    }
    assert!(new["columns"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.get("atoms").is_none()));
    for k in ["settings", "rows", "columns", "row_fingerprints"] {
        assert_eq!(new[k], fresh[k], "{k}");
    }
    assert_eq!(new["inputs"][0]["blake3"], fresh["inputs"][0]["blake3"]);
    let o = bin().args(["profile", "show"]).arg(&v1).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("rows: 149 distinct of 150 (exact)"));
    let o = bin()
        .args(["-q", "drift", "--baseline"])
        .arg(&v1)
        .arg(data("iris.csv"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A version this mlguard does not know.
    let mut v3 = fresh.clone();
    v3["version"] = 3.into();
    let f = dir.path().join("v3.json");
    std::fs::write(&f, serde_json::to_vec(&v3).unwrap()).unwrap();
    let o = bin().args(["profile", "show"]).arg(&f).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unsupported profile format version 3")
            && err.contains("reads versions 1 and 2"),
        "{err}"
    );
}

/// `profile show` says which counts are exact and which are estimates: no "~565 distinct"
/// beside "duplicates: 0".
#[test]
fn profile_show_says_which_counts_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let show = |p: &Value| {
        let f = dir.path().join("p.json");
        std::fs::write(&f, serde_json::to_vec(p).unwrap()).unwrap();
        let o = bin().args(["profile", "show"]).arg(&f).output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8(o.stdout).unwrap()
    };
    // Every row distinct, every fingerprint kept: exact.
    let s = show(&prof(
        &[&data("breast_cancer.csv")],
        &["--label", "diagnosis"],
    ));
    assert!(
        s.contains("rows: 569 distinct of 569 (exact); duplicate rows: none\n"),
        "{s}"
    );
    assert!(!s.contains("extra copies") && !s.contains('~'), "{s}");
    // Float columns: HyperLogLog estimates, marked and explained; the label: exact.
    let radius = s.lines().find(|l| l.starts_with("mean_radius ")).unwrap();
    assert!(radius.contains('\u{2248}'), "{radius}");
    let diagnosis = s.lines().find(|l| l.starts_with("diagnosis ")).unwrap();
    assert!(
        diagnosis.contains(" 2 ") && !diagnosis.contains('\u{2248}'),
        "{diagnosis}"
    );
    assert!(
        s.contains("DISTINCT \u{2248}N: a HyperLogLog estimate (\u{b1}1.6%)"),
        "{s}"
    );
    // Iris: one duplicated row.
    let s = show(&prof(&[&data("iris.csv")], &[]));
    assert!(
        s.contains(
            "rows: 149 distinct of 150 (exact); duplicate rows: 1 (extra copies of 1 row)\n"
        ),
        "{s}"
    );
    // A sampled fingerprint set: both counts are estimates, and say so.
    let s = show(&prof(
        &[&data("digits.csv")],
        &["--max-fingerprints", "100"],
    ));
    let line = s.lines().find(|l| l.starts_with("rows: ")).unwrap();
    assert!(
        line.starts_with("rows: distinct \u{2248} ")
            && line.contains("of 1797 (HyperLogLog estimate, \u{b1}1.6%)")
            && line.contains("% sample of row fingerprints"),
        "{line}"
    );
}

/// `profile` of one big CSV moves its progress in bytes as the file's blocks are read (it
/// used to show `0/1 units` until the end); the bar's length is the file's size.
#[test]
fn profile_progress_moves_inside_one_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.csv");
    let mut csv = String::from("a,b,c\n");
    let mut i = 0u64;
    while csv.len() < (3 << 20) + 12345 {
        csv.push_str(&format!("{i},{},{}\n", i * 7 % 1000, i % 3));
        i += 1;
    }
    std::fs::write(&f, &csv).unwrap();
    let o = bin()
        .env("MLGUARD_PROGRESS_TEST", "1")
        .arg("profile")
        .arg(&f)
        .args(["-o"])
        .arg(dir.path().join("p.json"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    common::assert_moves_inside(&o.stderr, csv.len() as u64, 2);
}
