//! JUnit XML: one test case per finding (failing when at or above the gate's `fail_on`),
//! or a single passing case when there is nothing to report, so CI dashboards show the gate.

use super::{Report, Verdict};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Escape text for XML attributes and content.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => {
                o.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => o.push(c),
        }
    }
    o
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let findings = report.sorted_findings();
    let failures = findings
        .iter()
        .filter(|f| f.severity >= report.fail_on)
        .count();
    let verdict = report.verdict();
    // An incomplete read is one erroring test case ("gate (incomplete)"), and every input not
    // read is a skipped test case naming it, so a dashboard shows both.
    let errors = usize::from(verdict == Verdict::Incomplete);
    let skipped = report.skipped.len();
    let tests = (findings.len() + skipped + errors).max(1);
    let name = xml_escape(&format!("mlguard {}", report.command));
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="{name}" tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="{name}" tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}">"#
    )?;
    let class = xml_escape(&report.command);
    if verdict == Verdict::Incomplete {
        writeln!(
            out,
            r#"    <testcase classname="mlguard.{class}" name="gate (incomplete)">"#
        )?;
        writeln!(
            out,
            r#"      <error type="incomplete" message="{} input(s) not read: the gate cannot pass"/>"#,
            report.skipped_count()
        )?;
        writeln!(out, "    </testcase>")?;
    }
    for s in &report.skipped {
        let mut case = String::new();
        let _ = write!(
            case,
            r#"    <testcase classname="mlguard.{class}.skipped" name="{}"><skipped message="{}"/></testcase>"#,
            xml_escape(&s.at.to_string()),
            xml_escape(&s.to_string())
        );
        writeln!(out, "{case}")?;
    }
    if findings.is_empty() && skipped == 0 {
        let verdict = if verdict == Verdict::Pass {
            "pass"
        } else {
            "fail"
        };
        writeln!(
            out,
            r#"    <testcase classname="mlguard.{}" name="gate ({verdict})"/>"#,
            xml_escape(&report.command)
        )?;
    }
    for f in findings {
        let case = format!(
            r#"    <testcase classname="{}" name="{}""#,
            xml_escape(&f.id),
            xml_escape(&f.subject)
        );
        if f.severity >= report.fail_on {
            writeln!(out, "{case}>")?;
            let evidence = serde_json::to_string(&f.evidence).unwrap_or_default();
            writeln!(
                out,
                r#"      <failure type="{}" message="{}">{}</failure>"#,
                f.severity,
                xml_escape(&f.title),
                xml_escape(&evidence)
            )?;
            writeln!(out, "    </testcase>")?;
        } else {
            writeln!(out, "{case}>")?;
            writeln!(
                out,
                "      <system-out>{} ({}): {}</system-out>",
                xml_escape(&f.title),
                f.severity,
                xml_escape(&serde_json::to_string(&f.evidence).unwrap_or_default())
            )?;
            writeln!(out, "    </testcase>")?;
        }
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}
