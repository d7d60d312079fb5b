//! Drift and poisoning detection between two profiles.
//!
//! Decisions are made on **effect size**, gated by significance: a statistic produces a
//! finding when its value passes the documented medium/high threshold *and* the difference
//! is not explainable by sampling or sketch error. The significance uses
//! - the sketches' stated rank error, subtracted from KS distances before any p-value (a
//!   distance under the sketch error is never significant),
//! - the **effective** sample size: rows × (distinct rows / rows), so a dataset resampled to
//!   200k rows from 500 originals does not count as 200k independent observations,
//! - Benjamini–Hochberg across columns for each family of tests.
//!
//! Thresholds are in `[drift]` (overridable per column); defaults in docs/drift.md.

pub mod columns;
pub mod consistency;
pub mod poison;

use crate::finding::{Finding, Severity};
use crate::profile::sketch::Kll;
use crate::profile::{ColumnProfile, LogicalType, Profile, OTHER_LABEL};
use crate::stats;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// At or above: a `medium` finding. `warn` is the older spelling (accepted in configs).
    #[serde(alias = "warn")]
    pub medium: f64,
    /// At or above: a `high` finding. `alert` is the older spelling.
    #[serde(alias = "alert")]
    pub high: f64,
}

impl Thresholds {
    const fn new(medium: f64, high: f64) -> Self {
        Thresholds { medium, high }
    }
    pub fn level(&self, v: f64) -> Option<Severity> {
        if v >= self.high {
            Some(Severity::High)
        } else if v >= self.medium {
            Some(Severity::Medium)
        } else {
            None
        }
    }
}

/// Per-column overrides (`[drift.columns.NAME]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnSettings {
    pub ignore: Option<bool>,
    pub ks: Option<Thresholds>,
    pub wasserstein: Option<Thresholds>,
    pub psi: Option<Thresholds>,
    pub js: Option<Thresholds>,
    pub linf: Option<Thresholds>,
    pub null_rate: Option<Thresholds>,
    pub range: Option<Thresholds>,
}

/// `[drift]` in mlguard.toml.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Significance level after Benjamini–Hochberg.
    pub alpha: f64,
    pub ks: Thresholds,
    /// Wasserstein-1 divided by the baseline standard deviation.
    pub wasserstein: Thresholds,
    pub psi: Thresholds,
    /// Jensen–Shannon divergence (bits) on categorical frequencies.
    pub js: Thresholds,
    /// Largest change of one category's share.
    pub linf: Thresholds,
    /// Absolute increase of the null (or NaN) rate.
    pub null_rate: Thresholds,
    /// Share of current values outside the baseline's [min, max].
    pub range: Thresholds,
    /// Share of current rows in categories the baseline never saw.
    pub new_category: Thresholds,
    /// Categorical tests run on string columns with at most this many distinct values in
    /// the baseline (above it a column is free text or an identifier).
    pub max_categories: f64,
    /// Row count ratio current / baseline (or its inverse), e.g. 10 = ten times more or fewer.
    pub volume_ratio: Thresholds,
    /// Largest change of one label's share.
    pub label_shift: Thresholds,
    /// Wasserstein / std of a column within one label.
    pub conditional: Thresholds,
    /// Share of current rows whose features match a baseline row with another label.
    pub label_flips: Thresholds,
    /// No longer used (exact tests replaced the z-score, see docs/drift.md); accepted so
    /// that configs written for it still load.
    pub trigger_z: Thresholds,
    /// Rows a trigger candidate (value, token, repeated value) needs.
    pub trigger_min_rows: f64,
    /// q-value under which an exact trigger finding is `medium` (under `alpha`: `high`).
    pub trigger_medium_q: f64,
    /// A trigger value/token must be at most this rare in the baseline.
    pub trigger_max_baseline_share: f64,
    /// Increase of the share of rows in duplicate groups with conflicting labels.
    pub conflicting_duplicates: Thresholds,
    /// Increase of the share of rows that are extra copies of another row.
    pub duplicate_rows: Thresholds,
    pub columns: BTreeMap<String, ColumnSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alpha: 0.01,
            ks: Thresholds::new(0.1, 0.2),
            wasserstein: Thresholds::new(0.1, 0.25),
            psi: Thresholds::new(0.1, 0.25),
            js: Thresholds::new(0.05, 0.1),
            linf: Thresholds::new(0.1, 0.2),
            null_rate: Thresholds::new(0.01, 0.03),
            range: Thresholds::new(0.01, 0.05),
            new_category: Thresholds::new(0.01, 0.05),
            max_categories: 200.0,
            volume_ratio: Thresholds::new(10.0, f64::INFINITY),
            label_shift: Thresholds::new(0.05, 0.1),
            conditional: Thresholds::new(0.15, 0.3),
            label_flips: Thresholds::new(0.001, 0.005),
            trigger_z: Thresholds::new(3.0, 4.0),
            trigger_min_rows: 4.0,
            trigger_medium_q: 0.05,
            trigger_max_baseline_share: 0.001,
            conflicting_duplicates: Thresholds::new(0.001, 0.005),
            duplicate_rows: Thresholds::new(0.01, 0.05),
            columns: BTreeMap::new(),
        }
    }
}

