//! What the audit report (`scan --html`) draws beyond the findings: events and findings
//! per time bucket (an hour, wider when the input spans more than a month), and per
//! principal the activity on ML assets (model artifacts, training data, feature stores,
//! registries: `scan::assets`). Built in one pass over the events the scan read; every list
//! is capped ([`MAX_BUCKETS`], [`MAX_PRINCIPALS`], [`MAX_ACTIONS`]) and says what it left
//! out, so a year of logs costs the same memory as a day.

use super::assets::{AssetKind, AssetMap};
use crate::finding::{Finding, Severity};
use crate::input::logs::Event;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Time buckets drawn at most: the bucket widens (1 h, 3 h, 6 h, 12 h, 1 d, 7 d...) until
/// the span fits.
pub const MAX_BUCKETS: usize = 24 * 31;
/// Principals listed with their asset activity.
pub const MAX_PRINCIPALS: usize = 100;
/// Actions and resources kept per principal.
pub const MAX_ACTIONS: usize = 8;

const WIDTHS: [i64; 9] = [
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    7 * 86400,
    30 * 86400,
    91 * 86400,
    365 * 86400,
];

/// One time bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// Start, Unix seconds (UTC).
    pub start: i64,
    pub events: u64,
    /// Events on an ML asset.
    pub asset_events: u64,
    pub failed: u64,
    /// Findings whose first event falls in the bucket, and the worst of them.
    pub findings: u64,
    pub worst: Option<Severity>,
}

/// One principal's activity on ML assets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Principal {
    pub principal: String,
    pub principal_type: String,
    pub source: &'static str,
    /// All its events, and those on ML assets (by kind).
    pub events: u64,
    pub asset_events: u64,
    pub by_kind: BTreeMap<AssetKind, u64>,
    pub failed_on_assets: u64,
    /// Bytes sent to it from ML assets, where the log records it.
    pub bytes_out: f64,
    /// Distinct asset resources touched (counted up to 10 000).
    pub resources: u64,
    /// Its most frequent actions on assets, with counts.
    pub actions: Vec<(String, u64)>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// Its findings and the worst of them (findings whose subject is this principal).
    pub findings: u64,
    pub worst: Option<Severity>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// Bucket width in seconds (3600 unless the input spans more than a month).
    pub bucket_secs: i64,
    /// Contiguous buckets from the first event (or finding) to the last.
    pub buckets: Vec<Bucket>,
    /// Events without a time (not in any bucket).
    pub events_without_time: u64,
    pub events: u64,
    pub asset_events: u64,
    /// Principals with events on ML assets, most asset events first (capped).
    pub principals: Vec<Principal>,
    /// Principals with events on ML assets in all (listed or not).
    pub asset_principals: usize,
    /// All principals seen.
    pub principals_seen: usize,
}

#[derive(Default)]
struct Agg {
    p: Principal,
    actions: HashMap<String, u64>,
    resources: HashSet<String>,
}

impl Activity {
    pub fn build(events: &[Event], findings: &[Finding], assets: &AssetMap) -> Activity {
        let times = events.iter().filter_map(|e| e.time).chain(
            findings
                .iter()
                .filter_map(|f| crate::scan::views::matching::span(f).0),
        );
        let (lo, hi) = times.fold((None, None), |(lo, hi): (Option<i64>, Option<i64>), t| {
            let t = t.timestamp();
            (
                Some(lo.map_or(t, |l| l.min(t))),
                Some(hi.map_or(t, |h| h.max(t))),
            )
        });
        let mut a = Activity {
            bucket_secs: 3600,
            ..Activity::default()
        };
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let span = hi - lo;
            a.bucket_secs = WIDTHS
                .iter()
                .copied()
                .find(|w| span / w < MAX_BUCKETS as i64)
                .unwrap_or(365 * 86400);
            let w = a.bucket_secs;
            let first = lo.div_euclid(w) * w;
            let n = ((hi.div_euclid(w) * w - first) / w + 1).clamp(1, MAX_BUCKETS as i64 + 1);
            a.buckets = (0..n)
                .map(|i| Bucket {
                    start: first + i * w,
                    ..Bucket::default()
                })
                .collect();
        }
        let w = a.bucket_secs;
        let index = |t: DateTime<Utc>, buckets: &[Bucket]| -> Option<usize> {
            let first = buckets.first()?.start;
            let i = (t.timestamp() - first).div_euclid(w);
            usize::try_from(i).ok().filter(|i| *i < buckets.len())
        };
        let mut by: HashMap<&str, Agg> = HashMap::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for e in events {
            a.events += 1;
            let kind = assets
                .classify(&e.resource)
                .or_else(|| assets.bucket_kind(&e.resource));
            if seen.len() < 1_000_000 {
                seen.insert(e.principal.as_str());
            }
            match e.time.and_then(|t| index(t, &a.buckets)) {
                Some(i) => {
                    let b = &mut a.buckets[i];
                    b.events += 1;
                    b.asset_events += kind.is_some() as u64;
                    b.failed += !e.success as u64;
                }
                None => a.events_without_time += 1,
            }
            let Some(kind) = kind else { continue };
            a.asset_events += 1;
            // Bounded: past the cap, new principals are counted, not aggregated.
            if by.len() >= 100_000 && !by.contains_key(e.principal.as_str()) {
                continue;
            }
            let g = by.entry(e.principal.as_str()).or_default();
            let p = &mut g.p;
            if p.asset_events == 0 {
                p.principal = e.principal.clone();
                p.principal_type = e.principal_type.clone();
                p.source = e.source.name();
            }
            p.asset_events += 1;
            *p.by_kind.entry(kind).or_default() += 1;
            p.failed_on_assets += !e.success as u64;
            p.bytes_out += e.bytes_out.unwrap_or(0.0);
            if let Some(t) = e.time {
                p.first = Some(p.first.map_or(t, |f| f.min(t)));
                p.last = Some(p.last.map_or(t, |l| l.max(t)));
            }
            if g.actions.len() < 1000 || g.actions.contains_key(&e.action) {
                *g.actions.entry(e.action.clone()).or_default() += 1;
            }
            if g.resources.len() < 10_000 {
                g.resources.insert(e.resource.clone());
            }
        }
        // All events per principal (asset or not), for the principals listed.
        for e in events {
            if let Some(g) = by.get_mut(e.principal.as_str()) {
                g.p.events += 1;
            }
        }
        for f in findings {
            if let Some(t) = crate::scan::views::matching::span(f).0 {
                if let Some(i) = index(t, &a.buckets) {
                    let b = &mut a.buckets[i];
                    b.findings += 1;
                    b.worst = Some(b.worst.map_or(f.severity, |s| s.max(f.severity)));
                }
            }
            if let Some(g) = by.get_mut(f.subject.as_str()) {
                g.p.findings += 1;
                g.p.worst = Some(g.p.worst.map_or(f.severity, |s| s.max(f.severity)));
            }
        }
        a.principals_seen = seen.len();
        a.asset_principals = by.len();
        let mut list: Vec<Principal> = by
            .into_values()
            .map(|g| {
                let mut p = g.p;
                let mut acts: Vec<(String, u64)> = g.actions.into_iter().collect();
                acts.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
                acts.truncate(MAX_ACTIONS);
                p.actions = acts;
                p.resources = g.resources.len() as u64;
                p
            })
            .collect();
        list.sort_by(|x, y| {
            y.worst
                .cmp(&x.worst)
                .then(y.asset_events.cmp(&x.asset_events))
                .then_with(|| x.principal.cmp(&y.principal))
        });
        list.truncate(MAX_PRINCIPALS);
        a.principals = list;
        a
    }
}
