//! Row lists (the `scan` views: timeline, principals, actions, search; the data type is
//! [`crate::scan::views::rows::Rows`]) rendered as an aligned table, CSV or JSON Lines.
//! `--format json` wraps the same rows in the command's JSON document
//! ([`super::views::json_doc`]), so every format carries the same rows and values.
//!
//! Times are RFC 3339 UTC strings in the rows (and so in JSON/JSONL, always); the table and
//! CSV show them in the display offset (`--utc-offset`), the table with the offset in the
//! column header, CSV as RFC 3339 with the offset, so a spreadsheet cell is never ambiguous.

use super::text::clean;
use crate::scan::views::rows::{Column, Kind, Rows};
use chrono::FixedOffset;
use serde_json::{Map, Value};
use std::io::{self, Write};

/// The display offset's label: `UTC` or `+09:00`.
pub fn offset_label(off: FixedOffset) -> String {
    if off.local_minus_utc() == 0 {
        "UTC".into()
    } else {
        off.to_string()
    }
}

/// `2024-10-17T20:11:24Z` in `off`: `2024-10-18 05:11:24` (table) or RFC 3339 (CSV).
pub fn show_time(v: &str, off: FixedOffset, rfc3339: bool) -> String {
    match chrono::DateTime::parse_from_rfc3339(v) {
        Ok(t) => {
            let t = t.with_timezone(&off);
            if rfc3339 {
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            } else {
                t.format("%Y-%m-%d %H:%M:%S").to_string()
            }
        }
        Err(_) => v.to_string(),
    }
}

/// A list value as text: `a, b (3)`, plus `+N events with other values` when capped.
fn show_list(v: &Value, sep: &str) -> String {
    let (items, other) = match v {
        Value::Array(a) => (a.as_slice(), 0),
        Value::Object(o) => (
            o.get("values")
                .and_then(Value::as_array)
                .map(|a| a.as_slice())
                .unwrap_or(&[]),
            o.get("other_events").and_then(Value::as_u64).unwrap_or(0),
        ),
        other => return plain(other),
    };
    let mut parts: Vec<String> = items
        .iter()
        .map(|i| match i {
            Value::Object(o) => {
                let v = o.get("value").map(plain).unwrap_or_default();
                // Country / AS of an address (`--geoip`), then the event count.
                let mut extra: Vec<String> = Vec::new();
                if let Some(n) = o.get("events").and_then(Value::as_u64) {
                    extra.push(n.to_string());
                }
                if let Some(c) = o.get("country").and_then(Value::as_str) {
                    extra.push(c.to_string());
                }
                if let Some(a) = o.get("asn").and_then(Value::as_u64) {
                    extra.push(format!("AS{a}"));
                }
                if extra.is_empty() {
                    v
                } else {
                    format!("{v} ({})", extra.join(" "))
                }
            }
            other => plain(other),
        })
        .collect();
    if other > 0 {
        parts.push(format!("+{other} events with other values"));
    }
    parts.join(sep)
}

fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        other => other.to_string(),
    }
}

fn show_location(v: &Value) -> String {
    match v {
        Value::Object(_) => serde_json::from_value::<super::Location>(v.clone())
            .map(|l| {
                // Location's Display escapes; the raw form is wanted here (cleaned later).
                let mut s = l.file.clone();
                if let Some(n) = l.line {
                    s.push_str(&format!(":{n}"));
                }
                if let Some(r) = l.record {
                    s.push_str(&format!("#{r}"));
                }
                s
            })
            .unwrap_or_default(),
        other => plain(other),
    }
}

/// One cell as text (not yet escaped).
fn cell(col: &Column, row: &Map<String, Value>, off: FixedOffset, csv: bool) -> String {
    let Some(v) = row.get(col.key) else {
        return String::new();
    };
    match col.kind {
        Kind::Time => match v.as_str() {
            Some(s) => show_time(s, off, csv),
            None => String::new(),
        },
        Kind::List => show_list(v, if csv { "; " } else { ", " }),
        Kind::Location => show_location(v),
        Kind::Raw => match v {
            Value::Null => String::new(),
            other => serde_json::to_string(other).unwrap_or_default(),
        },
        Kind::Text | Kind::Number => plain(v),
    }
}

fn header(col: &Column, off: FixedOffset) -> String {
    let h = col.key.replace('_', " ").to_uppercase();
    if col.kind == Kind::Time {
        format!("{h} ({})", offset_label(off))
    } else {
        h
    }
}

/// Widest a column is padded to; longer cells overflow (never truncated: an analyst needs
/// the whole value).
const MAX_WIDTH: usize = 60;

