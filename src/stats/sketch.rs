//! Distribution distances and tests computed from profile sketches.

use super::{chi2_sf, kolmogorov_sf, normal_sf};
use crate::profile::sketch::Kll;
use std::collections::BTreeMap;

/// Evaluation grid: the union of both sketches' quantiles at 0.5 % steps.
fn grid(a: &Kll, b: &Kll) -> Vec<f64> {
    let qs: Vec<f64> = (0..=200).map(|i| i as f64 / 200.0).collect();
    let mut g = a.quantiles(&qs);
    g.extend(b.quantiles(&qs));
    g.sort_by(|x, y| x.total_cmp(y));
    g.dedup();
    g
}

/// KS distance sup |F_a - F_b| evaluated on the sketches' quantile grid.
pub fn ks(a: &Kll, b: &Kll) -> f64 {
    grid(a, b)
        .iter()
        .map(|&x| (a.rank(x) - b.rank(x)).abs())
        .fold(0.0, f64::max)
}

/// KS p-value for distance `d` measured from sketches with rank errors `eps`, and
/// effective sample sizes `n`, `m`: the sketch error is subtracted first, so a distance
/// under the sketches' own error is never significant.
pub fn ks_pvalue(d: f64, eps: f64, n: f64, m: f64) -> f64 {
    let excess = (d - eps).max(0.0);
    if n <= 0.0 || m <= 0.0 {
        return 1.0;
    }
    let en = (n * m / (n + m)).sqrt();
    kolmogorov_sf((en + 0.12 + 0.11 / en) * excess)
}

/// Wasserstein-1 between the two quantile functions (mean |Q_a(p) - Q_b(p)| over p).
pub fn wasserstein(a: &Kll, b: &Kll) -> f64 {
    let qs: Vec<f64> = (0..200).map(|i| (i as f64 + 0.5) / 200.0).collect();
    let qa = a.quantiles(&qs);
    let qb = b.quantiles(&qs);
    if qa.is_empty() || qb.is_empty() {
        return 0.0;
    }
    qa.iter().zip(&qb).map(|(x, y)| (x - y).abs()).sum::<f64>() / qs.len() as f64
}

/// Population stability index on the baseline's deciles.
pub fn psi(base: &Kll, cur: &Kll) -> f64 {
    let edges = base.quantiles(&(1..10).map(|i| i as f64 / 10.0).collect::<Vec<_>>());
    if edges.is_empty() {
        return 0.0;
    }
    let cdf = |k: &Kll| -> Vec<f64> {
        let mut v = vec![0.0];
        v.extend(edges.iter().map(|&e| k.rank(e)));
        v.push(1.0);
        v
    };
    let (cb, cc) = (cdf(base), cdf(cur));
    let mut s = 0.0;
    for i in 0..cb.len() - 1 {
        let e = (cb[i + 1] - cb[i]).max(1e-4);
        let a = (cc[i + 1] - cc[i]).max(1e-4);
        s += (a - e) * (a / e).ln();
    }
    s.max(0.0)
}

/// Two distributions over categories (probabilities, same keys).
pub fn align(
    a: &BTreeMap<String, u64>,
    ta: u64,
    b: &BTreeMap<String, u64>,
    tb: u64,
) -> Vec<(String, f64, f64, u64, u64)> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out: Vec<(String, f64, f64, u64, u64)> = keys
        .into_iter()
        .map(|k| {
            let ca = a.get(k).copied().unwrap_or(0);
            let cb = b.get(k).copied().unwrap_or(0);
            (
                k.clone(),
                ca as f64 / ta.max(1) as f64,
                cb as f64 / tb.max(1) as f64,
                ca,
                cb,
            )
        })
        .collect();
    // Mass not covered by the tracked values.
    let ra = 1.0 - out.iter().map(|x| x.1).sum::<f64>();
    let rb = 1.0 - out.iter().map(|x| x.2).sum::<f64>();
    if ra > 1e-9 || rb > 1e-9 {
        let ca = ta.saturating_sub(out.iter().map(|x| x.3).sum());
        let cb = tb.saturating_sub(out.iter().map(|x| x.4).sum());
        out.push(("__rest__".into(), ra.max(0.0), rb.max(0.0), ca, cb));
    }
    out
}

