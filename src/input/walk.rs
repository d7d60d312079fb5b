//! Directory walking for `hash` and `verify`.
//!
//! Walks a dataset root with walkdir and classifies what it finds. Decisions that matter for
//! security, and why:
//! * Symlinks are **not followed** by default: they are recorded as symlink items with their
//!   raw target, so a swapped target is detected without reading outside the tree. With
//!   `follow_symlinks` their content is hashed, and a loop is a clear error (walkdir detects
//!   it by comparing device/inode of ancestors).
//! * FIFOs, sockets and devices are never opened (opening a FIFO blocks forever): they are
//!   returned in [`Walk::skipped`] so the caller reports them.
//! * Names are kept as raw bytes, so non-UTF-8 names survive losslessly.
//! * Walk order is irrelevant: items are sorted by raw path bytes before anyone sees them.

use crate::error::{Error, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Name of the per-root ignore file (gitignore syntax).
pub const IGNORE_FILE: &str = ".mlguardignore";

#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    pub follow_symlinks: bool,
    /// `--exclude` globs; a glob matches the relative path or any single component name.
    pub excludes: Vec<String>,
    /// Absolute paths never to include (the manifest being written into the tree, say).
    pub skip_paths: Vec<PathBuf>,
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
}

#[derive(Debug, Default)]
pub struct Walk {
    /// Sorted by `rel`.
    pub items: Vec<Item>,
    /// `(rel path, reason)` for things that are not hashed: FIFOs, sockets, devices.
    pub skipped: Vec<(Vec<u8>, String)>,
    /// Entries that could not be read: `(path, message)`.
    pub errors: Vec<(PathBuf, String)>,
}

struct Filter {
    globs: GlobSet,
    ignore: Option<Gitignore>,
    /// `(file name, canonical path)`: the name is compared first so that only same-named
    /// entries pay for a `realpath`.
    skip: Vec<(std::ffi::OsString, PathBuf)>,
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
        let ignore = if ignore_path.is_file() {
            let mut gb = GitignoreBuilder::new(root);
            if let Some(e) = gb.add(&ignore_path) {
                return Err(Error::input(&ignore_path, e));
            }
            Some(gb.build().map_err(|e| Error::input(&ignore_path, e))?)
        } else {
            None
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
        })
    }

    fn excluded(&self, rel: &Path, abs: &Path, is_dir: bool) -> bool {
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

/// Walk `root` (a directory).
pub fn walk(root: &Path, opts: &WalkOptions) -> Result<Walk> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::usage(format!(
            "{} is not a directory (mlguard hashes dataset trees; put a single file in a directory)",
            root.display()
        )));
    }
    let filter = Filter::new(root, opts)?;
    let mut out = Walk::default();
    let it = walkdir::WalkDir::new(root)
        .follow_links(opts.follow_symlinks)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            !filter.excluded(rel, e.path(), e.file_type().is_dir())
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
        if ft.is_symlink() {
            // Only reached when not following links.
            match std::fs::read_link(entry.path()) {
                Ok(t) => {
                    let target = t.as_os_str().as_bytes().to_vec();
                    out.items.push(Item {
                        rel,
                        abs: entry.path().to_path_buf(),
                        size: target.len() as u64,
                        kind: ItemKind::Symlink(target),
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
    Ok(out)
}
