//! Audit-log readers: CloudTrail, GCP Cloud Audit Logs, Azure activity and storage logs and
//! MLflow registry exports, normalised into one [`Event`] model.
//!
//! Why one model: every detection in `scan::detect` is written once against `Event`
//! (principal, action, resource, bytes...) instead of once per cloud. The raw record stays
//! attached (`Event::raw`) for what only one source has (a bucket policy document, a model
//! version's stage) and for Sigma rules, which match on the original field names.
//!
//! Dirty data is normal in exported logs, so a reader never stops the scan: an empty,
//! truncated or non-JSON file, or a record that is not an audit event, becomes a
//! [`Warning`] naming the file (and line or record), and reading goes on.

pub mod mlflow;
mod parse;

pub use parse::{normalize_ip, parse_time};

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where events come from. `Auto` decides per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Source {
    Auto,
    Cloudtrail,
    Gcp,
    Azure,
    Mlflow,
    /// Inference request logs (CSV, JSONL, Parquet): handled by `scan::inference`.
    Inference,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Auto => "auto",
            Source::Cloudtrail => "cloudtrail",
            Source::Gcp => "gcp",
            Source::Azure => "azure",
            Source::Mlflow => "mlflow",
            Source::Inference => "inference",
        }
    }
    /// Sigma `logsource.product` for this source.
    pub fn product(self) -> &'static str {
        match self {
            Source::Cloudtrail => "aws",
            Source::Gcp => "gcp",
            Source::Azure => "azure",
            Source::Mlflow => "mlflow",
            Source::Auto | Source::Inference => "",
        }
    }
}

/// Where a record sits in its file: 0-based index in a JSON array / container, or 1-based
/// line for JSON Lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordRef {
    /// Shared by every record of the file.
    pub file: Arc<Path>,
    pub index: Option<u64>,
    pub line: Option<u64>,
}

impl RecordRef {
    pub fn location(&self) -> crate::report::Location {
        crate::report::Location {
            file: self.file.display().to_string(),
            line: self.line,
            record: self.index,
            ..Default::default()
        }
    }
}

impl std::fmt::Display for RecordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(i) = self.index {
            write!(f, "#{i}")?;
        }
        Ok(())
    }
}

/// One audit event, whatever the cloud.
#[derive(Debug, Clone)]
pub struct Event {
    pub time: Option<DateTime<Utc>>,
    pub source: Source,
    /// Who: CloudTrail `userIdentity.arn` (or the account root / principalId), GCP
    /// `principalEmail`, Azure UPN / caller / SAS token hash, MLflow `user_id`.
    pub principal: String,
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, `user`, `serviceAccount`, `SAS`...
    pub principal_type: String,
    /// Account / project / subscription the event was recorded in.
    pub account: String,
    /// API operation: `GetObject`, `storage.objects.get`, `GetBlob`, ...
    pub action: String,
    /// Service: `s3.amazonaws.com`, `storage.googleapis.com`, `Microsoft.Storage`, `mlflow`.
    pub service: String,
    /// Normalised resource: `s3://bucket/key`, `gs://bucket/object`,
    /// `azblob://account/container/blob`, `models:/name/version`, or an ARN / resource id.
    pub resource: String,
    pub region: Option<String>,
    /// Canonical text form (zero-padded octets removed).
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Bytes sent to the caller, when the log records it.
    pub bytes_out: Option<f64>,
    /// Objects this one call touched (S3 `DeleteObjects` lists many): at least 1.
    pub objects: u64,
    pub success: bool,
    pub error: Option<String>,
    pub raw: Value,
    pub at: RecordRef,
}

/// A problem with the input that did not stop the scan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    pub at: RecordRef,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Sorted by time (events without a time first), then file and position.
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
    pub files: usize,
    /// Files not used, with the reason: in a directory with another extension, or an
    /// MLflow export of experiments/runs (not registry state).
    pub ignored: Vec<(PathBuf, String)>,
}