/// Jensen–Shannon divergence in bits (0..1).
pub fn js(p: &[(String, f64, f64, u64, u64)]) -> f64 {
    let mut s = 0.0;
    for (_, a, b, _, _) in p {
        let m = (a + b) / 2.0;
        if *a > 0.0 {
            s += 0.5 * a * (a / m).log2();
        }
        if *b > 0.0 {
            s += 0.5 * b * (b / m).log2();
        }
    }
    s.clamp(0.0, 1.0)
}

pub fn linf(p: &[(String, f64, f64, u64, u64)]) -> f64 {
    p.iter()
        .map(|(_, a, b, _, _)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Chi-square test of homogeneity on a 2×k table (shares scaled to effective sizes).
/// Categories with an expected count under 5 are pooled into one cell; `None` when fewer
/// than two cells remain.
pub fn chi2_homogeneity(
    p: &[(String, f64, f64, u64, u64)],
    na: f64,
    nb: f64,
) -> Option<(f64, f64)> {
    if p.len() < 2 || na <= 0.0 || nb <= 0.0 {
        return None;
    }
    let n = na + nb;
    let mut cells: Vec<(f64, f64)> = Vec::new();
    let mut pooled = (0.0, 0.0);
    for (_, a, b, _, _) in p {
        let (oa, ob) = (a * na, b * nb);
        let col = oa + ob;
        if col * na.min(nb) / n < 5.0 {
            pooled.0 += oa;
            pooled.1 += ob;
        } else {
            cells.push((oa, ob));
        }
    }
    if (pooled.0 + pooled.1) * na.min(nb) / n >= 5.0 {
        cells.push(pooled);
    }
    if cells.len() < 2 {
        return None;
    }
    let mut stat = 0.0;
    for (oa, ob) in &cells {
        let col = oa + ob;
        let (ea, eb) = (col * na / n, col * nb / n);
        stat += (oa - ea).powi(2) / ea + (ob - eb).powi(2) / eb;
    }
    Some((stat, chi2_sf(stat, (cells.len() - 1) as f64)))
}

/// Two-proportion z-test p-value (two-sided) for x1/n1 vs x2/n2.
pub fn two_prop_p(x1: f64, n1: f64, x2: f64, n2: f64) -> f64 {
    if n1 <= 0.0 || n2 <= 0.0 {
        return 1.0;
    }
    let p = (x1 + x2) / (n1 + n2);
    let se = (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return if (x1 / n1 - x2 / n2).abs() > 0.0 {
            0.0
        } else {
            1.0
        };
    }
    2.0 * normal_sf(((x1 / n1 - x2 / n2) / se).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_on_shifted_normals() {
        let mut a = Kll::new(200, 1);
        let mut b = Kll::new(200, 2);
        let mut c = Kll::new(200, 3);
        let mut s = 5u64;
        for _ in 0..50_000 {
            s = crate::profile::sketch::mix64(s);
            let u1 = ((s >> 11) as f64 / (1u64 << 53) as f64).max(1e-300);
            s = crate::profile::sketch::mix64(s);
            let u2 = (s >> 11) as f64 / (1u64 << 53) as f64;
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            a.add(z);
            b.add(z + 0.5);
            s = crate::profile::sketch::mix64(s);
            let u3 = ((s >> 11) as f64 / (1u64 << 53) as f64).max(1e-300);
            c.add((-2.0 * u3.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).sin());
        }
        // 0.5 sigma shift: KS = 2Φ(0.25) - 1 = 0.197, W1 = 0.5, PSI ≈ 0.25.
        assert!((ks(&a, &b) - 0.197).abs() < 0.03, "{}", ks(&a, &b));
        assert!((wasserstein(&a, &b) - 0.5).abs() < 0.03);
        assert!((psi(&a, &b) - 0.25).abs() < 0.06, "{}", psi(&a, &b));
        // Same distribution: small distances, KS not significant after the sketch error.
        let d = ks(&a, &c);
        assert!(d < 0.03);
        assert!(ks_pvalue(d, a.epsilon() + c.epsilon(), 50_000.0, 50_000.0) > 0.5);
    }
}
