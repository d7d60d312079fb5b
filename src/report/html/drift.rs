//! `drift --html FILE`: the report a data engineer shares. Top: the verdict and the
//! findings (poisoning signals first within a severity), each linked to its column. Then an
//! overview of every column, worst first (worst finding, then drift score), with a small
//! bar of the score. Then one section per column: numeric columns as overlaid baseline /
//! current histograms and CDFs on real axes, the baseline range marked and flagged values
//! (a trigger) drawn on the axis; categorical columns as grouped bars, each category once;
//! `--text` columns as their top tokens per label with the trigger token marked.

use super::svg::{self, Category, Mark};
use super::{anchor, esc};
use crate::drift::columns::ColumnDrift;
use crate::report::{Finding, Report, Severity};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Poisoning signals: listed before plain drift of the same severity.
const POISON: [&str; 8] = [
    "drift.point_mass",
    "drift.label_consistency",
    "drift.trigger",
    "drift.trigger_token",
    "drift.label_flips",
    "drift.duplicates_conflicting",
    "drift.label_conditional",
    "drift.label_shift",
];

/// Categories drawn per chart.
const MAX_CATEGORIES: usize = 12;

fn column_of(f: &Finding) -> Option<&str> {
    f.evidence.get("column").and_then(Value::as_str)
}

fn ev_f64(f: &Finding, k: &str) -> Option<f64> {
    match f.evidence.get(k)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn ev_str<'a>(f: &'a Finding, k: &str) -> Option<&'a str> {
    f.evidence.get(k).and_then(Value::as_str)
}

/// The evidence of a finding in one line of text (what the chart draws, in words).
fn evidence_text(f: &Finding) -> String {
    let label = ev_str(f, "label").unwrap_or("");
    match f.id.as_str() {
        "drift.trigger" | "drift.trigger_token" | "drift.point_mass" => {
            let what = match ev_str(f, "token") {
                Some(t) => format!("token '{t}'"),
                None => format!("value {}", ev_str(f, "value").unwrap_or("?")),
            };
            format!(
                "{what}: {} rows, {} labelled {label} (all rows: {}); z = {}",
                svg::num(ev_f64(f, "rows").unwrap_or(0.0)),
                svg::pct(ev_f64(f, "label_share").unwrap_or(0.0)),
                svg::pct(ev_f64(f, "label_prior").unwrap_or(0.0)),
                svg::num(ev_f64(f, "z").unwrap_or(0.0)),
            )
        }
        _ => {
            let mut parts = Vec::new();
            if let (Some(st), Some(v)) = (ev_str(f, "statistic"), ev_f64(f, "value")) {
                parts.push(format!("{st} = {}", svg::num(v)));
            }
            if let Some(t) = ev_f64(f, "threshold_medium") {
                let hi = ev_f64(f, "threshold_high")
                    .map(|h| format!(", high ≥ {}", svg::num(h)))
                    .unwrap_or_default();
                parts.push(format!("medium ≥ {}{hi}", svg::num(t)));
            }
            if let Some(q) = ev_f64(f, "q_value") {
                parts.push(format!("q = {}", svg::num(q)));
            }
            parts.join("; ")
        }
    }
}

/// Worst finding per column (by its `column` evidence).
fn worst_by_column<'a>(fs: &[&'a Finding]) -> BTreeMap<&'a str, Severity> {
    let mut m: BTreeMap<&str, Severity> = BTreeMap::new();
    for f in fs {
        if let Some(c) = column_of(f) {
            let e = m.entry(c).or_insert(f.severity);
            *e = (*e).max(f.severity);
        }
    }
    m
}

/// Columns worst first: worst finding, then score, then name.
pub fn order<'a>(columns: &'a [ColumnDrift], fs: &[&Finding]) -> Vec<&'a ColumnDrift> {
    let worst = worst_by_column(fs);
    let mut v: Vec<&ColumnDrift> = columns.iter().collect();
    v.sort_by(|a, b| {
        let (wa, wb) = (worst.get(a.column.as_str()), worst.get(b.column.as_str()));
        wb.cmp(&wa)
            .then(b.score.total_cmp(&a.score))
            .then_with(|| a.column.cmp(&b.column))
    });
    v
}

