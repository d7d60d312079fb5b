//! One finding for a Sigma rule that matches most of the input.
//!
//! Rule sets carry rules that match nearly every record of a kind (Suzaku's `level: high`
//! "AWS S3 GetObject" matches every S3 data event): one finding per record made a scan of
//! 466,000 events hold 466,000 findings (1.6 GB) and print a report nobody reads. Past
//! `[sigma] aggregate_above` matches of one rule (default [`DEFAULT_AGGREGATE_ABOVE`]),
//! the rule's matches become one finding with the count, the first and last match, and
//! the principals that matched most.
//!
//! Memory: while files are read, each file keeps its first `aggregate_above` findings
//! per rule whole; later matches of that rule in that file are kept as an [`Overflow`]
//! entry of about 90 bytes (the record reference, the time, an index into the file's
//! distinct principals), so repeated deliveries can still be dropped exactly (the
//! deduplication is only known once every file is read) and the aggregate counts each
//! event once.

use crate::finding::{Finding, Location};
use crate::input::logs::RecordRef;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Default number of matches of one rule above which they are aggregated.
pub const DEFAULT_AGGREGATE_ABOVE: usize = 100;

/// Principals named in an aggregate's evidence (the most frequent first).
const TOP_PRINCIPALS: usize = 10;

/// Matches of one rule in one file past the file's allowance of whole findings.
#[derive(Debug)]
pub struct Overflow {
    /// The first overflowing match, whole: the aggregate's id, title, tags and evidence
    /// come from it when no whole finding of the rule survives deduplication.
    template: Finding,
    principals: Vec<String>,
    index: HashMap<String, u32>,
    matches: Vec<(RecordRef, Option<i64>, u32)>,
}

impl Overflow {
    fn new(template: Finding) -> Overflow {
        Overflow {
            template,
            principals: Vec::new(),
            index: HashMap::new(),
            matches: Vec::new(),
        }
    }

    fn push(&mut self, at: RecordRef, time_ms: Option<i64>, principal: &str) {
        let i = match self.index.get(principal) {
            Some(&i) => i,
            None => {
                let i = self.principals.len() as u32;
                self.principals.push(principal.to_string());
                self.index.insert(principal.to_string(), i);
                i
            }
        };
        self.matches.push((at, time_ms, i));
    }
}

/// Per-file side: which Sigma findings stay whole, which become overflow entries.
pub struct PerFile {
    above: usize,
    seen: HashMap<String, usize>,
    overflow: BTreeMap<String, Overflow>,
}

impl PerFile {
    pub fn new(above: usize) -> PerFile {
        PerFile {
            above,
            seen: HashMap::new(),
            overflow: BTreeMap::new(),
        }
    }

    /// `Some(f)`: keep `f` whole; `None`: it was folded into the rule's overflow entry.
    /// `f` must already carry its subject (the principal).
    pub fn offer(&mut self, f: Finding, at: &RecordRef, time_ms: Option<i64>) -> Option<Finding> {
        let n = self.seen.entry(f.id.clone()).or_insert(0);
        *n += 1;
        if *n <= self.above {
            return Some(f);
        }
        let o = self.overflow.entry(f.id.clone()).or_insert_with(|| {
            let mut t = f.clone();
            t.evidence.remove("matched_selections");
            Overflow::new(t)
        });
        o.push(at.clone(), time_ms, &f.subject);
        None
    }

    pub fn finish(self) -> impl Iterator<Item = Overflow> {
        self.overflow.into_values()
    }
}

/// One rule's matches over the whole scan.
#[derive(Default)]
struct Group {
    whole: Vec<Finding>,
    template: Option<Finding>,
    count: usize,
    first: Option<(i64, Location)>,
    last: Option<i64>,
    /// Location of the first match seen when no match has a time.
    any_location: Option<Location>,
    principals: HashMap<String, usize>,
    /// Some match survives only as an overflow entry.
    forced: bool,
}

