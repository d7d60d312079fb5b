//! `mlguard diff`: compare two dataset versions by their manifests, without touching data.

use crate::cli::Global;
use crate::cmd::verify::{results_report, write_report, Compared};
use crate::integrity::manifest::Manifest;
use crate::integrity::verify::{compare, Status};
use crate::report::{Format, Input};
use crate::{Outcome, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  mlguard diff v1.manifest.json v2.manifest.json --format json

Statuses: added, removed, modified (with the first differing byte range when both manifests
have chunk hashes of the same size), moved, type_changed. Exit 0 when identical, 1 when the
versions differ, 2 on bad input.")]
pub struct Args {
    /// The older manifest.
    pub old: PathBuf,
    /// The newer manifest.
    pub new: PathBuf,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = crate::cli::formats(super::verify::FORMATS))]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args, _g: &Global) -> Result<Outcome> {
    let format = args.format.check("diff", super::verify::FORMATS)?;
    crate::report::check_outputs(
        &[("-o", args.output.as_deref())],
        &[Input::File(&args.old), Input::File(&args.new)],
    )?;
    let old = Manifest::read(&args.old)?;
    let mut new = Manifest::read(&args.new)?;
    if old.options.chunk_size != new.options.chunk_size {
        // Chunk values of different sizes are not comparable: compare whole files only.
        for e in &mut new.files {
            e.chunks = None;
        }
    }
    let old_entries: Vec<&_> = old.files.iter().collect();
    let (mut files, ok) = compare(&old_entries, &new.files, &[], old.options.chunk_size);
    for f in &mut files {
        if f.status == Status::Missing {
            f.status = Status::Removed;
        }
    }
    let mut report = results_report(Compared::TwoManifests, &files, ok, false, format);
    report.extra.insert("old_root".into(), old.root.into());
    report.extra.insert("new_root".into(), new.root.into());
    write_report(&report, &files, format, args.output.as_ref())?;
    Ok(report.outcome())
}
