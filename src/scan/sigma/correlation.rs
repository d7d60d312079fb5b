//! Sigma v2 correlation rules (`correlation:` documents): `event_count`, `value_count`,
//! `temporal`, `temporal_ordered` over the matches of the base rules they name.
//!
//! The scan reads files in parallel and out of time order, so base-rule matches are first
//! collected as small [`BaseHit`]s (capped; see `docs/sigma.md`), then sorted by time and
//! swept once per correlation with one sliding window per group-by key. Groups whose last
//! event is older than the timespan are closed and forgotten, so the live state is what the
//! last `timespan` of activity needs; the number of live groups is capped as well, and every
//! hit or group left out is counted in [`CorrStats`].

use super::ystr;
use crate::finding::{Finding, Location, Severity};
use serde_json::{json, Map, Value};
use serde_norway::Value as Y;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// Longest accepted `timespan` (a year): a bigger one is a typo or a hostile rule.
pub const MAX_TIMESPAN_MS: i64 = 366 * 24 * 3600 * 1000;
/// Largest accepted condition threshold.
pub const MAX_THRESHOLD: u64 = 1_000_000;
/// Distinct values listed in a `value_count` finding (the count is exact, the list is not).
const MAX_VALUES_SHOWN: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Eq => "eq",
        }
    }
    fn holds(self, have: u64, want: u64) -> bool {
        match self {
            Op::Gt => have > want,
            Op::Gte => have >= want,
            Op::Lt => have < want,
            Op::Lte => have <= want,
            Op::Eq => have == want,
        }
    }
}

/// A parsed correlation document, its `rules:` not yet resolved to loaded rules.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub id: String,
    pub title: String,
    pub name: Option<String>,
    pub file: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub kind: Kind,
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_ms: i64,
    pub timespan_text: String,
    /// ANDed criteria (`gt: 100` + `lte: 200` is a range); empty for temporal = all rules.
    pub cond: Vec<(Op, u64)>,
    pub field: Option<String>,
    pub generate: bool,
    /// alias → (rule reference → field).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
}

/// A correlation whose base rules are loaded.
#[derive(Debug, Clone)]
pub(crate) struct Correlation {
    pub spec: Spec,
    /// Index of each base rule in the rule set, in `rules:` order (`usize::MAX` where the
    /// position is a correlation, see `chain`).
    pub bases: Vec<usize>,
    /// Per position: the index of the correlation named there (chained correlations).
    pub chain: Vec<Option<usize>>,
    /// `(parent correlation, position)` of every correlation that names this one.
    pub uses: Vec<(u32, u16)>,
    /// Whether its findings are reported: false when a parent names it with
    /// `generate: false` (only the outermost correlation reports, as the spec says).
    pub emit: bool,
    /// Per base position: the record field of each group-by column (aliases applied).
    pub group_fields: Vec<Vec<String>>,
    /// Per base position: the `value_count` field (aliases applied).
    pub value_field: Vec<Option<String>>,
}

/// Parse `timespan`: a number and one lowercase letter, `s`, `m`, `h` or `d` (spec).
pub(crate) fn parse_timespan(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let bad = || format!("timespan '{s}' is not a number followed by s, m, h or d");
    let unit = s.chars().last().ok_or_else(bad)?;
    let mult: i64 = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return Err(bad()),
    };
    let n: i64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
    let ms = n.checked_mul(mult).ok_or_else(bad)?;
    if ms <= 0 || ms > MAX_TIMESPAN_MS {
        return Err(format!("timespan '{s}' must be between 1s and 366d"));
    }
    Ok(ms)
}

