//! Helpers shared by the integration tests. All test files are modules of one test binary
//! (`tests/tests.rs`, ripgrep's layout: one link instead of one per file); each file imports
//! this module with `use crate::util as common;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The real `mlguard` binary built by cargo for this test run.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mlguard"))
}

/// `mlguard scan PATHS --format json EXTRA`: (exit code, the JSON report, stderr). Panics,
/// showing both streams, when stdout is not JSON.
pub fn scan_json(paths: &[PathBuf], extra: &[&str]) -> (i32, serde_json::Value, String) {
    let o = bin()
        .arg("scan")
        .args(paths)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (
        o.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A path under the repository's `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// The bar positions a command printed with `MLGUARD_PROGRESS_TEST=1` (the plain-text seam
/// of src/progress.rs: `mlguard-progress: POS/LEN` per advance), as `(pos, len)`.
pub fn progress_positions(stderr: &[u8]) -> Vec<(u64, u64)> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("mlguard-progress: "))
        .filter_map(|r| {
            let (p, l) = r.split_once('/')?;
            Some((p.parse().ok()?, l.parse().ok()?))
        })
        .collect()
}

/// Check that a bar moved *inside* one input of `total` units: at least `min_steps`
/// distinct positions strictly between 0 and `total`, and it ends at `total`.
pub fn assert_moves_inside(stderr: &[u8], total: u64, min_steps: usize) {
    let pos = progress_positions(stderr);
    assert!(
        pos.iter().all(|(_, l)| *l == total),
        "lengths {pos:?}, want {total}"
    );
    let mut inside: Vec<u64> = pos.iter().map(|p| p.0).filter(|p| *p < total).collect();
    inside.sort_unstable();
    inside.dedup();
    assert!(
        inside.len() >= min_steps,
        "the bar only moved to {inside:?} before {total}: it does not move inside the file"
    );
    assert_eq!(pos.iter().map(|p| p.0).max(), Some(total), "{pos:?}");
}

// Binary table seeds, built the same way every run (the fuzz targets mutate them; the
// hostile-input tests corrupt them at the offsets recorded in docs/upstream-panics.md).

use std::sync::Arc;

/// Iris as Arrow batches (the source of the binary seeds).
pub fn iris_batches() -> Vec<arrow_array::RecordBatch> {
    let path = testdata("datasets/iris.csv");
    let fmt = arrow_csv::reader::Format::default().with_header(true);
    let (schema, _) = fmt
        .infer_schema(std::fs::File::open(&path).unwrap(), Some(200))
        .unwrap();
    arrow_csv::ReaderBuilder::new(Arc::new(schema))
        .with_header(true)
        .with_batch_size(50)
        .build(std::fs::File::open(&path).unwrap())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// A few rows with the types the binary formats encode differently: strings (dictionary
/// encoded in Parquet), nulls, lists, timestamps.
pub fn typed_batch() -> arrow_array::RecordBatch {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
    let mut lb = ListBuilder::new(arrow_array::builder::Float64Builder::new());
    for i in 0..20 {
        for j in 0..(i % 4) {
            lb.values().append_value((i * j) as f64);
        }
        lb.append(i % 5 != 0);
    }
    let names: StringArray = (0..20)
        .map(|i| (i % 3 != 0).then(|| format!("n{}", i % 4)))
        .collect();
    let mut sb = StringBuilder::new();
    for i in 0..20 {
        sb.append_value(format!("text {i}"));
    }
    arrow_array::RecordBatch::try_from_iter(vec![
        (
            "id",
            Arc::new(Int64Array::from_iter((0..20).map(Some))) as ArrayRef,
        ),
        ("name", Arc::new(names) as ArrayRef),
        ("emb", Arc::new(lb.finish()) as ArrayRef),
        (
            "ts",
            Arc::new(TimestampMillisecondArray::from_iter(
                (0..20).map(|i| Some(1_700_000_000_000 + i)),
            )) as ArrayRef,
        ),
        ("t", Arc::new(sb.finish()) as ArrayRef),
    ])
    .unwrap()
}

pub fn parquet_bytes(
    batches: &[arrow_array::RecordBatch],
    compression: parquet::basic::Compression,
) -> Vec<u8> {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(40))
        .set_compression(compression)
        .build();
    let mut out = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut out, batches[0].schema(), Some(props)).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    out
}

pub fn ipc_bytes(batches: &[arrow_array::RecordBatch], stream: bool, lz4: bool) -> Vec<u8> {
    let opts = arrow_ipc::writer::IpcWriteOptions::default()
        .try_with_compression(lz4.then_some(arrow_ipc::CompressionType::LZ4_FRAME))
        .unwrap();
    let mut out = Vec::new();
    if stream {
        let mut w = arrow_ipc::writer::StreamWriter::try_new_with_options(
            &mut out,
            &batches[0].schema(),
            opts,
        )
        .unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
    } else {
        let mut w = arrow_ipc::writer::FileWriter::try_new_with_options(
            &mut out,
            &batches[0].schema(),
            opts,
        )
        .unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
    }
    out
}
