//! Where bytes come from: the one source layer every command lists and opens its inputs
//! through.
//!
//! * [`list`] walks a directory: one filter (`--exclude` globs, `.mlguardignore`, paths to
//!   skip) and one symlink policy ([`Symlinks`]), sorted by raw path bytes.
//! * [`expand`] turns command-line inputs (files, directories, globs) into the files a
//!   reader opens, with everything it left out listed with a reason ([`Expanded`]).
//! * [`open_regular`] opens a local file without ever blocking on a FIFO swapped in after
//!   the listing; [`ByteSource`] / [`RangeReader`] read byte ranges (`get_range`) so Parquet
//!   reads its footer and only the row groups it needs.
//! * [`decoder`] / [`read_all`] decompress gzip and zstd (by magic number) under the size
//!   caps of [`Limits`], so a decompression bomb is an input error and never an unbounded
//!   allocation.
//!
//! Decisions that matter for security, and why:
//! * Symlinks are **not followed** when hashing ([`Symlinks::Record`]): they are recorded as
//!   symlink items with their raw target, so a swapped target is detected without reading
//!   outside the tree. With `--follow-symlinks` ([`Symlinks::Follow`]) their content is
//!   hashed, and a loop is a clear error (walkdir compares device/inode of ancestors).
//!   Readers (profile, drift, scan, Sigma rules) use [`Symlinks::ReadFiles`]: a symlink to a
//!   regular file inside a listed directory is read and reported as read through a link; a
//!   symlink to a directory is not descended and a dangling one cannot be read: both are
//!   listed as skipped with the reason. Nothing is dropped silently.
//! * FIFOs, sockets and devices are never opened (opening a FIFO blocks forever): they are
//!   returned as skipped so the caller reports them.
//! * Names are kept as raw bytes, so non-UTF-8 names survive losslessly.
//! * Walk order is irrelevant: items are sorted by raw path bytes before anyone sees them.
//!
//! Globs (`expand`): `*`, `?` and `[...]` never cross `/`; `**` does. `dir/*.csv` matches
//! the files directly in `dir`, `dir/**/*.csv` those at any depth.

use super::remote;
use crate::error::{Error, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// A file's lower-cased name with a trailing `.gz`/`.zst` removed: what the readers match
/// their extensions against, since [`decoder`] undoes either compression transparently.
pub fn base_name(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match n.strip_suffix(".gz").or_else(|| n.strip_suffix(".zst")) {
        Some(b) => b.to_string(),
        None => n,
    }
}

/// Name of the per-root ignore file (gitignore syntax).
pub const IGNORE_FILE: &str = ".mlguardignore";

/// What a listing does with a symlink it meets inside a directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Symlinks {
    /// Record the link itself (its raw target) as an item: `hash`/`verify` by default.
    #[default]
    Record,
    /// Follow every link, files and directories (`--follow-symlinks`); loops are an error.
    Follow,
    /// Read links to regular files (marked [`Item::via_symlink`]); skip links to
    /// directories and dangling links with a reason. For readers of content.
    ReadFiles,
}

/// `--since`/`--until` as a listing filter: directories (local) and prefixes (object
/// storage) whose path names a date outside the range are not listed at all, so a month of
/// a multi-year CloudTrail trail is read without listing the years.
///
/// A date is three consecutive path components: a year (`2026` or `y=2026`), a month
/// (`03`, `m=03`) and a day (`01`, `d=01`) — CloudTrail's
/// `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`, GCS log sinks'
/// `cloudaudit.googleapis.com/activity/YYYY/MM/DD/`, Azure diagnostic exports'
/// `…/y=YYYY/m=MM/d=DD/h=HH/`. A year or month alone prunes its whole span. The folder is
/// the *delivery* date (CloudTrail writes a file up to ~15 minutes after its events), so a
/// day folder is kept up to one day after `until`; the events themselves are then filtered
/// by their own time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a path says about a [`DateRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateJudgement {
    /// It names a year, month or day wholly outside the range: do not list it.
    Outside,
    /// It names a whole day inside the range (everything below it is kept).
    Day,
    /// No date, or only a year/month overlapping the range: list it and look deeper.
    Open,
}

