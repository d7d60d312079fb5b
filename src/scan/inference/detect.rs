//! The detectors. Each returns at most one finding per client.

use super::read::{Client, Log};
use super::Settings;
use crate::finding::{Finding, Severity};
use crate::stats::swilk::shapiro_wilk;
use std::collections::HashMap;

pub const ATLAS_EXTRACT: &str = "atlas:AML.T0024.002"; // Exfiltration via AI Inference API: Extract AI Model
pub const ATLAS_API: &str = "atlas:AML.T0040"; // AI Model Inference API Access
pub const ATLAS_ADV: &str = "atlas:AML.T0043"; // Craft Adversarial Data
pub const ATLAS_INJECT: &str = "atlas:AML.T0051"; // LLM Prompt Injection
pub const ATLAS_JAILBREAK: &str = "atlas:AML.T0054"; // LLM Jailbreak
pub const ATLAS_SYSPROMPT: &str = "atlas:AML.T0056"; // Extract LLM System Prompt

pub fn round(v: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (v * m).round() / m
}

/// Squared L2 distance with early abandon once it exceeds `best`.
#[inline]
fn dist2_bounded(a: &[f32], b: &[f32], best: f32) -> f32 {
    let mut acc = 0.0f32;
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let mut s = 0.0f32;
        for k in 0..8 {
            let d = x[k] - y[k];
            s += d * d;
        }
        acc += s;
        if acc > best {
            return acc;
        }
    }
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        let d = x - y;
        acc += d * d;
    }
    acc
}

/// PRADA result for one client.
#[derive(Debug, Clone)]
pub struct Prada {
    pub w: f64,
    pub p_value: f64,
    pub distances: usize,
    /// 1-based index of the client's query at which W first fell below δ.
    pub detected_at: Option<usize>,
}

/// PRADA (Juuti et al. 2019), per client. See docs/inference.md for the exact procedure.
pub fn prada(c: &Client, dim: usize, s: &Settings) -> Option<Prada> {
    if dim == 0 {
        return None;
    }
    struct Set {
        pts: Vec<f32>,
        sum: f64,
        sumsq: f64,
        n: usize,
        thr: f64,
    }
    let mut sets: HashMap<u32, Set> = HashMap::new();
    let mut dists: Vec<f64> = Vec::new();
    let mut next_check = s.prada_min_distances + 1;
    let mut last: Option<Prada> = None;
    for (q, x) in c.feats.chunks_exact(dim).enumerate() {
        if x.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let cls = c.class.get(q).copied().unwrap_or(u32::MAX);
        let set = sets.entry(cls).or_insert_with(|| Set {
            pts: Vec::new(),
            sum: 0.0,
            sumsq: 0.0,
            n: 0,
            thr: 0.0,
        });
        if set.pts.is_empty() {
            set.pts.extend_from_slice(x);
            continue;
        }
        let mut best = f32::INFINITY;
        for p in set.pts.chunks_exact(dim) {
            let d = dist2_bounded(x, p, best);
            if d < best {
                best = d;
            }
        }
        let d = (best as f64).sqrt();
        dists.push(d);
        if d > set.thr {
            set.pts.extend_from_slice(x);
            set.n += 1;
            set.sum += d;
            set.sumsq += d * d;
            let mean = set.sum / set.n as f64;
            let var = (set.sumsq / set.n as f64 - mean * mean).max(0.0);
            set.thr = set.thr.max(mean - var.sqrt());
        }
        if dists.len() >= next_check {
            let start = dists.len().saturating_sub(s.prada_window);
            let window = dists.get(start..).unwrap_or(&[]);
            if let Some(r) = shapiro_wilk(window) {
                let hit = r.w < s.prada_delta;
                last = Some(Prada {
                    w: r.w,
                    p_value: r.p_value,
                    distances: dists.len(),
                    detected_at: hit.then_some(q + 1),
                });
                if hit {
                    return last;
                }
            }
            next_check = dists.len() + (dists.len() / 20).max(1);
        }
    }
    // Final test on the whole (windowed) set when the schedule skipped the tail.
    if dists.len() > s.prada_min_distances {
        let start = dists.len().saturating_sub(s.prada_window);
        if let Some(r) = shapiro_wilk(dists.get(start..).unwrap_or(&[])) {
            let hit = r.w < s.prada_delta;
            return Some(Prada {
                w: r.w,
                p_value: r.p_value,
                distances: dists.len(),
                detected_at: hit.then_some(c.len()),
            });
        }
    }
    last
}

