//! Classifying a tree (or a second manifest) against a manifest.
//!
//! Verify never opens a path taken from the manifest: it walks the tree under `PATH` and
//! matches what it finds by path, so a hostile manifest cannot make it read outside the tree
//! (and manifests are validated before this runs anyway).

use super::hasher::HashOptions;
use super::manifest::{Entry, EntryKind, Manifest};
use super::tree::hash_tree;
use crate::finding::{Finding, Severity};
use crate::input::source::WalkOptions;
use crate::Result;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Modified,
    Missing,
    Added,
    Moved,
    TypeChanged,
    Unreadable,
    /// `diff` only: in the old manifest, not in the new one.
    Removed,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Ok,
        Status::Modified,
        Status::Missing,
        Status::Added,
        Status::Moved,
        Status::TypeChanged,
        Status::Unreadable,
        Status::Removed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Modified => "modified",
            Status::Missing => "missing",
            Status::Added => "added",
            Status::Moved => "moved",
            Status::TypeChanged => "type_changed",
            Status::Unreadable => "unreadable",
            Status::Removed => "removed",
        }
    }
}

/// One classified path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileResult {
    pub path: String,
    pub status: Status,
    /// For `moved`: the manifest path the content was recorded under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// For `modified` with chunks: first differing byte range, inclusive `[start, end]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<[u64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_blake3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_blake3: Option<String>,
    /// SHA-256 digests (hex), for OpenSSF model-signing bundles, whose resources are SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_sha256: Option<String>,
    /// Human detail: why unreadable, old/new symlink target...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl FileResult {
    /// The finding for a non-ok path: `integrity.<status>`, high unless an `added` path is
    /// allowed (`info`); with `detailed`, the result's fields as evidence (the table shows
    /// neither, so it is built without them).
    pub fn to_finding(&self, allow_added: bool, detailed: bool) -> Finding {
        let f = self;
        let severity = if f.status == Status::Added && allow_added {
            Severity::Info
        } else {
            Severity::High
        };
        let title = f.describe();
        let mut finding = Finding::new(
            format!("integrity.{}", f.status.as_str()),
            severity,
            f.path.clone(),
            title,
        );
        if !detailed {
            return finding;
        }
        if let Ok(Value::Object(m)) = serde_json::to_value(f) {
            for (k, v) in m {
                if k != "path" && k != "status" {
                    finding.evidence.insert(k, v);
                }
            }
        }
        finding
    }

    /// One human sentence for the status (the finding's title and the table's detail).
    pub fn describe(&self) -> String {
        let f = self;
        match f.status {
            Status::Ok => "unchanged".into(),
            Status::Modified => {
                let mut s = "content differs".to_string();
                if let Some([a, b]) = f.first_difference {
                    s.push_str(&format!("; first difference in bytes {a}-{b}"));
                }
                if let (Some(x), Some(y)) = (f.expected_size, f.actual_size) {
                    if x != y {
                        s.push_str(&format!("; size {x} -> {y}"));
                    }
                }
                s
            }
            Status::Missing => "in the manifest, not in the tree".into(),
            Status::Removed => "in the old manifest, not in the new one".into(),
            Status::Added => "not in the manifest".into(),
            Status::Moved => format!("moved from {}", f.from.as_deref().unwrap_or("?")),
            Status::TypeChanged => f.detail.clone().unwrap_or_else(|| "type changed".into()),
            Status::Unreadable => format!("cannot be read: {}", f.detail.as_deref().unwrap_or("?")),
        }
    }
}

impl FileResult {
    pub fn new(path: &str, status: Status) -> FileResult {
        FileResult {
            path: path.to_string(),
            status,
            from: None,
            first_difference: None,
            expected_size: None,
            actual_size: None,
            expected_blake3: None,
            actual_blake3: None,
            expected_sha256: None,
            actual_sha256: None,
            detail: None,
        }
    }
}

#[derive(Debug, Default)]
pub struct VerifyResult {
    /// Every path that is not `ok`, sorted by path then status.
    pub files: Vec<FileResult>,
    /// How many paths are `ok` (not listed: on a large manifest a result per unchanged
    /// file would cost more memory than the manifest itself).
    pub ok: usize,
    /// `(path, reason)`: FIFOs, sockets, devices seen in the tree and not hashed.
    pub skipped: Vec<(String, String)>,
    /// With [`VerifyOptions::shard`]: the part's record (of the tree's listing).
    pub shard: Option<crate::input::shard::ShardInfo>,
}

impl VerifyResult {
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut m: BTreeMap<Status, usize> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        m.insert(Status::Ok, self.ok);
        for f in &self.files {
            *m.entry(f.status).or_default() += 1;
        }
        m
    }
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Files inside the tree that are not part of the dataset (the manifest or envelope
    /// being verified, when stored inside the tree).
    pub skip_paths: Vec<PathBuf>,
    /// `--shard INDEX/COUNT`: check only the paths of this shard, in the manifest and in the
    /// tree alike (an added file belongs to the shard of its own path).
    pub shard: Option<crate::input::shard::Shard>,
}

