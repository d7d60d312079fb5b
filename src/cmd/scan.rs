//! `mlguard scan`: offline forensics over exported cloud audit logs, MLflow registry exports
//! and inference request logs.

use crate::cli::{Global, Partial};
use crate::error::IoContext;
use crate::input::logs::registry;
use crate::report::{self, Format, Input, Output, Report, Severity, SkipKind, Skipped};
use crate::scan;
use crate::scan::views::{self, View};
use crate::{Error, Outcome, Result};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Inputs (auto-detected per record; --source overrides):
  CloudTrail   {\"Records\": [...]} files (also .json.gz), JSON arrays, single events, JSON Lines,
               and AWSLogs/<account>/CloudTrail/<region>/yyyy/mm/dd/ trees
  GCP          Cloud Audit Log entries (protoPayload), as JSON, arrays or JSON Lines
  Azure        activity logs ({\"records\": [...]} or {\"value\": [...]}) and Storage logs (GetBlob)
  MLflow       registry REST responses and mlflow-export-import models/<name>/model.json
  inference    request logs (CSV, JSONL, Parquet): only with --source inference

Examples:
  mlguard scan exports/AWSLogs --baseline-days 7
  mlguard scan exports/ --rules sigma/rules/cloud --format sarif -o scan.sarif
  mlguard scan mlflow-export/ --config mlguard.toml          ([scan] approvers = [...])
  mlguard scan --source inference requests.jsonl --sample-rate 0.1
  mlguard scan s3://trail-bucket/AWSLogs/ --since 2026-03-01 --until 2026-03-31
                                     (lists only the yyyy/mm/dd prefixes of March)

Unreadable or malformed files and records, and Sigma rules that cannot be loaded, are
listed as \"not read\" (JSON: skipped); the scan goes on, but cannot pass: the verdict is
INCOMPLETE (exit 2) unless a finding fails it, or --allow-partial (forensic work on damaged
exports) lets it pass. What the input could not show (no S3 data events, no baseline...) is
printed as coverage.
Exit codes: 0 no finding at or above --fail-on and everything read, 1 findings at or above
it, 2 usage or input error, or an incomplete read (including: no event or query could be
read at all). See docs/scan.md.")]
pub struct Args {
    /// Log files or directories (walked recursively; .json, .json.gz, .jsonl, .ndjson, .log).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Input kind: a log source of the registry, or `inference` [default: auto-detect per
    /// record].
    #[arg(long, value_name = "SOURCE", value_parser = source_names())]
    pub source: Option<String>,
    /// Directory of Sigma rules (YAML) to run on every audit record.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Learn behaviour from the first N days of the input before alerting on new principals,
    /// IPs, user agents and bulk downloads [default: [scan] baseline_days, else 0 = none].
    #[arg(long, value_name = "N")]
    pub baseline_days: Option<f64>,
    /// A baseline saved by an earlier scan (--save-baseline) to compare against.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Save the behavioural baseline at the end of this scan.
    #[arg(long, value_name = "FILE")]
    pub save_baseline: Option<PathBuf>,
    /// Fail (exit 1) on findings at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub fail_on: Severity,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = crate::cli::formats(FORMATS))]
    pub format: Format,
    /// Write results to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the audit report as one self-contained HTML file (inline SVG and CSS, no
    /// script, no network): verdict, findings by severity and by principal, a timeline of
    /// events and findings per hour, activity on ML assets, coverage.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["view", "search"])]
    pub html: Option<PathBuf>,
    /// Only events at or after this time (RFC 3339, or a date YYYY-MM-DD = its midnight
    /// UTC). Date directories/prefixes (YYYY/MM/DD, y=/m=/d=) before it are not listed.
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events at or before this time (RFC 3339, or a date YYYY-MM-DD = through its
    /// end). Date directories/prefixes more than a day after it are not listed.
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// MaxMind-format database (GeoLite2/GeoIP2 Country, City or ASN .mmdb; repeatable):
    /// findings get the country and AS of their source IP. Offline.
    #[arg(long, value_name = "FILE")]
    pub geoip: Vec<PathBuf>,
    /// Inference logs only: process a deterministic per-client sample (0 < R <= 1).
    #[arg(long, value_name = "R")]
    pub sample_rate: Option<f64>,
    /// Show a view instead of the findings report: timeline (findings in time order),
    /// summary (results summary), principals (per-principal activity), actions (event-name
    /// frequencies), search (needs --search). Formats: table, csv, json, jsonl.
    #[arg(long, value_name = "VIEW", value_parser = view_names())]
    pub view: Option<String>,
    /// --view timeline: list the events behind each finding, with their record references.
    #[arg(long)]
    pub events: bool,
    /// --view timeline / search: include each listed event's raw record (read again from
    /// its file).
    #[arg(long)]
    pub raw: bool,
    /// Events whose normalised fields (principal, action, resource, IP, user agent, ...)
    /// match REGEX, with their record references (implies --view search).
    #[arg(long, value_name = "REGEX")]
    pub search: Option<String>,
    /// List only findings at or above this severity (findings report, timeline, summary);
    /// the verdict and the counts still include every finding, and the output says how many
    /// were not listed.
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<Severity>,
    /// Views: show times in this UTC offset (+09:00, -05:30, UTC) in table and CSV, and
    /// count the summary's dates in it. JSON and JSONL times stay UTC.
    #[arg(long, value_name = "OFFSET", value_parser = parse_offset, allow_hyphen_values = true)]
    pub utc_offset: Option<chrono::FixedOffset>,
    #[command(flatten)]
    pub partial: Partial,
}

fn parse_time(
    s: &str,
    end_of_day: bool,
) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    let t = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&chrono::Utc)
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = d.and_time(chrono::NaiveTime::MIN).and_utc();
        if end_of_day {
            t + chrono::Duration::days(1) - chrono::Duration::nanoseconds(1)
        } else {
            t
        }
    } else {
        return Err(format!(
            "'{s}' is not a time (RFC 3339 like 2026-03-01T00:00:00Z, or a date like 2026-03-01)"
        ));
    };
    crate::limits::time(t).ok_or_else(|| format!("'{s}' is outside 1970..9999"))
}

fn parse_offset(s: &str) -> std::result::Result<chrono::FixedOffset, String> {
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Ok(chrono::FixedOffset::east_opt(0).expect("0 is a valid offset"));
    }
    s.parse::<chrono::FixedOffset>()
        .map_err(|_| format!("'{s}' is not a UTC offset (expected +HH:MM or -HH:MM, or UTC)"))
}

