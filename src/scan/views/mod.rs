//! What an analyst opens after the findings report (`mlguard scan --view ...`): the
//! timeline of findings (and their events), the results summary, per-principal activity,
//! action frequencies and a regex search over the normalised events. One file per view;
//! each builds [`Rows`] (or, for the summary, a JSON document) from the scan's findings and
//! events. Data only: `report::views` renders them as table, CSV, JSON Lines or inside the
//! JSON document, so every format carries the same values.
//!
//! Views read the events the scan already holds (`scan::Output::kept`, raw records dropped
//! unless `--raw`), so they cost no second read of the input. Every list that grows with
//! the input is capped ([`MAX_ROWS`], [`MAX_EVENTS_PER_FINDING`], [`MAX_VALUES`]) and says
//! what it left out.

pub mod actions;
pub mod matching;
pub mod principals;
pub mod raw;
pub mod rows;
pub mod search;
pub mod summary;
pub mod timeline;

use crate::finding::{Finding, Severity};
use crate::input::logs::Event;
pub use rows::{Column, Kind, Rows};
use serde_json::{json, Map, Value};

/// The views of `--view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Findings in time order with first/last seen and event count (`--events`: their events).
    Timeline,
    /// Events read and with hits, severities, first/last event, busiest dates, top findings,
    /// per input source.
    Summary,
    /// Per principal: actions that succeeded/failed, regions, source IPs, access keys, user
    /// agents, first/last seen.
    Principals,
    /// Event-name (action) frequencies per source and service.
    Actions,
    /// Events whose normalised fields match `--search REGEX`.
    Search,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Timeline,
        View::Summary,
        View::Principals,
        View::Actions,
        View::Search,
    ];
    pub fn from_name(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.name() == s)
    }
    pub fn name(self) -> &'static str {
        match self {
            View::Timeline => "timeline",
            View::Summary => "summary",
            View::Principals => "principals",
            View::Actions => "actions",
            View::Search => "search",
        }
    }
    /// The key of the view's rows in `--format json`.
    pub fn key(self) -> &'static str {
        match self {
            View::Timeline => "timeline",
            View::Summary => "results",
            View::Principals => "principals",
            View::Actions => "actions",
            View::Search => "matches",
        }
    }
}

/// Rows a view lists at most (search matches, timeline events): beyond, a note says how
/// many were left out.
pub const MAX_ROWS: usize = 100_000;
/// Events listed under one finding by `--events`.
pub const MAX_EVENTS_PER_FINDING: usize = 1_000;
/// Distinct values kept per set (a principal's IPs, user agents, ...); events with further
/// values are counted as `other_events`.
pub const MAX_VALUES: usize = 50;

/// What the views were asked for.
pub struct Options<'a> {
    /// Findings below it are not listed (they still count in the verdict and the counts).
    pub min_severity: Severity,
    /// Timeline: list each finding's events under it.
    pub events: bool,
    /// Include the raw record of listed events.
    pub raw: bool,
    pub search: Option<regex::Regex>,
    /// Display offset: dates of the summary are days in it.
    pub offset: chrono::FixedOffset,
    /// `--source`, to read the raw records again as the scan read them.
    pub source: crate::input::logs::Forced,
    /// `--geoip`: country and AS of source IPs in the principal view and the summary.
    pub geo: Option<&'a crate::scan::geoip::GeoIp>,
}

/// Country and AS of source IPs, each address looked up once.
pub struct GeoCache<'a> {
    geo: &'a crate::scan::geoip::GeoIp,
    seen: std::collections::HashMap<std::net::IpAddr, crate::scan::geoip::Geo>,
}

impl<'a> GeoCache<'a> {
    pub fn new(geo: &'a crate::scan::geoip::GeoIp) -> GeoCache<'a> {
        GeoCache {
            geo,
            seen: Default::default(),
        }
    }
    /// `None` for text that is no address (`AWS Internal`, a service name).
    pub fn get(&mut self, ip: &str) -> Option<&crate::scan::geoip::Geo> {
        let ip: std::net::IpAddr = ip.parse().ok()?;
        let geo = self.geo;
        Some(self.seen.entry(ip).or_insert_with(|| geo.lookup(ip)))
    }
}

/// A built view: rows, or the summary document.
pub enum Built {
    Rows(Rows),
    Summary(summary::Summary),
}

/// Build `view` from the scan's findings and events (time-ordered).
pub fn build(view: View, findings: &[Finding], events: &[Event], opts: &Options) -> Built {
    let mut rows = match view {
        View::Timeline => timeline::build(findings, events, opts),
        View::Summary => return Built::Summary(summary::build(findings, events, opts)),
        View::Principals => principals::build(findings, events, opts.geo),
        View::Actions => actions::build(findings, events),
        View::Search => search::build(events, opts),
    };
    if opts.raw {
        raw::attach(&mut rows, opts.source);
    }
    Built::Rows(rows)
}

/// RFC 3339 UTC, seconds: how every view writes a time.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> Value {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into()
}

fn opt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map(time).unwrap_or(Value::Null)
}

/// `ok`, or the error's code (`AccessDenied` of `AccessDenied: User ... is not
/// authorized`); the whole message is the row's `error`.
pub fn outcome(e: &Event) -> Value {
    if e.success {
        "ok".into()
    } else {
        match e.error.as_deref() {
            Some(m) => error_code(m).into(),
            None => "failed".into(),
        }
    }
}

/// The code part of an error message (`AccessDenied: ...` → `AccessDenied`).
pub fn error_code(e: &str) -> &str {
    e.split(':').next().unwrap_or(e).trim()
}

/// One event as a row: the normalised fields and its record reference (with `raw`, a
/// `raw: null` the caller fills from the file, [`raw::attach`]).
pub fn event_row(e: &Event, raw: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("time".into(), opt_time(e.time));
    m.insert("source".into(), e.source.name().into());
    m.insert("principal".into(), e.principal.clone().into());
    m.insert("action".into(), e.action.clone().into());
    m.insert("resource".into(), e.resource.clone().into());
    m.insert("region".into(), json!(e.region));
    m.insert("source_ip".into(), json!(e.source_ip));
    m.insert("user_agent".into(), json!(e.user_agent));
    m.insert("outcome".into(), outcome(e));
    m.insert("error".into(), json!(e.error));
    m.insert(
        "location".into(),
        serde_json::to_value(e.at.location()).unwrap_or(Value::Null),
    );
    if raw {
        m.insert("raw".into(), Value::Null);
    }
    m
}

/// Values with their event counts, at most [`MAX_VALUES`] distinct; events with further
/// values are counted, not kept.
#[derive(Debug, Default, Clone)]
pub struct Capped {
    values: std::collections::HashMap<String, u64>,
    other_events: u64,
}

impl Capped {
    pub fn add(&mut self, v: &str) {
        if let Some(n) = self.values.get_mut(v) {
            *n += 1;
        } else if self.values.len() < MAX_VALUES {
            self.values.insert(v.to_string(), 1);
        } else {
            self.other_events += 1;
        }
    }
    /// `{values: [{value, events}] (most events first), other_events}`.
    pub fn to_json(&self) -> Value {
        let mut v: Vec<(&String, &u64)> = self.values.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        json!({
            "values": v.iter().map(|(k, n)| json!({"value": k, "events": n})).collect::<Vec<_>>(),
            "other_events": self.other_events,
        })
    }
}