/// Render the whole drift report.
pub fn render(report: &Report, columns: &[ColumnDrift], baseline: &str, current: &str) -> String {
    let mut h = String::new();
    super::open(
        &mut h,
        &format!("mlguard drift: {}", report.verdict().word()),
    );
    h.push_str("<h1>Drift and poisoning report</h1>\n");
    let rows = |k: &str| report.summary.get(k).and_then(Value::as_u64).unwrap_or(0);
    let _ = writeln!(
        h,
        "<p class=\"meta\">Baseline <code>{}</code> ({} rows) — current <code>{}</code> ({} rows); {} columns compared.</p>",
        esc(baseline),
        rows("baseline_rows"),
        esc(current),
        rows("current_rows"),
        columns.len()
    );
    super::headline(&mut h, report);
    h.push_str("<nav class=\"toc\"><a href=\"#findings\">Findings</a><a href=\"#overview\">Columns overview</a><a href=\"#columns\">Column details</a></nav>\n");
    super::skipped(&mut h, report);

    let mut fs = report.sorted_findings();
    fs.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.severity),
            !POISON.contains(&f.id.as_str()),
        )
    });
    let known: BTreeMap<&str, &ColumnDrift> =
        columns.iter().map(|c| (c.column.as_str(), c)).collect();

    // Findings.
    h.push_str("<h2 id=\"findings\">Findings</h2>\n");
    if fs.iter().all(|f| f.severity == Severity::Info) {
        h.push_str("<p>No drift or poisoning finding at low or above.</p>\n");
    }
    h.push_str("<table class=\"findings\"><tr><th>severity</th><th>rule</th><th>column</th><th>finding</th><th>evidence</th></tr>\n");
    for (i, f) in fs.iter().enumerate() {
        let subject = match column_of(f).filter(|c| known.contains_key(c)) {
            Some(c) => format!("<a href=\"#{}\">{}</a>", anchor("col", c), esc(&f.subject)),
            None => esc(&f.subject),
        };
        let _ = writeln!(
            h,
            "<tr id=\"finding-{i}\" class=\"{sev}\"><td>{}</td><td><code>{}</code></td><td>{subject}</td><td>{}</td><td>{}</td></tr>",
            super::sev(f.severity),
            esc(&f.id),
            esc(&f.title),
            esc(&evidence_text(f)),
            sev = f.severity
        );
    }
    h.push_str("</table>\n");

    // Overview.
    let ordered = order(columns, &fs);
    let worst = worst_by_column(&fs);
    let top_score = ordered
        .iter()
        .map(|c| c.score)
        .fold(2.0f64, f64::max)
        .min(10.0);
    let _ = write!(
        h,
        "<h2 id=\"overview\">Columns overview</h2>\n<p class=\"note\">Every column, worst first: by its worst finding, then by drift score — the largest effect size over its <i>medium</i> threshold (the black tick is 1.0 = at the threshold; a finding also needs significance). Columns named only by schema findings are listed first.</p>\n<table class=\"overview\"><tr><th class=\"num\">#</th><th>column</th><th>type</th><th>worst finding</th><th>drift score</th><th>score from</th><th class=\"num\">null rate</th></tr>\n"
    );
    // Columns with findings but no comparison (missing, new, retyped).
    let mut n = 0;
    let mut schema_only: Vec<(&str, Severity)> = worst
        .iter()
        .filter(|(c, _)| !known.contains_key(*c))
        .map(|(c, s)| (*c, *s))
        .collect();
    schema_only.sort_by_key(|x| std::cmp::Reverse(x.1));
    for (c, s) in schema_only {
        n += 1;
        let why = fs
            .iter()
            .find(|f| column_of(f) == Some(c))
            .map(|f| f.id.as_str())
            .unwrap_or("");
        let _ = writeln!(
            h,
            "<tr class=\"ov-row\" data-column=\"{}\"><td class=\"num\">{n}</td><td>{}</td><td>—</td><td>{}</td><td colspan=\"3\"><code>{}</code> (not compared)</td></tr>",
            esc(c),
            esc(c),
            super::sev(s),
            esc(why)
        );
    }
    for c in &ordered {
        n += 1;
        let w = worst
            .get(c.column.as_str())
            .map(|s| super::sev(*s))
            .unwrap_or_else(|| "<span class=\"note\">none</span>".into());
        let color = match worst.get(c.column.as_str()) {
            Some(Severity::Critical | Severity::High) => svg::BAD,
            Some(Severity::Medium) => "#e0a000",
            _ => svg::BASE,
        };
        let _ = writeln!(
            h,
            "<tr class=\"ov-row\" data-column=\"{}\"><td class=\"num\">{n}</td><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{w}</td><td>{} {}</td><td>{}</td><td class=\"num\">{} → {}</td></tr>",
            esc(&c.column),
            anchor("col", &c.column),
            esc(&c.column),
            kind(c),
            svg::mini_bar(c.score, top_score, Some(1.0), color),
            score(c.score),
            esc(&largest(c)),
            esc(&svg::pct(c.baseline.null_rate())),
            esc(&svg::pct(c.current.null_rate())),
        );
    }
    h.push_str("</table>\n");

    // Per column.
    h.push_str("<h2 id=\"columns\">Column details</h2>\n");
    for c in &ordered {
        let mine: Vec<&Finding> = fs
            .iter()
            .copied()
            .filter(|f| column_of(f) == Some(c.column.as_str()))
            .collect();
        column(&mut h, c, &mine, &fs);
    }
    super::close(&mut h, "docs/drift.md");
    h
}

