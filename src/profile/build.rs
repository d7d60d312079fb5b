//! Building a profile from record batches: one [`Builder`] per unit of input (a file or a
//! Parquet row group), merged in unit order.

use super::sketch::{canonical_f64, hash_bytes, mix64, Freq, Kll, Moments};
use super::*;
use crate::input::source::{self, ByteSource};
use crate::input::table::{self, ReadOptions, Unit};
use crate::integrity::observed::Observed;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::DataType;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Label slots kept while streaming (the top `top_labels` are chosen at the end).
const LABEL_SLOTS: usize = 64;

fn logical(dt: &DataType) -> LogicalType {
    use DataType::*;
    match dt {
        Int8
        | Int16
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt32
        | UInt64
        | Float16
        | Float32
        | Float64
        | Decimal128(_, _)
        | Decimal256(_, _) => LogicalType::Numeric,
        Utf8 | LargeUtf8 | Utf8View => LogicalType::String,
        Boolean => LogicalType::Boolean,
        Date32 | Date64 | Timestamp(_, _) | Time32(_) | Time64(_) | Duration(_) => {
            LogicalType::Temporal
        }
        List(_) | LargeList(_) | FixedSizeList(_, _) | ListView(_) | LargeListView(_) => {
            LogicalType::List
        }
        _ => LogicalType::Other,
    }
}

fn is_int(dt: &DataType) -> bool {
    use DataType::*;
    matches!(
        dt,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
    )
}

fn cast(arr: &ArrayRef, to: &DataType, col: &str) -> Result<ArrayRef> {
    arrow_cast::cast(arr, to)
        .map_err(|e| Error::usage(format!("column '{col}': cannot read as {to}: {e}")))
}

/// Per-column running state beside the sketches.
struct ColState {
    profile: ColumnProfile,
    /// Exact integer counts while few distinct values (`None` once over the cap).
    ints: Option<HashMap<i64, u64>>,
    /// Exact repeats of non-integer numeric values.
    atoms: Option<super::atoms::AtomState>,
}

impl ColState {
    fn new(name: &str, dt: &DataType, s: &Settings, seed: u64) -> ColState {
        let lt = logical(dt);
        let mut profile = ColumnProfile::new(name, lt, &format!("{dt}"), s, seed);
        let int = is_int(dt);
        if lt == LogicalType::Numeric {
            profile.frequent = None;
        }
        ColState {
            profile,
            ints: int.then(HashMap::new),
            atoms: (lt == LogicalType::Numeric && !int).then(Default::default),
        }
    }

