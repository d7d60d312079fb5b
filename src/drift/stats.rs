//! Distribution distances and tests computed from profile sketches.

use crate::profile::sketch::Kll;
use std::collections::BTreeMap;

/// Standard normal upper tail P(Z > z), via erfc (Numerical Recipes `erfcc`, fractional
/// error < 1.2e-7). Also used by the Shapiro–Wilk p-value (`scan::inference::swilk`).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Kolmogorov distribution upper tail Q(λ) = 2 Σ (-1)^{k-1} e^{-2k²λ²}.
pub fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 0.2 {
        return 1.0;
    }
    let mut s = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = (-2.0 * k * k * lambda * lambda).exp();
        s += if (k as i64) % 2 == 1 { term } else { -term };
        if term < 1e-12 {
            break;
        }
    }
    (2.0 * s).clamp(0.0, 1.0)
}

/// Regularised upper incomplete gamma Q(a, x) (Numerical Recipes series / continued fraction).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        // Series for P.
        let mut sum = 1.0 / a;
        let mut del = sum;
        let mut ap = a;
        for _ in 0..500 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-14 {
                break;
            }
        }
        let p = sum * (-x + a * x.ln() - ln_gamma(a)).exp();
        (1.0 - p).clamp(0.0, 1.0)
    } else {
        // Continued fraction for Q (Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-14 {
                break;
            }
        }
        ((-x + a * x.ln() - ln_gamma(a)).exp() * h).clamp(0.0, 1.0)
    }
}

/// ln Γ(x) (Lanczos, g = 7).
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Chi-square survival function with `k` degrees of freedom.
pub fn chi2_sf(x: f64, k: f64) -> f64 {
    gamma_q(k / 2.0, x / 2.0)
}

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
    fn special_functions_match_tables() {
        assert!((normal_sf(1.96) - 0.025).abs() < 1e-4);
        assert!((kolmogorov_sf(1.36) - 0.0495).abs() < 2e-4);
        assert!((kolmogorov_sf(1.63) - 0.0098).abs() < 1e-3);
        // chi2(3) critical value 7.815 at 0.05; chi2(1) 3.841.
        assert!((chi2_sf(7.815, 3.0) - 0.05).abs() < 1e-3);
        assert!((chi2_sf(3.841, 1.0) - 0.05).abs() < 1e-3);
        assert!((chi2_sf(30.0, 10.0) - 0.000857).abs() < 1e-5);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-10);
    }

    #[test]
    fn bh_matches_reference() {
        // m = 4: sorted p 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.0533, 0.0533, 0.2 (step-up).
        let q = bh(&[0.01, 0.04, 0.03, 0.2]);
        let want = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

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