fn score(x: f64) -> String {
    format!("{x:.2}")
}

fn kind(c: &ColumnDrift) -> String {
    if c.text {
        "text".into()
    } else if c.label {
        format!("{} · label", c.logical_type)
    } else {
        c.logical_type.into()
    }
}

/// The statistic behind the score, in words, then the other main ones.
fn largest(c: &ColumnDrift) -> String {
    let st = &c.statistics;
    let null_inc = st.null_rate_current - st.null_rate_baseline;
    let all = [
        ("ks", st.ks),
        ("wasserstein_norm", st.wasserstein_norm),
        ("psi", st.psi),
        ("range_share", st.range_share),
        ("null_rate_increase", Some(null_inc)),
        ("js", st.js),
        ("linf", st.linf),
        ("new_category_share", st.new_category_share),
        ("label_shift", st.linf),
    ];
    let Some(by) = c.score_statistic else {
        return if c.text {
            "tokens (see its section)".into()
        } else {
            "—".into()
        };
    };
    let v = all
        .iter()
        .find(|x| x.0 == by)
        .and_then(|x| x.1)
        .unwrap_or(0.0);
    format!("{by} {}", svg::num(v))
}

fn column(h: &mut String, c: &ColumnDrift, mine: &[&Finding], all: &[&Finding]) {
    let worst = mine.iter().map(|f| f.severity).max();
    let flag = worst.map(|s| format!(" flag-{s}")).unwrap_or_default();
    let _ = writeln!(
        h,
        "<section class=\"col{flag}\" id=\"{}\" data-column=\"{}\"><h3>{} <span class=\"kind\">{} · drift score {}</span></h3>",
        anchor("col", &c.column),
        esc(&c.column),
        esc(&c.column),
        kind(c),
        score(c.score)
    );
    for f in mine {
        let idx = all.iter().position(|x| std::ptr::eq(*x, *f)).unwrap_or(0);
        let _ = writeln!(
            h,
            "<div class=\"evidence\">{} <a href=\"#finding-{idx}\"><code>{}</code></a> {}<br><span class=\"note\">{}</span></div>",
            super::sev(f.severity),
            esc(&f.id),
            esc(&f.title),
            esc(&evidence_text(f))
        );
    }
    if c.text {
        tokens(h, c, mine);
    } else if c.is_numeric() {
        numeric(h, c, mine);
    } else if c.baseline.top.is_some() || c.current.top.is_some() {
        categorical(h, c, mine);
    }
    side_table(h, c);
    h.push_str("</section>\n");
}