impl DateRange {
    pub fn is_set(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// True when an event time is inside the range (events without a time are kept).
    pub fn contains(&self, t: Option<chrono::DateTime<chrono::Utc>>) -> bool {
        let Some(t) = t else { return true };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// Judge a path given as its components (root and relative, in order).
    pub fn judge<'a>(&self, comps: impl IntoIterator<Item = &'a str>) -> DateJudgement {
        use chrono::NaiveDate;
        let num = |c: &'a str, keys: &[&str], digits: usize| -> Option<u32> {
            let v = keys.iter().find_map(|k| c.strip_prefix(k)).unwrap_or(c);
            (v.len() == digits && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse().ok())
                .flatten()
        };
        let (mut y, mut m, mut d) = (None, None, None);
        for c in comps {
            if y.is_some() && m.is_none() {
                m = num(c, &["m=", "month="], 2).filter(|v| (1..=12).contains(v));
                if m.is_none() {
                    y = None;
                }
            } else if m.is_some() {
                d = num(c, &["d=", "day="], 2).filter(|v| (1..=31).contains(v));
                if d.is_some() {
                    break;
                }
                (y, m) = (None, None);
            }
            if y.is_none() {
                y = num(c, &["y=", "year="], 4).filter(|v| (1970..=9999).contains(v));
            }
        }
        let Some(y) = y else {
            return DateJudgement::Open;
        };
        let y = y as i32;
        let (start, end) = match (m, d) {
            (Some(m), Some(d)) => {
                let Some(s) = NaiveDate::from_ymd_opt(y, m, d) else {
                    return DateJudgement::Open;
                };
                (s, s + chrono::Days::new(1))
            }
            (Some(m), None) => {
                let s = NaiveDate::from_ymd_opt(y, m, 1);
                let e = if m == 12 {
                    NaiveDate::from_ymd_opt(y + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(y, m + 1, 1)
                };
                match (s, e) {
                    (Some(s), Some(e)) => (s, e),
                    _ => return DateJudgement::Open,
                }
            }
            _ => match (
                NaiveDate::from_ymd_opt(y, 1, 1),
                NaiveDate::from_ymd_opt(y + 1, 1, 1),
            ) {
                (Some(s), Some(e)) => (s, e),
                _ => return DateJudgement::Open,
            },
        };
        let midnight = |n: NaiveDate| n.and_time(chrono::NaiveTime::MIN).and_utc();
        // Delivery lag: a folder may hold events up to a day older than its date.
        let late = self
            .until
            .is_some_and(|u| midnight(start) > u + chrono::Days::new(1));
        let early = self.since.is_some_and(|s| midnight(end) <= s);
        if late || early {
            DateJudgement::Outside
        } else if d.is_some() {
            DateJudgement::Day
        } else {
            DateJudgement::Open
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    pub follow_symlinks: bool,
    /// Overrides `follow_symlinks` when set to something other than `Record`.
    pub symlinks: Symlinks,
    /// `--exclude` globs; a glob matches the relative path or any single component name.
    pub excludes: Vec<String>,
    /// Absolute paths never to include (the manifest being written into the tree, say).
    pub skip_paths: Vec<PathBuf>,
    /// Paths relative to the root that are left out with everything under them (a path
    /// matches itself and its descendants, component-wise): the `ignore_paths` of an OpenSSF
    /// model-signing signature, which mean exactly that.
    pub ignore_rel: Vec<PathBuf>,
    /// Do not read `.mlguardignore` (a model-signing signature says itself what it ignores).
    pub no_ignore_file: bool,
    /// `--shard INDEX/COUNT`: keep only this shard's share of the listing
    /// ([`super::shard`]); [`Walk::shard`] then records the whole listing's fingerprint.
    pub shard: Option<super::shard::Shard>,
    /// Leave out date directories/prefixes outside this range (`scan --since/--until`).
    pub dates: DateRange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    File,
    /// A symlink (when not following), with its raw target bytes.
    Symlink(Vec<u8>),
}

/// One thing to hash.
#[derive(Debug, Clone)]
pub struct Item {
    /// Path relative to the root, raw bytes, `/`-separated.
    pub rel: Vec<u8>,
    /// Path to open.
    pub abs: PathBuf,
    pub kind: ItemKind,
    /// Size from the walk's stat (the hasher re-checks it).
    pub size: u64,
    /// A regular file reached through a symlink ([`Symlinks::ReadFiles`]).
    pub via_symlink: bool,
    /// An object in a store, pinned to its listed ETag/version (`abs` is then its URL).
    pub remote: Option<std::sync::Arc<dyn ByteSource>>,
}

#[derive(Debug, Default)]
pub struct Walk {
    /// Sorted by `rel`.
    pub items: Vec<Item>,
    /// `(rel path, reason)` for things that are not hashed: FIFOs, sockets, devices.
    pub skipped: Vec<(Vec<u8>, String)>,
    /// Entries that could not be read: `(path, message)`.
    pub errors: Vec<(PathBuf, String)>,
    /// With [`WalkOptions::shard`]: this part's record (the lists above hold only its share).
    pub shard: Option<super::shard::ShardInfo>,
    /// Date directories/prefixes left out by [`WalkOptions::dates`], not listed.
    pub pruned: Vec<PathBuf>,
}

struct Filter {
    globs: GlobSet,
    ignore: Option<Gitignore>,
    /// `(file name, canonical path)`: the name is compared first so that only same-named
    /// entries pay for a `realpath`.
    skip: Vec<(std::ffi::OsString, PathBuf)>,
    ignore_rel: Vec<PathBuf>,
}

impl Filter {
    fn new(root: &Path, opts: &WalkOptions) -> Result<Filter> {
        let mut b = GlobSetBuilder::new();
        for g in &opts.excludes {
            b.add(Glob::new(g).map_err(|e| Error::usage(format!("--exclude '{g}': {e}")))?);
        }
        let globs = b
            .build()
            .map_err(|e| Error::usage(format!("--exclude: {e}")))?;
        let ignore_path = root.join(IGNORE_FILE);
        let ignore_text = if opts.no_ignore_file {
            None
        } else {
            read_ignore_file(&ignore_path)?
        };
        let ignore = match ignore_text {
            Some(text) => {
                let mut gb = GitignoreBuilder::new(root);
                for line in String::from_utf8_lossy(&text).lines() {
                    gb.add_line(Some(ignore_path.clone()), line)
                        .map_err(|e| Error::input(&ignore_path, e))?;
                }
                Some(gb.build().map_err(|e| Error::input(&ignore_path, e))?)
            }
            None => None,
        };
        // The file may not exist yet (an output being written): canonicalise its directory.
        let skip = opts
            .skip_paths
            .iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_os_string();
                let canon = std::fs::canonicalize(p).ok().or_else(|| {
                    let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
                    let dir = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()?;
                    Some(dir.join(&name))
                })?;
                Some((name, canon))
            })
            .collect();
        Ok(Filter {
            globs,
            ignore,
            skip,
            ignore_rel: opts.ignore_rel.clone(),
        })
    }

    fn excluded(&self, rel: &Path, abs: &Path, is_dir: bool) -> bool {
        if self.ignore_rel.iter().any(|p| rel.starts_with(p)) {
            return true;
        }
        if self.globs.is_match(rel) || rel.iter().any(|c| self.globs.is_match(c)) {
            return true;
        }
        if let Some(ig) = &self.ignore {
            if ig.matched_path_or_any_parents(rel, is_dir).is_ignore() {
                return true;
            }
        }
        let name = abs.file_name();
        self.skip.iter().any(|(n, canon)| {
            Some(n.as_os_str()) == name && std::fs::canonicalize(abs).is_ok_and(|c| &c == canon)
        })
    }
}

/// Largest `.mlguardignore` read (a policy file of globs, not data).
const MAX_IGNORE_FILE: u64 = 1 << 20;

/// The root's `.mlguardignore`, if there is one. It decides what the manifest leaves out,
/// so it is part of the tree: it must be a regular file *in* the tree. A symlink is refused
/// (not followed): its target, possibly outside the tree, could be edited to hide added
/// files while the manifest records only the link. So is anything that is not a regular
/// file (a FIFO would block the walk). Opened with `O_NOFOLLOW`, so a link swapped in after
/// the check is refused too.
fn read_ignore_file(path: &Path) -> Result<Option<Vec<u8>>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let refuse = |what: &str| {
        Error::input(
            path,
            format!(
                "is {what}: {IGNORE_FILE} must be a regular file inside the tree (it decides what is left out of the manifest); replace it by a copy of its content"
            ),
        )
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("a symlink"));
    }
    if !meta.is_file() {
        return Err(refuse("not a regular file"));
    }
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => refuse("a symlink"),
                _ => Error::io(path, e),
            })?
    };
    #[cfg(not(unix))]
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    if !file.metadata().map_err(|e| Error::io(path, e))?.is_file() {
        return Err(refuse("not a regular file"));
    }
    let mut text = Vec::new();
    file.take(MAX_IGNORE_FILE + 1)
        .read_to_end(&mut text)
        .map_err(|e| Error::io(path, e))?;
    if text.len() as u64 > MAX_IGNORE_FILE {
        return Err(Error::input(
            path,
            format!("larger than {MAX_IGNORE_FILE} bytes: not an ignore file"),
        ));
    }
    Ok(Some(text))
}

