//! Label consistency (issue 14): a class-conditional model derived from a profile, and the
//! profile's own disagreement rate with it.
//!
//! The model is Gaussian naive Bayes from what a profile already has: the per-label
//! [`Moments`](super::sketch::Moments) of every numeric column (`label.per_label`) and the
//! label counts (priors). Each class's variance gets a floor of [`VAR_SMOOTHING`] × the
//! column's overall variance, so a column that is constant within one class (a blank pixel
//! of a digit) does not turn one unusual value into an infinitely confident prediction.
//! A row *disagrees* with its label when another label beats it by at least [`MARGIN`]
//! (log-odds).
//!
//! **Baseline disagreement, recorded at profile time.** While profiling with `--label`,
//! every unit keeps a bounded hash sample of its distinct rows (the numeric feature values
//! and the labels they carry; [`Sample`], in memory only, never written). When the whole
//! profile is merged, the sample is scored *leave-one-out*: each distinct row is removed
//! (all its copies) from its class's moments and prior, and the model's prediction is
//! compared with the row's label. The counts per (given, predicted) pair and the rows
//! scored per label are the profile's [`Consistency`] section — a few hundred bytes, no
//! rows. Leave-one-out makes the baseline's rate an out-of-sample rate, like the rate of
//! new rows scored against the baseline's model by `drift`; removing every copy makes data
//! resampled with replacement no more "consistent" than new data.
//!
//! Why a sample kept in memory rather than a second read: the profile stays one pass over
//! the input (one download from a store), and memory is bounded ([`MAX_CELLS`]); beyond it
//! the sample halves like the row fingerprints do, and `sample_rate` says so.

use super::sketch::{canonical_f64, mix64};
use super::{LabelSection, Profile, NULL_LABEL, OTHER_LABEL};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Each class variance is at least this share of the column's overall variance.
pub const VAR_SMOOTHING: f64 = 0.1;
/// A disagreement: another label more probable than the given one by at least this
/// log-odds (ln 1000: a thousand to one). Borderline rows, where the model is unsure
/// anyway, then count in neither the baseline's rate nor the batch's; a relabelled row
/// usually looks like its true class by far more (docs/drift.md: on the suite's flip cases
/// margins from ln 150 to ln 22000 detect the same cases, plain argmax half of them).
pub const MARGIN: f64 = 6.907_755_278_982_137;
/// Most feature cells (distinct rows × features) a sample keeps in memory.
pub const MAX_CELLS: usize = 4_000_000;
/// Most distinct rows a sample keeps, whatever the width.
pub const MAX_ROWS: usize = 100_000;
/// Most features the model uses (validated on load).
pub const MAX_FEATURES: usize = 100_000;
/// The model name recorded in the section.
pub const MODEL: &str = "gaussian_nb";

/// The profile's self-disagreement with the model built from it (`label.consistency`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Consistency {
    /// `gaussian_nb`.
    pub model: String,
    pub var_smoothing: f64,
    /// Log-odds margin of a disagreement ([`Model::margin`]).
    pub margin: f64,
    /// Numeric columns the model uses, in order.
    pub features: Vec<String>,
    /// Share of the distinct rows in the scored sample (1 = every row).
    pub sample_rate: f64,
    /// Labels of the model, in order.
    pub labels: Vec<String>,
    /// Distinct rows scored per label (same order as `labels`).
    pub scored: Vec<u64>,
    /// `[given, predicted, rows]`: rows of label `labels[given]` the model (leave-one-out)
    /// assigns to `labels[predicted]`; only pairs with rows, given ≠ predicted.
    pub disagree: Vec<(u32, u32, u64)>,
}

impl Consistency {
    /// Rows of `given` predicted as `predicted`.
    pub fn count(&self, given: usize, predicted: usize) -> u64 {
        self.disagree
            .iter()
            .filter(|d| d.0 as usize == given && d.1 as usize == predicted)
            .map(|d| d.2)
            .sum()
    }
    /// Merging parts (`profile merge`): counts add when the parts used the same model
    /// (features, labels); otherwise the section is dropped (drift then reports the check
    /// as not evaluable). Each part was scored against its own model: an approximation.
    pub fn merge(&mut self, o: &Consistency) -> bool {
        if self.model != o.model
            || self.features != o.features
            || self.labels != o.labels
            || self.var_smoothing != o.var_smoothing
            || self.margin != o.margin
        {
            return false;
        }
        self.sample_rate = self.sample_rate.min(o.sample_rate);
        for (a, b) in self.scored.iter_mut().zip(&o.scored) {
            *a = a.saturating_add(*b);
        }
        let mut m: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for d in self.disagree.iter().chain(&o.disagree) {
            let e = m.entry((d.0, d.1)).or_default();
            *e = e.saturating_add(d.2);
        }
        self.disagree = m.into_iter().map(|((g, p), n)| (g, p, n)).collect();
        true
    }
}