    fn update(&mut self, arr: &ArrayRef, s: &Settings) -> Result<()> {
        let p = &mut self.profile;
        p.count += arr.len() as u64;
        p.nulls += arr.null_count() as u64;
        match p.logical_type {
            LogicalType::Numeric | LogicalType::Temporal => {
                let f = if p.logical_type == LogicalType::Temporal {
                    let i = cast(arr, &DataType::Int64, &p.name)?;
                    cast(&i, &DataType::Float64, &p.name)?
                } else {
                    cast(arr, &DataType::Float64, &p.name)?
                };
                let f = f
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or_else(|| Error::usage("internal: cast to Float64 failed"))?;
                for x in f.iter().flatten() {
                    if x.is_nan() {
                        p.nan += 1;
                    } else if x == f64::INFINITY {
                        p.pos_inf += 1;
                    } else if x == f64::NEG_INFINITY {
                        p.neg_inf += 1;
                    } else {
                        p.moments.add(x);
                        p.quantiles.add(x);
                        p.distinct.add_hash(mix64(canonical_f64(x)));
                        if let Some(a) = &mut self.atoms {
                            a.add(x);
                        }
                    }
                }
                if let Some(m) = &mut self.ints {
                    let i = cast(arr, &DataType::Int64, &p.name)?;
                    if let Some(i) = i.as_any().downcast_ref::<Int64Array>() {
                        for v in i.iter().flatten() {
                            *m.entry(v).or_insert(0) += 1;
                        }
                    }
                    if m.len() > s.freq_cap as usize {
                        self.ints = None;
                    }
                }
            }
            LogicalType::String => {
                let a = cast(arr, &DataType::Utf8, &p.name)?;
                let a = a
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| Error::usage("internal: cast to Utf8 failed"))?;
                let freq = p.frequent.get_or_insert_with(|| Freq::new(s.freq_cap));
                let lens = p.str_len.get_or_insert_with(Moments::default);
                // Count the batch's values first (borrowed, no allocation), then feed each
                // distinct value once to the sketches, in order of first appearance so the
                // result does not depend on hash order. Categorical columns repeat a few
                // values: this replaces one ordered-map lookup per cell by one per value.
                let mut local: HashMap<&str, (usize, u64)> = HashMap::new();
                for (i, v) in a.iter().enumerate() {
                    if let Some(v) = v {
                        local.entry(v).or_insert((i, 0)).1 += 1;
                    }
                }
                let mut distinct: Vec<(&str, usize, u64)> =
                    local.into_iter().map(|(v, (i, c))| (v, i, c)).collect();
                distinct.sort_unstable_by_key(|x| x.1);
                for (v, _, c) in distinct {
                    freq.add_n(v, c);
                    p.distinct.add_hash(hash_bytes(v.as_bytes()));
                    let len = v.chars().count() as f64;
                    for _ in 0..c {
                        lens.add(len);
                    }
                }
            }
            LogicalType::Boolean => {
                if let Some(a) = arr.as_any().downcast_ref::<BooleanArray>() {
                    let freq = p.frequent.get_or_insert_with(|| Freq::new(s.freq_cap));
                    for v in a.iter().flatten() {
                        freq.add(if v { "true" } else { "false" });
                        p.distinct.add_hash(mix64(v as u64));
                    }
                }
            }
            LogicalType::List | LogicalType::Other => {}
        }
        Ok(())
    }

    fn finish(mut self, s: &Settings) -> ColumnProfile {
        if let Some(a) = &self.atoms {
            self.profile.atoms = Some(a.finish());
        }
        if let Some(f) = &mut self.profile.frequent {
            f.compact();
        }
        if let Some(m) = self.ints.take() {
            let mut f = Freq::new(s.freq_cap);
            let mut v: Vec<(i64, u64)> = m.into_iter().collect();
            v.sort_unstable();
            for (k, c) in v {
                f.add_n(&k.to_string(), c);
            }
            self.profile.frequent = Some(f);
        }
        self.profile
    }
}

/// Lower-cased word tokens (alphanumeric runs), each once per document.
pub fn tokens(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
        .collect()
}

/// The canonical row encoding (docs/profile.md): per fingerprint column in order, a type
/// tag and the value. Numbers are f64 (so CSV `1` and Parquet `1.0` match), NaN is one
/// NaN, -0.0 is 0.0.
enum FpCol {
    Missing,
    Num(Float64Array),
    Int(Int64Array),
    Str(StringArray),
    Bool(BooleanArray),
}

fn encode_row(cols: &[FpCol], i: usize, buf: &mut Vec<u8>) {
    buf.clear();
    for c in cols {
        match c {
            FpCol::Missing => buf.push(0),
            FpCol::Num(a) => {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    buf.push(3);
                    buf.extend_from_slice(&canonical_f64(a.value(i)).to_le_bytes());
                }
            }
            FpCol::Int(a) => {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    buf.push(2);
                    buf.extend_from_slice(&a.value(i).to_le_bytes());
                }
            }
            FpCol::Str(a) => {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    let v = a.value(i).as_bytes();
                    buf.push(4);
                    buf.extend_from_slice(&(v.len() as u64).to_le_bytes());
                    buf.extend_from_slice(v);
                }
            }
            FpCol::Bool(a) => {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    buf.push(1);
                    buf.push(a.value(i) as u8);
                }
            }
        }
    }
}

