//! Hashing one file: BLAKE3 (always), SHA-256 (optional), per-chunk chaining values for
//! files larger than one chunk.
//!
//! Large files are hashed in one pass with both levels of parallelism: every `chunk_size`
//! chunk (a power of two, so a complete BLAKE3 subtree) is hashed on the rayon pool to its
//! *chaining value*, and those are merged up the BLAKE3 tree (`blake3::hazmat`) into the
//! ordinary BLAKE3 of the whole file — the same digest `b3sum` prints. Memory stays at a few
//! chunks whatever the file size (hashed chunks are dropped from the page tables), and the
//! per-chunk values tell `verify` *where* a file changed. (They are BLAKE3 subtree
//! chaining values, the nodes of a Bao tree, not `BLAKE3(chunk)`; see docs/manifest.md.)
//!
//! Large files are memory-mapped and hashed in place, as b3sum does (a `pread` copy costs
//! ~20 % more CPU per byte: docs/benchmarks.md). A file truncated by another process while
//! it is mapped would kill the reader with SIGBUS; [`super::mapped`] catches that SIGBUS for
//! its own mappings, and the hash is then the error "file changed while it was being
//! hashed" (exit 2). When no mapping is available, each rayon task `pread`s its own
//! [`PIECE`] in [`READ`]-byte reads into a cache-sized buffer instead; the pieces' chaining
//! values are merged into the chunks' ones.
//!
//! A file whose size or modification time changes while it is hashed is an error for that
//! file, never a silently wrong digest.

use crate::input::source::ByteSource;
use blake3::hazmat::{merge_subtrees_non_root, merge_subtrees_root, HasherExt, Mode};
use rayon::prelude::*;
use sha2::Digest;
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::SystemTime;

pub const DEFAULT_CHUNK_SIZE: u64 = 8 << 20;

/// Largest unit of parallel work in a big file (at most `chunk_size`): small enough that
/// a few threads share even a file of two chunks, large enough that the merges are free.
const PIECE: u64 = 1 << 20;

/// One `pread` (and the per-thread buffer): fits in L2, so hashing reads what the kernel
/// just copied from cache instead of from memory.
const READ: usize = 128 << 10;

/// The error for a file that ended before its size said.
fn truncated(off: u64) -> io::Error {
    io::Error::other(format!(
        "file changed while it was being hashed: it ended early at byte offset {off} (truncated while being read); re-run when writers are done"
    ))
}

#[derive(Debug, Clone, Copy)]
pub struct HashOptions {
    pub sha256: bool,
    /// Power of two, at least 1 KiB. Files larger than this get per-chunk values.
    pub chunk_size: u64,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            sha256: false,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub size: u64,
    pub blake3: [u8; 32],
    pub sha256: Option<[u8; 32]>,
    /// Present when `size > chunk_size`.
    pub chunks: Option<Vec<[u8; 32]>>,
}

/// Chunk sizes accepted from the user and from a manifest: powers of two in this range.
pub const MIN_CHUNK_SIZE: u64 = 1 << 10;
pub const MAX_CHUNK_SIZE: u64 = 1 << 30;

/// Validate a chunk size given by the user or read from a manifest (the hasher and blake3's
/// subtree hashing need a power of two; a tiny one would make a manifest of billions of
/// chunk hashes, a huge one a buffer of that size).
pub fn check_chunk_size(n: u64) -> Result<u64, String> {
    if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&n) || !n.is_power_of_two() {
        return Err(format!(
            "chunk size {n} must be a power of two from 1024 bytes to 1 GiB (e.g. 1M, 8M, 64M)"
        ));
    }
    Ok(n)
}