/// Compile a `correlation:` document.
pub(crate) fn compile(
    m: &serde_norway::Mapping,
    file: &str,
    id: String,
    title: String,
    severity: Severity,
    tags: Vec<String>,
) -> Result<Spec, String> {
    let get = |k: &str| m.get(Y::String(k.into()));
    let Some(Y::Mapping(c)) = get("correlation") else {
        return Err("'correlation' is not a mapping".into());
    };
    let cg = |k: &str| c.get(Y::String(k.into()));
    for (k, _) in c {
        let k = ystr(Some(k)).unwrap_or_default();
        if ![
            "type",
            "rules",
            "group-by",
            "timespan",
            "condition",
            "generate",
            "aliases",
        ]
        .contains(&k.as_str())
        {
            return Err(format!("correlation: unknown attribute '{k}'"));
        }
    }
    let kind = match ystr(cg("type")).as_deref() {
        Some("event_count") => Kind::EventCount,
        Some("value_count") => Kind::ValueCount,
        Some("temporal") => Kind::Temporal,
        Some("temporal_ordered") => Kind::TemporalOrdered,
        Some(other) => return Err(format!("correlation: unknown type '{other}'")),
        None => return Err("correlation: no 'type'".into()),
    };
    let strings = |v: Option<&Y>, what: &str| -> Result<Vec<String>, String> {
        match v {
            None | Some(Y::Null) => Ok(Vec::new()),
            Some(Y::Sequence(s)) => s
                .iter()
                .map(|x| {
                    ystr(Some(x))
                        .ok_or_else(|| format!("correlation: '{what}' has a non-string entry"))
                })
                .collect(),
            Some(other) => ystr(Some(other))
                .map(|s| vec![s])
                .ok_or_else(|| format!("correlation: '{what}' is not a list of strings")),
        }
    };
    let rules = strings(cg("rules"), "rules")?;
    if rules.is_empty() {
        return Err("correlation: no 'rules'".into());
    }
    if rules.len() > 64 {
        return Err("correlation: more than 64 rules".into());
    }
    let group_by = strings(cg("group-by"), "group-by")?;
    if group_by.len() > 16 {
        return Err("correlation: more than 16 group-by fields".into());
    }
    let timespan_text = ystr(cg("timespan")).ok_or("correlation: no 'timespan'")?;
    let timespan_ms = parse_timespan(&timespan_text).map_err(|e| format!("correlation: {e}"))?;
    let mut cond = Vec::new();
    let mut field = None;
    match cg("condition") {
        None | Some(Y::Null) => {}
        Some(Y::Mapping(cm)) => {
            for (k, v) in cm {
                let k = ystr(Some(k)).unwrap_or_default();
                let op = match k.as_str() {
                    "gt" => Op::Gt,
                    "gte" => Op::Gte,
                    "lt" => Op::Lt,
                    "lte" => Op::Lte,
                    "eq" => Op::Eq,
                    "field" => {
                        field = Some(
                            ystr(Some(v))
                                .ok_or("correlation: condition 'field' is not a string")?,
                        );
                        continue;
                    }
                    other => return Err(format!("correlation: unknown condition '{other}'")),
                };
                let n = match v {
                    Y::Number(n) => n.as_u64(),
                    Y::String(s) => s.trim().parse().ok(),
                    _ => None,
                }
                .ok_or_else(|| format!("correlation: condition {k} is not a whole number ≥ 0"))?;
                if n > MAX_THRESHOLD {
                    return Err(format!(
                        "correlation: condition {k}: {n} is above the limit {MAX_THRESHOLD}"
                    ));
                }
                cond.push((op, n));
            }
        }
        Some(_) => return Err("correlation: 'condition' is not a mapping".into()),
    }
    match kind {
        Kind::EventCount | Kind::ValueCount if cond.is_empty() => {
            return Err(format!(
                "correlation: {} needs a condition (gt, gte, lt, lte or eq)",
                kind.as_str()
            ))
        }
        Kind::ValueCount if field.is_none() => {
            return Err("correlation: value_count needs 'field' in its condition".into())
        }
        Kind::EventCount | Kind::Temporal | Kind::TemporalOrdered if field.is_some() => {
            return Err(format!(
                "correlation: 'field' only applies to value_count, not {}",
                kind.as_str()
            ))
        }
        Kind::TemporalOrdered if !cond.iter().all(|(op, n)| op.holds(rules.len() as u64, *n)) => {
            // An ordered sequence is complete or not; a partial count would need a choice of
            // which subsequence counts, which the spec does not make.
            return Err(
                "correlation: temporal_ordered with a condition other than 'all rules in order' is not supported"
                    .into(),
            );
        }
        _ => {}
    }
    let generate = match cg("generate") {
        None | Some(Y::Null) => false,
        Some(Y::Bool(b)) => *b,
        Some(_) => return Err("correlation: 'generate' is not true or false".into()),
    };
    let mut aliases = BTreeMap::new();
    match cg("aliases") {
        None | Some(Y::Null) => {}
        Some(Y::Mapping(am)) => {
            for (k, v) in am {
                let alias = ystr(Some(k)).ok_or("correlation: alias name is not a string")?;
                let Y::Mapping(per) = v else {
                    return Err(format!("correlation: alias '{alias}' is not a mapping"));
                };
                let mut map = BTreeMap::new();
                for (r, f) in per {
                    let r = ystr(Some(r))
                        .ok_or_else(|| format!("correlation: alias '{alias}': bad rule name"))?;
                    let f = ystr(Some(f))
                        .ok_or_else(|| format!("correlation: alias '{alias}': bad field"))?;
                    map.insert(r, f);
                }
                aliases.insert(alias, map);
            }
        }
        Some(_) => return Err("correlation: 'aliases' is not a mapping".into()),
    }
    Ok(Spec {
        id,
        title,
        name: ystr(get("name")),
        file: file.to_string(),
        severity,
        tags,
        kind,
        rules,
        group_by,
        timespan_ms,
        timespan_text,
        cond,
        field,
        generate,
        aliases,
    })
}

