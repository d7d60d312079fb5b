//! Mergeable sketches, written here because no maintained Rust crate provides them in a
//! serialisable, mergeable and seeded form (there is no maintained Rust KLL):
//! - [`Moments`]: count, mean, M2 (Welford; Chan et al. for merging), min, max;
//! - [`Kll`]: KLL quantile sketch (Karnin, Lang, Liberty 2016) with seeded compaction;
//! - [`Hll`]: HyperLogLog distinct count (p = 12: 4096 registers, ~1.6 % standard error);
//! - [`Freq`]: exact value counts up to a cap, then Misra–Gries heavy hitters (mergeable,
//!   Agarwal et al. 2012) with a stated undercount bound.
//!
//! Every sketch merges so that merge(profile(A), profile(B)) ≈ profile(A ∪ B) within the
//! stated error; the unit tests check the error bounds against exact answers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// SplitMix64 step: the seeded randomness of KLL compaction and the hash finaliser.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Stable 64-bit hash of bytes (FNV-1a, then SplitMix64 to spread the bits). Stable across
/// machines and versions, so profiles made anywhere merge.
pub fn hash_bytes(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// Canonical bits of a float: every NaN is one NaN, -0.0 is 0.0.
pub fn canonical_f64(x: f64) -> u64 {
    if x.is_nan() {
        0x7ff8_0000_0000_0000
    } else if x == 0.0 {
        0
    } else {
        x.to_bits()
    }
}

// ---------------------------------------------------------------- moments

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Moments {
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
        self.min = Some(self.min.map_or(x, |m| m.min(x)));
        self.max = Some(self.max.map_or(x, |m| m.max(x)));
    }
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = o.clone();
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        self.mean += d * o.n as f64 / n as f64;
        self.m2 += o.m2 + d * d * self.n as f64 * o.n as f64 / n as f64;
        self.n = n;
        self.min = match (self.min, o.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, o.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }
    /// Sample variance (n - 1).
    pub fn variance(&self) -> Option<f64> {
        (self.n > 1).then(|| self.m2 / (self.n - 1) as f64)
    }
    pub fn std(&self) -> Option<f64> {
        self.variance().map(f64::sqrt)
    }
}

// ---------------------------------------------------------------- KLL

/// KLL quantile sketch over f64 (NaN never enters; callers count NaN separately).
///
/// Lazy compaction (as in Apache DataSketches): items pile up until the sketch holds its
/// whole budget (the sum of the level capacities), then the lowest level over its own
/// capacity is compacted. Compacting eagerly whenever level 0 reached its capacity (2 items
/// once the sketch is deep) made KLL a fifth of `profile`'s time; the error bound is the
/// same. Level capacities are k·(2/3)^depth, never below [`KLL_MIN_WIDTH`].
#[derive(Debug, Clone)]
pub struct Kll {
    pub k: u32,
    /// Items seen.
    pub n: u64,
    /// `levels[h]` holds items of weight 2^h, unsorted except right after compaction (the
    /// order inside a level never matters: compaction sorts, queries sort).
    pub levels: Vec<Vec<f64>>,
    /// Compaction coin state (seeded): the same inputs and seed give the same sketch.
    pub rng: u64,
    /// Items held (cache of the sum of level lengths; rebuilt by `compress`).
    held: usize,
    /// Level capacities for the current number of levels (cache: they depend only on `k`
    /// and the depth; empty = not computed yet).
    caps: Vec<usize>,
    /// Budget: the sum of `caps` (0 = not computed yet).
    budget: usize,
}

/// Most items a KLL sketch read from a profile may declare: the largest `kll_k` (65,535)
/// holds about 3·k; this leaves room and bounds what a hostile file makes us inflate to
/// 25 MiB of text (8 MiB of items).
pub const MAX_KLL_ITEMS: u64 = 1 << 20;

/// `packed` sketch bytes (profile format 2): raw DEFLATE, then standard base64.
pub fn pack(raw: &[u8]) -> String {
    use base64::Engine;
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(raw);
    let z = enc.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(z)
}

