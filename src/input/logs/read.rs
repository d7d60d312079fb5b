//! One log file's bytes → records, whatever shape exports come in.
//!
//! Why a document splitter and not `from_slice` then "maybe JSON Lines": real exports are
//! messier than either. `zcat *.json.gz > all.json` gives one `{"Records":[...]}` container
//! per line; Windows tools write a UTF-8 byte-order mark; a single corrupt byte in a
//! one-line array used to make the whole file unreadable. So the text is cut into top-level
//! JSON documents (one, many on one line each, or JSON Lines — the same loop), a BOM at the
//! start of the file or of any document is dropped, and invalid UTF-8 is replaced by U+FFFD
//! *per record*, with a count per record ([`FileRead::repaired`]): the record is read, and
//! the report says it was altered. What cannot be read is a warning naming the line, and the
//! rest of the file is still read whenever the damage is confined to one line.

use super::registry::{Doc, LogSource, REGISTRY};
use super::{push_record, warn, Event, Forced, Warning};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// What one file gave.
#[derive(Debug, Default)]
pub struct FileRead {
    pub events: Vec<Event>,
    /// Input not read: the file, a line, a record.
    pub warnings: Vec<Warning>,
    /// Records read after a repair (invalid UTF-8 replaced), with what was replaced.
    pub repaired: Vec<Warning>,
    /// Recognised and deliberately not used (MLflow experiment exports): the reason.
    pub unused: Option<String>,
}

const BOM: char = '\u{feff}';

/// Decode as UTF-8, replacing each invalid sequence by U+FFFD; returns the text and the
/// byte offsets (in the text) of the replacements.
pub(super) fn decode(bytes: &[u8]) -> (Cow<'_, str>, Vec<usize>) {
    if let Ok(t) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(t), Vec::new());
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    let mut bad = Vec::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            bad.push(out.len());
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    (Cow::Owned(out), bad)
}

/// Offset of `inner` (a slice of `outer`) in `outer`.
fn offset_in(outer: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// One top-level JSON document: its text, byte offset and 1-based line.
struct Span<'a> {
    raw: &'a str,
    off: usize,
    line: u64,
}

/// Read one file's (decompressed) bytes as `source` (`None`: detect per record).
pub fn read_bytes(path: &Path, bytes: &[u8], source: Forced) -> FileRead {
    let mut out = FileRead::default();
    let (text, bad) = decode(bytes);
    let text: &str = &text;
    if text.chars().all(|c| c.is_ascii_whitespace() || c == BOM) {
        out.warnings
            .push(warn(path, None, None, "empty file: no records"));
        return out;
    }
    let (spans, errors) = split(text);
    if spans.is_empty() {
        let first = errors
            .first()
            .map(|(_, _, e)| e.clone())
            .unwrap_or_else(|| "no JSON value".into());
        out.warnings.push(warn(
            path,
            None,
            None,
            format!("not JSON or JSON Lines: {first}"),
        ));
        return out;
    }
    for (line, msg, _) in errors {
        out.warnings.push(warn(path, None, Some(line), msg));
    }
    let shared: Arc<Path> = Arc::from(path);
    let many = spans.len() > 1;
    for sp in &spans {
        let line = many.then_some(sp.line);
        read_document(&shared, text, sp, line, &bad, source, &mut out);
    }
    out
}

