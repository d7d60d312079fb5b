//! A careful zip reader for model archives (PyTorch `.pt`, `.npz`, `.keras`, wrong extensions).
//!
//! Loaders disagree about zips: Python's `zipfile` and PyTorch read the central directory,
//! other tools walk local headers from the front. An attacker can make the two views differ
//! (a member only in the local headers, names that differ between the two, flags that one
//! reader honours and another ignores). So this reader builds *both* views, inspects the union,
//! and reports every disagreement. It reads only the bytes it needs (directory records and the
//! members it inspects), so a 10 GB checkpoint costs a few reads. Everything is bounded: entry
//! count, name length, and decompressed size (the caller's cap).

use crate::finding::Severity;
use crate::input::source::ByteSource;
use std::collections::HashMap;
use std::io::Read;

/// More entries than this is not a model archive.
const MAX_ENTRIES: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct Entry {
    /// Name as the central directory gives it (or the local header, for hidden members).
    pub name: String,
    pub local_offset: u64,
    pub method: u16,
    pub flags: u16,
    pub csize: u64,
    pub usize: u64,
    /// Offset of the member's data.
    pub data_start: u64,
    /// Listed in the central directory (what zipfile/PyTorch see).
    pub in_central: bool,
}

/// A disagreement or oddity worth a finding.
#[derive(Debug, Clone)]
pub struct Note {
    pub id: &'static str,
    pub severity: Severity,
    pub member: Option<String>,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub notes: Vec<Note>,
}

fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn le64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

fn read(src: &dyn ByteSource, off: u64, len: usize) -> Result<bytes::Bytes, String> {
    super::read_at(src, off, len as u64)
        .map_err(|e| format!("cannot read {len} bytes at offset {off}: {e}"))
}

fn name_of(b: &[u8]) -> String {
    super::clean(&String::from_utf8_lossy(b))
}

/// The zip64 extended-information extra field overrides 0xFFFFFFFF sizes and offsets.
fn zip64_extra(extra: &[u8], us: &mut u64, cs: &mut u64, lho: &mut u64) {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = le16(extra, i);
        let n = le16(extra, i + 2) as usize;
        let body = &extra[i + 4..(i + 4 + n).min(extra.len())];
        if id == 1 {
            let mut j = 0;
            for field in [&mut *us, &mut *cs, &mut *lho] {
                if *field == 0xFFFF_FFFF && j + 8 <= body.len() {
                    *field = le64(body, j);
                    j += 8;
                }
            }
        }
        i += 4 + n;
    }
}

/// Both views of the archive, reconciled.
pub fn list(src: &dyn ByteSource) -> Result<Listing, String> {
    let len = src.len();
    let mut out = Listing::default();
    let central = central_directory(src, len, &mut out.notes)?;
    let mut by_offset: HashMap<u64, usize> = HashMap::new();
    for e in central {
        by_offset.insert(e.local_offset, out.entries.len());
        out.entries.push(e);
    }
    // Local headers the central directory points at: data start, and name disagreements.
    for i in 0..out.entries.len() {
        let e = out.entries[i].clone();
        match local_header(src, e.local_offset, len) {
            Ok(l) => {
                if l.name != e.name {
                    out.notes.push(Note {
                        id: "inspect.zip.name_mismatch",
                        severity: Severity::Medium,
                        member: Some(e.name.clone()),
                        why: format!(
                            "the local header names this member {:?} but the central directory {:?} (readers disagree on what the archive holds)",
                            l.name, e.name
                        ),
                    });
                }
                if l.method != e.method {
                    out.notes.push(Note {
                        id: "inspect.zip.header_mismatch",
                        severity: Severity::Medium,
                        member: Some(e.name.clone()),
                        why: format!(
                            "compression method differs between local header ({}) and central directory ({})",
                            l.method, e.method
                        ),
                    });
                }
                out.entries[i].data_start = l.data_start;
            }
            Err(m) => out.notes.push(Note {
                id: "inspect.zip.bad_entry",
                severity: Severity::Medium,
                member: Some(e.name.clone()),
                why: m,
            }),
        }
    }
    // Walk the local headers from the front: members the central directory does not list
    // are invisible to zipfile/PyTorch but not to every tool.
    let mut off = 0u64;
    let mut walked = 0usize;
    while off + 30 <= len && walked < MAX_ENTRIES {
        let Ok(l) = local_header(src, off, len) else {
            break;
        };
        walked += 1;
        let known = by_offset.get(&off).map(|&i| out.entries[i].clone());
        let csize = match (&known, l.csize) {
            (Some(k), _) => k.csize,
            (None, c) if l.flags & 8 == 0 || c != 0 => c,
            _ => break, // streamed with no size and not in the directory: cannot follow
        };
        if known.is_none() {
            out.notes.push(Note {
                id: "inspect.zip.hidden_member",
                severity: Severity::Medium,
                member: Some(l.name.clone()),
                why: "member present in the local headers but missing from the central directory"
                    .into(),
            });
            out.entries.push(Entry {
                name: l.name.clone(),
                local_offset: off,
                method: l.method,
                flags: l.flags,
                csize,
                usize: l.usize,
                data_start: l.data_start,
                in_central: false,
            });
        }
        let mut next = l.data_start.saturating_add(csize);
        if l.flags & 8 != 0 {
            // data descriptor, optionally signed, 32- or 64-bit sizes
            if let Ok(d) = read(src, next, 4) {
                if &d[..] == b"PK\x07\x08" {
                    next += 4;
                }
            }
            next += if l.zip64 { 20 } else { 12 };
            // A 64-bit descriptor without zip64 extra is rare; resynchronise on the next header.
            if let Ok(d) = read(src, next, 4) {
                if &d[..] != b"PK\x03\x04" {
                    if let Ok(d2) = read(src, next + 8, 4) {
                        if &d2[..] == b"PK\x03\x04" {
                            next += 8;
                        }
                    }
                }
            }
        }
        if next <= off {
            break;
        }
        off = next;
    }
    if out.entries.is_empty() {
        return Err("no readable zip entries".into());
    }
    Ok(out)
}