/// The bytes of a `packed` string, refused when they inflate to more than `max` bytes (a
/// hostile profile cannot make a decompression bomb).
pub fn unpack(s: &str, max: u64) -> Result<Vec<u8>, String> {
    use base64::Engine;
    use std::io::Read;
    let z = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("packed: not base64 ({e})"))?;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(&z[..])
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("packed: not DEFLATE data ({e})"))?;
    if out.len() as u64 > max {
        return Err(format!("packed: inflates to more than {max} bytes"));
    }
    Ok(out)
}

impl Serialize for Kll {
    /// Format 2: `{k, n, rng, level_sizes: [..], packed}` where `packed` is every level's
    /// items, level 0 first, each level sorted ascending, written as the shortest decimal
    /// that reads back to the same f64 (Rust's `{:?}`), separated by commas, then
    /// [`pack`]ed. Exact: every item reads back bit for bit. Decimal text compresses far
    /// better than the f64 bits for data that came from decimal text (CSV): breast_cancer's
    /// sketches are 34 KB instead of 82 KB (docs/profile.md).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        use std::fmt::Write;
        let sizes: Vec<usize> = self.levels.iter().map(Vec::len).collect();
        let mut raw = String::with_capacity(8 * sizes.iter().sum::<usize>());
        for l in &self.levels {
            let mut l = l.clone();
            l.sort_by(|a, b| a.total_cmp(b));
            for x in l {
                if !raw.is_empty() {
                    raw.push(',');
                }
                let _ = write!(raw, "{x:?}");
            }
        }
        let raw = raw.as_bytes();
        let mut st = s.serialize_struct("Kll", 5)?;
        st.serialize_field("k", &self.k)?;
        st.serialize_field("n", &self.n)?;
        st.serialize_field("rng", &self.rng)?;
        st.serialize_field("level_sizes", &sizes)?;
        st.serialize_field("packed", &pack(raw))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Kll {
    /// Format 2 (`level_sizes` + `packed`) or format 1 (`levels` as arrays of numbers).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        #[derive(Deserialize)]
        struct Raw {
            k: u32,
            n: u64,
            rng: u64,
            #[serde(default)]
            levels: Option<Vec<Vec<f64>>>,
            #[serde(default)]
            level_sizes: Option<Vec<u64>>,
            #[serde(default)]
            packed: Option<String>,
        }
        let r = Raw::deserialize(d)?;
        let levels = match (r.levels, r.level_sizes, r.packed) {
            (Some(l), None, None) => l,
            (None, Some(sizes), Some(packed)) => {
                if sizes.is_empty() {
                    return Err(D::Error::custom(
                        "KLL sketch: no levels (a sketch has at least one)",
                    ));
                }
                if sizes.len() > crate::profile::validate::MAX_KLL_LEVELS {
                    return Err(D::Error::custom(format!(
                        "KLL sketch: {} levels (at most {})",
                        sizes.len(),
                        crate::profile::validate::MAX_KLL_LEVELS
                    )));
                }
                let total = sizes
                    .iter()
                    .try_fold(0u64, |a, &b| a.checked_add(b))
                    .filter(|t| *t <= MAX_KLL_ITEMS)
                    .ok_or_else(|| {
                        D::Error::custom(format!(
                            "KLL sketch: level_sizes add up to more than {MAX_KLL_ITEMS} items"
                        ))
                    })?;
                // The longest item, "-2.2250738585072014e-308", is 24 characters.
                let raw = unpack(&packed, 25 * total)
                    .map_err(|e| D::Error::custom(format!("KLL sketch: {e}")))?;
                let text = std::str::from_utf8(&raw)
                    .map_err(|_| D::Error::custom("KLL sketch: packed items are not text"))?;
                let mut items: Vec<f64> = Vec::with_capacity(total as usize);
                if !text.is_empty() {
                    for t in text.split(',') {
                        let x: f64 = t.parse().map_err(|_| {
                            D::Error::custom(format!(
                                "KLL sketch: packed item {:?} is not a number",
                                crate::report::text::clean(&t.chars().take(40).collect::<String>())
                            ))
                        })?;
                        items.push(x);
                    }
                }
                if items.len() as u64 != total {
                    return Err(D::Error::custom(format!(
                        "KLL sketch: packed holds {} items, level_sizes say {total}",
                        items.len()
                    )));
                }
                let mut items = items.into_iter();
                sizes
                    .iter()
                    .map(|&n| items.by_ref().take(n as usize).collect())
                    .collect()
            }
            _ => return Err(D::Error::custom(
                "KLL sketch: give either level_sizes and packed (format 2) or levels (format 1)",
            )),
        };
        Ok(Kll {
            k: r.k,
            n: r.n,
            levels,
            rng: r.rng,
            held: 0,
            caps: Vec::new(),
            budget: 0,
        })
    }
}