/// List a prefix in object storage with the same filter as a local tree: `--exclude`
/// globs, and a `.mlguardignore` object at the top of the prefix. Stores have no symlinks
/// or special files; every object is a file.
fn list_remote(root: &Path, opts: &WalkOptions) -> Result<Walk> {
    let mut pruned = Vec::new();
    let objects = if opts.dates.is_set() {
        remote::list_dated(root, &opts.dates, &mut pruned)?
    } else {
        remote::list(root)?
    };
    if objects.is_empty() && !pruned.is_empty() {
        return Ok(Walk {
            pruned,
            ..Walk::default()
        });
    }
    if objects.is_empty() {
        return Err(Error::input(
            root,
            "no objects under this prefix (check the bucket and the path)",
        ));
    }
    let prefix = root.to_string_lossy().trim_end_matches('/').to_string();
    let mut filter = Filter::new(Path::new("/nonexistent-remote-root"), opts)?;
    let ignore_object = objects
        .iter()
        .find(|(k, _)| k == IGNORE_FILE)
        .filter(|_| !opts.no_ignore_file);
    if let Some((_, info)) = ignore_object {
        let url = PathBuf::from(format!("{prefix}/{IGNORE_FILE}"));
        let obj = remote::RemoteObject::with_info(&url, info.clone())?;
        let text = obj
            .get_range(0..info.size.min(1 << 20))
            .map_err(|e| Error::io(&url, e))?;
        let mut gb = GitignoreBuilder::new("");
        for line in String::from_utf8_lossy(&text).lines() {
            gb.add_line(None, line).map_err(|e| Error::input(&url, e))?;
        }
        filter.ignore = Some(gb.build().map_err(|e| Error::input(&url, e))?);
    }
    let mut out = Walk {
        pruned,
        ..Walk::default()
    };
    for (rel, info) in objects {
        let relp = Path::new(&rel);
        let url = PathBuf::from(format!("{prefix}/{rel}"));
        if filter.excluded(relp, &url, false) {
            continue;
        }
        let size = info.size;
        let obj = remote::RemoteObject::with_info(&url, info)?;
        out.items.push(Item {
            rel: rel.into_bytes(),
            abs: url,
            kind: ItemKind::File,
            size,
            via_symlink: false,
            remote: Some(std::sync::Arc::new(obj)),
        });
    }
    Ok(out)
}

/// A local path, with a `file://` URL turned into the path it names.
pub fn local_path_of(p: &Path) -> PathBuf {
    remote::local_path(p)
}

