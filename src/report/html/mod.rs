//! The HTML reports (`drift --html FILE`, `scan --html FILE`): one self-contained file
//! each — inline CSS and SVG, no script, no font or image fetched, nothing from the
//! network — meant to be attached to a ticket or mailed. The page shell, the styles, the
//! verdict header and the escaper are shared here; [`drift`] and [`scan`] lay out their
//! report, [`svg`] draws the charts.

pub mod drift;
pub mod scan;
pub mod svg;

use super::{Report, Severity};
use std::fmt::Write;

/// Text for HTML: control characters shown escaped (the one terminal escaper,
/// [`super::text::clean`]), then `&`, `<`, `>`, `"` and `'` as entities, so input can
/// neither break out of an element or attribute nor hide itself.
pub fn esc(s: &str) -> String {
    let s = super::text::clean(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An `id` for a name from input: `prefix-` then the name with every byte outside
/// `[A-Za-z0-9_-]` as `.XX` (hex), so distinct names give distinct, valid ids.
pub fn anchor(prefix: &str, name: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + name.len() + 1);
    s.push_str(prefix);
    s.push('-');
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            s.push(b as char);
        } else {
            let _ = write!(s, ".{b:02X}");
        }
    }
    s
}

const CSS: &str = r#"
:root{--base:#3b6fb6;--cur:#e8710a;--bad:#c62828;--line:#d9dde3;--muted:#5f6670}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2127;background:#f4f5f7}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px;background:#fff;min-height:100vh}
h1{font-size:26px;margin:0 0 6px}
h2{font-size:20px;margin:34px 0 10px;padding-bottom:4px;border-bottom:2px solid #e6e8eb}
h3{font-size:17px;margin:0 0 6px}
a{color:#1c5db5;text-decoration:none} a:hover{text-decoration:underline}
.meta{color:var(--muted);margin:4px 0}
.meta code{color:#1d2127}
.verdict{font-size:20px;font-weight:700;padding:6px 16px;border-radius:6px;display:inline-block;margin-right:12px;letter-spacing:.5px}
.PASS{background:#e3f4e4;color:#1b6b1b} .FAIL{background:#fbe0e0;color:#9b1c1c} .INCOMPLETE{background:#fff1c7;color:#7a5b00}
.headline{font-size:16px;margin:12px 0}
nav.toc{margin:14px 0;padding:8px 12px;background:#f7f8fa;border:1px solid var(--line);border-radius:6px}
nav.toc a{margin-right:16px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:14px;max-width:100%}
td,th{border-bottom:1px solid #e6e8eb;padding:5px 10px;text-align:left;vertical-align:top;overflow-wrap:break-word}
td.wrap,.wrap{overflow-wrap:anywhere}
table.findings,table.assets,table.principals,table.coverage{width:100%}
table.findings td{overflow-wrap:anywhere} table.assets td{overflow-wrap:break-word} td.who{min-width:15em;overflow-wrap:anywhere} td.when,.when{white-space:nowrap;overflow-wrap:normal}
th{background:#f3f4f6;font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:target,section:target{outline:3px solid #ffd54f;outline-offset:2px}
.sev{white-space:nowrap;display:inline-block;min-width:64px;text-align:center;border-radius:4px;padding:0 6px;font-size:13px;font-weight:600}
.sev-critical{background:#7f0000;color:#fff;fill:#7f0000} .sev-high{background:#fbe0e0;color:#9b1c1c;fill:#c62828}
.sev-medium{background:#fff1c7;color:#7a5b00;fill:#e0a000} .sev-low{background:#e8f0fb;color:#24508f;fill:#6b93c9}
.sev-info{background:#eef0f3;color:#5f6670;fill:#9aa1aa}
svg text{font:12px system-ui,sans-serif;fill:#333} svg .tick{font-size:11.5px;fill:#444}
svg .axis{font-size:12px;fill:#333} svg .mark-label{font-size:12px;font-weight:600}
svg text.mark-label{fill:#c62828} svg .cat.flagged .cat-name{font-weight:700;fill:#c62828}
.charts{display:flex;flex-wrap:wrap;gap:14px;margin:8px 0}
.col{border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:16px 0}
.col.flag-critical,.col.flag-high{border-left:6px solid var(--bad)} .col.flag-medium{border-left:6px solid #e0a000}
.col .kind{color:var(--muted);font-weight:400;font-size:14px}
.evidence{margin:6px 0;padding:8px 12px;background:#fff6f6;border-left:4px solid var(--bad);border-radius:4px}
.note{color:var(--muted);font-size:13px}
.trigger{background:#ffe3e3;font-weight:700;color:#9b1c1c}
.bars td{padding:3px 8px}
.kv th{background:none;color:var(--muted);font-weight:500}
.grid2{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:18px}
footer{margin-top:40px;color:var(--muted);font-size:13px}
@media print{body{background:#fff} main{max-width:none} .col{break-inside:avoid}}
"#;

/// `<!DOCTYPE html>` ... `<main>`: the shell every report starts with.
pub fn open(h: &mut String, title: &str) {
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"generator\" content=\"mlguard {}\">\
<title>{}</title><style>{CSS}</style></head><body><main>\n",
        env!("CARGO_PKG_VERSION"),
        esc(title)
    );
}

/// `</main></body></html>` with the footer.
pub fn close(h: &mut String, doc: &str) {
    let _ = write!(
        h,
        "<footer>Generated by mlguard {} — self-contained: no script, nothing loaded from the network. \
Statistics and thresholds: {}.</footer>\n</main></body></html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(doc)
    );
}

/// "3 findings: 1 high, 2 info" (or "no findings"): the same count and words as the
/// table's summary line and the JSON summary — every finding, listed or not.
pub fn counts(report: &Report) -> String {
    let c = report.severity_counts();
    if c.is_empty() {
        return "no findings".into();
    }
    let n = report.findings.len();
    let parts: Vec<String> = c.iter().map(|(s, k)| format!("{k} {s}")).collect();
    format!(
        "{n} finding{}: {}",
        if n == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// The verdict badge, the counts and the gate.
pub fn headline(h: &mut String, report: &Report) {
    let v = report.verdict().word();
    let _ = write!(
        h,
        "<p class=\"headline\"><span class=\"verdict {v}\" id=\"verdict\">{v}</span>{}",
        esc(&counts(report))
    );
    if report.has_fail_on {
        let _ = write!(h, "; fail-on <b>{}</b>", report.fail_on);
    }
    let hidden = report.hidden();
    if hidden > 0 {
        let _ = write!(h, "; {hidden} below {} not listed", report.min_severity);
    }
    h.push_str("</p>\n");
}

/// A severity as a coloured tag (the word itself: one vocabulary).
pub fn sev(s: Severity) -> String {
    format!("<span class=\"sev sev-{s}\">{s}</span>")
}

/// "Not read" (what made the verdict incomplete), when anything was skipped.
pub fn skipped(h: &mut String, report: &Report) {
    if report.skipped.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<h2 id=\"not-read\">Not read ({} entr{})</h2>\n<p class=\"note\">Inputs the gate could not read, whole or in part: {}</p>\n<ul>\n",
        report.skipped.len(),
        if report.skipped.len() == 1 { "y" } else { "ies" },
        if report.allow_partial {
            "reported, not failing the verdict (--allow-partial)."
        } else {
            "the verdict cannot be PASS on them."
        }
    );
    for (i, sk) in report.skipped.iter().enumerate() {
        if i == 200 {
            let _ = writeln!(
                h,
                "<li>... and {} more (all in --format json)</li>",
                report.skipped.len() - 200
            );
            break;
        }
        let _ = writeln!(h, "<li>{}</li>", esc(&sk.to_string()));
    }
    h.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(
            esc("<b a=\"x\">&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;"
        );
        assert_eq!(esc("a\u{1b}[2Jb\r"), "a\\u{1b}[2Jb\\r");
    }

    #[test]
    fn anchors_are_distinct_and_valid() {
        assert_eq!(anchor("col", "mean radius"), "col-mean.20radius");
        assert_ne!(anchor("col", "a b"), anchor("col", "a.20b"));
        assert!(anchor("col", "<x\">")
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    }
}