/// Smallest level capacity (DataSketches' `m`).
pub const KLL_MIN_WIDTH: usize = 8;

impl PartialEq for Kll {
    fn eq(&self, o: &Kll) -> bool {
        // Levels are multisets: the order of the items inside one never matters.
        let sorted = |l: &Vec<f64>| {
            let mut l = l.clone();
            l.sort_by(|a, b| a.total_cmp(b));
            l
        };
        self.k == o.k
            && self.n == o.n
            && self.rng == o.rng
            && self.levels.len() == o.levels.len()
            && self
                .levels
                .iter()
                .zip(&o.levels)
                .all(|(a, b)| a.len() == b.len() && sorted(a) == sorted(b))
    }
}

impl Kll {
    pub fn new(k: u32, seed: u64) -> Kll {
        Kll {
            k: k.max(8),
            n: 0,
            levels: vec![Vec::new()],
            rng: mix64(seed ^ 0x6b6c_6c00),
            held: 0,
            caps: Vec::new(),
            budget: 0,
        }
    }
    /// Normalised rank error at 99 % confidence for a single rank query (the constant fitted
    /// by Apache DataSketches for KLL: 2.296 / k^0.9723; k = 200 gives 1.33 %).
    pub fn epsilon(&self) -> f64 {
        2.296 / (self.k as f64).powf(0.9723)
    }
    pub fn count(&self) -> u64 {
        self.n
    }
    fn capacity(&self, h: usize) -> usize {
        let depth = self.levels.len() - 1 - h;
        ((self.k as f64) * (2.0f64 / 3.0).powi(depth as i32))
            .ceil()
            .max(KLL_MIN_WIDTH as f64) as usize
    }
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.n += 1;
        self.levels[0].push(x);
        self.held += 1;
        if self.held >= self.budget {
            self.compress();
        }
    }
    /// Recount the items held; recompute the capacities and budget when the number of
    /// levels changed.
    fn refresh(&mut self) {
        if self.caps.len() != self.levels.len() {
            self.caps = (0..self.levels.len()).map(|h| self.capacity(h)).collect();
            self.budget = self.caps.iter().sum();
        }
        self.held = self.levels.iter().map(Vec::len).sum();
    }
    fn compress(&mut self) {
        self.refresh();
        while self.held >= self.budget {
            // Some level is at or over its capacity, since the total is over the sum.
            let h = (0..self.levels.len())
                .find(|&h| self.levels[h].len() >= self.caps[h])
                .unwrap_or(0);
            if h + 1 == self.levels.len() {
                self.levels.push(Vec::new());
            }
            let mut items = std::mem::take(&mut self.levels[h]);
            items.sort_by(|a, b| a.total_cmp(b));
            // An odd item stays at this level.
            if items.len() % 2 == 1 {
                if let Some(last) = items.pop() {
                    self.levels[h].push(last);
                }
            }
            self.rng = mix64(self.rng);
            let offset = (self.rng & 1) as usize;
            let promoted: Vec<f64> = items.iter().skip(offset).step_by(2).copied().collect();
            self.levels[h + 1].extend(promoted);
            self.refresh();
        }
    }
    pub fn merge(&mut self, o: &Kll) {
        if o.n == 0 {
            return;
        }
        while self.levels.len() < o.levels.len() {
            self.levels.push(Vec::new());
        }
        for (h, l) in o.levels.iter().enumerate() {
            self.levels[h].extend_from_slice(l);
        }
        self.n += o.n;
        self.rng = mix64(self.rng ^ o.rng);
        self.compress();
    }
    /// Weighted items sorted by value.
    pub fn sorted(&self) -> Vec<(f64, u64)> {
        let mut v: Vec<(f64, u64)> = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(h, l)| l.iter().map(move |&x| (x, 1u64 << h)))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }
    /// Normalised rank of `x`: the estimated fraction of items ≤ x.
    pub fn rank(&self, x: f64) -> f64 {
        let total: u64 = self.sorted().iter().map(|p| p.1).sum();
        if total == 0 {
            return 0.0;
        }
        let below: u64 = self
            .levels
            .iter()
            .enumerate()
            .map(|(h, l)| l.iter().filter(|&&v| v <= x).count() as u64 * (1u64 << h))
            .sum();
        below as f64 / total as f64
    }
    /// The q-quantile (0 ≤ q ≤ 1), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let s = self.sorted();
        let total: u64 = s.iter().map(|p| p.1).sum();
        if total == 0 {
            return None;
        }
        let target = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
        let mut acc = 0u64;
        for (x, w) in &s {
            acc += w;
            if acc >= target {
                return Some(*x);
            }
        }
        s.last().map(|p| p.0)
    }
    /// Many quantiles at once (one sort).
    pub fn quantiles(&self, qs: &[f64]) -> Vec<f64> {
        let s = self.sorted();
        let total: u64 = s.iter().map(|p| p.1).sum();
        if total == 0 {
            return Vec::new();
        }
        qs.iter()
            .map(|q| {
                let target = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
                let mut acc = 0u64;
                for (x, w) in &s {
                    acc += w;
                    if acc >= target {
                        return *x;
                    }
                }
                s.last().map(|p| p.0).unwrap_or(f64::NAN)
            })
            .collect()
    }
}

