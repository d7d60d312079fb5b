//! `scan --html FILE`: the periodic integrity and audit report a security team sends.
//! Top: the verdict, what was read (files, events per source, the period) and the counts.
//! Then findings by severity (counts drawn, then listed worst first), findings by
//! principal, a timeline of events and findings per hour, each principal's activity on ML
//! assets, and the coverage report (which detections could not run on this input).

use super::svg::{self, Bucket};
use super::{anchor, esc, sev};
use crate::report::{Finding, Report, Severity};
use crate::scan::activity::Activity;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Findings listed in the report (all are counted).
pub const MAX_LISTED: usize = 1000;
/// Principals in "findings by principal".
const MAX_PRINCIPALS: usize = 100;

fn time_of(f: &Finding) -> String {
    crate::scan::views::matching::span(f)
        .0
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn date(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

/// Render the audit report. `inputs` names what was scanned; `activity` is `None` for
/// inference logs (no audit events).
pub fn render(report: &Report, activity: Option<&Activity>, inputs: &str) -> String {
    let mut h = String::new();
    super::open(
        &mut h,
        &format!("mlguard scan: {}", report.verdict().word()),
    );
    h.push_str("<h1>Integrity and audit report</h1>\n");
    let num = |k: &str| report.summary.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut read = format!("{} file(s)", num("files"));
    if let Some(ev) = report.summary.get("events").and_then(Value::as_object) {
        let total: u64 = ev.values().filter_map(Value::as_u64).sum();
        let per: Vec<String> = ev
            .iter()
            .map(|(k, v)| format!("{} {k}", v.as_u64().unwrap_or(0)))
            .collect();
        let _ = write!(read, ", {total} events ({})", per.join(", "));
    }
    if let Some(q) = report.summary.get("queries").and_then(Value::as_u64) {
        let _ = write!(read, ", {q} inference queries");
    }
    let _ = writeln!(
        h,
        "<p class=\"meta\">Scanned <code>{}</code>: {}.</p>",
        esc(inputs),
        esc(&read)
    );
    if let Some(a) = activity {
        let first = a
            .buckets
            .iter()
            .find(|b| b.events > 0 || b.findings > 0)
            .map(|b| b.start);
        let last = a
            .buckets
            .iter()
            .rev()
            .find(|b| b.events > 0 || b.findings > 0)
            .map(|b| b.start + a.bucket_secs);
        let ts = |t: Option<i64>| date(t.and_then(|t| chrono::DateTime::from_timestamp(t, 0)));
        let _ = writeln!(
            h,
            "<p class=\"meta\">Period: {} to {} UTC · {} principals · {} events on ML assets by {} principals.</p>",
            ts(first),
            ts(last),
            a.principals_seen,
            a.asset_events,
            a.asset_principals
        );
    }
    super::headline(&mut h, report);
    h.push_str("<nav class=\"toc\"><a href=\"#by-severity\">Findings by severity</a><a href=\"#by-principal\">Findings by principal</a><a href=\"#timeline\">Timeline</a><a href=\"#assets\">Activity on ML assets</a><a href=\"#coverage\">Coverage</a></nav>\n");
    super::skipped(&mut h, report);
    let fs = report.sorted_findings();
    let listed_principals: Vec<&str> = activity
        .map(|a| a.principals.iter().map(|p| p.principal.as_str()).collect())
        .unwrap_or_default();
    by_severity(&mut h, report, &fs, &listed_principals);
    by_principal(&mut h, &fs, &listed_principals);
    match activity {
        Some(a) => {
            timeline(&mut h, a);
            assets(&mut h, a);
        }
        None => h.push_str("<h2 id=\"timeline\">Timeline</h2>\n<p class=\"note\">Inference logs: no audit events to draw.</p>\n<h2 id=\"assets\">Activity on ML assets</h2>\n<p class=\"note\">Inference logs: see the findings per client above.</p>\n"),
    }
    coverage(&mut h, report);
    super::close(&mut h, "docs/scan.md");
    h
}

fn subject_cell(f: &Finding, listed: &[&str]) -> String {
    if listed.contains(&f.subject.as_str()) {
        format!(
            "<a href=\"#{}\">{}</a>",
            anchor("principal", &f.subject),
            esc(&f.subject)
        )
    } else {
        esc(&f.subject)
    }
}

fn by_severity(h: &mut String, report: &Report, fs: &[&Finding], listed: &[&str]) {
    h.push_str("<h2 id=\"by-severity\">Findings by severity</h2>\n<table class=\"bars sev-counts\"><tr><th>severity</th><th class=\"num\">findings</th><th></th></tr>\n");
    let counts: Vec<(Severity, usize)> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            (
                *s,
                report.findings.iter().filter(|f| f.severity == *s).count(),
            )
        })
        .collect();
    let max = counts.iter().map(|x| x.1).max().unwrap_or(0).max(1) as f64;
    for (s, n) in &counts {
        let color = match s {
            Severity::Critical => "#7f0000",
            Severity::High => svg::BAD,
            Severity::Medium => "#e0a000",
            Severity::Low => "#6b93c9",
            Severity::Info => "#9aa1aa",
        };
        let _ = writeln!(
            h,
            "<tr data-severity=\"{s}\"><td>{}</td><td class=\"num\">{n}</td><td>{}</td></tr>",
            sev(*s),
            svg::mini_bar(*n as f64, max, None, color)
        );
    }
    h.push_str("</table>\n");
    if fs.is_empty() {
        h.push_str("<p>No findings.</p>\n");
        return;
    }
    h.push_str("<table class=\"findings\"><tr><th>severity</th><th>time (UTC)</th><th>subject</th><th>finding <span class=\"note\">(rule, record)</span></th><th>asset</th></tr>\n");
    for (i, f) in fs.iter().enumerate() {
        if i == MAX_LISTED {
            let _ = writeln!(
                h,
                "<tr><td colspan=\"5\">... and {} more (all in --format json)</td></tr>",
                fs.len() - MAX_LISTED
            );
            break;
        }
        let asset = f
            .evidence
            .get("asset_kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        let loc = f
            .location
            .as_ref()
            .map(|l| l.to_string())
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr id=\"finding-{i}\" class=\"{s}\"><td>{}</td><td>{}</td><td class=\"who\">{}</td><td>{}<br><code>{}</code> <span class=\"note wrap\">{}</span></td><td class=\"when\">{}</td></tr>",
            sev(f.severity),
            esc(&time_of(f)),
            subject_cell(f, listed),
            esc(&f.title),
            esc(&f.id),
            esc(&loc),
            esc(asset),
            s = f.severity
        );
    }
    h.push_str("</table>\n");
}