/// Parse `8M`, `8MiB`, `64k`, `1G`, `1048576` (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let idx = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(idx);
    let n: u64 = num.parse().map_err(|_| format!("'{s}' is not a size"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("'{s}': unknown unit (use K, M or G)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn stamp(f: &File) -> io::Result<(u64, Option<SystemTime>)> {
    let m = f.metadata()?;
    Ok((m.len(), m.modified().ok()))
}

/// Called with the number of bytes just hashed, from any rayon thread, as the work goes
/// (per [`PIECE`] of a large file): what moves the progress bar inside one big file.
pub type OnBytes<'a> = &'a (dyn Fn(u64) + Sync);

/// Bytes of hashing work for a file of `size` bytes (what [`hash_file_with`] reports in
/// total): a large file hashed with SHA-256 too is read twice.
pub fn work(size: u64, opts: &HashOptions) -> u64 {
    if opts.sha256 && size > opts.chunk_size {
        2 * size
    } else {
        size
    }
}

/// Hash the regular file at `path`.
pub fn hash_file(path: &Path, opts: &HashOptions) -> io::Result<FileDigest> {
    hash_file_with(path, opts, &|_| {})
}

/// [`hash_file`], reporting bytes hashed to `on` as pieces complete (in any order).
pub fn hash_file_with(path: &Path, opts: &HashOptions, on: OnBytes) -> io::Result<FileDigest> {
    let file = crate::input::source::open_regular(path)?;
    let before = stamp(&file)?;
    let size = before.0;
    let digest = if size > opts.chunk_size {
        hash_chunked(&file, size, opts, on)?
    } else {
        let d = hash_small(&file, size, opts)?;
        on(size);
        d
    };
    let after = stamp(&file)?;
    if after != before {
        return Err(io::Error::other(
            "file changed while it was being hashed (size or modification time moved); re-run when writers are done",
        ));
    }
    Ok(digest)
}

/// Hash a local path or an object URL (`verify-file`, profile input digests).
pub fn hash_path(path: &Path, opts: &HashOptions) -> io::Result<FileDigest> {
    use crate::input::{remote, source};
    if remote::is_url(path) {
        let obj = remote::RemoteObject::open(path).map_err(|e| io::Error::other(e.to_string()))?;
        return hash_source(&obj, opts);
    }
    hash_file(&source::local_path_of(path), opts)
}

/// Hash any [`ByteSource`] (an object in a store) by ranged reads: the same digests as
/// [`hash_file`] gives for the same bytes. Chunks are fetched and hashed in parallel on the
/// current rayon pool (one ranged GET each; the chaining values make them independent);
/// every read is pinned to the source's listed version, so a replaced object is an error.
pub fn hash_source(src: &dyn ByteSource, opts: &HashOptions) -> io::Result<FileDigest> {
    hash_source_with(src, opts, &|_| {})
}

/// [`hash_source`], reporting bytes hashed to `on` per chunk.
pub fn hash_source_with(
    src: &dyn ByteSource,
    opts: &HashOptions,
    on: OnBytes,
) -> io::Result<FileDigest> {
    let size = src.len();
    let cs = opts.chunk_size;
    if size <= cs {
        let b = src.get_range(0..size)?;
        on(size);
        return Ok(FileDigest {
            size,
            blake3: *blake3::hash(&b).as_bytes(),
            sha256: opts.sha256.then(|| sha2::Sha256::digest(&b).into()),
            chunks: None,
        });
    }
    let n = size.div_ceil(cs);
    let cvs: Vec<[u8; 32]> = (0..n)
        .into_par_iter()
        .map(|i| -> io::Result<[u8; 32]> {
            let start = i * cs;
            let b = src.get_range(start..(start + cs).min(size))?;
            let mut h = blake3::Hasher::new();
            h.set_input_offset(start);
            h.update(&b);
            on(b.len() as u64);
            Ok(h.finalize_non_root())
        })
        .collect::<io::Result<_>>()?;
    let sha256 = if opts.sha256 {
        // Sequential by nature: a second pass of ranged reads.
        let mut s = sha2::Sha256::new();
        for i in 0..n {
            let start = i * cs;
            let b = src.get_range(start..(start + cs).min(size))?;
            s.update(&b);
            on(b.len() as u64);
        }
        Some(s.finalize().into())
    } else {
        None
    };
    Ok(FileDigest {
        size,
        blake3: merge_root(&cvs, cs, size),
        sha256,
        chunks: Some(cvs),
    })
}

fn hash_small(file: &File, size: u64, opts: &HashOptions) -> io::Result<FileDigest> {
    let mut b3 = blake3::Hasher::new();
    let mut sha = opts.sha256.then(sha2::Sha256::new);
    let mut total = 0u64;
    BUF.with(|buf| -> io::Result<()> {
        let mut buf = buf.borrow_mut();
        buf.resize(256 << 10, 0);
        let mut r = file;
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            b3.update(&buf[..n]);
            if let Some(s) = sha.as_mut() {
                s.update(&buf[..n]);
            }
            total += n as u64;
        }
        Ok(())
    })?;
    if total < size {
        return Err(truncated(total));
    }
    if total > size {
        return Err(io::Error::other(format!(
            "file changed while it was being hashed: read {total} bytes but it was {size} bytes long (growing while read); re-run when writers are done"
        )));
    }
    Ok(FileDigest {
        size,
        blake3: *b3.finalize().as_bytes(),
        sha256: sha.map(|s| s.finalize().into()),
        chunks: None,
    })
}

fn hash_chunked(file: &File, size: u64, opts: &HashOptions, on: OnBytes) -> io::Result<FileDigest> {
    let cs = opts.chunk_size;
    let cvs = match super::mapped::Mapping::new(file, size)? {
        Some(map) => {
            let cvs = hash_mapped(&map, cs, on);
            if map.was_cut() {
                return Err(io::Error::other(
                    "file changed while it was being hashed: it was truncated while being read; re-run when writers are done",
                ));
            }
            cvs
        }
        None => hash_pread(file, size, cs, on)?,
    };
    let blake3 = merge_root(&cvs, cs, size);
    let sha256 = if opts.sha256 {
        // SHA-256 is inherently sequential: a second streaming pass.
        Some(sha256_stream(file, size, on)?)
    } else {
        None
    };
    Ok(FileDigest {
        size,
        blake3,
        sha256,
        chunks: Some(cvs),
    })
}

/// Chunk chaining values straight from the mapping (what b3sum does), one rayon task per
/// chunk; hashed chunks are dropped from the page tables so resident memory stays at a few
/// chunks whatever the file size (the pages stay in the page cache). Each chunk is fed to
/// its hasher a [`PIECE`] at a time, reported to `on` as it goes (the same digest as one
/// `update`), so progress moves inside a chunk of up to 1 GiB too.
fn hash_mapped(map: &super::mapped::Mapping, cs: u64, on: OnBytes) -> Vec<[u8; 32]> {
    map.bytes()
        .par_chunks(cs as usize)
        .enumerate()
        .map(|(i, c)| {
            let mut h = blake3::Hasher::new();
            h.set_input_offset(i as u64 * cs);
            for p in c.chunks(PIECE as usize) {
                h.update(p);
                on(p.len() as u64);
            }
            map.release(i * cs as usize, c.len());
            h.finalize_non_root()
        })
        .collect()
}

/// Chunk chaining values by `pread` (when no mapping is available).
fn hash_pread(file: &File, size: u64, cs: u64, on: OnBytes) -> io::Result<Vec<[u8; 32]>> {
    let piece = cs.min(PIECE);
    let pieces = size.div_ceil(piece);
    // Every task preads and hashes its own piece: no shared cursor, no mapping.
    let piece_cvs: Vec<[u8; 32]> = (0..pieces)
        .into_par_iter()
        .map(|i| {
            let (start, end) = (i * piece, (i * piece + piece).min(size));
            let cv = hash_piece(file, start, end)?;
            on(end - start);
            Ok(cv)
        })
        .collect::<io::Result<_>>()?;
    let per_chunk = (cs / piece) as usize;
    Ok(piece_cvs
        .chunks(per_chunk)
        .enumerate()
        .map(|(i, p)| subtree(p, piece, (size - i as u64 * cs).min(cs)))
        .collect())
}

/// Chaining value of bytes `start..end` of `file` (a complete subtree: `start` is a
/// multiple of the power-of-two piece size, `end - start` at most that size).
fn hash_piece(file: &File, start: u64, end: u64) -> io::Result<[u8; 32]> {
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        if buf.len() < READ {
            buf.resize(READ, 0);
        }
        let mut h = blake3::Hasher::new();
        h.set_input_offset(start);
        let mut off = start;
        while off < end {
            let len = (end - off).min(READ as u64) as usize;
            read_exact_at(file, &mut buf[..len], off)?;
            h.update(&buf[..len]);
            off += len as u64;
        }
        Ok(h.finalize_non_root())
    })
}

