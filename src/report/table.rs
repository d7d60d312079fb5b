//! Human table: worst first, aligned columns, then one summary line. Also the one
//! aligned-column layout every human table uses ([`widths`], [`line`]): the findings table,
//! the scan views (`rows.rs`) and `profile show` (`profile.rs`).

use super::text::{clean, Clean};
use super::{Report, Severity};
use std::io::{self, Write};

/// Column widths (in characters) over `rows`, header included: what [`line`] pads to.
pub fn widths<R: AsRef<[String]>>(rows: &[R]) -> Vec<usize> {
    let mut w: Vec<usize> = Vec::new();
    for r in rows {
        for (i, v) in r.as_ref().iter().enumerate() {
            let n = v.chars().count();
            match w.get_mut(i) {
                Some(x) => *x = (*x).max(n),
                None => w.push(n),
            }
        }
    }
    w
}

/// One table line: every cell but the last left-aligned to its column's width `w[i]`, two
/// spaces between cells, trailing spaces trimmed. Cells are already escaped (`text::clean`).
pub fn line(cells: &[String], w: &[usize]) -> String {
    let last = cells.len().saturating_sub(1);
    let mut s = String::new();
    for (i, v) in cells.iter().enumerate() {
        s.push_str(v);
        if i < last {
            let pad = w
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(v.chars().count());
            s.extend(std::iter::repeat_n(' ', pad + 2));
        }
    }
    s.truncate(s.trim_end().len());
    s
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_from(report, Severity::Info, out)
}

/// The table with only the findings at or above `shown` listed (drift leaves its `info`
/// findings to JSON/HTML); the summary line still counts every finding and says how many
/// are not listed, so the table's count equals the other formats'.
pub fn write_from(report: &Report, shown: Severity, out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = report
        .sorted_findings()
        .into_iter()
        .filter(|f| f.severity >= shown)
        .map(|f| {
            vec![
                f.severity.as_str().to_string(),
                clean(&f.id).into_owned(),
                clean(&f.subject).into_owned(),
                clean(&f.title).into_owned(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        let mut all = vec![["SEVERITY", "RULE", "SUBJECT", "TITLE"]
            .map(String::from)
            .to_vec()];
        all.extend(rows);
        let w = widths(&all);
        for r in &all {
            writeln!(out, "{}", line(r, &w))?;
        }
    }
    write_skipped(report, out)?;
    writeln!(out, "{}", summary_line_from(report, shown))
}

/// How many `skipped` entries the table lists before pointing at `--format json`.
const SKIPPED_SHOWN: usize = 20;

/// The inputs that were not read, one per line (the first [`SKIPPED_SHOWN`]), so a table
/// reader sees why the verdict is `INCOMPLETE`.
pub fn write_skipped(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if report.skipped.is_empty() {
        return Ok(());
    }
    writeln!(out, "not read (skipped):")?;
    for s in report.skipped.iter().take(SKIPPED_SHOWN) {
        writeln!(out, "  {s}")?;
    }
    if report.skipped.len() > SKIPPED_SHOWN {
        writeln!(
            out,
            "  ... and {} more (all listed in --format json: skipped)",
            report.skipped.len() - SKIPPED_SHOWN
        )?;
    }
    Ok(())
}

/// `N skipped` (and whether `--allow-partial` let it pass) for a summary line; empty when
/// everything was read.
pub fn skipped_note(report: &Report) -> String {
    if report.skipped.is_empty() {
        return String::new();
    }
    let n = report.skipped_count();
    if report.allow_partial {
        format!("{n} not read, allowed by --allow-partial")
    } else {
        format!("{n} not read")
    }
}

/// Findings grouped by subject (a principal, a client), groups worst first; inside a group
/// worst first. For `scan`, where the question is "who did what".
pub fn write_grouped(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<&str, Vec<&super::Finding>> = BTreeMap::new();
    for f in report.sorted_findings() {
        groups.entry(f.subject.as_str()).or_default().push(f);
    }
    let mut order: Vec<(&str, Vec<&super::Finding>)> = groups.into_iter().collect();
    // Worst severity first, then more findings first, then by name.
    order.sort_by(|a, b| {
        b.1[0]
            .severity
            .cmp(&a.1[0].severity)
            .then(b.1.len().cmp(&a.1.len()))
            .then(a.0.cmp(b.0))
    });
    for (subject, fs) in order {
        writeln!(
            out,
            "{}  ({} finding{})",
            Clean(subject),
            fs.len(),
            if fs.len() == 1 { "" } else { "s" }
        )?;
        let w = fs.iter().map(|f| clean(&f.id).len()).max().unwrap_or(0);
        for f in fs {
            let at = f
                .location
                .as_ref()
                .map(|l| format!("  [{l}]"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {:<8}  {:<w$}  {}{at}",
                f.severity.as_str(),
                clean(&f.id),
                Clean(&f.title)
            )?;
        }
    }
    write_skipped(report, out)?;
    writeln!(out, "{}", summary_line(report))
}

/// After scan's grouped table: the detections that could not run on this input, and how
/// many repeated deliveries were dropped.
pub fn write_coverage(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let blind: Vec<_> = report.blind_spots().collect();
    if !blind.is_empty() {
        writeln!(
            out,
            "coverage (detections that could not run on this input):"
        )?;
        for c in blind {
            writeln!(
                out,
                "  {:<8} {}: {}",
                c.status,
                c.detection,
                Clean(&c.reason)
            )?;
        }
    }
    let dups = report
        .summary
        .get("duplicates_dropped")
        .and_then(serde_json::Value::as_u64);
    if let Some(n) = dups.filter(|n| *n > 0) {
        writeln!(
            out,
            "deduplicated: {n} repeated deliveries of events already read dropped (same eventID and account)"
        )?;
    }
    Ok(())
}

/// `verdict: FAIL (3 findings: 1 high, 2 medium; fail-on high)`
pub fn summary_line(report: &Report) -> String {
    summary_line_from(report, Severity::Info)
}

/// The summary line of a table that lists only findings at or above `shown`:
/// `verdict: FAIL (2 findings: 1 high, 1 info; 1 info not listed (see --format json); fail-on high)`.
pub fn summary_line_from(report: &Report, shown: Severity) -> String {
    let counts: Vec<String> = report
        .severity_counts()
        .into_iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let verdict = report.verdict().word();
    let n = report.findings.len();
    let plural = if n == 1 { "" } else { "s" };
    let mut parts = vec![if counts.is_empty() {
        "no findings".to_string()
    } else {
        format!("{n} finding{plural}: {}", counts.join(", "))
    }];
    // `scan --min-severity`: not listed in any format.
    let hidden = report.hidden();
    if hidden > 0 {
        parts.push(format!(
            "{hidden} below --min-severity {} not listed",
            report.min_severity
        ));
    }
    // Not listed in this table only (drift's info findings): JSON lists them.
    let unlisted: Vec<String> = report
        .severity_counts()
        .into_iter()
        .filter(|(s, _)| *s < shown && *s >= report.min_severity)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    if !unlisted.is_empty() {
        parts.push(format!(
            "{} not listed (see --format json)",
            unlisted.join(", ")
        ));
    }
    let skipped = skipped_note(report);
    if !skipped.is_empty() {
        parts.push(skipped);
    }
    if report.has_fail_on {
        parts.push(format!("fail-on {}", report.fail_on));
    }
    format!("verdict: {verdict} ({})", parts.join("; "))
}
