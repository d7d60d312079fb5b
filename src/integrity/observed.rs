//! The BLAKE3 digest of an input computed from the bytes its reader fetched anyway.
//!
//! `profile` records `size` and `blake3` of every input. Reading each input a second time
//! for that doubled the I/O (a second download from object storage). [`Observed`] wraps the
//! input's [`ByteSource`]: every range any reader gets (Parquet's footer and column chunks,
//! an Arrow IPC file's blocks, a CSV stream's blocks) is also cut into 64 KiB blocks whose
//! BLAKE3 chaining values are computed at their offset (the same subtree trick as
//! `hasher::hash_source`), in whatever order and on whatever thread the reads happen.
//! [`Observed::finish`] fetches only the blocks no reader touched (for Parquet: the leading
//! magic, page indexes and bloom filters; for streams: nothing) and merges the chaining
//! values into the ordinary BLAKE3 of the whole input — equal to `b3sum`'s, equal to what
//! the old second read computed.
//!
//! Memory: one 32-byte chaining value per 64 KiB block (0.5 MB per GB of input) plus the
//! partial blocks at the edges of reads that do not start or end on a block boundary, each
//! under 64 KiB and dropped as soon as its block is complete.

use super::hasher::merge_root;
use crate::input::remote::ObjectInfo;
use crate::input::source::ByteSource;
use blake3::hazmat::HasherExt;
use bytes::Bytes;
use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Block size of the chaining values: a power of two multiple of BLAKE3's 1 KiB chunk, so
/// each block is a subtree of BLAKE3's tree.
const BLOCK: u64 = 64 << 10;

#[derive(Debug, Default)]
struct State {
    /// One per block (`None` until the block is complete).
    cvs: Vec<Option<[u8; 32]>>,
    /// Incomplete blocks: disjoint, sorted `(offset, bytes)` segments inside the block.
    partial: HashMap<u64, Vec<(u64, Vec<u8>)>>,
    /// A single-block input: its bytes (the root hash is not a chaining value).
    whole: Option<Vec<u8>>,
}

/// A [`ByteSource`] that digests what is read through it. Share one per input (an `Arc`)
/// between all the readers of that input.
#[derive(Debug)]
pub struct Observed {
    inner: Arc<dyn ByteSource>,
    len: u64,
    st: Mutex<State>,
    /// Progress of the reads of this input: every byte fetched moves the bar, up to the
    /// input's share (its size times the passes its reader makes), so a re-read footer never
    /// pushes the bar past its length; [`Observed::progress_done`] adds what is left.
    meter: Option<crate::progress::Share>,
}

fn cv(offset: u64, bytes: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.set_input_offset(offset);
    h.update(bytes);
    h.finalize_non_root()
}

/// Insert `(off, bytes)` into disjoint sorted segments, merging overlaps and neighbours.
fn insert(segs: &mut Vec<(u64, Vec<u8>)>, off: u64, bytes: &[u8]) {
    let mut start = off;
    let mut data = bytes.to_vec();
    let mut keep = Vec::with_capacity(segs.len() + 1);
    for (s, b) in segs.drain(..) {
        let e = s + b.len() as u64;
        let end = start + data.len() as u64;
        if e < start || s > end {
            keep.push((s, b));
            continue;
        }
        // Overlapping or touching: union (the bytes of one input are the same wherever
        // they were read).
        let new_start = s.min(start);
        let new_end = e.max(end);
        let mut merged = vec![0u8; (new_end - new_start) as usize];
        merged[(s - new_start) as usize..(e - new_start) as usize].copy_from_slice(&b);
        merged[(start - new_start) as usize..(end - new_start) as usize].copy_from_slice(&data);
        start = new_start;
        data = merged;
    }
    keep.push((start, data));
    keep.sort_by_key(|x| x.0);
    *segs = keep;
}