fn numeric(h: &mut String, c: &ColumnDrift, mine: &[&Finding]) {
    let range = c.baseline.min.zip(c.baseline.max);
    let marks: Vec<Mark> = mine
        .iter()
        .filter(|f| f.id == "drift.trigger" || f.id == "drift.point_mass")
        .filter_map(|f| {
            let x = ev_f64(f, "value")?;
            // A point mass carries label rows, not a share.
            let share = ev_f64(f, "label_share").unwrap_or_else(|| {
                ev_f64(f, "label_rows").unwrap_or(0.0) / ev_f64(f, "rows").unwrap_or(1.0).max(1.0)
            });
            Some(Mark {
                x,
                label: format!(
                    "trigger {}: {} labelled {}",
                    svg::num(x),
                    svg::pct(share),
                    ev_str(f, "label").unwrap_or("?")
                ),
            })
        })
        .collect();
    h.push_str("<div class=\"charts\">");
    h.push_str(&svg::histogram(
        &c.baseline.percentiles,
        &c.current.percentiles,
        range,
        &marks,
        &format!("{}: histogram, baseline vs current", c.column),
    ));
    h.push_str(&svg::cdf(
        &c.baseline.percentiles,
        &c.current.percentiles,
        range,
        &marks,
        &format!("{}: CDF, baseline vs current", c.column),
    ));
    h.push_str("</div>\n");
    if let (Some((lo, hi)), Some(share)) = (range, c.statistics.range_share) {
        let _ = writeln!(
            h,
            "<p class=\"note\">Dashed lines: the baseline range [{}, {}]; tinted: outside it ({} of current values).</p>",
            esc(&svg::num(lo)),
            esc(&svg::num(hi)),
            esc(&svg::pct(share))
        );
    }
}

fn shares(top: Option<&Vec<(String, u64)>>, rows: u64) -> BTreeMap<&str, f64> {
    let n = rows.max(1) as f64;
    top.into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), *v as f64 / n))
        .collect()
}

