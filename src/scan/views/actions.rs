//! `--view actions`: event-name frequencies — per source, service and action, how many
//! events, how many succeeded and failed, by how many principals, first and last seen, and
//! how many of them stand behind a finding. Most frequent first.

use super::rows::{Column, Kind, Rows};
use super::{matching, opt_time};
use crate::finding::Finding;
use crate::input::logs::Event;
use chrono::{DateTime, Utc};
use serde_json::Map;
use std::collections::{HashMap, HashSet};

#[derive(Default)]
struct Agg<'a> {
    events: u64,
    ok: u64,
    hits: u64,
    principals: HashSet<&'a str>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

pub fn columns() -> Vec<Column> {
    vec![
        Column::new("events", Kind::Number),
        Column::new("succeeded", Kind::Number),
        Column::new("failed", Kind::Number),
        Column::new("principals", Kind::Number),
        Column::new("with_hits", Kind::Number),
        Column::new("source", Kind::Text),
        Column::new("service", Kind::Text),
        Column::new("action", Kind::Text),
        Column::new("first_seen", Kind::Time),
        Column::new("last_seen", Kind::Time),
    ]
}

pub fn build(findings: &[Finding], events: &[Event]) -> Rows {
    let all: Vec<&Finding> = findings.iter().collect();
    let m = matching::run(&all, events, 0);
    // Borrowed keys: the events outlive the view; the distinct principals per action are
    // references into them, not copies.
    let mut by: HashMap<(&str, &str, &str), Agg> = HashMap::new();
    for (e, hit) in events.iter().zip(&m.hit) {
        let a = by
            .entry((e.source.name(), e.service.as_str(), e.action.as_str()))
            .or_default();
        a.events += 1;
        a.ok += e.success as u64;
        a.hits += *hit as u64;
        a.principals.insert(e.principal.as_str());
        if let Some(t) = e.time {
            a.first = Some(a.first.map_or(t, |f| f.min(t)));
            a.last = Some(a.last.map_or(t, |l| l.max(t)));
        }
    }
    let mut list: Vec<_> = by.into_iter().collect();
    list.sort_by(|a, b| b.1.events.cmp(&a.1.events).then(a.0.cmp(&b.0)));
    let mut rows = Rows {
        columns: columns(),
        ..Rows::default()
    };
    for ((src, svc, act), a) in list {
        let mut r = Map::new();
        r.insert("events".into(), a.events.into());
        r.insert("succeeded".into(), a.ok.into());
        r.insert("failed".into(), (a.events - a.ok).into());
        r.insert("principals".into(), a.principals.len().into());
        r.insert("with_hits".into(), a.hits.into());
        r.insert("source".into(), src.into());
        r.insert("service".into(), svc.into());
        r.insert("action".into(), act.into());
        r.insert("first_seen".into(), opt_time(a.first));
        r.insert("last_seen".into(), opt_time(a.last));
        rows.rows.push(r);
    }
    rows
}