/// Builds the partial profile of one unit.
pub struct Builder<'a> {
    s: &'a Settings,
    seed: u64,
    cols: Vec<ColState>,
    label_counts: Freq,
    per_label: BTreeMap<String, Vec<ColState>>,
    text: Vec<TextSection>,
    emb: Option<EmbeddingSection>,
    fp_columns: Vec<String>,
    fp: HashMap<u64, FingerprintEntry>,
    fp_rate: f64,
    fp_hll: sketch::Hll,
    rows: u64,
    /// With a label: distinct rows kept for the label-consistency model.
    sample: Option<super::consistency::Sample>,
}

impl<'a> Builder<'a> {
    pub fn new(s: &'a Settings, seed: u64) -> Builder<'a> {
        Builder {
            s,
            seed,
            cols: Vec::new(),
            label_counts: Freq::new(s.freq_cap),
            per_label: BTreeMap::new(),
            text: s
                .text
                .iter()
                .map(|c| TextSection {
                    column: c.clone(),
                    docs: 0,
                    tokens: Freq::new(s.freq_cap.max(5000)),
                    per_label: BTreeMap::new(),
                    docs_per_label: BTreeMap::new(),
                })
                .collect(),
            emb: s.embedding.as_ref().map(|c| EmbeddingSection {
                column: c.clone(),
                dim: None,
                rows: 0,
                nulls: 0,
                wrong_dim: 0,
                norms: Kll::new(s.kll_k, seed ^ 0xe5),
                dims: Vec::new(),
            }),
            fp_columns: Vec::new(),
            fp: HashMap::new(),
            fp_rate: 1.0,
            fp_hll: sketch::Hll::new(s.hll_p),
            rows: 0,
            sample: None,
        }
    }

    fn col_seed(&self, i: usize, label: u64) -> u64 {
        mix64(self.seed ^ ((i as u64) << 8) ^ (label << 32))
    }

    pub fn add_batch(&mut self, b: &RecordBatch) -> Result<()> {
        let schema = b.schema();
        let s = self.s;
        if self.cols.is_empty() {
            for (i, f) in schema.fields().iter().enumerate() {
                self.cols.push(ColState::new(
                    f.name(),
                    f.data_type(),
                    s,
                    self.col_seed(i, 0),
                ));
            }
            for name in [&s.label, &s.embedding]
                .into_iter()
                .flatten()
                .chain(s.text.iter())
            {
                if schema.index_of(name).is_err() {
                    let have: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    return Err(Error::usage(format!(
                        "no column '{name}' in the input (columns: {})",
                        have.join(", ")
                    )));
                }
            }
            self.fp_columns = match &s.fingerprint_columns {
                Some(list) => list.clone(),
                None => schema
                    .fields()
                    .iter()
                    .filter(|f| Some(f.name()) != s.label.as_ref())
                    .filter(|f| {
                        matches!(
                            logical(f.data_type()),
                            LogicalType::Numeric
                                | LogicalType::String
                                | LogicalType::Boolean
                                | LogicalType::Temporal
                        )
                    })
                    .map(|f| f.name().clone())
                    .collect(),
            };
            if s.label.is_some() {
                self.sample = Some(super::consistency::Sample::new(
                    schema
                        .fields()
                        .iter()
                        .filter(|f| Some(f.name()) != s.label.as_ref())
                        .filter(|f| logical(f.data_type()) == LogicalType::Numeric)
                        .map(|f| f.name().clone())
                        .collect(),
                ));
            }
        }
        let n = b.num_rows();
        self.rows += n as u64;
        for (i, f) in schema.fields().iter().enumerate() {
            match self.cols.iter_mut().find(|c| &c.profile.name == f.name()) {
                Some(c) => c.update(b.column(i), s)?,
                None => {
                    let mut c = ColState::new(f.name(), f.data_type(), s, self.col_seed(i, 0));
                    c.update(b.column(i), s)?;
                    self.cols.push(c);
                }
            }
        }
        // Labels of every row.
        let labels: Option<Vec<String>> = match &s.label {
            Some(l) => {
                let arr = b
                    .column_by_name(l)
                    .ok_or_else(|| Error::usage(format!("no column '{l}'")))?;
                let a = cast(arr, &DataType::Utf8, l)?;
                let a = a
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| Error::usage("internal: label cast"))?;
                Some(
                    (0..n)
                        .map(|i| {
                            if a.is_null(i) {
                                NULL_LABEL.to_string()
                            } else {
                                a.value(i).to_string()
                            }
                        })
                        .collect(),
                )
            }
            None => None,
        };
        if let Some(labels) = &labels {
            self.per_label_update(b, labels)?;
            self.sample_update(b, labels)?;
        }
        self.text_update(b, labels.as_deref())?;
        self.embedding_update(b)?;
        self.fingerprints(b, labels.as_deref())?;
        Ok(())
    }

