//! `mlguard sign`: sign a manifest into a DSSE/in-toto envelope, or co-sign an envelope.

use crate::cli::Global;
use crate::error::{Error, IoContext};
use crate::integrity::manifest::Manifest;
use crate::integrity::{dsse, keys};
use crate::report::Output;
use crate::{Outcome, Result};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlguard sign data.manifest.json --key owner.key -o data.dsse.json
  mlguard sign data.dsse.json --key security.key -o data.dsse.json     (co-sign)

The envelope is DSSE (payloadType application/vnd.in-toto+json) around an in-toto
Statement v1 whose predicate is the manifest; see docs/signing.md.")]
pub struct Args {
    /// A manifest (from `mlguard hash`) or an envelope to co-sign.
    pub input: PathBuf,
    /// Ed25519 private key (PKCS#8 PEM, from `mlguard keygen` or openssl).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Subject name in the statement [default: the manifest's file stem].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Write the envelope here instead of stdout (may be the input, for co-signing).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args, _g: &Global) -> Result<Outcome> {
    let key = keys::read_private(&args.key)?;
    let bytes = std::fs::read(&args.input).with_path(&args.input)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::input(&args.input, format!("not JSON: {e}")))?;
    let env = if value.get("payloadType").is_some() {
        let mut env = dsse::parse_envelope(&bytes, &args.input)?;
        // Co-signing endorses what is already there: make sure it is an mlguard statement.
        let payload = dsse::b64decode(&env.payload)
            .map_err(|e| Error::input(&args.input, format!("payload is not base64: {e}")))?;
        dsse::parse_statement(&payload, &args.input)?;
        dsse::cosign(&mut env, &key, &args.input)?;
        env
    } else {
        let m = Manifest::from_slice(&bytes, &args.input)?;
        m.require_whole(&args.input)?;
        let name = args.name.clone().unwrap_or_else(|| {
            args.input
                .file_stem()
                .map(|s| {
                    s.to_string_lossy()
                        .trim_end_matches(".manifest")
                        .to_string()
                })
                .unwrap_or_else(|| "dataset".into())
        });
        dsse::sign_with(&m, &key, &name)
    };
    let mut out = Output::open(args.output.as_deref())?;
    out.write_all(&dsse::to_bytes(&env))
        .with_path(args.output.clone().unwrap_or_else(|| "<stdout>".into()))?;
    out.finish()?;
    Ok(Outcome::Pass)
}