/// Run `f` on a thread pool sized for remote I/O when `root` is in object storage
/// (requests wait on the network, not the CPU), else on the current pool.
pub fn io_pool<T: Send>(root: &Path, f: impl FnOnce() -> T + Send) -> T {
    if !remote::is_url(root) {
        return f();
    }
    match rayon::ThreadPoolBuilder::new()
        .num_threads(remote::concurrency())
        .thread_name(|i| format!("mlguard-get-{i}"))
        .build()
    {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// Relative path as raw `/`-separated bytes.
pub fn rel_bytes(rel: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in rel.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(c.as_bytes());
    }
    out
}

/// The inverse of [`rel_bytes`]: a filesystem path under `root`.
pub fn join_rel(root: &Path, rel: &[u8]) -> PathBuf {
    root.join(Path::new(OsStr::from_bytes(rel)))
}

/// List `root` (a directory, or an object-storage prefix URL): the one walker of the
/// program. With [`WalkOptions::shard`], only that shard's share is returned.
pub fn list(root: &Path, opts: &WalkOptions) -> Result<Walk> {
    let mut w = list_all(root, opts)?;
    if let Some(shard) = opts.shard {
        keep_share(&mut w, &remote::local_path(root), shard);
    }
    Ok(w)
}

/// Reduce a listing to one shard's share, recording the fingerprint of the whole listing.
/// Every listed path counts, items, skipped special files and unreadable entries alike, so
/// each of them is accounted for by exactly one part.
fn keep_share(w: &mut Walk, root: &Path, shard: super::shard::Shard) {
    let err_rel = |p: &Path| rel_bytes(p.strip_prefix(root).unwrap_or(p));
    let errors: Vec<Vec<u8>> = w.errors.iter().map(|(p, _)| err_rel(p)).collect();
    let info = shard.info(
        w.items
            .iter()
            .map(|i| i.rel.as_slice())
            .chain(w.skipped.iter().map(|(r, _)| r.as_slice()))
            .chain(errors.iter().map(|r| r.as_slice())),
    );
    w.items.retain(|i| shard.owns(&i.rel));
    w.skipped.retain(|(r, _)| shard.owns(r));
    w.errors.retain(|(p, _)| shard.owns(&err_rel(p)));
    w.shard = Some(info);
}

fn list_all(root: &Path, opts: &WalkOptions) -> Result<Walk> {
    if remote::is_url(root) {
        return list_remote(root, opts);
    }
    let local = remote::local_path(root);
    let root = local.as_path();
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::usage(format!(
            "{} is not a directory (mlguard hashes dataset trees; put a single file in a directory)",
            root.display()
        )));
    }
    let filter = Filter::new(root, opts)?;
    let policy = match opts.symlinks {
        Symlinks::Record if opts.follow_symlinks => Symlinks::Follow,
        p => p,
    };
    let mut out = Walk::default();
    let pruned = std::cell::RefCell::new(Vec::new());
    let it = walkdir::WalkDir::new(root)
        .follow_links(policy == Symlinks::Follow)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            if filter.excluded(rel, e.path(), e.file_type().is_dir()) {
                return false;
            }
            if opts.dates.is_set() && e.file_type().is_dir() {
                let comps = e.path().iter().map(|c| c.to_str().unwrap_or(""));
                if opts.dates.judge(comps) == DateJudgement::Outside {
                    pruned.borrow_mut().push(e.path().to_path_buf());
                    return false;
                }
            }
            true
        });
    for entry in it {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.into());
                if let Some(anc) = e.loop_ancestor() {
                    return Err(Error::input(
                        &path,
                        format!(
                            "symlink loop: it leads back to its ancestor {} (drop --follow-symlinks, or remove the link)",
                            anc.display()
                        ),
                    ));
                }
                let msg = e
                    .io_error()
                    .map(|io| io.to_string())
                    .unwrap_or_else(|| e.to_string());
                out.errors.push((path, msg));
                continue;
            }
        };
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let rel_path = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let rel = rel_bytes(rel_path);
        if ft.is_symlink() && policy == Symlinks::ReadFiles {
            match std::fs::metadata(entry.path()) {
                Ok(m) if m.is_file() => out.items.push(Item {
                    rel,
                    abs: entry.path().to_path_buf(),
                    kind: ItemKind::File,
                    size: m.len(),
                    via_symlink: true,
                    remote: None,
                }),
                Ok(m) if m.is_dir() => out.skipped.push((
                    rel,
                    "symlink to a directory: not descended (name its target to read it)".into(),
                )),
                Ok(_) => out.skipped.push((
                    rel,
                    "symlink to a FIFO, socket or device: never opened".into(),
                )),
                Err(e) => out
                    .skipped
                    .push((rel, format!("symlink that cannot be followed: {e}"))),
            }
        } else if ft.is_symlink() {
            // Only reached when not following links.
            match std::fs::read_link(entry.path()) {
                Ok(t) => {
                    let target = t.as_os_str().as_bytes().to_vec();
                    out.items.push(Item {
                        rel,
                        abs: entry.path().to_path_buf(),
                        size: target.len() as u64,
                        kind: ItemKind::Symlink(target),
                        via_symlink: false,
                        remote: None,
                    });
                }
                Err(e) => out.errors.push((entry.path().to_path_buf(), e.to_string())),
            }
        } else if ft.is_file() {
            let size = match entry.metadata() {
                Ok(m) => m.len(),
                Err(e) => {
                    out.errors.push((entry.path().to_path_buf(), e.to_string()));
                    continue;
                }
            };
            out.items.push(Item {
                rel,
                abs: entry.path().to_path_buf(),
                kind: ItemKind::File,
                size,
                via_symlink: false,
                remote: None,
            });
        } else {
            let what = if ft.is_fifo() {
                "FIFO (named pipe)"
            } else if ft.is_socket() {
                "socket"
            } else if ft.is_block_device() {
                "block device"
            } else if ft.is_char_device() {
                "character device"
            } else {
                "special file"
            };
            out.skipped
                .push((rel, format!("{what}: not a regular file, never opened")));
        }
    }
    out.items.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.skipped.sort();
    out.errors.sort();
    out.pruned = pruned.into_inner();
    out.pruned.sort();
    Ok(out)
}

/// Open `path` for reading without ever blocking on it. The listing saw a regular file, but
/// the path may have been swapped for a FIFO or device since: `O_NONBLOCK` makes `open`
/// return at once for a FIFO with no writer (it has no effect on regular files), and the
/// `fstat` of the opened descriptor refuses anything that is not a regular file.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?
    };
    #[cfg(not(unix))]
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(
            "not a regular file any more (replaced by a FIFO, socket or device after the walk)",
        ));
    }
    Ok(file)
}

// ---------------------------------------------------------------------------------------
// Expanding command-line inputs

/// What [`expand`] found.
#[derive(Debug, Default)]
pub struct Expanded {
    /// Files to read, in argument order; within a directory or glob sorted by raw path.
    pub files: Vec<PathBuf>,
    /// Files inside a listed directory reached through a symlink (a subset of `files`).
    pub via_symlink: Vec<PathBuf>,
    /// `(path, reason)`: entries of listed directories that are not read (another
    /// extension, special files, links to directories, dangling links).
    pub skipped: Vec<(PathBuf, String)>,
    /// Date directories/prefixes outside `--since`/`--until`, not listed.
    pub pruned: Vec<PathBuf>,
}

/// True when `s` contains glob syntax.
fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand files, directories (recursively) and globs into the files a reader opens.
/// `wanted(path)` selects the files read when walking a directory (explicit files and glob
/// matches are always read); `what` names them in the "nothing found" error. Errors while
/// listing are input errors: a reader never goes on with part of a directory it could not
/// list.
pub fn expand(inputs: &[PathBuf], wanted: &dyn Fn(&Path) -> bool, what: &str) -> Result<Expanded> {
    expand_dated(inputs, wanted, what, DateRange::default())
}

