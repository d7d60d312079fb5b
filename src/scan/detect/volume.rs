//! Volume per principal-hour: bulk downloads (against the principal's own busiest prior
//! hour, or absolute thresholds without history) and mass deletion.

use super::{hour_of, Baseline, Coverage, Cx, Detection, Stats};
use crate::input::logs::{Event, Op};
use crate::report::{Finding, Severity};
use crate::scan::assets::{bucket_of, AssetKind};
use std::collections::{BTreeMap, BTreeSet};

/// Aggregate of one principal-hour of object reads.
struct HourAgg {
    objects: u64,
    bytes: f64,
    ml_objects: u64,
    kinds: BTreeSet<AssetKind>,
    buckets: BTreeSet<String>,
    /// The hour's first read: the finding points at it.
    first: Event,
    /// The hour's last read and the number of read events.
    last: chrono::DateTime<chrono::Utc>,
    events: u64,
}

/// One principal-hour of deletions: (objects, first event, any ML asset, last time, events).
type DeleteAgg = (u64, Event, bool, chrono::DateTime<chrono::Utc>, u64);

#[derive(Default)]
pub struct Volume {
    reads: BTreeMap<(String, i64), HourAgg>,
    deletes: BTreeMap<(String, i64), DeleteAgg>,
}

/// A copy of an event small enough to keep per principal-hour (no raw record).
pub(super) fn light(e: &Event) -> Event {
    e.clone_without_raw()
}

impl Detection for Volume {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.bulk_download", "scan.mass_deletion"]
    }

    fn observe(&mut self, cx: &Cx, _b: &mut Baseline, e: &Event) {
        let Some(t) = e.time else { return };
        if !e.success {
            return;
        }
        let key = (e.principal.clone(), hour_of(t));
        if e.op == Op::ObjectRead {
            let a = self.reads.entry(key).or_insert_with(|| HourAgg {
                objects: 0,
                bytes: 0.0,
                ml_objects: 0,
                kinds: BTreeSet::new(),
                buckets: BTreeSet::new(),
                first: light(e),
                last: t,
                events: 0,
            });
            a.last = t;
            a.events += 1;
            a.objects += e.objects;
            a.bytes += e.bytes_out.unwrap_or(0.0);
            if let Some(k) = cx.kind_of(e) {
                a.ml_objects += e.objects;
                a.kinds.insert(k);
            }
            if let Some(b) = bucket_of(&e.resource) {
                if a.buckets.len() < 10 {
                    a.buckets.insert(b);
                }
            }
        } else if e.op == Op::ObjectDelete {
            let ml = cx.kind_of(e).is_some();
            let d = self
                .deletes
                .entry(key)
                .or_insert_with(|| (0, light(e), false, t, 0));
            d.0 += e.objects;
            d.2 |= ml;
            d.3 = t;
            d.4 += 1;
        }
    }

    fn finish(&mut self, cx: &Cx, b: &mut Baseline) -> Vec<Finding> {
        let mut out = Vec::new();
        let s = cx.s;
        // Bulk download: walk each principal's hours in time order.
        for ((p, _hour), a) in std::mem::take(&mut self.reads) {
            let e = &a.first;
            let learning = cx.in_baseline(e);
            let hist = b.principals.entry(p).or_default();
            let (prior_objects, prior_bytes, prior_hours) = (
                hist.max_hourly_objects,
                hist.max_hourly_bytes,
                hist.active_hours,
            );
            hist.max_hourly_objects = hist.max_hourly_objects.max(a.objects);
            hist.max_hourly_bytes = hist.max_hourly_bytes.max(a.bytes);
            hist.active_hours += 1;
            if learning {
                continue;
            }
            let (flag, basis) = if prior_hours == 0 {
                (
                    a.objects >= s.bulk_objects_per_hour || a.bytes >= s.bulk_bytes_per_hour,
                    "no history: absolute thresholds".to_string(),
                )
            } else {
                let by_count = a.objects >= s.bulk_min_objects
                    && a.objects as f64 > s.bulk_ratio * prior_objects as f64;
                let by_bytes = a.bytes >= s.bulk_min_bytes && a.bytes > s.bulk_ratio * prior_bytes;
                (
                    by_count || by_bytes,
                    format!(
                        "own history: busiest prior hour {prior_objects} objects / {} bytes over {prior_hours} active hours",
                        prior_bytes as u64
                    ),
                )
            };
            if !flag {
                continue;
            }
            let sev = if a.ml_objects > 0 {
                Severity::High
            } else {
                Severity::Medium
            };
            let kinds: Vec<&str> = a.kinds.iter().map(|k| k.as_str()).collect();
            let what = if kinds.is_empty() {
                "objects".to_string()
            } else {
                kinds.join(", ")
            };
            let f = cx
                .finding(
                    "scan.bulk_download",
                    sev,
                    e,
                    format!(
                        "bulk download: {} objects ({} ML assets, {:.1} MiB) in one hour ({what})",
                        a.objects,
                        a.ml_objects,
                        a.bytes / 1048576.0
                    ),
                )
                .with("objects", a.objects)
                .with("ml_objects", a.ml_objects)
                .with("bytes", a.bytes)
                .with("buckets", a.buckets.iter().cloned().collect::<Vec<_>>())
                .with("basis", basis);
            out.push(super::spanned(f, Some(a.last), a.events));
        }
        for (n, e, ml, last, events) in std::mem::take(&mut self.deletes).into_values() {
            if n < s.mass_delete_per_hour {
                continue;
            }
            let sev = if ml { Severity::High } else { Severity::Medium };
            let f = cx
                .finding(
                    "scan.mass_deletion",
                    sev,
                    &e,
                    format!("mass deletion: {n} objects deleted in one hour"),
                )
                .with("objects", n);
            out.push(super::spanned(f, Some(last), events));
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let reads = input.op(Op::ObjectRead);
        let deletes = input.op(Op::ObjectDelete);
        vec![
            Coverage::new(
                "scan.bulk_download",
                reads > 0,
                "blind",
                if reads > 0 {
                    format!("{reads} object-read events")
                } else {
                    "no object-level data events (S3 data events, GCS data_access, Azure StorageRead) in the input".into()
                },
            ),
            Coverage::new(
                "scan.mass_deletion",
                deletes > 0,
                "blind",
                if deletes > 0 {
                    format!("{deletes} delete events")
                } else {
                    "no object delete events in the input".into()
                },
            ),
        ]
    }
}