/// Cut `text` into documents. A document that fails to parse is skipped to the end of its
/// line when the failure is on the line it starts on (a malformed JSON line); a document
/// spanning lines that fails (a truncated pretty-printed file) ends the reading, with the
/// rest of the file reported. Returns the documents and `(line, message, parser error)` for
/// the damage.
#[allow(clippy::type_complexity)]
fn split(text: &str) -> (Vec<Span<'_>>, Vec<(u64, String, String)>) {
    let mut spans = Vec::new();
    let mut errors = Vec::new();
    let mut pos = 0usize;
    let mut line = 1u64;
    loop {
        // Skip whitespace and stray BOMs (files concatenated with `cat`).
        let rest = &text[pos..];
        let trimmed = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == BOM);
        line += rest[..rest.len() - trimmed.len()]
            .bytes()
            .filter(|b| *b == b'\n')
            .count() as u64;
        pos = text.len() - trimmed.len();
        if trimmed.is_empty() {
            break;
        }
        // A CloudWatch Logs export-task line: `<RFC 3339 time> <message>`; the message is
        // the record (EKS audit events, CloudTrail delivered to CloudWatch).
        let skip = export_prefix(trimmed);
        let trimmed = &trimmed[skip..];
        pos += skip;
        let mut stream = serde_json::Deserializer::from_str(trimmed).into_iter::<&RawValue>();
        match stream.next() {
            Some(Ok(raw)) => {
                let end = stream.byte_offset();
                spans.push(Span {
                    raw: raw.get(),
                    off: pos + offset_in(trimmed, raw.get()),
                    line,
                });
                line += trimmed[..end].bytes().filter(|b| *b == b'\n').count() as u64;
                pos += end;
            }
            Some(Err(e)) if e.line() <= 1 || next_line_is_record(trimmed) => {
                errors.push((
                    line,
                    format!("malformed JSON line skipped: {e}"),
                    e.to_string(),
                ));
                match trimmed.find('\n') {
                    Some(nl) => {
                        pos += nl + 1;
                        line += 1;
                    }
                    None => break,
                }
            }
            Some(Err(e)) => {
                let left = trimmed.len();
                errors.push((
                    line,
                    format!(
                        "malformed JSON document starting here: {e}; the rest of the file ({left} bytes) was not read"
                    ),
                    e.to_string(),
                ));
                break;
            }
            None => break,
        }
    }
    (spans, errors)
}

/// The length of a CloudWatch Logs export-task prefix (`2024-01-02T03:04:05.678Z ` before
/// a `{`) at the start of `text`, else 0. JSON never starts like this (a number is not
/// followed by `-`), so no JSON document is misread.
fn export_prefix(text: &str) -> usize {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if !(digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && b.get(10) == Some(&b'T')) {
        return 0;
    }
    // Bytes, not `str` slicing: byte 40 may fall inside a character.
    let Some(sp) = b[..b.len().min(40)].iter().position(|c| *c == b' ') else {
        return 0;
    };
    let ok_time = chrono::DateTime::parse_from_rfc3339(&text[..sp]).is_ok();
    if ok_time && text[sp + 1..].starts_with('{') {
        sp + 1
    } else {
        0
    }
}

/// Is the line after the first of `text` a complete JSON object on its own? Then a document
/// that failed across lines was a truncated JSON line followed by good ones, not a
/// truncated pretty-printed file.
fn next_line_is_record(text: &str) -> bool {
    let Some(nl) = text.find('\n') else {
        return false;
    };
    let next = text[nl + 1..].lines().next().unwrap_or("").trim();
    next.starts_with('{') && serde_json::from_str::<&RawValue>(next).is_ok()
}

/// The container keys any registered source declares (`Records`, `records`, `value`...).
fn container_keys() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().flat_map(|s| s.containers().iter().copied())
}