fn by_principal(h: &mut String, fs: &[&Finding], listed: &[&str]) {
    h.push_str("<h2 id=\"by-principal\">Findings by principal</h2>\n");
    let mut by: BTreeMap<&str, ([usize; 5], BTreeMap<&str, usize>)> = BTreeMap::new();
    for f in fs {
        let e = by.entry(f.subject.as_str()).or_default();
        e.0[f.severity as usize] += 1;
        *e.1.entry(f.id.as_str()).or_default() += 1;
    }
    if by.is_empty() {
        h.push_str("<p>No findings.</p>\n");
        return;
    }
    let mut list: Vec<(&str, [usize; 5], BTreeMap<&str, usize>)> =
        by.into_iter().map(|(k, (c, r))| (k, c, r)).collect();
    // Worst first: by the counts from critical down.
    list.sort_by(|a, b| {
        let key = |c: &[usize; 5]| [c[4], c[3], c[2], c[1], c[0]];
        key(&b.1).cmp(&key(&a.1)).then_with(|| a.0.cmp(b.0))
    });
    h.push_str("<table class=\"principals\"><tr><th>subject (principal, model, client)</th>");
    for s in Severity::ALL.iter().rev() {
        let _ = write!(h, "<th class=\"num\">{s}</th>");
    }
    h.push_str("<th>rules</th></tr>\n");
    for (i, (p, c, rules)) in list.iter().enumerate() {
        if i == MAX_PRINCIPALS {
            let _ = writeln!(
                h,
                "<tr><td colspan=\"7\">... and {} more subjects</td></tr>",
                list.len() - MAX_PRINCIPALS
            );
            break;
        }
        let name = if listed.contains(p) {
            format!("<a href=\"#{}\">{}</a>", anchor("principal", p), esc(p))
        } else {
            esc(p)
        };
        let _ = write!(
            h,
            "<tr data-subject=\"{}\"><td class=\"who\">{name}</td>",
            esc(p)
        );
        for s in Severity::ALL.iter().rev() {
            let n = c[*s as usize];
            if n == 0 {
                h.push_str("<td class=\"num note\">·</td>");
            } else {
                let _ = write!(
                    h,
                    "<td class=\"num\"><span class=\"sev sev-{s}\">{n}</span></td>"
                );
            }
        }
        let mut r: Vec<(&&str, &usize)> = rules.iter().collect();
        r.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let names: Vec<String> = r
            .iter()
            .take(4)
            .map(|(k, n)| format!("<code>{}</code> ×{n}", esc(k)))
            .collect();
        let more = if r.len() > 4 {
            format!(" +{} more", r.len() - 4)
        } else {
            String::new()
        };
        let _ = writeln!(h, "<td>{}{more}</td></tr>", names.join(", "));
    }
    h.push_str("</table>\n");
}