/// One match of a base rule, for one correlation that names it.
#[derive(Debug, Clone)]
pub struct BaseHit {
    /// Correlation index in the rule set.
    pub corr: u32,
    /// Position of the base rule in the correlation's `rules:`.
    pub pos: u16,
    /// Group-by values (`None`: the field is absent or null).
    pub key: Vec<Option<String>>,
    /// `value_count` field value (`None`: absent, not counted).
    pub value: Option<String>,
    /// Event time, milliseconds since the epoch (`None`: cannot be correlated, counted).
    pub time_ms: Option<i64>,
    pub at: Option<Location>,
}

/// What one correlation saw, for the report (nothing left out silently).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CorrStats {
    pub id: String,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub file: String,
    /// Base-rule matches swept.
    pub base_matches: u64,
    /// Base-rule matches without an event time (not correlated).
    pub without_time: u64,
    /// Findings produced.
    pub findings: u64,
    /// Most groups alive at once.
    pub peak_groups: u64,
    /// Distinct group keys refused because `max_groups` were alive (counted by key hash).
    pub dropped_groups: u64,
    /// Base-rule matches of those refused groups.
    pub dropped_matches: u64,
}

/// An open run of windows that satisfy a count condition.
struct Episode {
    start: i64,
    fired_at: i64,
    end: i64,
    events: u64,
    values: BTreeSet<String>,
    distinct: u64,
    at: Option<Location>,
}

#[derive(Default)]
struct Group {
    last: i64,
    times: VecDeque<i64>,
    vals: VecDeque<(i64, String)>,
    counts: HashMap<String, u64>,
    /// temporal: latest match time per rule position; temporal_ordered: start time of
    /// the latest-starting partial chain ending at each position.
    slots: Vec<Option<i64>>,
    episode: Option<Episode>,
}

fn rfc3339(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into())
        .unwrap_or(Value::Null)
}

impl Correlation {
    fn cond_holds(&self, n: u64) -> bool {
        if self.spec.cond.is_empty() {
            // temporal without a condition: every rule.
            return n >= self.bases.len() as u64;
        }
        self.spec.cond.iter().all(|(op, want)| op.holds(n, *want))
    }

