//! Streaming, mergeable statistical profiles of tabular data (`mlguard profile`).
//!
//! Pipeline: `input::table` splits the inputs into units (a file, or a Parquet row group)
//! and streams each as record batches → a [`Builder`] per unit updates per-column sketches
//! (`sketch`), per-label sketches, text-token counts, embedding statistics and row
//! fingerprints → the partial profiles are merged in unit order (deterministic whatever the
//! thread count) → one [`Profile`], written as JSON (`docs/profile.md`).
//!
//! Because every part merges, `profile merge` of shard profiles equals the profile of the
//! union within the stated sketch errors, and the baseline never needs the raw data again.

pub mod atoms;
pub mod build;
pub mod consistency;
pub mod sketch;
pub mod validate;

use crate::error::{Error, IoContext, Result};
use crate::input::table::TableFormat;
use serde::{Deserialize, Serialize};
use sketch::{Freq, Hll, Kll, Moments};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use build::profile_paths;

/// The profile file format written (docs/profile.md). Format 1 (sketches as JSON arrays of
/// numbers and plain base64) is still read.
pub const FORMAT_VERSION: u32 = 2;

/// A JSON formatter that indents the first `max` levels of nesting like serde_json's
/// pretty printer and writes everything deeper compactly.
struct Shallow {
    depth: usize,
    max: usize,
    has_value: bool,
}

