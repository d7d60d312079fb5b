//! Boundary checks for a profile read back from a file (a baseline is untrusted input: a
//! hand-edited or corrupted one must be refused, never panic, loop or allocate without bound
//! in `drift` or `profile merge`). The limits are documented in docs/profile.md.
//!
//! The one checked-arithmetic rule for counts: every count in a profile is at most
//! [`MAX_COUNT`] (2^53, where f64 stops representing integers). Two valid profiles therefore
//! sum without u64 overflow, and [`Profile::merge`](super::Profile::merge) re-checks the sum.

use super::sketch::{Freq, Hll, Kll, Moments};
use super::{ColumnProfile, Profile, RowSection, Settings};
use std::collections::HashSet;

/// Largest count accepted anywhere in a profile (rows, nulls, sketch weights...).
pub const MAX_COUNT: u64 = 1 << 53;
/// `kll_k` range (below 8 the sketch is meaningless; above, one column's sketch alone would
/// be megabytes).
pub const KLL_K: std::ops::RangeInclusive<u32> = 8..=65_535;
/// HyperLogLog precision range (2^4 .. 2^18 registers).
pub const HLL_P: std::ops::RangeInclusive<u8> = 4..=18;
/// Largest Misra–Gries capacity of any frequency table.
pub const MAX_FREQ_CAP: u32 = 1_000_000;
/// Largest `max_fingerprints`.
pub const MAX_FINGERPRINTS: usize = 10_000_000;
/// Largest `top_labels` and embedding dimension.
pub const MAX_LABELS: usize = 10_000;
pub const MAX_EMBEDDING_DIM: usize = 65_536;
/// KLL levels: item weights are 2^level, so 2^60 already exceeds [`MAX_COUNT`].
pub const MAX_KLL_LEVELS: usize = 60;

type R = std::result::Result<(), String>;

fn count(what: &str, n: u64) -> R {
    if n > MAX_COUNT {
        return Err(format!("{what} = {n} is over the limit of 2^53"));
    }
    Ok(())
}

fn finite(what: &str, x: f64) -> R {
    if !x.is_finite() {
        return Err(format!("{what} is not a finite number ({x})"));
    }
    Ok(())
}

pub fn settings(s: &Settings) -> R {
    if !KLL_K.contains(&s.kll_k) {
        return Err(format!(
            "settings.kll_k = {} is outside {}..={}",
            s.kll_k,
            KLL_K.start(),
            KLL_K.end()
        ));
    }
    if !HLL_P.contains(&s.hll_p) {
        return Err(format!(
            "settings.hll_p = {} is outside {}..={}",
            s.hll_p,
            HLL_P.start(),
            HLL_P.end()
        ));
    }
    if !(2..=MAX_FREQ_CAP).contains(&s.freq_cap) {
        return Err(format!(
            "settings.freq_cap = {} is outside 2..={MAX_FREQ_CAP}",
            s.freq_cap
        ));
    }
    if s.top_labels > MAX_LABELS {
        return Err(format!(
            "settings.top_labels = {} is over {MAX_LABELS}",
            s.top_labels
        ));
    }
    if !(1..=MAX_FINGERPRINTS).contains(&s.max_fingerprints) {
        return Err(format!(
            "settings.max_fingerprints = {} is outside 1..={MAX_FINGERPRINTS}",
            s.max_fingerprints
        ));
    }
    Ok(())
}

pub fn moments(what: &str, m: &Moments) -> R {
    count(&format!("{what}.n"), m.n)?;
    if m.n == 0 {
        return Ok(());
    }
    finite(&format!("{what}.mean"), m.mean)?;
    finite(&format!("{what}.m2"), m.m2)?;
    if m.m2 < 0.0 {
        return Err(format!("{what}.m2 is negative ({})", m.m2));
    }
    match (m.min, m.max) {
        (Some(a), Some(b)) => {
            finite(&format!("{what}.min"), a)?;
            finite(&format!("{what}.max"), b)?;
            if a > b {
                return Err(format!("{what}: min {a} is greater than max {b}"));
            }
        }
        _ => return Err(format!("{what}: n > 0 but min/max missing")),
    }
    Ok(())
}