/// [`expand`], leaving out directories/prefixes named by a date outside `dates`.
pub fn expand_dated(
    inputs: &[PathBuf],
    wanted: &dyn Fn(&Path) -> bool,
    what: &str,
    dates: DateRange,
) -> Result<Expanded> {
    let opts = WalkOptions {
        symlinks: Symlinks::ReadFiles,
        dates,
        ..WalkOptions::default()
    };
    let mut out = Expanded::default();
    for p in inputs {
        if remote::is_url(p) {
            expand_remote(p, wanted, &opts, &mut out)?;
            continue;
        }
        let p = &remote::local_path(p);
        let s = p.to_string_lossy();
        if std::fs::symlink_metadata(p).is_err() && is_glob(&s) {
            expand_glob(&s, &opts, &mut out)?;
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if !meta.is_dir() {
            out.files.push(p.clone());
            continue;
        }
        let w = list(p, &opts)?;
        if let Some((path, msg)) = w.errors.first() {
            return Err(Error::input(path, format!("cannot list: {msg}")));
        }
        for item in w.items {
            if !wanted(&item.abs) {
                out.skipped.push((
                    item.abs,
                    "extension not read when walking a directory".into(),
                ));
                continue;
            }
            if item.via_symlink {
                out.via_symlink.push(item.abs.clone());
            }
            out.files.push(item.abs);
        }
        out.skipped.extend(
            w.skipped
                .into_iter()
                .map(|(rel, why)| (join_rel(p, &rel), why)),
        );
        out.pruned.extend(w.pruned);
    }
    if out.files.is_empty() && out.pruned.is_empty() {
        return Err(Error::usage(format!(
            "no {what} found in {}",
            inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(out)
}

/// A URL input: a glob over keys, one object, or a prefix listed like a directory.
fn expand_remote(
    url: &Path,
    wanted: &dyn Fn(&Path) -> bool,
    opts: &WalkOptions,
    out: &mut Expanded,
) -> Result<()> {
    let s = url.to_string_lossy().to_string();
    let after_scheme = s.split_once("://").map(|x| x.1).unwrap_or("");
    if is_glob(after_scheme) {
        let glob = globset::GlobBuilder::new(&s)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::usage(format!("bad glob '{s}': {e}")))?
            .compile_matcher();
        let lit: String = s.chars().take_while(|c| !"*?[".contains(*c)).collect();
        let dir = &lit[..lit.rfind('/').map(|i| i + 1).unwrap_or(lit.len())];
        let mut hit = false;
        for item in list(Path::new(dir), opts)?.items {
            if glob.is_match(&item.abs) {
                hit = true;
                out.files.push(item.abs);
            }
        }
        if !hit {
            return Err(Error::usage(format!("no object matches '{s}'")));
        }
        return Ok(());
    }
    if remote::head(url)?.is_some() {
        out.files.push(url.to_path_buf());
        return Ok(());
    }
    let w = list(url, opts)?;
    out.pruned.extend(w.pruned);
    if w.items.is_empty() && out.pruned.is_empty() {
        return Err(Error::input(
            url,
            "not found (no object at this key or under this prefix)",
        ));
    }
    for item in w.items {
        if wanted(&item.abs) {
            out.files.push(item.abs);
        } else {
            out.skipped
                .push((item.abs, "extension not read when listing a prefix".into()));
        }
    }
    Ok(())
}

/// Expand one glob: list the longest literal directory prefix, match the pattern against
/// each path written as the pattern writes it (`dir/x.csv`, not `./dir/x.csv`).
fn expand_glob(pattern: &str, opts: &WalkOptions, out: &mut Expanded) -> Result<()> {
    let glob = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| Error::usage(format!("bad glob '{pattern}': {e}")))?
        .compile_matcher();
    // Directory components before the first one with glob syntax.
    let mut root = PathBuf::new();
    for c in Path::new(pattern).components() {
        if is_glob(&c.as_os_str().to_string_lossy()) {
            break;
        }
        root.push(c);
    }
    // The last literal component may name a file, not a directory (`a/b.csv[x]` is rare
    // enough): list from its parent when it is not a directory.
    if !root.is_dir() {
        root.pop();
    }
    let list_root = if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root.clone()
    };
    let w = list(&list_root, opts)?;
    if let Some((path, msg)) = w.errors.first() {
        return Err(Error::input(path, format!("cannot list: {msg}")));
    }
    let mut hit = false;
    for item in w.items {
        let shown = join_rel(&root, &item.rel);
        if glob.is_match(&shown) {
            hit = true;
            if item.via_symlink {
                out.via_symlink.push(shown.clone());
            }
            out.files.push(shown);
        }
    }
    for (rel, why) in w.skipped {
        let shown = join_rel(&root, &rel);
        if glob.is_match(&shown) {
            out.skipped.push((shown, why));
        }
    }
    if !hit {
        return Err(Error::usage(format!("no file matches '{pattern}'")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Byte ranges

/// A readable object of known length with random access: a local file (pread) today,
/// an object in a store (ranged GET) behind the same calls. Parquet reads through it
/// with [`RangeReader`], so only the footer and the row groups it needs are fetched.
pub trait ByteSource: Send + Sync + std::fmt::Debug {
    /// Length in bytes, fixed when the source was opened.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes `start..end` exactly; a short read is an error, never a short result.
    fn get_range(&self, range: std::ops::Range<u64>) -> std::io::Result<bytes::Bytes>;
    /// Several ranges at once, in order. A store fetches them concurrently (the column
    /// chunks of a Parquet row group); a local file reads them one after the other.
    fn get_ranges(&self, ranges: &[std::ops::Range<u64>]) -> std::io::Result<Vec<bytes::Bytes>> {
        ranges.iter().map(|r| self.get_range(r.clone())).collect()
    }
    /// What to call it in errors.
    fn name(&self) -> &Path;
    /// For an object in a store: the listed version it is pinned to.
    fn object(&self) -> Option<&remote::ObjectInfo> {
        None
    }
}

/// A local regular file read with `pread` (no shared cursor, so ranges read in parallel).
#[derive(Debug)]
pub struct LocalFile {
    file: std::fs::File,
    len: u64,
    path: PathBuf,
}

impl LocalFile {
    pub fn open(path: &Path) -> Result<LocalFile> {
        let file = open_regular(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Ok(LocalFile {
            file,
            len,
            path: path.to_path_buf(),
        })
    }
}

impl ByteSource for LocalFile {
    fn len(&self) -> u64 {
        self.len
    }
    fn get_range(&self, range: std::ops::Range<u64>) -> std::io::Result<bytes::Bytes> {
        use std::os::unix::fs::FileExt;
        if range.end > self.len || range.start > range.end {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "range {}..{} outside the {} bytes of the file (did it shrink?)",
                    range.start, range.end, self.len
                ),
            ));
        }
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        self.file.read_exact_at(&mut buf, range.start)?;
        Ok(buf.into())
    }
    fn name(&self) -> &Path {
        &self.path
    }
}

/// Open an input (local path or object URL) for ranged reads.
pub fn open_range(path: &Path) -> Result<RangeReader> {
    if remote::is_url(path) {
        return Ok(RangeReader(std::sync::Arc::new(
            remote::RemoteObject::open(path)?,
        )));
    }
    Ok(RangeReader(std::sync::Arc::new(LocalFile::open(
        &remote::local_path(path),
    )?)))
}

/// Block size of sequential local reads through a [`ByteSource`] (pread).
const LOCAL_BLOCK: u64 = 1 << 20;

/// The block size for streaming `src` sequentially.
fn block_for(src: &dyn ByteSource) -> u64 {
    if src.object().is_some() {
        remote::part_size()
    } else {
        LOCAL_BLOCK
    }
}

/// Open a regular local file or an object for reads through one [`ByteSource`] (which a
/// caller may wrap, e.g. to digest what is read: `integrity::observed`).
pub fn open_source(path: &Path) -> Result<std::sync::Arc<dyn ByteSource>> {
    Ok(open_range(path)?.0)
}

/// A sequential reader over `src` (the next block fetched while this one is consumed).
pub fn sequential(src: std::sync::Arc<dyn ByteSource>) -> remote::Sequential {
    let block = block_for(src.as_ref());
    remote::Sequential::new(src, block)
}

/// Like [`open_stream`], over a [`ByteSource`]: a buffered stream, decompressed by magic
/// number under the caps.
pub fn stream_of(src: std::sync::Arc<dyn ByteSource>) -> Result<Box<dyn std::io::BufRead + Send>> {
    let name = src.name().to_path_buf();
    let head = src
        .get_range(0..src.len().min(4))
        .map_err(|e| Error::io(&name, e))?;
    let c = compression_of(&head);
    let r = decoder(sequential(src), c).map_err(|e| Error::io(&name, e))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, r)))
}

/// `Read + Seek` over a [`ByteSource`], one block at a time (Arrow IPC files, whose reader
/// seeks to the footer and then to each record batch).
#[derive(Debug)]
pub struct SeekReader {
    src: std::sync::Arc<dyn ByteSource>,
    pos: u64,
    buf: bytes::Bytes,
    buf_start: u64,
    block: u64,
}

impl SeekReader {
    pub fn new(src: std::sync::Arc<dyn ByteSource>) -> SeekReader {
        let block = block_for(src.as_ref());
        SeekReader::with_block(src, block)
    }

    /// With reads of at least `block` bytes (small for a pass that only reads headers).
    pub fn with_block(src: std::sync::Arc<dyn ByteSource>, block: u64) -> SeekReader {
        SeekReader {
            src,
            pos: 0,
            buf: bytes::Bytes::new(),
            buf_start: 0,
            block,
        }
    }
}

impl Read for SeekReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let len = self.src.len();
        if self.pos >= len || out.is_empty() {
            return Ok(0);
        }
        let in_buf =
            self.pos >= self.buf_start && self.pos < self.buf_start + self.buf.len() as u64;
        if !in_buf {
            // A read larger than a block goes straight through (a record batch body).
            let want = (out.len() as u64).max(self.block);
            let end = (self.pos + want).min(len);
            self.buf = self.src.get_range(self.pos..end)?;
            self.buf_start = self.pos;
        }
        let at = (self.pos - self.buf_start) as usize;
        let n = out.len().min(self.buf.len() - at);
        out[..n].copy_from_slice(&self.buf[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for SeekReader {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let len = self.src.len() as i128;
        let p = match to {
            std::io::SeekFrom::Start(n) => n as i128,
            std::io::SeekFrom::End(d) => len + d as i128,
            std::io::SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if p < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        }
        self.pos = p.min(u64::MAX as i128) as u64;
        Ok(self.pos)
    }
}

/// Open an input as a plain (undecompressed) sequential reader.
fn open_raw(path: &Path) -> Result<Box<dyn Read + Send>> {
    if remote::is_url(path) {
        let obj = remote::RemoteObject::open(path)?;
        return Ok(Box::new(remote::Sequential::new(
            std::sync::Arc::new(obj),
            remote::part_size(),
        )));
    }
    // Not `open_regular`: an input named on the command line may be a pipe (`<(zcat x)`).
    let local = remote::local_path(path);
    Ok(Box::new(
        std::fs::File::open(&local).map_err(|e| Error::io(path, e))?,
    ))
}

/// The first `n` bytes of an input (fewer if it is shorter): magic-number sniffing.
pub fn read_head(path: &Path, n: usize) -> Result<Vec<u8>> {
    if remote::is_url(path) {
        let obj = remote::RemoteObject::open(path)?;
        let end = obj.len().min(n as u64);
        return Ok(obj
            .get_range(0..end)
            .map_err(|e| Error::io(path, e))?
            .to_vec());
    }
    let mut f = open_raw(path)?;
    let mut buf = vec![0u8; n];
    let mut k = 0;
    while k < n {
        match f.read(&mut buf[k..]).map_err(|e| Error::io(path, e))? {
            0 => break,
            m => k += m,
        }
    }
    buf.truncate(k);
    Ok(buf)
}

/// A [`ByteSource`] as Parquet's `ChunkReader`.
#[derive(Debug, Clone)]
pub struct RangeReader(pub std::sync::Arc<dyn ByteSource>);

/// What Parquet's `get_read` returns: a reader from an offset that fetches as it is read,
/// starting small (a page header is tens of bytes) and doubling. Handing Parquet "the rest
/// of the file" instead cost one read of up to 64 MiB per page.
pub struct LazyRead {
    src: std::sync::Arc<dyn ByteSource>,
    pos: u64,
    buf: bytes::Bytes,
    next: u64,
}

impl Read for LazyRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.buf.is_empty() {
            let len = self.src.len();
            if self.pos >= len {
                return Ok(0);
            }
            let end = (self.pos + self.next.max(out.len() as u64)).min(len);
            self.buf = self.src.get_range(self.pos..end)?;
            self.pos = end;
            self.next = (self.next * 2).min(4 << 20);
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        let _ = self.buf.split_to(n);
        Ok(n)
    }
}

impl parquet::file::reader::Length for RangeReader {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl parquet::file::reader::ChunkReader for RangeReader {
    type T = LazyRead;
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        // Parquet asks for a reader from `start` to read a page header (or the footer)
        // whose length it does not know: fetch as it reads.
        Ok(LazyRead {
            src: self.0.clone(),
            pos: start,
            buf: bytes::Bytes::new(),
            next: 16 << 10,
        })
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0
            .get_range(start..start.saturating_add(length as u64))
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
    }
}

// ---------------------------------------------------------------------------------------
// Decompression with caps

/// Caps on what one compressed input may decompress to. A gzip member expands at most
/// ~1032:1, zstd far more; real CSV/JSON logs compress 5-30:1. Set with `[input]` in
/// `mlguard.toml` (`max_decompressed_bytes`, `max_decompression_ratio`); see
/// docs/input.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Absolute cap on the decompressed size of one input [default: 64 GiB].
    pub max_decompressed_bytes: u64,
    /// Cap on decompressed/compressed bytes, checked once past 16 MiB of output
    /// [default: 1000].
    pub max_decompression_ratio: u64,
    /// Most columns one table may have [default: 10,000]. Checked on the header (CSV) or
    /// schema before arrow allocates per-column builders: a 170 KB CSV with 20k columns
    /// took 2.5 GB.
    pub max_columns: u64,
    /// Longest record (a CSV record, a JSON line, a log line) [default: 64 MiB]. Checked
    /// while reading, so a `.gz` that inflates to one 3 GiB line is an error after 64 MiB,
    /// not a 7 GB allocation.
    pub max_record_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed_bytes: 64 << 30,
            max_decompression_ratio: 1000,
            max_columns: 10_000,
            max_record_bytes: 64 << 20,
        }
    }
}