/// Re-hash the tree at `root` exactly as the manifest's options say, and classify.
pub fn verify_tree(
    root: &Path,
    manifest: &Manifest,
    opts: &VerifyOptions,
    progress: &ProgressBar,
) -> Result<VerifyResult> {
    let walk_opts = WalkOptions {
        follow_symlinks: manifest.options.follow_symlinks,
        excludes: manifest.options.excludes.clone(),
        skip_paths: opts.skip_paths.clone(),
        shard: opts.shard,
        ..WalkOptions::default()
    };
    let hash_opts = HashOptions {
        sha256: false,
        chunk_size: manifest.options.chunk_size,
    };
    let tree = hash_tree(root, &walk_opts, &hash_opts, progress)?;
    // A sharded part compares only its share of the manifest: the rest is checked by the
    // other parts (a path the manifest lists but the tree lacks is then `missing` in the
    // shard of that path; a file moved across shards is `missing` in one part and `added`
    // in the other, which fails the gate just as `moved` does).
    // Borrowed, not cloned, when not sharded: a copy of a large manifest's entries is as
    // big as the manifest.
    let expected: Vec<&Entry> = match opts.shard {
        Some(s) => manifest
            .files
            .iter()
            .filter(|e| {
                super::manifest::decode_path(&e.path)
                    .map(|raw| s.owns(&raw))
                    .unwrap_or(true)
            })
            .collect(),
        None => manifest.files.iter().collect(),
    };
    let (files, ok) = compare(
        &expected,
        &tree.entries,
        &tree.unreadable,
        manifest.options.chunk_size,
    );
    Ok(VerifyResult {
        files,
        ok,
        skipped: tree.skipped,
        shard: tree.shard,
    })
}

/// Classify `actual` entries against `expected` ones (both sorted by path). Used by verify
/// (actual = the tree) and diff (actual = the newer manifest). Returns the paths that are
/// not `ok`, and how many are.
pub fn compare(
    expected: &[&Entry],
    actual: &[Entry],
    unreadable: &[(String, String)],
    chunk_size: u64,
) -> (Vec<FileResult>, usize) {
    let exp: HashMap<&str, &Entry> = expected.iter().map(|e| (e.path.as_str(), *e)).collect();
    let act: HashMap<&str, &Entry> = actual.iter().map(|e| (e.path.as_str(), e)).collect();
    let unread: HashMap<&str, &str> = unreadable
        .iter()
        .map(|(p, m)| (p.as_str(), m.as_str()))
        .collect();
    let mut out = Vec::new();
    let mut ok = 0usize;
    let mut missing: Vec<&Entry> = Vec::new();
    for &e in expected {
        if let Some(msg) = unread.get(e.path.as_str()) {
            let mut r = FileResult::new(&e.path, Status::Unreadable);
            r.detail = Some(msg.to_string());
            out.push(r);
            continue;
        }
        match act.get(e.path.as_str()) {
            None => missing.push(e),
            Some(a) => match classify(e, a, chunk_size) {
                r if r.status == Status::Ok => ok += 1,
                r => out.push(r),
            },
        }
    }
    // Content that appears under a new path is `moved`, not `missing` + `added`.
    let mut by_content: HashMap<(EntryKind, &str, u64), Vec<&Entry>> = HashMap::new();
    for m in missing.iter().rev() {
        by_content
            .entry((m.kind, m.blake3.as_str(), m.size))
            .or_default()
            .push(m);
    }
    for a in actual {
        if exp.contains_key(a.path.as_str()) {
            continue;
        }
        let key = (a.kind, a.blake3.as_str(), a.size);
        match by_content.get_mut(&key).and_then(|v| v.pop()) {
            Some(from) => {
                let mut r = FileResult::new(&a.path, Status::Moved);
                r.from = Some(from.path.clone());
                out.push(r);
            }
            None => {
                let mut r = FileResult::new(&a.path, Status::Added);
                r.actual_size = Some(a.size);
                r.actual_blake3 = Some(a.blake3.clone());
                out.push(r);
            }
        }
    }
    for v in by_content.into_values() {
        for m in v {
            let mut r = FileResult::new(&m.path, Status::Missing);
            r.expected_size = Some(m.size);
            r.expected_blake3 = Some(m.blake3.clone());
            out.push(r);
        }
    }
    for (p, msg) in unreadable {
        if !exp.contains_key(p.as_str()) {
            let mut r = FileResult::new(p, Status::Unreadable);
            r.detail = Some(msg.clone());
            out.push(r);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path).then(a.status.cmp(&b.status)));
    (out, ok)
}

fn classify(e: &Entry, a: &Entry, chunk_size: u64) -> FileResult {
    if e.kind != a.kind || (e.kind == EntryKind::Symlink && e.blake3 != a.blake3) {
        let mut r = FileResult::new(&e.path, Status::TypeChanged);
        let desc = |x: &Entry| match (&x.kind, &x.target) {
            (EntryKind::Symlink, Some(t)) => format!("symlink -> {t}"),
            _ => "regular file".to_string(),
        };
        r.detail = Some(format!("was {}, now {}", desc(e), desc(a)));
        return r;
    }
    if e.size == a.size && e.blake3.eq_ignore_ascii_case(&a.blake3) {
        return FileResult::new(&e.path, Status::Ok);
    }
    let mut r = FileResult::new(&e.path, Status::Modified);
    r.expected_size = Some(e.size);
    r.actual_size = Some(a.size);
    r.expected_blake3 = Some(e.blake3.clone());
    r.actual_blake3 = Some(a.blake3.clone());
    if let (Some(ec), Some(ac)) = (&e.chunks, &a.chunks) {
        let i = ec
            .iter()
            .zip(ac.iter())
            .position(|(x, y)| !x.eq_ignore_ascii_case(y))
            .unwrap_or(ec.len().min(ac.len()));
        let start = i as u64 * chunk_size;
        let end = (start + chunk_size)
            .min(e.size.max(a.size))
            .saturating_sub(1);
        r.first_difference = Some([start, end.max(start)]);
    }
    r
}
