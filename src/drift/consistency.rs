//! `drift.label_consistency`: label flips on a batch of *new* rows (no matching
//! fingerprints). The baseline's class-conditional model (`profile::consistency`: Gaussian
//! naive Bayes from its per-label moments) scores every distinct current row; per (given,
//! predicted) pair the share of current rows of the given label that the model assigns to
//! the other label is compared with the baseline's own leave-one-out share, recorded when
//! the baseline was profiled: Fisher's exact test, one-sided, mid-p; Tarone's count of
//! testable pairs, then Benjamini–Hochberg within them (as `poison.rs` does).

use super::{finding, round, Settings};
use crate::finding::{Coverage, Finding, Severity};
use crate::profile::consistency::{Model, MODEL};
use crate::profile::Profile;
use crate::stats::{self, exact};

/// The detection's name in `coverage`.
pub const DETECTION: &str = "drift.label_consistency";

/// Least current rows of one (given, predicted) pair for a finding.
const MIN_ROWS: u64 = 3;

/// Run the check; `None` when it does not apply (no label), else its coverage entry.
pub fn check(
    base: &Profile,
    cur: &Profile,
    s: &Settings,
    out: &mut Vec<Finding>,
) -> Option<Coverage> {
    let lb = base.label.as_ref()?;
    cur.label.as_ref()?;
    let blind = |why: String| Some(Coverage::new(DETECTION, false, "blind", why));
    let Some(sec) = &lb.consistency else {
        return blind("not evaluable: the baseline profile has no label-consistency summary (made by an mlguard before it, merged from parts scored with different models, or without numeric columns / two labels): re-profile the baseline with this mlguard".into());
    };
    let Some(sample) = &cur.sample else {
        return blind("not evaluable: the current side is a profile; the check scores current rows, so pass the current data itself".into());
    };
    let Some(model) = Model::from_profile(base, &sec.features, sec.var_smoothing, sec.margin)
    else {
        return blind("not evaluable: no class-conditional model can be built from the baseline (fewer than two labels or no numeric column with variance)".into());
    };
    if sec.model != MODEL || model.labels != sec.labels || model.features != sec.features {
        return blind("not evaluable: the baseline's label-consistency summary does not match the model its own moments give (edited or merged profile): re-profile the baseline".into());
    }
    let (scored, dis) = model.score(sample, false);
    let name = base.settings.label.clone().unwrap_or_default();
    let k = model.labels.len();
    // (given, predicted, current rows, current label rows, baseline rows, baseline label rows)
    let mut pairs = Vec::new();
    for g in 0..k {
        let (n1, n0) = (scored[g], sec.scored[g]);
        if n1 == 0 || n0 == 0 {
            continue;
        }
        for (p, &k1) in dis[g].iter().enumerate() {
            let k0 = sec.count(g, p);
            if p == g || k0 + k1 == 0 {
                continue;
            }
            pairs.push((g, p, k1, n1, k0, n0));
        }
    }
    let mins: Vec<f64> = pairs
        .iter()
        .map(|&(_, _, k1, n1, k0, n0)| exact::fisher_greater_min_midp(k1, n1, k0, n0))
        .collect();
    let m = exact::tarone_m(&mins, s.alpha);
    let testable: Vec<usize> = (0..pairs.len())
        .filter(|&i| mins[i] <= s.alpha / m as f64)
        .collect();
    let ps: Vec<f64> = testable
        .iter()
        .map(|&i| {
            let (_, _, k1, n1, k0, n0) = pairs[i];
            exact::fisher_greater_midp(k1, n1, k0, n0)
        })
        .collect();
    let scale = m as f64 / testable.len().max(1) as f64;
    let scored_rows: u64 = scored.iter().sum();
    for ((&i, &p), q) in testable.iter().zip(&ps).zip(stats::bh(&ps)) {
        let q = (q * scale).min(1.0);
        let (g, pr, k1, n1, k0, n0) = pairs[i];
        if k1 < MIN_ROWS {
            continue;
        }
        let sev = if q < s.alpha {
            Severity::High
        } else if q < s.trigger_medium_q {
            Severity::Medium
        } else {
            continue;
        };
        let (given, pred) = (&model.labels[g], &model.labels[pr]);
        let (rate, rate0) = (k1 as f64 / n1 as f64, k0 as f64 / n0 as f64);
        out.push(
            finding(
                "drift.label_consistency",
                sev,
                &format!("label:{name}={given}"),
                format!(
                    "{k1} of {n1} rows labelled {name}={given} look like {pred} to the baseline's model ({:.1}%; baseline {k0} of {n0}, {:.1}%): p {p:.2e}, q {q:.2e}",
                    rate * 100.0,
                    rate0 * 100.0
                ),
            )
            .with("column", name.clone())
            .with("statistic", "label_disagreement_share")
            .with("label", given.clone())
            .with("predicted_label", pred.clone())
            .with("rows", k1)
            .with("label_rows", n1)
            .with("baseline_rows_disagreeing", k0)
            .with("baseline_label_rows", n0)
            .with("value", round(rate))
            .with("baseline_rate", round(rate0))
            .with("p_value", p)
            .with("q_value", q)
            .with("candidates_tested", m)
            .with("model", MODEL)
            .with("features", model.features.len())
            .with("sample_rate", round(sample.rate.min(sec.sample_rate))),
        );
    }
    Some(Coverage::new(
        DETECTION,
        true,
        "active",
        format!(
            "{scored_rows} distinct current rows scored by the baseline's {MODEL} model ({} features, {k} labels); {} (given, predicted) pairs, {m} testable",
            model.features.len(),
            pairs.len()
        ),
    ))
}