/// One distinct row of the sample: feature values (NaN = missing) and its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRow {
    pub x: Vec<f64>,
    pub labels: BTreeMap<String, u64>,
}

/// Distinct rows (by their feature values) kept for scoring, in memory only.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    pub features: Vec<String>,
    pub rate: f64,
    pub rows: HashMap<u64, SampleRow>,
}

fn threshold(rate: f64) -> u64 {
    if rate >= 1.0 {
        u64::MAX
    } else {
        (rate * u64::MAX as f64) as u64
    }
}

impl Sample {
    pub fn new(features: Vec<String>) -> Sample {
        Sample {
            features,
            rate: 1.0,
            rows: HashMap::new(),
        }
    }
    fn cap(&self) -> usize {
        (MAX_CELLS / self.features.len().max(1)).clamp(1, MAX_ROWS)
    }
    /// The row key: a hash of the feature values.
    pub fn key(x: impl IntoIterator<Item = f64>) -> u64 {
        let mut h = 0x1abe_1c0d_u64;
        for v in x {
            h = mix64(h ^ canonical_f64(v));
        }
        h
    }
    /// Is a row with key `k` inside the sample?
    pub fn covers(&self, k: u64) -> bool {
        k <= threshold(self.rate)
    }
    pub fn add(&mut self, x: Vec<f64>, label: &str, copies: u64) {
        let k = Self::key(x.iter().copied());
        if k > threshold(self.rate) {
            return;
        }
        let e = self.rows.entry(k).or_insert_with(|| SampleRow {
            x,
            labels: BTreeMap::new(),
        });
        *e.labels.entry(label.to_string()).or_default() += copies;
        self.shrink();
    }
    fn shrink(&mut self) {
        let cap = self.cap();
        // Keys are distinct 64-bit values: at most 64 halvings empty the sample.
        for _ in 0..64 {
            if self.rows.len() <= cap {
                break;
            }
            self.rate /= 2.0;
            let t = threshold(self.rate);
            self.rows.retain(|k, _| *k <= t);
        }
    }
    /// Fold `o` in (rows re-mapped by feature name when the parts' columns differ).
    pub fn merge(&mut self, o: &Sample) {
        if self.features.is_empty() && self.rows.is_empty() {
            self.features = o.features.clone();
        }
        self.rate = self.rate.min(o.rate);
        let t = threshold(self.rate);
        self.rows.retain(|k, _| *k <= t);
        let same = self.features == o.features;
        let map: Vec<Option<usize>> = self
            .features
            .iter()
            .map(|f| o.features.iter().position(|g| g == f))
            .collect();
        for (k, r) in &o.rows {
            let (k, x) = if same {
                (*k, r.x.clone())
            } else {
                let x: Vec<f64> = map
                    .iter()
                    .map(|i| i.and_then(|i| r.x.get(i).copied()).unwrap_or(f64::NAN))
                    .collect();
                (Self::key(x.iter().copied()), x)
            };
            if k > t {
                continue;
            }
            let e = self.rows.entry(k).or_insert_with(|| SampleRow {
                x,
                labels: BTreeMap::new(),
            });
            for (l, c) in &r.labels {
                *e.labels.entry(l.clone()).or_default() += c;
            }
        }
        self.shrink();
    }
    /// The rows in a stable order (by key).
    pub fn sorted(&self) -> Vec<&SampleRow> {
        let mut v: Vec<(&u64, &SampleRow)> = self.rows.iter().collect();
        v.sort_unstable_by_key(|x| *x.0);
        v.into_iter().map(|x| x.1).collect()
    }
}

/// Per class and feature: (n, mean, M2).
type Cell = (f64, f64, f64);

/// Gaussian naive Bayes from a profile's per-label moments.
#[derive(Debug, Clone)]
pub struct Model {
    pub labels: Vec<String>,
    pub features: Vec<String>,
    pub var_smoothing: f64,
    /// Log-odds by which another class must beat the given label to count as a
    /// disagreement.
    pub margin: f64,
    rows: Vec<f64>,
    cells: Vec<Vec<Cell>>,
    floor: Vec<f64>,
}

