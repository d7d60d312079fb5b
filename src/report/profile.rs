//! `profile show`: a profile as a human summary (one line per column, then the label,
//! text, embedding and row lines).

use super::{table, text};
use crate::profile::Profile;
use std::path::Path;

fn fmt_num(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(v) if v.is_nan() => "-".into(),
        Some(v) if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
    }
}

/// A column's distinct count: exact when its value counts are exact, else the HyperLogLog
/// estimate marked `≈`.
fn distinct_cell(c: &crate::profile::ColumnProfile) -> String {
    match &c.frequent {
        Some(f) if f.exact => f.counts.len().to_string(),
        _ => format!("\u{2248}{:.0}", c.distinct.estimate()),
    }
}

/// The row line of `profile show`: distinct rows and duplicate rows, each saying whether it
/// is exact (every row fingerprint kept) or estimated (sampled fingerprints; HyperLogLog).
pub fn rows_line(r: &crate::profile::RowSection) -> String {
    let (dups, groups, conflicting) = r.duplicate_stats();
    let of = |n: f64| {
        if n.round() == 1.0 {
            "1 row".to_string()
        } else {
            format!("{n:.0} rows")
        }
    };
    let conflicts = if conflicting > 0.0 {
        format!(", {conflicting:.0} of them with conflicting labels")
    } else {
        String::new()
    };
    if r.mode != "sampled" {
        // Every fingerprint is kept: both counts are exact.
        let dup = if dups == 0.0 {
            "duplicate rows: none".to_string()
        } else {
            format!(
                "duplicate rows: {dups:.0} (extra copies of {}{conflicts})",
                of(groups)
            )
        };
        format!(
            "rows: {} distinct of {} (exact); {dup}\n",
            r.entries.len(),
            r.rows
        )
    } else {
        let dup = if dups == 0.0 {
            "duplicate rows: none in the sample".to_string()
        } else {
            format!(
                "duplicate rows \u{2248} {dups:.0} (extra copies of \u{2248}{}{conflicts})",
                of(groups)
            )
        };
        format!(
            "rows: distinct \u{2248} {:.0} of {} (HyperLogLog estimate, \u{b1}{:.1}%); {dup}, estimated from a {}% sample of row fingerprints\n",
            r.distinct.estimate(),
            r.rows,
            r.distinct.std_error() * 100.0,
            fmt_pct(r.sample_rate)
        )
    }
}

fn fmt_pct(rate: f64) -> String {
    // Three decimals at most (1/32 is 3.125%, 1/2048 is 0.049%), no trailing zeros.
    let t = format!("{:.3}", rate * 100.0);
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The `profile show` text of profile `p` read from `path`.
pub fn show(path: &Path, p: &Profile) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "{}: {} rows, {} columns, {} input file(s){}\n",
        text::path(path),
        p.rows,
        p.columns.len(),
        p.inputs.len(),
        if p.skipped.rows > 0 {
            format!(", {} rows skipped", p.skipped.rows)
        } else {
            String::new()
        }
    ));
    let header = [
        "COLUMN",
        "TYPE",
        "NULLS",
        "MEAN",
        "STD",
        "MIN",
        "P50",
        "MAX",
        "DISTINCT",
        "TOP VALUES",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for c in &p.columns {
        let q = c.quantiles.quantiles(&[0.5]);
        let top = c
            .frequent
            .as_ref()
            .filter(|_| {
                c.logical_type != crate::profile::LogicalType::Numeric
                    || c.distinct.estimate() <= 20.0
            })
            .map(|f| {
                f.top(3)
                    .iter()
                    .map(|(v, n)| format!("{}({n})", text::clean(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        rows.push(vec![
            text::clean(&c.name).into_owned(),
            c.logical_type.as_str().into(),
            format!("{:.1}%", c.null_rate() * 100.0),
            fmt_num(c.moments.mean()),
            fmt_num(c.moments.std()),
            fmt_num(c.moments.min),
            fmt_num(q.first().copied()),
            fmt_num(c.moments.max),
            distinct_cell(c),
            top,
        ]);
    }
    let w = table::widths(&rows);
    for r in &rows {
        text.push_str(&table::line(r, &w));
        text.push('\n');
    }
    if let Some(l) = &p.label {
        let total = l.counts.total.max(1) as f64;
        let top: Vec<String> = l
            .counts
            .top(10)
            .iter()
            .map(|(v, n)| {
                format!(
                    "{}: {n} ({:.1}%)",
                    text::clean(v),
                    *n as f64 * 100.0 / total
                )
            })
            .collect();
        text.push_str(&format!(
            "label '{}': {}\n",
            text::clean(&l.column),
            top.join(", ")
        ));
    }
    for t in &p.text {
        let top: Vec<String> = t
            .tokens
            .top(10)
            .iter()
            .map(|(v, n)| format!("{}({n})", text::clean(v)))
            .collect();
        text.push_str(&format!(
            "text '{}': {} docs; top tokens {}\n",
            text::clean(&t.column),
            t.docs,
            top.join(" ")
        ));
    }
    if let Some(e) = &p.embedding {
        text.push_str(&format!(
            "embedding '{}': dim {}, {} rows, median norm {}\n",
            text::clean(&e.column),
            e.dim.map(|d| d.to_string()).unwrap_or("-".into()),
            e.rows,
            fmt_num(e.norms.quantile(0.5))
        ));
    }
    if p.columns
        .iter()
        .any(|c| distinct_cell(c).starts_with('\u{2248}'))
    {
        text.push_str(&format!(
            "DISTINCT \u{2248}N: a HyperLogLog estimate (\u{b1}{:.1}%); a plain N is an exact count\n",
            1.04 / ((1u64 << p.settings.hll_p.min(30)) as f64).sqrt() * 100.0
        ));
    }
    text.push_str(&rows_line(&p.row_fingerprints));
    text
}
