//! 7z archives, in memory: the headers (plain or LZMA-encoded) are parsed here, the packed
//! streams are decoded by `lzma-rust2` (Copy, LZMA, LZMA2, and chains of them with the BCJ
//! branch filters or Delta: py7zr writes BCJ x86 + LZMA2 by default). picklescan's corpus wraps a malicious pickle in one (`malicious1.7z`), and
//! py7zr-based loaders open such files.
//!
//! Why not `sevenz-rust2`: it allocates from header counts before reading them (file count,
//! header size, stream counts) and sets no memory limit, so a 100-byte hostile archive can
//! ask for terabytes. Here every count is capped ([`MAX_ENTRIES`]) and checked against the
//! bytes that remain, vectors grow as items are actually read, every offset is checked
//! against the archive, and every decoded size against the caller's cap before decoding.
//! Coders with several streams (BCJ2), AES encryption, and other methods (PPMd, BZip2,
//! Deflate) are reported as not inspected, so the verdict is incomplete rather than a
//! silent pass. CRCs are not checked: a loader that ignores them
//! would load the bytes anyway, so they are inspected as they are.
//!
//! [`list`] and [`unpack`] take untrusted bytes and never panic: fuzz entry points.

use std::io::Read;

/// Most files, folders or pack streams in one archive.
pub const MAX_ENTRIES: usize = 1 << 16;
/// Largest decoded header.
const MAX_HEADER: u64 = 64 << 20;
const SIGNATURE: &[u8; 6] = b"7z\xbc\xaf\x27\x1c";

/// One coder of a folder.
#[derive(Debug, Clone)]
struct Coder {
    id: Vec<u8>,
    props: Vec<u8>,
    nin: usize,
    nout: usize,
}

/// A folder: coders turning one or more pack streams into the concatenated files.
#[derive(Debug, Clone, Default)]
pub struct Folder {
    coders: Vec<Coder>,
    /// (in stream, out stream) pairs joining coders into a chain.
    bind: Vec<(u64, u64)>,
    packed: usize,
    unpack_sizes: Vec<u64>,
    /// Sizes of the files (substreams) in this folder, in order.
    substreams: Vec<u64>,
}

impl Folder {
    /// The out stream no bind pair consumes: the folder's output.
    fn final_out(&self) -> usize {
        (0..self.unpack_sizes.len())
            .find(|&o| !self.bind.iter().any(|b| b.1 == o as u64))
            .unwrap_or(0)
    }
    /// Size of the folder's final output.
    pub fn unpack_size(&self) -> u64 {
        self.unpack_sizes
            .get(self.final_out())
            .copied()
            .unwrap_or(0)
    }
}

/// Streams info: where pack streams are and what folders make of them.
#[derive(Debug, Clone, Default)]
pub struct Streams {
    pack_pos: u64,
    pack_sizes: Vec<u64>,
    pub folders: Vec<Folder>,
}

/// A file of the archive with content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub folder: usize,
    pub offset: u64,
    pub size: u64,
}

/// The parsed archive.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub streams: Streams,
    pub files: Vec<File>,
    /// Files without content (empty files, directories).
    pub empty: usize,
}

struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, String>;

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, pos: 0 }
    }
    fn left(&self) -> usize {
        self.b.len() - self.pos
    }
    fn u8(&mut self) -> R<u8> {
        let v = *self
            .b
            .get(self.pos)
            .ok_or("header ends early (truncated archive)")?;
        self.pos += 1;
        Ok(v)
    }
    fn take(&mut self, n: u64) -> R<&'a [u8]> {
        if n > self.left() as u64 {
            return Err(format!(
                "a header field of {n} bytes runs past the end of the header"
            ));
        }
        let s = &self.b[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
    fn u32(&mut self) -> R<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    /// 7z's variable-length number: the first byte's leading 1 bits say how many bytes follow.
    fn num(&mut self) -> R<u64> {
        let first = self.u8()? as u64;
        let mut mask = 0x80u64;
        let mut value = 0u64;
        for i in 0..8 {
            if first & mask == 0 {
                return Ok(value | ((first & (mask - 1)) << (8 * i)));
            }
            value |= (self.u8()? as u64) << (8 * i);
            mask >>= 1;
        }
        Ok(value)
    }
    /// A count of items that each take at least `min_bits` of the rest of the header.
    fn count(&mut self, what: &str, min_bits: usize) -> R<usize> {
        let n = self.num()?;
        let room = (self.left() as u64).saturating_mul(8) / min_bits.max(1) as u64;
        if n > MAX_ENTRIES as u64 || n > room.max(1) {
            return Err(format!(
                "{what}: {n} is more than the archive can hold (at most {MAX_ENTRIES})"
            ));
        }
        Ok(n as usize)
    }
    fn bits(&mut self, n: usize) -> R<Vec<bool>> {
        let mut out = Vec::with_capacity(n);
        let mut byte = 0u8;
        for i in 0..n {
            if i % 8 == 0 {
                byte = self.u8()?;
            }
            out.push(byte & (0x80 >> (i % 8)) != 0);
        }
        Ok(out)
    }
    fn digests(&mut self, n: usize) -> R<()> {
        let all = self.u8()?;
        let defined = if all == 0 {
            self.bits(n)?
        } else {
            vec![true; n]
        };
        for d in defined {
            if d {
                self.u32()?;
            }
        }
        Ok(())
    }
    fn expect(&mut self, id: u8, what: &str) -> R<()> {
        let got = self.u8()?;
        if got != id {
            return Err(format!(
                "expected {what} (0x{id:02x}), found property 0x{got:02x}"
            ));
        }
        Ok(())
    }
}

