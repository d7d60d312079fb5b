//! `mlguard manifest merge`: join the parts of a sharded `hash --shard k/N` run into the
//! manifest of the whole tree (docs/scale.md).

use crate::cli::Global;
use crate::error::{Error, IoContext};
use crate::integrity::manifest::Manifest;
use crate::integrity::merge::merge_parts;
use crate::report::Output;
use crate::{Outcome, Result};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Join the parts of `hash --shard INDEX/COUNT` into the manifest of the whole tree.
    #[command(after_help = "\
Examples:
  for k in 0 1 2 3; do mlguard hash s3://bucket/data/ --shard $k/4 -o part-$k.json; done
  mlguard manifest merge part-*.json -o data.manifest.json
  mlguard sign data.manifest.json --key owner.key -o data.dsse.json

The result is the manifest the unsharded run writes: same entries, skipped list and Merkle
root (only \"created\" differs). Refused with exit 2, naming the part: a missing or duplicated
part, a part of another run (another shard count, another listing, other options), a file
that is not a part, or a part that was altered.")]
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The parts written by `mlguard hash --shard INDEX/COUNT`, all COUNT of them, any order.
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,
    /// Write the merged manifest here instead of stdout.
    #[arg(short, long, value_name = "MANIFEST")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    match args.action {
        Action::Merge(a) => merge(a, g),
    }
}

fn merge(args: MergeArgs, g: &Global) -> Result<Outcome> {
    if args.parts.len() as u64 > crate::input::shard::MAX_SHARDS {
        return Err(Error::usage(format!(
            "{} parts given; at most {} shards exist",
            args.parts.len(),
            crate::input::shard::MAX_SHARDS
        )));
    }
    // The merged manifest must not replace a part (a later merge would miss it).
    let inputs: Vec<crate::report::Input> = args
        .parts
        .iter()
        .map(|p| crate::report::Input::File(p))
        .collect();
    crate::report::check_outputs(&[("-o", args.output.as_deref())], &inputs)?;
    let mut parts = Vec::with_capacity(args.parts.len());
    for p in &args.parts {
        parts.push((p.clone(), Manifest::read(p)?));
    }
    let n = parts.len();
    let m = merge_parts(parts)?;
    let name = args.output.clone().unwrap_or_else(|| "<stdout>".into());
    let mut bytes = serde_json::to_vec_pretty(&m).map_err(|e| Error::input(&name, e))?;
    bytes.push(b'\n');
    let mut out = Output::open(args.output.as_deref())?;
    out.write_all(&bytes).with_path(&name)?;
    out.finish()?;
    g.note(format!(
        "merged {n} parts: {} files, root {}",
        m.files.len(),
        m.root
    ));
    Ok(Outcome::Pass)
}
