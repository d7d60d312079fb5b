//! `--view summary`: the results summary — events read and events with hits (the data
//! reduction an analyst gets), findings per severity, first and last event, the busiest
//! dates, the top findings per severity, and the same per input source.

use super::{matching, opt_time, Options};
use crate::finding::{Finding, Severity};
use crate::input::logs::Event;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

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