impl Model {
    /// The model of `p` over `features` (those of them that are numeric with a positive
    /// overall variance and moments in every modelled label). Labels: every label with its
    /// own section and at least 2 rows (not `__other__`, not `__null__`). `None` when fewer
    /// than 2 labels or no feature remain.
    pub fn from_profile(
        p: &Profile,
        features: &[String],
        var_smoothing: f64,
        margin: f64,
    ) -> Option<Model> {
        let ls: &LabelSection = p.label.as_ref()?;
        let labels: Vec<String> = ls
            .per_label
            .keys()
            .filter(|l| *l != OTHER_LABEL && *l != NULL_LABEL)
            .filter(|l| ls.counts.counts.get(*l).copied().unwrap_or(0) >= 2)
            .cloned()
            .collect();
        if labels.len() < 2 {
            return None;
        }
        let mut used = Vec::new();
        let mut floor = Vec::new();
        let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); labels.len()];
        for f in features {
            let Some(col) = p.column(f) else { continue };
            if col.logical_type != super::LogicalType::Numeric || col.moments.n < 2 {
                continue;
            }
            let var = col.moments.m2 / col.moments.n as f64;
            if !(var.is_finite() && var > 0.0) {
                continue;
            }
            let per: Option<Vec<Cell>> = labels
                .iter()
                .map(|l| {
                    let c = ls.per_label.get(l)?.iter().find(|c| &c.name == f)?;
                    let m = &c.moments;
                    (m.n >= 1 && m.mean.is_finite() && m.m2.is_finite()).then_some((
                        m.n as f64,
                        m.mean,
                        m.m2.max(0.0),
                    ))
                })
                .collect();
            let Some(per) = per else { continue };
            used.push(f.clone());
            floor.push(var_smoothing * var + 1e-12 * (1.0 + var));
            for (i, c) in per.into_iter().enumerate() {
                cells[i].push(c);
            }
        }
        if used.is_empty() {
            return None;
        }
        let rows = labels
            .iter()
            .map(|l| ls.counts.counts.get(l).copied().unwrap_or(0) as f64)
            .collect();
        Some(Model {
            labels,
            features: used,
            var_smoothing,
            margin,
            rows,
            cells,
            floor,
        })
    }

    /// Index of a label in the model.
    pub fn label_index(&self, l: &str) -> Option<usize> {
        self.labels.iter().position(|x| x == l)
    }

    /// Column positions of the model's features in `names` (None = the row lacks it).
    pub fn positions(&self, names: &[String]) -> Vec<Option<usize>> {
        self.features
            .iter()
            .map(|f| names.iter().position(|g| g == f))
            .collect()
    }

    /// Log joint scores ln P(class) + Σ ln N(x_j; class) of row `x` (values at `pos`) per
    /// class, `None` for a class that cannot be scored. `leave_out`: (class, copies)
    /// removed from that class first (the row's own contribution, for scoring the
    /// profile's own rows).
    pub fn scores(
        &self,
        x: &[f64],
        pos: &[Option<usize>],
        leave_out: Option<(usize, f64)>,
    ) -> Vec<Option<f64>> {
        let total: f64 = self.rows.iter().sum::<f64>() - leave_out.map_or(0.0, |l| l.1);
        let mut out = Vec::with_capacity(self.cells.len());
        for (ci, cls) in self.cells.iter().enumerate() {
            let mut n_rows = self.rows[ci];
            let lo = leave_out.filter(|l| l.0 == ci).map(|l| l.1);
            if let Some(c) = lo {
                n_rows -= c;
            }
            if n_rows <= 0.0 || total <= 0.0 {
                out.push(None);
                continue;
            }
            let mut s = (n_rows / total).ln();
            let mut ok = true;
            for (j, &(n, mean, m2)) in cls.iter().enumerate() {
                let Some(v) = pos[j].and_then(|i| x.get(i)).copied() else {
                    continue;
                };
                if !v.is_finite() {
                    continue;
                }
                let (mut n, mut mean, mut m2) = (n, mean, m2);
                if let Some(c) = lo {
                    // Remove c copies of v: n' = n - c, mean' = (n mean - c v) / n',
                    // M2' = M2 - (v - mean')^2 n' c / n.
                    let n2 = n - c;
                    if n2 < 1.0 {
                        ok = false;
                        break;
                    }
                    let mean2 = (n * mean - c * v) / n2;
                    m2 = (m2 - (v - mean2).powi(2) * n2 * c / n).max(0.0);
                    n = n2;
                    mean = mean2;
                }
                let var = m2 / n + self.floor[j];
                s += -0.5 * (std::f64::consts::TAU * var).ln() - (v - mean).powi(2) / (2.0 * var);
            }
            out.push((ok && s.is_finite()).then_some(s));
        }
        out
    }

    /// Does the model disagree with label `given` for row `x`: `Some(predicted)` when
    /// another class beats `given` by at least the margin (in log-odds), `Some(given)` when
    /// it does not, `None` when the row cannot be scored.
    pub fn judge(
        &self,
        x: &[f64],
        pos: &[Option<usize>],
        given: usize,
        leave_out: Option<(usize, f64)>,
    ) -> Option<usize> {
        let sc = self.scores(x, pos, leave_out);
        let (best, bs) = sc
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i, s)))
            .fold(None, |b: Option<(usize, f64)>, (i, s)| match b {
                Some(b) if b.1 >= s => Some(b),
                _ => Some((i, s)),
            })?;
        match sc.get(given).copied().flatten() {
            _ if best == given => Some(given),
            Some(g) if bs - g < self.margin => Some(given),
            _ => Some(best),
        }
    }

    /// Score `sample` against this model: rows scored per label and (given, predicted)
    /// disagreement counts; each distinct (row, label) counts once. `leave_one_out` for the
    /// profile's own rows.
    pub fn score(&self, sample: &Sample, leave_one_out: bool) -> (Vec<u64>, Vec<Vec<u64>>) {
        let k = self.labels.len();
        let mut scored = vec![0u64; k];
        let mut dis = vec![vec![0u64; k]; k];
        let pos = self.positions(&sample.features);
        for r in sample.sorted() {
            for (l, c) in &r.labels {
                let Some(g) = self.label_index(l) else {
                    continue;
                };
                let lo = leave_one_out.then_some((g, *c as f64));
                let Some(p) = self.judge(&r.x, &pos, g, lo) else {
                    continue;
                };
                scored[g] += 1;
                if p != g {
                    dis[g][p] += 1;
                }
            }
        }
        (scored, dis)
    }
}

