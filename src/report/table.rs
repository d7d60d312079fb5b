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

/// `verdict: FAIL (3 findings: 1 high, 2 medium; fail-on high)`
pub fn summary_line(report: &Report) -> String {
    use super::Severity;
    let mut counts = Vec::new();
    for s in Severity::ALL.iter().rev() {
        let n = report.findings.iter().filter(|f| f.severity == *s).count();
        if n > 0 {
            counts.push(format!("{n} {s}"));
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
            report.fail_on
        )
    } else {
        format!(
            "verdict: {verdict} ({n} finding{plural}: {}; fail-on {})",
            counts.join(", "),
            report.fail_on
        )
    }
}