impl Shallow {
    fn new(max: usize) -> Shallow {
        Shallow {
            depth: 0,
            max,
            has_value: false,
        }
    }
    fn pretty(&self) -> bool {
        self.depth <= self.max
    }
    fn newline<W: ?Sized + std::io::Write>(&self, w: &mut W, depth: usize) -> std::io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for Shallow {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let pretty = self.pretty();
        self.depth -= 1;
        if self.has_value && pretty {
            self.newline(w, self.depth)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if self.pretty() {
            self.newline(w, self.depth)?;
        }
        Ok(())
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let pretty = self.pretty();
        self.depth -= 1;
        if self.has_value && pretty {
            self.newline(w, self.depth)?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.begin_array_value(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.pretty() { b": " } else { b":" })
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Label value used for rows whose label is null.
pub const NULL_LABEL: &str = "__null__";
/// Label section pooling every label outside the top N.
pub const OTHER_LABEL: &str = "__other__";

/// How a profile was made; reused to profile new data "with the baseline's settings".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    pub label: Option<String>,
    pub text: Vec<String>,
    pub embedding: Option<String>,
    pub seed: u64,
    pub kll_k: u32,
    pub hll_p: u8,
    /// Distinct values counted exactly before switching to Misra–Gries.
    pub freq_cap: u32,
    pub top_labels: usize,
    /// Row fingerprints kept (adaptive hash sample beyond this).
    pub max_fingerprints: usize,
    pub format: Option<TableFormat>,
    pub delimiter: Option<char>,
    pub skip_bad_rows: bool,
    /// Columns of the row fingerprint; `None` = every column but the label. `drift` sets it
    /// to the baseline's list so fingerprints of new data are comparable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint_columns: Option<Vec<String>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            label: None,
            text: Vec::new(),
            embedding: None,
            seed: 0,
            kll_k: 200,
            hll_p: 12,
            freq_cap: 1000,
            top_labels: 20,
            max_fingerprints: 100_000,
            format: None,
            delimiter: None,
            skip_bad_rows: false,
            fingerprint_columns: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputFile {
    pub path: String,
    pub size: u64,
    pub blake3: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogicalType {
    Numeric,
    String,
    Boolean,
    Temporal,
    List,
    Other,
}

impl LogicalType {
    pub fn as_str(self) -> &'static str {
        match self {
            LogicalType::Numeric => "numeric",
            LogicalType::String => "string",
            LogicalType::Boolean => "boolean",
            LogicalType::Temporal => "temporal",
            LogicalType::List => "list",
            LogicalType::Other => "other",
        }
    }
}

/// One column's sketches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnProfile {
    pub name: String,
    pub logical_type: LogicalType,
    /// Arrow type as read (first seen; `mixed` when shards disagree).
    pub arrow_type: String,
    /// Rows (null or not).
    pub count: u64,
    pub nulls: u64,
    pub nan: u64,
    pub pos_inf: u64,
    pub neg_inf: u64,
    /// Finite numeric values (numeric and temporal columns).
    pub moments: Moments,
    pub quantiles: Kll,
    pub distinct: Hll,
    /// Strings, booleans and integers with few distinct values; `None` when an integer
    /// column had more than `freq_cap` distinct values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequent: Option<Freq>,
    /// String lengths in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub str_len: Option<Moments>,
    /// Exact repeats of non-integer numeric values (absent in profiles made before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atoms: Option<atoms::Atoms>,
}

impl ColumnProfile {
    pub fn new(name: &str, lt: LogicalType, arrow_type: &str, s: &Settings, seed: u64) -> Self {
        ColumnProfile {
            name: name.to_string(),
            logical_type: lt,
            arrow_type: arrow_type.to_string(),
            count: 0,
            nulls: 0,
            nan: 0,
            pos_inf: 0,
            neg_inf: 0,
            moments: Moments::default(),
            quantiles: Kll::new(s.kll_k, seed),
            distinct: Hll::new(s.hll_p),
            frequent: match lt {
                LogicalType::String | LogicalType::Boolean | LogicalType::Numeric => {
                    Some(Freq::new(s.freq_cap))
                }
                _ => None,
            },
            str_len: (lt == LogicalType::String).then(Moments::default),
            atoms: None,
        }
    }
    pub fn merge(&mut self, o: &ColumnProfile) {
        if self.logical_type != o.logical_type {
            self.logical_type = LogicalType::Other;
        }
        if self.arrow_type != o.arrow_type {
            // Integer vs float shards of one numeric column are still numeric.
            self.arrow_type = "mixed".into();
        }
        self.count += o.count;
        self.nulls += o.nulls;
        self.nan += o.nan;
        self.pos_inf += o.pos_inf;
        self.neg_inf += o.neg_inf;
        self.moments.merge(&o.moments);
        self.quantiles.merge(&o.quantiles);
        self.distinct.merge(&o.distinct);
        self.frequent = match (self.frequent.take(), &o.frequent) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            _ => None,
        };
        self.str_len = match (self.str_len.take(), &o.str_len) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            (a, b) => a.or_else(|| b.clone()),
        };
        self.atoms = match (self.atoms.take(), &o.atoms) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            (a, b) => a.or_else(|| b.clone()),
        };
    }
    pub fn null_rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.nulls as f64 / self.count as f64
        }
    }
}

/// `--label COL`: label counts and every column's sketches per label.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LabelSection {
    pub column: String,
    pub counts: Freq,
    /// Top labels by count, plus `__other__` pooling the rest.
    pub per_label: BTreeMap<String, Vec<ColumnProfile>>,
    /// The profile's own disagreement with the class-conditional model built from it
    /// (absent in profiles made before it, and without numeric columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<consistency::Consistency>,
}

/// `--text COL`: word-token document frequencies overall and per label.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextSection {
    pub column: String,
    /// Rows with a non-null text.
    pub docs: u64,
    pub tokens: Freq,
    pub per_label: BTreeMap<String, Freq>,
    /// Rows per label with a non-null text (denominators for p(y | token)).
    pub docs_per_label: BTreeMap<String, u64>,
}

/// `--embedding COL`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingSection {
    pub column: String,
    pub dim: Option<usize>,
    pub rows: u64,
    pub nulls: u64,
    /// Rows whose vector length differs from `dim`.
    pub wrong_dim: u64,
    pub norms: Kll,
    pub dims: Vec<Moments>,
}