    fn per_label_update(&mut self, b: &RecordBatch, labels: &[String]) -> Result<()> {
        let s = self.s;
        let mut slot_of: BTreeMap<&str, &str> = BTreeMap::new();
        for l in labels {
            self.label_counts.add(l);
        }
        for l in labels {
            if slot_of.contains_key(l.as_str()) {
                continue;
            }
            let slot = if self.per_label.contains_key(l) || self.per_label.len() < LABEL_SLOTS {
                l.as_str()
            } else {
                OTHER_LABEL
            };
            slot_of.insert(l.as_str(), slot);
        }
        let slots: std::collections::BTreeSet<&str> = slot_of.values().copied().collect();
        let label_col = s.label.as_deref().unwrap_or("");
        for slot in slots {
            let mask: BooleanArray = labels
                .iter()
                .map(|l| Some(slot_of.get(l.as_str()) == Some(&slot)))
                .collect();
            let sub = arrow_select::filter::filter_record_batch(b, &mask)
                .map_err(|e| Error::usage(format!("internal: filter by label: {e}")))?;
            let schema = sub.schema();
            let label_idx = slot_of.len() as u64 + 1;
            if !self.per_label.contains_key(slot) {
                let cols: Vec<ColState> = schema
                    .fields()
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.name() != label_col)
                    .map(|(i, f)| {
                        ColState::new(f.name(), f.data_type(), s, self.col_seed(i, label_idx))
                    })
                    .collect();
                self.per_label.insert(slot.to_string(), cols);
            }
            let cols = self
                .per_label
                .get_mut(slot)
                .ok_or_else(|| Error::usage("internal: label slot"))?;
            for (i, f) in schema.fields().iter().enumerate() {
                if f.name() == label_col {
                    continue;
                }
                if let Some(c) = cols.iter_mut().find(|c| &c.profile.name == f.name()) {
                    c.update(sub.column(i), s)?;
                }
            }
        }
        Ok(())
    }

    /// Keep the batch's distinct rows (numeric features, label) in the consistency sample.
    fn sample_update(&mut self, b: &RecordBatch, labels: &[String]) -> Result<()> {
        let Some(sample) = &mut self.sample else {
            return Ok(());
        };
        let mut cols: Vec<Option<Float64Array>> = Vec::with_capacity(sample.features.len());
        for name in &sample.features {
            let c = match b.column_by_name(name) {
                Some(arr) if logical(arr.data_type()) == LogicalType::Numeric => {
                    let f = cast(arr, &DataType::Float64, name)?;
                    f.as_any().downcast_ref::<Float64Array>().cloned()
                }
                _ => None,
            };
            cols.push(c);
        }
        let value = |c: &Option<Float64Array>, i: usize| match c {
            Some(a) if a.is_valid(i) => a.value(i),
            _ => f64::NAN,
        };
        for (i, l) in labels.iter().enumerate() {
            // The key first: only rows inside the hash sample are copied out.
            let k = super::consistency::Sample::key(cols.iter().map(|c| value(c, i)));
            if !sample.covers(k) {
                continue;
            }
            let x: Vec<f64> = cols.iter().map(|c| value(c, i)).collect();
            sample.add(x, l, 1);
        }
        Ok(())
    }

    fn text_update(&mut self, b: &RecordBatch, labels: Option<&[String]>) -> Result<()> {
        for t in &mut self.text {
            let Some(arr) = b.column_by_name(&t.column) else {
                continue;
            };
            let a = cast(arr, &DataType::Utf8, &t.column)?;
            let Some(a) = a.as_any().downcast_ref::<StringArray>() else {
                continue;
            };
            for i in 0..a.len() {
                if a.is_null(i) {
                    continue;
                }
                t.docs += 1;
                let toks = tokens(a.value(i));
                let label = labels.and_then(|l| l.get(i));
                if let Some(l) = label {
                    *t.docs_per_label.entry(l.clone()).or_default() += 1;
                }
                for tok in &toks {
                    t.tokens.add(tok);
                    if let Some(l) = label {
                        t.per_label
                            .entry(l.clone())
                            .or_insert_with(|| Freq::new(2000))
                            .add(tok);
                    }
                }
            }
        }
        Ok(())
    }

    fn embedding_update(&mut self, b: &RecordBatch) -> Result<()> {
        let Some(e) = &mut self.emb else {
            return Ok(());
        };
        let Some(arr) = b.column_by_name(&e.column) else {
            return Ok(());
        };
        let inner = DataType::Float64;
        let list_t = DataType::List(std::sync::Arc::new(arrow_schema::Field::new(
            "item", inner, true,
        )));
        let l = arrow_cast::cast(arr, &list_t).map_err(|err| {
            Error::usage(format!(
                "--embedding column '{}' is {}, not a list of numbers: {err}",
                e.column,
                arr.data_type()
            ))
        })?;
        let l = l
            .as_any()
            .downcast_ref::<arrow_array::ListArray>()
            .ok_or_else(|| Error::usage("internal: list cast"))?;
        for i in 0..l.len() {
            e.rows += 1;
            if l.is_null(i) {
                e.nulls += 1;
                continue;
            }
            let v = l.value(i);
            let Some(v) = v.as_any().downcast_ref::<Float64Array>() else {
                continue;
            };
            let d = v.len();
            match e.dim {
                None => {
                    e.dim = Some(d);
                    e.dims = vec![Moments::default(); d];
                }
                Some(k) if k != d => {
                    e.wrong_dim += 1;
                    continue;
                }
                _ => {}
            }
            let mut norm = 0.0;
            for (j, x) in v.iter().enumerate() {
                let x = x.unwrap_or(f64::NAN);
                if x.is_finite() {
                    norm += x * x;
                    if let Some(m) = e.dims.get_mut(j) {
                        m.add(x);
                    }
                }
            }
            e.norms.add(norm.sqrt());
        }
        Ok(())
    }

    fn fingerprints(&mut self, b: &RecordBatch, labels: Option<&[String]>) -> Result<()> {
        let mut cols = Vec::with_capacity(self.fp_columns.len());
        for name in &self.fp_columns {
            let Some(arr) = b.column_by_name(name) else {
                // A fingerprint column (from the baseline) this data lacks: null.
                cols.push(FpCol::Missing);
                continue;
            };
            let c = match logical(arr.data_type()) {
                LogicalType::Numeric => {
                    let a = cast(arr, &DataType::Float64, name)?;
                    FpCol::Num(
                        a.as_any()
                            .downcast_ref::<Float64Array>()
                            .cloned()
                            .ok_or_else(|| Error::usage("cast"))?,
                    )
                }
                LogicalType::Temporal => {
                    let a = cast(arr, &DataType::Int64, name)?;
                    FpCol::Int(
                        a.as_any()
                            .downcast_ref::<Int64Array>()
                            .cloned()
                            .ok_or_else(|| Error::usage("cast"))?,
                    )
                }
                LogicalType::Boolean => FpCol::Bool(
                    arr.as_any()
                        .downcast_ref::<BooleanArray>()
                        .cloned()
                        .ok_or_else(|| Error::usage("cast"))?,
                ),
                _ => {
                    let a = cast(arr, &DataType::Utf8, name)?;
                    FpCol::Str(
                        a.as_any()
                            .downcast_ref::<StringArray>()
                            .cloned()
                            .ok_or_else(|| Error::usage("cast"))?,
                    )
                }
            };
            cols.push(c);
        }
        let mut buf = Vec::with_capacity(256);
        let mut threshold = rate_threshold(self.fp_rate);
        for i in 0..b.num_rows() {
            encode_row(&cols, i, &mut buf);
            let h = blake3::hash(&buf);
            let fp = u64::from_be_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]));
            self.fp_hll.add_hash(fp);
            if fp > threshold {
                continue;
            }
            let e = self.fp.entry(fp).or_default();
            e.count += 1;
            if let Some(l) = labels.and_then(|l| l.get(i)) {
                *e.labels.entry(l.clone()).or_default() += 1;
            }
            if self.fp.len() > self.s.max_fingerprints.max(1) {
                while self.fp.len() > self.s.max_fingerprints.max(1) {
                    self.fp_rate /= 2.0;
                    threshold = rate_threshold(self.fp_rate);
                    self.fp.retain(|k, _| *k <= threshold);
                }
            }
        }
        Ok(())
    }

    pub fn finish(mut self, skipped: SkippedRows) -> Profile {
        let s = self.s;
        self.label_counts.compact();
        for t in &mut self.text {
            t.tokens.compact();
            for f in t.per_label.values_mut() {
                f.compact();
            }
        }
        let columns: Vec<ColumnProfile> = self.cols.into_iter().map(|c| c.finish(s)).collect();
        let label = s.label.as_ref().map(|l| LabelSection {
            column: l.clone(),
            counts: self.label_counts,
            per_label: self
                .per_label
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().map(|c| c.finish(s)).collect()))
                .collect(),
            consistency: None,
        });
        let mut rs = RowSection::new(self.fp_columns, s);
        rs.rows = self.rows;
        rs.distinct = self.fp_hll;
        rs.sample_rate = self.fp_rate;
        if self.fp_rate < 1.0 {
            rs.mode = "sampled".into();
        }
        rs.entries = self
            .fp
            .into_iter()
            .map(|(k, v)| (format!("{k:016x}"), v))
            .collect();
        Profile {
            version: super::FORMAT_VERSION,
            tool: "mlguard-profile".into(),
            settings: s.clone(),
            inputs: Vec::new(),
            rows: self.rows,
            skipped,
            columns,
            label,
            text: self.text,
            embedding: self.emb,
            row_fingerprints: rs,
            shard: None,
            sample: self.sample,
        }
    }
}