fn read_exact_at(file: &File, buf: &mut [u8], off: u64) -> io::Result<()> {
    file.read_exact_at(buf, off).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            truncated(off)
        } else {
            e
        }
    })
}

fn sha256_stream(file: &File, size: u64, on: OnBytes) -> io::Result<[u8; 32]> {
    let mut s = sha2::Sha256::new();
    let mut off = 0u64;
    BUF.with(|buf| -> io::Result<()> {
        let mut buf = buf.borrow_mut();
        buf.resize(1 << 20, 0);
        while off < size {
            let len = (size - off).min(buf.len() as u64) as usize;
            read_exact_at(file, &mut buf[..len], off)?;
            s.update(&buf[..len]);
            on(len as u64);
            off += len as u64;
        }
        Ok(())
    })?;
    Ok(s.finalize().into())
}

/// Merge chunk chaining values (chunks of `cs` bytes, `cs` a power of two >= 1 KiB) of an
/// input of `len > cs` bytes into the root BLAKE3 hash, following BLAKE3's tree shape: the
/// left subtree of a node covering `n` bytes holds the largest power-of-two number of 1 KiB
/// chunks that leaves at least one byte for the right.
pub fn merge_root(cvs: &[[u8; 32]], cs: u64, len: u64) -> [u8; 32] {
    debug_assert!(cvs.len() >= 2 && len > cs);
    let l = left_len(len);
    let k = (l / cs) as usize;
    let root = merge_subtrees_root(
        &subtree(&cvs[..k], cs, l),
        &subtree(&cvs[k..], cs, len - l),
        Mode::Hash,
    );
    *root.as_bytes()
}

