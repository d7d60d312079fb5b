//! Exact repeats of numeric values ("atoms"): how often a continuous column's values repeat,
//! and which values repeat most. `drift` uses them to tell a point mass (injected rows that
//! copy one value) from the ties a column has anyway.
//!
//! While profiling, every distinct finite value is counted exactly in a hash sample of the
//! distinct values (all of them up to [`MAX_TRACKED`]; beyond, the sample rate halves until
//! the sample fits, as for row fingerprints). The profile keeps only the summary: the tie
//! count, the largest count, and the [`TOP`] most repeated values (values seen twice or
//! more). Merging two summaries is approximate (ties between values that were singletons in
//! different parts are not seen); docs/profile.md says so.

use super::sketch::{canonical_f64, mix64};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Distinct values counted exactly per column before the hash sample halves.
pub const MAX_TRACKED: usize = 4096;
/// Repeated values kept in a profile per column.
pub const TOP: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Atoms {
    /// Share of the distinct values in the sample (1 = every value counted).
    pub sample_rate: f64,
    /// Distinct values in the sample.
    pub distinct: u64,
    /// Σ c·(c−1)/2 over the sampled values: pairs of equal values.
    pub tie_pairs: u64,
    /// Largest count of one value in the sample.
    pub max_count: u64,
    /// The values seen at least twice with the largest counts, `[value, count]`, largest
    /// count first.
    pub top: Vec<(f64, u64)>,
}

impl Atoms {
    /// Collision probability Σ pᵢ² of the column's values, estimated from the tie pairs
    /// among `n` values with add-one smoothing (never 0: a column without ties still gets
    /// the chance of one tie).
    pub fn collision(&self, n: u64) -> f64 {
        let n = n as f64;
        let pairs = n * (n - 1.0) / 2.0;
        let ties = self.tie_pairs as f64 / self.sample_rate.max(1e-12);
        ((ties + 1.0) / (pairs + 1.0)).clamp(0.0, 1.0)
    }
    /// Count of `v` among the kept values (0 when not kept).
    pub fn count_of(&self, v: f64) -> u64 {
        self.top
            .iter()
            .find(|(x, _)| canonical_f64(*x) == canonical_f64(v))
            .map(|x| x.1)
            .unwrap_or(0)
    }
    pub fn merge(&mut self, o: &Atoms) {
        let mut all: Vec<(f64, u64)> = self.top.clone();
        let mut cross = 0u64;
        for (v, c) in &o.top {
            match all
                .iter_mut()
                .find(|(x, _)| canonical_f64(*x) == canonical_f64(*v))
            {
                Some(e) => {
                    cross = cross.saturating_add(e.1.saturating_mul(*c));
                    e.1 = e.1.saturating_add(*c);
                }
                None => all.push((*v, *c)),
            }
        }
        self.sample_rate = self.sample_rate.min(o.sample_rate);
        self.distinct = self.distinct.saturating_add(o.distinct);
        self.tie_pairs = self
            .tie_pairs
            .saturating_add(o.tie_pairs)
            .saturating_add(cross);
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
        self.max_count = self
            .max_count
            .max(o.max_count)
            .max(all.first().map(|x| x.1).unwrap_or(0));
        all.truncate(TOP);
        self.top = all;
    }
}

/// The in-memory state behind [`Atoms`] while profiling.
#[derive(Debug, Clone)]
pub struct AtomState {
    counts: HashMap<u64, (f64, u64)>,
    rate: f64,
}

impl Default for AtomState {
    fn default() -> Self {
        AtomState {
            counts: HashMap::new(),
            rate: 1.0,
        }
    }
}

fn threshold(rate: f64) -> u64 {
    if rate >= 1.0 {
        u64::MAX
    } else {
        (rate * u64::MAX as f64) as u64
    }
}

impl AtomState {
    pub fn add(&mut self, x: f64) {
        let h = mix64(canonical_f64(x) ^ 0xa70b_5eed);
        if h > threshold(self.rate) {
            return;
        }
        self.counts.entry(h).or_insert((x, 0)).1 += 1;
        // Bounded: at most 64 halvings empty any sample of distinct 64-bit keys.
        for _ in 0..64 {
            if self.counts.len() <= MAX_TRACKED {
                break;
            }
            self.rate /= 2.0;
            let t = threshold(self.rate);
            self.counts.retain(|k, _| *k <= t);
        }
    }
    pub fn finish(&self) -> Atoms {
        let mut tie_pairs = 0u64;
        let mut max_count = 0u64;
        let mut top: Vec<(f64, u64)> = Vec::new();
        for (x, c) in self.counts.values() {
            tie_pairs = tie_pairs.saturating_add(c * (c - 1) / 2);
            max_count = max_count.max(*c);
            if *c >= 2 {
                top.push((*x, *c));
            }
        }
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
        top.truncate(TOP);
        Atoms {
            sample_rate: self.rate,
            distinct: self.counts.len() as u64,
            tie_pairs,
            max_count,
            top,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_ties_and_keeps_repeated_values() {
        let mut s = AtomState::default();
        for x in [1.5, 2.5, 82.29, 3.0, 82.29, 82.29, 82.29, 2.5] {
            s.add(x);
        }
        let a = s.finish();
        assert_eq!(a.sample_rate, 1.0);
        assert_eq!(a.distinct, 4);
        // 82.29 x4 = 6 pairs, 2.5 x2 = 1 pair.
        assert_eq!(a.tie_pairs, 7);
        assert_eq!(a.max_count, 4);
        assert_eq!(a.top, vec![(82.29, 4), (2.5, 2)]);
        assert_eq!(a.count_of(82.29), 4);
        assert_eq!(a.count_of(1.5), 0);
        // Merge: the same value in both parts adds its counts and the pairs across parts.
        let mut b = a.clone();
        b.merge(&a);
        assert_eq!(b.count_of(82.29), 8);
        assert_eq!(b.tie_pairs, 7 + 7 + 16 + 4);
        assert_eq!(b.max_count, 8);
    }

    #[test]
    fn the_sample_stays_bounded() {
        let mut s = AtomState::default();
        for i in 0..20_000 {
            s.add(i as f64 * 0.5);
        }
        let a = s.finish();
        assert!(a.sample_rate < 1.0 && a.distinct as usize <= MAX_TRACKED);
        assert_eq!(a.tie_pairs, 0);
        assert!(a.top.is_empty());
    }
}