/// Output below this size is never refused by the ratio cap (tiny inputs of highly
/// repetitive text have huge ratios and no danger).
const RATIO_FREE_BYTES: u64 = 16 << 20;

static LIMITS: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();

/// Install the caps for this process (once, from the configuration, at start-up).
pub fn set_limits(l: Limits) {
    let _ = LIMITS.set(l);
}

pub fn limits() -> Limits {
    LIMITS.get().copied().unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Compression from the first bytes of a file.
pub fn compression_of(magic: &[u8]) -> Compression {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Counts the compressed bytes pulled from the inner reader.
struct Counting<R> {
    inner: R,
    n: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n
            .fetch_add(k as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(k)
    }
}

/// A decompressing reader that fails once the output passes the caps.
struct Capped<R> {
    inner: R,
    compressed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    out: u64,
    limits: Limits,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.out += k as u64;
        let l = self.limits;
        if self.out > l.max_decompressed_bytes {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "decompresses to more than {} bytes ([input] max_decompressed_bytes): refused as a possible decompression bomb",
                    l.max_decompressed_bytes
                ),
            ));
        }
        let c = self
            .compressed
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
        if self.out > RATIO_FREE_BYTES && self.out / c > l.max_decompression_ratio {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "decompression ratio above {}:1 ([input] max_decompression_ratio): refused as a possible decompression bomb",
                    l.max_decompression_ratio
                ),
            ));
        }
        Ok(k)
    }
}