/// The aligned table (or cards), escaped, then the notes.
pub fn write_table(rows: &Rows, off: FixedOffset, out: &mut dyn Write) -> io::Result<()> {
    let cols: Vec<&Column> = rows
        .columns
        .iter()
        .filter(|c| c.in_table && c.kind != Kind::Raw)
        .collect();
    let raw = rows.columns.iter().find(|c| c.kind == Kind::Raw);
    if rows.cards {
        for r in &rows.rows {
            let mut first = true;
            for c in &cols {
                let v = clean(&cell(c, r, off, false)).into_owned();
                if first {
                    writeln!(out, "{v}")?;
                    first = false;
                } else if !v.is_empty() {
                    let h = header(c, off).to_lowercase().replace("utc", "UTC");
                    writeln!(out, "  {:<22} {v}", format!("{h}:"))?;
                }
            }
            if let Some(rc) = raw {
                let v = cell(rc, r, off, false);
                if !v.is_empty() {
                    writeln!(out, "  raw: {}", clean(&v))?;
                }
            }
        }
    } else if !rows.rows.is_empty() {
        let heads: Vec<String> = cols.iter().map(|c| header(c, off)).collect();
        let body: Vec<Vec<String>> = rows
            .rows
            .iter()
            .map(|r| {
                cols.iter()
                    .map(|c| clean(&cell(c, r, off, false)).into_owned())
                    .collect()
            })
            .collect();
        let mut w: Vec<usize> = heads.iter().map(|h| h.chars().count()).collect();
        for b in &body {
            for (i, v) in b.iter().enumerate() {
                w[i] = w[i].max(v.chars().count().min(MAX_WIDTH));
            }
        }
        let line = |cells: &[String], out: &mut dyn Write| -> io::Result<()> {
            writeln!(out, "{}", super::table::line(cells, &w))
        };
        line(&heads, out)?;
        for (b, r) in body.iter().zip(&rows.rows) {
            line(b, out)?;
            if let Some(rc) = raw {
                let v = cell(rc, r, off, false);
                if !v.is_empty() {
                    writeln!(out, "    raw: {}", clean(&v))?;
                }
            }
        }
    }
    for n in &rows.notes {
        writeln!(out, "note: {}", clean(n))?;
    }
    Ok(())
}

/// Cells a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
/// first): log values are attacker-controlled, so such a text cell gets a leading `'`
/// (OWASP's advice for CSV injection). Numbers and times are ours and left alone.
fn defuse(kind: Kind, s: String) -> String {
    let risky = matches!(kind, Kind::Text | Kind::List | Kind::Location | Kind::Raw)
        && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky {
        format!("'{s}")
    } else {
        s
    }
}

/// CSV (RFC 4180, every column, a header line): times in the display offset as RFC 3339,
/// lists joined by `; `, the location as `file:line#record`, the raw record as JSON.
pub fn write_csv(rows: &Rows, off: FixedOffset, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(rows.columns.iter().map(|c| c.key))?;
    for r in &rows.rows {
        w.write_record(
            rows.columns
                .iter()
                .map(|c| defuse(c.kind, cell(c, r, off, true))),
        )?;
    }
    w.flush()
}

/// One JSON object per row, exact values (times UTC).
pub fn write_jsonl(rows: &Rows, out: &mut dyn Write) -> io::Result<()> {
    for r in &rows.rows {
        serde_json::to_writer(&mut *out, r).map_err(io::Error::other)?;
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Rows {
        let mut r = Map::new();
        r.insert("time".into(), json!("2024-10-17T20:11:24Z"));
        r.insert("name".into(), json!("=HYPERLINK(\"x\")\r\u{1b}[2J"));
        r.insert(
            "ips".into(),
            json!({"values": [{"value": "1.2.3.4", "events": 3}], "other_events": 2}),
        );
        Rows {
            columns: vec![
                Column::new("time", Kind::Time),
                Column::new("name", Kind::Text),
                Column::new("ips", Kind::List),
            ],
            rows: vec![r],
            ..Rows::default()
        }
    }

    #[test]
    fn table_shows_offset_and_escapes_controls() {
        let off = FixedOffset::east_opt(9 * 3600).unwrap();
        let mut out = Vec::new();
        write_table(&sample(), off, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("TIME (+09:00)"), "{s}");
        assert!(s.contains("2024-10-18 05:11:24"), "{s}");
        assert!(s.contains("\\r\\u{1b}[2J"), "{s}");
        assert!(!s.contains('\u{1b}'));
        assert!(
            s.contains("1.2.3.4 (3), +2 events with other values"),
            "{s}"
        );
    }

    #[test]
    fn csv_defuses_formulas_and_keeps_the_offset() {
        let off = FixedOffset::west_opt(5 * 3600).unwrap();
        let mut out = Vec::new();
        write_csv(&sample(), off, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        let mut rd = csv::Reader::from_reader(s.as_bytes());
        let rec = rd.records().next().unwrap().unwrap();
        assert_eq!(&rec[0], "2024-10-17T15:11:24-05:00");
        assert!(rec[1].starts_with("'=HYPERLINK"), "{s}");
        assert_eq!(&rec[2], "1.2.3.4 (3); +2 events with other values");
    }
}