const UNUSED_EXPORT: &str =
    "MLflow export of experiments/runs/prompts: not registry state, not used";

/// File names read when walking a directory (explicit file arguments are always read).
fn wanted(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let n = n
        .strip_suffix(".gz")
        .or_else(|| n.strip_suffix(".zst"))
        .unwrap_or(&n);
    [".json", ".jsonl", ".ndjson", ".log"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// Expand arguments into files: directories are walked (sorted, symlinks not followed).
pub fn expand(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            for entry in walkdir::WalkDir::new(p).sort_by_file_name() {
                let entry = entry.map_err(|e| {
                    let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| p.clone());
                    Error::input(path, format!("cannot walk: {e}"))
                })?;
                if entry.file_type().is_file() {
                    if wanted(entry.path()) {
                        files.push(entry.into_path());
                    } else {
                        ignored.push(entry.into_path());
                    }
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    Ok((files, ignored))
}

/// Per-file work done while a file's raw records are still in memory (stateless detections,
/// Sigma rules); its results are returned beside the events.
pub type FileHook<'a, T> = dyn Fn(&[Event]) -> Vec<T> + Sync + 'a;

/// Read every file (in parallel) as `source` (`Auto`: detect per record).
pub fn load(paths: &[PathBuf], source: Source) -> Result<Loaded> {
    load_with::<()>(paths, source, &|_| Vec::new(), false).map(|(l, _)| l)
}

/// Like [`load`], running `hook` on each file's events in the reading thread. With
/// `drop_raw`, the raw records of audit events are released after the hook (registry
/// events keep theirs): memory then holds the normalised fields only, whatever the
/// size of the input.
pub fn load_with<T: Send>(
    paths: &[PathBuf],
    source: Source,
    hook: &FileHook<'_, T>,
    drop_raw: bool,
) -> Result<(Loaded, Vec<T>)> {
    let (files, ignored) = expand(paths)?;
    let per_file: Vec<(Vec<Event>, Vec<Warning>, Vec<T>)> = files
        .par_iter()
        .map(|f| {
            let (mut ev, w) = read_file(f, source);
            let found = hook(&ev);
            if drop_raw {
                for e in ev.iter_mut().filter(|e| e.source != Source::Mlflow) {
                    e.raw = Value::Null;
                }
            }
            (ev, w, found)
        })
        .collect();
    let mut results = Vec::new();
    let mut out = Loaded {
        files: files.len(),
        ignored: ignored
            .into_iter()
            .map(|p| (p, "extension not read when walking a directory".to_string()))
            .collect(),
        ..Loaded::default()
    };
    for (e, w, found) in per_file {
        out.events.extend(e);
        results.extend(found);
        for w in w {
            if w.message == UNUSED_EXPORT {
                out.ignored.push((w.at.file.to_path_buf(), w.message));
            } else {
                out.warnings.push(w);
            }
        }
    }
    out.events
        .sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.at.cmp(&b.at)));
    Ok((out, results))
}

fn warn(file: &Path, index: Option<u64>, line: Option<u64>, msg: impl Into<String>) -> Warning {
    Warning {
        at: RecordRef {
            file: Arc::from(file),
            index,
            line,
        },
        message: msg.into(),
    }
}

/// Read one file's bytes, decompressing gzip or zstd by magic number.
fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(path)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out)?;
        Ok(out)
    } else if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::stream::decode_all(&raw[..])
    } else {
        Ok(raw)
    }
}