/// Everything `drift` computed: findings plus per-column statistics (for JSON and HTML).
#[derive(Debug, Default)]
pub struct DriftResult {
    pub findings: Vec<Finding>,
    pub columns: Vec<columns::ColumnDrift>,
    /// Effective-size ratios (distinct rows / rows) of baseline and current.
    pub eff: (f64, f64),
    /// Checks that could not run (or did, with what they covered): JSON `coverage`.
    pub coverage: Vec<crate::finding::Coverage>,
}

fn eff_ratio(p: &Profile) -> f64 {
    if p.rows == 0 {
        return 1.0;
    }
    (p.row_fingerprints.distinct.estimate() / p.rows as f64).clamp(1e-9, 1.0)
}

fn finding(id: &str, sev: Severity, subject: &str, title: String) -> Finding {
    Finding::new(id, sev, subject.to_string(), title).tag("atlas:AML.T0020")
}

fn round(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1e6).round() / 1e6
    } else {
        x
    }
}

/// One statistic of one column against its thresholds: the finding (with the documented
/// evidence fields) when it reaches its `medium` threshold, else `None`. `pq` = (p-value, BH q-value) for
/// statistics that were also tested.
fn stat_finding(
    id: &str,
    column: &str,
    title: String,
    stat: &str,
    val: f64,
    th: Thresholds,
    pq: Option<(f64, f64)>,
) -> Option<Finding> {
    let sev = th.level(val)?;
    let mut f = finding(id, sev, column, title)
        .with("column", column.to_string())
        .with("statistic", stat)
        .with("value", round(val))
        .with("threshold_medium", th.medium)
        .with("threshold_high", th.high);
    if let Some((p, q)) = pq {
        f = f.with("p_value", p).with("q_value", q);
    }
    Some(f)
}

struct Ctx<'a> {
    s: &'a Settings,
    base: &'a Profile,
    cur: &'a Profile,
    eb: f64,
    ec: f64,
    out: DriftResult,
}

/// Share of `k`'s values outside [lo, hi] (estimated from ranks).
fn outside(k: &Kll, lo: f64, hi: f64) -> f64 {
    if k.count() == 0 {
        return 0.0;
    }
    let below_lo = k.rank(lo - (lo.abs() * 1e-12 + 1e-300));
    (below_lo + (1.0 - k.rank(hi))).clamp(0.0, 1.0)
}