pub fn prada_finding(c: &Client, p: &Prada, s: &Settings) -> Option<Finding> {
    let at = p.detected_at?;
    Some(
        Finding::new(
            "scan.inference.prada",
            Severity::High,
            &c.name,
            format!(
                "PRADA: distribution of query distances is not normal (W = {:.3} < δ = {}) — likely model extraction",
                p.w, s.prada_delta
            ),
        )
        .with("w", round(p.w, 4))
        .with("p_value", p.p_value)
        .with("delta", s.prada_delta)
        .with("distances", p.distances as u64)
        .with("queries_to_detection", at as u64)
        .with("queries", c.len() as u64)
        .tag(ATLAS_EXTRACT)
        .tag(ATLAS_API),
    )
}

/// Longest run of consecutive queries each differing from the previous one in exactly one
/// feature; returns (longest run, total such pairs, the feature of the longest run).
pub fn sweep_stats(c: &Client, dim: usize, eps: f32) -> (usize, usize, usize) {
    let mut best = (0usize, 0usize);
    let mut run = 0usize;
    let mut run_feat = usize::MAX;
    let mut total = 0usize;
    let rows: Vec<&[f32]> = c.feats.chunks_exact(dim.max(1)).collect();
    for w in rows.windows(2) {
        let (a, b) = (w[0], w[1]);
        let mut diff = usize::MAX;
        let mut ndiff = 0;
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            if (x - y).abs() > eps {
                ndiff += 1;
                diff = k;
                if ndiff > 1 {
                    break;
                }
            }
        }
        if ndiff == 1 {
            total += 1;
            if run > 0 && diff == run_feat {
                run += 1;
            } else {
                run = 1;
                run_feat = diff;
            }
            if run > best.0 {
                best = (run, run_feat);
            }
        } else {
            run = 0;
        }
    }
    (best.0, total, best.1)
}

/// Per feature, the population's normal range: the median over clients (with at least
/// `min_queries`) of each client's 2nd and 98th percentile.
pub fn normal_ranges(log: &Log, s: &Settings) -> Option<Vec<(f32, f32)>> {
    let per: Vec<Vec<Option<(f32, f32)>>> = log
        .clients
        .iter()
        .filter(|c| c.len() >= s.min_queries)
        .map(|c| client_ranges(c, log.dim))
        .collect();
    combine_ranges(&per, log.dim)
}

/// One client's 2nd and 98th percentile per feature (`None` for a feature with no finite
/// value), the client's part of [`normal_ranges`].
pub fn client_ranges(c: &Client, dim: usize) -> Vec<Option<(f32, f32)>> {
    let mut out = Vec::with_capacity(dim);
    let mut col = Vec::new();
    for k in 0..dim {
        col.clear();
        col.extend(
            c.feats
                .chunks_exact(dim)
                .filter_map(|r| r.get(k).copied())
                .filter(|v| v.is_finite()),
        );
        if col.is_empty() {
            out.push(None);
            continue;
        }
        col.sort_by(|a, b| a.total_cmp(b));
        let n = col.len();
        out.push(Some((col[(n - 1) * 2 / 100], col[(n - 1) * 98 / 100])));
    }
    out
}

/// The population's normal ranges from the eligible clients' [`client_ranges`] (in any
/// order): `None` with fewer than 3 eligible clients.
pub fn combine_ranges(per: &[Vec<Option<(f32, f32)>>], dim: usize) -> Option<Vec<(f32, f32)>> {
    if dim == 0 || per.len() < 3 {
        return None;
    }
    let mut out = Vec::with_capacity(dim);
    let mut los = Vec::with_capacity(per.len());
    let mut his = Vec::with_capacity(per.len());
    for k in 0..dim {
        los.clear();
        his.clear();
        for (lo, hi) in per.iter().filter_map(|c| c.get(k).copied().flatten()) {
            los.push(lo);
            his.push(hi);
        }
        if los.is_empty() {
            out.push((f32::NEG_INFINITY, f32::INFINITY));
            continue;
        }
        out.push((median_f32(&mut los), median_f32(&mut his)));
    }
    Some(out)
}