fn categorical(h: &mut String, c: &ColumnDrift, mine: &[&Finding]) {
    let nb = c.baseline.count.saturating_sub(c.baseline.nulls);
    let nc = c.current.count.saturating_sub(c.current.nulls);
    let (b, cu) = (
        shares(c.baseline.top.as_ref(), nb),
        shares(c.current.top.as_ref(), nc),
    );
    // Each category once: the union of both sides' top values (a BTreeMap), by the larger
    // of its two shares.
    let mut rows: BTreeMap<String, Category> = BTreeMap::new();
    for k in b.keys().chain(cu.keys()) {
        rows.entry(k.to_string()).or_insert_with(|| Category {
            name: k.to_string(),
            base: b.get(k).copied().unwrap_or(0.0),
            cur: cu.get(k).copied().unwrap_or(0.0),
            flag: None,
        });
    }
    let mut flagged = Vec::new();
    for f in mine {
        match f.id.as_str() {
            "drift.trigger" => {
                if let Some(v) = ev_str(f, "value") {
                    let note = format!(
                        "trigger: {} labelled {}",
                        svg::pct(ev_f64(f, "label_share").unwrap_or(0.0)),
                        ev_str(f, "label").unwrap_or("?")
                    );
                    let cur = ev_f64(f, "rows").unwrap_or(0.0) / nc.max(1) as f64;
                    let e = rows.entry(v.to_string()).or_insert_with(|| Category {
                        name: v.to_string(),
                        base: 0.0,
                        cur,
                        flag: None,
                    });
                    e.flag = Some(note);
                    flagged.push(v.to_string());
                }
            }
            "drift.new_category" => {
                for x in f
                    .evidence
                    .get("values")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(v) = x["value"].as_str() else {
                        continue;
                    };
                    let cur = x["count"].as_f64().unwrap_or(0.0) / nc.max(1) as f64;
                    let e = rows.entry(v.to_string()).or_insert_with(|| Category {
                        name: v.to_string(),
                        base: 0.0,
                        cur,
                        flag: None,
                    });
                    if e.flag.is_none() {
                        e.flag = Some("new: not in the baseline".into());
                    }
                    flagged.push(v.to_string());
                }
            }
            _ => {}
        }
    }
    let mut list: Vec<Category> = rows.into_values().collect();
    list.sort_by(|a, b| {
        (b.flag.is_some())
            .cmp(&a.flag.is_some())
            .then(b.base.max(b.cur).total_cmp(&a.base.max(a.cur)))
            .then_with(|| a.name.cmp(&b.name))
    });
    let total = list.len();
    list.truncate(MAX_CATEGORIES);
    if list.is_empty() {
        return;
    }
    h.push_str("<div class=\"charts\">");
    h.push_str(&svg::categories(
        &list,
        &format!("{}: category shares, baseline vs current", c.column),
    ));
    h.push_str("</div>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">Shares of non-null rows; the {} most frequent of {} categories in either side's top {} are drawn.</p>",
        list.len(),
        total,
        crate::drift::columns::TOP
    );
}