fn folder(c: &mut Cur) -> R<Folder> {
    let ncoders = c.count("coders in a folder", 16)?;
    if ncoders == 0 || ncoders > 32 {
        return Err(format!("a folder with {ncoders} coders"));
    }
    let mut coders = Vec::with_capacity(ncoders);
    let (mut tin, mut tout) = (0usize, 0usize);
    for _ in 0..ncoders {
        let flags = c.u8()?;
        if flags & 0x80 != 0 {
            return Err("alternative coder methods are not supported".into());
        }
        let id = c.take((flags & 0x0f) as u64)?.to_vec();
        let (nin, nout) = if flags & 0x10 != 0 {
            (c.num()?, c.num()?)
        } else {
            (1, 1)
        };
        if nin > 32 || nout > 32 {
            return Err("a coder with more than 32 streams".into());
        }
        let props = if flags & 0x20 != 0 {
            let n = c.num()?;
            c.take(n)?.to_vec()
        } else {
            Vec::new()
        };
        tin += nin as usize;
        tout += nout as usize;
        coders.push(Coder {
            id,
            props,
            nin: nin as usize,
            nout: nout as usize,
        });
    }
    if tout == 0 {
        return Err("a folder without output streams".into());
    }
    let mut bind = Vec::with_capacity(tout - 1);
    for _ in 0..tout - 1 {
        bind.push((c.num()?, c.num()?));
    }
    let packed = tin
        .checked_sub(tout - 1)
        .filter(|&p| p >= 1)
        .ok_or("a folder whose streams do not add up")?;
    if packed > 1 {
        for _ in 0..packed {
            c.num()?;
        }
    }
    Ok(Folder {
        coders,
        bind,
        packed,
        unpack_sizes: Vec::with_capacity(tout),
        substreams: Vec::new(),
    })
}

