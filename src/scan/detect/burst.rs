//! Shared machinery of the aggregating AWS detections (secrets, IAM persistence, Lambda,
//! shares, log deletion, sign-ins): facts taken from the raw record in the per-file pass
//! ([`Stash`]) and time-ordered bursts per key ([`Bursts`]).
//!
//! Why a stash: the per-file pass (`Detection::record`) is the only moment the raw record
//! (a policy document, a list of parameter names) is in memory, but it runs per file in
//! parallel, so it cannot aggregate across files. Each family puts the few facts it needs
//! into its stash keyed by the record's reference, and picks them up in `observe`, which
//! sees every event once, in time order, after deduplication: a repeated delivery's facts
//! are never picked up. Only the events a family looks at are stashed.
//!
//! Why bursts: one finding per principal and burst, not one per call. A burst is a run of
//! a key's events with no gap longer than the family's gap; the finding points at the
//! burst's first event and lists the records (up to [`MAX_RECORDS`]) and counts.

use super::errors::Failure;
use super::Cx;
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, RecordRef, Source};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Records listed in a burst's evidence; the counts are always complete.
pub const MAX_RECORDS: usize = 20;
/// Items kept per burst (beyond it only counted): bounds a family's memory per key.
pub const MAX_ITEMS: usize = 1000;

/// Facts from the per-file pass, keyed by record.
pub struct Stash<T>(Mutex<HashMap<RecordRef, T>>);

impl<T> Default for Stash<T> {
    fn default() -> Self {
        Stash(Mutex::new(HashMap::new()))
    }
}

impl<T> Stash<T> {
    pub fn put(&self, at: &RecordRef, t: T) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(at.clone(), t);
    }
    pub fn take(&mut self, at: &RecordRef) -> Option<T> {
        let m = self.0.get_mut().unwrap_or_else(|p| p.into_inner());
        m.remove(at)
    }
}

/// One burst of a key's events.
pub struct Burst<V> {
    /// The first event (without its raw record): the finding points at it.
    pub first: Event,
    pub last: Option<DateTime<Utc>>,
    /// Events and their facts, in time order (at most [`MAX_ITEMS`]).
    pub items: Vec<(Event, V)>,
    /// Events beyond [`MAX_ITEMS`], counted only.
    pub more: u64,
}

impl<V> Burst<V> {
    pub fn events(&self) -> u64 {
        self.items.len() as u64 + self.more
    }
}

/// The key every family groups its bursts by: one principal in one account.
pub fn principal_key(e: &Event) -> String {
    format!("{}\u{0}{}", e.principal, e.account)
}

/// Bursts per key: a new burst starts after `gap` without an event of the key.
pub struct Bursts<V> {
    gap: Duration,
    open: BTreeMap<String, Burst<V>>,
    done: Vec<Burst<V>>,
}

impl<V> Bursts<V> {
    pub fn new(gap: Duration) -> Self {
        Bursts {
            gap,
            open: BTreeMap::new(),
            done: Vec::new(),
        }
    }

    pub fn push(&mut self, key: String, e: &Event, v: V) {
        let close = match (self.open.get(&key), e.time) {
            (Some(b), Some(t)) => b.last.is_some_and(|l| t - l > self.gap),
            _ => false,
        };
        if close {
            if let Some(b) = self.open.remove(&key) {
                self.done.push(b);
            }
        }
        let b = self.open.entry(key).or_insert_with(|| Burst {
            first: e.clone_without_raw(),
            last: e.time,
            items: Vec::new(),
            more: 0,
        });
        if e.time.is_some() {
            b.last = e.time;
        }
        if b.items.len() < MAX_ITEMS {
            b.items.push((e.clone_without_raw(), v));
        } else {
            b.more += 1;
        }
    }