impl Group {
    fn note(&mut self, principal: &str, time_ms: Option<i64>, at: impl FnOnce() -> Location) {
        self.count += 1;
        *self.principals.entry(principal.to_string()).or_insert(0) += 1;
        match time_ms {
            Some(t) => {
                if self.first.as_ref().is_none_or(|(f, _)| t < *f) {
                    self.first = Some((t, at()));
                }
                if self.last.is_none_or(|l| t > l) {
                    self.last = Some(t);
                }
            }
            None => {
                if self.any_location.is_none() {
                    self.any_location = Some(at());
                }
            }
        }
    }
}

/// Whole-scan side: gathers the surviving matches of every rule (after deduplication).
pub struct Aggregator {
    above: usize,
    groups: BTreeMap<String, Group>,
}

fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

impl Aggregator {
    pub fn new(above: usize) -> Aggregator {
        Aggregator {
            above: above.max(1),
            groups: BTreeMap::new(),
        }
    }

    /// A whole Sigma finding that survived deduplication.
    pub fn finding(&mut self, f: Finding) {
        let g = self.groups.entry(f.id.clone()).or_default();
        let t = f.evidence_time("time").map(|t| t.timestamp_millis());
        g.note(&f.subject, t, || f.location.clone().unwrap_or_default());
        if g.template.is_none() {
            let mut t = f.clone();
            t.evidence.remove("matched_selections");
            g.template = Some(t);
        }
        // Whole findings are only worth keeping while the rule may stay under the bar.
        if g.count <= self.above && !g.forced {
            g.whole.push(f);
        } else {
            g.whole = Vec::new();
        }
    }

    /// A file's overflow entry; `repeat` says which records were repeated deliveries.
    pub fn overflow(&mut self, o: Overflow, repeat: &dyn Fn(&Location) -> bool) {
        let g = self.groups.entry(o.template.id.clone()).or_default();
        let mut any = false;
        for (at, t, p) in o.matches {
            let loc = at.location();
            if repeat(&loc) {
                continue;
            }
            any = true;
            let principal = o.principals.get(p as usize).map_or("", String::as_str);
            g.note(principal, t, || loc);
        }
        if any {
            // Its matches have no whole findings: the rule is aggregated whatever its
            // count after deduplication.
            g.forced = true;
            g.whole = Vec::new();
            if g.template.is_none() {
                g.template = Some(o.template);
            }
        }
    }