/// One fingerprint in the sample: rows with these exact feature values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FingerprintEntry {
    pub count: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, u64>,
}

/// Row fingerprints (BLAKE3 of the canonical row encoding, first 8 bytes, hex).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RowSection {
    /// Columns in the fingerprint (every column except the label).
    pub columns: Vec<String>,
    pub rows: u64,
    pub distinct: Hll,
    /// `exact` (every fingerprint kept) or `sampled` (fingerprints ≤ `sample_rate` × 2^64).
    pub mode: String,
    pub sample_rate: f64,
    pub max_entries: usize,
    /// Written packed (format 2: [`entries_codec`]); format 1's JSON map is still read.
    #[serde(with = "entries_codec")]
    pub entries: BTreeMap<String, FingerprintEntry>,
}

/// The fingerprint sample in a profile file (format 2): `{"labels": [...], "packed": ...}`,
/// `packed` being [`sketch::pack`]ed bytes: per entry in ascending key order the key (8
/// bytes, big-endian), its count, the number of labels it has, then per label the index
/// into `labels` and the count (every number an unsigned LEB128 varint). About 12 bytes an
/// entry instead of 30 to 55 of JSON. Format 1 (a JSON object `{key: {count, labels}}`) is
/// still read.
pub mod entries_codec {
    use super::FingerprintEntry;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Out<'a> {
        labels: Vec<&'a str>,
        packed: String,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum In {
        Packed { labels: Vec<String>, packed: String },
        Map(BTreeMap<String, FingerprintEntry>),
    }

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, FingerprintEntry>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut labels: Vec<&str> = m
            .values()
            .flat_map(|e| e.labels.keys().map(String::as_str))
            .collect();
        labels.sort_unstable();
        labels.dedup();
        let mut raw = Vec::with_capacity(m.len() * 12);
        let mut keys: Vec<(u64, &FingerprintEntry)> = m
            .iter()
            .map(|(k, e)| {
                u64::from_str_radix(k, 16)
                    .map(|v| (v, e))
                    .map_err(|_| serde::ser::Error::custom(format!("fingerprint key {k:?}")))
            })
            .collect::<Result<_, S::Error>>()?;
        keys.sort_unstable_by_key(|x| x.0);
        for (k, e) in keys {
            raw.extend_from_slice(&k.to_be_bytes());
            varint(&mut raw, e.count);
            varint(&mut raw, e.labels.len() as u64);
            for (l, c) in &e.labels {
                let i = labels.binary_search(&l.as_str()).unwrap_or(0);
                varint(&mut raw, i as u64);
                varint(&mut raw, *c);
            }
        }
        Out {
            labels,
            packed: super::sketch::pack(&raw),
        }
        .serialize(s)
    }

    /// Decoded bytes may be at most this many times the packed (base64) text, plus a little:
    /// real entries (random 8-byte keys) barely compress, so a bomb is refused early.
    const MAX_RATIO: u64 = 4;

    struct Cursor<'a> {
        b: &'a [u8],
        at: usize,
    }

    impl Cursor<'_> {
        fn varint(&mut self) -> Result<u64, String> {
            let mut v: u64 = 0;
            for shift in (0..64).step_by(7) {
                let b = *self.b.get(self.at).ok_or("packed entries: truncated")?;
                self.at += 1;
                v |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return Ok(v);
                }
            }
            Err("packed entries: a number longer than 64 bits".into())
        }
        fn key(&mut self) -> Result<u64, String> {
            let k = self
                .b
                .get(self.at..self.at + 8)
                .ok_or("packed entries: truncated key")?;
            self.at += 8;
            Ok(u64::from_be_bytes(k.try_into().unwrap_or([0; 8])))
        }
    }

    pub fn decode(
        labels: &[String],
        packed: &str,
    ) -> Result<BTreeMap<String, FingerprintEntry>, String> {
        if labels.len() > crate::profile::validate::MAX_LABELS + 2 {
            return Err(format!("packed entries: {} labels", labels.len()));
        }
        let max = (packed.len() as u64).saturating_mul(MAX_RATIO) + 4096;
        let raw = super::sketch::unpack(packed, max)
            .map_err(|e| format!("entries {e} (a fingerprint sample barely compresses)"))?;
        let mut c = Cursor { b: &raw, at: 0 };
        let mut out = BTreeMap::new();
        let mut last: Option<u64> = None;
        while c.at < raw.len() {
            let k = c.key()?;
            if last.is_some_and(|l| k <= l) {
                return Err(format!(
                    "packed entries: key {k:016x} is not after {:016x} (keys ascend, each once)",
                    last.unwrap_or(0)
                ));
            }
            last = Some(k);
            let count = c.varint()?;
            let n = c.varint()?;
            if n > labels.len() as u64 {
                return Err(format!(
                    "packed entries: entry {k:016x} has {n} labels, the section {}",
                    labels.len()
                ));
            }
            let mut e = FingerprintEntry {
                count,
                labels: BTreeMap::new(),
            };
            for _ in 0..n {
                let i = c.varint()?;
                let lc = c.varint()?;
                let l = labels.get(i as usize).ok_or_else(|| {
                    format!("packed entries: entry {k:016x}: label index {i} out of range")
                })?;
                if e.labels.insert(l.clone(), lc).is_some() {
                    return Err(format!("packed entries: entry {k:016x}: label {l:?} twice"));
                }
            }
            out.insert(format!("{k:016x}"), e);
        }
        Ok(out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, FingerprintEntry>, D::Error> {
        match In::deserialize(d)? {
            In::Map(m) => Ok(m),
            In::Packed { labels, packed } => decode(&labels, &packed).map_err(D::Error::custom),
        }
    }
}

impl RowSection {
    pub fn new(columns: Vec<String>, s: &Settings) -> Self {
        RowSection {
            columns,
            rows: 0,
            distinct: Hll::new(s.hll_p),
            mode: "exact".into(),
            sample_rate: 1.0,
            max_entries: s.max_fingerprints,
            entries: BTreeMap::new(),
        }
    }
    pub fn threshold(&self) -> u64 {
        if self.sample_rate >= 1.0 {
            u64::MAX
        } else {
            (self.sample_rate * u64::MAX as f64) as u64
        }
    }
    /// Halve the sample until it fits.
    pub fn shrink(&mut self) {
        // Keys are distinct 64-bit values (validated on load), so at most 65 halvings empty
        // the sample down to one key; the bound makes a hostile section unable to loop.
        for _ in 0..=64 {
            if self.entries.len() <= self.max_entries.max(1) {
                break;
            }
            self.sample_rate /= 2.0;
            self.mode = "sampled".into();
            let t = self.threshold();
            self.entries
                .retain(|k, _| u64::from_str_radix(k, 16).map(|v| v <= t).unwrap_or(false));
        }
    }
    pub fn merge(&mut self, o: &RowSection) {
        // An empty part (a shard that got no file) has not seen the columns yet.
        if self.columns.is_empty() {
            self.columns = o.columns.clone();
        }
        self.rows += o.rows;
        self.distinct.merge(&o.distinct);
        if o.sample_rate < self.sample_rate {
            self.sample_rate = o.sample_rate;
            self.mode = "sampled".into();
        }
        if o.mode == "sampled" {
            self.mode = "sampled".into();
        }
        let t = self.threshold();
        for (k, e) in &o.entries {
            let mine = self.entries.entry(k.clone()).or_default();
            mine.count += e.count;
            for (l, c) in &e.labels {
                *mine.labels.entry(l.clone()).or_default() += c;
            }
        }
        self.entries
            .retain(|k, _| u64::from_str_radix(k, 16).map(|v| v <= t).unwrap_or(false));
        self.shrink();
    }
    /// (estimated duplicate rows = rows beyond the first copy, groups duplicated, groups
    /// with conflicting labels), scaled by 1/sample_rate.
    pub fn duplicate_stats(&self) -> (f64, f64, f64) {
        let scale = 1.0 / self.sample_rate.max(1e-12);
        let mut extra = 0u64;
        let mut groups = 0u64;
        let mut conflicting = 0u64;
        for e in self.entries.values() {
            if e.count > 1 {
                extra += e.count - 1;
                groups += 1;
            }
            if e.labels.len() > 1 {
                conflicting += 1;
            }
        }
        (
            extra as f64 * scale,
            groups as f64 * scale,
            conflicting as f64 * scale,
        )
    }
}

/// Rows skipped with `--skip-bad-rows`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SkippedRows {
    pub rows: u64,
    /// First few: `{file, line, reason}`.
    pub examples: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub version: u32,
    pub tool: String,
    pub settings: Settings,
    pub inputs: Vec<InputFile>,
    pub rows: u64,
    pub skipped: SkippedRows,
    pub columns: Vec<ColumnProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelSection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<TextSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingSection>,
    pub row_fingerprints: RowSection,
    /// A part written with `profile --shard INDEX/COUNT` (its `inputs` are the shard's share
    /// of the listed files); `profile merge` of all the parts checks them like `manifest
    /// merge` does. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::input::shard::ShardInfo>,
    /// With a label: the distinct rows kept to score the label-consistency model (in
    /// memory only, never written; `consistency.rs`).
    #[serde(skip)]
    pub sample: Option<consistency::Sample>,
}

