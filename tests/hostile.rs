//! Hostile sizes and corrupt bytes, end to end through the real binary: the `[input]` caps
//! on columns and record length (set low in a test config so the inputs stay small), the
//! scan's bounded log reading, and third-party decoder panics contained as input errors.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util as common;
use common::bin;

/// An `mlguard.toml` in `dir` with `[input]` set to `body`.
fn config(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("mlguard.toml");
    std::fs::write(&p, format!("[input]\n{body}\n")).unwrap();
    p
}

fn gzip(path: &Path, parts: &[&[u8]]) {
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::best(),
    );
    for p in parts {
        enc.write_all(p).unwrap();
    }
    enc.finish().unwrap();
}

/// Run `mlguard ARGS`, returning (exit code, stdout, stderr).
fn run(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let o = bin().args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn a_20k_column_csv_is_refused_before_arrow_allocates() {
    let d = tempfile::tempdir().unwrap();
    let wide = d.path().join("wide.csv");
    let header: Vec<String> = (0..20_000).map(|i| format!("c{i}")).collect();
    let row = vec!["1"; 20_000].join(",");
    std::fs::write(&wide, format!("{}\n{row}\n", header.join(","))).unwrap();
    // The default cap (10,000) refuses it, naming the file and the setting.
    let (code, _, err) = run(&[os("profile"), wide.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("wide.csv"), "{err}");
    assert!(
        err.contains("20000 columns") && err.contains("max_columns"),
        "{err}"
    );
    // The cap is configurable: a 5-column file against a cap of 4, then of 5.
    let narrow = d.path().join("narrow.csv");
    std::fs::write(&narrow, "a,b,\"c,d\",e,f\n1,2,3,4,5\n").unwrap();
    let four = config(d.path(), "max_columns = 4");
    let (code, _, err) = run(&[
        os("profile"),
        narrow.as_os_str(),
        os("--config"),
        four.as_os_str(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("5 columns"),
        "quoted delimiters do not count: {err}"
    );
    let five = config(d.path(), "max_columns = 5");
    let (code, out, err) = run(&[
        os("profile"),
        narrow.as_os_str(),
        os("--config"),
        five.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["columns"].as_array().unwrap().len(), 5);
    assert_eq!(v["rows"], 1);
}

#[test]
fn a_csv_gz_inflating_to_one_huge_line_stops_at_the_record_cap() {
    let d = tempfile::tempdir().unwrap();
    let cfg = config(d.path(), "max_record_bytes = 1048576");
    // 8 MiB of one line after two good rows: the gzip is a few KiB.
    let bomb = d.path().join("bomb.csv.gz");
    let line = vec![b'7'; 8 << 20];
    gzip(&bomb, &[b"x,y\n1,2\n3,4\n", &line, b",5\n"]);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 64 << 10);
    let (code, _, err) = run(&[
        os("profile"),
        bomb.as_os_str(),
        os("--config"),
        cfg.as_os_str(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bomb.csv.gz:4"), "names the line: {err}");
    assert!(err.contains("max_record_bytes"), "{err}");
    // The same line first (the header itself) and in JSON Lines.
    let head = d.path().join("head.csv.gz");
    gzip(&head, &[&line, b"\n1\n"]);
    let (code, _, err) = run(&[
        os("profile"),
        head.as_os_str(),
        os("--config"),
        cfg.as_os_str(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("head.csv.gz:1") && err.contains("max_record_bytes"),
        "{err}"
    );
    let jsonl = d.path().join("rows.jsonl.gz");
    let mut big = b"{\"x\": \"".to_vec();
    big.extend_from_slice(&line);
    big.extend_from_slice(b"\"}\n");
    gzip(&jsonl, &[b"{\"x\": \"a\"}\n", &big]);
    let (code, _, err) = run(&[
        os("profile"),
        jsonl.as_os_str(),
        os("--config"),
        cfg.as_os_str(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("rows.jsonl.gz:2") && err.contains("max_record_bytes"),
        "{err}"
    );
    // Under the default cap (64 MiB) the same CSV is read: the cap is what refused it.
    let ok = d.path().join("ok.csv.gz");
    gzip(&ok, &[b"x,y\n1,2\n3,4\n", &line, b",5\n"]);
    let (code, out, err) = run(&[os("profile"), ok.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"], 3);
}

#[test]
fn a_json_gz_bomb_in_scan_is_cut_at_the_record_cap_and_the_scan_is_incomplete() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = config(d.path(), "max_record_bytes = 1048576");
    let ev = r#"{"eventVersion":"1.09","eventTime":"2026-01-05T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"ua","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"},"requestParameters":{"name":"t"},"recipientAccountId":"1"}"#;
    // Line 1: one real event. Line 2: a container of 8 MiB on one line.
    let mut bomb = String::from("{\"Records\":[");
    let filler = r#"{"eventName":"GetObject","eventSource":"s3.amazonaws.com"},"#;
    while bomb.len() < 8 << 20 {
        bomb.push_str(filler);
    }
    bomb.push_str(ev);
    bomb.push_str("]}\n");
    gzip(
        &logs.join("bomb.json.gz"),
        &[format!("{ev}\n").as_bytes(), bomb.as_bytes()],
    );
    let (code, out, err) = run(&[
        os("scan"),
        logs.as_os_str(),
        os("--format"),
        os("json"),
        os("--config"),
        cfg.as_os_str(),
    ]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    // The event on line 1 was read (DeleteTrail is a high finding: the gate fails) and the
    // cut line is listed as not read.
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["events"]["cloudtrail"], 1);
    let w = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["message"].as_str().unwrap().contains("max_record_bytes"))
        .unwrap_or_else(|| panic!("no cap warning: {}", v["warnings"]));
    assert!(w["file"].as_str().unwrap().ends_with("bomb.json.gz"), "{w}");
    assert_eq!(w["line"], 2, "{w}");
    assert!(!v["skipped"].as_array().unwrap().is_empty());
}

/// `seed` with byte `off` set to `byte` (one of the reproducers of docs/upstream-panics.md).
fn corrupt(seed: &[u8], off: usize, from: u8, byte: u8) -> Vec<u8> {
    let mut b = seed.to_vec();
    assert_eq!(
        b[off], from,
        "the seed changed: re-run the survey (docs/fuzzing.md)"
    );
    b[off] = byte;
    b
}

fn assert_contained(code: i32, err: &str, file: &str, place: &str, decoder: &str) {
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{file} ({place}): {decoder} decoder failed on corrupt data"
        )),
        "{err}"
    );
    // The default panic message ("thread 'main' panicked at ...") is not printed.
    assert!(!err.contains("thread '"), "{err}");
}

/// One-byte corruptions that make parquet and arrow-ipc panic (docs/upstream-panics.md)
/// are input errors naming the file and the unit, through `profile` and through
/// `scan --source inference`. If an upgrade of those crates fixes a panic, its file becomes
/// an ordinary decode error and this test says so: pick a live reproducer from a new survey.
#[test]
fn decoder_panics_are_contained_as_input_errors() {
    use parquet::basic::Compression;
    let d = tempfile::tempdir().unwrap();
    let iris = common::parquet_bytes(&common::iris_batches(), Compression::UNCOMPRESSED);
    // Footer metadata with a negative column-chunk start, which parquet asserts on when
    // it reads the row group: "column start and length should not be negative".
    let footer = d.path().join("footer.parquet");
    std::fs::write(&footer, corrupt(&iris, 4440, 0xea, 0xeb)).unwrap();
    let (code, _, err) = run(&[os("profile"), footer.as_os_str()]);
    assert_contained(code, &err, "footer.parquet", "row group 0", "Parquet");
    let (code, _, err) = run(&[
        os("scan"),
        os("--source"),
        os("inference"),
        footer.as_os_str(),
    ]);
    assert_contained(code, &err, "footer.parquet", "row group 0", "Parquet");
    // A data page: "attempt to divide by zero" in parquet's byte-array reader.
    let page = d.path().join("page.parquet");
    std::fs::write(&page, corrupt(&iris, 585, 0x02, 0x00)).unwrap();
    let (code, _, err) = run(&[os("profile"), page.as_os_str()]);
    assert_contained(code, &err, "page.parquet", "row group 0", "Parquet");
    assert!(err.contains("divide by zero"), "{err}");
    // Arrow IPC (lz4): an assertion in arrow-buffer on a misaligned buffer.
    let ipc = common::ipc_bytes(&[common::typed_batch()], false, true);
    let arrow = d.path().join("typed.arrow");
    std::fs::write(&arrow, corrupt(&ipc, 760, 0x5c, 0x5d)).unwrap();
    let (code, _, err) = run(&[os("profile"), arrow.as_os_str()]);
    assert_contained(code, &err, "typed.arrow", "batch 0", "Arrow IPC");
}

/// Declared IPC lengths far past the file are refused before arrow-ipc allocates them.
#[test]
fn ipc_lengths_past_the_file_are_refused_before_allocation() {
    let d = tempfile::tempdir().unwrap();
    let stream = common::ipc_bytes(&common::iris_batches(), true, false);
    // The first message's metadata length (after the 0xFFFFFFFF continuation marker).
    let mut bad = stream.clone();
    bad[4..8].copy_from_slice(&0x7fff_fff0i32.to_le_bytes());
    let p = d.path().join("s.arrows");
    std::fs::write(&p, &bad).unwrap();
    let (code, _, err) = run(&[os("profile"), p.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s.arrows") && err.contains("past the end"),
        "{err}"
    );
    // The file footer's length.
    let file = common::ipc_bytes(&common::iris_batches(), false, false);
    let mut bad = file.clone();
    let n = bad.len();
    bad[n - 10..n - 6].copy_from_slice(&0x7fff_fff0i32.to_le_bytes());
    let p = d.path().join("f.arrow");
    std::fs::write(&p, &bad).unwrap();
    let (code, _, err) = run(&[os("profile"), p.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("f.arrow") && err.contains("footer length"),
        "{err}"
    );
    // The untouched files read.
    for (name, bytes) in [("ok.arrows", stream), ("ok.arrow", file)] {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let (code, out, err) = run(&[os("profile"), p.as_os_str()]);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["rows"], 150);
    }
}

/// One CloudTrail record: `name` at second `i`, principal `user/u`.
fn trail_event(i: usize, name: &str, pad: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"2026-01-05T10:{:02}:{:02}Z","eventSource":"cloudtrail.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"ua","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}},"requestParameters":{{"name":"t","pad":"{}"}},"eventID":"e{i}","recipientAccountId":"1"}}"#,
        (i / 60) % 60,
        i % 60,
        "x".repeat(pad)
    )
}

fn scan_with(paths: &[&Path], cfg: Option<&Path>) -> (i32, Value, String) {
    let mut args: Vec<&std::ffi::OsStr> = vec![os("scan")];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    args.extend([os("--format"), os("json")]);
    if let Some(c) = cfg {
        args.extend([os("--config"), c.as_os_str()]);
    }
    let (code, out, err) = run(&args);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v, err)
}

/// A `{"Records": [...]}` file larger than `[input] max_record_bytes` is streamed record by
/// record (it used to be one line over the cap, not read at all), gzipped or not, on one
/// line or pretty-printed, and gives the same events and findings as the in-memory read; a
/// record over the cap, or invalid UTF-8, stops the file there with a warning naming the
/// record, and the verdict is not a pass.
#[test]
fn a_large_records_container_is_streamed_record_by_record() {
    let d = tempfile::tempdir().unwrap();
    let cfg = config(d.path(), "max_record_bytes = 65536");
    // 3,000 events (about 1.1 MB on one line), a StopLogging at index 10: a high finding.
    let recs: Vec<String> = (0..3000)
        .map(|i| {
            trail_event(
                i,
                if i == 10 {
                    "StopLogging"
                } else {
                    "DescribeTrails"
                },
                40,
            )
        })
        .collect();
    let one_line = format!("{{\"Records\":[{}]}}", recs.join(","));
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("big.json"), &one_line).unwrap();
    let pretty = d.path().join("pretty");
    std::fs::create_dir(&pretty).unwrap();
    let v: Value = serde_json::from_str(&one_line).unwrap();
    std::fs::write(
        pretty.join("big.json"),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
    let gz = d.path().join("gz");
    std::fs::create_dir(&gz).unwrap();
    gzip(&gz.join("big.json.gz"), &[one_line.as_bytes()]);

    let (code, whole, err) = scan_with(&[&logs], None);
    assert_eq!(code, 1, "{err}");
    assert_eq!(whole["summary"]["events"]["cloudtrail"], 3000);
    for dir in [&logs, &pretty, &gz] {
        let (code, v, err) = scan_with(&[dir], Some(&cfg));
        assert_eq!(code, 1, "{}: {err}", dir.display());
        assert_eq!(
            v["summary"]["events"]["cloudtrail"],
            3000,
            "{}",
            dir.display()
        );
        assert!(
            v["warnings"].as_array().unwrap().is_empty(),
            "{}",
            v["warnings"]
        );
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "scan.logging_disabled")
            .unwrap_or_else(|| panic!("{v}"));
        assert_eq!(f["location"]["record"], 10, "{f}");
        let ids = |v: &Value| -> Vec<Value> {
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].clone())
                .collect()
        };
        assert_eq!(ids(&v), ids(&whole));
    }

    // A 100 KB record at index 2000 (over the 64 KiB cap): 2,000 events read, the rest named.
    let mut cut = recs.clone();
    cut[2000] = trail_event(2000, "DescribeTrails", 100_000);
    let bad = d.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("big.json"),
        format!("{{\"Records\":[{}]}}", cut.join(",")),
    )
    .unwrap();
    let (code, v, err) = scan_with(&[&bad], Some(&cfg));
    assert_eq!(code, 1, "the StopLogging finding fails the gate: {err}");
    assert_eq!(v["summary"]["events"]["cloudtrail"], 2000);
    let w = &v["warnings"][0];
    assert_eq!(w["record"], 2000, "{w}");
    let m = w["message"].as_str().unwrap();
    assert!(
        m.contains("max_record_bytes") && m.contains("rest of the file"),
        "{m}"
    );
    assert!(!v["skipped"].as_array().unwrap().is_empty());
    // Without a failing finding the same damage makes the verdict incomplete (exit 2).
    let quiet: Vec<String> = (0..3000)
        .map(|i| trail_event(i, "DescribeTrails", if i == 2000 { 100_000 } else { 40 }))
        .collect();
    std::fs::write(
        bad.join("big.json"),
        format!("{{\"Records\":[{}]}}", quiet.join(",")),
    )
    .unwrap();
    let (code, v, err) = scan_with(&[&bad], Some(&cfg));
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["verdict"], "incomplete");
    // Invalid UTF-8 inside record 1500: replaced and counted for that record, as in the
    // in-memory read; every record read.
    let mut bytes = format!("{{\"Records\":[{}]}}", quiet[..2000].join(",")).into_bytes();
    let at = bytes.windows(6).position(|w| w == b"\"e1500").unwrap();
    bytes[at + 2] = 0xff;
    std::fs::write(bad.join("big.json"), &bytes).unwrap();
    let (_, v, err) = scan_with(&[&bad], Some(&cfg));
    assert_eq!(v["summary"]["events"]["cloudtrail"], 2000, "{err}");
    assert_eq!(v["repaired"][0]["record"], 1500, "{}", v["repaired"]);
    assert!(
        v["warnings"].as_array().unwrap().is_empty(),
        "{}",
        v["warnings"]
    );
    // A record that is not JSON (record 700: `:` made `;`) is named and skipped; the
    // records after it are read, and the verdict is incomplete.
    let mut bytes = format!("{{\"Records\":[{}]}}", quiet[..2000].join(",")).into_bytes();
    let at = bytes.windows(9).position(|w| w == b"\"e700\",\"r").unwrap();
    let colon = at + bytes[at..].iter().position(|&b| b == b':').unwrap();
    bytes[colon] = b';';
    std::fs::write(bad.join("big.json"), &bytes).unwrap();
    let (code, v, err) = scan_with(&[&bad], Some(&cfg));
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["summary"]["events"]["cloudtrail"], 1999);
    assert_eq!(v["warnings"][0]["record"], 700, "{}", v["warnings"]);
    // Truncated inside the array: what was read counts, the cut is named.
    let text = format!("{{\"Records\":[{}]}}", quiet[..2000].join(","));
    std::fs::write(bad.join("big.json"), &text[..text.len() - 200]).unwrap();
    let (code, v, err) = scan_with(&[&bad], Some(&cfg));
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["summary"]["events"]["cloudtrail"], 1999);
    let m = v["warnings"][0]["message"].as_str().unwrap();
    assert!(m.contains("truncated"), "{m}");
}