fn timeline(h: &mut String, a: &Activity) {
    let unit = match a.bucket_secs {
        3600 => "hour".to_string(),
        86400 => "day".to_string(),
        s if s % 86400 == 0 => format!("{} days", s / 86400),
        s => format!("{} hours", s / 3600),
    };
    let _ = writeln!(
        h,
        "<h2 id=\"timeline\">Timeline: events and findings per {unit}</h2>"
    );
    if a.buckets.is_empty() {
        h.push_str("<p class=\"note\">No event or finding with a time.</p>\n");
        return;
    }
    let buckets: Vec<Bucket> = a
        .buckets
        .iter()
        .map(|b| Bucket {
            start: b.start,
            events: b.events,
            findings: b.findings,
            worst: b.worst,
        })
        .collect();
    h.push_str(&svg::timeline(
        &buckets,
        a.bucket_secs,
        &format!("events and findings per {unit}"),
    ));
    let busiest: Vec<&crate::scan::activity::Bucket> = {
        let mut v: Vec<_> = a.buckets.iter().filter(|b| b.findings > 0).collect();
        v.sort_by(|x, y| y.findings.cmp(&x.findings).then(x.start.cmp(&y.start)));
        v.truncate(5);
        v
    };
    let mut note = format!("{} time buckets of one {unit} (UTC)", a.buckets.len());
    if a.events_without_time > 0 {
        let _ = write!(
            note,
            "; {} events without a time are not drawn",
            a.events_without_time
        );
    }
    let _ = writeln!(h, "<p class=\"note\">{}.</p>", esc(&note));
    if !busiest.is_empty() {
        h.push_str("<table class=\"busiest\"><tr><th>bucket (UTC)</th><th class=\"num\">events</th><th class=\"num\">on ML assets</th><th class=\"num\">failed</th><th class=\"num\">findings</th><th>worst</th></tr>\n");
        for b in busiest {
            let t = chrono::DateTime::from_timestamp(b.start, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr><td>{t}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                b.events,
                b.asset_events,
                b.failed,
                b.findings,
                b.worst.map(sev).unwrap_or_default()
            );
        }
        h.push_str("</table>\n");
    }
}

fn bytes(b: f64) -> String {
    if b <= 0.0 {
        return "—".into();
    }
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{} {}", svg::num((v * 10.0).round() / 10.0), units[i])
}

