//! `mlguard profile`: a mergeable statistical profile of tabular data; `profile merge` and
//! `profile show`.

use crate::cli::Global;
use crate::error::IoContext;
use crate::input::table::TableFormat;
use crate::profile::{self, Profile, Settings};
use crate::report::{text, Input, Output};
use crate::{Error, Outcome, Result};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(
    // `mlguard profile FILES` stays the common form; `merge` and `show` are real
    // subcommands (own help, own flags: `--label` on merge is an error, not ignored).
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "\
Three forms:
  mlguard profile INPUT... [-o PROFILE] [--label COL] [--text COL]... [--embedding COL]
  mlguard profile merge A.json B.json ... -o MERGED.json
  mlguard profile show PROFILE.json
  mlguard profile s3://bucket/train/ --shard 3/8 -o part-3.json     one part of eight (0-based)
  mlguard profile merge part-*.json -o whole.json                   all parts, checked

INPUT: Parquet, CSV/TSV, NDJSON/JSONL, Arrow IPC/Feather files (CSV/JSONL may be .gz or .zst),
directories of shards and globs (quote them). The format comes from magic bytes, then the
extension; --input-format overrides; mixed formats are an error. (A data file literally
named 'merge', 'show' or 'help' must be written ./merge.)

Examples:
  mlguard profile data/train.parquet --label y -o baseline.profile.json
  mlguard profile 'shards/*.csv.gz' --label label --text review -o day1.json
  mlguard profile merge day1.json day2.json -o week.json
  mlguard profile show baseline.profile.json

The profile is JSON, documented field by field in docs/profile.md; sharding in docs/scale.md.
It goes to -o FILE, or to stdout when stdout is not a terminal (a pipe, a redirect).
Exit codes: 0 written, 2 usage or input error (the message names the file and line/row)."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Sub>,
    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Merge profiles (days of data, or the parts of `profile --shard`) into one.
    #[command(after_help = "\
Every profile must have been made with the same settings (label, text and embedding columns,
sketch sizes, seed). Parts of `profile --shard` are checked like `manifest merge`: a missing,
duplicated or foreign part is refused (exit 2, naming it). The same profile given twice (same
path, or the same bytes under another name) is refused: it would count its rows twice.
The merged profile goes to -o FILE, or to stdout when stdout is not a terminal.
Exit codes: 0 written, 2 usage or input error.")]
    Merge(MergeArgs),
    /// Print a profile as a table: per column type, nulls, moments, quantiles, distinct
    /// count, top values; the label, text and embedding sections; duplicates.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Profiles to merge (JSON written by `mlguard profile`), at least one.
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<PathBuf>,
    /// Write the merged profile to FILE [default: stdout, when it is not a terminal].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The profile to print.
    #[arg(value_name = "PROFILE")]
    pub profile: PathBuf,
    /// Write the table to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Input files, directories or globs.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Write the profile to FILE [default: stdout, when it is not a terminal].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Label column: label distribution plus every column's sketches per label.
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Text column(s): lower-cased word-token counts, overall and per label.
    #[arg(long, value_name = "COL")]
    pub text: Vec<String>,
    /// Embedding column (list of numbers): dimension, norm quantiles, per-dimension moments.
    #[arg(long, value_name = "COL")]
    pub embedding: Option<String>,
    /// Input table format [default: detect from magic bytes, then the extension].
    /// (`--format`, its former name, is still accepted.)
    #[arg(
        long = "input-format",
        alias = "format",
        value_name = "FORMAT",
        value_parser = crate::cli::choice(INPUT_FORMATS)
    )]
    pub input_format: Option<TableFormat>,
    /// CSV delimiter [default: ',' or tab for .tsv].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// Count and skip rows that do not parse instead of failing (recorded in the profile).
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Seed for the quantile sketches' compaction (same input + seed = same profile).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// KLL sketch size k (rank error about 2.3/k^0.97; 200 gives 1.3 %).
    #[arg(long, default_value_t = 200, value_name = "K")]
    pub kll_k: u32,
    /// Row fingerprints kept exactly before switching to a hash sample.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub max_fingerprints: usize,
    /// Label sections kept (the rest are pooled as __other__).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top_labels: usize,
    /// Profile only shard INDEX (0-based) of COUNT of the input files, chosen by a hash of
    /// each file's path; `profile merge` joins the parts (docs/scale.md).
    #[arg(long, value_name = "INDEX/COUNT", value_parser = crate::input::shard::parse_arg)]
    pub shard: Option<crate::input::shard::Shard>,
}