/// `scan`'s bar counts the raw bytes of the log files and moves inside one large file:
/// read in memory, streamed (a `{"Records": [...]}` file past the record cap) and gzipped
/// (counted in compressed bytes, the file's size on disk), ending at the file's size.
#[test]
fn scan_progress_moves_inside_one_large_log_file() {
    let d = tempfile::tempdir().unwrap();
    let recs: Vec<String> = (0..12_000)
        .map(|i| trail_event(i, "DescribeTrails", 300))
        .collect();
    let text = format!("{{\"Records\":[{}]}}", recs.join(","));
    let plain = d.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("big.json"), &text).unwrap();
    let gz = d.path().join("gz");
    std::fs::create_dir(&gz).unwrap();
    gzip(&gz.join("big.json.gz"), &[text.as_bytes()]);
    let cfg = config(d.path(), "max_record_bytes = 65536");
    for (dir, cfg) in [(&plain, None), (&plain, Some(&cfg)), (&gz, None)] {
        let file = std::fs::read_dir(dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let size = std::fs::metadata(&file).unwrap().len();
        let mut cmd = bin();
        cmd.env("MLGUARD_PROGRESS_TEST", "1").args([
            "scan",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ]);
        if let Some(c) = cfg {
            cmd.args(["--config", c.to_str().unwrap()]);
        }
        let o = cmd.output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["summary"]["events"]["cloudtrail"], 12_000);
        common::assert_moves_inside(&o.stderr, size, 3);
    }
    // -q: no bar, no positions.
    let o = bin()
        .env("MLGUARD_PROGRESS_TEST", "1")
        .args(["-q", "scan", plain.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(common::progress_positions(&o.stderr).is_empty());
}
