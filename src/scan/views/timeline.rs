//! `--view timeline`: findings in time order, each with first/last seen and the number of
//! events behind it; with `--events`, those events listed under it with their record
//! references (and with `--raw`, the records).

use super::rows::{Column, Kind, Rows};
use super::{matching, opt_time, Options, MAX_EVENTS_PER_FINDING, MAX_ROWS};
use crate::finding::Finding;
use crate::input::logs::Event;
use serde_json::{json, Map, Value};

pub fn columns(raw: bool) -> Vec<Column> {
    let mut c = vec![
        Column::new("kind", Kind::Text),
        Column::new("time", Kind::Time),
        Column::new("last_seen", Kind::Time),
        Column::new("events", Kind::Number),
        Column::new("severity", Kind::Text),
        Column::new("rule", Kind::Text),
        Column::new("subject", Kind::Text),
        Column::machine("source", Kind::Text),
        Column::machine("action", Kind::Text),
        Column::machine("resource", Kind::Text),
        Column::machine("source_ip", Kind::Text),
        Column::machine("outcome", Kind::Text),
        Column::machine("error", Kind::Text),
        Column::new("title", Kind::Text),
        Column::new("location", Kind::Location),
    ];
    if raw {
        c.push(Column::new("raw", Kind::Raw));
    }
    c
}

pub fn build(findings: &[Finding], events: &[Event], opts: &Options) -> Rows {
    let mut shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= opts.min_severity)
        .collect();
    // Chronological; findings without a time (registry state) last; then worst first.
    shown.sort_by(|a, b| {
        let (ta, tb) = (matching::span(a).0, matching::span(b).0);
        (ta.is_none(), ta)
            .cmp(&(tb.is_none(), tb))
            .then(b.severity.cmp(&a.severity))
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    let cap = if opts.events {
        MAX_EVENTS_PER_FINDING
    } else {
        0
    };
    let m = matching::run(&shown, events, cap);
    let mut rows = Rows {
        columns: columns(opts.raw),
        ..Rows::default()
    };
    let mut left_out = 0usize;
    for (i, f) in shown.iter().enumerate() {
        let (first, last) = matching::span(f);
        let ev = |k: &str| f.evidence.get(k).cloned().unwrap_or(Value::Null);
        let count = f
            .evidence
            .get("event_count")
            .and_then(Value::as_u64)
            .map(|n| n as usize)
            .unwrap_or(m.count[i].max(1));
        let mut r = Map::new();
        r.insert("kind".into(), "finding".into());
        r.insert("time".into(), opt_time(first));
        r.insert("last_seen".into(), opt_time(last));
        r.insert("events".into(), count.into());
        r.insert("severity".into(), f.severity.as_str().into());
        r.insert("rule".into(), f.id.clone().into());
        r.insert("subject".into(), f.subject.clone().into());
        r.insert("source".into(), ev("source"));
        r.insert("action".into(), ev("action"));
        r.insert("resource".into(), ev("resource"));
        r.insert("source_ip".into(), ev("source_ip"));
        r.insert("outcome".into(), Value::Null);
        r.insert("error".into(), ev("error"));
        r.insert("title".into(), f.title.clone().into());
        r.insert("location".into(), json!(f.location));
        if opts.raw {
            r.insert("raw".into(), Value::Null);
        }
        rows.rows.push(r);
        if !opts.events {
            continue;
        }
        for &ei in &m.lists[i] {
            if rows.rows.len() >= MAX_ROWS {
                left_out += 1;
                continue;
            }
            let e = &events[ei];
            let mut r = Map::new();
            r.insert("kind".into(), "event".into());
            r.insert("time".into(), opt_time(e.time));
            r.insert("last_seen".into(), Value::Null);
            r.insert("events".into(), Value::Null);
            r.insert("severity".into(), f.severity.as_str().into());
            r.insert("rule".into(), f.id.clone().into());
            r.insert("subject".into(), e.principal.clone().into());
            let ev = super::event_row(e, opts.raw);
            for k in [
                "source",
                "action",
                "resource",
                "source_ip",
                "outcome",
                "error",
            ] {
                r.insert(k.into(), ev.get(k).cloned().unwrap_or(Value::Null));
            }
            let outcome = ev["outcome"].as_str().unwrap_or("").to_string();
            r.insert(
                "title".into(),
                format!("{} {} ({outcome})", e.action, e.resource).into(),
            );
            r.insert("location".into(), ev["location"].clone());
            if opts.raw {
                r.insert("raw".into(), Value::Null);
            }
            rows.rows.push(r);
        }
        if m.count[i] > m.lists[i].len() {
            rows.notes.push(format!(
                "{} {}: {} events, the first {} listed",
                f.id,
                f.subject,
                m.count[i],
                m.lists[i].len()
            ));
        }
    }
    if left_out > 0 {
        rows.notes.push(format!(
            "{left_out} event rows beyond {MAX_ROWS} not listed"
        ));
    }
    rows
}
