//! Human table: worst first, aligned columns, then one summary line.

use super::text::{clean, Clean};
use super::{Report, Severity};
use std::io::{self, Write};

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_from(report, Severity::Info, out)
}

/// The table with only the findings at or above `shown` listed (drift leaves its `info`
/// findings to JSON/HTML); the summary line still counts every finding and says how many
/// are not listed, so the table's count equals the other formats'.
pub fn write_from(report: &Report, shown: Severity, out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<[String; 4]> = report
        .sorted_findings()
        .into_iter()
        .filter(|f| f.severity >= shown)
        .map(|f| {
            [
                f.severity.as_str().to_string(),
                clean(&f.id).into_owned(),
                clean(&f.subject).into_owned(),
                clean(&f.title).into_owned(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        let header = ["SEVERITY", "RULE", "SUBJECT", "TITLE"].map(String::from);
        let mut w = [0usize; 3];
        for r in std::iter::once(&header).chain(rows.iter()) {
            for i in 0..3 {
                w[i] = w[i].max(r[i].chars().count());
            }
        }
        for r in std::iter::once(&header).chain(rows.iter()) {
            writeln!(
                out,
                "{:<w0$}  {:<w1$}  {:<w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            )?;
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