fn view_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(View::ALL.map(View::name))
}

fn parse_since(s: &str) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    parse_time(s, false)
}

fn parse_until(s: &str) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    parse_time(s, true)
}

/// `--source` values: every registered log source, plus `inference` (its own pipeline).
fn source_names() -> clap::builder::PossibleValuesParser {
    let mut v = registry::names();
    v.push(INFERENCE);
    clap::builder::PossibleValuesParser::new(v)
}

const INFERENCE: &str = "inference";

/// scan renders every report format.
const FORMATS: &[Format] = &Format::ALL;

/// What `--view` and its flags asked for, checked: flags that do not apply are usage
/// errors, never ignored.
fn view_of(args: &Args, is_inference: bool) -> Result<Option<View>> {
    let view = match (args.view.as_deref().and_then(View::from_name), &args.search) {
        (None, Some(_)) => Some(View::Search),
        (Some(View::Search), None) => {
            return Err(Error::usage("--view search needs --search REGEX"))
        }
        (Some(v), Some(_)) if v != View::Search => {
            return Err(Error::usage(format!(
                "--search is its own view; it does not combine with --view {}",
                v.name()
            )))
        }
        (v, _) => v,
    };
    if is_inference {
        let given = [
            ("--rules", args.rules.is_some()),
            ("--baseline-days", args.baseline_days.is_some()),
            ("--baseline", args.baseline.is_some()),
            ("--save-baseline", args.save_baseline.is_some()),
            ("--view", args.view.is_some()),
            ("--search", args.search.is_some()),
            ("--events", args.events),
            ("--raw", args.raw),
            ("--utc-offset", args.utc_offset.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
            return Err(Error::usage(format!(
                "{flag} applies to audit logs, not --source inference"
            )));
        }
    }
    let name = view.map(View::name).unwrap_or("(findings report)");
    if args.events && view != Some(View::Timeline) {
        return Err(Error::usage("--events applies to --view timeline"));
    }
    if args.raw && !matches!(view, Some(View::Timeline | View::Search)) {
        return Err(Error::usage(
            "--raw applies to --view timeline and --search",
        ));
    }
    if args.min_severity.is_some() && !matches!(view, None | Some(View::Timeline | View::Summary)) {
        return Err(Error::usage(format!(
            "--min-severity applies to the findings report, --view timeline and --view summary, not --view {name}"
        )));
    }
    if args.utc_offset.is_some() && view.is_none() {
        return Err(Error::usage(
            "--utc-offset applies to the views (--view ...); the findings report shows no times",
        ));
    }
    match (view, args.format) {
        (None, Format::Csv) => Err(Error::usage(
            "--format csv is for the views (--view timeline|summary|principals|actions, --search)",
        )),
        (Some(v), Format::Sarif | Format::Junit | Format::Ocsf) => Err(Error::usage(format!(
            "--view {} supports --format table, csv, json, jsonl ({} is for the findings report)",
            v.name(),
            args.format.name()
        ))),
        _ => Ok(view),
    }
}

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let format = args.format.check("scan", FORMATS)?;
    // `--save-baseline` may replace `--baseline` (it is read first, and the new baseline
    // extends it); nothing else may overwrite an input.
    let mut inputs = g.config_input();
    inputs.extend(args.paths.iter().map(|p| Input::Tree(p)));
    inputs.extend(args.rules.iter().map(|p| Input::Tree(p)));
    inputs.extend(args.geoip.iter().map(|p| Input::File(p)));
    let outputs = [
        ("-o", args.output.as_deref()),
        ("--html", args.html.as_deref()),
        ("--save-baseline", args.save_baseline.as_deref()),
    ];
    report::check_outputs(&outputs, &inputs)?;
    let baseline: Vec<Input> = args.baseline.iter().map(|p| Input::File(p)).collect();
    report::check_outputs(&outputs[..2], &baseline)?;
    let config = g.load_config()?;
    let is_inference = args.source.as_deref() == Some(INFERENCE);
    if let (Some(a), Some(b)) = (args.since, args.until) {
        if a > b {
            return Err(Error::usage("--since is after --until"));
        }
    }
    if is_inference && (args.since.is_some() || args.until.is_some()) {
        return Err(Error::usage(
            "--since/--until apply to audit logs, not --source inference",
        ));
    }
    if is_inference && !args.geoip.is_empty() {
        return Err(Error::usage(
            "--geoip applies to audit logs, not --source inference",
        ));
    }
    if args.sample_rate.is_some() && !is_inference {
        return Err(Error::usage(
            "--sample-rate applies to --source inference only",
        ));
    }
    let view = view_of(&args, is_inference)?;
    let search = args
        .search
        .as_deref()
        .map(views::search::compile)
        .transpose()?;
    let Audit {
        mut report,
        events,
        geo,
        activity,
    } = if is_inference {
        Audit {
            report: inference(&args, &config, g)?,
            events: Vec::new(),
            geo: None,
            activity: None,
        }
    } else {
        audit(&args, &config, g, view.is_some())?
    };
    report.allow_partial = args.partial.allow_partial;
    report.min_severity = args.min_severity.unwrap_or(Severity::Info);
    if args.min_severity.is_some() {
        report
            .summary
            .insert("min_severity".into(), report.min_severity.as_str().into());
        report
            .summary
            .insert("hidden".into(), report.hidden().into());
    }
    if let Some(h) = &args.html {
        let inputs = args
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let html = report::html::scan::render(&report, activity.as_ref(), &inputs);
        std::fs::write(h, html).with_path(h)?;
        g.note(format!("HTML report: {}", h.display()));
    }
    let mut out = Output::open(args.output.as_deref())?;
    if let Some(v) = view {
        let off = args
            .utc_offset
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("0 is a valid offset"));
        let opts = views::Options {
            min_severity: report.min_severity,
            events: args.events,
            raw: args.raw,
            search,
            offset: off,
            source: args.source.as_deref().and_then(registry::by_name),
            geo: geo.as_ref(),
        };
        let built = views::build(v, &report.findings, &events, &opts);
        drop(events);
        let name = out.name();
        match report::views::write(v, &built, &report, format, off, &mut out) {
            // `... | head`: the reader has what it wanted.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(report.outcome()),
            r => r.with_path(&name)?,
        }
        if matches!(format, Format::Table) {
            if v == View::Summary {
                report::table::write_coverage(&report, &mut out).with_path(&name)?;
            }
        } else {
            if let views::Built::Rows(r) = &built {
                if !matches!(format, Format::Json) {
                    for n in &r.notes {
                        g.note(n);
                    }
                }
            }
            if report.hidden() > 0 && !matches!(format, Format::Json) {
                g.note(format!(
                    "{} finding(s) below --min-severity {} not listed",
                    report.hidden(),
                    report.min_severity
                ));
            }
        }
        out.finish()?;
        return Ok(report.outcome());
    }
    match format {
        Format::Table => {
            let name = out.name();
            report::table::write_grouped(&report, &mut out).with_path(&name)?;
            report::table::write_coverage(&report, &mut out).with_path(&name)?;
        }
        f => {
            report::render(&report, f, &mut out)?;
            if report.hidden() > 0 && !matches!(f, Format::Json) {
                g.note(format!(
                    "{} finding(s) below --min-severity {} not listed",
                    report.hidden(),
                    report.min_severity
                ));
            }
            if !matches!(f, Format::Json) {
                // Coverage is part of the JSON document; for the other formats it goes to
                // stderr so it is still never silent.
                for n in report.coverage_notes() {
                    g.note(n);
                }
            }
        }
    }
    out.finish()?;
    Ok(report.outcome())
}