    fn cond_text(&self) -> String {
        if self.spec.cond.is_empty() {
            return format!("all {} rules", self.bases.len());
        }
        self.spec
            .cond
            .iter()
            .map(|(op, n)| format!("{} {n}", op.as_str()))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// Run the correlation over its hits (any order; sorted here).
    pub(crate) fn sweep(
        &self,
        index: usize,
        mut hits: Vec<BaseHit>,
        rule_titles: &[(String, String)],
        max_groups: usize,
    ) -> (Vec<Finding>, CorrStats) {
        let spec = &self.spec;
        let mut st = CorrStats {
            id: spec.id.clone(),
            title: spec.title.clone(),
            kind: spec.kind.as_str().into(),
            file: spec.file.clone(),
            base_matches: hits.len() as u64,
            ..Default::default()
        };
        let before = hits.len();
        hits.retain(|h| h.time_ms.is_some());
        st.without_time = (before - hits.len()) as u64;
        // Equal times: earlier rule positions first, so same-second events count as in
        // order for temporal_ordered (CloudTrail has one-second resolution and files are
        // not time-sorted).
        hits.sort_by(|a, b| {
            (a.time_ms, a.pos)
                .cmp(&(b.time_ms, b.pos))
                .then_with(|| loc_key(&a.at).cmp(&loc_key(&b.at)))
        });
        let t_span = spec.timespan_ms;
        let mut groups: HashMap<Vec<Option<String>>, Group> = HashMap::new();
        // (last time, key) of every live group, to close stale ones in time order.
        let mut by_last: BTreeSet<(i64, Vec<Option<String>>)> = BTreeSet::new();
        let mut refused: HashSet<u64> = HashSet::new();
        let mut out = Vec::new();
        for h in hits {
            let Some(t) = h.time_ms else { continue };
            // Close groups with no event in the last timespan.
            while let Some((last, _)) = by_last.first() {
                if t - *last <= t_span {
                    break;
                }
                if let Some((_, key)) = by_last.pop_first() {
                    if let Some(mut g) = groups.remove(&key) {
                        self.close(index, &key, &mut g, rule_titles, &mut out);
                    }
                }
            }
            if !groups.contains_key(&h.key) {
                if groups.len() >= max_groups {
                    st.dropped_matches += 1;
                    // At most 1M refused keys are remembered (8 MiB); past that the
                    // count is a lower bound.
                    if refused.len() < 1 << 20 {
                        use std::hash::{Hash, Hasher};
                        let mut fixed = FixedHasher::default();
                        h.key.hash(&mut fixed);
                        refused.insert(fixed.finish());
                    }
                    continue;
                }
                groups.insert(
                    h.key.clone(),
                    Group {
                        last: t,
                        slots: vec![None; self.bases.len()],
                        ..Default::default()
                    },
                );
                st.peak_groups = st.peak_groups.max(groups.len() as u64);
            }
            let Some(g) = groups.get_mut(&h.key) else {
                continue;
            };
            by_last.remove(&(g.last, h.key.clone()));
            g.last = t;
            by_last.insert((t, h.key.clone()));
            self.step(index, &h, t, g, rule_titles, &mut out);
        }
        for (key, mut g) in groups {
            self.close(index, &key, &mut g, rule_titles, &mut out);
        }
        st.dropped_groups = refused.len() as u64;
        st.findings = out.len() as u64;
        (out, st)
    }

    fn step(
        &self,
        index: usize,
        h: &BaseHit,
        t: i64,
        g: &mut Group,
        rule_titles: &[(String, String)],
        out: &mut Vec<Finding>,
    ) {
        let t_span = self.spec.timespan_ms;
        match self.spec.kind {
            Kind::EventCount | Kind::ValueCount => {
                let (n, front) = if self.spec.kind == Kind::EventCount {
                    while g.times.front().is_some_and(|&x| t - x > t_span) {
                        g.times.pop_front();
                    }
                    g.times.push_back(t);
                    (g.times.len() as u64, g.times.front().copied().unwrap_or(t))
                } else {
                    while let Some((x, _)) = g.vals.front() {
                        if t - *x <= t_span {
                            break;
                        }
                        if let Some((_, v)) = g.vals.pop_front() {
                            if let Some(c) = g.counts.get_mut(&v) {
                                *c -= 1;
                                if *c == 0 {
                                    g.counts.remove(&v);
                                }
                            }
                        }
                    }
                    if let Some(v) = &h.value {
                        g.vals.push_back((t, v.clone()));
                        *g.counts.entry(v.clone()).or_insert(0) += 1;
                    }
                    (
                        g.counts.len() as u64,
                        g.vals.front().map(|(x, _)| *x).unwrap_or(t),
                    )
                };
                if self.cond_holds(n) {
                    match &mut g.episode {
                        Some(e) => {
                            e.end = t;
                            e.events += 1;
                            if let Some(v) = &h.value {
                                if !e.values.contains(v) {
                                    e.distinct += 1;
                                    if e.values.len() < MAX_VALUES_SHOWN {
                                        e.values.insert(v.clone());
                                    }
                                }
                            }
                        }
                        None => {
                            let values: BTreeSet<String> =
                                g.counts.keys().take(MAX_VALUES_SHOWN).cloned().collect();
                            g.episode = Some(Episode {
                                start: front,
                                fired_at: t,
                                end: t,
                                events: if self.spec.kind == Kind::EventCount {
                                    n
                                } else {
                                    g.vals.len() as u64
                                },
                                values,
                                distinct: g.counts.len() as u64,
                                at: h.at.clone(),
                            });
                        }
                    }
                } else if g.episode.is_some() {
                    self.close(index, &h.key, g, rule_titles, out);
                }
            }
            Kind::Temporal => {
                let p = h.pos as usize;
                if let Some(s) = g.slots.get_mut(p) {
                    *s = Some(t);
                }
                let live: Vec<(usize, i64)> = g
                    .slots
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.filter(|&x| t - x <= t_span).map(|x| (i, x)))
                    .collect();
                if self.cond_holds(live.len() as u64) {
                    let start = live.iter().map(|(_, x)| *x).min().unwrap_or(t);
                    let rules: Vec<usize> = live.iter().map(|(i, _)| *i).collect();
                    out.push(self.finding(
                        index,
                        &h.key,
                        start,
                        t,
                        t,
                        live.len() as u64,
                        None,
                        &rules,
                        rule_titles,
                        h.at.clone(),
                    ));
                    g.slots.iter_mut().for_each(|s| *s = None);
                }
            }
            Kind::TemporalOrdered => {
                let p = h.pos as usize;
                let last = self.bases.len() - 1;
                let start = if p == 0 {
                    Some(t)
                } else {
                    g.slots
                        .get(p - 1)
                        .copied()
                        .flatten()
                        .filter(|&s| t - s <= t_span)
                };
                let Some(s) = start else { return };
                if p == last {
                    let rules: Vec<usize> = (0..self.bases.len()).collect();
                    out.push(self.finding(
                        index,
                        &h.key,
                        s,
                        t,
                        t,
                        self.bases.len() as u64,
                        None,
                        &rules,
                        rule_titles,
                        h.at.clone(),
                    ));
                    g.slots.iter_mut().for_each(|x| *x = None);
                } else if let Some(slot) = g.slots.get_mut(p) {
                    // The latest-starting chain is the one most likely to finish in time.
                    *slot = Some(slot.map_or(s, |old| old.max(s)));
                }
            }
        }
    }

