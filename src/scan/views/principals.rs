//! `--view principals`: what each principal did — events, the actions that succeeded and
//! failed (with the errors), regions, source IPs, access keys, user agents, first and last
//! seen, and its findings. Each set keeps at most [`super::MAX_VALUES`] distinct values
//! and counts the events with other values (`other_events`), so a principal making a
//! million calls from a million addresses costs the same memory as one making fifty.

use super::rows::{Column, Kind, Rows};
use super::{opt_time, Capped};
use crate::finding::{Finding, Severity};
use crate::input::logs::Event;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Default)]
struct Agg {
    source: &'static str,
    principal_type: String,
    events: u64,
    ok: u64,
    failed: u64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    accounts: Capped,
    actions_ok: Capped,
    actions_failed: Capped,
    errors: Capped,
    regions: Capped,
    ips: Capped,
    keys: Capped,
    agents: Capped,
    /// With `--geoip`: source countries (ISO 3166 codes), by events.
    countries: Capped,
}

pub fn columns() -> Vec<Column> {
    vec![
        Column::new("principal", Kind::Text),
        Column::new("source", Kind::Text),
        Column::new("principal_type", Kind::Text),
        Column::new("events", Kind::Number),
        Column::new("succeeded", Kind::Number),
        Column::new("failed", Kind::Number),
        Column::new("first_seen", Kind::Time),
        Column::new("last_seen", Kind::Time),
        Column::new("findings", Kind::Number),
        Column::new("worst", Kind::Text),
        Column::new("accounts", Kind::List),
        Column::new("actions_succeeded", Kind::List),
        Column::new("actions_failed", Kind::List),
        Column::new("errors", Kind::List),
        Column::new("regions", Kind::List),
        Column::new("source_ips", Kind::List),
        Column::new("countries", Kind::List),
        Column::new("access_keys", Kind::List),
        Column::new("user_agents", Kind::List),
    ]
}

pub fn build(
    findings: &[Finding],
    events: &[Event],
    geo: Option<&crate::scan::geoip::GeoIp>,
) -> Rows {
    let mut cache = geo.map(super::GeoCache::new);
    let mut by: HashMap<&str, Agg> = HashMap::new();
    for e in events {
        let a = by.entry(e.principal.as_str()).or_default();
        if a.events == 0 {
            a.source = e.source.name();
            a.principal_type = e.principal_type.clone();
        }
        a.events += 1;
        if e.success {
            a.ok += 1;
            a.actions_ok.add(&e.action);
        } else {
            a.failed += 1;
            a.actions_failed.add(&e.action);
            a.errors
                .add(super::error_code(e.error.as_deref().unwrap_or("failed")));
        }
        if let Some(t) = e.time {
            a.first = Some(a.first.map_or(t, |f| f.min(t)));
            a.last = Some(a.last.map_or(t, |l| l.max(t)));
        }
        if !e.account.is_empty() {
            a.accounts.add(&e.account);
        }
        for (set, v) in [
            (&mut a.regions, &e.region),
            (&mut a.ips, &e.source_ip),
            (&mut a.keys, &e.access_key),
            (&mut a.agents, &e.user_agent),
        ] {
            if let Some(v) = v {
                set.add(v);
            }
        }
        if let (Some(c), Some(ip)) = (cache.as_mut(), &e.source_ip) {
            if let Some(country) = c.get(ip).and_then(|g| g.country.clone()) {
                a.countries.add(&country);
            }
        }
    }
    let mut fcount: HashMap<&str, (u64, Severity)> = HashMap::new();
    for f in findings {
        let c = fcount
            .entry(f.subject.as_str())
            .or_insert((0, Severity::Info));
        c.0 += 1;
        c.1 = c.1.max(f.severity);
    }
    let mut list: Vec<(&str, Agg)> = by.into_iter().collect();
    // Principals with findings first (worst, most), then the busiest.
    let key = |p: &str| fcount.get(p).copied();
    list.sort_by(|a, b| {
        let (fa, fb) = (key(a.0), key(b.0));
        fb.map(|f| (f.1, f.0))
            .cmp(&fa.map(|f| (f.1, f.0)))
            .then(b.1.events.cmp(&a.1.events))
            .then(a.0.cmp(b.0))
    });
    let mut rows = Rows {
        columns: columns(),
        cards: true,
        ..Rows::default()
    };
    for (p, a) in list {
        let mut r = Map::new();
        let (nf, worst) = match key(p) {
            Some((n, s)) => (n, Value::from(s.as_str())),
            None => (0, Value::Null),
        };
        r.insert("principal".into(), p.into());
        r.insert("source".into(), a.source.into());
        r.insert("principal_type".into(), a.principal_type.into());
        r.insert("events".into(), a.events.into());
        r.insert("succeeded".into(), a.ok.into());
        r.insert("failed".into(), a.failed.into());
        r.insert("first_seen".into(), opt_time(a.first));
        r.insert("last_seen".into(), opt_time(a.last));
        r.insert("findings".into(), nf.into());
        r.insert("worst".into(), worst);
        r.insert("accounts".into(), a.accounts.to_json());
        r.insert("actions_succeeded".into(), a.actions_ok.to_json());
        r.insert("actions_failed".into(), a.actions_failed.to_json());
        r.insert("errors".into(), a.errors.to_json());
        r.insert("regions".into(), a.regions.to_json());
        let mut ips = a.ips.to_json();
        if let Some(c) = cache.as_mut() {
            for v in ips["values"].as_array_mut().into_iter().flatten() {
                let Some(g) = v["value"].as_str().and_then(|ip| c.get(ip)).cloned() else {
                    continue;
                };
                if let Some(x) = g.country {
                    v["country"] = x.into();
                }
                if let Some(x) = g.asn {
                    v["asn"] = x.into();
                }
                if let Some(x) = g.as_org {
                    v["as_org"] = x.into();
                }
            }
            r.insert("countries".into(), a.countries.to_json());
        }
        r.insert("source_ips".into(), ips);
        r.insert("access_keys".into(), a.keys.to_json());
        r.insert("user_agents".into(), a.agents.to_json());
        rows.rows.push(r);
    }
    rows
}