    /// `observe` of a stashing family: a CloudTrail event's facts, if the per-file pass
    /// stashed any, go into its principal's burst.
    pub fn push_stashed(&mut self, stash: &mut Stash<V>, e: &Event) {
        if e.source != Source::CLOUDTRAIL {
            return;
        }
        if let Some(v) = stash.take(&e.at) {
            self.push(principal_key(e), e, v);
        }
    }

    /// Every burst, ordered by its first event.
    pub fn finish(&mut self) -> Vec<Burst<V>> {
        let mut all = std::mem::take(&mut self.done);
        all.extend(std::mem::take(&mut self.open).into_values());
        all.sort_by(|a, b| {
            a.first
                .time
                .cmp(&b.first.time)
                .then_with(|| a.first.at.cmp(&b.first.at))
        });
        all
    }
}

/// A finding about a burst: the rule's common evidence from its first event (`time`), plus
/// `event_count`, `last_seen`, `failed`, `actions` (name → count) and `records`.
pub fn finding<V>(cx: &Cx, id: &str, sev: Severity, b: &Burst<V>, title: String) -> Finding {
    let mut f = cx.finding(id, sev, &b.first, title);
    let mut actions: BTreeMap<&str, u64> = BTreeMap::new();
    for (e, _) in &b.items {
        *actions.entry(e.action.as_str()).or_insert(0) += 1;
    }
    let failed = b.items.iter().filter(|(e, _)| !e.success).count();
    f = f
        .with("failed", failed as u64)
        .with("actions", json!(actions))
        .with(
            "records",
            b.items
                .iter()
                .take(MAX_RECORDS)
                .map(|(e, _)| Value::from(e.at.to_string()))
                .collect::<Vec<_>>(),
        );
    // `time` is the first event's; `last_seen` and `event_count` as every aggregating
    // finding has them (the timeline view reads them).
    super::spanned(f, b.last, b.events())
}

/// The errors of a burst's failed calls, described: `[{error, outcome, meaning, count}]`,
/// and the one-clause summary for a title ("denied", "failed: the trail did not exist").
pub fn failures<'a>(events: impl Iterator<Item = &'a Event>) -> (Vec<Value>, Option<String>) {
    let mut by: BTreeMap<String, (Failure, u64)> = BTreeMap::new();
    for e in events {
        if let Some(f) = Failure::of(e) {
            by.entry(f.code.clone()).or_insert((f, 0)).1 += 1;
        }
    }
    let clause = match by.len() {
        0 => None,
        1 => by.values().next().map(|(f, _)| f.clause()),
        _ => Some(format!(
            "failed ({})",
            by.values()
                .map(|(f, _)| f.clause())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join("; ")
        )),
    };
    let list = by
        .into_iter()
        .map(|(code, (f, n))| {
            json!({"error": code, "outcome": f.kind.as_str(), "meaning": f.meaning(), "count": n})
        })
        .collect();
    (list, clause)
}

/// The account id in an AWS principal (`arn:aws:iam::123456789012:root`, `123456789012`).
pub fn account_of(p: &str) -> Option<String> {
    let digits = |a: &str| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit());
    if digits(p) {
        return Some(p.to_string());
    }
    let parts: Vec<&str> = p.split(':').collect();
    if parts.len() >= 5 && parts[0] == "arn" && digits(parts[4]) {
        return Some(parts[4].to_string());
    }
    None
}

/// Another account than the event's own, and not in `[scan] trusted_accounts`.
pub fn external(cx: &Cx, account: &str, own: &str) -> bool {
    account != own && !cx.s.trusted_accounts.iter().any(|t| t == account)
}

/// A JSON document that may be given as a string (CloudTrail logs policy documents as
/// URL-decoded JSON text) or inline.
pub fn document(v: &Value) -> Option<Value> {
    match v {
        Value::String(t) => serde_json::from_str(t).ok(),
        Value::Null => None,
        v => Some(v.clone()),
    }
}

/// `Statement` as a list (a single statement object is allowed by IAM).
pub fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

/// A string-or-list field as strings.
pub fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}