fn merge_columns(a: &mut Vec<ColumnProfile>, b: &[ColumnProfile]) {
    for c in b {
        match a.iter_mut().find(|x| x.name == c.name) {
            Some(x) => x.merge(c),
            None => a.push(c.clone()),
        }
    }
}

fn merge_freq_map(a: &mut BTreeMap<String, Freq>, b: &BTreeMap<String, Freq>) {
    for (k, v) in b {
        match a.get_mut(k) {
            Some(x) => x.merge(v),
            None => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

impl Profile {
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Score the row sample against the model built from this (complete) profile,
    /// leave-one-out, and record it as `label.consistency` (the sample stays in memory for
    /// `drift`).
    pub fn finish_consistency(&mut self) {
        let c = match (&self.sample, &self.label) {
            (Some(s), Some(_)) => consistency::self_consistency(self, s),
            _ => None,
        };
        if let Some(l) = &mut self.label {
            l.consistency = c;
        }
    }

    /// Merge `o` into `self`. Profiles made with different settings (label column, sketch
    /// sizes, seed aside) are refused: their sketches do not describe the same thing.
    pub fn merge(&mut self, o: &Profile) -> Result<()> {
        let (a, b) = (&self.settings, &o.settings);
        if a.label != b.label
            || a.text != b.text
            || a.embedding != b.embedding
            || a.kll_k != b.kll_k
            || a.hll_p != b.hll_p
        {
            // Name only what differs.
            let mut diff = Vec::new();
            if a.label != b.label {
                diff.push(format!("label {:?} vs {:?}", a.label, b.label));
            }
            if a.text != b.text {
                diff.push(format!("text {:?} vs {:?}", a.text, b.text));
            }
            if a.embedding != b.embedding {
                diff.push(format!("embedding {:?} vs {:?}", a.embedding, b.embedding));
            }
            if a.kll_k != b.kll_k {
                diff.push(format!("kll_k {} vs {}", a.kll_k, b.kll_k));
            }
            if a.hll_p != b.hll_p {
                diff.push(format!("hll_p {} vs {}", a.hll_p, b.hll_p));
            }
            return Err(Error::usage(format!(
                "profiles were made with different settings ({}): re-profile with the same options",
                diff.join(", ")
            )));
        }
        // The checked-arithmetic rule (validate::MAX_COUNT): refuse rather than wrap.
        let rows = self
            .rows
            .checked_add(o.rows)
            .filter(|n| *n <= validate::MAX_COUNT)
            .ok_or_else(|| {
                Error::usage(format!(
                    "merged row count {} + {} is over the limit of 2^53",
                    self.rows, o.rows
                ))
            })?;
        self.inputs.extend(o.inputs.iter().cloned());
        self.rows = rows;
        self.skipped.rows += o.skipped.rows;
        for e in &o.skipped.examples {
            if self.skipped.examples.len() < 10 {
                self.skipped.examples.push(e.clone());
            }
        }
        merge_columns(&mut self.columns, &o.columns);
        match (&mut self.label, &o.label) {
            (Some(x), Some(y)) => {
                x.counts.merge(&y.counts);
                for (l, cols) in &y.per_label {
                    merge_columns(x.per_label.entry(l.clone()).or_default(), cols);
                }
                x.consistency = match (x.consistency.take(), &y.consistency) {
                    (Some(mut a), Some(b)) => a.merge(b).then_some(a),
                    _ => None,
                };
            }
            (None, Some(y)) => self.label = Some(y.clone()),
            _ => {}
        }
        for t in &o.text {
            match self.text.iter_mut().find(|x| x.column == t.column) {
                Some(x) => {
                    x.docs += t.docs;
                    x.tokens.merge(&t.tokens);
                    merge_freq_map(&mut x.per_label, &t.per_label);
                    for (l, n) in &t.docs_per_label {
                        *x.docs_per_label.entry(l.clone()).or_default() += n;
                    }
                }
                None => self.text.push(t.clone()),
            }
        }
        match (&mut self.embedding, &o.embedding) {
            (Some(x), Some(y)) => {
                if x.dim.is_none() {
                    x.dim = y.dim;
                }
                x.rows += y.rows;
                x.nulls += y.nulls;
                x.wrong_dim += y.wrong_dim;
                x.norms.merge(&y.norms);
                if x.dims.len() < y.dims.len() {
                    x.dims.resize(y.dims.len(), Moments::default());
                }
                for (m, n) in x.dims.iter_mut().zip(&y.dims) {
                    m.merge(n);
                }
            }
            (None, Some(y)) => self.embedding = Some(y.clone()),
            _ => {}
        }
        self.row_fingerprints.merge(&o.row_fingerprints);
        match (&mut self.sample, &o.sample) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.sample = Some(b.clone()),
            _ => {}
        }
        self.pool_labels();
        Ok(())
    }

    /// Keep the top `top_labels` label sections; pool the rest into `__other__`.
    pub fn pool_labels(&mut self) {
        let n = self.settings.top_labels;
        let Some(ls) = &mut self.label else { return };
        let mut order: Vec<(String, u64)> = ls
            .per_label
            .keys()
            .filter(|k| *k != OTHER_LABEL)
            .map(|k| (k.clone(), ls.counts.counts.get(k).copied().unwrap_or(0)))
            .collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (k, _) in order.into_iter().skip(n) {
            if let Some(cols) = ls.per_label.remove(&k) {
                merge_columns(ls.per_label.entry(OTHER_LABEL.into()).or_default(), &cols);
            }
        }
    }

    pub fn load(path: &Path) -> Result<Profile> {
        let bytes = std::fs::read(path).with_path(path)?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::input(path, format!("not JSON: {e}")))?;
        if v.get("tool").and_then(|t| t.as_str()) != Some("mlguard-profile") {
            return Err(Error::input(
                path,
                "not an mlguard profile (no \"tool\": \"mlguard-profile\")",
            ));
        }
        match v.get("version").and_then(|t| t.as_u64()) {
            Some(n) if n == 1 || n == u64::from(FORMAT_VERSION) => {}
            other => {
                return Err(Error::input(
                    path,
                    format!(
                        "unsupported profile format version {} (this mlguard reads versions 1 and {FORMAT_VERSION}; docs/profile.md)",
                        other.map_or_else(|| "(missing)".to_string(), |n| n.to_string())
                    ),
                ))
            }
        }
        let mut p: Profile = serde_json::from_value(v)
            .map_err(|e| Error::input(path, format!("malformed profile: {e}")))?;
        validate::profile(&p).map_err(|e| Error::input(path, format!("invalid profile: {e}")))?;
        // In memory a profile has no format: whatever is written from it is the current one.
        p.version = FORMAT_VERSION;
        Ok(p)
    }

    /// The profile file: JSON, indented down to the fields of each column (what a reader
    /// looks at); everything deeper (sketches, value counts, fingerprint entries) on one
    /// line each, without spaces. Sketches are packed (format 2, docs/profile.md).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut v, Shallow::new(3));
        if self.serialize(&mut ser).is_err() {
            return Vec::new();
        }
        v.push(b'\n');
        v
    }

    /// Is `path` an mlguard profile (JSON with `"tool": "mlguard-profile"`)?
    pub fn is_profile(path: &Path) -> bool {
        let Ok(mut f) = std::fs::File::open(path) else {
            return false;
        };
        let mut head = vec![0u8; 4096];
        let n = std::io::Read::read(&mut f, &mut head).unwrap_or(0);
        let t = String::from_utf8_lossy(&head[..n]);
        t.trim_start().starts_with('{') && t.contains("\"mlguard-profile\"")
    }
}