/// Compare `cur` against `base`.
pub fn compare(base: &Profile, cur: &Profile, s: &Settings) -> DriftResult {
    let mut c = Ctx {
        s,
        base,
        cur,
        eb: eff_ratio(base),
        ec: eff_ratio(cur),
        out: DriftResult::default(),
    };
    c.out.eff = (c.eb, c.ec);
    c.schema_and_volume();
    c.columns();
    if base.label.is_some() && cur.label.is_some() {
        c.labels();
        c.conditional();
    }
    c.flips_and_duplicates();
    poison::check(base, cur, s, (c.eb, c.ec), &mut c.out.findings);
    if let Some(cov) = consistency::check(base, cur, s, &mut c.out.findings) {
        c.out.coverage.push(cov);
    }
    c.out
}

impl<'a> Ctx<'a> {
    fn col_settings(&self, name: &str) -> ColumnSettings {
        self.s.columns.get(name).cloned().unwrap_or_default()
    }

    fn schema_and_volume(&mut self) {
        let label = self.base.settings.label.clone().unwrap_or_default();
        for b in &self.base.columns {
            if self.col_settings(&b.name).ignore == Some(true) {
                continue;
            }
            match self.cur.column(&b.name) {
                None => self.out.findings.push(
                    finding(
                        "drift.schema.missing_column",
                        Severity::High,
                        &b.name,
                        format!("column '{}' is missing from the current data", b.name),
                    )
                    .with("column", b.name.clone())
                    .with("statistic", "schema"),
                ),
                Some(c) if c.logical_type != b.logical_type => self.out.findings.push(
                    finding(
                        "drift.schema.type_changed",
                        Severity::High,
                        &b.name,
                        format!(
                            "column '{}' changed type: {} -> {}",
                            b.name,
                            b.logical_type.as_str(),
                            c.logical_type.as_str()
                        ),
                    )
                    .with("column", b.name.clone())
                    .with("statistic", "schema")
                    .with("baseline_type", b.logical_type.as_str())
                    .with("current_type", c.logical_type.as_str()),
                ),
                _ => {}
            }
        }
        for c in &self.cur.columns {
            if self.base.column(&c.name).is_none() && c.name != label {
                self.out.findings.push(
                    finding(
                        "drift.schema.new_column",
                        Severity::Medium,
                        &c.name,
                        format!("new column '{}' not in the baseline", c.name),
                    )
                    .with("column", c.name.clone())
                    .with("statistic", "schema"),
                );
            }
        }
        let (nb, nc) = (self.base.rows.max(1) as f64, self.cur.rows.max(1) as f64);
        let ratio = if nc >= nb { nc / nb } else { nb / nc };
        let sev = self.s.volume_ratio.level(ratio).unwrap_or(Severity::Info);
        self.out.findings.push(
            finding(
                "drift.volume",
                sev,
                "(rows)",
                format!(
                    "row count {} -> {} ({:.2}x)",
                    self.base.rows,
                    self.cur.rows,
                    nc / nb
                ),
            )
            .with("statistic", "volume_ratio")
            .with("value", round(ratio))
            .with("threshold_medium", self.s.volume_ratio.medium)
            .with("baseline_rows", self.base.rows)
            .with("current_rows", self.cur.rows),
        );
    }