fn input_warning(w: &crate::input::logs::Warning) -> report::InputWarning {
    report::InputWarning {
        file: w.at.file.display().to_string(),
        line: w.at.line,
        record: w.at.index,
        message: w.message.clone(),
    }
}

/// What [`audit`] hands back: the report, the events it read (views), the GeoIP databases
/// (views) and the activity counts (`--html`).
struct Audit {
    report: Report,
    events: Vec<crate::input::logs::Event>,
    geo: Option<scan::geoip::GeoIp>,
    activity: Option<scan::activity::Activity>,
}

/// The audit-log scan as a report, and (for the views) the events it read.
fn audit(
    args: &Args,
    config: &crate::config::Config,
    g: &Global,
    keep_events: bool,
) -> Result<Audit> {
    // Bytes of the local log files read, moving inside one large file.
    let pb = crate::progress::bytes(0, g.quiet);
    let opts = scan::Options {
        source: args.source.as_deref().and_then(registry::by_name),
        rules: args.rules.clone(),
        baseline_days: args.baseline_days,
        baseline: args.baseline.clone(),
        dates: crate::input::logs::DateRange {
            since: args.since,
            until: args.until,
        },
        geoip: args.geoip.clone(),
        keep_events,
        activity: args.html.is_some(),
        progress: Some(pb.clone()),
    };
    let mut out = scan::scan(&args.paths, config, &opts)?;
    let events = std::mem::take(&mut out.kept);
    let geo = out.geo.take();
    let activity = out.activity.take();
    pb.finish_and_clear();
    const SHOWN: usize = 20;
    for w in out.warnings.iter().take(SHOWN) {
        g.note(format!("warning: {w}"));
    }
    if out.warnings.len() > SHOWN {
        g.note(format!(
            "warning: ... and {} more (all listed in --format json)",
            out.warnings.len() - SHOWN
        ));
    }
    if let Some(sg) = &out.sigma {
        sigma_notes(sg, g);
    }
    for (link, target) in &out.via_symlink {
        g.note(format!(
            "read through a symlink: {} -> {}",
            crate::inspect::clean(&link.display().to_string()),
            crate::inspect::clean(&target.display().to_string())
        ));
    }
    if !out.ignored.is_empty() {
        g.note(format!(
            "{} file(s) not used (listed with reasons in --format json: ignored_files)",
            out.ignored.len()
        ));
    }
    if !out.pruned.is_empty() {
        g.note(format!(
            "{} date director(ies)/prefix(es) outside --since/--until not listed (in --format json: pruned_by_date)",
            out.pruned.len()
        ));
    }
    if out.outside_range > 0 {
        g.note(format!(
            "{} event(s) outside --since/--until left out",
            out.outside_range
        ));
    }
    let total: usize = out.events.values().sum();
    if total == 0 && out.warnings.is_empty() && (out.outside_range > 0 || !out.pruned.is_empty()) {
        return Err(Error::usage(format!(
            "no audit event between --since and --until in {} ({} file(s) read, {} event(s) outside the range, {} date prefix(es) not listed)",
            args.paths
                .iter()
                .map(|p| crate::inspect::clean(&p.display().to_string()))
                .collect::<Vec<_>>()
                .join(", "),
            out.files,
            out.outside_range,
            out.pruned.len()
        )));
    }
    if total == 0 {
        return Err(match out.warnings.first() {
            Some(w) => Error::input(
                &w.at.file,
                format!(
                    "no audit event could be read from {} file(s) ({} warning(s)); first: {}{}",
                    out.files,
                    out.warnings.len(),
                    w.message,
                    crate::scan::hint::inference(&w.at.file)
                ),
            ),
            None => Error::usage(format!(
                "no log files found in {} (looked for .json, .json.gz, .jsonl, .ndjson, .log)",
                args.paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        });
    }
    if let Some(p) = &args.save_baseline {
        let bytes = serde_json::to_vec_pretty(&out.baseline).unwrap_or_default();
        std::fs::write(p, bytes).with_path(p)?;
        g.note(format!("baseline saved to {}", p.display()));
    }
    let mut report = Report::gate("scan", out.findings, args.fail_on);
    let mut summary = Map::new();
    summary.insert("files".into(), out.files.into());
    summary.insert(
        "events".into(),
        Value::Object(
            out.events
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        ),
    );
    summary.insert("warnings".into(), out.warnings.len().into());
    if args.since.is_some() || args.until.is_some() {
        summary.insert("outside_time_range".into(), out.outside_range.into());
        summary.insert("pruned_by_date".into(), out.pruned.len().into());
    }
    summary.insert("repaired".into(), out.repaired.len().into());
    summary.insert("duplicates_dropped".into(), out.duplicates.into());
    if out.duplicates > 0 {
        g.note(format!(
            "{} repeated deliveries of events already read dropped (same eventID and account; summary.duplicates_dropped)",
            out.duplicates
        ));
    }
    summary.insert("findings".into(), report.findings.len().into());
    report.summary = summary;
    report.coverage = Some(out.coverage.clone());
    report.warnings = Some(out.warnings.iter().map(input_warning).collect());
    if !out.repaired.is_empty() {
        g.note(format!(
            "{} record(s) read after replacing invalid UTF-8 (listed in --format json: repaired)",
            out.repaired.len()
        ));
        report.repaired = Some(out.repaired.iter().map(input_warning).collect());
    }
    // Every input warning is data the scan did not examine (a file that could not be read,
    // a record that could not be parsed), and every Sigma rule that could not be loaded a
    // detection that did not run: the verdict cannot be `pass` on them.
    report.skipped = out
        .warnings
        .iter()
        .map(|w| {
            let what = if w.at.line.is_none() && w.at.index.is_none() {
                SkipKind::File
            } else {
                SkipKind::Record
            };
            Skipped::new(what, w.at.location(), 1, w.message.clone())
        })
        .collect();
    if let Some(sg) = &out.sigma {
        report.skipped.extend(sigma_skipped(sg));
    }
    if !out.ignored.is_empty() {
        report.extra.insert(
            "ignored_files".into(),
            out.ignored
                .iter()
                .map(|(p, why)| json!({"file": p.display().to_string(), "reason": why}))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if !out.pruned.is_empty() {
        report.extra.insert(
            "pruned_by_date".into(),
            out.pruned
                .iter()
                .map(|p| Value::from(p.display().to_string()))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if !out.via_symlink.is_empty() {
        report.extra.insert(
            "symlinks_read".into(),
            out.via_symlink
                .iter()
                .map(|(l, t)| {
                    json!({"file": l.display().to_string(), "target": t.display().to_string()})
                })
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if let Some(sg) = &out.sigma {
        report.extra.insert("sigma".into(), sigma_json(sg));
    }
    Ok(Audit {
        report,
        events,
        geo,
        activity,
    })
}

/// The Sigma load and correlation counts on stderr (the lists are in `--format json`).
fn sigma_notes(sg: &scan::SigmaSummary, g: &Global) {
    let r = &sg.report;
    g.note(format!(
        "sigma: {} rules loaded ({} correlation), {} skipped, {} ignored, {} not rules, {} matched",
        r.loaded.len(),
        r.correlations,
        r.skipped.len(),
        r.ignored.len(),
        r.not_rules.len(),
        sg.matched
    ));
    for (f, why) in &r.skipped {
        g.note(format!("sigma: skipped {f}: {why}"));
    }
    if !r.ignored.is_empty() || !r.not_rules.is_empty() {
        g.note("sigma: ignored rules and non-rule YAML files are listed in --format json (sigma.ignored, sigma.not_rules)");
    }
    for e in &r.unused_ignores {
        g.note(format!("sigma: ignore entry '{e}' matched no rule"));
    }
    for c in &sg.correlations {
        if c.dropped_matches > 0 {
            g.note(format!(
                "sigma: correlation {}: {} base-rule match(es) of {} group(s) not correlated ([sigma] max_groups groups were alive)",
                c.id, c.dropped_matches, c.dropped_groups
            ));
        }
        if c.without_time > 0 {
            g.note(format!(
                "sigma: correlation {}: {} base-rule match(es) without an event time not correlated",
                c.id, c.without_time
            ));
        }
    }
    if sg.base_matches_dropped > 0 {
        g.note(format!(
            "sigma: {} base-rule match(es) not correlated ([sigma] max_base_matches reached)",
            sg.base_matches_dropped
        ));
    }
}

/// Rules that did not load and base-rule matches no correlation looked at: the verdict
/// cannot be `pass` on them.
fn sigma_skipped(sg: &scan::SigmaSummary) -> Vec<Skipped> {
    let at = |f: &str| crate::report::Location {
        file: f.to_string(),
        ..Default::default()
    };
    let mut out: Vec<Skipped> = sg
        .report
        .skipped
        .iter()
        .map(|(f, why)| Skipped::new(SkipKind::Rule, at(f), 1, why.clone()))
        .collect();
    for c in &sg.correlations {
        if c.dropped_matches > 0 {
            out.push(Skipped::new(
                SkipKind::Record,
                at(&c.file),
                c.dropped_matches,
                format!(
                    "correlation {}: base-rule matches of {} group(s) not correlated ([sigma] max_groups groups were alive)",
                    c.id, c.dropped_groups
                ),
            ));
        }
        if c.without_time > 0 {
            out.push(Skipped::new(
                SkipKind::Record,
                at(&c.file),
                c.without_time,
                format!(
                    "correlation {}: base-rule matches without an event time",
                    c.id
                ),
            ));
        }
    }
    if sg.base_matches_dropped > 0 {
        out.push(Skipped::new(
            SkipKind::Record,
            at(""),
            sg.base_matches_dropped as u64,
            "base-rule matches not correlated ([sigma] max_base_matches reached)",
        ));
    }
    out
}

fn sigma_json(sg: &scan::SigmaSummary) -> Value {
    let r = &sg.report;
    json!({
        "loaded": r.loaded.len(),
        "correlation_rules": r.correlations,
        "matched": sg.matched,
        "skipped": r.skipped.iter().map(|(f, why)| json!({"file": f, "reason": why})).collect::<Vec<_>>(),
        "ignored": r.ignored.iter().map(|(f, id, why)| json!({"file": f, "id": id, "reason": why})).collect::<Vec<_>>(),
        "not_rules": r.not_rules.iter().map(|(f, why)| json!({"file": f, "reason": why})).collect::<Vec<_>>(),
        "unused_ignores": r.unused_ignores,
        "correlations": serde_json::to_value(&sg.correlations).unwrap_or(Value::Null),
        "base_matches_dropped": sg.base_matches_dropped,
    })
}

/// Files for `--source inference`, through the source layer: directories are listed for
/// CSV, JSONL and Parquet (optionally .gz/.zst); what is left out is noted with the reason.
fn inference_files(paths: &[PathBuf], g: &Global) -> Result<Vec<PathBuf>> {
    let wanted = |p: &std::path::Path| {
        let n = crate::input::source::base_name(p);
        [".csv", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"]
            .iter()
            .any(|e| n.ends_with(e))
    };
    let found = crate::input::source::expand(
        paths,
        &wanted,
        "inference log files (.csv, .jsonl, .parquet)",
    )?;
    for p in &found.via_symlink {
        g.note(format!("read through a symlink: {}", p.display()));
    }
    for (p, why) in &found.skipped {
        g.note(format!("not read: {}: {why}", p.display()));
    }
    Ok(found.files)
}

fn inference(args: &Args, config: &crate::config::Config, g: &Global) -> Result<Report> {
    let files = inference_files(&args.paths, g)?;
    let pb = crate::progress::spinner(g, "scanning inference logs");
    let out = scan::inference::scan(
        &files,
        config,
        &scan::inference::Options {
            sample_rate: args.sample_rate,
        },
    )?;
    pb.finish_and_clear();
    for n in &out.notes {
        g.note(n);
    }
    let mut report = Report::gate("scan", out.findings, args.fail_on);
    let mut summary = Map::new();
    summary.insert("files".into(), files.len().into());
    summary.insert("queries".into(), out.queries.into());
    summary.insert("findings".into(), report.findings.len().into());
    report.summary = summary;
    report.extra.insert("notes".into(), out.notes.into());
    report.skipped = out
        .empty_files
        .iter()
        .map(|p| Skipped::file(p.display().to_string(), "no rows (empty or header-only)"))
        .collect();
    Ok(report)
}
