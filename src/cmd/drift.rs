//! `mlguard drift`: the pre-training gate on drift and poisoning against a baseline profile.

use crate::cli::{Global, Partial};
use crate::drift::{self, Settings};
use crate::error::IoContext;
use crate::profile::{self, Profile};
use crate::report::{self, Format, Input, Location, Output, Severity, SkipKind, Skipped};
use crate::{Error, Outcome, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
CURRENT is a profile (from 'mlguard profile') or data files/directories/globs, which are
profiled on the fly with the baseline's settings (label, text and embedding columns, sketch
sizes, seed).

What is compared: schema (missing, new, retyped columns), volume, null/NaN rates, values
outside the baseline range, numeric distributions (KS from the quantile sketches, Wasserstein
normalised by the baseline std, PSI), categorical frequencies (Jensen-Shannon, L-inf,
chi-square, new categories); with a label: label shift, label-conditional drift, trigger
values and text tokens concentrated in one label, label flips of known rows, duplicate rows
with conflicting labels. Findings need both an effect size over the threshold and
significance after the sketch error, on the effective sample size, with Benjamini-Hochberg
across columns. Thresholds: [drift] in mlguard.toml (docs/drift.md).

Examples:
  mlguard drift --baseline baseline.profile.json data/ --label y
  mlguard drift --baseline base.json today.json --fail-on warn --html drift.html
  mlguard drift --baseline base.json data.parquet --format sarif -o drift.sarif

Rows of the current data skipped as bad (--skip-bad-rows) are listed as \"not read\": the
verdict is INCOMPLETE (exit 2) unless a finding fails it, or --allow-partial.
Exit codes: 0 pass, 1 drift or poisoning at or above --fail-on, 2 usage or input error or an
incomplete read.")]
pub struct Args {
    /// Baseline profile (JSON written by `mlguard profile`).
    #[arg(long, value_name = "PROFILE")]
    pub baseline: PathBuf,
    /// Current profile, or data to profile with the baseline's settings.
    #[arg(required = true, value_name = "CURRENT")]
    pub current: Vec<PathBuf>,
    /// Label column (must match the baseline's; given for readability of gate scripts).
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Fail (exit 1) on findings at or above this severity: info, low, medium, high,
    /// critical (`warn` and `alert`, the older words, mean medium and high).
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub fail_on: Severity,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = crate::cli::formats(FORMATS))]
    pub format: Format,
    /// Write results to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the drift report as one self-contained HTML file (inline SVG and CSS, no
    /// script, no network): verdict, findings linked to their columns, every column by
    /// drift score, histograms and CDFs, category shares, trigger values and tokens.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also save the current data's profile (when CURRENT is data).
    #[arg(long, value_name = "FILE")]
    pub save_profile: Option<PathBuf>,
    #[command(flatten)]
    pub partial: Partial,
}

/// Rows of the current data that were never profiled (`--skip-bad-rows`, in the current
/// profile or in the baseline's settings used to profile current data): each makes the gate
/// incomplete. The profile keeps the first few with their place; the rest are one entry.
fn skipped_rows(cur: &Profile, cur_name: &str) -> Vec<Skipped> {
    let mut out: Vec<Skipped> = cur
        .skipped
        .examples
        .iter()
        .map(|e| {
            let at = Location {
                file: e["file"].as_str().unwrap_or(cur_name).to_string(),
                line: e["line"].as_u64(),
                ..Location::default()
            };
            let why = e["reason"].as_str().unwrap_or("bad row").to_string();
            Skipped::new(SkipKind::Rows, at, 1, why)
        })
        .collect();
    let rest = cur.skipped.rows.saturating_sub(out.len() as u64);
    if rest > 0 {
        let at = Location {
            file: cur_name.to_string(),
            ..Location::default()
        };
        out.push(Skipped::new(
            SkipKind::Rows,
            at,
            rest,
            "bad rows skipped (--skip-bad-rows; the profile keeps the first few only)",
        ));
    }
    out
}

/// What `drift --format` renders.
const FORMATS: &[Format] = &[
    Format::Table,
    Format::Json,
    Format::Jsonl,
    Format::Sarif,
    Format::Junit,
];

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let format = args.format.check("drift", FORMATS)?;
    let mut inputs = g.config_input();
    inputs.push(Input::File(&args.baseline));
    inputs.extend(args.current.iter().map(|p| Input::Tree(p)));
    report::check_outputs(
        &[
            ("-o", args.output.as_deref()),
            ("--html", args.html.as_deref()),
            ("--save-profile", args.save_profile.as_deref()),
        ],
        &inputs,
    )?;
    let config = g.load_config()?;
    let settings: Settings = config.section("drift")?;
    let base = Profile::load(&args.baseline)?;
    if let Some(l) = &args.label {
        if base.settings.label.as_deref() != Some(l.as_str()) {
            return Err(Error::usage(format!(
                "--label {l}: the baseline {} was profiled with {} (re-profile the baseline with --label {l})",
                args.baseline.display(),
                base.settings.label.as_deref().map(|x| format!("--label {x}")).unwrap_or("no label".into())
            )));
        }
    }
    let is_profile = args.current.len() == 1 && Profile::is_profile(&args.current[0]);
    let cur = if is_profile {
        Profile::load(&args.current[0])?
    } else {
        let pb = crate::progress::bytes(0, g.quiet);
        let mut st = base.settings.clone();
        st.fingerprint_columns = Some(base.row_fingerprints.columns.clone());
        let p = profile::profile_paths(&args.current, None, &st, &pb, &|m| g.note(m))?;
        pb.finish_and_clear();
        if let Some(sp) = &args.save_profile {
            std::fs::write(sp, p.to_json()).with_path(sp)?;
        }
        p
    };
    if !is_profile {
        g.note(format!("profiled current data: {} rows", cur.rows));
    }
    if cur.settings.label != base.settings.label {
        let name = |l: &Option<String>| match l {
            Some(c) => format!("label column '{c}'"),
            None => "no label column".to_string(),
        };
        return Err(Error::input(
            &args.current[0],
            format!(
                "profiled with {}, but the baseline {} has {} (profile both with the same --label)",
                name(&cur.settings.label),
                args.baseline.display(),
                name(&base.settings.label)
            ),
        ));
    }
    let mut res = drift::compare(&base, &cur, &settings);
    let base_name = args.baseline.display().to_string();
    let cur_name = args
        .current
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let sides = report::drift::Sides {
        baseline: &base_name,
        current: &cur_name,
        baseline_rows: base.rows,
        current_rows: cur.rows,
    };
    let skipped = skipped_rows(&cur, &cur_name);
    let report = report::drift::report(
        &mut res,
        &sides,
        args.fail_on,
        skipped,
        args.partial.allow_partial,
    );
    if let Some(h) = &args.html {
        let html = report::html::drift::render(&report, &res.columns, &base_name, &cur_name);
        std::fs::write(h, html).with_path(h)?;
        g.note(format!("HTML report: {}", h.display()));
    }
    if format != Format::Json {
        // Checks that could not run are in the JSON document; elsewhere on stderr, never
        // silent.
        for n in report.coverage_notes() {
            g.note(n);
        }
    }
    let mut out = Output::open(args.output.as_deref())?;
    report::drift::write(&report, format, &mut out)?;
    out.finish()?;
    Ok(report.outcome())
}