    fn columns(&mut self) {
        let label = self.base.settings.label.clone();
        let (eb, ec) = (self.eb, self.ec);
        let mut ks_p = Vec::new();
        let mut null_p = Vec::new();
        let mut cat_p = Vec::new();
        let mut range_p = Vec::new();
        let mut rows: Vec<(String, columns::Statistics)> = Vec::new();
        let pairs: Vec<(&ColumnProfile, &ColumnProfile)> = self
            .base
            .columns
            .iter()
            .filter_map(|b| self.cur.column(&b.name).map(|c| (b, c)))
            .filter(|(b, c)| b.logical_type == c.logical_type)
            .filter(|(b, _)| self.col_settings(&b.name).ignore != Some(true))
            .collect();
        for (b, c) in &pairs {
            let mut st = columns::Statistics::default();
            let nb = b.count as f64 * eb;
            let nc = c.count as f64 * ec;
            // Nulls (and NaN) rate.
            let bn = (b.nulls + b.nan) as f64 / b.count.max(1) as f64;
            let cn = (c.nulls + c.nan) as f64 / c.count.max(1) as f64;
            st.null_rate_baseline = round(bn);
            st.null_rate_current = round(cn);
            null_p.push((
                b.name.clone(),
                cn - bn,
                stats::two_prop_p(cn * nc, nc, bn * nb, nb),
            ));
            if matches!(b.logical_type, LogicalType::Numeric | LogicalType::Temporal)
                && b.quantiles.count() > 0
                && c.quantiles.count() > 0
            {
                let d = stats::ks(&b.quantiles, &c.quantiles);
                let eps = b.quantiles.epsilon() + c.quantiles.epsilon();
                let p = stats::ks_pvalue(
                    d,
                    eps,
                    b.quantiles.count() as f64 * eb,
                    c.quantiles.count() as f64 * ec,
                );
                let sd = b.moments.std().unwrap_or(0.0);
                let w = stats::wasserstein(&b.quantiles, &c.quantiles);
                let wn = if sd > 0.0 {
                    w / sd
                } else if w > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                };
                let psi = stats::psi(&b.quantiles, &c.quantiles);
                let (lo, hi) = (
                    b.moments.min.unwrap_or(f64::NEG_INFINITY),
                    b.moments.max.unwrap_or(f64::INFINITY),
                );
                let out = outside(&c.quantiles, lo, hi);
                let range_pvalue = stats::exact::outside_range_sf(nb, nc, out);
                st.ks = Some(round(d));
                st.ks_sketch_error = Some(round(eps));
                st.ks_p = Some(p);
                st.wasserstein_norm = Some(round(wn));
                st.psi = Some(round(psi));
                st.range_share = Some(round(out));
                ks_p.push((b.name.clone(), p, d, wn, psi));
                range_p.push((b.name.clone(), out, range_pvalue));
            }
            if let (Some(fb), Some(fc)) = (&b.frequent, &c.frequent) {
                if Some(&b.name) != label.as_ref()
                    && !self.base.settings.text.contains(&b.name)
                    && matches!(b.logical_type, LogicalType::String | LogicalType::Boolean)
                    && b.distinct.estimate() <= self.s.max_categories
                {
                    let al = stats::align(&fb.counts, fb.total, &fc.counts, fc.total);
                    let js = stats::js(&al);
                    let li = stats::linf(&al);
                    let chi =
                        stats::chi2_homogeneity(&al, fb.total as f64 * eb, fc.total as f64 * ec);
                    let p = chi.map(|x| x.1).unwrap_or(1.0);
                    st.js = Some(round(js));
                    st.linf = Some(round(li));
                    st.chi2_p = Some(p);
                    // New categories: current values the baseline never saw.
                    let new: Vec<(String, u64)> = if fb.exact {
                        fc.counts
                            .iter()
                            .filter(|(k, _)| !fb.counts.contains_key(*k))
                            .map(|(k, v)| (k.clone(), *v))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let new_share =
                        new.iter().map(|x| x.1).sum::<u64>() as f64 / fc.total.max(1) as f64;
                    st.new_category_share = Some(round(new_share));
                    cat_p.push((b.name.clone(), p, js, li, new_share, new));
                }
            }
            rows.push((b.name.clone(), st));
        }
        let alpha = self.s.alpha;
        // Numeric distributions.
        let q = stats::bh(&ks_p.iter().map(|x| x.1).collect::<Vec<_>>());
        for ((name, p, d, wn, psi), q) in ks_p.iter().zip(q) {
            if let Some((_, v)) = rows.iter_mut().find(|r| &r.0 == name) {
                v.ks_q = Some(q);
            }
            if q >= alpha {
                continue;
            }
            let cs = self.col_settings(name);
            for (stat, val, th) in [
                ("ks", *d, cs.ks.unwrap_or(self.s.ks)),
                (
                    "wasserstein_norm",
                    *wn,
                    cs.wasserstein.unwrap_or(self.s.wasserstein),
                ),
                ("psi", *psi, cs.psi.unwrap_or(self.s.psi)),
            ] {
                self.out.findings.extend(stat_finding(
                    &format!("drift.{stat}"),
                    name,
                    format!("'{name}' distribution moved: {stat} {val:.3}"),
                    stat,
                    val,
                    th,
                    Some((*p, q)),
                ));
            }
        }
        // Ranges.
        let q = stats::bh(&range_p.iter().map(|x| x.2).collect::<Vec<_>>());
        for ((name, share, p), q) in range_p.iter().zip(q) {
            let th = self.col_settings(name).range.unwrap_or(self.s.range);
            if q < alpha {
                self.out.findings.extend(stat_finding(
                    "drift.range",
                    name,
                    format!(
                        "{:.1}% of '{name}' values are outside the baseline range",
                        share * 100.0
                    ),
                    "range_share",
                    *share,
                    th,
                    Some((*p, q)),
                ));
            }
        }
        // Null rates.
        let q = stats::bh(&null_p.iter().map(|x| x.2).collect::<Vec<_>>());
        for ((name, delta, p), q) in null_p.iter().zip(q) {
            let th = self
                .col_settings(name)
                .null_rate
                .unwrap_or(self.s.null_rate);
            if q < alpha {
                self.out.findings.extend(stat_finding(
                    "drift.null_rate",
                    name,
                    format!(
                        "null/NaN rate of '{name}' rose by {:.1} points",
                        delta * 100.0
                    ),
                    "null_rate_increase",
                    *delta,
                    th,
                    Some((*p, q)),
                ));
            }
        }
        // Categorical.
        let q = stats::bh(&cat_p.iter().map(|x| x.1).collect::<Vec<_>>());
        for ((name, p, js, li, new_share, new), q) in cat_p.iter().zip(q) {
            let cs = self.col_settings(name);
            if q < alpha {
                for (stat, val, th) in [
                    ("js", *js, cs.js.unwrap_or(self.s.js)),
                    ("linf", *li, cs.linf.unwrap_or(self.s.linf)),
                ] {
                    self.out.findings.extend(stat_finding(
                        &format!("drift.{stat}"),
                        name,
                        format!("'{name}' category frequencies moved: {stat} {val:.3}"),
                        stat,
                        val,
                        th,
                        Some((*p, q)),
                    ));
                }
            }
            if let Some(f) = stat_finding(
                "drift.new_category",
                name,
                format!(
                    "{:.1}% of '{name}' values are categories the baseline never saw",
                    new_share * 100.0
                ),
                "new_category_share",
                *new_share,
                self.s.new_category,
                None,
            ) {
                let mut top = new.clone();
                top.sort_by_key(|x| std::cmp::Reverse(x.1));
                top.truncate(10);
                self.out.findings.push(
                    f.with(
                        "values",
                        top.iter()
                            .map(|(k, v)| json!({"value": k, "count": v}))
                            .collect::<Vec<_>>(),
                    ),
                );
            }
        }
        for (b, c) in pairs {
            let st = rows
                .iter()
                .find(|r| r.0 == b.name)
                .map(|r| r.1.clone())
                .unwrap_or_default();
            let text = self
                .base
                .text
                .iter()
                .find(|t| t.column == b.name)
                .zip(self.cur.text.iter().find(|t| t.column == b.name));
            let cs = self.col_settings(&b.name);
            self.out
                .columns
                .push(columns::ColumnDrift::new(b, c, st, self.s, &cs, text));
        }
    }

