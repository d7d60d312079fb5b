//! Client-partitioned spill of an inference log, so that `scan` holds one partition's
//! clients at a time instead of every query of the log.
//!
//! Pass 1 (`scan`) streams the log and appends each query, encoded compactly, to the
//! partition of its client (client index modulo [`PARTS`]). Partitions stay in memory while
//! the whole spill is below [`MEM_BUDGET`]; past it every partition moves to a file in a
//! private temporary directory (mode 0700, removed when the [`Spill`] is dropped, also on
//! error). Pass 2 loads one partition at a time back into [`Client`]s, which are exactly
//! what reading the whole log would have built for those clients (same queries, same
//! order), so every detector sees the same data as before.

use super::read::{Client, Query};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Number of client partitions.
pub const PARTS: usize = 256;
/// Bytes of encoded queries held in memory before the partitions move to files.
pub const MEM_BUDGET: usize = 64 << 20;

enum Part {
    Mem(Vec<u8>),
    File(BufWriter<File>),
}

/// The spill being written (pass 1), then read (pass 2).
pub struct Spill {
    parts: Vec<Part>,
    mem: usize,
    budget: usize,
    dir: Option<TempDir>,
    scratch: Vec<u8>,
    /// Clients per partition, in order of first appearance (global client indices).
    clients: Vec<Vec<usize>>,
}

/// A private temporary directory, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn make_dir() -> Result<TempDir> {
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for attempt in 0..16u32 {
        let p = base.join(format!(
            "mlguard-inference-{}-{nanos}-{attempt}",
            std::process::id()
        ));
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        match b.create(&p) {
            Ok(()) => return Ok(TempDir(p)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Err(Error::input(&base, "cannot create a spill directory"))
}

impl Default for Spill {
    fn default() -> Self {
        Spill::new()
    }
}

impl Spill {
    pub fn new() -> Spill {
        Spill::with_budget(MEM_BUDGET)
    }

    /// A spill that moves to files once more than `budget` bytes are held.
    pub fn with_budget(budget: usize) -> Spill {
        Spill {
            parts: (0..PARTS).map(|_| Part::Mem(Vec::new())).collect(),
            mem: 0,
            budget,
            dir: None,
            scratch: Vec::new(),
            clients: vec![Vec::new(); PARTS],
        }
    }

    fn part_path(dir: &Path, i: usize) -> PathBuf {
        dir.join(format!("part-{i:03}.bin"))
    }

    /// Append one query to its client's partition.
    pub fn push(&mut self, q: &Query) -> Result<()> {
        let p = q.client % PARTS;
        if q.first {
            self.clients[p].push(q.client);
        }
        let b = &mut self.scratch;
        b.clear();
        b.extend_from_slice(&(q.client as u64).to_le_bytes());
        b.extend_from_slice(&q.class.to_le_bytes());
        b.extend_from_slice(&q.conf.to_le_bytes());
        b.extend_from_slice(&q.ts.to_le_bytes());
        b.push(q.error as u8);
        b.extend_from_slice(&(q.feats.len() as u32).to_le_bytes());
        for v in q.feats {
            b.extend_from_slice(&v.to_le_bytes());
        }
        match q.text {
            None => b.push(0),
            Some(t) => {
                b.push(1);
                b.extend_from_slice(&(t.len() as u64).to_le_bytes());
                b.extend_from_slice(t.as_bytes());
            }
        }
        match &mut self.parts[p] {
            Part::Mem(v) => {
                v.extend_from_slice(b);
                self.mem += b.len();
                if self.mem > self.budget {
                    self.move_to_files()?;
                }
            }
            Part::File(w) => {
                let dir = self
                    .dir
                    .as_ref()
                    .map(|d| d.0.as_path())
                    .unwrap_or(Path::new(""));
                w.write_all(b)
                    .map_err(|e| Error::io(Self::part_path(dir, p), e))?;
            }
        }
        Ok(())
    }

    /// Move every in-memory partition to its file.
    fn move_to_files(&mut self) -> Result<()> {
        let dir = make_dir()?;
        for (i, part) in self.parts.iter_mut().enumerate() {
            let path = Self::part_path(&dir.0, i);
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            let mut w = BufWriter::with_capacity(64 << 10, f);
            if let Part::Mem(v) = part {
                w.write_all(v).map_err(|e| Error::io(&path, e))?;
            }
            *part = Part::File(w);
        }
        self.mem = 0;
        self.dir = Some(dir);
        Ok(())
    }

    /// Flush the partition files: the spill is complete.
    pub fn finish(&mut self) -> Result<()> {
        let dir = self.dir.as_ref().map(|d| d.0.clone()).unwrap_or_default();
        for (i, part) in self.parts.iter_mut().enumerate() {
            if let Part::File(w) = part {
                w.flush()
                    .map_err(|e| Error::io(Self::part_path(&dir, i), e))?;
            }
        }
        Ok(())
    }

    /// Whether the spill went to files.
    pub fn on_disk(&self) -> bool {
        self.dir.is_some()
    }

    /// The clients of partition `p`, rebuilt from its queries (after [`Spill::finish`]).
    /// `names` are the client ids by global index.
    pub fn load(&self, p: usize, names: &[String]) -> Result<Vec<Client>> {
        let owned;
        let (bytes, path): (&[u8], PathBuf) = match (&self.parts[p], &self.dir) {
            (Part::Mem(v), _) => (v, PathBuf::from("<inference spill>")),
            (Part::File(_), Some(d)) => {
                let path = Self::part_path(&d.0, p);
                owned = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                (&owned, path)
            }
            (Part::File(_), None) => return Ok(Vec::new()),
        };
        let ids = &self.clients[p];
        let mut clients: Vec<Client> = ids
            .iter()
            .map(|&g| Client {
                name: names.get(g).cloned().unwrap_or_default(),
                ..Default::default()
            })
            .collect();
        let bad = || Error::input(&path, "corrupt inference spill record");
        let mut r = Reader { b: bytes };
        while !r.b.is_empty() {
            let g = r.u64().ok_or_else(bad)? as usize;
            if g % PARTS != p {
                return Err(bad());
            }
            // Global index g is the (g / PARTS)-th client of partition g % PARTS.
            let c = clients.get_mut(g / PARTS).ok_or_else(bad)?;
            c.class.push(r.u32().ok_or_else(bad)?);
            c.conf.push(f32::from_bits(r.u32().ok_or_else(bad)?));
            c.ts.push(r.u64().ok_or_else(bad)? as i64);
            c.error.push(r.take(1).ok_or_else(bad)?[0] != 0);
            let nf = r.u32().ok_or_else(bad)? as usize;
            let fb = r.take(nf.checked_mul(4).ok_or_else(bad)?).ok_or_else(bad)?;
            c.feats.extend(
                fb.chunks_exact(4)
                    .map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]])),
            );
            if r.take(1).ok_or_else(bad)?[0] == 1 {
                let n = r.u64().ok_or_else(bad)? as usize;
                let t = r.take(n).ok_or_else(bad)?;
                c.text.push(String::from_utf8_lossy(t).into_owned());
            }
        }
        Ok(clients)
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let x = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(x);
        Some(u64::from_le_bytes(a))
    }
}