/// The profile's own section: its model scores its sample leave-one-out. `None` without a
/// label, a sample or a model (fewer than 2 labels, no numeric column).
pub fn self_consistency(p: &Profile, sample: &Sample) -> Option<Consistency> {
    let m = Model::from_profile(p, &sample.features, VAR_SMOOTHING, MARGIN)?;
    let (scored, dis) = m.score(sample, true);
    let mut disagree = Vec::new();
    for (g, row) in dis.iter().enumerate() {
        for (q, n) in row.iter().enumerate() {
            if *n > 0 {
                disagree.push((g as u32, q as u32, *n));
            }
        }
    }
    Some(Consistency {
        model: MODEL.into(),
        var_smoothing: m.var_smoothing,
        margin: m.margin,
        features: m.features.clone(),
        sample_rate: sample.rate,
        labels: m.labels.clone(),
        scored,
        disagree,
    })
}

/// Validation of a section read from a file (untrusted).
pub fn validate(c: &Consistency) -> Result<(), String> {
    if c.model != MODEL {
        return Err(format!(
            "label.consistency.model {:?} is not {MODEL:?}",
            c.model
        ));
    }
    if !(c.var_smoothing.is_finite() && c.var_smoothing > 0.0 && c.var_smoothing <= 1e6) {
        return Err(format!(
            "label.consistency.var_smoothing {} is not in (0, 1e6]",
            c.var_smoothing
        ));
    }
    if !(c.margin.is_finite() && (0.0..=1e6).contains(&c.margin)) {
        return Err(format!(
            "label.consistency.margin {} is not in [0, 1e6]",
            c.margin
        ));
    }
    if !(c.sample_rate > 0.0 && c.sample_rate <= 1.0) {
        return Err(format!(
            "label.consistency.sample_rate {} is not in (0, 1]",
            c.sample_rate
        ));
    }
    if c.features.len() > MAX_FEATURES {
        return Err(format!(
            "label.consistency: {} features (at most {MAX_FEATURES})",
            c.features.len()
        ));
    }
    let k = c.labels.len();
    if k > super::validate::MAX_LABELS + 1 {
        return Err(format!("label.consistency: {k} labels"));
    }
    if c.scored.len() != k {
        return Err(format!(
            "label.consistency: {} scored counts for {k} labels",
            c.scored.len()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for l in &c.labels {
        if !seen.insert(l) {
            return Err(format!("label.consistency: label {l:?} twice"));
        }
    }
    for n in &c.scored {
        if *n > super::validate::MAX_COUNT {
            return Err(format!("label.consistency: scored count {n} over 2^53"));
        }
    }
    if c.disagree.len() > k.saturating_mul(k) {
        return Err(format!(
            "label.consistency: {} disagreement pairs for {k} labels",
            c.disagree.len()
        ));
    }
    let mut pairs = std::collections::HashSet::new();
    let mut per_given = vec![0u64; k];
    for &(g, p, n) in &c.disagree {
        let (g, p) = (g as usize, p as usize);
        if g >= k || p >= k || g == p {
            return Err(format!(
                "label.consistency: pair [{g}, {p}] out of range or not a disagreement"
            ));
        }
        if !pairs.insert((g, p)) {
            return Err(format!("label.consistency: pair [{g}, {p}] twice"));
        }
        per_given[g] = per_given[g].saturating_add(n);
        if per_given[g] > c.scored[g] {
            return Err(format!(
                "label.consistency: more disagreements than rows scored for label {:?}",
                c.labels[g]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leave-one-out removal of c copies equals the moments computed without them.
    #[test]
    fn leave_out_moments_match_a_recount() {
        let xs = [1.0, 2.0, 4.0, 4.0, 7.0, 11.0];
        let mut m = super::super::sketch::Moments::default();
        for x in xs {
            m.add(x);
        }
        let (n, mean, m2) = (m.n as f64, m.mean, m.m2);
        let (c, v) = (2.0, 4.0);
        let n2 = n - c;
        let mean2 = (n * mean - c * v) / n2;
        let m2b = m2 - (v - mean2).powi(2) * n2 * c / n;
        let mut r = super::super::sketch::Moments::default();
        for x in [1.0, 2.0, 7.0, 11.0] {
            r.add(x);
        }
        assert!((mean2 - r.mean).abs() < 1e-12);
        assert!((m2b - r.m2).abs() < 1e-9, "{m2b} vs {}", r.m2);
    }

    #[test]
    fn sample_is_bounded_and_merges() {
        let mut s = Sample::new((0..1000).map(|i| format!("f{i}")).collect());
        for i in 0..10_000 {
            s.add(vec![i as f64; 1000], "a", 1);
        }
        assert!(s.rows.len() <= MAX_CELLS / 1000);
        assert!(s.rate < 1.0);
        let mut a = Sample::new(vec!["x".into(), "y".into()]);
        a.add(vec![1.0, 2.0], "a", 1);
        let mut b = Sample::new(vec!["y".into(), "x".into()]);
        b.add(vec![2.0, 1.0], "b", 2);
        a.merge(&b);
        assert_eq!(a.rows.len(), 1);
        let r = a.rows.values().next().unwrap();
        assert_eq!(r.labels.get("b"), Some(&2));
        assert_eq!(r.labels.get("a"), Some(&1));
    }

    #[test]
    fn validation_refuses_inconsistent_sections() {
        let ok = Consistency {
            model: MODEL.into(),
            var_smoothing: 0.1,
            margin: 1.0,
            features: vec!["x".into()],
            sample_rate: 1.0,
            labels: vec!["a".into(), "b".into()],
            scored: vec![10, 10],
            disagree: vec![(0, 1, 3)],
        };
        assert!(validate(&ok).is_ok());
        for (f, want) in [
            (
                Box::new(|c: &mut Consistency| c.disagree = vec![(0, 0, 1)])
                    as Box<dyn Fn(&mut Consistency)>,
                "not a disagreement",
            ),
            (Box::new(|c| c.disagree = vec![(0, 5, 1)]), "out of range"),
            (
                Box::new(|c| c.disagree = vec![(0, 1, 11)]),
                "more disagreements",
            ),
            (Box::new(|c| c.scored = vec![1]), "scored counts"),
            (Box::new(|c| c.sample_rate = 0.0), "sample_rate"),
            (
                Box::new(|c| c.labels = vec!["a".into(), "a".into()]),
                "twice",
            ),
            (Box::new(|c| c.model = "x".into()), "model"),
        ] {
            let mut c = ok.clone();
            f(&mut c);
            let e = validate(&c).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }
}