/// `--input-format` values.
const INPUT_FORMATS: &[(TableFormat, &str, &str)] = &[
    (TableFormat::Parquet, "parquet", ""),
    (TableFormat::Csv, "csv", ""),
    (TableFormat::Tsv, "tsv", ""),
    (TableFormat::Jsonl, "jsonl", ""),
    (TableFormat::Ipc, "ipc", ""),
];

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    match args.command {
        Some(Sub::Merge(m)) => merge(&m, g),
        Some(Sub::Show(s)) => show(&s),
        None => build(&args.build, g),
    }
}

/// A profile is JSON of up to megabytes: it goes to `-o FILE`, or to stdout only when that
/// is a pipe or a file, never dumped onto a terminal.
fn require_output(out: Option<&std::path::Path>, command: &str) -> Result<()> {
    use std::io::IsTerminal;
    if out.is_none() && std::io::stdout().is_terminal() {
        return Err(Error::usage(format!(
            "'mlguard {command}' writes a profile (JSON): give -o FILE, or redirect stdout"
        )));
    }
    Ok(())
}

fn write_profile(p: &Profile, out: Option<&std::path::Path>) -> Result<()> {
    let mut o = Output::open(out)?;
    o.write_all(&p.to_json())
        .with_path(out.map(PathBuf::from).unwrap_or_else(|| "<stdout>".into()))?;
    o.finish()
}

fn build(args: &BuildArgs, g: &Global) -> Result<Outcome> {
    require_output(args.output.as_deref(), "profile")?;
    let mut inputs = g.config_input();
    inputs.extend(args.inputs.iter().map(|p| Input::Tree(p)));
    crate::report::check_outputs(&[("-o", args.output.as_deref())], &inputs)?;
    let v = &crate::profile::validate::KLL_K;
    if !v.contains(&args.kll_k) {
        return Err(Error::usage(format!(
            "--kll-k must be in {}..={}",
            v.start(),
            v.end()
        )));
    }
    let s = Settings {
        label: args.label.clone(),
        text: args.text.clone(),
        embedding: args.embedding.clone(),
        seed: args.seed,
        kll_k: args.kll_k,
        max_fingerprints: args.max_fingerprints,
        top_labels: args.top_labels,
        format: args.input_format,
        delimiter: args.delimiter,
        skip_bad_rows: args.skip_bad_rows,
        ..Settings::default()
    };
    // The limits a profile file is held to on load (docs/profile.md), so that every profile
    // this command writes can be read back.
    crate::profile::validate::settings(&s)
        .map_err(|e| Error::usage(e.replace("settings.", "--").replace('_', "-")))?;
    let pb = crate::progress::bytes(0, g.quiet);
    let p = profile::profile_paths(&args.inputs, args.shard, &s, &pb, &|m| g.note(m))?;
    pb.finish_and_clear();
    if p.skipped.rows > 0 {
        g.note(format!(
            "skipped {} bad row(s) (--skip-bad-rows); first: {}",
            p.skipped.rows,
            p.skipped
                .examples
                .first()
                .map(|e| e.to_string())
                .unwrap_or_default()
        ));
    }
    g.note(format!(
        "{} rows, {} columns, {} input file(s)",
        p.rows,
        p.columns.len(),
        p.inputs.len()
    ));
    write_profile(&p, args.output.as_deref())?;
    Ok(Outcome::Pass)
}

