//! `mlguard keygen`: a key pair (Ed25519, or ECDSA P-256/P-384) in the standard PEM encodings.

use crate::cli::Global;
use crate::integrity::keys;
use crate::{Outcome, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  mlguard keygen -o owner.key       writes owner.key (private, mode 0600) and owner.pub
  mlguard keygen --algorithm p256 -o ec.key      an ECDSA key for OpenSSF model-signing

The private key is PKCS#8 PEM and the public key SubjectPublicKeyInfo PEM, the formats of
`openssl genpkey` and `openssl pkey -pubout`: keys work in both tools (and in model_signing).
The private key is never printed.")]
pub struct Args {
    /// Private key file to write; the public key goes to NAME.pub.
    #[arg(short, long, value_name = "NAME")]
    pub output: PathBuf,
    /// Key algorithm: ed25519 (mlguard DSSE envelopes), p256 or p384 (ECDSA, for OpenSSF
    /// model-signing bundles).
    #[arg(long, default_value = "ed25519", value_parser = crate::cli::choice(ALGORITHMS))]
    pub algorithm: keys::Algorithm,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

/// `--algorithm` values.
const ALGORITHMS: &[(keys::Algorithm, &str, &str)] = &[
    (
        keys::Algorithm::Ed25519,
        "ed25519",
        "Ed25519: mlguard's DSSE envelopes (the default)",
    ),
    (
        keys::Algorithm::P256,
        "p256",
        "ECDSA over NIST P-256 with SHA-256: OpenSSF model-signing bundles",
    ),
    (
        keys::Algorithm::P384,
        "p384",
        "ECDSA over NIST P-384 with SHA-384: OpenSSF model-signing bundles",
    ),
];

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let key = keys::AnyPrivate::generate(args.algorithm)?;
    let pub_path = keys::write_pair_any(&args.output, &key, args.force)?;
    let id = match &key {
        keys::AnyPrivate::Ed25519(k) => format!("keyid {}", keys::keyid(&k.verifying_key())),
        other => format!(
            "{}, model_signing key hint {}",
            other.public().algorithm(),
            crate::integrity::model_signing::key_hint(&other.public())
        ),
    };
    g.note(format!(
        "wrote {} (private, 0600) and {} ({id})",
        args.output.display(),
        pub_path.display(),
    ));
    Ok(Outcome::Pass)
}