fn streams_info(c: &mut Cur) -> R<Streams> {
    let mut s = Streams::default();
    let mut counts: Option<Vec<usize>> = None;
    let mut sizes: Option<Vec<u64>> = None;
    loop {
        match c.u8()? {
            0x00 => break,
            0x06 => {
                s.pack_pos = c.num()?;
                let n = c.count("pack streams", 1)?;
                loop {
                    match c.u8()? {
                        0x00 => break,
                        0x09 => {
                            for _ in 0..n {
                                s.pack_sizes.push(c.num()?);
                            }
                        }
                        0x0a => c.digests(n)?,
                        p => return Err(format!("unexpected property 0x{p:02x} in pack info")),
                    }
                }
                if s.pack_sizes.len() != n {
                    return Err("pack info without sizes".into());
                }
            }
            0x07 => {
                c.expect(0x0b, "folder list")?;
                let n = c.count("folders", 16)?;
                if c.u8()? != 0 {
                    return Err("external folder lists are not supported".into());
                }
                for _ in 0..n {
                    s.folders.push(folder(c)?);
                }
                c.expect(0x0c, "unpack sizes")?;
                for f in &mut s.folders {
                    let outs: usize = f.coders.iter().map(|k| k.nout).sum();
                    for _ in 0..outs {
                        f.unpack_sizes.push(c.num()?);
                    }
                }
                loop {
                    match c.u8()? {
                        0x00 => break,
                        0x0a => c.digests(n)?,
                        p => return Err(format!("unexpected property 0x{p:02x} in unpack info")),
                    }
                }
            }
            0x08 => loop {
                match c.u8()? {
                    0x00 => break,
                    0x0d => {
                        let mut v = Vec::with_capacity(s.folders.len());
                        for _ in 0..s.folders.len() {
                            let k = c.num()?;
                            if k > MAX_ENTRIES as u64 {
                                return Err(format!("{k} files in one folder"));
                            }
                            v.push(k as usize);
                        }
                        counts = Some(v);
                    }
                    0x09 => {
                        let ks = counts.clone().unwrap_or_else(|| vec![1; s.folders.len()]);
                        let mut v = Vec::new();
                        for k in ks {
                            for _ in 1..k {
                                v.push(c.num()?);
                            }
                        }
                        sizes = Some(v);
                    }
                    0x0a => {
                        let ks = counts.clone().unwrap_or_else(|| vec![1; s.folders.len()]);
                        let n: usize = ks.iter().sum();
                        c.digests(n.min(MAX_ENTRIES))?;
                    }
                    p => return Err(format!("unexpected property 0x{p:02x} in substreams info")),
                }
            },
            p => return Err(format!("unexpected property 0x{p:02x} in streams info")),
        }
    }
    // Split each folder's output into its files.
    let ks = counts.unwrap_or_else(|| vec![1; s.folders.len()]);
    let mut given = sizes.unwrap_or_default().into_iter();
    for (f, k) in s.folders.iter_mut().zip(ks) {
        let total = f.unpack_size();
        let mut used = 0u64;
        for _ in 1..k {
            let sz = given
                .next()
                .ok_or("substream sizes are missing for a folder of several files")?;
            used = used
                .checked_add(sz)
                .filter(|&u| u <= total)
                .ok_or("file sizes add up to more than their folder")?;
            f.substreams.push(sz);
        }
        if k > 0 {
            f.substreams.push(total - used);
        }
    }
    Ok(s)
}

fn utf16_names(body: &[u8], n: usize) -> R<Vec<String>> {
    let (&ext, rest) = body.split_first().ok_or("empty names property")?;
    if ext != 0 {
        return Err("external file names are not supported".into());
    }
    let units: Vec<u16> = rest
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    let names: Vec<String> = units
        .split(|&u| u == 0)
        .take(n)
        .map(String::from_utf16_lossy)
        .collect();
    if names.len() < n {
        return Err("fewer file names than files".into());
    }
    Ok(names)
}

fn files_info(c: &mut Cur, s: &Streams) -> R<(Vec<File>, usize)> {
    let n = c.count("files", 1)?;
    let mut empty_stream = vec![false; n];
    let mut names: Vec<String> = Vec::new();
    loop {
        let t = c.u8()?;
        if t == 0 {
            break;
        }
        let size = c.num()?;
        let body = c.take(size)?;
        match t {
            0x0e => empty_stream = Cur::new(body).bits(n)?,
            0x11 => names = utf16_names(body, n)?,
            _ => {}
        }
    }
    // Files with content take the folders' substreams in order.
    let mut slots = s.folders.iter().enumerate().flat_map(|(i, f)| {
        f.substreams
            .iter()
            .scan(0u64, move |off, &sz| {
                let at = *off;
                *off = off.saturating_add(sz);
                Some((i, at, sz))
            })
            .collect::<Vec<_>>()
    });
    let mut files = Vec::new();
    let mut empty = 0;
    for (i, &e) in empty_stream.iter().enumerate() {
        if e {
            empty += 1;
            continue;
        }
        let (folder, offset, size) = slots.next().ok_or("more files with content than streams")?;
        let name = names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("(file {i})"));
        files.push(File {
            name: super::clean(&name),
            folder,
            offset,
            size,
        });
    }
    Ok((files, empty))
}

/// Parse the archive's headers (decoding an LZMA-encoded header with at most 64 MiB out).
pub fn list(data: &[u8]) -> R<Listing> {
    if data.len() < 32 || &data[..6] != SIGNATURE {
        return Err("not a 7z archive (no signature header)".into());
    }
    let le64 = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[o..o + 8]);
        u64::from_le_bytes(b)
    };
    let (off, size) = (le64(12), le64(20));
    let start = 32u64
        .checked_add(off)
        .filter(|&s| s.checked_add(size).is_some_and(|e| e <= data.len() as u64))
        .ok_or("the header lies past the end of the archive (truncated?)")?;
    if size == 0 {
        return Ok(Listing::default());
    }
    let mut header: Vec<u8> = data[start as usize..(start + size) as usize].to_vec();
    for _ in 0..4 {
        let mut c = Cur::new(&header);
        match c.u8()? {
            0x01 => return header_body(&mut c),
            0x17 => {
                let s = streams_info(&mut c)?;
                if s.folders.is_empty() {
                    return Err("encoded header without a folder".into());
                }
                header = unpack(data, &s, 0, MAX_HEADER)?;
            }
            p => return Err(format!("unknown header type 0x{p:02x}")),
        }
    }
    Err("header encoded more than 4 times".into())
}

