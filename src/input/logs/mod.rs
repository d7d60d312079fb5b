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

pub mod azure;
pub mod cloudtrail;
mod fields;
pub mod gcp;
pub mod k8s;
pub mod mlflow;
pub mod read;
pub mod registry;
pub mod stream;
pub mod wandb;

pub use fields::{normalize_ip, parse_time};
pub use registry::{LogSource, Source, REGISTRY};

use crate::error::Result;
use chrono::{DateTime, Utc};
use rayon::prelude::*;
pub use read::FileRead;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What an event did, whatever the platform: set by each source's parser so detections
/// match one kind instead of per-cloud action-name lists (`GetObject`,
/// `storage.objects.get`, `GetBlob` are all [`Op::ObjectRead`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Nothing the detections single out.
    Other,
    ObjectRead,
    ObjectWrite,
    ObjectDelete,
    ObjectList,
    /// Audit logging stopped or deleted (trail, sink, diagnostic setting).
    LoggingDisable,
    /// Audit logging reconfigured (selectors, trail update, bucket logging).
    LoggingChange,
    /// Who may do what: resource policies, ACLs, IAM / RBAC grants.
    PolicyChange,
    /// A copy of a disk, image or database shared or unshared with other accounts (EBS
    /// snapshot, AMI, RDS snapshot attributes): grants and revocations in one call.
    Share,
    /// Log data deleted (CloudWatch Logs groups and streams).
    LogDelete,
    VersioningChange,
    SecretRead,
    /// Interactive access into a running workload: exec / attach / port-forward.
    ExecAttach,
    /// Training / processing / pipeline jobs, notebooks and compute started.
    JobSubmit,
    /// Code run at start-up changed (SageMaker lifecycle config, Workbench post-startup script).
    StartupScriptChange,
    ModelInvoke,
    /// Model catalogue discovery (Bedrock `ListFoundationModels`...).
    ModelDiscover,
    /// Model access granted to the account (Bedrock entitlements, agreements).
    ModelAccessGrant,
    ModelRegister,
    ModelPromote,
    ModelExport,
    ModelDeploy,
    /// Access keys, API keys, login profiles, service-account keys created.
    CredentialCreate,
    /// Sign-ins, console logins, presigned notebook / Studio URLs.
    Login,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Other => "other",
            Op::ObjectRead => "object_read",
            Op::ObjectWrite => "object_write",
            Op::ObjectDelete => "object_delete",
            Op::ObjectList => "object_list",
            Op::LoggingDisable => "logging_disable",
            Op::LoggingChange => "logging_change",
            Op::PolicyChange => "policy_change",
            Op::Share => "share",
            Op::LogDelete => "log_delete",
            Op::VersioningChange => "versioning_change",
            Op::SecretRead => "secret_read",
            Op::ExecAttach => "exec_attach",
            Op::JobSubmit => "job_submit",
            Op::StartupScriptChange => "startup_script_change",
            Op::ModelInvoke => "model_invoke",
            Op::ModelDiscover => "model_discover",
            Op::ModelAccessGrant => "model_access_grant",
            Op::ModelRegister => "model_register",
            Op::ModelPromote => "model_promote",
            Op::ModelExport => "model_export",
            Op::ModelDeploy => "model_deploy",
            Op::CredentialCreate => "credential_create",
            Op::Login => "login",
        }
    }
}

/// Where a record sits in its file: 0-based index in a JSON array / container, or 1-based
/// line for JSON Lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordRef {
    /// Shared by every record of the file.
    pub file: Arc<Path>,
    pub index: Option<u64>,
    pub line: Option<u64>,
}

