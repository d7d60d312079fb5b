//! Human table: worst first, aligned columns, then one summary line.

use super::Report;
use std::io::{self, Write};

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<[String; 4]> = report
        .sorted_findings()
        .into_iter()
        .map(|f| {
            [
                f.severity.as_str().to_string(),
                f.id.clone(),
                f.subject.clone(),
                f.title.clone(),
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
    writeln!(out, "{}", summary_line(report))
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
            "{subject}  ({} finding{})",
            fs.len(),
            if fs.len() == 1 { "" } else { "s" }
        )?;
        let w = fs.iter().map(|f| f.id.len()).max().unwrap_or(0);
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
                f.id,
                f.title
            )?;
        }
    }
    writeln!(out, "{}", summary_line(report))
}

/// `verdict: FAIL (3 findings: 1 high, 2 medium; fail-on high)`
pub fn summary_line(report: &Report) -> String {
    use super::Severity;
    // Drift speaks info / warn / alert (= info, medium, high).
    let word = |s: Severity| -> &'static str {
        if report.command == "drift" {
            s.drift_word()
        } else {
            s.as_str()
        }
    };
    let mut counts = Vec::new();
    for s in Severity::ALL.iter().rev() {
        let n = report.findings.iter().filter(|f| f.severity == *s).count();
        if n > 0 {
            counts.push(format!("{n} {}", word(*s)));
        }
    }
    let verdict = match report.verdict {
        super::Verdict::Pass => "PASS",
        super::Verdict::Fail => "FAIL",
    };
    let n = report.findings.len();
    let plural = if n == 1 { "" } else { "s" };
    if counts.is_empty() {
        format!(
            "verdict: {verdict} (no findings; fail-on {})",
            word(report.fail_on)
        )
    } else {
        format!(
            "verdict: {verdict} ({n} finding{plural}: {}; fail-on {})",
            counts.join(", "),
            word(report.fail_on)
        )
    }
}
