//! Shared statistics: special functions, multiple-testing correction, sketch-based
//! distribution distances (drift), the Shapiro–Wilk test (inference logs).
//!
//! * [`special`]: normal / Kolmogorov / gamma / chi-square tails, ln Γ, the normal quantile.
//! * [`sketch`]: KS, Wasserstein, PSI, Jensen–Shannon, chi-square homogeneity on profile sketches.
//! * [`swilk`]: Shapiro–Wilk W (Royston AS R94).

pub mod sketch;
pub mod special;
pub mod swilk;

pub use sketch::*;
pub use special::*;

/// Benjamini–Hochberg q-values for `p` (same order).
pub fn bh(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; m];
    let mut prev = 1.0f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        let v = (p[i] * m as f64 / (rank + 1) as f64).min(prev).min(1.0);
        q[i] = v;
        prev = v;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bh_matches_reference() {
        // m = 4: sorted p 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.0533, 0.0533, 0.2 (step-up).
        let q = bh(&[0.01, 0.04, 0.03, 0.2]);
        let want = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }
}