fn tokens(h: &mut String, c: &ColumnDrift, mine: &[&Finding]) {
    let triggers: Vec<(&str, &str, &Finding)> = mine
        .iter()
        .filter(|f| f.id == "drift.trigger_token")
        .filter_map(|f| Some((ev_str(f, "token")?, ev_str(f, "label")?, *f)))
        .collect();
    h.push_str("<p class=\"note\">A <code>--text</code> column: compared by its tokens, not its whole strings. Per label, the current data's most frequent tokens and how common each was in the baseline; a trigger token (rare in the baseline, concentrated in one label) is highlighted.</p>\n");
    // The evidence first: per trigger token, its share of one label against that label's
    // share of all rows.
    if !triggers.is_empty() {
        h.push_str("<table class=\"bars trigger-evidence\"><tr><th>trigger token</th><th>label</th><th>rows with the token in this label</th><th>all rows in this label</th><th class=\"num\">rows</th></tr>\n");
        for (tok, lab, f) in &triggers {
            let share = ev_f64(f, "label_share").unwrap_or(0.0);
            let prior = ev_f64(f, "label_prior").unwrap_or(0.0);
            let _ = writeln!(
                h,
                "<tr><td class=\"trigger\" data-token=\"{t}\">{t}</td><td>{}</td><td>{} {}</td><td>{} {}</td><td class=\"num\">{}</td></tr>",
                esc(lab),
                svg::mini_bar(share, 1.0, None, svg::BAD),
                esc(&svg::pct(share)),
                svg::mini_bar(prior, 1.0, None, svg::BASE),
                esc(&svg::pct(prior)),
                esc(&svg::num(ev_f64(f, "rows").unwrap_or(0.0))),
                t = esc(tok),
            );
        }
        h.push_str("</table>\n");
    }
    if c.tokens.is_empty() {
        h.push_str("<p class=\"note\">No label column: tokens per label need a profile made with --label.</p>\n");
        return;
    }
    h.push_str("<div class=\"grid2\">");
    for lt in &c.tokens {
        let _ = write!(
            h,
            "<table class=\"tokens\" data-label=\"{l}\"><tr><th colspan=\"3\">label {l} <span class=\"note\">({} rows with text)</span></th></tr><tr><th>token</th><th class=\"num\">rows</th><th class=\"num\">baseline share</th></tr>",
            lt.docs,
            l = esc(&lt.label)
        );
        let mut listed: Vec<(String, u64, Option<f64>)> = lt
            .tokens
            .iter()
            .map(|(t, n, s)| (t.clone(), *n, Some(*s)))
            .collect();
        // A trigger token of this label that is not among its top tokens: added.
        for (tok, lab, f) in &triggers {
            if *lab == lt.label && !listed.iter().any(|x| x.0 == *tok) {
                let n = ev_f64(f, "rows").unwrap_or(0.0) * ev_f64(f, "label_share").unwrap_or(0.0);
                listed.push((
                    tok.to_string(),
                    n.round() as u64,
                    ev_f64(f, "baseline_share"),
                ));
            }
        }
        for (t, n, s) in &listed {
            let hit = triggers
                .iter()
                .any(|(tok, lab, _)| tok == t && *lab == lt.label);
            let cls = if hit { " class=\"trigger\"" } else { "" };
            let _ = write!(
                h,
                "<tr{cls}><td>{}</td><td class=\"num\">{n}</td><td class=\"num\">{}</td></tr>",
                esc(t),
                s.map(|s| esc(&svg::pct(s))).unwrap_or_default()
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</div>\n");
}

fn side_table(h: &mut String, c: &ColumnDrift) {
    let (b, cu) = (&c.baseline, &c.current);
    let opt = |v: Option<f64>| v.map(svg::num).unwrap_or_else(|| "—".into());
    let pctl = |p: &[f64], i: usize| p.get(i).map(|x| svg::num(*x)).unwrap_or_else(|| "—".into());
    let mut rows: Vec<(&str, String, String)> = vec![
        ("rows", b.count.to_string(), cu.count.to_string()),
        (
            "null / NaN",
            svg::pct(b.null_rate()),
            svg::pct(cu.null_rate()),
        ),
        (
            "distinct (est.)",
            svg::num(b.distinct),
            svg::num(cu.distinct),
        ),
    ];
    if c.is_numeric() {
        rows.extend([
            ("mean", opt(b.mean), opt(cu.mean)),
            ("std", opt(b.std), opt(cu.std)),
            ("min", opt(b.min), opt(cu.min)),
            (
                "median",
                pctl(&b.percentiles, 50),
                pctl(&cu.percentiles, 50),
            ),
            ("p99", pctl(&b.percentiles, 99), pctl(&cu.percentiles, 99)),
            ("max", opt(b.max), opt(cu.max)),
        ]);
    }
    h.push_str("<div class=\"grid2\"><table class=\"kv\"><tr><th></th><th class=\"num\">baseline</th><th class=\"num\">current</th></tr>");
    for (k, x, y) in rows {
        let _ = write!(
            h,
            "<tr><th>{k}</th><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&x),
            esc(&y)
        );
    }
    h.push_str("</table>");
    let st = &c.statistics;
    let stats = [
        ("KS distance", st.ks),
        ("KS sketch error", st.ks_sketch_error),
        ("KS p", st.ks_p),
        ("KS q (BH)", st.ks_q),
        ("Wasserstein / σ", st.wasserstein_norm),
        ("PSI", st.psi),
        ("outside baseline range", st.range_share),
        ("Jensen-Shannon", st.js),
        ("L∞", st.linf),
        ("χ² p", st.chi2_p),
        ("new-category share", st.new_category_share),
    ];
    if stats.iter().all(|x| x.1.is_none()) {
        h.push_str("</div>\n");
        return;
    }
    h.push_str("<table class=\"kv\"><tr><th>statistic</th><th class=\"num\">value</th></tr>");
    for (k, v) in stats {
        if let Some(v) = v {
            let _ = write!(
                h,
                "<tr><th>{k}</th><td class=\"num\">{}</td></tr>",
                esc(&svg::num(v))
            );
        }
    }
    h.push_str("</table></div>\n");
}
