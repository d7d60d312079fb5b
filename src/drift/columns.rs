//! What `drift` says about each column it compared, typed: the `columns` array of
//! `--format json` (docs/drift.md) and what the HTML report draws (`report::html::drift`).
//! Built by [`ColumnDrift::new`] from the two column profiles and the statistics that
//! `drift::compare` computed; the renderers read fields, never JSON keys.

use super::{ColumnSettings, Settings};
use crate::profile::{ColumnProfile, TextSection};
use serde::Serialize;

/// Top values and top text tokens kept per side.
pub const TOP: usize = 10;
/// Tokens kept per label for a text column.
pub const TOP_TOKENS: usize = 8;

/// One side (baseline or current) of a column.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Side {
    /// Rows (null or not).
    pub count: u64,
    /// Null and NaN values.
    pub nulls: u64,
    /// Estimated distinct values.
    pub distinct: f64,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Quantiles at 0 %, 1 %, ..., 100 % (empty without numeric values).
    pub percentiles: Vec<f64>,
    /// Most frequent values with their counts, largest first (`None`: not tracked).
    pub top: Option<Vec<(String, u64)>>,
}

impl Side {
    fn of(c: &ColumnProfile) -> Side {
        let qs: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
        Side {
            count: c.count,
            nulls: c.nulls + c.nan,
            distinct: c.distinct.estimate().round(),
            mean: c.moments.mean(),
            std: c.moments.std(),
            min: c.moments.min,
            max: c.moments.max,
            percentiles: c.quantiles.quantiles(&qs),
            top: c.frequent.as_ref().map(|f| f.top(TOP)),
        }
    }
    /// Share of null/NaN values.
    pub fn null_rate(&self) -> f64 {
        self.nulls as f64 / self.count.max(1) as f64
    }
}

/// The statistics computed for a column (absent: not applicable to its type).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Statistics {
    pub null_rate_baseline: f64,
    pub null_rate_current: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_sketch_error: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_p: Option<f64>,
    /// Benjamini-Hochberg q-value of `ks_p` across columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_q: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasserstein_norm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<f64>,
    /// Share of current values outside the baseline's [min, max].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub js: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linf: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chi2_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_category_share: Option<f64>,
}

/// Top tokens of one label in a `--text` column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LabelTokens {
    pub label: String,
    /// Current rows of this label with a text.
    pub docs: u64,
    /// `(token, current rows of this label with it, share of the baseline's rows with it)`,
    /// largest first.
    pub tokens: Vec<(String, u64, f64)>,
}

/// One compared column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnDrift {
    pub column: String,
    #[serde(rename = "type")]
    pub logical_type: &'static str,
    /// A `--text` column: its tokens (not its whole strings) are what is compared.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub text: bool,
    /// The label column (`--label`): its score is the label shift (the largest change of one
    /// label's share over `label_shift`'s medium threshold), `score_statistic` `label_shift`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub label: bool,
    pub baseline: Side,
    pub current: Side,
    pub statistics: Statistics,
    /// How far the column moved, whatever its type: the largest of its effect sizes (KS,
    /// normalised Wasserstein, PSI, range share, null-rate increase, Jensen-Shannon, L-inf,
    /// new-category share) divided by that statistic's `medium` threshold, so 1.0 is "at
    /// the medium threshold". Effect size only: a finding also needs significance.
    pub score: f64,
    /// The statistic that gives the score (`ks`, `psi`, `null_rate_increase`, ...; absent
    /// when every effect is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_statistic: Option<&'static str>,
    /// `--text` columns with a label: the current data's top tokens per label.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<LabelTokens>,
}

impl ColumnDrift {
    pub fn new(
        b: &ColumnProfile,
        c: &ColumnProfile,
        statistics: Statistics,
        s: &Settings,
        cs: &ColumnSettings,
        text: Option<(&TextSection, &TextSection)>,
    ) -> ColumnDrift {
        let (score, score_statistic) = score(&statistics, s, cs);
        let tokens = text
            .map(|(tb, tc)| label_tokens(tb, tc))
            .unwrap_or_default();
        ColumnDrift {
            column: b.name.clone(),
            logical_type: b.logical_type.as_str(),
            text: text.is_some(),
            label: false,
            baseline: Side::of(b),
            current: Side::of(c),
            statistics,
            score,
            score_statistic,
            tokens,
        }
    }
    /// Numeric or temporal with quantiles on both sides: drawn as histograms and CDFs.
    pub fn is_numeric(&self) -> bool {
        matches!(self.logical_type, "numeric" | "temporal")
            && !self.baseline.percentiles.is_empty()
            && !self.current.percentiles.is_empty()
    }
}

fn score(st: &Statistics, s: &Settings, cs: &ColumnSettings) -> (f64, Option<&'static str>) {
    let null_inc = st.null_rate_current - st.null_rate_baseline;
    let parts = [
        ("ks", st.ks, cs.ks.unwrap_or(s.ks)),
        (
            "wasserstein_norm",
            st.wasserstein_norm,
            cs.wasserstein.unwrap_or(s.wasserstein),
        ),
        ("psi", st.psi, cs.psi.unwrap_or(s.psi)),
        ("range_share", st.range_share, cs.range.unwrap_or(s.range)),
        (
            "null_rate_increase",
            Some(null_inc),
            cs.null_rate.unwrap_or(s.null_rate),
        ),
        ("js", st.js, cs.js.unwrap_or(s.js)),
        ("linf", st.linf, cs.linf.unwrap_or(s.linf)),
        ("new_category_share", st.new_category_share, s.new_category),
    ];
    let mut best = (0.0f64, None);
    for (name, v, th) in parts {
        let Some(v) = v else { continue };
        if th.medium <= 0.0 {
            continue;
        }
        let x = v / th.medium;
        let x = if x.is_finite() { x } else { 1e6 };
        if x > best.0 {
            best = (x, Some(name));
        }
    }
    ((best.0 * 1e4).round() / 1e4, best.1)
}

fn label_tokens(tb: &TextSection, tc: &TextSection) -> Vec<LabelTokens> {
    let base_docs = tb.docs.max(1) as f64;
    tc.per_label
        .iter()
        .map(|(label, f)| LabelTokens {
            label: label.clone(),
            docs: tc.docs_per_label.get(label).copied().unwrap_or(0),
            tokens: f
                .top(TOP_TOKENS)
                .into_iter()
                .map(|(t, n)| {
                    let share = tb.tokens.counts.get(&t).copied().unwrap_or(0) as f64 / base_docs;
                    (t, n, (share * 1e6).round() / 1e6)
                })
                .collect(),
        })
        .collect()
}
