//! The `scan --view` renderers: a built view ([`Built`]: rows or the results summary, data
//! from `scan::views`) as the JSON document, CSV, JSON Lines or the table.

use super::rows::{self, offset_label, show_time};
use super::text::clean;
use super::{table, Format, Report};
use crate::scan::views::summary::Summary;
use crate::scan::views::{Built, View};
use serde_json::{Map, Value};
use std::io::{self, Write};

/// `--format json` for a view: the scan's JSON document (verdict, summary, coverage,
/// warnings, skipped...) without its `findings` list, with `view` after `command`,
/// `utc_offset` (the offset the summary's dates are days in; times stay UTC), the view's
/// rows (or summary) under [`View::key`], and the view's `notes`.
pub fn json_doc(view: View, built: &Built, report: &Report, off: chrono::FixedOffset) -> Value {
    let base = match report.to_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut doc = Map::new();
    for (k, v) in base {
        if k == "findings" {
            continue;
        }
        let after_command = k == "command";
        doc.insert(k, v);
        if after_command {
            doc.insert("view".into(), view.name().into());
            doc.insert("utc_offset".into(), off.to_string().into());
        }
    }
    match built {
        Built::Rows(r) => {
            doc.extend(r.extra.clone());
            doc.insert(
                view.key().into(),
                Value::Array(r.rows.iter().cloned().map(Value::Object).collect()),
            );
            doc.insert("notes".into(), r.notes.clone().into());
        }
        Built::Summary(s) => {
            doc.insert(view.key().into(), Value::Object(s.0.clone()));
        }
    }
    Value::Object(doc)
}

/// Write a built view as `format` (table, csv, jsonl; json through [`json_doc`]). The
/// table ends with what was not read and the verdict line, as the findings report does.
pub fn write(
    view: View,
    built: &Built,
    report: &Report,
    format: Format,
    off: chrono::FixedOffset,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match (format, built) {
        (Format::Json, b) => {
            serde_json::to_writer_pretty(&mut *out, &json_doc(view, b, report, off))
                .map_err(std::io::Error::other)?;
            writeln!(out)
        }
        (Format::Csv, Built::Rows(r)) => rows::write_csv(r, off, out),
        (Format::Csv, Built::Summary(s)) => summary_csv(s, out),
        (Format::Jsonl, Built::Rows(r)) => rows::write_jsonl(r, out),
        (Format::Jsonl, Built::Summary(s)) => {
            serde_json::to_writer(&mut *out, &s.0).map_err(std::io::Error::other)?;
            writeln!(out)
        }
        (_, b) => {
            match b {
                Built::Rows(r) => rows::write_table(r, off, out)?,
                Built::Summary(s) => summary_table(s, off, out)?,
            }
            table::write_skipped(report, out)?;
            writeln!(out, "{}", table::summary_line(report))
        }
    }
}

/// The human block (times in `off`, input-derived text escaped).
pub fn summary_table(s: &Summary, off: chrono::FixedOffset, out: &mut dyn Write) -> io::Result<()> {
    let d = &s.0;
    let t = |v: &Value| {
        v.as_str()
            .map(|s| format!("{} {}", show_time(s, off, false), offset_label(off)))
            .unwrap_or_else(|| "-".into())
    };
    let u = |k: &str| d.get(k).and_then(Value::as_u64).unwrap_or(0);
    writeln!(out, "{:<20} {}", "events read", u("events_read"))?;
    writeln!(
        out,
        "{:<20} {} (data reduction {}%)",
        "events with hits",
        u("events_with_hits"),
        d["data_reduction_pct"]
    )?;
    writeln!(out, "{:<20} {}", "first event", t(&d["first_event"]))?;
    writeln!(out, "{:<20} {}", "last event", t(&d["last_event"]))?;
    if u("events_without_time") > 0 {
        writeln!(
            out,
            "{:<20} {}",
            "events without time",
            u("events_without_time")
        )?;
    }
    let f = &d["findings"];
    let sev: Vec<String> = f["by_severity"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    let hidden = f["hidden"].as_u64().unwrap_or(0);
    writeln!(
        out,
        "{:<20} {} ({}){}",
        "findings",
        f["total"],
        sev.join(", "),
        if hidden > 0 {
            format!(
                "; {hidden} below --min-severity {} not listed",
                f["min_severity"].as_str().unwrap_or("")
            )
        } else {
            String::new()
        }
    )?;
    let dates: Vec<String> = d["busiest_dates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            format!(
                "{} ({} events, {} with hits)",
                b["date"].as_str().unwrap_or(""),
                b["events"],
                b["events_with_hits"]
            )
        })
        .collect();
    if !dates.is_empty() {
        writeln!(
            out,
            "{:<20} {}",
            format!("busiest dates ({})", offset_label(off)),
            dates.join(", ")
        )?;
    }
    if let Some(cs) = d.get("countries").and_then(Value::as_array) {
        let cs: Vec<String> = cs
            .iter()
            .map(|c| {
                format!(
                    "{} ({} events, {} with hits)",
                    clean(c["country"].as_str().unwrap_or("")),
                    c["events"],
                    c["events_with_hits"]
                )
            })
            .collect();
        writeln!(out, "{:<20} {}", "source countries", cs.join(", "))?;
    }
    if let Some(top) = d["top_findings"].as_object().filter(|t| !t.is_empty()) {
        writeln!(out, "top findings")?;
        for (sev, rules) in top {
            for r in rules.as_array().into_iter().flatten() {
                writeln!(
                    out,
                    "  {:<8}  {}  {} finding(s), {} subject(s): {}",
                    sev,
                    clean(r["rule"].as_str().unwrap_or("")),
                    r["findings"],
                    r["subjects"],
                    clean(r["example"].as_str().unwrap_or(""))
                )?;
            }
        }
    }
    writeln!(out, "by source")?;
    for s in d["sources"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  {:<10}  {} events, {} with hits ({}% reduction), {} findings, {} .. {}",
            s["source"].as_str().unwrap_or(""),
            s["events"],
            s["events_with_hits"],
            s["data_reduction_pct"],
            s["findings"],
            t(&s["first_event"]),
            t(&s["last_event"])
        )?;
    }
    Ok(())
}

/// `key,value` lines, nested keys dotted (`findings.by_severity.high`); lists indexed
/// (`busiest_dates.0.date`).
pub fn summary_csv(s: &Summary, out: &mut dyn Write) -> io::Result<()> {
    fn flat(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flat(&p, v, out);
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    flat(&format!("{prefix}.{i}"), v, out);
                }
            }
            Value::String(s) => out.push((prefix.into(), s.clone())),
            Value::Null => out.push((prefix.into(), String::new())),
            other => out.push((prefix.into(), other.to_string())),
        }
    }
    let mut kv = Vec::new();
    flat("", &Value::Object(s.0.clone()), &mut kv);
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["key", "value"])?;
    for (k, v) in kv {
        // Rule titles quote input: defused like every CSV text cell.
        let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{v}")
        } else {
            v
        };
        w.write_record([k, v])?;
    }
    w.flush()
}
