//! `mlguard keygen`: an Ed25519 key pair in the standard PEM encodings.

use crate::cli::Global;
use crate::integrity::keys;
use crate::{Outcome, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  mlguard keygen -o owner.key       writes owner.key (private, mode 0600) and owner.pub

The private key is PKCS#8 PEM and the public key SubjectPublicKeyInfo PEM, the formats of
`openssl genpkey -algorithm ed25519` and `openssl pkey -pubout`: keys work in both tools.
The private key is never printed.")]
pub struct Args {
    /// Private key file to write; the public key goes to NAME.pub.
    #[arg(short, long, value_name = "NAME")]
    pub output: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let key = keys::generate()?;
    let pub_path = keys::write_pair(&args.output, &key, args.force)?;
    g.note(format!(
        "wrote {} (private, 0600) and {} (keyid {})",
        args.output.display(),
        pub_path.display(),
        keys::keyid(&key.verifying_key())
    ));
    Ok(Outcome::Pass)
}
