//! `mlguard sign`: sign a manifest into a DSSE/in-toto envelope, co-sign an envelope, or
//! sign a model directory into an OpenSSF model-signing bundle.

use crate::cli::Global;
use crate::error::{Error, IoContext};
use crate::integrity::manifest::Manifest;
use crate::integrity::{dsse, keys, model_signing, x509};
use crate::report::Output;
use crate::{progress, Outcome, Result};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlguard sign data.manifest.json --key owner.key -o data.dsse.json
  mlguard sign data.dsse.json --key security.key -o data.dsse.json     (co-sign)
  mlguard sign model/ --format model-signing --key ec.key -o model/model.sig
  mlguard sign model/ --format model-signing --key leaf.key --certificate leaf.pem \
      --certificate-chain ca-chain.pem -o model/model.sig     (certificate mode)

The envelope is DSSE (payloadType application/vnd.in-toto+json) around an in-toto
Statement v1 whose predicate is the manifest; see docs/signing.md.
With --format model-signing the input is a model directory and the output a Sigstore
bundle that OpenSSF `model_signing verify key` accepts (ECDSA P-256/P-384 key; every file
by SHA-256, leaving out .git, .gitattributes, .github, .gitignore and the signature).")]
pub struct Args {
    /// A manifest (from `mlguard hash`) or an envelope to co-sign; with
    /// --format model-signing, a model directory.
    pub input: PathBuf,
    /// Private key (PKCS#8 PEM, from `mlguard keygen` or openssl): Ed25519 for DSSE,
    /// ECDSA P-256/P-384 for model-signing (SEC1 `EC PRIVATE KEY` PEM is read too).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Signature format: dsse (mlguard envelope of a manifest) or model-signing (OpenSSF
    /// model_signing bundle of a model directory).
    #[arg(long, value_enum, default_value = "dsse")]
    pub format: SignFormat,
    /// With --format model-signing: sign in certificate mode with this signing certificate
    /// (PEM, the certificate of --key), as `model_signing sign certificate` does.
    #[arg(long, value_name = "CERT.pem")]
    pub certificate: Option<PathBuf>,
    /// With --certificate: the chain up to the root (PEM, intermediates and root; repeatable)
    /// to embed after the signing certificate.
    #[arg(long, value_name = "CA.pem", requires = "certificate")]
    pub certificate_chain: Vec<PathBuf>,
    /// Subject name in the statement [default: the manifest's file stem].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Write the envelope here instead of stdout (may be the input, for co-signing).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignFormat {
    Dsse,
    ModelSigning,
}

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    if args.format == SignFormat::ModelSigning {
        return run_model_signing(args, g);
    }
    if args.certificate.is_some() {
        return Err(Error::usage(
            "--certificate applies to --format model-signing only (mlguard envelopes are signed by keys)",
        ));
    }
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

fn run_model_signing(args: Args, g: &Global) -> Result<Outcome> {
    let key = keys::read_private_any(&args.key)?;
    let certs = match &args.certificate {
        None => None,
        Some(c) => {
            let mut leaf = x509::read_pem_chain(c)?;
            if leaf.len() != 1 {
                return Err(Error::input(
                    c,
                    format!(
                        "holds {} certificates; give the signing certificate alone and the rest with --certificate-chain",
                        leaf.len()
                    ),
                ));
            }
            for p in &args.certificate_chain {
                leaf.extend(x509::read_pem_chain(p)?);
            }
            Some(leaf)
        }
    };
    let pb = progress::bytes(0, g.quiet);
    let bundle = model_signing::sign_tree(
        &args.input,
        &key,
        args.output.as_deref(),
        args.name.as_deref(),
        certs.as_deref(),
        &pb,
    )?;
    pb.finish_and_clear();
    let mut out = Output::open(args.output.as_deref())?;
    out.write_all(&bundle)
        .with_path(args.output.clone().unwrap_or_else(|| "<stdout>".into()))?;
    out.finish()?;
    Ok(Outcome::Pass)
}