/// Wrap `raw` (whose first bytes say `c`) in a capped decompressor; `None` passes it
/// through unchanged.
pub fn decoder<'a, R: Read + Send + 'a>(
    raw: R,
    c: Compression,
) -> std::io::Result<Box<dyn Read + Send + 'a>> {
    decoder_with(raw, c, limits())
}

fn decoder_with<'a, R: Read + Send + 'a>(
    raw: R,
    c: Compression,
    limits: Limits,
) -> std::io::Result<Box<dyn Read + Send + 'a>> {
    let compressed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Counting {
        inner: raw,
        n: compressed.clone(),
    };
    let inner: Box<dyn Read + Send + 'a> = match c {
        Compression::None => return Ok(Box::new(counted.inner)),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            counted,
        ))),
        Compression::Zstd => Box::new(zstd::Decoder::new(counted)?),
    };
    Ok(Box::new(Capped {
        inner,
        compressed,
        out: 0,
        limits,
    }))
}

/// Read a whole input (local file or object), decompressing gzip or zstd by magic number,
/// under the caps.
pub fn read_all(path: &Path) -> std::io::Result<Vec<u8>> {
    let raw = if remote::is_url(path) {
        let mut v = Vec::new();
        open_raw(path)
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .read_to_end(&mut v)?;
        v
    } else {
        std::fs::read(remote::local_path(path))?
    };
    let c = compression_of(&raw);
    if c == Compression::None {
        return Ok(raw);
    }
    let mut out = Vec::new();
    decoder(&raw[..], c)?.read_to_end(&mut out)?;
    Ok(out)
}

/// Open a local file as a buffered stream, decompressing by magic number under the caps.
pub fn open_stream(path: &Path) -> Result<Box<dyn std::io::BufRead + Send>> {
    open_stream_metered(path, None)
}

/// Counts the raw (compressed) bytes pulled through it on a progress share.
struct Metered<R> {
    inner: R,
    share: std::sync::Arc<crate::progress::Share>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.share.count(k as u64);
        Ok(k)
    }
}

