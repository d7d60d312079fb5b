//! Volume per principal-hour: bulk downloads (against the principal's own busiest prior
//! hour, or absolute thresholds without history) and mass deletion. The bulk download's
//! severity follows the factor table of docs/scan.md (see `factors`).

use super::{factors, glob_match, hour_of, Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op, Source};
use crate::scan::assets::{bucket_of, AssetKind};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Is `bucket` (`s3://b`) an audit-log bucket: configured (`[scan] audit_log_buckets`,
/// globs) or named by the input as a trail destination?
fn audit_bucket(cx: &Cx, named: &BTreeSet<String>, bucket: &str) -> bool {
    named.contains(bucket) || cx.s.audit_log_buckets.iter().any(|g| glob_match(g, bucket))
}

/// Aggregate of one principal-hour of object reads.
struct HourAgg {
    /// Read calls (`GetObject`...) and the objects they touched.
    reads: u64,
    objects: u64,
    bytes: f64,
    ml_objects: u64,
    kinds: BTreeSet<AssetKind>,
    /// Objects per bucket (at most [`MAX_BUCKETS`] buckets; the audit-log factor is
    /// decided at the end, when every trail destination in the input is known).
    buckets: BTreeMap<String, u64>,
    /// Reads whose key is in an audit-log layout (`AWSLogs/*/CloudTrail/`...).
    audit_key_objects: u64,
    /// Reads by a recursive-copy tool, and the first tool seen.
    tool_reads: u64,
    tool: Option<&'static str>,
    /// Reads an AWS service made on the principal's behalf.
    service_reads: u64,
    /// SSE-KMS decrypts of S3 objects in this hour (KMS management events).
    decrypts: u64,
    /// The hour's first read: the finding points at it.
    first: Event,
    /// The hour's last read (`last_seen`).
    last: Option<chrono::DateTime<chrono::Utc>>,
}

/// One principal-hour of deletions: (objects, first event, any ML asset, last time, events).
type DeleteAgg = (u64, Event, bool, chrono::DateTime<chrono::Utc>, u64);
/// Distinct buckets remembered per principal-hour (the rest are counted, not named).
const MAX_BUCKETS: usize = 256;

impl HourAgg {
    fn new(first: Event) -> HourAgg {
        HourAgg {
            reads: 0,
            objects: 0,
            bytes: 0.0,
            ml_objects: 0,
            kinds: BTreeSet::new(),
            buckets: BTreeMap::new(),
            audit_key_objects: 0,
            tool_reads: 0,
            tool: None,
            service_reads: 0,
            decrypts: 0,
            first,
            last: None,
        }
    }
}

/// SSE-KMS decrypts of S3 objects in one principal-hour, gathered while raw records are
/// in memory (the encryption context is only in the raw record).
struct DecryptAgg {
    count: u64,
    ml: u64,
    first: Event,
}

#[derive(Default)]
pub struct Volume {
    reads: BTreeMap<(String, i64), HourAgg>,
    deletes: BTreeMap<(String, i64), DeleteAgg>,
    /// Filled per record (in parallel): decrypts per principal-hour, and buckets the
    /// input names as audit-log destinations (CreateTrail / UpdateTrail / a bucket policy
    /// letting CloudTrail write).
    seen: Mutex<Seen>,
    /// SSE-KMS decrypts of S3 objects read (for the coverage report).
    decrypt_events: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Seen {
    decrypts: BTreeMap<(String, i64), DecryptAgg>,
    audit_buckets: BTreeSet<String>,
}

/// A copy of an event small enough to keep per principal-hour (no raw record).
pub(super) fn light(e: &Event) -> Event {
    e.clone_without_raw()
}

impl Volume {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        // A panic elsewhere while holding the lock leaves plain counters: still usable.
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Detection for Volume {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.bulk_download", "scan.mass_deletion"]
    }

    fn record(&self, cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if !e.success {
            return;
        }
        let named = factors::audit_log_buckets_named(e);
        let obj = factors::kms_s3_object(e);
        if named.is_empty() && obj.is_none() {
            return;
        }
        if obj.is_some() {
            self.decrypt_events
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let mut seen = self.seen();
        seen.audit_buckets.extend(named);
        if let (Some(obj), Some(t)) = (obj, e.time) {
            let ml = cx.assets.classify(&obj).is_some();
            let d = seen
                .decrypts
                .entry((e.principal.clone(), hour_of(t)))
                .or_insert_with(|| DecryptAgg {
                    count: 0,
                    ml: 0,
                    first: light(e),
                });
            d.count += 1;
            d.ml += ml as u64;
        }
    }

    fn observe(&mut self, cx: &Cx, _b: &mut Baseline, e: &Event) {
        let Some(t) = e.time else { return };
        if !e.success {
            return;
        }
        let key = (e.principal.clone(), hour_of(t));
        if e.op == Op::ObjectRead {
            let a = self
                .reads
                .entry(key)
                .or_insert_with(|| HourAgg::new(light(e)));
            a.reads += 1;
            a.last = Some(t);
            a.objects += e.objects;
            a.bytes += e.bytes_out.unwrap_or(0.0);
            if let Some(k) = cx.kind_of(e) {
                a.ml_objects += e.objects;
                a.kinds.insert(k);
            }
            if let Some(b) = bucket_of(&e.resource) {
                if a.buckets.len() < MAX_BUCKETS || a.buckets.contains_key(&b) {
                    *a.buckets.entry(b).or_insert(0) += e.objects;
                }
            }
            if factors::audit_log_key(&e.resource) {
                a.audit_key_objects += e.objects;
            }
            if let Some(tool) = e
                .user_agent
                .as_deref()
                .and_then(factors::recursive_copy_tool)
            {
                a.tool_reads += 1;
                a.tool.get_or_insert(tool);
            }
            if factors::service_mediated(e) {
                a.service_reads += 1;
            }
        } else if e.op == Op::ObjectDelete && e.source != Source::WANDB {
            // W&B deletions (projects, runs, artifacts) are `scan.wandb_deletion_burst`'s.
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
        let seen = std::mem::take(&mut *self.seen());
        let audit_buckets = seen.audit_buckets;
        // Decrypts join their principal-hour (or make one: a trail without S3 data events).
        for (key, d) in seen.decrypts {
            let a = self
                .reads
                .entry(key)
                .or_insert_with(|| HourAgg::new(d.first));
            a.decrypts += d.count;
            a.ml_objects = a.ml_objects.max(d.ml);
        }
        // Bulk download: walk each principal's hours in time order.
        for ((p, _hour), a) in std::mem::take(&mut self.reads) {
            let e = &a.first;
            let learning = cx.in_baseline(e);
            // Objects read: the read calls' count, or the decrypts when the trail has more
            // of them (S3 data events not logged, or logged only in part).
            let objects = a.objects.max(a.decrypts);
            let hist = b.principals.entry(p).or_default();
            let (prior_objects, prior_bytes, prior_hours) = (
                hist.max_hourly_objects,
                hist.max_hourly_bytes,
                hist.active_hours,
            );
            hist.max_hourly_objects = hist.max_hourly_objects.max(objects);
            hist.max_hourly_bytes = hist.max_hourly_bytes.max(a.bytes);
            hist.active_hours += 1;
            if learning {
                continue;
            }
            let (flag, basis) = if prior_hours == 0 {
                (
                    objects >= s.bulk_objects_per_hour || a.bytes >= s.bulk_bytes_per_hour,
                    "no history: absolute thresholds".to_string(),
                )
            } else {
                let by_count = objects >= s.bulk_min_objects
                    && objects as f64 > s.bulk_ratio * prior_objects as f64;
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
            // The severity model (docs/scan.md, "Severity model"): a floor, at most one
            // level up for the raising factors, one down for service-mediated reads.
            let mut why: Vec<&str> = Vec::new();
            let mut floor = Severity::Medium;
            if a.ml_objects > 0 {
                floor = Severity::High;
                why.push("ml_asset");
            }
            let service = a.reads > 0 && a.service_reads * 2 > a.reads;
            let human = factors::human(e);
            let far = prior_hours == 0
                && human
                && !service
                && (objects as f64 >= s.bulk_far_factor * s.bulk_objects_per_hour as f64
                    || a.bytes >= s.bulk_far_factor * s.bulk_bytes_per_hour);
            if far {
                floor = Severity::High;
                why.push("first_time_human_far_beyond");
            }
            let audit_objects: u64 = a.audit_key_objects.max(
                a.buckets
                    .iter()
                    .filter(|(bk, _)| audit_bucket(cx, &audit_buckets, bk))
                    .map(|(_, n)| *n)
                    .sum(),
            );
            let mut sev = floor;
            if audit_objects > 0 {
                sev = factors::up(floor);
                why.push("audit_log_bucket");
            }
            let tool = (a.reads > 0 && a.tool_reads * 2 >= a.reads)
                .then_some(a.tool)
                .flatten();
            if tool.is_some() {
                sev = factors::up(floor);
                why.push("recursive_copy_tool");
            }
            if service {
                sev = factors::down(sev);
                why.push("service_mediated");
            }
            let kinds: Vec<&str> = a.kinds.iter().map(|k| k.as_str()).collect();
            let what = if kinds.is_empty() {
                "objects".to_string()
            } else {
                kinds.join(", ")
            };
            let mut title = format!(
                "bulk download: {objects} objects ({} ML assets, {:.1} MiB) in one hour ({what})",
                a.ml_objects,
                a.bytes / 1048576.0
            );
            if audit_objects > 0 {
                title.push_str(&format!(", {audit_objects} from the audit-log bucket"));
            }
            if let Some(t) = tool {
                title.push_str(&format!(", with {t}"));
            }
            let mut f = cx
                .finding("scan.bulk_download", sev, e, title)
                .with("objects", objects)
                .with("ml_objects", a.ml_objects)
                .with("bytes", a.bytes)
                .with(
                    "buckets",
                    a.buckets.keys().take(10).cloned().collect::<Vec<_>>(),
                )
                .with("basis", basis)
                .with("human", human)
                .with("severity_factors", why);
            if a.decrypts > 0 {
                f = f.with("kms_decrypts", a.decrypts);
            }
            if audit_objects > 0 {
                f = f.with("audit_log_objects", audit_objects);
            }
            if let Some(t) = tool {
                f = f.with("tool", t);
            }
            if let Some(ua) = &e.user_agent {
                f = f.with("user_agent", ua.clone());
            }
            out.push(super::spanned(f, a.last, a.reads.max(a.decrypts)));
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
        let decrypts = self
            .decrypt_events
            .load(std::sync::atomic::Ordering::Relaxed);
        vec![
            Coverage::new(
                "scan.bulk_download",
                reads > 0 || decrypts > 0,
                "blind",
                if reads > 0 {
                    format!("{reads} object-read events")
                } else if decrypts > 0 {
                    format!("no object-read events; {decrypts} SSE-KMS decrypts of S3 objects stand in for them")
                } else {
                    "no object-level data events (S3 data events, GCS data_access, Azure StorageRead, W&B artifact:read) in the input".into()
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