// ---------------------------------------------------------------- HLL

/// HyperLogLog with 2^p registers (p = 12 by default).
#[derive(Debug, Clone, PartialEq)]
pub struct Hll {
    pub p: u8,
    pub registers: Vec<u8>,
}

impl Serialize for Hll {
    /// Format 2: `{p, packed}`, the registers (one byte each) [`pack`]ed: a few hundred
    /// bytes for a column of few distinct values instead of 5.4 KB of plain base64.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Hll", 2)?;
        st.serialize_field("p", &self.p)?;
        st.serialize_field("packed", &pack(&self.registers))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Hll {
    /// Format 2 (`packed`) or format 1 (`registers`: plain base64).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        use serde::de::Error as _;
        #[derive(Deserialize)]
        struct Raw {
            p: u8,
            #[serde(default)]
            registers: Option<String>,
            #[serde(default)]
            packed: Option<String>,
        }
        let r = Raw::deserialize(d)?;
        if !(4..=18).contains(&r.p) {
            return Err(D::Error::custom(
                "HyperLogLog: bad precision or register count",
            ));
        }
        let m = 1usize << r.p;
        let regs = match (r.registers, r.packed) {
            (Some(b), None) => base64::engine::general_purpose::STANDARD
                .decode(&b)
                .map_err(D::Error::custom)?,
            (None, Some(z)) => {
                unpack(&z, m as u64).map_err(|e| D::Error::custom(format!("HyperLogLog: {e}")))?
            }
            _ => {
                return Err(D::Error::custom(
                    "HyperLogLog: give either packed (format 2) or registers (format 1)",
                ))
            }
        };
        if regs.len() != m {
            return Err(D::Error::custom(
                "HyperLogLog: bad precision or register count",
            ));
        }
        Ok(Hll {
            p: r.p,
            registers: regs,
        })
    }
}