    fn label_name(&self) -> String {
        self.base.settings.label.clone().unwrap_or_default()
    }

    fn labels(&mut self) {
        let (Some(lb), Some(lc)) = (&self.base.label, &self.cur.label) else {
            return;
        };
        let al = stats::align(
            &lb.counts.counts,
            lb.counts.total,
            &lc.counts.counts,
            lc.counts.total,
        );
        let li = stats::linf(&al);
        let js = stats::js(&al);
        let chi = stats::chi2_homogeneity(
            &al,
            lb.counts.total as f64 * self.eb,
            lc.counts.total as f64 * self.ec,
        );
        let p = chi.map(|x| x.1).unwrap_or(1.0);
        let name = self.label_name();
        let moved = al
            .iter()
            .max_by(|a, b| (a.1 - a.2).abs().total_cmp(&(b.1 - b.2).abs()))
            .map(|x| (x.0.clone(), x.1, x.2));
        // The label column's own score: its shift, not 0 (its categories are not compared
        // as a feature's are).
        if let Some(col) = self.out.columns.iter_mut().find(|c| c.column == name) {
            col.label = true;
            col.statistics.linf = Some(round(li));
            col.statistics.js = Some(round(js));
            col.statistics.chi2_p = Some(p);
            let th = self.s.label_shift.medium;
            let x = if th > 0.0 { li / th } else { 0.0 };
            let x = if x.is_finite() {
                (x * 1e4).round() / 1e4
            } else {
                1e6
            };
            if x >= col.score {
                col.score = x;
                col.score_statistic = Some("label_shift");
            }
        }
        if p < self.s.alpha {
            if let Some(sev) = self.s.label_shift.level(li) {
                let (lab, pb, pc) = moved.unwrap_or_default();
                // A numeric label (digits' 0-9) was also compared as a numeric column: its
                // KS / Wasserstein / PSI findings state this same shift again. One shift,
                // one finding: they are folded into this one (named in its evidence); the
                // column's statistics keep their values.
                let same = |f: &Finding| {
                    matches!(
                        f.id.as_str(),
                        "drift.ks" | "drift.wasserstein_norm" | "drift.psi"
                    ) && f.evidence.get("column").and_then(|c| c.as_str()) == Some(name.as_str())
                };
                let folded: Vec<Value> = self
                    .out
                    .findings
                    .iter()
                    .filter(|f| same(f))
                    .map(|f| Value::String(f.id.clone()))
                    .collect();
                self.out.findings.retain(|f| !same(f));
                let f = finding(
                    "drift.label_shift",
                    sev,
                    &format!("label:{name}"),
                    format!(
                        "label '{lab}' share {:.1}% -> {:.1}%",
                        pb * 100.0,
                        pc * 100.0
                    ),
                )
                .with("column", name.clone())
                .with("statistic", "label_linf")
                .with("value", round(li))
                .with("js", round(js))
                .with("label", lab)
                .with("threshold_medium", self.s.label_shift.medium)
                .with("threshold_high", self.s.label_shift.high)
                .with("p_value", p);
                self.out.findings.push(if folded.is_empty() {
                    f
                } else {
                    f.with("folded", Value::Array(folded))
                });
            }
        }
    }

