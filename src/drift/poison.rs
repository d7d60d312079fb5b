//! Poisoning on small and new batches: exact small-sample tests of trigger candidates.
//!
//! A candidate is a categorical value or integer, a text token, or a repeated exact value of
//! a continuous column (a point mass), seen in at least `trigger_min_rows` current rows.
//! Each gets
//! - a **novelty** p-value: for values and tokens at most `trigger_max_baseline_share` of
//!   the baseline, Fisher's exact test (one-sided, mid-p) of k of n current rows against k₀
//!   of N baseline rows; for a point mass, the binomial mid-p of k copies among n values when
//!   one value has at most the mass √(Σp²) the baseline's ties allow (Σpᵢ² ≥ max pᵢ²), times
//!   2/(N+1) when the value is outside the baseline's range (the mass the baseline leaves
//!   beyond its extremes);
//! - with a label, a **purity** p-value: the exact binomial mid-p of x of the k rows in the
//!   most common label L against the baseline share of L, Bonferroni-corrected over the
//!   labels that could reach significance;
//! - combined by Fisher's method, then corrected over candidates: Tarone's count of the
//!   hypotheses whose best achievable p-value could be significant, then Benjamini–Hochberg.
//!
//! q < `alpha` is `high`, q < `trigger_medium_q` is `medium`.

use super::{finding, round, Settings};
use crate::finding::{Finding, Severity};
use crate::profile::{LogicalType, Profile, OTHER_LABEL};
use crate::stats::{self, exact};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Value,
    Token,
    PointMass,
}

#[derive(Debug, Clone)]
struct Cand {
    kind: Kind,
    column: String,
    /// As shown in titles.
    shown: String,
    /// As found in the data (evidence).
    raw: String,
    k: u64,
    k0: u64,
    n: u64,
    n0: u64,
    p_novel: f64,
    p_novel_min: f64,
    /// The novelty p-value carries evidence (see [`novelty`]).
    novelty_used: bool,
    /// (label, rows of the k in it, baseline share of the label).
    label: Option<(String, u64, f64)>,
    labels_tested: usize,
    p_purity: f64,
    p_purity_min: f64,
    range: Option<(f64, f64, bool)>,
}