impl RecordRef {
    pub fn location(&self) -> crate::finding::Location {
        crate::finding::Location {
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
    /// What kind of operation it was (set by the source's parser).
    pub op: Op,
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
    /// The credential used, where the log names it: CloudTrail `userIdentity.accessKeyId`,
    /// GCP `authenticationInfo.serviceAccountKeyName`. Shown by `scan --view principals`.
    pub access_key: Option<String>,
    /// Bytes sent to the caller, when the log records it.
    pub bytes_out: Option<f64>,
    /// Objects this one call touched (S3 `DeleteObjects` lists many): at least 1.
    pub objects: u64,
    pub success: bool,
    pub error: Option<String>,
    pub raw: Value,
    pub at: RecordRef,
}

impl Event {
    /// A copy without the raw record: what a detection keeps to point a later finding at.
    pub fn clone_without_raw(&self) -> Event {
        Event {
            time: self.time,
            source: self.source,
            op: self.op,
            principal: self.principal.clone(),
            principal_type: self.principal_type.clone(),
            account: self.account.clone(),
            action: self.action.clone(),
            service: self.service.clone(),
            resource: self.resource.clone(),
            region: self.region.clone(),
            source_ip: self.source_ip.clone(),
            user_agent: self.user_agent.clone(),
            access_key: self.access_key.clone(),
            bytes_out: self.bytes_out,
            objects: self.objects,
            success: self.success,
            error: self.error.clone(),
            raw: Value::Null,
            at: self.at.clone(),
        }
    }
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
    /// Files inside a listed directory that were read through a symlink: `(link, target)`.
    /// They are read (and counted in `files`), so they are not `ignored`; they are listed
    /// so that a link pulling a file in from outside the tree is visible.
    pub via_symlink: Vec<(PathBuf, PathBuf)>,
    /// Date directories/prefixes outside `--since`/`--until`, not listed.
    pub pruned: Vec<PathBuf>,
    /// Events read but outside `--since`/`--until` (dropped before any detection).
    pub outside_range: usize,
    /// Records read after a repair (invalid UTF-8 replaced), one entry per record.
    pub repaired: Vec<Warning>,
    /// Records dropped as repeated deliveries of an event already read (same
    /// [`LogSource::event_key`]); the first copy in file order is kept.
    pub duplicates: Vec<RecordRef>,
}

/// File names read when walking a directory (explicit file arguments are always read):
/// any registered source's patterns.
fn wanted(p: &Path) -> bool {
    let n = crate::input::source::base_name(p);
    REGISTRY
        .iter()
        .flat_map(|s| s.file_patterns())
        .any(|e| n.ends_with(e))
}

pub use crate::input::source::DateRange;

/// `(path, reason)` pairs.
pub type Reasons = Vec<(PathBuf, String)>;

/// Expand arguments into files through the source layer: directories are listed (sorted;
/// links to files read, links to directories and special files left out with a reason).
/// Returns the files, `(path, reason)` for what was not read, and `(link, target)` for the
/// files read through a symlink (a subset of the files: read, not ignored).
pub fn expand(paths: &[PathBuf], dates: DateRange) -> Result<Expanded> {
    let found = crate::input::source::expand_dated(
        paths,
        &wanted,
        "log files (looked for .json, .json.gz, .jsonl, .ndjson, .log)",
        dates,
    )?;
    let links = found
        .via_symlink
        .into_iter()
        .map(|p| {
            let target = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            (p, target)
        })
        .collect();
    Ok(Expanded {
        files: found.files,
        ignored: found.skipped,
        via_symlink: links,
        pruned: found.pruned,
    })
}

/// What [`expand`] found: files to read, files not read with the reason, files read
/// through a symlink `(link, target)`, and date directories/prefixes left out.
#[derive(Debug, Default)]
pub struct Expanded {
    pub files: Vec<PathBuf>,
    pub ignored: Reasons,
    pub via_symlink: Vec<(PathBuf, PathBuf)>,
    pub pruned: Vec<PathBuf>,
}

/// Per-file work done while a file's raw records are still in memory (stateless detections,
/// Sigma rules); its results are returned beside the events.
pub type FileHook<'a, T> = dyn Fn(&[Event]) -> Vec<T> + Sync + 'a;

/// `None`: detect the source per record / document; `Some`: `--source` forced it.
pub type Forced = Option<&'static dyn LogSource>;

/// Read every file (in parallel) as `source` (`None`: detect per record).
pub fn load(paths: &[PathBuf], source: Forced) -> Result<Loaded> {
    load_with::<()>(
        paths,
        source,
        &|_| Vec::new(),
        false,
        DateRange::default(),
        None,
    )
    .map(|(l, _)| l)
}

/// Like [`load`], running `hook` on each file's events in the reading thread. With
/// `drop_raw`, the raw records of audit events are released after the hook (registry
/// events keep theirs): memory then holds the normalised fields only, whatever the
/// size of the input. With `progress`, the raw bytes of the local files are counted on it
/// as they are read (its length set to their total size here).
pub fn load_with<T: Send>(
    paths: &[PathBuf],
    source: Forced,
    hook: &FileHook<'_, T>,
    drop_raw: bool,
    dates: DateRange,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(Loaded, Vec<T>)> {
    let Expanded {
        files,
        ignored,
        via_symlink,
        pruned,
    } = expand(paths, dates)?;
    // Objects in a store count 0 (their size would cost a request each): the bar covers
    // the local files.
    let shares: Vec<Option<Arc<crate::progress::Share>>> = match progress {
        Some(bar) => {
            let v: Vec<_> = files
                .iter()
                .map(|f| {
                    let size = if crate::input::remote::is_url(f) {
                        0
                    } else {
                        std::fs::metadata(crate::input::remote::local_path(f))
                            .map_or(0, |m| m.len())
                    };
                    Some(Arc::new(crate::progress::Share::new(bar, size)))
                })
                .collect();
            bar.set_length(v.iter().flatten().map(|s| s.share()).sum());
            v
        }
        None => vec![None; files.len()],
    };
    /// A file's read, hook results, events outside the dates, dedup identities.
    type PerFile<T> = (FileRead, Vec<T>, usize, Vec<Option<u128>>);
    let per_file: Vec<PerFile<T>> = files
        .par_iter()
        .zip(shares.par_iter())
        .map(|(f, share)| {
            let mut kept = Vec::new();
            let mut found = Vec::new();
            let mut outside = 0usize;
            let mut keys: Vec<Option<u128>> = Vec::new();
            // Once per file, or once per batch of a streamed file: the raw records of a
            // batch are released before the next is parsed.
            let mut take = |mut evs: Vec<Event>| {
                let before = evs.len();
                if dates.is_set() {
                    evs.retain(|e| dates.contains(e.time));
                }
                outside += before - evs.len();
                // Identities for deduplication, while the raw records are in memory.
                keys.extend(
                    evs.iter()
                        .map(|e| e.source.get().and_then(|s| s.event_key(&e.raw))),
                );
                found.extend(hook(&evs));
                if drop_raw {
                    for e in evs
                        .iter_mut()
                        .filter(|e| !e.source.get().is_some_and(|s| s.keeps_raw()))
                    {
                        e.raw = Value::Null;
                    }
                }
                kept.extend(evs);
            };
            let mut r = read_file_with(f, source, share.as_ref(), &mut take);
            if let Some(s) = share {
                s.done();
            }
            r.events = kept;
            (r, found, outside, keys)
        })
        .collect();
    let mut results = Vec::new();
    let mut out = Loaded {
        files: files.len(),
        ignored,
        via_symlink,
        pruned,
        ..Loaded::default()
    };
    // Deduplication, in file order (files are sorted) so the copy kept is always the
    // first one: 16 bytes per distinct event identity (a 128-bit BLAKE3 prefix; about
    // 32 bytes with the table's overhead), beside the events already held in memory.
    let mut seen: std::collections::HashSet<u128> = std::collections::HashSet::new();
    for (f, (r, found, outside, keys)) in files.iter().zip(per_file) {
        out.outside_range += outside;
        if let Some(why) = r.unused {
            out.ignored.push((f.clone(), why));
        }
        for (e, k) in r.events.into_iter().zip(keys) {
            match k {
                Some(k) if !seen.insert(k) => out.duplicates.push(e.at),
                _ => out.events.push(e),
            }
        }
        results.extend(found);
        out.warnings.extend(r.warnings);
        out.repaired.extend(r.repaired);
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

/// Read one file: JSON documents (one, or many: containers per line, concatenated files)
/// or JSON Lines; see [`read`].
pub fn read_file(path: &Path, source: Forced) -> FileRead {
    let mut events = Vec::new();
    let mut r = read_file_with(path, source, None, &mut |mut e| events.append(&mut e));
    r.events = events;
    r
}

/// [`read_file`], handing the events to `sink` (once, or per batch when a large
/// `{"Records": [...]}` file is streamed: `stream.rs`) instead of in the result.
/// `share`: the file's part of a progress bar, counting its raw bytes as they are read.
pub fn read_file_with(
    path: &Path,
    source: Forced,
    share: Option<&Arc<crate::progress::Share>>,
    sink: &mut dyn FnMut(Vec<Event>),
) -> FileRead {
    let max = crate::input::source::limits().max_record_bytes;
    match read_capped(path, max, share) {
        Ok(Capped::Stream) => stream::read_records(path, source, max, share, sink),
        Ok(Capped::Whole(bytes, cut)) => {
            let mut r = read::read_bytes(path, &bytes, source);
            if let Some(line) = cut {
                r.warnings.push(warn(
                    path,
                    None,
                    Some(line),
                    format!(
                        "line longer than {max} bytes ([input] max_record_bytes): it and the rest of the file were not read"
                    ),
                ));
            }
            sink(std::mem::take(&mut r.events));
            r
        }
        Err(e) => {
            let msg = match e {
                crate::Error::Io { source, .. } => source.to_string(),
                crate::Error::Input { message, .. } => message,
                other => other.to_string(),
            };
            FileRead {
                warnings: vec![warn(path, None, None, format!("cannot read: {msg}"))],
                ..FileRead::default()
            }
        }
    }
}

/// What [`read_capped`] found.
enum Capped {
    /// The bytes, up to the line longer than the cap when there is one (its 1-based number).
    Whole(Vec<u8>, Option<u64>),
    /// Larger than the cap and a `{"Records": [` container: to be streamed.
    Stream,
}

/// A log file's (decompressed) bytes, stopping before the first line longer than `max`
/// bytes: a `.json.gz` bomb that inflates to one huge line costs `max` bytes of memory, not
/// the whole inflated size. A file that passes `max` bytes and opens a `{"Records": [`
/// container is streamed instead (`stream.rs`), whatever its lines.
fn read_capped(
    path: &Path,
    max: u64,
    share: Option<&Arc<crate::progress::Share>>,
) -> crate::Result<Capped> {
    use std::io::BufRead;
    let mut r = crate::input::source::open_stream_metered(path, share)?;
    let mut out = Vec::new();
    let mut line_start = 0usize;
    let mut line = 1u64;
    let mut checked = false;
    loop {
        let buf = r.fill_buf().map_err(|e| crate::Error::io(path, e))?;
        if buf.is_empty() {
            return Ok(Capped::Whole(out, None));
        }
        let n = buf.len();
        let base = out.len();
        out.extend_from_slice(buf);
        r.consume(n);
        for (i, b) in out[base..].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                line_start = base + i + 1;
            }
        }
        if !checked && out.len() as u64 > max {
            checked = true;
            if stream::opens_records(&out[..out.len().min(64)]) {
                return Ok(Capped::Stream);
            }
        }
        if (out.len() - line_start) as u64 > max {
            out.truncate(line_start);
            return Ok(Capped::Whole(out, Some(line)));
        }
    }
}

fn push_record(
    rec: Value,
    source: Forced,
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
    let ev = match source.or_else(|| registry::sniff(&rec)) {
        Some(s) => match s.unwrap(rec) {
            Err(why) => Err((at, why)),
            Ok(rec) if !s.counted(&rec) => return,
            Ok(rec) => s.parse(rec, at),
        },
        None => Err((at, format!("record is not a {} event", known_kinds()))),
    };
    match ev {
        Ok(e) => events.push(e),
        Err((at, message)) => warnings.push(Warning { at, message }),
    }
}

/// "CloudTrail, GCP or Azure": the record sources, for messages.
fn known_kinds() -> String {
    let n: Vec<&str> = REGISTRY
        .iter()
        .filter(|s| s.audit_trail())
        .map(|s| s.source().name())
        .collect();
    n.join(", ")
}
