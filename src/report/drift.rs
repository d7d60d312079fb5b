//! `mlguard drift` as a [`Report`]: the summary counts (every finding by the one severity
//! vocabulary), the baseline/current names and the typed per-column statistics under
//! `columns` (docs/drift.md), and the table that lists findings from medium up.

use super::{table, Format, Output, Report, Severity, Skipped};
use crate::drift::DriftResult;
use crate::error::{IoContext, Result};
use serde_json::{json, Map};

/// What the drift report says about its two sides besides the comparison.
pub struct Sides<'a> {
    /// The baseline profile's path and the current data's paths, as given.
    pub baseline: &'a str,
    pub current: &'a str,
    pub baseline_rows: u64,
    pub current_rows: u64,
}

/// The gate's report for `res` (findings moved out of it; `res.columns` stays for the HTML).
pub fn report(
    res: &mut DriftResult,
    sides: &Sides,
    fail_on: Severity,
    skipped: Vec<Skipped>,
    allow_partial: bool,
) -> Report {
    let mut report = Report::gate("drift", std::mem::take(&mut res.findings), fail_on);
    if !res.coverage.is_empty() {
        report.coverage = Some(res.coverage.clone());
    }
    let mut summary = Map::new();
    summary.insert("baseline_rows".into(), sides.baseline_rows.into());
    summary.insert("current_rows".into(), sides.current_rows.into());
    summary.insert("columns".into(), res.columns.len().into());
    // Every finding, by the one severity vocabulary (the table counts the same ones).
    summary.insert("findings".into(), report.findings.len().into());
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ] {
        let n = report.findings.iter().filter(|f| f.severity == s).count();
        summary.insert(s.as_str().into(), n.into());
    }
    summary.insert(
        "effective_size_ratio".into(),
        json!({"baseline": res.eff.0, "current": res.eff.1}),
    );
    report.summary = summary;
    report.skipped = skipped;
    report.allow_partial = allow_partial;
    report
        .extra
        .insert("baseline".into(), sides.baseline.into());
    report.extra.insert("current".into(), sides.current.into());
    report.extra.insert(
        "columns".into(),
        serde_json::to_value(&res.columns).unwrap_or_default(),
    );
    report
}

/// Write the report as `format`. The table lists findings from medium up (info/low ones are
/// many and minor: JSON and HTML list them), or from `--fail-on` when that is lower, so a
/// failing gate always shows why; its summary line counts every finding, listed or not.
pub fn write(report: &Report, format: Format, out: &mut Output) -> Result<()> {
    if format == Format::Table {
        let shown = report.fail_on.min(Severity::Medium);
        table::write_from(report, shown, out).with_path(out.name())
    } else {
        super::render(report, format, out)
    }
}