/// Numbers as people write them: at most 4 significant digits after the point's position
/// (82.290358 -> 82.29, 0.000123456 -> 0.0001235, 1234567.8 -> 1234568).
pub fn short(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (3 - mag).clamp(0, 12) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Baseline label shares (add-half smoothed) of the labels with a per-label section.
fn priors(base: &Profile) -> BTreeMap<String, f64> {
    let Some(lb) = &base.label else {
        return BTreeMap::new();
    };
    let total = lb.counts.total as f64;
    let l = lb.counts.counts.len().max(1) as f64;
    lb.counts
        .counts
        .iter()
        .map(|(k, c)| (k.clone(), (*c as f64 + 0.5) / (total + 0.5 * l)))
        .collect()
}

/// Purity of `per` (label -> rows of the candidate's k): (label, x, prior, p, p_min,
/// labels tested).
fn purity(
    per: &BTreeMap<String, u64>,
    k: u64,
    pri: &BTreeMap<String, f64>,
    alpha: f64,
) -> Option<(String, u64, f64, f64, f64, usize)> {
    let (lab, x) = per
        .iter()
        .filter(|(l, _)| l.as_str() != OTHER_LABEL)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    let prior = *pri.get(lab)?;
    // Labels whose best case (all k rows in it) could be significant (Tarone within the
    // candidate); the p-value is the union bound over them of "label L has ≥ x of the k".
    let kk = k.min(1000) as i32;
    let testable: Vec<f64> = pri
        .values()
        .copied()
        .filter(|p| 0.5 * p.powi(kk) <= alpha)
        .collect();
    if 0.5 * prior.powi(kk) > alpha {
        return None;
    }
    let m = testable.len().max(1);
    let p = testable
        .iter()
        .map(|&q| exact::binom_midp(*x, k, q))
        .sum::<f64>()
        .min(1.0);
    let p_min = testable
        .iter()
        .map(|&q| 0.5 * q.powi(kk))
        .sum::<f64>()
        .min(1.0);
    Some((lab.clone(), *x, prior, p, p_min, m))
}

/// Fisher's novelty mid-p of k of n current rows against k0 of n0 baseline rows,
/// conditional on the candidate having been selected for being rare in the baseline
/// (k0 ≤ `max0`): P(K ≥ k | T, K ≥ T − max0). `None` when the selection leaves one outcome
/// (then the split carries no evidence and only the purity test counts).
fn novelty(k: u64, n: u64, k0: u64, n0: u64, max0: u64) -> Option<(f64, f64)> {
    let t = k + k0;
    let lo = t.saturating_sub(max0);
    let hi = t.min(n);
    if lo >= hi {
        return None;
    }
    let sel = exact::hyper_sf_ge(lo, n + n0, t, n);
    if sel <= 0.0 {
        return None;
    }
    let p = (exact::hyper_midp(k, n + n0, t, n) / sel).min(1.0);
    let pmin = (exact::hyper_midp(hi, n + n0, t, n) / sel).min(1.0);
    Some((p, pmin))
}

/// The repeats of a numeric column: its [`Atoms`](crate::profile::atoms::Atoms), or, for an
/// integer column counted exactly, the same summary made from its exact counts (every value,
/// `true`: a value not listed does not occur).
fn atom_view(c: &crate::profile::ColumnProfile) -> Option<(crate::profile::atoms::Atoms, bool)> {
    if let Some(a) = &c.atoms {
        return Some((a.clone(), false));
    }
    let f = c.frequent.as_ref().filter(|f| f.exact)?;
    let mut top: Vec<(f64, u64)> = f
        .counts
        .iter()
        .filter_map(|(k, n)| {
            k.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(|x| (x, *n))
        })
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
    let tie_pairs = top
        .iter()
        .map(|x| x.1.saturating_mul(x.1.saturating_sub(1)) / 2)
        .fold(0u64, u64::saturating_add);
    Some((
        crate::profile::atoms::Atoms {
            sample_rate: 1.0,
            distinct: top.len() as u64,
            tie_pairs,
            max_count: top.first().map(|x| x.1).unwrap_or(0),
            top,
        },
        true,
    ))
}

/// Effective count: `k` rows scaled by the distinct-rows ratio, so that copies of one row
/// (duplicates, a resampled table) count once.
/// A ratio within the distinct-count sketch's error of 1 (HyperLogLog at the default
/// precision: 1.6 %) counts as 1.
fn eff(k: u64, ratio: f64) -> u64 {
    if ratio >= 0.97 {
        k
    } else {
        (k as f64 * ratio).floor() as u64
    }
}

/// A value or token as a trigger candidate, before its label purity: `k` of `n` current
/// rows (documents for tokens) and `k0` of `n0` baseline rows, raw counts. `None` when the
/// baseline has it too often to be a trigger or the current data too rarely to test.
#[allow(clippy::too_many_arguments)]
fn rare(
    kind: Kind,
    column: &str,
    raw: &str,
    (k, n): (u64, u64),
    (k0, n0): (u64, u64),
    s: &Settings,
    min_rows: u64,
    (eb, ec): (f64, f64),
) -> Option<Cand> {
    if k0 as f64 / n0.max(1) as f64 > s.trigger_max_baseline_share {
        return None;
    }
    let (k, k0) = (eff(k, ec), eff(k0, eb).max(k0.min(1)));
    let n0 = eff(n0, eb).max(1);
    if k < min_rows {
        return None;
    }
    let n = eff(n, ec).max(k);
    let max0 = (s.trigger_max_baseline_share * n0 as f64).floor() as u64;
    let novel = novelty(k, n, k0, n0, max0);
    Some(Cand {
        kind,
        column: column.to_string(),
        shown: format!("'{raw}'"),
        raw: raw.to_string(),
        k,
        k0,
        n,
        n0,
        p_novel: novel.map_or(1.0, |x| x.0),
        p_novel_min: novel.map_or(1.0, |x| x.1),
        novelty_used: novel.is_some(),
        label: None,
        labels_tested: 0,
        p_purity: 1.0,
        p_purity_min: 1.0,
        range: None,
    })
}

/// `eb`, `ec`: effective-size ratios (distinct rows / rows) of baseline and current.
pub fn check(
    base: &Profile,
    cur: &Profile,
    s: &Settings,
    (eb, ec): (f64, f64),
    out: &mut Vec<Finding>,
) {
    let labelled = base.label.is_some() && cur.label.is_some();
    let pri = priors(base);
    let label_name = base.settings.label.clone().unwrap_or_default();
    let min_rows = s.trigger_min_rows.max(2.0) as u64;
    let mut cands: Vec<Cand> = Vec::new();
    let per_label_value = |col: &str, val: &str| -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        if let Some(lc) = &cur.label {
            for (lab, cols) in &lc.per_label {
                let c = cols
                    .iter()
                    .find(|c| c.name == col)
                    .and_then(|c| c.frequent.as_ref())
                    .and_then(|f| f.counts.get(val).copied())
                    .unwrap_or(0);
                m.insert(lab.clone(), eff(c, ec));
            }
        }
        m
    };
    // Categorical values and integers.
    if labelled {
        for b in &base.columns {
            if Some(&b.name) == base.settings.label.as_ref()
                || base.settings.text.contains(&b.name)
                || !matches!(b.logical_type, LogicalType::String | LogicalType::Boolean)
            {
                continue;
            }
            let (Some(fb), Some(fc)) = (
                b.frequent.as_ref(),
                cur.column(&b.name).and_then(|c| c.frequent.as_ref()),
            ) else {
                continue;
            };
            for (val, k) in fc.top(50) {
                let k0 = fb.counts.get(&val).copied().unwrap_or(if fb.exact {
                    0
                } else {
                    fb.error_bound
                });
                let Some(mut c) = rare(
                    Kind::Value,
                    &b.name,
                    &val,
                    (k, fc.total),
                    (k0, fb.total),
                    s,
                    min_rows,
                    (eb, ec),
                ) else {
                    continue;
                };
                let per = per_label_value(&b.name, &val);
                set_purity(Some(&mut c), &per, &pri, s.alpha);
                cands.push(c);
            }
        }
    }
    // Text tokens.
    if labelled {
        for tc in &cur.text {
            let Some(tb) = base.text.iter().find(|t| t.column == tc.column) else {
                continue;
            };
            // Text priors: the baseline's documents per label.
            let docs = tb.docs.max(1) as f64;
            let l = tb.docs_per_label.len().max(1) as f64;
            let tpri: BTreeMap<String, f64> = tb
                .docs_per_label
                .iter()
                .map(|(k, c)| (k.clone(), (*c as f64 + 0.5) / (docs + 0.5 * l)))
                .collect();
            for (tok, k) in tc.tokens.top(500) {
                let k0 = tb
                    .tokens
                    .counts
                    .get(&tok)
                    .copied()
                    .unwrap_or(if tb.tokens.exact {
                        0
                    } else {
                        tb.tokens.error_bound
                    });
                let Some(mut c) = rare(
                    Kind::Token,
                    &tc.column,
                    &tok,
                    (k, tc.docs),
                    (k0, tb.docs),
                    s,
                    min_rows,
                    (eb, ec),
                ) else {
                    continue;
                };
                let per: BTreeMap<String, u64> = tc
                    .per_label
                    .iter()
                    .map(|(l, f)| (l.clone(), eff(f.counts.get(&tok).copied().unwrap_or(0), ec)))
                    .collect();
                set_purity(Some(&mut c), &per, &tpri, s.alpha);
                cands.push(c);
            }
        }
    }
    // Point masses in continuous columns.
    for b in &base.columns {
        if Some(&b.name) == base.settings.label.as_ref() || b.logical_type != LogicalType::Numeric {
            continue;
        }
        let Some(c) = cur.column(&b.name) else {
            continue;
        };
        let (Some((ab, b_exact)), Some((ac, _))) = (atom_view(b), atom_view(c)) else {
            continue;
        };
        let (nb, n) = (eff(b.moments.n, eb), eff(c.moments.n, ec));
        if nb < 2 || n == 0 {
            continue;
        }
        let (lo, hi) = (
            b.moments.min.unwrap_or(f64::NEG_INFINITY),
            b.moments.max.unwrap_or(f64::INFINITY),
        );
        let sd = b.moments.std().unwrap_or(0.0);
        let atom_max = ab.collision(b.moments.n).sqrt();
        let truncated =
            !b_exact && (ab.top.len() >= crate::profile::atoms::TOP || ab.sample_rate < 1.0);
        for &(v, k) in &ac.top {
            let k = eff(k, ec);
            if k < min_rows {
                continue;
            }
            let k0 = ab.count_of(v);
            let outside = v < lo || v > hi;
            // A value the baseline has (or may have: its list of repeated values is full)
            // is not new: its label mix is the baseline's business, not a trigger's.
            if k0 as f64 / b.moments.n.max(1) as f64 > s.trigger_max_baseline_share
                || (!outside && truncated && k0 == 0)
            {
                continue;
            }
            // Mass the baseline leaves beyond its extremes: 2/(N+1). Far beyond (more than
            // one baseline σ) a value would also have to be a repeat, which the baseline's
            // ties bound by √(Σp²); next to the range (a coarse grid's next step) not.
            let beyond = if v > hi { v - hi } else { lo - v };
            let mut pv = atom_max;
            if outside {
                let tail = 2.0 / (nb as f64 + 1.0);
                pv = if sd > 0.0 && beyond > sd {
                    tail * atom_max
                } else {
                    tail
                };
            }
            pv = pv.min(1.0);
            let p = exact::binom_midp(k, n, pv);
            // Inside the range, a repeat the baseline's ties explain is no candidate: its
            // label mix would be tested against the overall label shares, and values of a
            // sparse integer column (a pixel that is non-zero for one digit) follow labels.
            let far = outside && sd > 0.0 && beyond > sd;
            if !far && p > s.alpha {
                continue;
            }
            let mut per = BTreeMap::new();
            if let Some(lc) = &cur.label {
                for (lab, cols) in &lc.per_label {
                    let x = cols
                        .iter()
                        .find(|x| x.name == b.name)
                        .and_then(atom_view)
                        .map(|a| a.0.count_of(v))
                        .unwrap_or(0);
                    per.insert(lab.clone(), eff(x, ec));
                }
            }
            cands.push(Cand {
                kind: Kind::PointMass,
                column: b.name.clone(),
                shown: short(v),
                raw: format!("{v}"),
                k,
                k0,
                n,
                n0: nb,
                p_novel: p,
                p_novel_min: p,
                novelty_used: true,
                label: None,
                labels_tested: 0,
                p_purity: 1.0,
                p_purity_min: 1.0,
                range: Some((lo, hi, outside)),
            });
            if labelled {
                set_purity(cands.last_mut(), &per, &pri, s.alpha);
            }
        }
    }
    let combined = |c: &Cand, min: bool| -> f64 {
        let (a, b) = if min {
            (c.p_novel_min, c.p_purity_min)
        } else {
            (c.p_novel, c.p_purity)
        };
        match (c.label.is_some(), c.novelty_used) {
            (true, true) => exact::fisher_combine(&[a, b]),
            (true, false) => b,
            (false, true) => a,
            (false, false) => 1.0,
        }
    };
    // One family per kind of candidate (values, tokens, point masses): Tarone's count, then
    // Benjamini–Hochberg within it.
    let mut tested: Vec<(usize, f64, f64, usize)> = Vec::new();
    for kind in [Kind::Value, Kind::Token, Kind::PointMass] {
        let idx: Vec<usize> = (0..cands.len())
            .filter(|&i| cands[i].kind == kind)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let mins: Vec<f64> = idx.iter().map(|&i| combined(&cands[i], true)).collect();
        let m = exact::tarone_m(&mins, s.alpha);
        let testable: Vec<usize> = idx
            .iter()
            .zip(&mins)
            .filter(|(_, &p)| p <= s.alpha / m as f64)
            .map(|(&i, _)| i)
            .collect();
        if testable.is_empty() {
            continue;
        }
        let ps: Vec<f64> = testable
            .iter()
            .map(|&i| combined(&cands[i], false))
            .collect();
        let scale = m as f64 / testable.len() as f64;
        for ((&i, p), q) in testable.iter().zip(&ps).zip(stats::bh(&ps)) {
            tested.push((i, *p, (q * scale).min(1.0), m));
        }
    }
    let mut found: Vec<(f64, Finding)> = Vec::new();
    for &(i, p, q, m) in &tested {
        let (p, q) = (&p, &q);
        let sev = if *q < s.alpha {
            Severity::High
        } else if *q < s.trigger_medium_q {
            Severity::Medium
        } else {
            continue;
        };
        let c = &cands[i];
        let labels = match &c.label {
            Some((lab, x, prior)) => format!(
                "; {x} of {} labelled {label_name}={lab} (baseline share {})",
                c.k,
                pct(*prior)
            ),
            None => String::new(),
        };
        let stats_txt = format!("p {:.2e}, q {:.2e}", p, q);
        let (id, subject, title) = match c.kind {
            Kind::PointMass => {
                let (lo, hi, outside) = c.range.unwrap_or((f64::NAN, f64::NAN, false));
                (
                    "drift.point_mass",
                    c.column.clone(),
                    format!(
                        "'{}': value {} repeated {} times, baseline range [{}, {}]{}{labels}: {stats_txt}",
                        c.column,
                        c.shown,
                        c.k,
                        short(lo),
                        short(hi),
                        if outside { " (outside)" } else { "" }
                    ),
                )
            }
            Kind::Value => (
                "drift.trigger",
                c.column.clone(),
                format!(
                    "'{}': value {} in {} of {} rows, {} of {} baseline rows{labels}: {stats_txt}",
                    c.column, c.shown, c.k, c.n, c.k0, c.n0
                ),
            ),
            Kind::Token => (
                "drift.trigger_token",
                format!("text:{}", c.column),
                format!(
                    "token {} in {} of {} rows, {} of {} baseline rows{labels}: {stats_txt}",
                    c.shown, c.k, c.n, c.k0, c.n0
                ),
            ),
        };
        let mut f = finding(id, sev, &subject, title)
            .with("column", c.column.clone())
            .with("statistic", "exact_trigger_q")
            .with("rows", c.k)
            .with("current_rows", c.n)
            .with("baseline_rows_with_value", c.k0)
            .with("baseline_rows", c.n0)
            .with("p_value", *p)
            .with("q_value", *q)
            .with("p_novelty", c.p_novel)
            .with("candidates_tested", m)
            .with("threshold_high", s.alpha)
            .with("threshold_medium", s.trigger_medium_q);
        f = match c.kind {
            Kind::Token => f.with("token", c.raw.clone()),
            _ => f.with("value", c.raw.clone()),
        };
        if let Some((lo, hi, outside)) = c.range {
            f = f
                .with("baseline_min", lo)
                .with("baseline_max", hi)
                .with("outside_range", outside);
        }
        if let Some((lab, x, prior)) = &c.label {
            f = f
                .with("label", lab.clone())
                .with("label_rows", *x)
                .with("label_prior", round(*prior))
                .with("p_purity", c.p_purity)
                .with("labels_tested", c.labels_tested);
        }
        found.push((*q, f));
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    found.truncate(20);
    out.extend(found.into_iter().map(|x| x.1));
}

fn set_purity(
    c: Option<&mut Cand>,
    per: &BTreeMap<String, u64>,
    pri: &BTreeMap<String, f64>,
    alpha: f64,
) {
    let Some(c) = c else { return };
    if let Some((lab, x, prior, p, pmin, m)) = purity(per, c.k, pri, alpha) {
        if x == 0 {
            return;
        }
        c.label = Some((lab, x, prior));
        c.p_purity = p;
        c.p_purity_min = pmin;
        c.labels_tested = m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers() {
        assert_eq!(short(82.290358), "82.29");
        assert_eq!(short(39.28), "39.28");
        assert_eq!(short(9.71), "9.71");
        assert_eq!(short(0.000123456), "0.0001235");
        assert_eq!(short(1234567.8), "1234568");
        assert_eq!(short(16.0), "16");
        assert_eq!(short(-2.5), "-2.5");
    }

    #[test]
    fn five_new_rows_all_one_label_of_share_40pct_are_significant() {
        // 5 of 170 current rows, none of 170 baseline rows: with equal halves the split
        // carries no evidence once a value was picked for being absent from the baseline.
        assert!(novelty(5, 170, 0, 170, 0).is_none());
        // All 5 in a label of share 0.4: mid-p ½·0.4⁵ = 0.00512 (the 0.6 label could not
        // reach 0.01 with 5 rows, so it is not counted).
        let pri: BTreeMap<String, f64> = [("a".to_string(), 0.4), ("b".to_string(), 0.6)].into();
        let per: BTreeMap<String, u64> = [("a".to_string(), 5), ("b".to_string(), 0)].into();
        let (lab, x, _, pur, _, m) = purity(&per, 5, &pri, 0.01).unwrap();
        assert_eq!((lab.as_str(), x, m), ("a", 5, 1));
        assert!((pur - 0.5 * 0.4f64.powi(5)).abs() < 1e-12, "{pur}");
        // Split between labels as the baseline is: nothing to test.
        let per: BTreeMap<String, u64> = [("a".to_string(), 2), ("b".to_string(), 3)].into();
        assert!(purity(&per, 5, &pri, 0.01).is_none());
        // A large baseline (10 000 rows, up to 10 copies allowed by the 0.1 % filter): the
        // split is evidence, and 5 new rows all in the current batch are significant.
        let (p, pmin) = novelty(5, 170, 0, 10_000, 10).unwrap();
        assert!(p < 1e-3 && pmin <= p, "{p}");
        assert!(exact::fisher_combine(&[p, pur]) < 1e-4);
    }
}