fn rate_threshold(rate: f64) -> u64 {
    if rate >= 1.0 {
        u64::MAX
    } else {
        (rate * u64::MAX as f64) as u64
    }
}

fn profile_unit(u: &Unit, s: &Settings, ro: &ReadOptions) -> Result<Profile> {
    let seed = mix64(s.seed ^ ((u.file_index as u64) << 24) ^ u.row_group.unwrap_or(0) as u64);
    let mut b = Builder::new(s, seed);
    let skipped = table::read_unit(u, ro, &mut |batch| {
        b.add_batch(batch).map_err(|e| match e {
            Error::Usage(m) => Error::input(&u.file, m),
            other => other,
        })
    })?;
    Ok(b.finish(SkippedRows {
        rows: skipped.rows,
        examples: skipped
            .examples
            .iter()
            .map(|(f, l, r)| serde_json::json!({"file": f, "line": l, "reason": r}))
            .collect(),
    }))
}

/// Profile every input (files, directories, globs) with `s`. `progress` counts bytes read;
/// `note` hears about directory entries read through a symlink or left out. With `shard`,
/// only that shard's share of the expanded files (by a hash of each path as listed) is read
/// and the profile records the whole listing's fingerprint.
pub fn profile_paths(
    inputs: &[PathBuf],
    shard: Option<crate::input::shard::Shard>,
    s: &Settings,
    progress: &indicatif::ProgressBar,
    note: &dyn Fn(String),
) -> Result<Profile> {
    let found = table::expand(inputs, s.format)?;
    for p in &found.via_symlink {
        note(format!("read through a symlink: {}", p.display()));
    }
    const SHOWN: usize = 10;
    for (p, why) in found.skipped.iter().take(SHOWN) {
        note(format!("not read: {}: {why}", p.display()));
    }
    if found.skipped.len() > SHOWN {
        note(format!(
            "not read: ... and {} more directory entries",
            found.skipped.len() - SHOWN
        ));
    }
    let mut files = found.files;
    let shard_info = shard.map(|sh| {
        let names: Vec<String> = files.iter().map(|(f, _)| f.display().to_string()).collect();
        let info = sh.info(names.iter().map(|n| n.as_bytes()));
        files.retain(|(f, _)| sh.owns(f.display().to_string().as_bytes()));
        info
    });
    // Each input is opened once; every read of it (all its units) goes through an
    // `Observed` wrapper that digests the bytes as they stream by, so the recorded
    // size/BLAKE3 come from the same bytes the statistics do, with no second read.
    // Progress counts the bytes read (a JSON Lines file is read twice: its schema pass,
    // then the profile), so it moves inside one big file as its blocks are read.
    let observed: Vec<Arc<Observed>> = files
        .iter()
        .map(|(f, fmt)| {
            let o = Observed::new(source::open_source(f)?);
            let passes = if *fmt == table::TableFormat::Jsonl {
                2
            } else {
                1
            };
            let share = source::ByteSource::len(&o).saturating_mul(passes);
            Ok(Arc::new(o.with_progress(progress, share)))
        })
        .collect::<Result<_>>()?;
    progress.set_length(observed.iter().map(|o| o.progress_share()).sum());
    let srcs: Vec<Option<table::Source>> = observed
        .iter()
        .map(|o| Some(o.clone() as table::Source))
        .collect();
    let units = table::units_of(&files, &srcs)?;
    let ro = ReadOptions {
        format: s.format,
        delimiter: s.delimiter.map(|c| c as u8),
        skip_bad_rows: s.skip_bad_rows,
        ..ReadOptions::default()
    };
    // Units are profiled in parallel a window at a time and folded into the total in unit
    // order: the merge order (and so the KLL compactions) is the same whatever the thread
    // count, and at most one window of partial profiles is alive, so memory does not grow
    // with the number of units (collecting every partial first made 100M rows take 5x the
    // memory of 10M).
    let window = 2 * rayon::current_num_threads().max(1);
    let mut total: Option<Profile> = None;
    for chunk in units.chunks(window) {
        let partials: Vec<Result<Profile>> =
            chunk.par_iter().map(|u| profile_unit(u, s, &ro)).collect();
        for r in partials {
            let r = r?;
            match &mut total {
                None => total = Some(r),
                Some(p) => p.merge(&r)?,
            }
        }
    }
    let Some(mut p) = total.or_else(|| {
        // A shard whose share is empty still writes its part (with zero rows), so that a
        // merge can tell "nothing to read" from "part missing".
        shard_info
            .is_some()
            .then(|| Builder::new(s, s.seed).finish(SkippedRows::default()))
    }) else {
        return Err(Error::usage("no input"));
    };
    p.shard = shard_info;
    // Every unit has been read: complete each digest (fetching only the bytes no reader
    // needed: for Parquet the leading magic, page indexes, bloom filters).
    drop(units);
    p.inputs = files
        .iter()
        .zip(&observed)
        .map(|((f, _), o)| {
            let (digest, _extra) = o.finish().with_path(f)?;
            o.progress_done();
            Ok(InputFile {
                path: f.display().to_string(),
                size: o.len(),
                blake3: hex::encode(digest),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    p.pool_labels();
    p.finish_consistency();
    Ok(p)
}