struct Local {
    name: String,
    flags: u16,
    method: u16,
    csize: u64,
    usize: u64,
    data_start: u64,
    zip64: bool,
}

fn local_header(src: &dyn ByteSource, off: u64, len: u64) -> Result<Local, String> {
    if off + 30 > len {
        return Err(format!("local header at {off} is past the end of the file"));
    }
    let h = read(src, off, 30)?;
    if &h[..4] != b"PK\x03\x04" {
        return Err(format!("no local header at offset {off}"));
    }
    let nlen = le16(&h, 26) as u64;
    let xlen = le16(&h, 28) as u64;
    if off + 30 + nlen + xlen > len {
        return Err(format!(
            "local header at {off} runs past the end of the file"
        ));
    }
    let nx = read(src, off + 30, (nlen + xlen) as usize)?;
    let mut usize = le32(&h, 22) as u64;
    let mut csize = le32(&h, 18) as u64;
    let mut dummy = 0;
    let zip64 = csize == 0xFFFF_FFFF || usize == 0xFFFF_FFFF;
    zip64_extra(&nx[nlen as usize..], &mut usize, &mut csize, &mut dummy);
    Ok(Local {
        name: name_of(&nx[..nlen as usize]),
        flags: le16(&h, 6),
        method: le16(&h, 8),
        csize,
        usize,
        data_start: off + 30 + nlen + xlen,
        zip64,
    })
}

