//! Which events stand behind each finding.
//!
//! A finding names one record (`location`: the event it was raised on, or the first event
//! of an aggregate). That record is the finding's *anchor*. An aggregating finding (one
//! principal-hour of reads, one principal-day off hours...) also carries `last_seen` and
//! `event_count` (`scan::detect::spanned`); its events are the anchor's principal's events
//! with the anchor's operation kind and outcome between the anchor's time and `last_seen`
//! — the same grouping the detections use (per-principal windows of one kind of operation);
//! a burst of several kinds of call (the AWS families) names its actions in
//! `evidence.actions`, and the principal's calls of those actions in the window are its
//! events.
//! For a Sigma or per-event finding the anchor is the only event; a Sigma rule's aggregated
//! matches (`evidence.aggregated`) count `evidence.event_count` events and list the anchor.

use crate::finding::Finding;
use crate::input::logs::{Event, Op};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::Path;

/// For each finding (same order as given): the number of its events found, and their
/// indices into `events` (at most `cap`, when `cap > 0`). Plus, per event, whether any
/// finding stands on it (an "event with hits").
pub struct Matched {
    pub count: Vec<usize>,
    pub lists: Vec<Vec<usize>>,
    pub hit: Vec<bool>,
    /// The anchor event of each finding, when found among `events`.
    pub anchor: Vec<Option<usize>>,
}

/// First and last seen of a finding: its `time` (else `first_seen`) and `last_seen`.
pub fn span(f: &Finding) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let first = f
        .evidence_time("time")
        .or_else(|| f.evidence_time("first_seen"));
    let last = f.evidence_time("last_seen").or(first);
    (first, last)
}

/// Match `findings` to `events` (two passes over the events; memory: one flag per event).
pub fn run(findings: &[&Finding], events: &[Event], cap: usize) -> Matched {
    let n = findings.len();
    let mut m = Matched {
        count: vec![0; n],
        lists: vec![Vec::new(); n],
        hit: vec![false; events.len()],
        anchor: vec![None; n],
    };
    // Anchors, by file then (line, record).
    type Pos = (Option<u64>, Option<u64>);
    let mut by_file: HashMap<&Path, HashMap<Pos, Vec<usize>>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if let Some(l) = &f.location {
            by_file
                .entry(Path::new(l.file.as_str()))
                .or_default()
                .entry((l.line, l.record))
                .or_default()
                .push(i);
        }
    }
    if !by_file.is_empty() {
        for (ei, e) in events.iter().enumerate() {
            let Some(at) = by_file.get(&*e.at.file) else {
                continue;
            };
            if let Some(fs) = at.get(&(e.at.line, e.at.index)) {
                for &i in fs {
                    m.anchor[i].get_or_insert(ei);
                }
            }
        }
    }
    // Windows of aggregating findings, by principal.
    struct Window<'f> {
        i: usize,
        op: Op,
        success: bool,
        /// Bursts of several kinds of call and both outcomes (the AWS families) name
        /// their actions (`evidence.actions`, name → count): those match instead.
        actions: Option<&'f serde_json::Map<String, serde_json::Value>>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    }
    let mut windows: HashMap<&str, Vec<Window>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        let Some(a) = m.anchor[i] else { continue };
        let ae = &events[a];
        // A Sigma rule's aggregated matches (`sigma::aggregate`) span principals and
        // kinds of operation: the count is the rule's, the anchor its only listed event.
        if f.evidence.get("aggregated").and_then(|v| v.as_bool()) == Some(true) {
            m.count[i] = f
                .evidence
                .get("event_count")
                .and_then(|v| v.as_u64())
                .map_or(1, |n| n as usize);
            m.hit[a] = true;
            if cap > 0 {
                m.lists[i].push(a);
            }
            continue;
        }
        let aggregate = f.evidence.contains_key("last_seen");
        match (aggregate, ae.time, span(f).1) {
            (true, Some(from), Some(to)) if to >= from => windows
                .entry(ae.principal.as_str())
                .or_default()
                .push(Window {
                    i,
                    op: ae.op,
                    success: ae.success,
                    actions: f.evidence.get("actions").and_then(|a| a.as_object()),
                    from,
                    to,
                }),
            _ => {
                m.count[i] = 1;
                m.hit[a] = true;
                if cap > 0 {
                    m.lists[i].push(a);
                }
            }
        }
    }
    if !windows.is_empty() {
        for (ei, e) in events.iter().enumerate() {
            let (Some(ws), Some(t)) = (windows.get(e.principal.as_str()), e.time) else {
                continue;
            };
            for w in ws {
                let kind = match w.actions {
                    Some(a) => a.contains_key(&e.action),
                    None => e.op == w.op && e.success == w.success,
                };
                if kind && t >= w.from && t <= w.to {
                    m.count[w.i] += 1;
                    m.hit[ei] = true;
                    if m.lists[w.i].len() < cap {
                        m.lists[w.i].push(ei);
                    }
                }
            }
        }
    }
    m
}
