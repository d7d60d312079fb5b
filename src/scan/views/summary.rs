//! `--view summary`: the results summary — events read and events with hits (the data
//! reduction an analyst gets), findings per severity, first and last event, the busiest
//! dates, the top findings per severity, and the same per input source.

use super::{matching, opt_time, Options};
use crate::finding::{Finding, Severity};
use crate::input::logs::Event;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

/// Busiest dates and top rules listed.
const TOP: usize = 5;

/// The summary document (`results` in `--format json`; docs/scan.md lists its keys).
pub struct Summary(pub Map<String, Value>);

#[derive(Default)]
struct PerSource {
    events: u64,
    hits: u64,
    findings: u64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

fn pct(hits: u64, events: u64) -> f64 {
    if events == 0 {
        0.0
    } else {
        ((1.0 - hits as f64 / events as f64) * 10000.0).round() / 100.0
    }
}

pub fn build(findings: &[Finding], events: &[Event], opts: &Options) -> Summary {
    let all: Vec<&Finding> = findings.iter().collect();
    let m = matching::run(&all, events, 0);
    let mut per: BTreeMap<&str, PerSource> = BTreeMap::new();
    let mut days: BTreeMap<chrono::NaiveDate, (u64, u64)> = BTreeMap::new();
    let (mut first, mut last, mut no_time, mut hits) = (None, None, 0u64, 0u64);
    for (e, hit) in events.iter().zip(&m.hit) {
        let p = per.entry(e.source.name()).or_default();
        p.events += 1;
        p.hits += *hit as u64;
        hits += *hit as u64;
        match e.time {
            Some(t) => {
                first = Some(first.map_or(t, |f: DateTime<Utc>| f.min(t)));
                last = Some(last.map_or(t, |l: DateTime<Utc>| l.max(t)));
                p.first = Some(p.first.map_or(t, |f| f.min(t)));
                p.last = Some(p.last.map_or(t, |l| l.max(t)));
                let d = days
                    .entry(t.with_timezone(&opts.offset).date_naive())
                    .or_default();
                d.0 += 1;
                d.1 += *hit as u64;
            }
            None => no_time += 1,
        }
    }
    for f in findings {
        let src = f
            .evidence
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("other");
        if let Some(p) = per.iter_mut().find(|(k, _)| **k == src).map(|(_, p)| p) {
            p.findings += 1;
        }
    }
    // With --geoip: events (and events with hits) per source country.
    let countries = opts.geo.map(|g| {
        let mut cache = super::GeoCache::new(g);
        let mut by: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (e, hit) in events.iter().zip(&m.hit) {
            let Some(c) = e
                .source_ip
                .as_deref()
                .and_then(|ip| cache.get(ip))
                .and_then(|g| g.country.clone())
            else {
                continue;
            };
            let n = by.entry(c).or_default();
            n.0 += 1;
            n.1 += *hit as u64;
        }
        let mut v: Vec<(String, (u64, u64))> = by.into_iter().collect();
        v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
        v.into_iter()
            .take(10)
            .map(|(c, (n, h))| json!({"country": c, "events": n, "events_with_hits": h}))
            .collect::<Vec<_>>()
    });
    let mut busiest: Vec<(&chrono::NaiveDate, &(u64, u64))> = days.iter().collect();
    busiest.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    let busiest: Vec<Value> = busiest
        .into_iter()
        .take(TOP)
        .map(|(d, (n, h))| json!({"date": d.to_string(), "events": n, "events_with_hits": h}))
        .collect();
    let mut by_sev = Map::new();
    for s in Severity::ALL.iter().rev() {
        by_sev.insert(
            s.as_str().into(),
            findings.iter().filter(|f| f.severity == *s).count().into(),
        );
    }
    let shown = findings
        .iter()
        .filter(|f| f.severity >= opts.min_severity)
        .count();
    // Top rules per shown severity: by findings, then distinct subjects.
    let mut top = Map::new();
    for s in Severity::ALL
        .iter()
        .rev()
        .filter(|s| **s >= opts.min_severity)
    {
        let mut rules: BTreeMap<&str, (u64, BTreeSet<&str>, &str)> = BTreeMap::new();
        for f in findings.iter().filter(|f| f.severity == *s) {
            let r = rules
                .entry(f.id.as_str())
                .or_insert((0, BTreeSet::new(), f.title.as_str()));
            r.0 += 1;
            r.1.insert(f.subject.as_str());
        }
        if rules.is_empty() {
            continue;
        }
        let mut v: Vec<_> = rules.into_iter().collect();
        v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
        top.insert(
            s.as_str().into(),
            v.into_iter()
                .take(TOP)
                .map(|(id, (n, subj, title))| {
                    json!({"rule": id, "findings": n, "subjects": subj.len(), "example": title})
                })
                .collect::<Vec<_>>()
                .into(),
        );
    }
    let n = events.len() as u64;
    let mut doc = Map::new();
    doc.insert("events_read".into(), n.into());
    doc.insert("events_with_hits".into(), hits.into());
    doc.insert("data_reduction_pct".into(), json!(pct(hits, n)));
    doc.insert("first_event".into(), opt_time(first));
    doc.insert("last_event".into(), opt_time(last));
    doc.insert("events_without_time".into(), no_time.into());
    doc.insert(
        "findings".into(),
        json!({"total": findings.len(), "shown": shown, "hidden": findings.len() - shown,
               "min_severity": opts.min_severity.as_str(), "by_severity": by_sev}),
    );
    doc.insert("busiest_dates".into(), busiest.into());
    if let Some(c) = countries {
        doc.insert("countries".into(), c.into());
    }
    doc.insert("top_findings".into(), top.into());
    doc.insert(
        "sources".into(),
        per.iter()
            .map(|(k, p)| {
                json!({"source": k, "events": p.events, "events_with_hits": p.hits,
                       "data_reduction_pct": pct(p.hits, p.events), "findings": p.findings,
                       "first_event": opt_time(p.first), "last_event": opt_time(p.last)})
            })
            .collect::<Vec<_>>()
            .into(),
    );
    Summary(doc)
}

impl Summary {
    /// The human block (times in `off`, input-derived text escaped).
    pub fn write_table(&self, off: chrono::FixedOffset, out: &mut dyn Write) -> io::Result<()> {
        use crate::report::rows::{offset_label, show_time};
        use crate::report::text::clean;
        let d = &self.0;
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
    pub fn write_csv(&self, out: &mut dyn Write) -> io::Result<()> {
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
        flat("", &Value::Object(self.0.clone()), &mut kv);
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
}