fn merge(args: &MergeArgs, g: &Global) -> Result<Outcome> {
    let files = &args.profiles[..];
    require_output(args.output.as_deref(), "profile merge")?;
    let mut inputs = g.config_input();
    inputs.extend(files.iter().map(|p| Input::File(p)));
    crate::report::check_outputs(&[("-o", args.output.as_deref())], &inputs)?;
    if files.len() as u64 > crate::input::shard::MAX_SHARDS {
        return Err(Error::usage(format!(
            "{} profiles given; at most {} at once",
            files.len(),
            crate::input::shard::MAX_SHARDS
        )));
    }
    refuse_repeats(files)?;
    let mut it = files.iter();
    let mut p = Profile::load(it.next().ok_or_else(|| Error::usage("no profile"))?)?;
    // Shard records are checked once all are read (parts of `profile --shard`, like
    // `manifest merge`); profiles are folded in one at a time so memory stays flat.
    check_share(&p, &files[0])?;
    let mut records = vec![(files[0].display().to_string(), p.shard.clone())];
    for f in it {
        let q = Profile::load(f)?;
        check_share(&q, f)?;
        records.push((f.display().to_string(), q.shard.clone()));
        p.merge(&q).map_err(|e| Error::input(f, e.to_string()))?;
        crate::profile::validate::profile(&p)
            .map_err(|e| Error::input(f, format!("merged profile would be invalid: {e}")))?;
    }
    if records.iter().any(|(_, s)| s.is_some()) {
        let refs: Vec<(String, Option<&crate::input::shard::ShardInfo>)> = records
            .iter()
            .map(|(n, s)| (n.clone(), s.as_ref()))
            .collect();
        let info = crate::input::shard::check_parts(&refs).map_err(Error::Usage)?;
        // The union of the parts' input files must be the listing they were split from.
        let (fp, n) = crate::input::shard::fingerprint(p.inputs.iter().map(|i| i.path.as_bytes()));
        if fp != info.listing || n != info.listed {
            return Err(Error::input(
                &files[0],
                format!(
                    "the parts read {n} files but their run listed {}: a part was altered",
                    info.listed
                ),
            ));
        }
        p.shard = None;
        g.note(format!("merged all {} shard parts", info.count));
    }
    g.note(format!("merged {} profiles: {} rows", files.len(), p.rows));
    write_profile(&p, args.output.as_deref())?;
    Ok(Outcome::Pass)
}

/// The same profile twice (the same file under two names, or a copy: the same bytes) would
/// silently count its rows twice, so it is refused before anything is merged. Files are
/// hashed streaming (BLAKE3), never read whole here.
fn refuse_repeats(files: &[PathBuf]) -> Result<()> {
    let mut seen: Vec<(blake3::Hash, &PathBuf)> = Vec::with_capacity(files.len());
    for f in files {
        let file = std::fs::File::open(f).with_path(f)?;
        let mut h = blake3::Hasher::new();
        h.update_reader(file).with_path(f)?;
        let digest = h.finalize();
        if let Some((_, first)) = seen.iter().find(|(d, _)| *d == digest) {
            let how = match (std::fs::canonicalize(f), std::fs::canonicalize(first)) {
                (Ok(a), Ok(b)) if a == b => "is the same file as",
                _ => "has the same content as",
            };
            return Err(Error::usage(format!(
                "{} {how} {}: merging a profile with itself would count its rows twice",
                text::path(f),
                text::path(first)
            )));
        }
        seen.push((digest, f));
    }
    Ok(())
}

/// A shard part may only hold input files of its own shard.
fn check_share(p: &Profile, name: &std::path::Path) -> Result<()> {
    let Some(s) = p.shard.as_ref().map(|s| s.shard()) else {
        return Ok(());
    };
    match p.inputs.iter().find(|i| !s.owns(i.path.as_bytes())) {
        Some(i) => Err(Error::input(
            name,
            format!(
                "input '{}' belongs to shard {}/{}, not to this part {s}",
                i.path,
                crate::input::shard::shard_of(i.path.as_bytes(), s.count),
                s.count
            ),
        )),
        None => Ok(()),
    }
}

fn show(args: &ShowArgs) -> Result<Outcome> {
    let path = &args.profile;
    crate::report::check_outputs(&[("-o", args.output.as_deref())], &[Input::File(path)])?;
    let p = Profile::load(path)?;
    let mut o = Output::open(args.output.as_deref())?;
    let name = args.output.clone().unwrap_or_else(|| "<stdout>".into());
    let text = crate::report::profile::show(path, &p);
    o.write_all(text.as_bytes()).with_path(name)?;
    o.finish()?;
    Ok(Outcome::Pass)
}