#[allow(clippy::too_many_arguments)]
fn read_document(
    path: &Arc<Path>,
    text: &str,
    sp: &Span<'_>,
    line: Option<u64>,
    bad: &[usize],
    source: Forced,
    out: &mut FileRead,
) {
    let doc: Value = match serde_json::from_str(sp.raw) {
        Ok(v) => v,
        Err(e) => {
            out.warnings.push(warn(
                path,
                None,
                Some(sp.line),
                format!("JSON document not read: {e}"),
            ));
            return;
        }
    };
    let doc_bad: Vec<usize> = in_span(bad, sp.off, sp.raw.len());
    // Whole-document sources (registry exports) first.
    let doc_sources: Vec<&dyn LogSource> = match source {
        Some(s) => vec![s],
        None => REGISTRY.to_vec(),
    };
    for s in doc_sources {
        match s.document(&doc, path, source.is_some()) {
            None => continue,
            Some(Doc::Events { events, problems }) => {
                out.events.extend(events);
                for p in problems {
                    out.warnings.push(warn(path, None, line, p));
                }
                note_repairs(path, None, line, doc_bad.len(), out);
            }
            Some(Doc::Unused(why)) => out.unused = Some(why),
            Some(Doc::Bad(why)) => out.warnings.push(warn(path, None, line, why)),
        }
        return;
    }
    let records: Vec<(Option<u64>, Value)> = match doc {
        Value::Object(mut m) => {
            let key = container_keys().find(|k| m.get(*k).is_some_and(Value::is_array));
            match key.and_then(|k| m.remove(k)) {
                Some(Value::Array(a)) => {
                    let per = if doc_bad.is_empty() {
                        Vec::new()
                    } else {
                        element_spans(sp.raw, key)
                    };
                    return read_array(path, text, a, per, &doc_bad, line, source, out);
                }
                _ => {
                    if let Some(why) = unknown_container(&m) {
                        out.warnings.push(warn(path, None, line, why));
                        return;
                    }
                    vec![(None, Value::Object(m))]
                }
            }
        }
        Value::Array(a) => {
            let per = if doc_bad.is_empty() {
                Vec::new()
            } else {
                element_spans(sp.raw, None)
            };
            return read_array(path, text, a, per, &doc_bad, line, source, out);
        }
        other => {
            out.warnings.push(warn(
                path,
                None,
                line,
                format!("JSON {} is not an audit record", kind_of(&other)),
            ));
            return;
        }
    };
    note_repairs(path, None, line, doc_bad.len(), out);
    for (index, rec) in records {
        push_record(
            rec,
            source,
            path,
            index,
            line,
            &mut out.events,
            &mut out.warnings,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn read_array(
    path: &Arc<Path>,
    text: &str,
    items: Vec<Value>,
    spans: Vec<&str>,
    doc_bad: &[usize],
    line: Option<u64>,
    source: Forced,
    out: &mut FileRead,
) {
    if items.is_empty() {
        out.warnings
            .push(warn(path, None, line, "no records (empty JSON array)"));
        return;
    }
    let mut attributed = 0usize;
    for (i, rec) in items.into_iter().enumerate() {
        let index = Some(i as u64);
        if let Some(raw) = spans.get(i) {
            let n = in_span(doc_bad, offset_in(text, raw), raw.len()).len();
            attributed += n;
            note_repairs(path, index, line, n, out);
        }
        push_record(
            rec,
            source,
            path,
            index,
            line,
            &mut out.events,
            &mut out.warnings,
        );
    }
    // Replacements outside every record (in the container itself).
    note_repairs(
        path,
        None,
        line,
        doc_bad.len() - attributed.min(doc_bad.len()),
        out,
    );
}

pub(super) fn note_repairs(
    path: &Path,
    index: Option<u64>,
    line: Option<u64>,
    n: usize,
    out: &mut FileRead,
) {
    if n > 0 {
        out.repaired.push(warn(
            path,
            index,
            line,
            format!("{n} invalid UTF-8 sequence(s) replaced with U+FFFD"),
        ));
    }
}

/// The replacement offsets inside `[off, off + len)`.
fn in_span(bad: &[usize], off: usize, len: usize) -> Vec<usize> {
    let lo = bad.partition_point(|b| *b < off);
    let hi = bad.partition_point(|b| *b < off + len);
    bad[lo..hi].to_vec()
}

/// The raw text of each element of the document's array (`key`: inside that container key).
fn element_spans<'a>(raw: &'a str, key: Option<&str>) -> Vec<&'a str> {
    let arr: &'a str = match key {
        None => raw,
        Some(k) => {
            let Ok(m) =
                serde_json::from_str::<std::collections::HashMap<Cow<'a, str>, &'a RawValue>>(raw)
            else {
                return Vec::new();
            };
            match m.get(k) {
                Some(v) => v.get(),
                None => return Vec::new(),
            }
        }
    };
    serde_json::from_str::<Vec<&'a RawValue>>(arr)
        .map(|v| v.into_iter().map(RawValue::get).collect())
        .unwrap_or_default()
}

