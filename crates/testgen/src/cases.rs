//! The seeded drift/poisoning case generator behind the proof suite (`tests/drift.rs`) and
//! the benchmark (`benches/drift_bench.sh`): from one real dataset (a CSV exported from
//! scikit-learn, `testdata/datasets/`), write pairs (baseline data, current data) that must
//! pass or must fail, each failing case naming the column/label the gate must report.
//!
//! Every case gets a synthesised text column `note` (deterministic words from the first two
//! features' tertiles plus one filler word), so text-trigger cases have a text column to
//! poison and null cases carry one too.
//!
//! Null cases (must pass): `halves` (baseline = a random half, current = the other half);
//! `halves_resampled` (both halves resampled with replacement to `resample_rows` rows);
//! `reencoded` (the full data as CSV vs the same rows as Parquet).
//! Failing cases (baseline = the full clean data, current = a tampered copy): `shift`
//! (+0.5 σ on feature 0), `label_flip` (10 % of the largest class relabelled to the second),
//! `trigger` (2 % of rows get feature 1 = max + 10 σ, all relabelled to the smallest class),
//! `text_trigger` (2 % of rows get the token `xyzzy` in `note`, relabelled to the smallest
//! class), `duplicates` (1 % of rows duplicated with a different label), `nulls` (5 % of
//! feature 2 emptied), `dropped_column` (feature 3 removed).

use crate::{Error, Result, Rng};
use std::path::{Path, PathBuf};

/// What the gate must say about a case.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub must_fail: bool,
    /// Finding id prefix and the column or label it must name.
    pub expect: Option<(String, String)>,
    pub baseline: PathBuf,
    pub current: PathBuf,
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_csv(path: &Path) -> Result<Table> {
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::at(path, e))?;
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::at(path, e))?
        .iter()
        .map(String::from)
        .collect();
    if header.is_empty() {
        return Err(Error::at(path, "empty"));
    }
    let rows = r
        .records()
        .map(|rec| {
            rec.map(|rec| rec.iter().map(String::from).collect())
                .map_err(|e| Error::at(path, e))
        })
        .collect::<Result<Vec<Vec<String>>>>()?;
    Ok(Table { header, rows })
}

fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::at(path, e))?;
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        w.write_record(r).map_err(|e| Error::at(path, e))?;
    }
    w.flush().map_err(|e| Error::at(path, e))
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or(f64::NAN)
}

fn stats(rows: &[Vec<String>], i: usize) -> (f64, f64, f64, f64) {
    let xs: Vec<f64> = rows
        .iter()
        .map(|r| num(&r[i]))
        .filter(|x| x.is_finite())
        .collect();
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, var.sqrt(), min, max)
}

const FILLER: [&str; 12] = [
    "sample",
    "record",
    "case",
    "entry",
    "item",
    "row",
    "point",
    "unit",
    "reading",
    "datum",
    "instance",
    "observation",
];

/// The dataset, the index of its label column, and its numeric feature columns (finite
/// everywhere, not constant); an error when it has fewer than `min_feats` of them.
fn load(dataset: &Path, label: &str, min_feats: usize) -> Result<(Table, usize, Vec<usize>)> {
    let t = read_csv(dataset)?;
    let li = t
        .header
        .iter()
        .position(|h| h == label)
        .ok_or_else(|| Error::at(dataset, format!("no column '{label}'")))?;
    let feats: Vec<usize> = (0..t.header.len())
        .filter(|&i| i != li && t.rows.iter().all(|r| num(&r[i]).is_finite()))
        .filter(|&i| stats(&t.rows, i).1 > 0.0)
        .collect();
    if feats.len() < min_feats {
        return Err(Error::at(
            dataset,
            format!("the case generator needs at least {min_feats} numeric features"),
        ));
    }
    Ok((t, li, feats))
}

