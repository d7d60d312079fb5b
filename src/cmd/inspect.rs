//! `mlguard inspect`: refuse model files that run code when loaded, before anything loads them.

use crate::cli::Global;
use crate::error::IoContext;
use crate::inspect::{self, policy, FileResult, Options};
use crate::report::{self, Format, Output, Report, Severity};
use crate::{progress, Error, Outcome, Result};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Formats are recognised by their bytes, not their names: pickle (protocols 0-5), PyTorch zip
and legacy files, joblib (with its embedded arrays), numpy .npy/.npz, zip and tar containers,
gzip/zlib streams. Pickles are interpreted symbolically (nothing is imported or run): globals on
the allowlist of ordinary ML classes pass, unknown globals are medium, known-dangerous callables
(os, subprocess, eval/exec, getattr, pickle loaders, network...) are critical.

Examples:
  mlguard inspect model.pt
  mlguard inspect models/ --format sarif -o inspect.sarif
  mlguard inspect checkpoint.bin --fail-on high --format json

The allowlist and denylist are data: see docs/inspect.md and [inspect] in mlguard.toml.
Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage error or a file
that could not be inspected completely (listed as incomplete).")]
pub struct Args {
    /// Model files or directories (walked recursively; .git is skipped).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Fail (exit 1) on findings at or above this severity [default: [inspect] fail_on, else medium].
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write results to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

const FORMATS: &[Format] = &[Format::Table, Format::Json, Format::Jsonl, Format::Sarif];

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let format = args.format.check("inspect", FORMATS)?;
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
    let (files, list_problems) = inspect::files::list(&args.paths);
    let total: u64 = files
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let pb = progress::bytes(total, g.quiet);
    let results: Vec<FileResult> = files
        .par_iter()
        .map(|p| {
            let r = inspect::inspect_file(p, &opts);
            pb.inc(r.bytes);
            r
        })
        .collect();
    pb.finish_and_clear();
    let report = build_report(results, list_problems, fail_on);
    let mut out = Output::open(args.output.as_deref())?;
    report::render(&report, format, &mut out)?;
    let incomplete = report.extra["incomplete"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if format == Format::Table && !incomplete.is_empty() {
        write_incomplete(&incomplete, &mut out).with_path("<output>")?;
    }
    out.finish()?;
    if report.verdict == report::Verdict::Pass && !incomplete.is_empty() {
        if format != Format::Table {
            for p in &incomplete {
                g.note(format!("incomplete: {}", describe(p)));
            }
        }
        return Err(Error::input(
            incomplete[0]["file"].as_str().unwrap_or(""),
            format!(
                "{} item(s) could not be inspected completely, so the gate cannot pass (first: {})",
                incomplete.len(),
                incomplete[0]["message"].as_str().unwrap_or("")
            ),
        ));
    }
    Ok(report.outcome())
}

fn describe(p: &Value) -> String {
    let mut s = p["file"].as_str().unwrap_or("").to_string();
    if let Some(m) = p["member"].as_str() {
        s.push('!');
        s.push_str(m);
    }
    if let Some(o) = p["offset"].as_u64() {
        s.push_str(&format!("@{o}"));
    }
    format!("{s}: {}", p["message"].as_str().unwrap_or(""))
}

fn write_incomplete(items: &[Value], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "incomplete (not fully inspected, the gate cannot pass):"
    )?;
    for p in items {
        writeln!(out, "  {}", describe(p))?;
    }
    Ok(())
}

/// One report over all files: findings, per-file results, and what was incomplete.
pub fn build_report(
    results: Vec<FileResult>,
    list_problems: Vec<(String, inspect::Problem)>,
    fail_on: Severity,
) -> Report {
    let mut findings = Vec::new();
    let mut incomplete = Vec::new();
    let mut files = Vec::new();
    let (mut bytes, mut pickles, mut members, mut other) = (0u64, 0u64, 0u64, 0u64);
    for (file, p) in list_problems {
        let mut v = serde_json::to_value(&p).expect("problem serialises");
        v["file"] = file.into();
        incomplete.push(v);
    }
    for r in results {
        bytes += r.bytes;
        pickles += r.pickles;
        members += r.members;
        if r.format == "other" {
            other += 1;
        }
        for p in &r.problems {
            let mut v = serde_json::to_value(p).expect("problem serialises");
            v["file"] = r.path.clone().into();
            incomplete.push(v);
        }
        findings.extend(r.findings.iter().cloned());
        files.push(serde_json::to_value(&r).expect("file result serialises"));
    }
    let mut report = Report::gate("inspect", findings, fail_on);
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
    report
        .summary
        .insert("incomplete".into(), (incomplete.len() as u64).into());
    report.extra.insert("files".into(), json!(files));
    report.extra.insert("incomplete".into(), json!(incomplete));
    report
}
