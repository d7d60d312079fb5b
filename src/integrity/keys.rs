//! Ed25519 keys in the standard encodings: private keys as PKCS#8 v1 PEM (what
//! `openssl genpkey -algorithm ed25519` writes), public keys as SubjectPublicKeyInfo PEM
//! (what `openssl pkey -pubout` writes), so keys move freely between mlguard and openssl.
//!
//! Private key material is never printed: errors about a key file name the file, not its
//! contents, and `SigningKey` zeroizes itself on drop.

use crate::error::{Error, IoContext, Result};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, KeypairBytes};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::Digest;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use zeroize::Zeroizing;

/// Generate a key pair from the operating system's CSPRNG.
pub fn generate() -> Result<SigningKey> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut())
        .map_err(|e| Error::usage(format!("cannot get randomness from the OS: {e}")))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// PKCS#8 v1 PEM (no embedded public key), as openssl writes it.
pub fn private_pem(key: &SigningKey) -> Result<Zeroizing<String>> {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let kp = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    kp.to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::usage(format!("cannot encode private key: {e}")))
}

pub fn public_pem(key: &VerifyingKey) -> Result<String> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::usage(format!("cannot encode public key: {e}")))
}

/// Key id: hex SHA-256 of the SubjectPublicKeyInfo DER. A hint for humans and for picking
/// the key to try first; verification never trusts it.
pub fn keyid(key: &VerifyingKey) -> String {
    match key.to_public_key_der() {
        Ok(der) => hex::encode(sha2::Sha256::digest(der.as_bytes())),
        Err(_) => hex::encode(key.as_bytes()),
    }
}

pub fn read_private(path: &Path) -> Result<SigningKey> {
    let text = Zeroizing::new(std::fs::read_to_string(path).with_path(path)?);
    if text.contains("ENCRYPTED PRIVATE KEY") {
        return Err(Error::input(
            path,
            "encrypted PKCS#8 keys are not supported (decrypt with: openssl pkey -in KEY -out KEY.plain)",
        ));
    }
    SigningKey::from_pkcs8_pem(&text).map_err(|_| {
        Error::input(
            path,
            "not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
        )
    })
}

pub fn read_public(path: &Path) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path).with_path(path)?;
    VerifyingKey::from_public_key_pem(&text).map_err(|_| {
        Error::input(
            path,
            "not an Ed25519 public key in SubjectPublicKeyInfo PEM (-----BEGIN PUBLIC KEY-----)",
        )
    })
}

/// Write `NAME` (0600, created exclusively unless `force`) and `NAME.pub`.
pub fn write_pair(name: &Path, key: &SigningKey, force: bool) -> Result<std::path::PathBuf> {
    let pub_path = {
        let mut s = name.as_os_str().to_os_string();
        s.push(".pub");
        std::path::PathBuf::from(s)
    };
    if !force {
        for p in [name, pub_path.as_path()] {
            if p.exists() {
                return Err(Error::usage(format!(
                    "{} already exists (use --force to overwrite)",
                    p.display()
                )));
            }
        }
    }
    let pem = private_pem(key)?;
    if force {
        // Never write a secret through a pre-existing file's (maybe wider) permissions.
        let _ = std::fs::remove_file(name);
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(name)
        .with_path(name)?;
    f.write_all(pem.as_bytes()).with_path(name)?;
    f.sync_all().with_path(name)?;
    std::fs::write(&pub_path, public_pem(&key.verifying_key())?).with_path(&pub_path)?;
    Ok(pub_path)
}
