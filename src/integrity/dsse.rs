//! DSSE envelopes carrying in-toto Statements whose predicate is a manifest (issue 3).
//! Interface fixed here so `hash --sign` and `verify --signature` can call it; bodies are
//! filled in by the signing work.

use super::manifest::Manifest;
use crate::config::Config;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Sign `manifest` with the PKCS#8 PEM private key at `key`; returns the envelope JSON bytes.
pub fn sign_manifest(manifest: &Manifest, key: &Path) -> Result<Vec<u8>> {
    let _ = (manifest, key);
    Err(Error::usage("signing is not implemented yet"))
}

/// Check the envelope at `envelope` against trusted keys (`pubkeys` from the command line,
/// else `[trust] keys` in `config`) and a threshold (`threshold`, else `[trust] threshold`,
/// else 1). Returns the signed manifest, already validated. Trust failures are
/// `Error::Trust` (exit 3); unreadable or malformed envelopes are `Error::Input` (exit 2).
pub fn open_verified(
    envelope: &Path,
    pubkeys: &[PathBuf],
    threshold: Option<usize>,
    config: &Config,
) -> Result<Manifest> {
    let _ = (envelope, pubkeys, threshold, config);
    Err(Error::usage(
        "signature verification is not implemented yet",
    ))
}