pub fn kll(what: &str, q: &Kll, k: u32) -> R {
    count(&format!("{what}.n"), q.n)?;
    if q.k != k {
        return Err(format!(
            "{what}.k = {} differs from settings.kll_k {k}",
            q.k
        ));
    }
    if q.levels.is_empty() {
        return Err(format!("{what}: no levels (a sketch has at least one)"));
    }
    if q.levels.len() > MAX_KLL_LEVELS {
        return Err(format!(
            "{what}: {} levels (at most {MAX_KLL_LEVELS})",
            q.levels.len()
        ));
    }
    // Each item at level h stands for 2^h items: the weights must add up to n exactly.
    let mut weight: u64 = 0;
    for (h, l) in q.levels.iter().enumerate() {
        let w = (l.len() as u64)
            .checked_mul(1u64 << h)
            .and_then(|x| weight.checked_add(x))
            .ok_or_else(|| format!("{what}: level weights overflow"))?;
        weight = w;
        if let Some(x) = l.iter().find(|x| !x.is_finite()) {
            return Err(format!("{what}: level {h} holds {x} (finite values only)"));
        }
    }
    if weight != q.n {
        return Err(format!(
            "{what}: levels weigh {weight} items, n says {}",
            q.n
        ));
    }
    Ok(())
}

pub fn hll(what: &str, h: &Hll, p: u8) -> R {
    if h.p != p || h.registers.len() != 1usize << p {
        return Err(format!(
            "{what}: HyperLogLog p = {} differs from settings.hll_p {p}",
            h.p
        ));
    }
    Ok(())
}

pub fn freq(what: &str, f: &Freq) -> R {
    count(&format!("{what}.total"), f.total)?;
    count(&format!("{what}.error_bound"), f.error_bound)?;
    if !(2..=MAX_FREQ_CAP).contains(&f.cap) {
        return Err(format!(
            "{what}.cap = {} is outside 2..={MAX_FREQ_CAP}",
            f.cap
        ));
    }
    if f.counts.len() > 2 * f.cap as usize {
        return Err(format!(
            "{what}: {} values kept, capacity {}",
            f.counts.len(),
            f.cap
        ));
    }
    let mut sum: u64 = 0;
    for (v, c) in &f.counts {
        if *c == 0 {
            return Err(format!("{what}: value {v:?} has count 0"));
        }
        sum = sum
            .checked_add(*c)
            .ok_or_else(|| format!("{what}: counts overflow"))?;
    }
    if sum > f.total {
        return Err(format!(
            "{what}: counts add up to {sum}, more than total {}",
            f.total
        ));
    }
    if f.exact && (sum != f.total || f.error_bound != 0) {
        return Err(format!(
            "{what}: marked exact but counts add up to {sum} of {} (error bound {})",
            f.total, f.error_bound
        ));
    }
    Ok(())
}

