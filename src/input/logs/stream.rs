//! A large `{"Records": [...]}` file, read record by record.
//!
//! CloudTrail delivers one JSON object per file, `{"Records": [...]}`, on one line; a
//! concatenation or an export of a busy trail is one such object of gigabytes. The document
//! splitter of `read.rs` needs the whole text in memory (and the record cap refused the one
//! long line outright). Once a file has given more than `[input] max_record_bytes` bytes and
//! it opens with `{"Records": [`, it is read again from the start by this streaming parser:
//! each element of the array is parsed on its own (at most `max_record_bytes` each, checked
//! while reading), turned into an event, and handed on in batches, so the raw records of the
//! whole file are never in memory at once.
//!
//! Differences from the in-memory path, on purpose: invalid UTF-8 is not repaired (the
//! streaming parser cannot cut the damage out of one record): the record where it stops is
//! named in a warning, with the rest of the file, and the verdict is incomplete. Keys other
//! than `Records` are skipped unread.

use super::read::FileRead;
use super::{push_record, warn, Event, Forced};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::Cell;
use std::io::{BufRead, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

/// Events handed on at a time.
const BATCH: usize = 8192;

/// Whether `head`, a file's first bytes, opens a `{"Records": [` container (a UTF-8 BOM
/// and whitespace allowed).
pub fn opens_records(head: &[u8]) -> bool {
    let mut i = if head.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let ws = |i: &mut usize| {
        while head.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    };
    let expect = |i: &mut usize, lit: &[u8]| -> bool {
        ws(i);
        if head.get(*i..).is_some_and(|h| h.starts_with(lit)) {
            *i += lit.len();
            true
        } else {
            false
        }
    };
    expect(&mut i, b"{")
        && expect(&mut i, b"\"Records\"")
        && expect(&mut i, b":")
        && expect(&mut i, b"[")
}

/// Counts the bytes the parser pulls and refuses more than `max` since the last mark (the
/// start of the current record).
struct Capped<R> {
    inner: R,
    pos: Rc<Cell<u64>>,
    mark: Rc<Cell<u64>>,
    max: u64,
}

impl<R: BufRead> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos.get().saturating_sub(self.mark.get()) > self.max {
            return Err(std::io::Error::other(format!(
                "record longer than {} bytes ([input] max_record_bytes)",
                self.max
            )));
        }
        let n = self.inner.read(buf)?;
        self.pos.set(self.pos.get() + n as u64);
        Ok(n)
    }
}

struct Ctx<'a> {
    path: &'a Arc<Path>,
    source: Forced,
    events: Vec<Event>,
    warnings: Vec<super::Warning>,
    sink: &'a mut dyn FnMut(Vec<Event>),
    pos: Rc<Cell<u64>>,
    mark: Rc<Cell<u64>>,
    /// Index of the next record.
    index: u64,
    seen_records: bool,
}

struct Top<'c, 'a>(&'c mut Ctx<'a>);
struct Records<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a {\"Records\": [...]} object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        loop {
            self.0.mark.set(self.0.pos.get());
            let Some(key) = map.next_key::<String>()? else {
                return Ok(());
            };
            if key == "Records" && !self.0.seen_records {
                self.0.seen_records = true;
                map.next_value_seed(Records(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Records<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let c = self.0;
        loop {
            c.mark.set(c.pos.get());
            let Some(rec) = seq.next_element::<Value>()? else {
                return Ok(());
            };
            push_record(
                rec,
                c.source,
                c.path,
                Some(c.index),
                None,
                &mut c.events,
                &mut c.warnings,
            );
            c.index += 1;
            if c.events.len() >= BATCH {
                (c.sink)(std::mem::take(&mut c.events));
            }
        }
    }
}

/// Stream `path` (known to open with `{"Records": [`), handing events to `sink` in batches.
/// The returned `FileRead` holds the warnings only (its events went to `sink`).
pub fn read_records(
    path: &Path,
    source: Forced,
    max: u64,
    sink: &mut dyn FnMut(Vec<Event>),
) -> FileRead {
    match crate::input::source::open_stream(path) {
        Ok(r) => read_records_from(path, r, source, max, sink),
        Err(e) => FileRead {
            warnings: vec![warn(path, None, None, format!("cannot read: {e}"))],
            ..FileRead::default()
        },
    }
}

/// [`read_records`] over an open (decompressed) reader; `path` names it in events and
/// warnings.
pub fn read_records_from(
    path: &Path,
    mut r: impl BufRead,
    source: Forced,
    max: u64,
    sink: &mut dyn FnMut(Vec<Event>),
) -> FileRead {
    let mut out = FileRead::default();
    // serde_json does not take a byte-order mark.
    if r.fill_buf().is_ok_and(|b| b.starts_with(b"\xef\xbb\xbf")) {
        r.consume(3);
    }
    let pos = Rc::new(Cell::new(0));
    let mark = Rc::new(Cell::new(0));
    // No buffer between the counter and the parser (serde_json pulls one byte at a time;
    // `r` is buffered): the count is the parser's position, so the cap is exact.
    let reader = Capped {
        inner: r,
        pos: pos.clone(),
        mark: mark.clone(),
        max,
    };
    let shared: Arc<Path> = Arc::from(path);
    let mut ctx = Ctx {
        path: &shared,
        source,
        events: Vec::new(),
        warnings: Vec::new(),
        sink,
        pos,
        mark,
        index: 0,
        seen_records: false,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = Top(&mut ctx).deserialize(&mut de).and_then(|()| de.end());
    let (events, index) = (std::mem::take(&mut ctx.events), ctx.index);
    out.warnings = std::mem::take(&mut ctx.warnings);
    if !events.is_empty() {
        (ctx.sink)(events);
    }
    match result {
        Ok(()) if index == 0 => {
            out.warnings
                .push(warn(path, None, None, "no records (empty JSON array)"))
        }
        Ok(()) => {}
        Err(e) => out.warnings.push(warn(
            path,
            Some(index),
            None,
            format!("record {index} and the rest of the file not read: {e}"),
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_records_only_for_the_cloudtrail_container() {
        assert!(opens_records(b"{\"Records\":["));
        assert!(opens_records(b"\xef\xbb\xbf  {\n  \"Records\" :\n [ {"));
        assert!(!opens_records(b"{\"records\":["));
        assert!(!opens_records(b"{\"Records\":{"));
        assert!(!opens_records(b"[{\"Records\":["));
        assert!(!opens_records(b"{\"eventName\":\"x\",\"Records\":["));
        assert!(!opens_records(b"{\"Rec"));
        assert!(!opens_records(b""));
    }
}