/// Bytes in the left child of a node covering `len` bytes (`len` > 1 KiB).
fn left_len(len: u64) -> u64 {
    // blake3::hazmat::left_subtree_len, restated so the invariant is visible here.
    len.div_ceil(2).next_power_of_two()
}

/// Non-root chaining value of a subtree of `len` bytes from the values of its `cs`-byte
/// pieces (`cs` a power of two >= 1 KiB, `cvs.len() == len.div_ceil(cs)`).
fn subtree(cvs: &[[u8; 32]], cs: u64, len: u64) -> [u8; 32] {
    if cvs.len() == 1 {
        return cvs[0];
    }
    let l = left_len(len);
    let k = (l / cs) as usize;
    merge_subtrees_non_root(
        &subtree(&cvs[..k], cs, l),
        &subtree(&cvs[k..], cs, len - l),
        Mode::Hash,
    )
}

/// Chaining values of every `cs`-byte chunk of `data` (for tests and for `verify-file`).
pub fn chunk_cvs(data: &[u8], cs: u64) -> Vec<[u8; 32]> {
    data.chunks(cs as usize)
        .enumerate()
        .map(|(i, c)| {
            let mut h = blake3::Hasher::new();
            h.set_input_offset(i as u64 * cs);
            h.update(c);
            h.finalize_non_root()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path swapped for a FIFO after the walk must give an error at once, not hang.
    #[cfg(unix)]
    #[test]
    fn fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = hash_file(&p, &HashOptions::default()).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn chunked_root_equals_plain_blake3() {
        let cs = 1024u64;
        for n in [
            1025usize,
            2048,
            2049,
            3 * 1024,
            5 * 1024 + 7,
            8 * 1024,
            13 * 1024 + 1,
        ] {
            let d = data(n);
            let cvs = chunk_cvs(&d, cs);
            assert_eq!(
                merge_root(&cvs, cs, n as u64),
                *blake3::hash(&d).as_bytes(),
                "n={n}"
            );
        }
        let d = data(100_000);
        for cs in [4096u64, 16384, 65536] {
            let cvs = chunk_cvs(&d, cs);
            assert_eq!(
                merge_root(&cvs, cs, d.len() as u64),
                *blake3::hash(&d).as_bytes()
            );
        }
    }

    #[test]
    fn file_hash_matches_for_both_paths() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let d = data(70_001);
        std::fs::write(&p, &d).unwrap();
        let expect = *blake3::hash(&d).as_bytes();
        let big = hash_file(
            &p,
            &HashOptions {
                sha256: true,
                chunk_size: 4096,
            },
        )
        .unwrap();
        let small = hash_file(
            &p,
            &HashOptions {
                sha256: true,
                chunk_size: 1 << 20,
            },
        )
        .unwrap();
        assert_eq!(big.blake3, expect);
        assert_eq!(small.blake3, expect);
        assert_eq!(big.sha256, small.sha256);
        assert_eq!(big.chunks.as_ref().unwrap().len(), 18);
        assert!(small.chunks.is_none());
    }

    /// Pieces smaller than the chunk (merged per chunk) give the same chunk values and root
    /// as hashing each chunk whole.
    #[test]
    fn pieces_merge_into_chunk_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        for n in [(9 << 20) + 7, 12 << 20, (4 << 20) + 1] {
            let d = data(n);
            std::fs::write(&p, &d).unwrap();
            let cs = 4 << 20;
            let got = hash_file(
                &p,
                &HashOptions {
                    sha256: false,
                    chunk_size: cs,
                },
            )
            .unwrap();
            assert_eq!(got.blake3, *blake3::hash(&d).as_bytes(), "n={n}");
            let want = chunk_cvs(&d, cs);
            assert_eq!(got.chunks.unwrap(), want, "n={n}");
            // The pread path (no mapping available) gives the same values.
            let f = File::open(&p).unwrap();
            assert_eq!(
                hash_pread(&f, n as u64, cs, &|_| {}).unwrap(),
                want,
                "n={n}"
            );
        }
    }

    /// A file shorter than its size said (truncated by a writer) is an error, not SIGBUS:
    /// through the mapping (the SIGBUS handler of `mapped`), through pread, and for small
    /// files.
    #[test]
    fn truncation_during_reads_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, data(3 << 20)).unwrap();
        let f = File::open(&p).unwrap();
        // The size the hasher saw before another process cut the file to 1 MiB.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let opts = HashOptions {
            sha256: false,
            chunk_size: 1 << 20,
        };
        let err = hash_chunked(&f, 3 << 20, &opts, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("changed while it was being hashed"), "{err}");
        let err = hash_pread(&f, 3 << 20, 1 << 20, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("changed while it was being hashed"), "{err}");
        // A mapping made before the truncation, read after it: the real race, made
        // deterministic.
        std::fs::write(&p, data(3 << 20)).unwrap();
        let f = File::open(&p).unwrap();
        let map = super::super::mapped::Mapping::new(&f, 3 << 20)
            .unwrap()
            .unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        assert!(!map.was_cut());
        let sum: u64 = map.bytes().iter().map(|&b| b as u64).sum();
        assert!(map.was_cut(), "reading past the new end is caught");
        // The first MiB is the data, the rest reads as zeros.
        let first: u64 = data(1 << 20).iter().map(|&b| b as u64).sum();
        assert_eq!(sum, first);
        drop(map);
        // A mapping of the unchanged file is not marked.
        let map = super::super::mapped::Mapping::new(&f, 1 << 20)
            .unwrap()
            .unwrap();
        assert_eq!(map.bytes().len(), 1 << 20);
        assert!(!map.was_cut());
        let err = hash_small(&f, 3 << 20, &opts).unwrap_err().to_string();
        assert!(err.contains("changed while it was being hashed"), "{err}");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("8M").unwrap(), 8 << 20);
        assert_eq!(parse_size("64KiB").unwrap(), 64 << 10);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("8X").is_err());
        assert!(check_chunk_size(3000).is_err());
        assert!(check_chunk_size(512).is_err());
    }
}