fn header_body(c: &mut Cur) -> R<Listing> {
    let mut l = Listing::default();
    loop {
        match c.u8()? {
            0x00 => return Ok(l),
            0x02 => loop {
                if c.u8()? == 0 {
                    break;
                }
                let n = c.num()?;
                c.take(n)?;
            },
            0x03 => {
                streams_info(c)?;
            }
            0x04 => l.streams = streams_info(c)?,
            0x05 => {
                let (files, empty) = files_info(c, &l.streams)?;
                l.files = files;
                l.empty = empty;
            }
            p => return Err(format!("unexpected property 0x{p:02x} in the header")),
        }
    }
}

/// Decode folder `i` (at most `cap` bytes out, checked before decoding).
pub fn unpack(data: &[u8], s: &Streams, i: usize, cap: u64) -> R<Vec<u8>> {
    let f = s.folders.get(i).ok_or("no such folder")?;
    let first_pack: usize = s.folders[..i].iter().map(|f| f.packed).sum();
    let mut off = 32u64
        .checked_add(s.pack_pos)
        .ok_or("pack offset overflows")?;
    for p in s.pack_sizes.iter().take(first_pack) {
        off = off.checked_add(*p).ok_or("pack offset overflows")?;
    }
    let psize = *s
        .pack_sizes
        .get(first_pack)
        .ok_or("a folder without its pack stream")?;
    let end = off
        .checked_add(psize)
        .filter(|&e| e <= data.len() as u64)
        .ok_or("packed data lies past the end of the archive (truncated?)")?;
    let packed = &data[off as usize..end as usize];
    let out = f.unpack_size();
    if out > cap {
        return Err(format!(
            "a folder unpacks to {out} bytes, more than the {cap}-byte cap"
        ));
    }
    if f.coders.len() > 4 {
        return Err(format!(
            "a chain of {} coders: not supported, contents unchecked",
            f.coders.len()
        ));
    }
    if f.packed != 1 || f.coders.iter().any(|k| k.nin != 1 || k.nout != 1) {
        return Err(
            "a coder with several streams (BCJ2): not supported, contents unchecked".into(),
        );
    }
    if let Some(big) = f.unpack_sizes.iter().find(|&&u| u > cap) {
        return Err(format!(
            "a coder unpacks to {big} bytes, more than the {cap}-byte cap"
        ));
    }
    let mut r = coder_reader(f, f.final_out(), packed, 0)?;
    let mut v = Vec::with_capacity(out.min(64 << 20) as usize);
    (&mut r)
        .take(out)
        .read_to_end(&mut v)
        .map_err(|e| format!("decoding failed: {e}"))?;
    if (v.len() as u64) < out {
        return Err(format!(
            "the stream ends after {} of {out} bytes (truncated or corrupt)",
            v.len()
        ));
    }
    Ok(v)
}

