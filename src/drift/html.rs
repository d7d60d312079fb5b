//! The drift report as one self-contained HTML file: inline CSS and SVG, no script, no
//! network. Findings on top (poisoning first), then per column the baseline and current
//! CDFs overlaid, with the statistics.

use crate::report::{Report, Severity};
use serde_json::Value;
use std::fmt::Write;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The CSS class of a severity's row: the severity word itself (one vocabulary).
fn sev_class(s: Severity) -> &'static str {
    s.as_str()
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// CDF overlay of two percentile vectors (101 values: 0 %, 1 %, ..., 100 %).
fn cdf_svg(base: &[f64], cur: &[f64]) -> String {
    let (w, h, pad) = (560.0, 170.0, 30.0);
    let all: Vec<f64> = base
        .iter()
        .chain(cur)
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if all.is_empty() {
        return String::new();
    }
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let line = |v: &[f64]| -> String {
        let n = v.len().max(2) - 1;
        v.iter()
            .enumerate()
            .map(|(i, x)| {
                let px = pad + (x - lo) / span * (w - 2.0 * pad);
                let py = h - pad - (i as f64 / n as f64) * (h - 2.0 * pad);
                format!("{px:.1},{py:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">
<rect x="{pad}" y="{pad}" width="{iw}" height="{ih}" fill="#fafafa" stroke="#ccc"/>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{b}"/>
<polyline fill="none" stroke="#ff7f0e" stroke-width="2" stroke-dasharray="5,3" points="{c}"/>
<text x="{pad}" y="{ty}" font-size="11">{lo}</text><text x="{rx}" y="{ty}" font-size="11" text-anchor="end">{hi}</text>
<text x="{pad}" y="18" font-size="11" fill="#1f77b4">— baseline</text><text x="120" y="18" font-size="11" fill="#ff7f0e">- - current</text>
<text x="8" y="{my}" font-size="11" transform="rotate(-90 8 {my})">CDF</text>
</svg>"##,
        iw = w - 2.0 * pad,
        ih = h - 2.0 * pad,
        b = line(base),
        c = line(cur),
        ty = h - 10.0,
        rx = w - pad,
        my = h / 2.0,
        lo = esc(&format!("{lo:.4}")),
        hi = esc(&format!("{hi:.4}")),
    )
}

fn bars_svg(base: &Value, cur: &Value) -> String {
    // Top categories side by side.
    let get = |v: &Value| -> Vec<(String, f64)> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| Some((x.get(0)?.as_str()?.to_string(), x.get(1)?.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (b, c) = (get(base), get(cur));
    let tb: f64 = b.iter().map(|x| x.1).sum::<f64>().max(1.0);
    let tc: f64 = c.iter().map(|x| x.1).sum::<f64>().max(1.0);
    let mut keys: Vec<String> = b.iter().chain(&c).map(|x| x.0.clone()).collect();
    keys.dedup();
    keys.truncate(10);
    let row_h = 16.0;
    let h = 24.0 + keys.len() as f64 * row_h;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="560" height="{h}" role="img">"##
    );
    for (i, k) in keys.iter().enumerate() {
        let y = 20.0 + i as f64 * row_h;
        let pb = b
            .iter()
            .find(|x| &x.0 == k)
            .map(|x| x.1 / tb)
            .unwrap_or(0.0);
        let pc = c
            .iter()
            .find(|x| &x.0 == k)
            .map(|x| x.1 / tc)
            .unwrap_or(0.0);
        let _ = write!(
            s,
            r##"<text x="0" y="{ty}" font-size="11">{k}</text><rect x="160" y="{y}" width="{wb:.1}" height="6" fill="#1f77b4"/><rect x="160" y="{y2}" width="{wc:.1}" height="6" fill="#ff7f0e"/>"##,
            ty = y + 10.0,
            k = esc(&k.chars().take(24).collect::<String>()),
            wb = pb * 380.0,
            wc = pc * 380.0,
            y2 = y + 7.0
        );
    }
    s.push_str("</svg>");
    s
}

/// Render the whole report.
pub fn render(report: &Report, columns: &[Value], baseline: &str, current: &str) -> String {
    let mut h = String::new();
    let verdict = report.verdict().word();
    // The same counts as the table's summary line and the JSON summary: every finding.
    let counts = match report.severity_counts() {
        c if c.is_empty() => "no findings".to_string(),
        c => {
            let n = report.findings.len();
            let parts: Vec<String> = c.iter().map(|(s, k)| format!("{k} {s}")).collect();
            format!(
                "{n} finding{}: {}",
                if n == 1 { "" } else { "s" },
                parts.join(", ")
            )
        }
    };
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mlguard drift: {verdict}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}}
.verdict{{font-size:22px;font-weight:bold;padding:10px 14px;border-radius:6px;display:inline-block}}
.PASS{{background:#e3f6e3;color:#1b6b1b}} .FAIL{{background:#fde2e2;color:#9b1c1c}} .INCOMPLETE{{background:#fff3cd;color:#7a5b00}}
table{{border-collapse:collapse;margin:8px 0}} td,th{{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}}
th{{background:#f3f3f3}} .critical,.high{{background:#fde2e2}} .medium{{background:#fff4d6}} .low,.info{{color:#555}}
section{{border-top:1px solid #ddd;margin-top:18px;padding-top:8px}} code{{font-size:12px}}
</style></head><body>
<h1>mlguard drift report</h1>
<p><span class="verdict {verdict}">{verdict}</span> &nbsp; {counts}; fail-on <b>{fail_on}</b></p>
<p>Baseline: <code>{baseline}</code><br>Current: <code>{current}</code></p>
"#,
        fail_on = report.fail_on,
        counts = esc(&counts),
        baseline = esc(baseline),
        current = esc(current),
    );
    if !report.skipped.is_empty() {
        h.push_str("<h2>Not read</h2>\n<ul>\n");
        for sk in &report.skipped {
            let _ = writeln!(h, "<li>{}</li>", esc(&sk.to_string()));
        }
        h.push_str("</ul>\n");
    }
    let mut fs = report.sorted_findings();
    // Poisoning signals first within a severity.
    fs.sort_by_key(|f| {
        let poison = [
            "drift.trigger",
            "drift.trigger_token",
            "drift.label_flips",
            "drift.duplicates_conflicting",
            "drift.label_conditional",
            "drift.label_shift",
        ]
        .contains(&f.id.as_str());
        (std::cmp::Reverse(f.severity), !poison)
    });
    h.push_str("<h2>Findings</h2>\n");
    if fs.iter().all(|f| f.severity == Severity::Info) {
        h.push_str("<p>No drift or poisoning finding at medium or above.</p>\n");
    }
    h.push_str("<table><tr><th>severity</th><th>rule</th><th>subject</th><th>finding</th><th>value</th></tr>\n");
    for f in &fs {
        let val = f
            .evidence
            .get("value")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let sev = sev_class(f.severity);
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{sev}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            sev_class(f.severity),
            esc(&f.id),
            esc(&f.subject),
            esc(&f.title),
            esc(&val)
        );
    }
    h.push_str("</table>\n<h2>Columns</h2>\n");
    for c in columns {
        let name = c["column"].as_str().unwrap_or("");
        let worst = fs
            .iter()
            .filter(|f| f.evidence.get("column").and_then(Value::as_str) == Some(name))
            .map(|f| f.severity)
            .max();
        let cls = worst.map(sev_class).unwrap_or("");
        let _ = writeln!(
            h,
            "<section id=\"col-{}\"><h3 class=\"{cls}\">{} <small>({})</small></h3>",
            esc(name),
            esc(name),
            esc(c["type"].as_str().unwrap_or(""))
        );
        let (pb, pc) = (
            nums(&c["baseline"]["percentiles"]),
            nums(&c["current"]["percentiles"]),
        );
        if !pb.is_empty() && !pc.is_empty() {
            h.push_str(&cdf_svg(&pb, &pc));
        } else if c["baseline"]["top"].is_array() {
            h.push_str(&bars_svg(&c["baseline"]["top"], &c["current"]["top"]));
        }
        h.push_str("<table><tr><th></th><th>baseline</th><th>current</th></tr>");
        let show = |v: &Value| match v.as_f64() {
            Some(x) if v.is_f64() => format!("{x:.6}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
            _ => v.to_string(),
        };
        for k in ["count", "mean", "std", "min", "max"] {
            let _ = write!(
                h,
                "<tr><th>{k}</th><td>{}</td><td>{}</td></tr>",
                esc(&show(&c["baseline"][k])),
                esc(&show(&c["current"][k]))
            );
        }
        h.push_str("</table><table><tr>");
        if let Some(st) = c["statistics"].as_object() {
            for k in st.keys() {
                let _ = write!(h, "<th>{}</th>", esc(k));
            }
            h.push_str("</tr><tr>");
            for v in st.values() {
                let t = match v.as_f64() {
                    Some(x) if x != 0.0 && x.abs() < 1e-3 => format!("{x:.2e}"),
                    Some(x) => format!("{x:.4}"),
                    None => v.to_string(),
                };
                let _ = write!(h, "<td>{}</td>", esc(&t));
            }
        }
        h.push_str("</tr></table></section>\n");
    }
    h.push_str("<p class=\"info\">Generated by mlguard. Statistics and thresholds: docs/drift.md.</p>\n</body></html>\n");
    h
}