impl Hll {
    pub fn new(p: u8) -> Hll {
        Hll {
            p,
            registers: vec![0; 1usize << p],
        }
    }
    pub fn add_hash(&mut self, h: u64) {
        let idx = (h >> (64 - self.p)) as usize;
        let rest = (h << self.p) | (1u64 << (self.p - 1));
        let rho = rest.leading_zeros() as u8 + 1;
        if let Some(r) = self.registers.get_mut(idx) {
            if rho > *r {
                *r = rho;
            }
        }
    }
    pub fn merge(&mut self, o: &Hll) {
        if o.p != self.p {
            return;
        }
        for (a, b) in self.registers.iter_mut().zip(&o.registers) {
            *a = (*a).max(*b);
        }
    }
    /// Relative standard error 1.04 / sqrt(2^p).
    pub fn std_error(&self) -> f64 {
        1.04 / ((1u64 << self.p) as f64).sqrt()
    }
    pub fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count() as f64;
        if raw <= 2.5 * m && zeros > 0.0 {
            m * (m / zeros).ln()
        } else {
            raw
        }
    }
}

// ---------------------------------------------------------------- frequencies

/// Value counts: exact while at most `cap` distinct values were seen, then Misra–Gries
/// with `cap` counters (each reported count is an undercount by at most `error_bound`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Freq {
    pub cap: u32,
    pub total: u64,
    pub exact: bool,
    /// Upper bound on how much any count below is under the true count (0 when exact).
    pub error_bound: u64,
    pub counts: BTreeMap<String, u64>,
}

impl Freq {
    pub fn new(cap: u32) -> Freq {
        Freq {
            cap: cap.max(2),
            total: 0,
            exact: true,
            error_bound: 0,
            counts: BTreeMap::new(),
        }
    }
    pub fn add(&mut self, v: &str) {
        self.add_n(v, 1)
    }
    pub fn add_n(&mut self, v: &str, n: u64) {
        self.total += n;
        if let Some(c) = self.counts.get_mut(v) {
            *c += n;
            return;
        }
        self.counts.insert(v.to_string(), n);
        // Exact up to `cap` values; after that, reduce only when twice over (amortised: one
        // sort per `cap` new values instead of one per value).
        let limit = if self.exact {
            self.cap as usize
        } else {
            2 * self.cap as usize
        };
        if self.counts.len() > limit {
            self.reduce();
        }
    }
    /// Misra–Gries reduction: subtract the (cap+1)-th largest count from all, drop ≤ 0.
    fn reduce(&mut self) {
        self.exact = false;
        let mut cs: Vec<u64> = self.counts.values().copied().collect();
        cs.sort_unstable_by(|a, b| b.cmp(a));
        let cut = cs.get(self.cap as usize).copied().unwrap_or(0);
        if cut == 0 {
            return;
        }
        self.error_bound += cut;
        self.counts.retain(|_, c| {
            *c = c.saturating_sub(cut);
            *c > 0
        });
    }
    pub fn merge(&mut self, o: &Freq) {
        self.total += o.total;
        self.exact &= o.exact;
        self.error_bound += o.error_bound;
        for (k, v) in &o.counts {
            *self.counts.entry(k.clone()).or_insert(0) += v;
        }
        if self.counts.len() > self.cap as usize {
            self.reduce();
        }
    }