    /// Whole findings of the rules at or under the bar; one aggregate per rule above it.
    pub fn finish(self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (_, g) in self.groups {
            if g.count <= self.above && !g.forced {
                out.extend(g.whole);
                continue;
            }
            let Some(mut f) = g.template else { continue };
            let mut top: Vec<(String, usize)> = g.principals.into_iter().collect();
            let distinct = top.len();
            top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            f.subject = match top.as_slice() {
                [(only, _)] => only.clone(),
                _ => format!("{distinct} principals"),
            };
            f.title = format!("{} ({} matching events, aggregated)", f.title, g.count);
            f.location = g.first.as_ref().map(|(_, l)| l.clone()).or(g.any_location);
            f.evidence.remove("action");
            f.evidence.remove("time");
            f.evidence.insert("aggregated".into(), true.into());
            f.evidence.insert("event_count".into(), g.count.into());
            if let Some(t) = g.first.as_ref().and_then(|(t, _)| rfc3339(*t)) {
                f.evidence.insert("time".into(), t.into());
            }
            if let Some(t) = g.last.and_then(rfc3339) {
                f.evidence.insert("last_seen".into(), t.into());
            }
            f.evidence.insert("principal_count".into(), distinct.into());
            let mut ps = Map::new();
            for (p, n) in top.into_iter().take(TOP_PRINCIPALS) {
                ps.insert(p, Value::from(n));
            }
            f.evidence.insert("principals".into(), Value::Object(ps));
            out.push(f);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use std::path::Path;
    use std::sync::Arc;

    fn hit(rule: &str, who: &str, i: u64, file: &Arc<Path>) -> (Finding, RecordRef, i64) {
        let at = RecordRef {
            file: file.clone(),
            index: Some(i),
            line: None,
        };
        let t = 1_700_000_000_000 + i as i64 * 1000;
        let mut f = Finding::new(format!("sigma.{rule}"), Severity::High, who, "GetObject")
            .with("rule_id", rule)
            .with("time", rfc3339(t).unwrap());
        f.location = Some(at.location());
        (f, at, t)
    }

    /// Feed `n` matches of `rule` from one file through both sides.
    fn run(
        above: usize,
        files: &[(&str, u64)],
        repeat: &dyn Fn(&Location) -> bool,
    ) -> Vec<Finding> {
        let mut agg = Aggregator::new(above);
        for (name, n) in files {
            let file: Arc<Path> = Arc::from(Path::new(name));
            let mut pf = PerFile::new(above);
            for i in 0..*n {
                let who = if i % 3 == 0 { "alice" } else { "bob" };
                let (f, at, t) = hit("r1", who, i, &file);
                if let Some(f) = pf.offer(f, &at, Some(t)) {
                    if !repeat(f.location.as_ref().unwrap()) {
                        agg.finding(f);
                    }
                }
            }
            for o in pf.finish() {
                agg.overflow(o, repeat);
            }
        }
        agg.finish()
    }

    #[test]
    fn under_the_bar_every_match_is_its_own_finding() {
        let out = run(100, &[("a.json", 60), ("b.json", 40)], &|_| false);
        assert_eq!(out.len(), 100);
        assert!(out.iter().all(|f| !f.evidence.contains_key("aggregated")));
    }

    #[test]
    fn above_the_bar_one_finding_counts_every_match() {
        let out = run(100, &[("a.json", 250), ("b.json", 60)], &|_| false);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(f.evidence["event_count"], 310);
        assert_eq!(f.evidence["aggregated"], true);
        assert_eq!(f.evidence["principal_count"], 2);
        // a.json: i = 0..250, one third alice (84), b.json: 0..60, 20 alice.
        assert_eq!(f.evidence["principals"]["alice"], 84 + 20);
        assert_eq!(f.evidence["principals"]["bob"], 310 - 104);
        assert_eq!(f.subject, "2 principals");
        assert_eq!(f.location.as_ref().unwrap().record, Some(0));
        assert_eq!(
            f.evidence["time"],
            rfc3339(1_700_000_000_000).unwrap().as_str()
        );
        assert_eq!(
            f.evidence["last_seen"],
            rfc3339(1_700_000_249_000).unwrap().as_str()
        );
        assert!(f.title.contains("310 matching events"), "{}", f.title);
    }

    #[test]
    fn repeated_deliveries_are_not_counted() {
        // b.json repeats a.json's events 0..150: those are dropped wherever they sit.
        let repeat = |l: &Location| l.file == "b.json" && l.record.is_some_and(|r| r < 150);
        let out = run(100, &[("a.json", 150), ("b.json", 200)], &repeat);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence["event_count"], 200);
        // Only repeats past the bar: the rest stays under it, whole.
        let repeat_all = |l: &Location| l.file == "b.json";
        let out = run(100, &[("a.json", 90), ("b.json", 200)], &repeat_all);
        assert_eq!(out.len(), 90);
        // Survivors only past b.json's allowance (no whole finding for them): aggregated,
        // counting what survived, though under the bar.
        let repeat_most = |l: &Location| l.file == "b.json" && l.record.is_some_and(|r| r < 180);
        let out = run(100, &[("a.json", 10), ("b.json", 200)], &repeat_most);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence["event_count"], 30);
    }

    #[test]
    fn exactly_at_the_bar_stays_whole_one_past_aggregates() {
        assert_eq!(run(5, &[("a.json", 5)], &|_| false).len(), 5);
        let out = run(5, &[("a.json", 6)], &|_| false);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence["event_count"], 6);
    }
}
