//! Keys in the standard encodings: private keys as PKCS#8 PEM (what
//! `openssl genpkey -algorithm ed25519` writes), public keys as SubjectPublicKeyInfo PEM
//! (what `openssl pkey -pubout` writes), so keys move freely between mlguard and openssl.
//!
//! Ed25519 is the key of mlguard's own DSSE envelopes. ECDSA P-256 / P-384 ([`AnyPrivate`],
//! [`AnyPublic`]) exist because OpenSSF `model_signing` verifies elliptic-curve keys only:
//! they sign and verify Sigstore bundles (`integrity::model_signing`).
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

/// Key algorithms `mlguard keygen --algorithm` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Ed25519: mlguard's DSSE envelopes (the default).
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256: OpenSSF model-signing bundles.
    P256,
    /// ECDSA over NIST P-384 with SHA-384: OpenSSF model-signing bundles.
    P384,
}

/// A private key of any supported algorithm. Every variant zeroizes itself on drop.
pub enum AnyPrivate {
    Ed25519(SigningKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// A public key of any supported algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyPublic {
    Ed25519(VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

impl AnyPrivate {
    pub fn generate(alg: Algorithm) -> Result<AnyPrivate> {
        use p256::elliptic_curve::Generate;
        fn rng_err(e: impl std::fmt::Display) -> Error {
            Error::usage(format!("cannot get randomness from the OS: {e}"))
        }
        Ok(match alg {
            Algorithm::Ed25519 => AnyPrivate::Ed25519(generate()?),
            Algorithm::P256 => {
                AnyPrivate::P256(p256::ecdsa::SigningKey::try_generate().map_err(rng_err)?)
            }
            Algorithm::P384 => {
                AnyPrivate::P384(p384::ecdsa::SigningKey::try_generate().map_err(rng_err)?)
            }
        })
    }
    pub fn public(&self) -> AnyPublic {
        match self {
            AnyPrivate::Ed25519(k) => AnyPublic::Ed25519(k.verifying_key()),
            AnyPrivate::P256(k) => AnyPublic::P256(*k.verifying_key()),
            AnyPrivate::P384(k) => AnyPublic::P384(*k.verifying_key()),
        }
    }
    /// PKCS#8 PEM.
    pub fn to_pem(&self) -> Result<Zeroizing<String>> {
        use p256::pkcs8::EncodePrivateKey;
        let r = match self {
            AnyPrivate::Ed25519(k) => return private_pem(k),
            AnyPrivate::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            AnyPrivate::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
        };
        r.map_err(|e| Error::usage(format!("cannot encode private key: {e}")))
    }
}

impl AnyPublic {
    /// SubjectPublicKeyInfo PEM, LF line endings, 64-column base64: the exact bytes
    /// Python `cryptography` writes, which is what model_signing's key hint hashes.
    pub fn to_pem(&self) -> Result<String> {
        let r = match self {
            AnyPublic::Ed25519(k) => return public_pem(k),
            AnyPublic::P256(k) => k.to_public_key_pem(LineEnding::LF),
            AnyPublic::P384(k) => k.to_public_key_pem(LineEnding::LF),
        };
        r.map_err(|e| Error::usage(format!("cannot encode public key: {e}")))
    }
    pub fn algorithm(&self) -> &'static str {
        match self {
            AnyPublic::Ed25519(_) => "Ed25519",
            AnyPublic::P256(_) => "ECDSA P-256",
            AnyPublic::P384(_) => "ECDSA P-384",
        }
    }
}

/// Read a private key of any supported algorithm: PKCS#8 PEM (Ed25519, P-256, P-384) or
/// SEC1 `EC PRIVATE KEY` PEM (what `openssl ecparam -genkey` writes).
pub fn read_private_any(path: &Path) -> Result<AnyPrivate> {
    use p256::pkcs8::DecodePrivateKey as _;
    let text = Zeroizing::new(std::fs::read_to_string(path).with_path(path)?);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(Error::input(
            path,
            "encrypted private keys are not supported (decrypt with: openssl pkey -in KEY -out KEY.plain)",
        ));
    }
    if let Ok(k) = SigningKey::from_pkcs8_pem(&text) {
        return Ok(AnyPrivate::Ed25519(k));
    }
    if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(&text) {
        return Ok(AnyPrivate::P256(k));
    }
    if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_pem(&text) {
        return Ok(AnyPrivate::P384(k));
    }
    if let Ok(k) = p256::SecretKey::from_sec1_pem(&text) {
        return Ok(AnyPrivate::P256(k.into()));
    }
    if let Ok(k) = p384::SecretKey::from_sec1_pem(&text) {
        return Ok(AnyPrivate::P384(k.into()));
    }
    Err(Error::input(
        path,
        "not an Ed25519, ECDSA P-256 or ECDSA P-384 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) or SEC1 PEM (-----BEGIN EC PRIVATE KEY-----)",
    ))
}

/// Read a public key of any supported algorithm (SubjectPublicKeyInfo PEM).
pub fn read_public_any(path: &Path) -> Result<AnyPublic> {
    use p256::pkcs8::DecodePublicKey as _;
    let text = std::fs::read_to_string(path).with_path(path)?;
    if let Ok(k) = VerifyingKey::from_public_key_pem(&text) {
        return Ok(AnyPublic::Ed25519(k));
    }
    if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(&text) {
        return Ok(AnyPublic::P256(k));
    }
    if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_pem(&text) {
        return Ok(AnyPublic::P384(k));
    }
    Err(Error::input(
        path,
        "not an Ed25519, ECDSA P-256 or ECDSA P-384 public key in SubjectPublicKeyInfo PEM (-----BEGIN PUBLIC KEY-----)",
    ))
}

/// Write `NAME` (0600, created exclusively unless `force`) and `NAME.pub`.
pub fn write_pair(name: &Path, key: &SigningKey, force: bool) -> Result<std::path::PathBuf> {
    write_pair_any(name, &AnyPrivate::Ed25519(key.clone()), force)
}

/// [`write_pair`] for a key of any algorithm.
pub fn write_pair_any(name: &Path, key: &AnyPrivate, force: bool) -> Result<std::path::PathBuf> {
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
    let pem = key.to_pem()?;
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
    std::fs::write(&pub_path, key.public().to_pem()?).with_path(&pub_path)?;
    Ok(pub_path)
}