impl Observed {
    pub fn new(inner: Arc<dyn ByteSource>) -> Observed {
        let len = inner.len();
        let n = len.div_ceil(BLOCK).max(1) as usize;
        Observed {
            inner,
            len,
            st: Mutex::new(State {
                cvs: vec![None; n],
                ..State::default()
            }),
            meter: None,
        }
    }

    /// Count the bytes read through this input on `bar`, at most `share` of them.
    pub fn with_progress(mut self, bar: &indicatif::ProgressBar, share: u64) -> Observed {
        self.meter = Some(crate::progress::Share::new(bar, share));
        self
    }

    /// The bytes this input counts for on its bar (0 without one).
    pub fn progress_share(&self) -> u64 {
        self.meter.as_ref().map_or(0, |m| m.share())
    }

    fn count(&self, n: u64) {
        if let Some(m) = &self.meter {
            m.count(n);
        }
    }

    /// The input is done: move the bar to the end of its share.
    pub fn progress_done(&self) {
        if let Some(m) = &self.meter {
            m.done();
        }
    }

    fn blocks(&self) -> u64 {
        self.len.div_ceil(BLOCK).max(1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take in bytes `start..start+bytes.len()` of the input.
    fn absorb(&self, start: u64, bytes: &[u8]) {
        let end = start + bytes.len() as u64;
        if bytes.is_empty() || end > self.len {
            return;
        }
        if self.blocks() == 1 {
            let mut st = self.lock();
            if st.whole.is_some() {
                return;
            }
            let segs = st.partial.entry(0).or_default();
            insert(segs, start, bytes);
            if segs.len() == 1 && segs[0].0 == 0 && segs[0].1.len() as u64 == self.len {
                let (_, b) = segs.pop().unwrap_or_default();
                st.partial.clear();
                st.whole = Some(b);
            }
            return;
        }
        // Blocks this read covers whole: chaining values computed outside the lock (this
        // is the hashing work, done on the reading thread). The (at most two) blocks it
        // covers in part are kept as segments until other reads complete them.
        let span = |b: u64| (b * BLOCK, ((b + 1) * BLOCK).min(self.len));
        let touched = start / BLOCK..=(end - 1) / BLOCK;
        let (full, part): (Vec<u64>, Vec<u64>) = touched.partition(|&b| {
            let (bs, be) = span(b);
            bs >= start && be <= end
        });
        let todo: Vec<u64> = {
            let st = self.lock();
            full.into_iter()
                .filter(|&b| st.cvs[b as usize].is_none())
                .collect()
        };
        let done: Vec<(u64, [u8; 32])> = todo
            .into_iter()
            .map(|b| {
                let (bs, be) = span(b);
                (
                    b,
                    cv(bs, &bytes[(bs - start) as usize..(be - start) as usize]),
                )
            })
            .collect();
        let mut st = self.lock();
        for (b, c) in done {
            st.cvs[b as usize] = Some(c);
            st.partial.remove(&b);
        }
        for b in part {
            if st.cvs[b as usize].is_some() {
                continue;
            }
            let (bs, be) = span(b);
            let (s, e) = (start.max(bs), end.min(be));
            let segs = st.partial.entry(b).or_default();
            insert(segs, s, &bytes[(s - start) as usize..(e - start) as usize]);
            if segs.len() == 1 && segs[0].0 == bs && segs[0].1.len() as u64 == be - bs {
                let c = cv(bs, &segs[0].1);
                st.partial.remove(&b);
                st.cvs[b as usize] = Some(c);
            }
        }
    }

    /// Bytes that still have to be fetched to complete the digest, as ranges.
    fn missing(&self) -> Vec<Range<u64>> {
        let st = self.lock();
        if self.blocks() == 1 {
            return if st.whole.is_some() || self.len == 0 {
                Vec::new()
            } else {
                std::iter::once(0..self.len).collect()
            };
        }
        let mut out: Vec<Range<u64>> = Vec::new();
        for (b, c) in st.cvs.iter().enumerate() {
            if c.is_some() {
                continue;
            }
            let bs = b as u64 * BLOCK;
            let be = (bs + BLOCK).min(self.len);
            match out.last_mut() {
                Some(r) if r.end == bs => r.end = be,
                _ => out.push(bs..be),
            }
        }
        out
    }

    /// The BLAKE3 of the whole input: fetch what no reader read, merge. Returns the digest
    /// and the number of bytes that had to be fetched for it alone.
    pub fn finish(&self) -> io::Result<([u8; 32], u64)> {
        if self.len == 0 {
            return Ok((*blake3::hash(b"").as_bytes(), 0));
        }
        let missing = self.missing();
        let mut extra = 0;
        for r in missing {
            // In parts of at most 8 MiB, so a large unread stretch is not one allocation.
            let mut off = r.start;
            while off < r.end {
                let end = (off + (8 << 20)).min(r.end);
                let b = self.inner.get_range(off..end)?;
                self.count(b.len() as u64);
                extra += b.len() as u64;
                self.absorb(off, &b);
                off = end;
            }
        }
        let st = self.lock();
        if self.blocks() == 1 {
            let w = st
                .whole
                .as_ref()
                .ok_or_else(|| io::Error::other("internal: digest incomplete"))?;
            return Ok((*blake3::hash(w).as_bytes(), extra));
        }
        let cvs: Vec<[u8; 32]> = st
            .cvs
            .iter()
            .map(|c| c.ok_or_else(|| io::Error::other("internal: digest incomplete")))
            .collect::<io::Result<_>>()?;
        Ok((merge_root(&cvs, BLOCK, self.len), extra))
    }
}

impl ByteSource for Observed {
    fn len(&self) -> u64 {
        self.len
    }

    fn get_range(&self, range: Range<u64>) -> io::Result<Bytes> {
        let start = range.start;
        let b = self.inner.get_range(range)?;
        self.count(b.len() as u64);
        self.absorb(start, &b);
        Ok(b)
    }

    fn get_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Bytes>> {
        let got = self.inner.get_ranges(ranges)?;
        for (r, b) in ranges.iter().zip(&got) {
            self.count(b.len() as u64);
            self.absorb(r.start, b);
        }
        Ok(got)
    }

    fn name(&self) -> &Path {
        self.inner.name()
    }

    fn object(&self) -> Option<&ObjectInfo> {
        self.inner.object()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Mem(Vec<u8>, std::path::PathBuf);
    impl ByteSource for Mem {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn get_range(&self, r: Range<u64>) -> io::Result<Bytes> {
            Ok(Bytes::copy_from_slice(
                &self.0[r.start as usize..r.end as usize],
            ))
        }
        fn name(&self) -> &Path {
            &self.1
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n as u64)
            .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
            .collect()
    }

    /// Whatever ranges were read, in whatever order, the digest is b3sum's and only the
    /// bytes never read are fetched again.
    #[test]
    fn digest_of_scattered_reads_is_the_blake3_of_the_whole() {
        let mut seed = 7u64;
        let mut rnd = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m.max(1)
        };
        for n in [0usize, 1, 1000, 65536, 65537, 200_000, 1 << 20, 3_000_001] {
            let d = data(n);
            let want = *blake3::hash(&d).as_bytes();
            for trial in 0..6 {
                let o = Observed::new(Arc::new(Mem(d.clone(), "m".into())));
                let mut read = vec![false; n];
                for _ in 0..trial * 4 {
                    let a = rnd(n as u64 + 1);
                    let b = (a + rnd(300_000)).min(n as u64);
                    o.get_range(a..b).unwrap();
                    read[a as usize..b as usize]
                        .iter_mut()
                        .for_each(|x| *x = true);
                }
                if trial == 5 {
                    o.get_range(0..n as u64).unwrap();
                }
                let (got, extra) = o.finish().unwrap();
                assert_eq!(got, want, "n={n} trial={trial}");
                if trial == 5 {
                    assert_eq!(extra, 0, "everything was read: nothing fetched again");
                }
                assert!(extra <= n as u64);
            }
        }
    }
}