fn median_f32(v: &mut [f32]) -> f32 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Share of a client's feature values outside the population's normal range (with a margin
/// of 5% of that range).
pub fn out_of_range_share(c: &Client, dim: usize, ranges: &[(f32, f32)]) -> f64 {
    let mut out = 0u64;
    let mut all = 0u64;
    for r in c.feats.chunks_exact(dim) {
        for (v, &(lo, hi)) in r.iter().zip(ranges) {
            if !v.is_finite() {
                continue;
            }
            let m = 0.05 * (hi - lo).max(1e-6);
            all += 1;
            if *v < lo - m || *v > hi + m {
                out += 1;
            }
        }
    }
    if all == 0 {
        0.0
    } else {
        out as f64 / all as f64
    }
}

/// Peak queries in one clock hour and the client's median over its active hours.
pub fn hourly(c: &Client) -> Option<(u64, f64, usize)> {
    let mut h: HashMap<i64, u64> = HashMap::new();
    for &t in &c.ts {
        if t != i64::MIN {
            *h.entry(t.div_euclid(3600)).or_default() += 1;
        }
    }
    if h.is_empty() {
        return None;
    }
    let peak = h.values().copied().max().unwrap_or(0);
    let mut v: Vec<f64> = h.values().map(|&x| x as f64).collect();
    let hours = v.len();
    Some((peak, median(&mut v), hours))
}

const MINHASH_K: usize = 64;

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// MinHash signature (64 hash functions) of the set of lower-cased word 3-shingles of `text`
/// (prompts with fewer than 3 words use their words). Shingles are hashed with FNV-1a 64;
/// function k is SplitMix64's finaliser of (shingle hash XOR a per-k constant).
pub fn minhash(text: &str) -> [u64; MINHASH_K] {
    fn fnv(parts: &[&str]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for p in parts {
            for b in p.bytes() {
                h ^= u64::from(b.to_ascii_lowercase());
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            h ^= 0x20;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let shingles: Vec<u64> = if words.len() < 3 {
        words.iter().map(|w| fnv(&[w])).collect()
    } else {
        words.windows(3).map(fnv).collect()
    };
    let mut sig = [u64::MAX; MINHASH_K];
    for h in shingles {
        for (k, s) in sig.iter_mut().enumerate() {
            let v = mix64(h ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if v < *s {
                *s = v;
            }
        }
    }
    sig
}

/// Estimated Jaccard similarity of two MinHash signatures.
pub fn similarity(a: &[u64; MINHASH_K], b: &[u64; MINHASH_K]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / MINHASH_K as f64
}

/// Size of the largest near-duplicate prompt family: prompts whose estimated Jaccard
/// similarity (word 3-shingles, MinHash) to the family's first prompt is at least
/// `min_similarity`. At most 512 families are tracked per client.
pub fn largest_family(texts: &[String], min_similarity: f64) -> usize {
    let mut reps: Vec<([u64; MINHASH_K], usize)> = Vec::new();
    for t in texts {
        if t.trim().is_empty() {
            continue;
        }
        let h = minhash(t);
        if let Some(r) = reps
            .iter_mut()
            .find(|(rh, _)| similarity(rh, &h) >= min_similarity)
        {
            r.1 += 1;
        } else if reps.len() < 512 {
            reps.push((h, 1));
        }
    }
    reps.iter().map(|r| r.1).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minhash_groups_templates_not_distinct_prompts() {
        let t: Vec<String> = (0..100)
            .map(|i| format!("Translate the following customer review into French and rate its sentiment from one to five: review id {i}"))
            .collect();
        let h0 = minhash(&t[0]);
        let d: Vec<f64> = t.iter().map(|x| similarity(&minhash(x), &h0)).collect();
        assert!(largest_family(&t, 0.5) >= 90, "{d:?}");
        let distinct = [
            "how do I bake sourdough bread at home",
            "explain the difference between TCP and UDP",
            "what is the capital of Australia",
        ];
        let v: Vec<String> = distinct.iter().map(|s| s.to_string()).collect();
        assert_eq!(largest_family(&v, 0.5), 1);
    }
}