/// Read one file: a JSON document (container, array or single record) or JSON Lines.
pub fn read_file(path: &Path, source: Source) -> (Vec<Event>, Vec<Warning>) {
    let shared: Arc<Path> = Arc::from(path);
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let bytes = match read_bytes(path) {
        Ok(b) => b,
        Err(e) => {
            warnings.push(warn(path, None, None, format!("cannot read: {e}")));
            return (events, warnings);
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        warnings.push(warn(path, None, None, "empty file: no records"));
        return (events, warnings);
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(doc) => {
            if source == Source::Mlflow || (source == Source::Auto && mlflow::is_document(&doc)) {
                match mlflow::events(&doc, path) {
                    Some(ev) => events.extend(ev),
                    None if mlflow::is_other_export(&doc) => {
                        warnings.push(warn(path, None, None, UNUSED_EXPORT))
                    }
                    None => warnings.push(warn(
                        path,
                        None,
                        None,
                        "not an MLflow registry export (no registered_model / model_versions)",
                    )),
                }
                return (events, warnings);
            }
            let records: Vec<(Option<u64>, Value)> = match doc {
                Value::Object(mut m) => {
                    let key = ["Records", "records", "value", "entries"]
                        .into_iter()
                        .find(|k| m.get(*k).is_some_and(Value::is_array));
                    match key.and_then(|k| m.remove(k)) {
                        Some(Value::Array(a)) => a
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| (Some(i as u64), v))
                            .collect(),
                        _ => vec![(None, Value::Object(m))],
                    }
                }
                Value::Array(a) => a
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (Some(i as u64), v))
                    .collect(),
                other => {
                    warnings.push(warn(
                        path,
                        None,
                        None,
                        format!("JSON {} is not an audit record", kind_of(&other)),
                    ));
                    return (events, warnings);
                }
            };
            if records.is_empty() {
                warnings.push(warn(path, None, None, "no records (empty JSON array)"));
            }
            for (index, rec) in records {
                push_record(
                    rec,
                    source,
                    &shared,
                    index,
                    None,
                    &mut events,
                    &mut warnings,
                );
            }
        }
        Err(whole) => {
            // JSON Lines? Only if the first non-empty line is a JSON value on its own.
            let text = String::from_utf8_lossy(&bytes);
            let mut any = false;
            let mut bad = 0usize;
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(l) {
                    Ok(v) => {
                        any = true;
                        push_record(
                            v,
                            source,
                            &shared,
                            None,
                            Some(i as u64 + 1),
                            &mut events,
                            &mut warnings,
                        );
                    }
                    Err(e) if any || bad > 0 => {
                        bad += 1;
                        warnings.push(warn(
                            path,
                            None,
                            Some(i as u64 + 1),
                            format!("malformed JSON line skipped: {e}"),
                        ));
                    }
                    Err(_) => {
                        // First line is not JSON either: report the whole-document error.
                        warnings.push(warn(
                            path,
                            None,
                            None,
                            format!("not JSON or JSON Lines: {whole}"),
                        ));
                        return (events, warnings);
                    }
                }
            }
        }
    }
    (events, warnings)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Which source a single record looks like.
pub fn detect(rec: &Value) -> Option<Source> {
    let o = rec.as_object()?;
    if o.contains_key("eventSource") && o.contains_key("eventName") {
        Some(Source::Cloudtrail)
    } else if o.contains_key("protoPayload") {
        Some(Source::Gcp)
    } else if o.contains_key("operationName")
        && [
            "resourceId",
            "category",
            "callerIpAddress",
            "caller",
            "eventTimestamp",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
    {
        Some(Source::Azure)
    } else {
        None
    }
}

fn push_record(
    rec: Value,
    source: Source,
    path: &Arc<Path>,
    index: Option<u64>,
    line: Option<u64>,
    events: &mut Vec<Event>,
    warnings: &mut Vec<Warning>,
) {
    let at = RecordRef {
        file: path.clone(),
        index,
        line,
    };
    let kind = match source {
        Source::Auto => detect(&rec),
        s => Some(s),
    };
    let ev = match kind {
        Some(Source::Cloudtrail) => parse::cloudtrail(rec, at),
        Some(Source::Gcp) => parse::gcp(rec, at),
        Some(Source::Azure) => parse::azure(rec, at),
        _ => Err((
            at,
            "record is not a CloudTrail, GCP audit or Azure log event".to_string(),
        )),
    };
    match ev {
        Ok(e) => events.push(e),
        Err((at, message)) => warnings.push(Warning { at, message }),
    }
}