pub fn column(what: &str, c: &ColumnProfile, rows: u64, s: &Settings) -> R {
    let what = format!("{what} '{}'", c.name);
    count(&format!("{what}.count"), c.count)?;
    if c.count > rows {
        return Err(format!(
            "{what}: count {} is more than the {rows} rows",
            c.count
        ));
    }
    let special = [c.nulls, c.nan, c.pos_inf, c.neg_inf]
        .iter()
        .try_fold(0u64, |a, b| a.checked_add(*b))
        .filter(|n| *n <= c.count)
        .ok_or_else(|| {
            format!(
                "{what}: nulls {} + NaN {} + inf {} + -inf {} exceed count {}",
                c.nulls, c.nan, c.pos_inf, c.neg_inf, c.count
            )
        })?;
    if c.moments.n > c.count - special {
        return Err(format!(
            "{what}: {} finite values, but count {} minus nulls/NaN/inf is {}",
            c.moments.n,
            c.count,
            c.count - special
        ));
    }
    moments(&format!("{what}.moments"), &c.moments)?;
    kll(&format!("{what}.quantiles"), &c.quantiles, s.kll_k)?;
    if c.quantiles.n > c.count {
        return Err(format!(
            "{what}: quantile sketch holds {} values, count is {}",
            c.quantiles.n, c.count
        ));
    }
    hll(&format!("{what}.distinct"), &c.distinct, s.hll_p)?;
    if let Some(f) = &c.frequent {
        freq(&format!("{what}.frequent"), f)?;
        if f.total > c.count {
            return Err(format!(
                "{what}: frequencies total {}, count is {}",
                f.total, c.count
            ));
        }
    }
    if let Some(m) = &c.str_len {
        moments(&format!("{what}.str_len"), m)?;
    }
    if let Some(a) = &c.atoms {
        atoms(&format!("{what}.atoms"), a, c.count)?;
    }
    Ok(())
}

fn atoms(what: &str, a: &super::atoms::Atoms, n: u64) -> R {
    if !(a.sample_rate > 0.0 && a.sample_rate <= 1.0) {
        return Err(format!(
            "{what}.sample_rate = {} is outside (0, 1]",
            a.sample_rate
        ));
    }
    for (name, v) in [
        ("distinct", a.distinct),
        ("tie_pairs", a.tie_pairs),
        ("max_count", a.max_count),
    ] {
        count(&format!("{what}.{name}"), v)?;
    }
    if a.max_count > n || a.distinct > n {
        return Err(format!("{what}: counts over the column's {n} values"));
    }
    if a.top.len() > super::atoms::TOP {
        return Err(format!(
            "{what}.top: {} values, at most {}",
            a.top.len(),
            super::atoms::TOP
        ));
    }
    for (v, c) in &a.top {
        finite(&format!("{what}.top value"), *v)?;
        if *c < 2 || *c > a.max_count {
            return Err(format!(
                "{what}.top: value {v} has count {c} (2..={})",
                a.max_count
            ));
        }
    }
    Ok(())
}

fn columns(what: &str, cs: &[ColumnProfile], rows: u64, s: &Settings) -> R {
    let mut seen = HashSet::new();
    for c in cs {
        if !seen.insert(c.name.as_str()) {
            return Err(format!("{what}: column '{}' appears twice", c.name));
        }
        column(what, c, rows, s)?;
    }
    Ok(())
}