    /// P(x | y) moved for some label.
    fn conditional(&mut self) {
        let (Some(lb), Some(lc)) = (&self.base.label, &self.cur.label) else {
            return;
        };
        let mut tests = Vec::new();
        for (lab, bcols) in &lb.per_label {
            if lab == OTHER_LABEL {
                continue;
            }
            let Some(ccols) = lc.per_label.get(lab) else {
                continue;
            };
            for b in bcols {
                if !matches!(b.logical_type, LogicalType::Numeric) {
                    continue;
                }
                let Some(c) = ccols.iter().find(|c| c.name == b.name) else {
                    continue;
                };
                if b.quantiles.count() < 2 || c.quantiles.count() < 2 {
                    continue;
                }
                let d = stats::ks(&b.quantiles, &c.quantiles);
                let eps = b.quantiles.epsilon() + c.quantiles.epsilon();
                let p = stats::ks_pvalue(
                    d,
                    eps,
                    b.quantiles.count() as f64 * self.eb,
                    c.quantiles.count() as f64 * self.ec,
                );
                let sd = b.moments.std().unwrap_or(0.0);
                let w = stats::wasserstein(&b.quantiles, &c.quantiles);
                let wn = if sd > 0.0 { w / sd } else { 0.0 };
                tests.push((lab.clone(), b.name.clone(), p, wn, d));
            }
        }
        let q = stats::bh(&tests.iter().map(|t| t.2).collect::<Vec<_>>());
        let marginal_fired: std::collections::BTreeSet<String> = self
            .out
            .findings
            .iter()
            .filter(|f| {
                f.severity >= Severity::Medium
                    && f.id.starts_with("drift.")
                    && f.evidence.contains_key("column")
            })
            .filter_map(|f| {
                f.evidence
                    .get("column")
                    .and_then(|c| c.as_str())
                    .map(String::from)
            })
            .collect();
        let mut best: BTreeMap<String, (String, f64, f64, f64)> = BTreeMap::new();
        for ((lab, col, _p, wn, _d), q) in tests.iter().zip(q) {
            if q >= self.s.alpha || self.s.conditional.level(*wn).is_none() {
                continue;
            }
            let e = best
                .entry(lab.clone())
                .or_insert((col.clone(), *wn, q, 0.0));
            e.3 += 1.0;
            if *wn > e.1 {
                e.0 = col.clone();
                e.1 = *wn;
                e.2 = q;
            }
        }
        let name = self.label_name();
        for (lab, (col, wn, q, n)) in best {
            let sev = self.s.conditional.level(wn).unwrap_or(Severity::Medium);
            self.out.findings.push(
                finding("drift.label_conditional", sev, &format!("label:{name}={lab}"), format!("P(x | {name}={lab}) moved in {n} column(s), most in '{col}' (W/std {wn:.2})"))
                    .with("column", col.clone())
                    .with("label", lab.clone())
                    .with("statistic", "conditional_wasserstein_norm")
                    .with("value", round(wn))
                    .with("columns_moved", n)
                    .with("hidden_in_marginal", !marginal_fired.contains(&col))
                    .with("threshold_medium", self.s.conditional.medium)
                    .with("threshold_high", self.s.conditional.high)
                    .with("q_value", q),
            );
        }
    }

