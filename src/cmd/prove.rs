//! `mlguard prove`: an RFC 9162 inclusion proof for one file of a manifest.

use crate::cli::Global;
use crate::error::{Error, IoContext};
use crate::integrity::dsse;
use crate::integrity::manifest::Manifest;
use crate::integrity::proof::Proof;
use crate::report::Output;
use crate::{Outcome, Result};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  mlguard prove data.dsse.json train/shard-0007.parquet -o shard-0007.proof.json
  mlguard verify-file data/train/shard-0007.parquet --proof shard-0007.proof.json \\
      --signature data.dsse.json --pubkey owner.pub

FILEPATH is the path as recorded in the manifest (relative, '/'-separated). The proof holds
the leaf index, tree size and audit path (log2(n) hashes); see docs/signing.md.")]
pub struct Args {
    /// Manifest, or signed envelope, the file belongs to.
    pub manifest: PathBuf,
    /// The file's path inside the dataset, as in the manifest.
    pub filepath: String,
    /// Write the proof here instead of stdout.
    #[arg(short, long, value_name = "PROOF")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args, _g: &Global) -> Result<Outcome> {
    crate::report::check_outputs(
        &[("-o", args.output.as_deref())],
        &[crate::report::Input::File(&args.manifest)],
    )?;
    let bytes = std::fs::read(&args.manifest).with_path(&args.manifest)?;
    let is_envelope = serde_json::from_slice::<serde_json::Value>(&bytes)
        .map(|v| v.get("payloadType").is_some())
        .unwrap_or(false);
    let m = if is_envelope {
        // Trust is checked by whoever verifies the proof; here we only need the entries.
        let env = dsse::parse_envelope(&bytes, &args.manifest)?;
        let payload = dsse::b64decode(&env.payload)
            .map_err(|e| Error::input(&args.manifest, format!("payload is not base64: {e}")))?;
        dsse::parse_statement(&payload, &args.manifest)?
    } else {
        Manifest::from_slice(&bytes, &args.manifest)?
    };
    m.require_whole(&args.manifest)?;
    let proof = Proof::for_path(&m, &args.filepath, &args.manifest)?;
    let mut out = Output::open(args.output.as_deref())?;
    let mut v = serde_json::to_vec_pretty(&proof).unwrap_or_default();
    v.push(b'\n');
    out.write_all(&v)
        .with_path(args.output.clone().unwrap_or_else(|| "<stdout>".into()))?;
    out.finish()?;
    Ok(Outcome::Pass)
}
