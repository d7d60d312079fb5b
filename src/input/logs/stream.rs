//! A large `{"Records": [...]}` file, read record by record.
//!
//! CloudTrail delivers one JSON object per file, `{"Records": [...]}`, on one line; a
//! concatenation or an export of a busy trail is one such object of gigabytes. The document
//! splitter of `read.rs` needs the whole text in memory (and the record cap refused the one
//! long line outright). Once a file has given more than `[input] max_record_bytes` bytes and
//! it opens with `{"Records": [`, it is read again from the start here: a small scanner
//! (strings, escapes and nesting depth; no parsing) finds where each element of the array
//! ends, each element is parsed on its own (at most `max_record_bytes` each, checked while
//! reading), turned into an event, and handed on in batches, so the raw records of the whole
//! file are never in memory at once.
//!
//! As in `read.rs`, invalid UTF-8 is replaced per record (and counted), and a record that is
//! not JSON is a warning naming it while the rest is read. A record over the cap, or a file
//! that ends inside the array, stops the file there with a warning naming the record. What
//! follows the array (other keys of the object) is not read.

use super::read::{decode, note_repairs, FileRead};
use super::{push_record, warn, Event, Forced};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// Events handed on at a time.
const BATCH: usize = 8192;

/// Length of the `{"Records": [` opening of `head` (a UTF-8 BOM and whitespace allowed).
fn opening(head: &[u8]) -> Option<usize> {
    let mut i = if head.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    for lit in [&b"{"[..], b"\"Records\"", b":", b"["] {
        while head.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if !head.get(i..).is_some_and(|h| h.starts_with(lit)) {
            return None;
        }
        i += lit.len();
    }
    Some(i)
}

/// Whether `head`, a file's first bytes, opens a `{"Records": [` container.
pub fn opens_records(head: &[u8]) -> bool {
    opening(head).is_some()
}

fn too_long(max: usize) -> String {
    format!("longer than {max} bytes ([input] max_record_bytes)")
}

/// Where the scanner is between two bytes of the array.
#[derive(Clone, Copy)]
enum At {
    /// Between elements (whitespace and commas).
    Between,
    /// Inside an element that started at `start` (an offset into the buffer).
    Inside {
        start: usize,
        depth: u32,
        in_str: bool,
        esc: bool,
    },
    /// Past the closing `]`.
    Done,
}

struct Reader<'a> {
    path: &'a Arc<Path>,
    source: Forced,
    out: FileRead,
    events: Vec<Event>,
    sink: &'a mut dyn FnMut(Vec<Event>),
    index: u64,
    /// Parsed records not yet turned into events. Parsing a run of records before
    /// normalising them keeps glibc's allocator from consolidating its free lists once per
    /// record (parse and free interleaved record by record made the streamed read 2× slower
    /// than the in-memory one, 60 % of the time in malloc).
    parsed: Vec<(u64, Value)>,
}

impl Reader<'_> {
    /// Parsed records → events → the sink.
    fn flush(&mut self) {
        for (i, v) in std::mem::take(&mut self.parsed) {
            push_record(
                v,
                self.source,
                self.path,
                Some(i),
                None,
                &mut self.events,
                &mut self.out.warnings,
            );
        }
        if !self.events.is_empty() {
            (self.sink)(std::mem::take(&mut self.events));
        }
    }

    fn record(&mut self, bytes: &[u8]) {
        let i = self.index;
        self.index += 1;
        let (text, bad) = decode(bytes);
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => {
                note_repairs(self.path, Some(i), None, bad.len(), &mut self.out);
                self.parsed.push((i, v));
                if self.parsed.len() >= BATCH {
                    self.flush();
                }
            }
            Err(e) => self.out.warnings.push(warn(
                self.path,
                Some(i),
                None,
                format!("record not read: {e}"),
            )),
        }
    }
}