/// An object that is no record but holds an array of objects under a key no source knows:
/// say so, instead of "not a CloudTrail... event" for what is a whole container.
fn unknown_container(m: &serde_json::Map<String, Value>) -> Option<String> {
    if super::registry::sniff(&Value::Object(m.clone())).is_some() {
        return None;
    }
    let (k, n) = m.iter().find_map(|(k, v)| match v {
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object) => {
            Some((k.clone(), a.len()))
        }
        _ => None,
    })?;
    let known: Vec<&str> = container_keys().collect();
    Some(format!(
        "JSON object with {n} records under \"{k}\": not a known log container (known: {}), so none was read",
        known.join(", ")
    ))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> FileRead {
        read_bytes(Path::new("t.json"), bytes, None)
    }

    const CT: &str = r#"{"eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail","eventTime":"2026-01-01T00:00:00Z","userIdentity":{"arn":"arn:aws:iam::1:user/a"}}"#;

    #[test]
    fn container_per_line_bom_and_concatenation() {
        let one = format!("{{\"Records\":[{CT},{CT}]}}");
        let text = format!("\u{feff}{one}\n{one}\n\u{feff}{one}");
        let r = read(text.as_bytes());
        assert_eq!(r.events.len(), 6, "{:?}", r.warnings);
        assert!(r.warnings.is_empty());
        assert_eq!(r.events[5].at.line, Some(3));
        assert_eq!(r.events[5].at.index, Some(1));
    }

    #[test]
    fn invalid_utf8_is_replaced_per_record_and_counted() {
        let bad = CT.replace("user/a", "user/\u{1}");
        let mut bytes = format!("[{CT},{bad}]").into_bytes();
        let i = bytes.iter().position(|b| *b == 1).unwrap();
        bytes[i] = 0xff;
        let r = read(&bytes);
        assert_eq!(r.events.len(), 2);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.repaired.len(), 1);
        assert_eq!(r.repaired[0].at.index, Some(1));
        assert!(r.events[1].principal.contains('\u{fffd}'));
    }

    #[test]
    fn a_malformed_line_loses_only_that_line() {
        let text = format!("{{\"oops\n{CT}\n{CT}\n");
        let r = read(text.as_bytes());
        assert_eq!(r.events.len(), 2);
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].at.line, Some(1));
        // A line cut after a key runs into the next line: still only that line is lost.
        let text = format!("{CT}\n{{\"a\":\n{CT}\n{CT}\n");
        let r = read(text.as_bytes());
        assert_eq!(r.events.len(), 3, "{:?}", r.warnings);
        assert_eq!(r.warnings[0].at.line, Some(2));
        let truncated = "{\n  \"Records\": [\n    {\"a\": 1}";
        let r = read(truncated.as_bytes());
        assert!(r.events.is_empty());
        assert!(r.warnings[0].message.starts_with("not JSON"));
    }

    #[test]
    fn cloudwatch_export_lines_are_read_without_their_time_prefix() {
        let text = format!(
            "2024-01-02T03:04:05.678Z {CT}\n2024-01-02T03:04:06Z {CT}\n2024-01-02T03:04:0 {CT}\n"
        );
        let r = read(text.as_bytes());
        assert_eq!(r.events.len(), 2, "{:?}", r.warnings);
        assert_eq!(r.events[1].at.line, Some(2));
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert_eq!(r.warnings[0].at.line, Some(3));
        assert_eq!(export_prefix("2024-01-02T03:04:05Z [1]"), 0);
        assert_eq!(export_prefix("2024"), 0);
        assert_eq!(
            export_prefix("2024-01-02T03:04:05ééééééééééééééééééééééé {}"),
            0
        );
    }

    #[test]
    fn unknown_container_says_so() {
        let text = format!("{{\"logs\":[{CT}]}}");
        let r = read(text.as_bytes());
        assert!(r.events.is_empty());
        assert!(r.warnings[0].message.contains("not a known log container"));
    }
}