/// The decoder producing coder `c`'s output: its input is the output of the coder bound to
/// it, or the packed stream. With one in and one out stream per coder, stream `i` is
/// coder `i`'s.
fn coder_reader<'a>(f: &Folder, c: usize, packed: &'a [u8], depth: usize) -> R<Box<dyn Read + 'a>> {
    if depth > f.coders.len() {
        return Err("coders bound in a cycle".into());
    }
    let coder = f.coders.get(c).ok_or("a bind pair names no coder")?;
    let size = *f.unpack_sizes.get(c).ok_or("a coder without its size")?;
    let input: Box<dyn Read + 'a> = match f.bind.iter().find(|b| b.0 == c as u64) {
        Some(&(_, o)) => {
            let o = usize::try_from(o).map_err(|_| "bad bind pair")?;
            coder_reader(f, o, packed, depth + 1)?
        }
        None => Box::new(packed),
    };
    use lzma_rust2::filter::bcj::BcjReader;
    let r: Box<dyn Read + 'a> = match coder.id.as_slice() {
        [0x00] => input,
        [0x03, 0x01, 0x01] => {
            let [p, d0, d1, d2, d3] = coder.props[..] else {
                return Err("LZMA coder properties are not 5 bytes".into());
            };
            let dict = u32::from_le_bytes([d0, d1, d2, d3]);
            Box::new(
                lzma_rust2::LzmaReader::new_with_props(input, size, p, dict, None)
                    .map_err(|e| format!("LZMA: {e}"))?,
            )
        }
        [0x21] => {
            let [b] = coder.props[..] else {
                return Err("LZMA2 coder properties are not 1 byte".into());
            };
            if b > 40 {
                return Err(format!("LZMA2 dictionary size code {b}"));
            }
            let dict: u64 = if b == 40 {
                u32::MAX as u64
            } else {
                (2 | (b as u64 & 1)) << (b / 2 + 11)
            };
            // A window larger than the output is never used: do not allocate it.
            let dict = dict.min(size.max(4096)).min(u32::MAX as u64) as u32;
            Box::new(lzma_rust2::Lzma2Reader::new(input, dict, None))
        }
        [0x03, 0x03, 0x01, 0x03] => Box::new(BcjReader::new_x86(input, 0)),
        [0x03, 0x03, 0x05, 0x01] => Box::new(BcjReader::new_arm(input, 0)),
        [0x03, 0x03, 0x07, 0x01] => Box::new(BcjReader::new_arm_thumb(input, 0)),
        [0x03, 0x03, 0x02, 0x05] => Box::new(BcjReader::new_ppc(input, 0)),
        [0x03, 0x03, 0x08, 0x05] => Box::new(BcjReader::new_sparc(input, 0)),
        [0x03, 0x03, 0x04, 0x01] => Box::new(BcjReader::new_ia64(input, 0)),
        [0x0a] => Box::new(BcjReader::new_arm64(input, 0)),
        [0x03] => {
            let d = coder.props.first().map_or(1, |&b| b as usize + 1);
            Box::new(lzma_rust2::filter::delta::DeltaReader::new(input, d))
        }
        [0x06, 0xf1, 0x07, 0x01] => {
            return Err("encrypted (AES): contents cannot be inspected".into())
        }
        id => {
            return Err(format!(
                "compression method {} is not supported (Copy, LZMA, LZMA2, BCJ and Delta are): contents unchecked",
                id.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ))
        }
    };
    Ok(Box::new(r.take(size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored (Copy) 7z holding one file, as 7-Zip lays it out.
    pub fn stored(name: &str, content: &[u8]) -> Vec<u8> {
        let mut h = vec![0x01, 0x04, 0x06, 0x00, 0x01, 0x09];
        h.push(content.len() as u8);
        h.push(0x00);
        h.extend([0x07, 0x0b, 0x01, 0x00, 0x01, 0x01, 0x00, 0x0c]);
        h.push(content.len() as u8);
        h.extend([0x00, 0x00]);
        let mut n: Vec<u8> = vec![0];
        for u in name.encode_utf16().chain([0]) {
            n.extend(u.to_le_bytes());
        }
        h.extend([0x05, 0x01, 0x11, n.len() as u8]);
        h.extend(&n);
        h.extend([0x00, 0x00]);
        let mut v = SIGNATURE.to_vec();
        v.extend([0, 4, 0, 0, 0, 0]);
        v.extend((content.len() as u64).to_le_bytes());
        v.extend((h.len() as u64).to_le_bytes());
        v.extend([0, 0, 0, 0]);
        v.extend(content);
        v.extend(&h);
        v
    }

    #[test]
    fn stored_member_is_listed_and_unpacked() {
        let a = stored("x/evil.pkl", b"\x80\x02cposix\nsystem\n.");
        let l = list(&a).unwrap();
        assert_eq!(l.files.len(), 1);
        assert_eq!(l.files[0].name, "x/evil.pkl");
        let out = unpack(&a, &l.streams, 0, 1 << 20).unwrap();
        assert_eq!(out, b"\x80\x02cposix\nsystem\n.");
        assert!(unpack(&a, &l.streams, 0, 4).unwrap_err().contains("cap"));
    }

    #[test]
    fn hostile_counts_are_refused_without_allocating() {
        // A header claiming 2^56 files.
        let mut a = stored("a", b"hi");
        let h = a.len() - 1;
        let mut hostile = a[..32 + 2].to_vec();
        hostile.extend([
            0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
        ]);
        let hs = (hostile.len() - 34) as u64;
        hostile[20..28].copy_from_slice(&hs.to_le_bytes());
        assert!(list(&hostile).unwrap_err().contains("more than"));
        // Truncations anywhere never panic.
        a.truncate(h);
        for n in 0..a.len() {
            let _ = list(&a[..n]);
        }
    }
}