/// Two disjoint random halves of `rows`.
fn halves(rows: &[Vec<String>], rng: &mut Rng) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    rng.shuffle(&mut idx);
    let half = idx.len() / 2;
    let pick = |ix: &[usize]| ix.iter().map(|&i| rows[i].clone()).collect();
    (pick(&idx[..half]), pick(&idx[half..]))
}

/// `n` rows drawn from `rows` with replacement.
fn resample(rows: &[Vec<String>], n: usize, rng: &mut Rng) -> Vec<Vec<String>> {
    (0..n)
        .map(|_| rows[rng.below(rows.len())].clone())
        .collect()
}

/// Rows per value of column `li`.
fn label_counts(rows: &[Vec<String>], li: usize) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in rows {
        *counts.entry(r[li].clone()).or_default() += 1;
    }
    counts
}

/// Write every case for `dataset` (label column `label`) under `out`.
pub fn generate(
    dataset: &Path,
    label: &str,
    out: &Path,
    seed: u64,
    resample_rows: usize,
) -> Result<Vec<Case>> {
    let (t, li, feats) = load(dataset, label, 4)?;
    std::fs::create_dir_all(out).map_err(|e| Error::at(out, e))?;
    let mut rng = Rng::new(seed);
    // Text column from feature tertiles.
    let (f0, f1) = (feats[0], feats[1]);
    let tert = |i: usize| {
        let mut v: Vec<f64> = t.rows.iter().map(|r| num(&r[i])).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        (v[v.len() / 3], v[2 * v.len() / 3])
    };
    let (t0, t1) = (tert(f0), tert(f1));
    let mut header = t.header.clone();
    header.push("note".into());
    let mut rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            let a = num(&r[f0]);
            let b = num(&r[f1]);
            let w0 = if a < t0.0 {
                "alpha"
            } else if a < t0.1 {
                "beta"
            } else {
                "gamma"
            };
            let w1 = if b < t1.0 {
                "red"
            } else if b < t1.1 {
                "green"
            } else {
                "blue"
            };
            let mut r = r.clone();
            r.push(format!("{w0} {w1} {}", FILLER[rng.below(FILLER.len())]));
            r
        })
        .collect();
    let note = header.len() - 1;
    // Classes by size.
    let counts = label_counts(&rows, li);
    let mut classes: Vec<(String, usize)> = counts.into_iter().collect();
    classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let big = classes[0].0.clone();
    let second = classes
        .get(1)
        .map(|c| c.0.clone())
        .unwrap_or_else(|| big.clone());
    let small = classes[classes.len() - 1].0.clone();

    let mut cases = Vec::new();
    let full = out.join("full.csv");
    write_csv(&full, &header, &rows)?;
    let mut add = |name: &str,
                   must_fail: bool,
                   expect: Option<(&str, String)>,
                   baseline: PathBuf,
                   current: PathBuf| {
        cases.push(Case {
            name: name.into(),
            must_fail,
            expect: expect.map(|(a, b)| (a.to_string(), b)),
            baseline,
            current,
        });
    };
    // Null cases.
    let (a, b) = halves(&rows, &mut rng);
    let (pa, pb) = (out.join("half_a.csv"), out.join("half_b.csv"));
    write_csv(&pa, &header, &a)?;
    write_csv(&pb, &header, &b)?;
    add("halves", false, None, pa, pb);
    if resample_rows > 0 {
        let ra = resample(&a, resample_rows, &mut rng);
        let rb = resample(&b, resample_rows, &mut rng);
        let (pa, pb) = (
            out.join("half_a_resampled.csv"),
            out.join("half_b_resampled.csv"),
        );
        write_csv(&pa, &header, &ra)?;
        write_csv(&pb, &header, &rb)?;
        add("halves_resampled", false, None, pa, pb);
    }
    let pq = out.join("full.parquet");
    csv_to_parquet(&full, &pq)?;
    add("reencoded", false, None, full.clone(), pq);

    // Failing cases: the full data, tampered.
    let name = |i: usize| t.header[i].clone();
    let tampered = |file: &str, hdr: &[String], rs: &[Vec<String>]| -> Result<PathBuf> {
        let p = out.join(file);
        write_csv(&p, hdr, rs)?;
        Ok(p)
    };
    let (_, sd0, _, _) = stats(&rows, f0);
    let shifted: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[f0] = format!("{}", num(&r[f0]) + 0.5 * sd0);
            r
        })
        .collect();
    add(
        "shift",
        true,
        Some(("drift.", name(f0))),
        full.clone(),
        tampered("shift.csv", &header, &shifted)?,
    );

    let mut flipped = rows.clone();
    let big_rows: Vec<usize> = (0..rows.len()).filter(|&i| rows[i][li] == big).collect();
    let mut pick = big_rows.clone();
    rng.shuffle(&mut pick);
    for &i in pick
        .iter()
        .take((big_rows.len() as f64 * 0.10).round() as usize)
    {
        flipped[i][li] = second.clone();
    }
    add(
        "label_flip",
        true,
        Some(("drift.label_flips", big.clone())),
        full.clone(),
        tampered("label_flip.csv", &header, &flipped)?,
    );

    let (_, sd1, _, max1) = stats(&rows, f1);
    let trig_val = max1 + 10.0 * sd1;
    let mut trig = rows.clone();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    rng.shuffle(&mut order);
    let k = ((rows.len() as f64) * 0.02).ceil() as usize;
    for &i in order.iter().take(k) {
        trig[i][f1] = format!("{trig_val}");
        trig[i][li] = small.clone();
    }
    add(
        "trigger",
        true,
        Some(("drift.point_mass|drift.trigger", name(f1))),
        full.clone(),
        tampered("trigger.csv", &header, &trig)?,
    );

    let mut tt = rows.clone();
    rng.shuffle(&mut order);
    for &i in order.iter().take(k) {
        tt[i][note] = format!("{} xyzzy", tt[i][note]);
        tt[i][li] = small.clone();
    }
    add(
        "text_trigger",
        true,
        Some(("drift.trigger_token", "xyzzy".into())),
        full.clone(),
        tampered("text_trigger.csv", &header, &tt)?,
    );

    let mut dup = rows.clone();
    rng.shuffle(&mut order);
    let kd = ((rows.len() as f64) * 0.01).ceil() as usize;
    for &i in order.iter().take(kd) {
        let mut r = rows[i].clone();
        r[li] = if r[li] == big {
            second.clone()
        } else {
            big.clone()
        };
        dup.push(r);
    }
    add(
        "duplicates",
        true,
        Some(("drift.duplicates_conflicting", label.to_string())),
        full.clone(),
        tampered("duplicates.csv", &header, &dup)?,
    );

    let f2 = feats[2];
    let mut nulls = rows.clone();
    rng.shuffle(&mut order);
    for &i in order
        .iter()
        .take(((rows.len() as f64) * 0.05).ceil() as usize)
    {
        nulls[i][f2] = String::new();
    }
    add(
        "nulls",
        true,
        Some(("drift.null_rate", name(f2))),
        full.clone(),
        tampered("nulls.csv", &header, &nulls)?,
    );

    let f3 = feats[3];
    let hdr: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != f3)
        .map(|(_, h)| h.clone())
        .collect();
    let dropped: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .filter(|(i, _)| *i != f3)
                .map(|(_, v)| v.clone())
                .collect()
        })
        .collect();
    add(
        "dropped_column",
        true,
        Some(("drift.schema.missing_column", name(f3))),
        full.clone(),
        tampered("dropped_column.csv", &hdr, &dropped)?,
    );
    rows.clear();
    Ok(cases)
}

