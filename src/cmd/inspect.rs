//! `mlguard inspect`: refuse model files that run code when loaded, before anything loads them.

use crate::cli::{Global, Partial};
use crate::input::source;
use crate::inspect::{self, policy, FileResult, Options};
use crate::report::{self, Format, Location, Output, Report, Severity, SkipKind, Skipped};
use crate::{progress, Error, Outcome, Result};
use rayon::prelude::*;
use serde_json::json;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Formats are recognised by their bytes, not their names: pickle (protocols 0-5), PyTorch zip
and legacy files, joblib (with its embedded arrays), numpy .npy/.npz, Keras .keras/.h5, GGUF,
ONNX (.onnx), TensorFlow saved_model.pb, zip and tar containers, gzip/zlib streams. Pickles are interpreted symbolically (nothing is imported or run): globals on
the allowlist of ordinary ML classes pass, unknown globals are medium, known-dangerous callables
(os, subprocess, eval/exec, getattr, pickle loaders, network...) are critical.

Examples:
  mlguard inspect model.pt
  mlguard inspect models/ --format sarif -o inspect.sarif
  mlguard inspect checkpoint.bin --fail-on high --format json
  mlguard inspect model/ && mlguard hash model/ --sign owner.key -o model.dsse.json
                                  sign only a model that passed inspection

The allowlist and denylist are data: see docs/inspect.md and [inspect] in mlguard.toml.
Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage error, or
something could not be inspected completely (listed under \"skipped\"; the verdict is
incomplete).")]
pub struct Args {
    /// Model files or directories (walked recursively; .git is skipped).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Fail (exit 1) on findings at or above this severity [default: [inspect] fail_on, else medium].
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = crate::cli::formats(FORMATS))]
    pub format: Format,
    /// Write results to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub partial: Partial,
}

const FORMATS: &[Format] = &[Format::Table, Format::Json, Format::Jsonl, Format::Sarif];

fn in_git_dir(p: &Path) -> bool {
    p.components()
        .any(|c| c == Component::Normal(".git".as_ref()))
}

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let format = args.format.check("inspect", FORMATS)?;
    let mut inputs = g.config_input();
    inputs.extend(args.paths.iter().map(|p| report::Input::Tree(p)));
    report::check_outputs(&[("-o", args.output.as_deref())], &inputs)?;
    let config = g.load_config()?;
    let section: policy::Section = config.section("inspect")?;
    let fail_on = match (args.fail_on, &section.fail_on) {
        (Some(s), _) => s,
        (None, Some(s)) => s
            .parse()
            .map_err(|e| Error::input(config.display_path(), format!("[inspect] fail_on: {e}")))?,
        (None, None) => Severity::Medium,
    };
    let opts = Options {
        policy: policy::Policy::new(&section, &config.display_path())?,
        max_member_bytes: section
            .max_member_bytes
            .unwrap_or(inspect::DEFAULT_MAX_MEMBER),
    };
    let listed = source::expand(&args.paths, &|p| !in_git_dir(p), "files")?;
    let total: u64 = listed
        .files
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let pb = progress::bytes(total, g.quiet);
    let results: Vec<FileResult> = listed
        .files
        .par_iter()
        .map(|p| {
            let r = inspect::inspect_file(p, &opts);
            pb.inc(r.bytes);
            r
        })
        .collect();
    pb.finish_and_clear();
    let mut report = build_report(results, fail_on);
    for (p, why) in listed.skipped {
        if !in_git_dir(&p) {
            report
                .skipped
                .push(Skipped::file(p.display().to_string(), why));
        }
    }
    report
        .summary
        .insert("skipped_items".into(), (report.skipped.len() as u64).into());
    report.allow_partial = args.partial.allow_partial;
    let mut out = Output::open(args.output.as_deref())?;
    report::render(&report, format, &mut out)?;
    out.finish()?;
    if format != Format::Table && format != Format::Json {
        for s in &report.skipped {
            g.note(format!("not inspected completely: {s}"));
        }
    }
    Ok(report.outcome())
}

/// One report over all files: findings, per-file results, and what was not fully inspected
/// (`skipped`, which makes the verdict incomplete unless findings already fail the gate).
pub fn build_report(results: Vec<FileResult>, fail_on: Severity) -> Report {
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    let mut files = Vec::new();
    let (mut bytes, mut pickles, mut members, mut other) = (0u64, 0u64, 0u64, 0u64);
    for r in results {
        bytes += r.bytes;
        pickles += r.pickles;
        members += r.members;
        if r.format == "other" {
            other += 1;
        }
        for p in &r.problems {
            let at = Location {
                file: r.path.clone(),
                member: p.member.clone(),
                offset: p.offset,
                ..Location::default()
            };
            let what = if p.member.is_some() || p.offset.is_some() {
                SkipKind::Record
            } else {
                SkipKind::File
            };
            skipped.push(Skipped::new(what, at, 1, p.message.clone()));
        }
        findings.extend(r.findings.iter().cloned());
        files.push(serde_json::to_value(&r).expect("file result serialises"));
    }
    let mut report = Report::gate("inspect", findings, fail_on);
    report.skipped = skipped;
    report
        .summary
        .insert("files".into(), (files.len() as u64).into());
    report.summary.insert("bytes".into(), bytes.into());
    report.summary.insert("members".into(), members.into());
    report.summary.insert("pickles".into(), pickles.into());
    report
        .summary
        .insert("not_model_files".into(), other.into());
    report
        .summary
        .insert("findings".into(), (report.findings.len() as u64).into());
    report.extra.insert("files".into(), json!(files));
    report
}
