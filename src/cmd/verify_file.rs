//! `mlguard verify-file`: check one file against a signed root with an inclusion proof.

use crate::cli::Global;
use crate::error::{Error, IoContext};
use crate::integrity::dsse;
use crate::integrity::hasher::{hash_path, HashOptions};
use crate::integrity::manifest::EntryKind;
use crate::integrity::proof::Proof;
use crate::report::text;
use crate::{Outcome, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  mlguard verify-file data/train/shard-0007.parquet --proof shard-0007.proof.json \\
      --signature data.dsse.json --pubkey owner.pub

Order of checks: the envelope's signatures (exit 3), the proof's root against the signed
root (exit 3), the proof itself against the entry it records (a tampered proof: exit 3),
then the file's content against that entry (exit 1 when the file differs).")]
pub struct Args {
    /// The file to check.
    pub file: PathBuf,
    /// Inclusion proof from `mlguard prove`.
    #[arg(long, value_name = "PROOF")]
    pub proof: PathBuf,
    /// Signed envelope holding the root.
    #[arg(long, value_name = "SIGNED")]
    pub signature: PathBuf,
    /// Trusted public key, repeatable [default: [trust] keys in mlguard.toml].
    #[arg(long, value_name = "PUB")]
    pub pubkey: Vec<PathBuf>,
    /// Distinct trusted keys required [default: [trust] threshold, else 1].
    #[arg(long, value_name = "N")]
    pub threshold: Option<usize>,
}

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let config = g.load_config()?;
    let m = dsse::open_verified(&args.signature, &args.pubkey, args.threshold, &config)?;
    let proof = Proof::read(&args.proof)?;
    let pd = args.proof.display();
    if !proof.root.eq_ignore_ascii_case(&m.root) {
        return Err(Error::trust(format!(
            "{pd}: proof is for root {}, but the signed root is {}",
            proof.root, m.root
        )));
    }
    if proof.tree_size != m.files.len() as u64 {
        return Err(Error::trust(format!(
            "{pd}: proof is for a tree of {} files, the signed manifest has {}",
            proof.tree_size,
            m.files.len()
        )));
    }
    let recorded = proof.recorded_entry();
    if !proof.includes(&recorded, &m.root) {
        return Err(Error::trust(format!(
            "{pd}: the proof does not lead from '{}' to the signed root (tampered or corrupt proof)",
            recorded.path
        )));
    }
    if recorded.kind != EntryKind::File {
        return Err(Error::usage(format!(
            "'{}' is a symlink entry; verify-file checks regular files",
            recorded.path
        )));
    }
    // Say what the path is before hashing: the hasher's own refusal is worded for a file
    // swapped after a walk, and verify-file does not walk.
    let local = crate::input::source::local_path_of(&args.file);
    let meta = (!crate::input::remote::is_url(&args.file))
        .then(|| std::fs::metadata(&local).with_path(&args.file))
        .transpose()?;
    if let Some(meta) = meta.filter(|m| !m.is_file()) {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(Error::usage(format!(
            "{} is {what}: verify-file checks one regular file (use 'mlguard verify' for a tree)",
            text::path(&args.file)
        )));
    }
    let d = hash_path(&args.file, &HashOptions::default()).with_path(&args.file)?;
    let mut actual = recorded.clone();
    actual.size = d.size;
    actual.blake3 = hex::encode(d.blake3);
    if proof.includes(&actual, &m.root) {
        println!(
            "{}: OK ({} = leaf {} of {} under signed root {})",
            text::path(&args.file),
            text::clean(&recorded.path),
            proof.leaf_index,
            proof.tree_size,
            m.root
        );
        Ok(Outcome::Pass)
    } else {
        println!(
            "{}: FAILED (content differs from '{}' in the signed manifest: size {} vs {}, blake3 {} vs {})",
            text::path(&args.file),
            text::clean(&recorded.path),
            d.size,
            recorded.size,
            actual.blake3,
            recorded.blake3
        );
        Ok(Outcome::Fail)
    }
}
