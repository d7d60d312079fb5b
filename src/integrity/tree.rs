//! Hashing a whole tree: walk → hash every item in parallel → manifest entries.

use super::hasher::{hash_file_with, hash_source_with, work, HashOptions};
use super::manifest::{encode_path, Entry, EntryKind};
use crate::input::source::{self, ItemKind, WalkOptions};
use crate::Result;
use indicatif::ProgressBar;
use rayon::prelude::*;
use sha2::Digest;
use std::path::Path;

/// Entries of a hashed tree plus everything that was not hashed, with reasons.
#[derive(Debug, Default)]
pub struct HashedTree {
    /// Sorted by raw path.
    pub entries: Vec<Entry>,
    /// `(escaped path, message)` for files that could not be read.
    pub unreadable: Vec<(String, String)>,
    /// `(escaped path, reason)` for FIFOs, sockets, devices.
    pub skipped: Vec<(String, String)>,
    /// With `--shard`: the part's record (the lists above hold only its share).
    pub shard: Option<crate::input::shard::ShardInfo>,
}

/// Walk `root` and hash everything in it. `progress` counts bytes of hashing work
/// ([`work`]), advanced as the pieces of each file are hashed, not only when a file is done.
pub fn hash_tree(
    root: &Path,
    walk_opts: &WalkOptions,
    hash_opts: &HashOptions,
    progress: &ProgressBar,
) -> Result<HashedTree> {
    let mut w = source::list(root, walk_opts)?;
    progress.set_length(w.items.iter().map(|i| work(i.size, hash_opts)).sum());
    // The listing is dropped as soon as everything is hashed, and the results are split
    // in place: on a tree of a million files, each of these vectors is a few hundred MB.
    let items = std::mem::take(&mut w.items);
    let mut results: Vec<std::result::Result<Entry, (String, String)>> =
        source::io_pool(root, || {
            items
                .par_iter()
                .map(|item| {
                    let path = encode_path(&item.rel);
                    // Bytes reported while hashing; the rest of the item's share (a
                    // symlink, a file that failed or changed size) is added at the end, so
                    // the bar ends at its length.
                    let done = std::sync::atomic::AtomicU64::new(0);
                    let on = |n: u64| {
                        done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        crate::progress::advance(progress, n);
                    };
                    let r = match &item.kind {
                        ItemKind::Symlink(target) => {
                            Ok(symlink_entry(path.clone(), target, hash_opts))
                        }
                        ItemKind::File => match &item.remote {
                            Some(src) => hash_source_with(src.as_ref(), hash_opts, &on),
                            None => hash_file_with(&item.abs, hash_opts, &on),
                        }
                        .map(|d| Entry {
                            path: path.clone(),
                            kind: EntryKind::File,
                            size: d.size,
                            blake3: hex::encode(d.blake3),
                            sha256: d.sha256.map(hex::encode),
                            target: None,
                            chunks: d.chunks.map(|c| c.iter().map(hex::encode).collect()),
                            object: item.remote.as_ref().and_then(|s| s.object()).map(|o| {
                                Box::new(super::manifest::ObjectMeta {
                                    etag: o.e_tag.clone(),
                                    version: o.version.clone(),
                                    last_modified: o.last_modified.clone(),
                                })
                            }),
                        })
                        .map_err(|e| (path, e.to_string())),
                    };
                    let share = work(item.size, hash_opts);
                    let done = done.load(std::sync::atomic::Ordering::Relaxed);
                    crate::progress::advance(progress, share.saturating_sub(done));
                    r
                })
                .collect()
        });
    drop(items);
    let mut out = HashedTree {
        shard: w.shard.clone(),
        ..HashedTree::default()
    };
    // Unreadable files are rare: take them out, then unwrap the rest without a second
    // vector of entries alongside the results.
    results.retain_mut(|r| match r {
        Ok(_) => true,
        Err(u) => {
            out.unreadable.push(std::mem::take(u));
            false
        }
    });
    out.entries = results.into_iter().flatten().collect();
    for (p, msg) in w.errors {
        let rel = p.strip_prefix(root).unwrap_or(&p);
        out.unreadable
            .push((encode_path(&source::rel_bytes(rel)), msg));
    }
    out.unreadable.sort();
    out.skipped = w
        .skipped
        .into_iter()
        .map(|(rel, why)| (encode_path(&rel), why))
        .collect();
    Ok(out)
}

/// A symlink is recorded by its raw target: size = target length, digests over the target
/// bytes. Retargeting it therefore changes its leaf and the root.
pub fn symlink_entry(path: String, target: &[u8], opts: &HashOptions) -> Entry {
    Entry {
        path,
        kind: EntryKind::Symlink,
        size: target.len() as u64,
        blake3: blake3::hash(target).to_hex().to_string(),
        sha256: opts
            .sha256
            .then(|| hex::encode(sha2::Sha256::digest(target))),
        target: Some(encode_path(target)),
        chunks: None,
        object: None,
    }
}