    fn flips_and_duplicates(&mut self) {
        let rb = &self.base.row_fingerprints;
        let rc = &self.cur.row_fingerprints;
        let name = self.label_name();
        // Both samples cover fingerprints below the smaller threshold.
        let rate = rb.sample_rate.min(rc.sample_rate);
        let t = if rate >= 1.0 {
            u64::MAX
        } else {
            (rate * u64::MAX as f64) as u64
        };
        let inside = |k: &str| u64::from_str_radix(k, 16).map(|v| v <= t).unwrap_or(false);
        // Label flips: same features, label not seen for them in the baseline.
        let mut flips: BTreeMap<(String, String), u64> = BTreeMap::new();
        let comparable = rb.columns == rc.columns;
        if !comparable {
            self.out.findings.push(
                finding("drift.fingerprints_incomparable", Severity::Info, "(rows)", "row fingerprints cover different columns: label flips of known rows cannot be checked (profile the current data through `drift` to align them)".into())
                    .with("baseline_columns", rb.columns.len())
                    .with("current_columns", rc.columns.len()),
            );
        }
        if self.base.label.is_some() && comparable {
            for (k, ec) in rc.entries.iter().filter(|(k, _)| inside(k)) {
                let Some(eb) = rb.entries.get(k) else {
                    continue;
                };
                if eb.labels.is_empty() {
                    continue;
                }
                let from = eb
                    .labels
                    .iter()
                    .max_by_key(|x| x.1)
                    .map(|x| x.0.clone())
                    .unwrap_or_default();
                for (l, n) in &ec.labels {
                    if !eb.labels.contains_key(l) {
                        *flips.entry((from.clone(), l.clone())).or_default() += n;
                    }
                }
            }
        }
        let cur_rows = self.cur.rows.max(1) as f64;
        for ((from, to), n) in flips {
            let rows = n as f64 / rate;
            let share = rows / cur_rows;
            if rows < 3.0 {
                continue;
            }
            if let Some(sev) = self.s.label_flips.level(share) {
                self.out.findings.push(
                    finding("drift.label_flips", sev, &format!("label:{name}={from}"), format!("{rows:.0} rows match baseline rows labelled {from} but are labelled {to} ({:.2}% of rows)", share * 100.0))
                        .with("column", name.clone())
                        .with("statistic", "label_flip_share")
                        .with("label", to.clone())
                        .with("from_label", from.clone())
                        .with("value", round(share))
                        .with("rows", round(rows))
                        .with("threshold_medium", self.s.label_flips.medium)
                        .with("threshold_high", self.s.label_flips.high),
                );
            }
        }
        // Duplicates.
        let (b_extra, _, b_conf) = rb.duplicate_stats();
        let (c_extra, c_groups, c_conf) = rc.duplicate_stats();
        let base_rows = self.base.rows.max(1) as f64;
        let conf_inc = c_conf / cur_rows - b_conf / base_rows;
        if self.base.label.is_some() {
            if let Some(sev) = self.s.conflicting_duplicates.level(conf_inc) {
                let examples: Vec<Value> = rc
                    .entries
                    .iter()
                    .filter(|(_, e)| e.labels.len() > 1)
                    .take(5)
                    .map(|(k, e)| json!({"fingerprint": k, "count": e.count, "labels": e.labels}))
                    .collect();
                self.out.findings.push(
                    finding("drift.duplicates_conflicting", sev, &format!("label:{name}"), format!("{c_conf:.0} groups of identical rows carry different labels ({:.2}% of rows, baseline {:.2}%)", c_conf / cur_rows * 100.0, b_conf / base_rows * 100.0))
                        .with("column", name.clone())
                        .with("statistic", "conflicting_group_share_increase")
                        .with("value", round(conf_inc))
                        .with("threshold_medium", self.s.conflicting_duplicates.medium)
                        .with("threshold_high", self.s.conflicting_duplicates.high)
                        .with("examples", examples),
                );
            }
        }
        let dup_inc = c_extra / cur_rows - b_extra / base_rows;
        // Significance: the extra copies' share in the current rows against the baseline's
        // (Fisher's exact test, one-sided, mid-p): duplicates that natural data has at a
        // similar rate are no finding, however small the batch.
        let dup_p = stats::exact::fisher_greater_midp(
            c_extra.round() as u64,
            self.cur.rows.max(c_extra.round() as u64),
            b_extra.round() as u64,
            self.base.rows.max(b_extra.round() as u64),
        );
        if let Some(sev) = self
            .s
            .duplicate_rows
            .level(dup_inc)
            .filter(|_| dup_p < self.s.alpha)
        {
            let mut top: Vec<(&String, u64)> = rc
                .entries
                .iter()
                .map(|(k, e)| (k, e.count))
                .filter(|x| x.1 > 1)
                .collect();
            top.sort_by_key(|x| std::cmp::Reverse(x.1));
            top.truncate(5);
            self.out.findings.push(
                finding("drift.duplicate_rows", sev, "(rows)", format!("{:.1}% of rows are extra copies of other rows (baseline {:.1}%), {c_groups:.0} groups", c_extra / cur_rows * 100.0, b_extra / base_rows * 100.0))
                    .with("statistic", "duplicate_share_increase")
                    .with("value", round(dup_inc))
                    .with("p_value", dup_p)
                    .with("threshold_medium", self.s.duplicate_rows.medium)
                    .with("threshold_high", self.s.duplicate_rows.high)
                    .with("top", top.iter().map(|(k, n)| json!({"fingerprint": k, "count": n})).collect::<Vec<_>>()),
            );
        }
    }
}