/// The settings a profile needs to profile `inputs` the same way.
pub fn inputs_as_strings(inputs: &[PathBuf]) -> Vec<String> {
    inputs.iter().map(|p| p.display().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> RowSection {
        let mut r = RowSection::new(vec!["a".into()], &Settings::default());
        for (k, c, labels) in [
            (u64::MAX, 3, vec![("x", 2), ("y", 1)]),
            (0, 1, vec![]),
            (0x0123_4567_89ab_cdef, 300, vec![("y", 300)]),
        ] {
            r.entries.insert(
                format!("{k:016x}"),
                FingerprintEntry {
                    count: c,
                    labels: labels
                        .into_iter()
                        .map(|(l, n)| (l.to_string(), n))
                        .collect(),
                },
            );
        }
        r.rows = 304;
        r
    }

    /// Packed fingerprint entries read back to the same map; format 1's map is still
    /// read; keys out of order, label indexes out of range and truncation are refused.
    #[test]
    fn fingerprint_entries_pack_and_unpack() {
        let r = section();
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["entries"]["labels"], serde_json::json!(["x", "y"]));
        let back: RowSection = serde_json::from_value(j.clone()).unwrap();
        assert_eq!(back, r);
        let mut v1 = j.clone();
        v1["entries"] = serde_json::to_value(&r.entries).unwrap();
        assert_eq!(serde_json::from_value::<RowSection>(v1).unwrap(), r);
        let raw = |b: &[u8]| {
            let mut v = j.clone();
            v["entries"]["packed"] = sketch::pack(b).into();
            serde_json::from_value::<RowSection>(v)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let mut desc = Vec::new();
        for k in [5u64, 4] {
            desc.extend_from_slice(&k.to_be_bytes());
            desc.extend_from_slice(&[1, 0]);
        }
        assert!(raw(&desc).unwrap_err().contains("is not after"));
        let mut bad_label = 1u64.to_be_bytes().to_vec();
        bad_label.extend_from_slice(&[1, 1, 7, 1]);
        assert!(raw(&bad_label).unwrap_err().contains("out of range"));
        assert!(raw(&[0, 0, 0]).unwrap_err().contains("truncated"));
        let mut long = 1u64.to_be_bytes().to_vec();
        long.extend_from_slice(&[0xff; 11]);
        assert!(raw(&long).is_err());
        assert!(raw(&[]).is_ok());
    }
}