    /// Bring the counters down to at most `cap` (profiles store at most `cap` values).
    pub fn compact(&mut self) {
        if self.counts.len() > self.cap as usize {
            self.reduce();
        }
    }
    /// Values by count, largest first (ties by value).
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = mix64(*seed);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn moments_merge_equals_whole() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 / 3.0)
            .collect();
        let mut a = Moments::default();
        let mut b = Moments::default();
        let mut all = Moments::default();
        for (i, x) in xs.iter().enumerate() {
            if i % 3 == 0 {
                a.add(*x)
            } else {
                b.add(*x)
            }
            all.add(*x);
        }
        a.merge(&b);
        assert_eq!(a.n, all.n);
        assert!((a.mean - all.mean).abs() < 1e-9);
        assert!((a.variance().unwrap() - all.variance().unwrap()).abs() < 1e-6);
        assert_eq!(a.min, all.min);
        assert_eq!(a.max, all.max);
    }

    /// KLL rank error stays within epsilon on 1M items, merged from 10 shards too.
    #[test]
    fn kll_error_within_bound() {
        let n = 200_000usize;
        let mut s = 42u64;
        let xs: Vec<f64> = (0..n).map(|_| lcg(&mut s).powi(3) * 1000.0).collect();
        let mut sorted = xs.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let mut whole = Kll::new(200, 1);
        for &x in &xs {
            whole.add(x);
        }
        let mut merged = Kll::new(200, 2);
        for (i, chunk) in xs.chunks(n / 10).enumerate() {
            let mut p = Kll::new(200, 100 + i as u64);
            for &x in chunk {
                p.add(x);
            }
            merged.merge(&p);
        }
        for sk in [&whole, &merged] {
            assert_eq!(sk.count(), n as u64);
            let eps = sk.epsilon();
            assert!(eps < 0.014);
            let mut worst = 0.0f64;
            for q in (1..100).map(|i| i as f64 / 100.0) {
                let x = sk.quantile(q).unwrap();
                let true_rank = sorted.partition_point(|v| *v <= x) as f64 / n as f64;
                worst = worst.max((true_rank - q).abs());
                let r = sk.rank(sorted[(q * n as f64) as usize]);
                worst = worst.max((r - q).abs());
            }
            assert!(worst <= eps, "worst rank error {worst} > {eps}");
            // Memory stays small.
            assert!(sk.levels.iter().map(Vec::len).sum::<usize>() < 1000);
        }
    }

    #[test]
    fn kll_is_deterministic_for_a_seed() {
        let mut a = Kll::new(200, 9);
        let mut b = Kll::new(200, 9);
        for i in 0..50_000 {
            a.add((i % 977) as f64);
            b.add((i % 977) as f64);
        }
        assert_eq!(a, b);
    }

    #[test]
    fn hll_error_within_three_sigma() {
        for n in [100usize, 10_000, 300_000] {
            let mut h = Hll::new(12);
            for i in 0..n {
                h.add_hash(hash_bytes(format!("v{i}").as_bytes()));
            }
            let est = h.estimate();
            let rel = (est - n as f64).abs() / n as f64;
            assert!(rel < 3.0 * h.std_error(), "n={n} est={est}");
        }
        // Merge = union.
        let mut a = Hll::new(12);
        let mut b = Hll::new(12);
        for i in 0..20_000 {
            let h = hash_bytes(format!("v{i}").as_bytes());
            if i < 12_000 {
                a.add_hash(h)
            }
            if i >= 8_000 {
                b.add_hash(h)
            }
        }
        a.merge(&b);
        assert!((a.estimate() - 20_000.0).abs() / 20_000.0 < 0.05);
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Hll>(&j).unwrap(), a);
    }

    /// Format 2's packed KLL reads back bit for bit (signed zero, subnormals, extremes),
    /// format 1's arrays are still read, and hostile packed forms are refused.
    #[test]
    fn kll_packed_round_trip_is_exact_and_bounded() {
        let mut k = Kll::new(8, 3);
        let special = [
            -0.0,
            0.0,
            5e-324,
            -2.2250738585072014e-308,
            1e300,
            f64::MAX,
            f64::MIN,
            0.1 + 0.2,
            17.99,
        ];
        for i in 0..500 {
            k.add(special[i % special.len()] * (1 + i / 50) as f64);
        }
        assert!(k.levels.len() > 1);
        let j = serde_json::to_value(&k).unwrap();
        assert!(j.get("levels").is_none() && j["packed"].is_string(), "{j}");
        let back: Kll = serde_json::from_value(j.clone()).unwrap();
        assert_eq!(back, k);
        for (a, b) in back.levels.iter().zip(&k.levels) {
            let bits = |l: &Vec<f64>| {
                let mut v: Vec<u64> = l.iter().map(|x| x.to_bits()).collect();
                v.sort_unstable();
                v
            };
            assert_eq!(bits(a), bits(b));
        }
        // Format 1.
        let v1 = serde_json::json!({"k": 8, "n": 3, "rng": 5, "levels": [[1.5], [2.0]]});
        let old: Kll = serde_json::from_value(v1).unwrap();
        assert_eq!(old.levels, vec![vec![1.5], vec![2.0]]);
        // Hostile: too many items declared, a count that does not match, not DEFLATE,
        // not numbers, both forms at once.
        let bad = |edit: &dyn Fn(&mut serde_json::Value), want: &str| {
            let mut v = j.clone();
            edit(&mut v);
            let e = serde_json::from_value::<Kll>(v).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        };
        bad(
            &|v| v["level_sizes"] = serde_json::json!([1u64 << 40]),
            "more than",
        );
        bad(
            &|v| v["level_sizes"] = serde_json::json!([1]),
            "inflates to more than",
        );
        let held: u64 = k.levels.iter().map(|l| l.len() as u64).sum();
        bad(
            &|v| v["level_sizes"] = serde_json::json!([held + 1]),
            &format!("holds {held} items, level_sizes say {}", held + 1),
        );
        bad(&|v| v["level_sizes"] = serde_json::json!([]), "no levels");
        bad(&|v| v["packed"] = "AAAA".into(), "packed");
        bad(&|v| v["packed"] = pack(b"1,2,x").into(), "not a number");
        bad(&|v| v["levels"] = serde_json::json!([[1.0]]), "either");
        // A decompression bomb is cut at the bound, not inflated whole.
        let bomb = pack(&vec![b'1'; 4 << 20]);
        assert!(unpack(&bomb, 1000).unwrap_err().contains("more than 1000"));
    }

    #[test]
    fn hll_packed_is_small_and_reads_format_1() {
        let mut h = Hll::new(12);
        for i in 0..17 {
            h.add_hash(hash_bytes(format!("v{i}").as_bytes()));
        }
        let j = serde_json::to_string(&h).unwrap();
        assert!(j.len() < 200, "{} bytes", j.len());
        assert_eq!(serde_json::from_str::<Hll>(&j).unwrap(), h);
        use base64::Engine;
        let v1 = serde_json::json!({"p": 12,
            "registers": base64::engine::general_purpose::STANDARD.encode(&h.registers)});
        assert_eq!(serde_json::from_value::<Hll>(v1).unwrap(), h);
        // Registers of the wrong count, packed or not.
        let short = serde_json::json!({"p": 12, "packed": pack(&[0u8; 100])});
        assert!(serde_json::from_value::<Hll>(short).is_err());
        let long = serde_json::json!({"p": 4, "packed": pack(&[0u8; 17])});
        assert!(serde_json::from_value::<Hll>(long).is_err());
    }

    #[test]
    fn freq_exact_then_bounded() {
        let mut f = Freq::new(10);
        for i in 0..5 {
            for _ in 0..=i {
                f.add(&format!("v{i}"));
            }
        }
        assert!(f.exact);
        assert_eq!(f.top(1), vec![("v4".to_string(), 5)]);
        // Heavy hitters survive a long tail, undercounted by at most error_bound.
        let mut g = Freq::new(50);
        let mut truth: BTreeMap<String, u64> = BTreeMap::new();
        let mut s = 7u64;
        for i in 0..100_000u64 {
            let v = if i % 4 == 0 {
                "heavy".to_string()
            } else if i % 10 == 1 {
                "medium".to_string()
            } else {
                format!("tail{}", (lcg(&mut s) * 50_000.0) as u64)
            };
            *truth.entry(v.clone()).or_default() += 1;
            g.add(&v);
        }
        assert!(!g.exact);
        assert!(g.error_bound <= 100_000 / 51);
        for k in ["heavy", "medium"] {
            let c = g.counts[k];
            assert!(c <= truth[k] && truth[k] - c <= g.error_bound, "{k}");
        }
        assert_eq!(g.top(2)[0].0, "heavy");
    }
}