fn central_directory(
    src: &dyn ByteSource,
    len: u64,
    notes: &mut Vec<Note>,
) -> Result<Vec<Entry>, String> {
    // End of central directory: 22 bytes + up to 64 KiB comment, searched from the end.
    let tail_len = len.min(22 + 65535) as usize;
    let tail_at = len - tail_len as u64;
    let tail = read(src, tail_at, tail_len)?;
    let Some(pos) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| &tail[i..i + 4] == b"PK\x05\x06")
    else {
        notes.push(Note {
            id: "inspect.zip.no_central_directory",
            severity: Severity::Medium,
            member: None,
            why: "no end-of-central-directory record: zipfile and PyTorch refuse this file, other readers walk the local headers".into(),
        });
        return Ok(Vec::new());
    };
    let eocd = &tail[pos..];
    let mut count = le16(eocd, 10) as u64;
    let mut cd_size = le32(eocd, 12) as u64;
    let mut cd_off = le32(eocd, 16) as u64;
    let eocd_at = tail_at + pos as u64;
    if (count == 0xFFFF || cd_off == 0xFFFF_FFFF || cd_size == 0xFFFF_FFFF) && eocd_at >= 20 {
        let loc = read(src, eocd_at - 20, 20)?;
        if &loc[..4] == b"PK\x06\x07" {
            let z64 = le64(&loc, 8);
            if z64 + 56 <= len {
                let r = read(src, z64, 56)?;
                if &r[..4] == b"PK\x06\x06" {
                    count = le64(&r, 32);
                    cd_size = le64(&r, 40);
                    cd_off = le64(&r, 48);
                }
            }
        }
    }
    if cd_off.checked_add(cd_size).is_none_or(|end| end > len) {
        // Prepended data (a self-extracting stub) shifts every offset: zipfile corrects
        // for it; so do we, when the directory sits right before the EOCD.
        let shifted = eocd_at.checked_sub(cd_size);
        match shifted {
            Some(s) if cd_size <= eocd_at => cd_off = s,
            _ => return Err("central directory lies outside the file".into()),
        }
    }
    if count as usize > MAX_ENTRIES {
        return Err(format!("{count} entries: more than {MAX_ENTRIES}"));
    }
    let cd = read(src, cd_off, cd_size as usize)?;
    let mut entries = Vec::new();
    let mut i = 0usize;
    while i + 46 <= cd.len() && entries.len() < MAX_ENTRIES {
        if &cd[i..i + 4] != b"PK\x01\x02" {
            break;
        }
        let nlen = le16(&cd, i + 28) as usize;
        let xlen = le16(&cd, i + 30) as usize;
        let clen = le16(&cd, i + 32) as usize;
        if i + 46 + nlen + xlen > cd.len() {
            return Err("central directory entry runs past the directory".into());
        }
        let mut usize = le32(&cd, i + 24) as u64;
        let mut csize = le32(&cd, i + 20) as u64;
        let mut lho = le32(&cd, i + 42) as u64;
        zip64_extra(
            &cd[i + 46 + nlen..i + 46 + nlen + xlen],
            &mut usize,
            &mut csize,
            &mut lho,
        );
        entries.push(Entry {
            name: name_of(&cd[i + 46..i + 46 + nlen]),
            local_offset: lho,
            method: le16(&cd, i + 10),
            flags: le16(&cd, i + 8),
            csize,
            usize,
            data_start: 0,
            in_central: true,
        });
        i += 46 + nlen + xlen + clen;
    }
    if entries.len() as u64 != count {
        notes.push(Note {
            id: "inspect.zip.count_mismatch",
            severity: Severity::Low,
            member: None,
            why: format!(
                "the end record announces {count} entries, the directory holds {}",
                entries.len()
            ),
        });
    }
    Ok(entries)
}

/// The member's decompressed bytes, at most `cap` of them (more is an error: never an
/// unbounded allocation from a zip bomb).
pub fn read_member(src: &dyn ByteSource, e: &Entry, cap: u64) -> Result<Vec<u8>, String> {
    if e.data_start
        .checked_add(e.csize)
        .is_none_or(|end| end > src.len())
    {
        return Err(format!(
            "member data ({} bytes at offset {}) runs past the end of the file",
            e.csize, e.data_start
        ));
    }
    if e.method == 0 && e.csize > cap {
        return Err(format!(
            "member is {} bytes, above the {cap}-byte cap",
            e.csize
        ));
    }
    let raw_cap = e.csize.min(cap.saturating_mul(2).max(1 << 20));
    if e.csize > raw_cap && e.method != 0 {
        return Err(format!(
            "compressed member is {} bytes, above the cap",
            e.csize
        ));
    }
    let raw = read(src, e.data_start, e.csize as usize)?;
    let bounded = |r: &mut dyn Read| -> Result<Vec<u8>, String> {
        let mut v = Vec::new();
        r.take(cap + 1)
            .read_to_end(&mut v)
            .map_err(|x| format!("decompression failed: {x}"))?;
        if v.len() as u64 > cap {
            return Err(format!(
                "member decompresses to more than the {cap}-byte cap"
            ));
        }
        Ok(v)
    };
    match e.method {
        0 => Ok(raw.to_vec()),
        8 => bounded(&mut flate2::read::DeflateDecoder::new(&raw[..])),
        93 => {
            let mut d =
                zstd::stream::read::Decoder::new(&raw[..]).map_err(|x| format!("zstd: {x}"))?;
            bounded(&mut d)
        }
        m => Err(format!("compression method {m} is not supported")),
    }
}
