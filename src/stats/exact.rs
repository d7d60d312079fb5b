//! Exact small-sample tests: binomial, hypergeometric (Fisher's exact test on a 2×2 table),
//! their mid-p upper tails, Fisher's method to combine independent p-values, and Tarone's
//! count of testable hypotheses for discrete tests.
//!
//! Mid-p (Lancaster 1961): P(X > x) + ½·P(X = x). For discrete statistics the plain tail
//! P(X ≥ x) is conservative (its size is below the nominal level); the mid-p is the usual
//! compromise, close to nominal on average.
//!
//! Every sum is over log-space terms from [`super::ln_gamma`] and stops once the terms are
//! negligible (they fall monotonically past the mode), so a tail costs O(terms that matter),
//! never O(n) for a huge `n`.

use super::{chi2_sf, ln_gamma};

/// ln C(n, k).
pub fn ln_choose(n: f64, k: f64) -> f64 {
    if k < 0.0 || k > n {
        return f64::NEG_INFINITY;
    }
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
}

/// ln P(X = k) for X ~ Binomial(n, p).
pub fn binom_ln_pmf(k: u64, n: u64, p: f64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    let (kf, nf) = (k as f64, n as f64);
    if p <= 0.0 {
        return if k == 0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if p >= 1.0 {
        return if k == n { 0.0 } else { f64::NEG_INFINITY };
    }
    ln_choose(nf, kf) + kf * p.ln() + (nf - kf) * (-p).ln_1p()
}

/// Sum of exp(ln_pmf(i)) for i from `from` upwards (step +1) or downwards (step -1) until
/// `to` (inclusive) or until the terms are negligible past the mode.
fn tail_sum(ln_pmf: &dyn Fn(u64) -> f64, from: u64, to: u64, up: bool, mode: f64) -> f64 {
    let mut s = 0.0f64;
    let mut i = from;
    loop {
        let t = ln_pmf(i).exp();
        s += t;
        let past_mode = if up {
            i as f64 >= mode
        } else {
            i as f64 <= mode
        };
        if past_mode && t <= s * 1e-17 {
            break;
        }
        if i == to {
            break;
        }
        if up {
            i += 1;
        } else {
            i -= 1;
        }
    }
    s
}

/// P(X ≥ k) for X ~ Binomial(n, p).
pub fn binom_sf_ge(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    let mode = (n as f64 + 1.0) * p;
    let f = |i: u64| binom_ln_pmf(i, n, p);
    if (k as f64) > mode {
        tail_sum(&f, k, n, true, mode).min(1.0)
    } else {
        (1.0 - tail_sum(&f, k - 1, 0, false, mode)).clamp(0.0, 1.0)
    }
}

/// Mid-p upper tail P(X > k) + ½ P(X = k), X ~ Binomial(n, p).
pub fn binom_midp(k: u64, n: u64, p: f64) -> f64 {
    if k > n {
        return 0.0;
    }
    (binom_sf_ge(k, n, p) - 0.5 * binom_ln_pmf(k, n, p).exp()).clamp(0.0, 1.0)
}

/// ln P(X = k) for X ~ Hypergeometric: `draws` items drawn from a population of `pop`
/// items of which `succ` are successes.
pub fn hyper_ln_pmf(k: u64, pop: u64, succ: u64, draws: u64) -> f64 {
    if k > succ || k > draws || draws - k > pop - succ {
        return f64::NEG_INFINITY;
    }
    ln_choose(succ as f64, k as f64) + ln_choose((pop - succ) as f64, (draws - k) as f64)
        - ln_choose(pop as f64, draws as f64)
}

/// Support of the hypergeometric distribution: [lo, hi].
fn hyper_support(pop: u64, succ: u64, draws: u64) -> (u64, u64) {
    let lo = (draws + succ).saturating_sub(pop);
    (lo, succ.min(draws))
}

/// P(X ≥ k), X ~ Hypergeometric(pop, succ, draws).
pub fn hyper_sf_ge(k: u64, pop: u64, succ: u64, draws: u64) -> f64 {
    let (lo, hi) = hyper_support(pop, succ, draws);
    if k <= lo {
        return 1.0;
    }
    if k > hi {
        return 0.0;
    }
    let mode = (draws as f64 + 1.0) * (succ as f64 + 1.0) / (pop as f64 + 2.0);
    let f = |i: u64| hyper_ln_pmf(i, pop, succ, draws);
    if (k as f64) > mode {
        tail_sum(&f, k, hi, true, mode).min(1.0)
    } else {
        (1.0 - tail_sum(&f, k - 1, lo, false, mode)).clamp(0.0, 1.0)
    }
}

/// Mid-p upper tail of the hypergeometric distribution.
pub fn hyper_midp(k: u64, pop: u64, succ: u64, draws: u64) -> f64 {
    (hyper_sf_ge(k, pop, succ, draws) - 0.5 * hyper_ln_pmf(k, pop, succ, draws).exp())
        .clamp(0.0, 1.0)
}

/// Fisher's exact test, one-sided ("the current sample has the larger share"), mid-p:
/// `k1` of `n1` current items vs `k0` of `n0` baseline items. Conditional on the total
/// `k0 + k1`, the current count is hypergeometric.
pub fn fisher_greater_midp(k1: u64, n1: u64, k0: u64, n0: u64) -> f64 {
    if n1 == 0 || k1 == 0 {
        return 1.0;
    }
    hyper_midp(k1, n0 + n1, k0 + k1, n1)
}

/// The smallest mid-p [`fisher_greater_midp`] could reach with these margins (every one of
/// the `k0 + k1` items in the current sample): the quantity Tarone's method compares with
/// the level.
pub fn fisher_greater_min_midp(k1: u64, n1: u64, k0: u64, n0: u64) -> f64 {
    let t = k0 + k1;
    if n1 == 0 || t == 0 {
        return 1.0;
    }
    let kmax = t.min(n1);
    hyper_midp(kmax, n0 + n1, t, n1)
}

/// Fisher's method: −2 Σ ln pᵢ ~ χ²(2m) for independent p-values.
pub fn fisher_combine(ps: &[f64]) -> f64 {
    if ps.is_empty() {
        return 1.0;
    }
    let s: f64 = ps.iter().map(|p| -2.0 * p.clamp(1e-300, 1.0).ln()).sum();
    chi2_sf(s, 2.0 * ps.len() as f64)
}

/// Tarone (1990): of hypotheses whose smallest achievable p-values are `min_p`, the number
/// `m` to correct for at level `alpha`: the least m with #{i: min_pᵢ ≤ α/m} ≤ m. Only the
/// hypotheses with min_pᵢ ≤ α/m can ever be significant; the others are not counted.
pub fn tarone_m(min_p: &[f64], alpha: f64) -> usize {
    let mut sorted: Vec<f64> = min_p.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    for m in 1..=sorted.len().max(1) {
        let c = sorted
            .iter()
            .take_while(|&&p| p <= alpha / m as f64)
            .count();
        if c <= m {
            return m;
        }
    }
    sorted.len().max(1)
}

/// Exact upper bound on the chance that a share `out` of `nc` current values falls outside
/// the range of `nb` baseline values when both are samples of one distribution
/// (exchangeable). `k` values below the baseline minimum means the `k` smallest of all
/// `nb + nc` values are current: probability `prod_{i<k} (nc-i)/(nb+nc-i)`, and the same
/// above the maximum. The share does not say how the outside values split between the two
/// sides, and at least half of them are on one side, so `2 * P(one side >= ceil(k/2))`
/// bounds the p-value from above (conservative: never a false alarm from the split).
/// This replaces a normal approximation that was far too confident for a handful of
/// tied values just past the range (five 0.1 petal widths in a 75-row half of iris).
pub fn outside_range_sf(nb: f64, nc: f64, out: f64) -> f64 {
    if !(nb >= 1.0 && nc >= 1.0 && out > 0.0 && out.is_finite()) {
        return 1.0;
    }
    let k = (out * nc).round().max(0.0).min(nc);
    let side = (k / 2.0).ceil();
    let mut ln_p = 0.0f64;
    let mut i = 0.0;
    while i < side {
        ln_p += ((nc - i) / (nb + nc - i)).ln();
        if ln_p < -745.0 {
            return 0.0;
        }
        i += 1.0;
    }
    (2.0 * ln_p.exp()).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    // Reference values: scipy 1.17.1 (`scipy.stats.binom`, `hypergeom`, `fisher_exact`,
    // `combine_pvalues`), printed by the snippet in docs/drift.md ("Exact tests").

    #[test]
    fn binomial_tails_match_scipy() {
        // binom.sf(4, 10, 0.3) = P(X >= 5)
        assert!(close(binom_sf_ge(5, 10, 0.3), 0.150_268_333_2, 1e-8));
        // P(X >= 4), X ~ Bin(4, 0.37): 0.37^4
        assert!(close(binom_sf_ge(4, 4, 0.37), 0.018_741_61, 1e-8));
        // mid-p of the same: half of it.
        assert!(close(binom_midp(4, 4, 0.37), 0.009_370_805, 1e-8));
        // Large n, far tail: binom.sf(59, 10000, 0.003) = P(X >= 60)
        assert!(close(
            binom_sf_ge(60, 10_000, 0.003),
            8.844_720_122_644_609e-7,
            1e-6
        ));
        // Lower half (complement path): binom.sf(1, 100, 0.05) = P(X >= 2)
        assert!(close(
            binom_sf_ge(2, 100, 0.05),
            0.962_918_790_672_645,
            1e-8
        ));
        assert_eq!(binom_sf_ge(0, 5, 0.2), 1.0);
        assert_eq!(binom_sf_ge(6, 5, 0.2), 0.0);
    }

    #[test]
    fn hypergeometric_and_fisher_match_scipy() {
        // hypergeom(M=569, n=4, N=285).pmf(4): all 4 copies in the 285-row half.
        let p = hyper_ln_pmf(4, 569, 4, 285).exp();
        assert!(close(p, 0.062_278_572_823_388_285, 1e-8), "{p}");
        // hypergeom.sf(11, 187, 13, 100) = P(X >= 12)
        assert!(close(
            hyper_sf_ge(12, 187, 13, 100),
            0.002_748_459_934_208_394,
            1e-8
        ));
        // fisher_exact([[12, 88], [1, 86]], alternative='greater').pvalue: the same number.
        let plain = hyper_sf_ge(12, 187, 13, 100);
        assert!(close(plain, 0.002_748_459_934_208_394, 1e-8));
        let mid = fisher_greater_midp(12, 100, 1, 87);
        assert!(mid < plain && mid > plain / 2.0);
        assert!(close(
            mid,
            plain - 0.5 * hyper_ln_pmf(12, 187, 13, 100).exp(),
            1e-12
        ));
        // Complement path: P(X >= 1) with a mode above 1.
        assert!(close(
            hyper_sf_ge(1, 50, 10, 20),
            1.0 - hyper_ln_pmf(0, 50, 10, 20).exp(),
            1e-12
        ));
        assert_eq!(fisher_greater_midp(0, 10, 3, 10), 1.0);
        // The minimum is reached when every item is current.
        assert!(fisher_greater_min_midp(2, 100, 1, 87) <= fisher_greater_midp(2, 100, 1, 87));
    }

    #[test]
    fn fisher_method_and_tarone() {
        // combine_pvalues([0.01, 0.02], method='fisher').pvalue
        assert!(close(
            fisher_combine(&[0.01, 0.02]),
            0.001_903_438_638_283_249,
            1e-6
        ));
        assert!(close(fisher_combine(&[0.05]), 0.05, 1e-6));
        // Hypotheses that can never be significant are not counted.
        assert_eq!(tarone_m(&[1e-6, 1e-5, 0.5, 0.4, 0.3], 0.01), 2);
        assert_eq!(tarone_m(&[0.2; 100], 0.01), 1);
        assert_eq!(tarone_m(&[1e-9; 5], 0.01), 5);
    }

    #[test]
    fn outside_range_bound() {
        // Five of 75 current values past the range of 75 baseline values: at least 3 on one
        // side, 2 * (75*74*73)/(150*149*148) = 0.245, nowhere near significant.
        let p = super::outside_range_sf(75.0, 75.0, 5.0 / 75.0);
        assert!((p - 0.2449).abs() < 1e-3, "{p}");
        // 10% of 1000 new values outside a 1000-value baseline range is overwhelming.
        assert!(super::outside_range_sf(1000.0, 1000.0, 0.1) < 1e-10);
        assert_eq!(super::outside_range_sf(100.0, 100.0, 0.0), 1.0);
    }
}