    fn close(
        &self,
        index: usize,
        key: &[Option<String>],
        g: &mut Group,
        rule_titles: &[(String, String)],
        out: &mut Vec<Finding>,
    ) {
        if let Some(e) = g.episode.take() {
            let values = (self.spec.kind == Kind::ValueCount).then_some((e.values, e.distinct));
            let rules: Vec<usize> = (0..self.bases.len()).collect();
            out.push(self.finding(
                index,
                key,
                e.start,
                e.fired_at,
                e.end,
                e.events,
                values,
                &rules,
                rule_titles,
                e.at,
            ));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        _index: usize,
        key: &[Option<String>],
        start: i64,
        fired_at: i64,
        end: i64,
        count: u64,
        values: Option<(BTreeSet<String>, u64)>,
        rule_pos: &[usize],
        rule_titles: &[(String, String)],
        at: Option<Location>,
    ) -> Finding {
        let spec = &self.spec;
        let mut group = Map::new();
        for (f, v) in spec.group_by.iter().zip(key) {
            group.insert(
                f.clone(),
                v.clone().map(Value::String).unwrap_or(Value::Null),
            );
        }
        let subject = if group.is_empty() {
            "(all events)".to_string()
        } else {
            spec.group_by
                .iter()
                .zip(key)
                .map(|(f, v)| format!("{f}={}", v.as_deref().unwrap_or("(none)")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let bases: Vec<Value> = rule_pos
            .iter()
            .filter_map(|&p| rule_titles.get(p))
            .map(|(id, title)| json!({"id": id, "title": title}))
            .collect();
        let mut f = Finding::new(
            format!("sigma.{}", spec.id),
            spec.severity,
            subject,
            spec.title.clone(),
        )
        .with("rule_file", spec.file.clone())
        .with("rule_id", spec.id.clone())
        .with("correlation", spec.kind.as_str())
        .with("group", Value::Object(group))
        .with("window_start", rfc3339(start))
        .with("window_end", rfc3339(end))
        .with("time", rfc3339(fired_at))
        .with("timespan", spec.timespan_text.clone())
        .with("condition", self.cond_text())
        .with("base_rules", Value::Array(bases));
        // `event_count`: the base-rule matches behind the finding, the key the timeline
        // view reads for every aggregating finding.
        f = f.with("event_count", count);
        match (spec.kind, values) {
            (Kind::ValueCount, Some((vals, distinct))) => {
                f = f
                    .with("count", distinct)
                    .with("events", count)
                    .with("field", spec.field.clone().unwrap_or_default())
                    .with(
                        "values",
                        Value::Array(vals.into_iter().map(Value::String).collect()),
                    );
            }
            (Kind::EventCount, _) => f = f.with("count", count),
            _ => f = f.with("count", count).with("rules_matched", count),
        }
        f.tags = spec.tags.clone();
        f.location = at;
        f
    }
}

fn loc_key(l: &Option<Location>) -> (&str, u64, u64) {
    match l {
        Some(l) => (l.file.as_str(), l.record.unwrap_or(0), l.line.unwrap_or(0)),
        None => ("", 0, 0),
    }
}

/// FNV-1a: a deterministic hash for counting refused group keys.
struct FixedHasher(u64);

impl Default for FixedHasher {
    fn default() -> Self {
        FixedHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FixedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