/// [`open_stream`], counting the raw bytes read on `share` (so a bar moves inside one
/// large compressed file, in the units of its size on disk).
pub fn open_stream_metered(
    path: &Path,
    share: Option<&std::sync::Arc<crate::progress::Share>>,
) -> Result<Box<dyn std::io::BufRead + Send>> {
    let f = open_raw(path)?;
    let mut f: Box<dyn Read + Send> = match share {
        Some(s) => Box::new(Metered {
            inner: f,
            share: s.clone(),
        }),
        None => f,
    };
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match f.read(&mut magic[n..]).map_err(|e| Error::io(path, e))? {
            0 => break,
            k => n += k,
        }
    }
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let c = compression_of(&magic[..n]);
    let raw = head.chain(f);
    let r = decoder(raw, c).map_err(|e| Error::io(path, e))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("data/sub")).unwrap();
        std::fs::write(d.path().join("data/a.csv"), "x\n1\n").unwrap();
        std::fs::write(d.path().join("data/b.txt"), "hello").unwrap();
        std::fs::write(d.path().join("data/sub/c.csv"), "x\n2\n").unwrap();
        d
    }

    fn names(files: &[PathBuf], root: &Path) -> Vec<String> {
        files
            .iter()
            .map(|f| {
                f.strip_prefix(root)
                    .unwrap_or(f)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn star_stays_in_its_directory_and_double_star_descends() {
        let d = tree();
        let root = d.path();
        let any = |_: &Path| true;
        let one = expand(&[root.join("data/*.csv")], &any, "files").unwrap();
        assert_eq!(names(&one.files, root), ["data/a.csv"]);
        let deep = expand(&[root.join("data/**/*.csv")], &any, "files").unwrap();
        assert_eq!(names(&deep.files, root), ["data/a.csv", "data/sub/c.csv"]);
        let err = expand(&[root.join("data/*.parquet")], &any, "files").unwrap_err();
        assert!(err.to_string().contains("no file matches"), "{err}");
    }

    #[test]
    fn directory_listing_reports_what_it_leaves_out() {
        let d = tree();
        let data = d.path().join("data");
        let outside = d.path().join("outside.csv");
        std::fs::write(&outside, "x\n3\n").unwrap();
        std::os::unix::fs::symlink(&outside, data.join("link.csv")).unwrap();
        std::os::unix::fs::symlink(d.path().join("data/sub"), data.join("dirlink")).unwrap();
        std::os::unix::fs::symlink(d.path().join("gone"), data.join("dangling.csv")).unwrap();
        let csv = |p: &Path| p.extension().is_some_and(|e| e == "csv");
        let e = expand(std::slice::from_ref(&data), &csv, "files").unwrap();
        assert_eq!(
            names(&e.files, &data),
            ["a.csv", "link.csv", "sub/c.csv"],
            "the linked file is read"
        );
        assert_eq!(names(&e.via_symlink, &data), ["link.csv"]);
        let skipped: Vec<(String, &str)> = e
            .skipped
            .iter()
            .map(|(p, w)| (names(std::slice::from_ref(p), &data)[0].clone(), w.as_str()))
            .collect();
        assert!(skipped
            .iter()
            .any(|(p, w)| p == "b.txt" && w.contains("extension")));
        assert!(skipped
            .iter()
            .any(|(p, w)| p == "dirlink" && w.contains("symlink to a directory")));
        assert!(skipped
            .iter()
            .any(|(p, w)| p == "dangling.csv" && w.contains("cannot be followed")));
    }

    #[test]
    fn mlguardignore_applies_to_readers() {
        let d = tree();
        let data = d.path().join("data");
        std::fs::write(data.join(IGNORE_FILE), "sub/\n").unwrap();
        let csv = |p: &Path| p.extension().is_some_and(|e| e == "csv");
        let e = expand(std::slice::from_ref(&data), &csv, "files").unwrap();
        assert_eq!(names(&e.files, &data), ["a.csv"]);
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn decode(raw: &[u8], l: Limits) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoder_with(raw, compression_of(raw), l)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn caps_refuse_bombs_and_pass_normal_data() {
        let zeros = vec![0u8; 64 << 20];
        let bomb = gzip(&zeros);
        let err = decode(&bomb, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("max_decompression_ratio"), "{err}");
        let small = Limits {
            max_decompressed_bytes: 1000,
            max_decompression_ratio: 1_000_000,
            ..Limits::default()
        };
        let err = decode(&gzip(&[b'a'; 5000]), small).unwrap_err();
        assert!(err.to_string().contains("max_decompressed_bytes"), "{err}");
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{i},{}\n", i * 7).into_bytes())
            .collect();
        assert_eq!(decode(&gzip(&text), Limits::default()).unwrap(), text);
    }

    #[test]
    fn zstd_and_plain_read_all() {
        let d = tempfile::tempdir().unwrap();
        let z = d.path().join("x.zst");
        std::fs::write(&z, zstd::encode_all(&b"hello zstd"[..], 3).unwrap()).unwrap();
        assert_eq!(read_all(&z).unwrap(), b"hello zstd");
        let p = d.path().join("x.txt");
        std::fs::write(&p, b"plain").unwrap();
        assert_eq!(read_all(&p).unwrap(), b"plain");
    }

    #[test]
    fn date_layouts_are_judged_by_their_span() {
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        let march = DateRange {
            since: Some(t("2026-03-01T00:00:00Z")),
            until: Some(t("2026-03-31T23:59:59Z")),
        };
        let j = |p: &str| march.judge(p.split('/'));
        use DateJudgement::*;
        let ct = "AWSLogs/111122223333/CloudTrail/us-east-1";
        assert_eq!(j(ct), Open);
        assert_eq!(j(&format!("{ct}/2025")), Outside, "a year before");
        assert_eq!(j(&format!("{ct}/2026")), Open);
        assert_eq!(j(&format!("{ct}/2026/02")), Outside);
        assert_eq!(j(&format!("{ct}/2026/03")), Open);
        assert_eq!(j(&format!("{ct}/2026/03/15")), Day);
        assert_eq!(
            j(&format!("{ct}/2026/04/01")),
            Day,
            "delivery lag: a day after"
        );
        assert_eq!(j(&format!("{ct}/2026/04/02")), Outside);
        assert_eq!(j(&format!("{ct}/2026/04")), Open, "holds April 1st");
        assert_eq!(j(&format!("{ct}/2026/05")), Outside);
        assert_eq!(j("insights/y=2026/m=03/d=02/h=10"), Day, "Azure layout");
        assert_eq!(j("insights/y=2027"), Outside);
        assert_eq!(j("logs/2026/13/01"), Open, "not a month: no date");
        assert_eq!(j("run-1234/data"), Open);
        let open = DateRange::default();
        assert_eq!(open.judge("a/2019/01/01".split('/')), Day);
        assert!(march.contains(None), "events without a time are kept");
        assert!(!march.contains(Some(t("2026-04-01T00:00:00Z"))));
    }

    #[test]
    fn ranges_are_exact() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let f = LocalFile::open(&p).unwrap();
        assert_eq!(&f.get_range(2..5).unwrap()[..], b"234");
        assert!(f.get_range(8..12).is_err(), "a short range is an error");
    }
}