/// A fingerprint key is the first 8 bytes of a BLAKE3 hash as 16 lowercase hex digits:
/// anything else (`"0"` beside `"00"`) would make two keys of one value, and the sample
/// could never shrink below `max_entries`.
fn fingerprint_key(k: &str) -> bool {
    k.len() == 16
        && k.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn rows(r: &RowSection, rows: u64, s: &Settings) -> R {
    let what = "row_fingerprints";
    count(&format!("{what}.rows"), r.rows)?;
    if r.rows > rows {
        return Err(format!("{what}: {} rows, the profile has {rows}", r.rows));
    }
    hll(&format!("{what}.distinct"), &r.distinct, s.hll_p)?;
    if !(r.sample_rate > 0.0 && r.sample_rate <= 1.0) {
        return Err(format!(
            "{what}.sample_rate = {} is outside (0, 1]",
            r.sample_rate
        ));
    }
    if r.mode != "exact" && r.mode != "sampled" {
        return Err(format!("{what}.mode = {:?} (exact or sampled)", r.mode));
    }
    if !(1..=MAX_FINGERPRINTS).contains(&r.max_entries) {
        return Err(format!(
            "{what}.max_entries = {} is outside 1..={MAX_FINGERPRINTS}",
            r.max_entries
        ));
    }
    if r.entries.len() > r.max_entries {
        return Err(format!(
            "{what}: {} entries, max_entries is {}",
            r.entries.len(),
            r.max_entries
        ));
    }
    let mut total: u64 = 0;
    for (k, e) in &r.entries {
        if !fingerprint_key(k) {
            return Err(format!("{what}: key {k:?} is not 16 lowercase hex digits"));
        }
        if e.count == 0 {
            return Err(format!("{what}: entry {k} has count 0"));
        }
        total = total
            .checked_add(e.count)
            .filter(|t| *t <= r.rows)
            .ok_or_else(|| format!("{what}: entry counts exceed the {} rows", r.rows))?;
        let labelled = e
            .labels
            .values()
            .try_fold(0u64, |a, b| a.checked_add(*b))
            .filter(|n| *n <= e.count);
        if labelled.is_none() {
            return Err(format!("{what}: entry {k}: label counts exceed its count"));
        }
    }
    Ok(())
}

/// Every check above, on a whole profile. Returns the first problem, naming the field.
pub fn profile(p: &Profile) -> R {
    settings(&p.settings)?;
    let s = &p.settings;
    count("rows", p.rows)?;
    count("skipped.rows", p.skipped.rows)?;
    if let Some(sh) = &p.shard {
        sh.validate()?;
    }
    if p.skipped.examples.len() > 100 {
        return Err("skipped.examples: more than 100".into());
    }
    columns("column", &p.columns, p.rows, s)?;
    if let Some(l) = &p.label {
        freq("label.counts", &l.counts)?;
        if l.counts.total > p.rows {
            return Err(format!(
                "label.counts total {} is more than the {} rows",
                l.counts.total, p.rows
            ));
        }
        if l.per_label.len() > MAX_LABELS + 1 {
            return Err(format!("label: {} label sections", l.per_label.len()));
        }
        for (name, cs) in &l.per_label {
            columns(&format!("label '{name}' column"), cs, p.rows, s)?;
        }
        if let Some(c) = &l.consistency {
            super::consistency::validate(c)?;
            if c.scored.iter().fold(0u64, |a, b| a.saturating_add(*b)) > p.rows {
                return Err(format!(
                    "label.consistency: more rows scored than the {} rows",
                    p.rows
                ));
            }
        }
    }
    for t in &p.text {
        let what = format!("text '{}'", t.column);
        count(&format!("{what}.docs"), t.docs)?;
        if t.docs > p.rows {
            return Err(format!("{what}: {} docs, {} rows", t.docs, p.rows));
        }
        freq(&format!("{what}.tokens"), &t.tokens)?;
        for (l, f) in &t.per_label {
            freq(&format!("{what} label '{l}'"), f)?;
        }
        for (l, n) in &t.docs_per_label {
            if *n > t.docs {
                return Err(format!("{what}: label '{l}' has {n} docs of {}", t.docs));
            }
        }
    }
    if let Some(e) = &p.embedding {
        let what = format!("embedding '{}'", e.column);
        for (f, n) in [
            ("rows", e.rows),
            ("nulls", e.nulls),
            ("wrong_dim", e.wrong_dim),
        ] {
            count(&format!("{what}.{f}"), n)?;
        }
        if e.rows > p.rows || e.nulls > e.rows || e.wrong_dim > e.rows {
            return Err(format!(
                "{what}: rows {} / nulls {} / wrong_dim {} inconsistent with {} rows",
                e.rows, e.nulls, e.wrong_dim, p.rows
            ));
        }
        if e.dim.unwrap_or(0) > MAX_EMBEDDING_DIM || e.dims.len() > MAX_EMBEDDING_DIM {
            return Err(format!("{what}: dimension over {MAX_EMBEDDING_DIM}"));
        }
        kll(&format!("{what}.norms"), &e.norms, s.kll_k)?;
        for (i, m) in e.dims.iter().enumerate() {
            moments(&format!("{what}.dims[{i}]"), m)?;
        }
    }
    rows(&p.row_fingerprints, p.rows, s)?;
    Ok(())
}