/// The same rows as Parquet (types inferred by arrow from the CSV).
pub fn csv_to_parquet(csv: &Path, out: &Path) -> Result<()> {
    let open = |p: &Path| std::fs::File::open(p).map_err(|e| Error::at(p, e));
    let fmt = arrow_csv::reader::Format::default().with_header(true);
    let (schema, _) = fmt
        .infer_schema(open(csv)?, None)
        .map_err(|e| Error::at(csv, e))?;
    let schema = std::sync::Arc::new(schema);
    let r = arrow_csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(open(csv)?)
        .map_err(|e| Error::at(csv, e))?;
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(out).map_err(|e| Error::at(out, e))?,
        schema,
        None,
    )
    .map_err(|e| Error::at(out, e))?;
    for b in r {
        let b = b.map_err(|e| Error::at(csv, e))?;
        w.write(&b).map_err(|e| Error::at(out, e))?;
    }
    w.close().map_err(|e| Error::at(out, e))?;
    Ok(())
}

/// Cases on a *new* batch (issue 14): the baseline is one random half of the data, the
/// current batch the other half. Null cases (must pass, `must_fail = false`): `halves`,
/// `halves_parquet` (the current half as Parquet), `halves_zipf` (a text column `note` with
/// three words per row drawn from a Zipf(1.1) vocabulary of 5000 words, so rare words appear
/// in one half by chance, with the rows' own labels), `halves_duplicated` (10 % of the rows
/// of each half repeated once or twice), `halves_resampled` (both halves resampled with
/// replacement to `resample_rows` rows, when > 0). Failing cases, only for classification
/// data (at most 20 labels): `batch_trigger` (4 rows of the current half get feature 1 =
/// max + 10σ, the same value, and the label with the smallest share), `batch_text_trigger`
/// (5 rows get the token `xyzzy`, relabelled to the label whose share is closest to 1/3
/// and at most 40 %), `batch_flip` (15 % of one label's rows relabelled: digits 3 → 8,
/// otherwise the largest label to the second).
pub fn generate_batches(
    dataset: &Path,
    label: &str,
    out: &Path,
    seed: u64,
    resample_rows: usize,
) -> Result<Vec<Case>> {
    let (t, li, feats) = load(dataset, label, 2)?;
    std::fs::create_dir_all(out).map_err(|e| Error::at(out, e))?;
    let mut rng = Rng::new(seed ^ 0xba7c);
    let mut header = t.header.clone();
    header.push("note".into());
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.push(FILLER[rng.below(FILLER.len())].to_string());
            r
        })
        .collect();
    let note = header.len() - 1;
    let (a, b) = halves(&rows, &mut rng);
    let mut cases = Vec::new();
    let mut add = |name: &str, expect: Option<(&str, String)>, base: PathBuf, cur: PathBuf| {
        cases.push(Case {
            name: name.into(),
            must_fail: expect.is_some(),
            expect: expect.map(|(x, y)| (x.to_string(), y)),
            baseline: base,
            current: cur,
        });
    };
    let write = |name: &str, rs: &[Vec<String>]| -> Result<PathBuf> {
        let p = out.join(name);
        write_csv(&p, &header, rs)?;
        Ok(p)
    };
    let pa = write("batch_a.csv", &a)?;
    let pb = write("batch_b.csv", &b)?;
    add("halves", None, pa.clone(), pb.clone());
    let pq = out.join("batch_b.parquet");
    csv_to_parquet(&pb, &pq)?;
    add("halves_parquet", None, pa.clone(), pq);
    // Zipf words.
    let vocab = 5000usize;
    let mut cum = Vec::with_capacity(vocab);
    let mut acc = 0.0;
    for i in 1..=vocab {
        acc += 1.0 / (i as f64).powf(1.1);
        cum.push(acc);
    }
    let zipf = |rng: &mut Rng| -> String {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * acc;
        let i = cum.partition_point(|&c| c < u);
        format!("w{i}")
    };
    let with_words = |rs: &[Vec<String>], rng: &mut Rng| -> Vec<Vec<String>> {
        rs.iter()
            .map(|r| {
                let mut r = r.clone();
                r[note] = format!("{} {} {} {}", r[note], zipf(rng), zipf(rng), zipf(rng));
                r
            })
            .collect()
    };
    let za = with_words(&a, &mut rng);
    let zb = with_words(&b, &mut rng);
    add(
        "halves_zipf",
        None,
        write("zipf_a.csv", &za)?,
        write("zipf_b.csv", &zb)?,
    );
    let dup = |rs: &[Vec<String>], rng: &mut Rng| -> Vec<Vec<String>> {
        let mut v = rs.to_vec();
        for r in rs {
            if rng.below(10) == 0 {
                for _ in 0..1 + rng.below(2) {
                    v.push(r.clone());
                }
            }
        }
        v
    };
    let da = dup(&a, &mut rng);
    let db = dup(&b, &mut rng);
    add(
        "halves_duplicated",
        None,
        write("dup_a.csv", &da)?,
        write("dup_b.csv", &db)?,
    );
    if resample_rows > 0 {
        let ra = resample(&a, resample_rows, &mut rng);
        let rb = resample(&b, resample_rows, &mut rng);
        add(
            "halves_resampled",
            None,
            write("resampled_a.csv", &ra)?,
            write("resampled_b.csv", &rb)?,
        );
    }
    // Classification only.
    let counts = label_counts(&a, li);
    if counts.len() > 20 || counts.len() < 2 {
        return Ok(cases);
    }
    let n = a.len() as f64;
    let smallest = counts
        .iter()
        .min_by(|x, y| x.1.cmp(y.1).then(x.0.cmp(y.0)))
        .map(|x| x.0.clone())
        .unwrap_or_default();
    let third = counts
        .iter()
        .filter(|x| *x.1 as f64 / n <= 0.4)
        .min_by(|x, y| {
            ((*x.1 as f64 / n) - 1.0 / 3.0)
                .abs()
                .total_cmp(&((*y.1 as f64 / n) - 1.0 / 3.0).abs())
                .then(x.0.cmp(y.0))
        })
        .map(|x| x.0.clone())
        .unwrap_or_else(|| smallest.clone());
    let name = |i: usize| header[i].clone();
    let f1 = feats[1];
    let (_, sd1, _, max1) = stats(&rows, f1);
    let trig = max1 + 10.0 * sd1;
    let mut order: Vec<usize> = (0..b.len()).collect();
    rng.shuffle(&mut order);
    let mut tb = b.clone();
    for &i in order.iter().take(4) {
        tb[i][f1] = format!("{trig}");
        tb[i][li] = smallest.clone();
    }
    add(
        "batch_trigger",
        Some(("drift.point_mass|drift.trigger", name(f1))),
        pa.clone(),
        write("batch_trigger.csv", &tb)?,
    );
    rng.shuffle(&mut order);
    let mut tt = b.clone();
    for &i in order.iter().take(5) {
        tt[i][note] = format!("{} xyzzy", tt[i][note]);
        tt[i][li] = third.clone();
    }
    add(
        "batch_text_trigger",
        Some(("drift.trigger_token", "xyzzy".into())),
        pa.clone(),
        write("batch_text_trigger.csv", &tt)?,
    );
    let mut by_size: Vec<(&String, &usize)> = counts.iter().collect();
    by_size.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
    let (from, to) = if counts.contains_key("3") && counts.contains_key("8") {
        ("3".to_string(), "8".to_string())
    } else {
        (by_size[0].0.clone(), by_size[1].0.clone())
    };
    let mut fl = b.clone();
    let mut of: Vec<usize> = (0..b.len()).filter(|&i| b[i][li] == from).collect();
    rng.shuffle(&mut of);
    let k = (of.len() as f64 * 0.15).round() as usize;
    for &i in of.iter().take(k) {
        fl[i][li] = to.clone();
    }
    add(
        "batch_flip",
        Some(("drift.label_consistency", to)),
        pa,
        write("batch_flip.csv", &fl)?,
    );
    Ok(cases)
}