fn assets(h: &mut String, a: &Activity) {
    h.push_str("<h2 id=\"assets\">Activity on ML assets</h2>\n");
    if a.principals.is_empty() {
        h.push_str("<p class=\"note\">No event touched a resource classified as an ML asset (model artifacts, training data, feature stores, registries: [assets] in mlguard.toml, docs/scan.md).</p>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<p class=\"note\">Principals with events on ML assets, those with findings first, then by events on assets{}.</p>",
        if a.asset_principals > a.principals.len() {
            format!(" ({} of {} listed)", a.principals.len(), a.asset_principals)
        } else {
            String::new()
        }
    );
    let max = a
        .principals
        .iter()
        .map(|p| p.asset_events)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    h.push_str("<table class=\"assets\"><tr><th>principal</th><th>events on ML assets</th><th>by asset kind</th><th>top actions on assets</th><th>first / last seen (UTC)</th><th>findings</th></tr>\n");
    for p in &a.principals {
        let kinds: Vec<String> = p
            .by_kind
            .iter()
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        let acts: Vec<String> = p
            .actions
            .iter()
            .map(|(k, n)| format!("{} ×{n}", esc(k)))
            .collect();
        let fnd = match p.worst {
            Some(w) => format!("{} {}", p.findings, sev(w)),
            None => "<span class=\"note\">none</span>".into(),
        };
        let _ = writeln!(
            h,
            "<tr id=\"{}\" data-principal=\"{}\"><td class=\"who\">{}<br><span class=\"note\">{}</span></td><td><span class=\"when\">{} {}</span><br><span class=\"note\">of {} events; {} failed; {} out; {} resources</span></td><td>{}</td><td>{}</td><td class=\"when\">{}<br>{}</td><td>{fnd}</td></tr>",
            anchor("principal", &p.principal),
            esc(&p.principal),
            esc(&p.principal),
            esc(&format!("{} · {}", p.principal_type, p.source)),
            svg::mini_bar(p.asset_events as f64, max, None, svg::BASE),
            p.asset_events,
            p.events,
            p.failed_on_assets,
            esc(&bytes(p.bytes_out)),
            p.resources,
            esc(&kinds.join(", ")),
            acts.join("<br>"),
            date(p.first),
            date(p.last),
        );
    }
    h.push_str("</table>\n");
}

fn coverage(h: &mut String, report: &Report) {
    h.push_str("<h2 id=\"coverage\">Coverage</h2>\n");
    let cov: Vec<&super::super::Coverage> = report.coverage.iter().flatten().collect();
    if cov.is_empty() {
        h.push_str("<p class=\"note\">No coverage report for this input.</p>\n");
        return;
    }
    let blind = cov.iter().filter(|c| !c.is_active()).count();
    let _ = writeln!(
        h,
        "<p>{} of {} detections could run on this input; {blind} could not, or only in part (what the logs lack is said below). A detection that could not run found nothing because it saw nothing.</p>",
        cov.len() - blind,
        cov.len()
    );
    h.push_str(
        "<table class=\"coverage\"><tr><th>detection</th><th>status</th><th>why</th></tr>\n",
    );
    // Not active first.
    let mut sorted = cov.clone();
    sorted.sort_by_key(|c| c.is_active());
    for c in sorted {
        let st = c.status.as_str();
        let cls = match st {
            "active" => "sev sev-info",
            "partial" => "sev sev-medium",
            _ => "sev sev-high",
        };
        let _ = writeln!(
            h,
            "<tr data-status=\"{}\"><td><code>{}</code></td><td><span class=\"{cls}\">{}</span></td><td>{}</td></tr>",
            esc(st),
            esc(&c.detection),
            esc(st),
            esc(&c.reason)
        );
    }
    h.push_str("</table>\n");
    if let Some(w) = report
        .summary
        .get("warnings")
        .and_then(Value::as_u64)
        .filter(|w| *w > 0)
    {
        let _ = writeln!(
            h,
            "<p class=\"note\">{w} input warning(s): listed under “Not read” above and in --format json.</p>"
        );
    }
}