/// Stream `path` (known to open with `{"Records": [`), handing events to `sink` in batches.
/// The returned `FileRead` holds the warnings and repairs (its events went to `sink`).
/// `share` counts the raw bytes read (the first pass of `read_capped` counted some already:
/// the share caps the total).
pub fn read_records(
    path: &Path,
    source: Forced,
    max: u64,
    share: Option<&Arc<crate::progress::Share>>,
    sink: &mut dyn FnMut(Vec<Event>),
) -> FileRead {
    match crate::input::source::open_stream_metered(path, share) {
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
    let shared: Arc<Path> = Arc::from(path);
    let mut rd = Reader {
        path: &shared,
        source,
        out: FileRead::default(),
        events: Vec::new(),
        sink,
        index: 0,
        parsed: Vec::new(),
    };
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    // Unscanned and partly scanned bytes: at most one element plus one read.
    let mut buf: Vec<u8> = Vec::new();
    let mut pos = 0usize;
    let mut at: Option<At> = None;
    let stop = 'read: loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) => break Some(format!("cannot read: {e}")),
        };
        if chunk.is_empty() {
            break match at {
                Some(At::Done) => None,
                None => Some("not a {\"Records\": [...]} object".to_string()),
                Some(_) => Some("the file ends inside the Records array (truncated)".to_string()),
            };
        }
        let n = chunk.len();
        buf.extend_from_slice(chunk);
        r.consume(n);
        let mut state = match at {
            Some(s) => s,
            None => match opening(&buf) {
                Some(k) => {
                    pos = k;
                    At::Between
                }
                // The opening is at most a few bytes past whitespace: keep reading a while.
                None if buf.len() < 4096 => continue,
                None => break Some("not a {\"Records\": [...]} object".to_string()),
            },
        };
        while pos < buf.len() {
            let b = buf[pos];
            match &mut state {
                At::Done => break,
                At::Between => match b {
                    b']' => state = At::Done,
                    b',' | b' ' | b'\t' | b'\n' | b'\r' => {}
                    _ => {
                        state = At::Inside {
                            start: pos,
                            depth: u32::from(b == b'{' || b == b'['),
                            in_str: b == b'"',
                            esc: false,
                        };
                    }
                },
                At::Inside {
                    start,
                    depth,
                    in_str,
                    esc,
                } => {
                    let start = *start;
                    let mut end = None;
                    if *in_str {
                        if *esc {
                            *esc = false;
                        } else if b == b'\\' {
                            *esc = true;
                        } else if b == b'"' {
                            *in_str = false;
                            if *depth == 0 {
                                end = Some(pos + 1);
                            }
                        }
                    } else {
                        match b {
                            b'"' => *in_str = true,
                            b'{' | b'[' => *depth += 1,
                            b'}' | b']' if *depth > 0 => {
                                *depth -= 1;
                                if *depth == 0 {
                                    end = Some(pos + 1);
                                }
                            }
                            // A scalar element ends before the separator.
                            b',' | b']' | b' ' | b'\t' | b'\n' | b'\r' if *depth == 0 => {
                                end = Some(pos);
                            }
                            _ => {}
                        }
                    }
                    if let Some(e) = end {
                        if e - start > max {
                            break 'read Some(too_long(max));
                        }
                        rd.record(&buf[start..e]);
                        state = At::Between;
                        // The separator after a scalar is looked at again.
                        pos = e;
                        continue;
                    }
                }
            }
            pos += 1;
        }
        // Keep only what the next read needs.
        let keep = match state {
            At::Inside { start, .. } => start,
            _ => pos,
        };
        if let At::Inside { start, .. } = &mut state {
            if buf.len() - *start > max {
                break Some(too_long(max));
            }
            *start -= keep;
        }
        buf.drain(..keep);
        pos -= keep;
        at = Some(state);
        if matches!(state, At::Done) {
            break None;
        }
    };
    rd.flush();
    let (index, mut out) = (rd.index, rd.out);
    match stop {
        None if index == 0 => {
            out.warnings
                .push(warn(path, None, None, "no records (empty JSON array)"))
        }
        None => {}
        Some(why) => out.warnings.push(warn(
            path,
            Some(index),
            None,
            format!("record {index} and the rest of the file not read: {why}"),
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

    /// Records with brackets, braces and escaped quotes inside strings, nested arrays and a
    /// scalar element, read through buffers of 1, 7 and 4096 bytes: the same records as
    /// the in-memory reader finds, in the same order.
    #[test]
    fn element_boundaries_survive_any_buffer_size() {
        let doc = r#"{ "Records" : [
            {"eventName":"a]}\"[{","eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","x":[[1,2],{"y":"}"}]},
            {"eventName":"b\\","eventTime":"2026-01-01T00:00:01Z","eventSource":"s3.amazonaws.com"} ,
            17,
            {"eventName":"c","eventTime":"2026-01-01T00:00:02Z","eventSource":"s3.amazonaws.com","u":"\u00e9"}
        ], "other": {"ignored": true} }"#;
        let whole = super::super::read::read_bytes(Path::new("t.json"), doc.as_bytes(), None);
        let names =
            |evs: &[Event]| -> Vec<String> { evs.iter().map(|e| e.action.clone()).collect() };
        for cap in [1, 7, 4096] {
            let mut got = Vec::new();
            let r = read_records_from(
                Path::new("t.json"),
                std::io::BufReader::with_capacity(cap, doc.as_bytes()),
                None,
                1 << 20,
                &mut |mut e| got.append(&mut e),
            );
            assert_eq!(names(&got), names(&whole.events), "buffer {cap}");
            assert_eq!(got.len(), 3, "buffer {cap}");
            assert_eq!(
                r.warnings.len(),
                whole.warnings.len(),
                "buffer {cap}: {:?} vs {:?}",
                r.warnings,
                whole.warnings
            );
        }
    }
}
