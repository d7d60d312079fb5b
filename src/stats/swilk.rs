//! Shapiro–Wilk W test, Royston's algorithm AS R94 (Royston 1992 "Approximating the
//! Shapiro-Wilk W-test for non-normality", Statistics and Computing 2:117-119; Royston 1995
//! "Remark AS R94", Applied Statistics 44:547-551) — the algorithm behind R's `shapiro.test`
//! and SciPy's `scipy.stats.shapiro`. Valid for 3 <= n <= 5000.
//!
//! Coefficients: m_i = Φ⁻¹((i − 3/8)/(n + 1/4)); the two outermost weights come from Royston's
//! polynomials in 1/√n, the rest are m_i normalised so that Σa² = 1. W = (Σ a_i x_(i))² / Σ(x−x̄)².
//! p-value: exact for n = 3; for 4 <= n <= 11 the log-transform −log(γ − log(1−W)) is
//! normal with polynomial mean/sd in n; for n >= 12 log(1−W) is normal with mean/sd
//! polynomials in log n.

/// Result of the test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapiroWilk {
    pub w: f64,
    pub p_value: f64,
}

fn poly(c: &[f64], x: f64) -> f64 {
    // c[0] + c[1] x + c[2] x² + ...
    let mut r = 0.0;
    for &k in c.iter().rev() {
        r = r * x + k;
    }
    r
}

/// Upper tail of the normal distribution N(m, s²) at y.
fn pnorm_upper(y: f64, m: f64, s: f64) -> f64 {
    // One erfc for the crate (Numerical Recipes `erfcc`, fractional error < 1.2e-7).
    super::normal_sf((y - m) / s)
}

/// Royston's half-coefficients a_1..a_{n/2} (positive, largest first), for n >= 3.
fn coefficients(n: usize) -> Vec<f64> {
    const C1: [f64; 6] = [0.0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056];
    const C2: [f64; 6] = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
    let nn2 = n / 2;
    if n == 3 {
        return vec![std::f64::consts::FRAC_1_SQRT_2];
    }
    let an = n as f64;
    let an25 = an + 0.25;
    // m_i (negative for the lower half)
    let mut a: Vec<f64> = (1..=nn2)
        .map(|i| super::qnorm((i as f64 - 0.375) / an25))
        .collect();
    let summ2 = 2.0 * a.iter().map(|v| v * v).sum::<f64>();
    let ssumm2 = summ2.sqrt();
    let rsn = 1.0 / an.sqrt();
    let a1 = poly(&C1, rsn) - a[0] / ssumm2;
    let (i1, fac) = if n > 5 {
        let a2 = -a[1] / ssumm2 + poly(&C2, rsn);
        let fac = ((summ2 - 2.0 * a[0] * a[0] - 2.0 * a[1] * a[1])
            / (1.0 - 2.0 * a1 * a1 - 2.0 * a2 * a2))
            .sqrt();
        a[1] = a2;
        (2, fac)
    } else {
        let fac = ((summ2 - 2.0 * a[0] * a[0]) / (1.0 - 2.0 * a1 * a1)).sqrt();
        (1, fac)
    };
    a[0] = a1;
    for v in a.iter_mut().skip(i1) {
        *v /= -fac;
    }
    a
}

/// Shapiro–Wilk test of `x` (any order; sorted internally). `None` when n < 3, n > 5000, a
/// value is not finite, or the range is zero (W undefined).
pub fn shapiro_wilk(x: &[f64]) -> Option<ShapiroWilk> {
    let n = x.len();
    if !(3..=5000).contains(&n) || x.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut xs = x.to_vec();
    xs.sort_by(|a, b| a.total_cmp(b));
    let (lo, hi) = (xs[0], xs[n - 1]);
    let range = hi - lo;
    if range < 1e-19 * hi.abs().max(1.0) {
        return None;
    }
    let a = coefficients(n);
    let mean = xs.iter().map(|v| v / range).sum::<f64>() / n as f64;
    let mut ssx = 0.0;
    for v in &xs {
        let d = v / range - mean;
        ssx += d * d;
    }
    let mut num = 0.0;
    for (i, ai) in a.iter().enumerate() {
        num += ai * (xs[n - 1 - i] - xs[i]) / range;
    }
    let w = ((num * num) / ssx).min(1.0);
    let w1 = 1.0 - w;
    let an = n as f64;
    let p = if n == 3 {
        let pi6 = 6.0 / std::f64::consts::PI;
        let stqr = std::f64::consts::PI / 3.0;
        (pi6 * (w.sqrt().asin() - stqr)).max(0.0)
    } else if w1 <= 0.0 {
        1.0
    } else {
        let y = w1.ln();
        if n <= 11 {
            const G: [f64; 2] = [-2.273, 0.459];
            const C3: [f64; 4] = [0.544, -0.39978, 0.025054, -6.714e-4];
            const C4: [f64; 4] = [1.3822, -0.77857, 0.062767, -0.0020322];
            let gamma = poly(&G, an);
            if y >= gamma {
                1e-99
            } else {
                let y = -(gamma - y).ln();
                pnorm_upper(y, poly(&C3, an), poly(&C4, an).exp())
            }
        } else {
            const C5: [f64; 4] = [-1.5861, -0.31082, -0.083751, 0.0038915];
            const C6: [f64; 3] = [-0.4803, -0.082676, 0.0030302];
            let xx = an.ln();
            pnorm_upper(y, poly(&C5, xx), poly(&C6, xx).exp())
        }
    };
    Some(ShapiroWilk {
        w,
        p_value: p.clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    /// Reference values: R `shapiro.test` / SciPy `stats.shapiro` (both AS R94).
    #[test]
    fn shapiro_wilk_1965_weights_example() {
        // Shapiro & Wilk (1965), weights of 11 men (lb); the paper gives W = 0.79.
        // R: W = 0.78881, p-value = 0.006704.
        let x = [
            148.0, 154.0, 158.0, 160.0, 161.0, 162.0, 166.0, 170.0, 182.0, 195.0, 236.0,
        ];
        let r = shapiro_wilk(&x).unwrap();
        assert!(close(r.w, 0.788_814_694_863_171_6, 1e-6), "{r:?}");
        assert!(close(r.p_value, 0.006_703_814_061_898_823, 1e-3), "{r:?}");
    }

    #[test]
    fn reference_values() {
        let cases: Vec<(Vec<f64>, f64, f64)> = vec![
            (
                vec![1.0, 2.0, 4.0],
                0.964_285_714_285_714_2,
                0.636_886_845_028_968_9,
            ),
            (
                vec![2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 3.9, 4.1, 3.0],
                0.971_390_603_104_502_2,
                0.903_430_501_334_991_5,
            ),
            (
                (1..=20).map(f64::from).collect(),
                0.960_375_183_242_988_4,
                0.551_371_745_791_677_1,
            ),
            (
                (0..50).map(|i| (3.0 * i as f64 / 49.0).exp()).collect(),
                0.863_303_228_913_403_3,
                3.618_412_266_887_795e-5,
            ),
            (
                (1..=100).map(|i| (i * i) as f64).collect(),
                0.896_180_054_411_746_4,
                9.390_245_788_563_606e-7,
            ),
            (
                (1..=300).map(|i| (i as f64).sin() * i as f64).collect(),
                0.992_057_304_168_209_1,
                0.108_463_890_236_977_56,
            ),
        ];
        for (x, w, p) in cases {
            let r = shapiro_wilk(&x).unwrap();
            assert!(close(r.w, w, 1e-6), "n={} got {r:?} want W={w}", x.len());
            assert!(
                close(r.p_value, p, 1e-3),
                "n={} got {r:?} want p={p}",
                x.len()
            );
        }
    }

    #[test]
    fn degenerate_inputs() {
        assert!(shapiro_wilk(&[1.0, 2.0]).is_none());
        assert!(shapiro_wilk(&[5.0; 10]).is_none());
        assert!(shapiro_wilk(&[1.0, f64::NAN, 3.0]).is_none());
        assert!(shapiro_wilk(&vec![1.0; 5001]).is_none());
    }
}
