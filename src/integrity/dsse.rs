//! DSSE envelopes carrying in-toto Statements whose predicate is a dataset manifest.
//!
//! ```text
//! envelope  = {payloadType: "application/vnd.in-toto+json", payload: b64(statement),
//!              signatures: [{keyid, sig: b64(Ed25519(PAE(payloadType, payload)))}]}
//! statement = {_type: "https://in-toto.io/Statement/v1",
//!              subject: [{name, digest: {blake3: <Merkle root>, sha256: <sha256 of manifest>}}],
//!              predicateType: PREDICATE_TYPE, predicate: <manifest>}
//! ```
//!
//! Verification order (docs/signing.md): parse the envelope (malformed → exit 2), check
//! signatures over the exact PAE bytes with `verify_strict` and count *distinct trusted
//! keys* (a key counts once however many signatures it made; `keyid` is never trusted),
//! enforce the threshold, and only then look inside the payload. Every failure after
//! parsing is a trust failure (exit 3) saying which check failed.

use super::keys;
use super::manifest::Manifest;
use crate::config::Config;
use crate::error::{Error, IoContext, Result};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest;
use std::path::{Path, PathBuf};

pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://mlguard.dev/attestations/dataset-manifest/v1";

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STD_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decode standard or URL-safe base64, padded or not (DSSE requires accepting both).
pub fn b64decode(s: &str) -> std::result::Result<Vec<u8>, String> {
    STD_ANY
        .decode(s)
        .or_else(|_| URL_ANY.decode(s))
        .map_err(|e| e.to_string())
}

pub fn b64encode(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvelopeSignature {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    pub sig: String,
}

/// DSSE v1 Pre-Authentication Encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN in ASCII decimal.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + payload_type.len() + 32);
    v.extend_from_slice(
        format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            body.len()
        )
        .as_bytes(),
    );
    v.extend_from_slice(body);
    v
}

/// The manifest's canonical bytes for the subject's `sha256`: compact JSON of the manifest
/// in its field order (re-serialising a parsed manifest gives the same bytes).
pub fn canonical_manifest(m: &Manifest) -> Vec<u8> {
    serde_json::to_vec(m).unwrap_or_default()
}

fn statement(m: &Manifest, name: &str) -> Value {
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{
            "name": name,
            "digest": {
                "blake3": m.root,
                "sha256": hex::encode(sha2::Sha256::digest(canonical_manifest(m))),
            }
        }],
        "predicateType": PREDICATE_TYPE,
        "predicate": m,
    })
}

/// Sign a manifest into a new envelope. `name` is the subject name (the dataset).
pub fn sign_with(m: &Manifest, key: &SigningKey, name: &str) -> Envelope {
    let payload = serde_json::to_vec(&statement(m, name)).unwrap_or_default();
    let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
    Envelope {
        payload_type: PAYLOAD_TYPE.into(),
        payload: b64encode(&payload),
        signatures: vec![EnvelopeSignature {
            keyid: keys::keyid(&key.verifying_key()),
            sig: b64encode(&sig.to_bytes()),
        }],
    }
}

/// Add a signature by `key` to an existing envelope without touching the payload.
pub fn cosign(env: &mut Envelope, key: &SigningKey, name: &Path) -> Result<()> {
    let payload = b64decode(&env.payload)
        .map_err(|e| Error::input(name, format!("payload is not base64: {e}")))?;
    let vk = key.verifying_key();
    let msg = pae(&env.payload_type, &payload);
    let already = env.signatures.iter().any(|s| {
        b64decode(&s.sig)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .is_some_and(|sig| vk.verify_strict(&msg, &sig).is_ok())
    });
    if already {
        return Err(Error::usage(format!(
            "{} is already signed by this key (keyid {})",
            name.display(),
            keys::keyid(&vk)
        )));
    }
    env.signatures.push(EnvelopeSignature {
        keyid: keys::keyid(&vk),
        sig: b64encode(&key.sign(&msg).to_bytes()),
    });
    Ok(())
}

/// Serialise an envelope (pretty JSON + newline).
pub fn to_bytes(env: &Envelope) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(env).unwrap_or_default();
    v.push(b'\n');
    v
}

/// The contract used by `hash --sign`: sign with the key file at `key`.
pub fn sign_manifest(manifest: &Manifest, key: &Path, name: &str) -> Result<Vec<u8>> {
    let k = keys::read_private(key)?;
    Ok(to_bytes(&sign_with(manifest, &k, name)))
}

/// Parse an envelope file (structure only: nothing is trusted yet).
pub fn read_envelope(path: &Path) -> Result<Envelope> {
    let bytes = std::fs::read(path).with_path(path)?;
    parse_envelope(&bytes, path)
}

/// Most signatures an envelope may carry (co-signers of one dataset, not a key ring):
/// verification is trusted keys × signatures.
pub const MAX_SIGNATURES: usize = 64;

pub fn parse_envelope(bytes: &[u8], name: &Path) -> Result<Envelope> {
    let env: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| Error::input(name, format!("not a DSSE envelope: {e}")))?;
    if env.signatures.len() > MAX_SIGNATURES {
        return Err(Error::input(
            name,
            format!(
                "{} signatures (at most {MAX_SIGNATURES})",
                env.signatures.len()
            ),
        ));
    }
    Ok(env)
}

/// Verify signatures: at least `threshold` distinct keys of `trusted` must have signed the
/// PAE. Returns the payload bytes.
pub fn verify_signatures(
    env: &Envelope,
    trusted: &[VerifyingKey],
    threshold: usize,
    name: &Path,
) -> Result<Vec<u8>> {
    let payload = b64decode(&env.payload)
        .map_err(|e| Error::input(name, format!("payload is not valid base64: {e}")))?;
    let mut sigs = Vec::new();
    for (i, s) in env.signatures.iter().enumerate() {
        let raw = b64decode(&s.sig)
            .map_err(|e| Error::input(name, format!("signature {i} is not valid base64: {e}")))?;
        let sig = Signature::from_slice(&raw).map_err(|_| {
            Error::input(
                name,
                format!("signature {i} is not a 64-byte Ed25519 signature"),
            )
        })?;
        sigs.push(sig);
    }
    let d = name.display();
    if sigs.is_empty() {
        return Err(Error::trust(format!("{d}: envelope has no signatures")));
    }
    let msg = pae(&env.payload_type, &payload);
    let signed_by = trusted
        .iter()
        .filter(|k| sigs.iter().any(|s| k.verify_strict(&msg, s).is_ok()))
        .count();
    if signed_by < threshold {
        return Err(Error::trust(format!(
            "{d}: signature check failed: {signed_by} of {} trusted key(s) signed, threshold is {threshold} ({} signature(s) present)",
            trusted.len(),
            sigs.len()
        )));
    }
    if env.payload_type != PAYLOAD_TYPE {
        return Err(Error::trust(format!(
            "{d}: payloadType is '{}', expected '{PAYLOAD_TYPE}'",
            env.payload_type
        )));
    }
    Ok(payload)
}

/// Interpret a (verified) payload: statement type, predicate type, the manifest, and the
/// subject digests binding it. Failures are trust failures: what was signed is not a
/// consistent mlguard statement.
pub fn parse_statement(payload: &[u8], name: &Path) -> Result<Manifest> {
    let d = name.display();
    let st: Value = serde_json::from_slice(payload)
        .map_err(|e| Error::trust(format!("{d}: payload is not JSON: {e}")))?;
    if st["_type"] != STATEMENT_TYPE {
        return Err(Error::trust(format!(
            "{d}: statement _type is {}, expected '{STATEMENT_TYPE}'",
            st["_type"]
        )));
    }
    if st["predicateType"] != PREDICATE_TYPE {
        return Err(Error::trust(format!(
            "{d}: unknown predicateType {}, expected '{PREDICATE_TYPE}'",
            st["predicateType"]
        )));
    }
    let m: Manifest = serde_json::from_value(st["predicate"].clone())
        .map_err(|e| Error::trust(format!("{d}: predicate is not an mlguard manifest: {e}")))?;
    m.validate(name)
        .map_err(|e| Error::trust(format!("signed manifest rejected: {e}")))?;
    let subject = st["subject"]
        .as_array()
        .and_then(|a| a.first())
        .ok_or_else(|| Error::trust(format!("{d}: statement has no subject")))?;
    if subject["digest"]["blake3"] != m.root.as_str() {
        return Err(Error::trust(format!(
            "{d}: subject digest blake3 {} does not match the manifest root {}",
            subject["digest"]["blake3"], m.root
        )));
    }
    let sha = hex::encode(sha2::Sha256::digest(canonical_manifest(&m)));
    if subject["digest"]["sha256"] != sha.as_str() {
        return Err(Error::trust(format!(
            "{d}: subject digest sha256 does not match the manifest"
        )));
    }
    Ok(m)
}

/// `[trust]` in mlguard.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// Public key files (SPKI PEM), relative to the config file.
    #[serde(default)]
    pub keys: Vec<PathBuf>,
    pub threshold: Option<usize>,
    /// Trusted root certificates (PEM) for certificate-mode model-signing bundles,
    /// relative to the config file.
    #[serde(default)]
    pub certificate_chain: Vec<PathBuf>,
}

/// Resolve trusted keys (command line first, else config) and the threshold (command line,
/// else config, else 1). The same key listed twice counts once.
pub fn trusted_keys(
    pubkeys: &[PathBuf],
    threshold: Option<usize>,
    config: &Config,
) -> Result<(Vec<VerifyingKey>, usize)> {
    let tc: TrustConfig = config.section("trust")?;
    let paths: Vec<PathBuf> = if pubkeys.is_empty() {
        tc.keys.iter().map(|p| config.resolve(p)).collect()
    } else {
        pubkeys.to_vec()
    };
    if paths.is_empty() {
        return Err(Error::usage(
            "no trusted keys: give --pubkey PUB (repeatable) or set [trust] keys in mlguard.toml",
        ));
    }
    let mut keys: Vec<VerifyingKey> = Vec::new();
    for p in &paths {
        let k = keys::read_public(p)?;
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let t = threshold.or(tc.threshold).unwrap_or(1);
    if t == 0 {
        return Err(Error::usage("--threshold must be at least 1"));
    }
    if t > keys.len() {
        return Err(Error::usage(format!(
            "threshold {t} is more than the {} distinct trusted key(s) given",
            keys.len()
        )));
    }
    Ok((keys, t))
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
    let (keys, t) = trusted_keys(pubkeys, threshold, config)?;
    let env = read_envelope(envelope)?;
    let payload = verify_signatures(&env, &keys, t, envelope)?;
    parse_statement(&payload, envelope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_vector() {
        // secure-systems-lab/dsse protocol.md test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn base64_accepts_both_alphabets_and_padding() {
        let data = [0xfbu8, 0xff, 0x01];
        assert_eq!(b64decode("+/8B").unwrap(), data);
        assert_eq!(b64decode("-_8B").unwrap(), data);
        assert_eq!(b64decode("aGk=").unwrap(), b"hi");
        assert_eq!(b64decode("aGk").unwrap(), b"hi");
        assert!(b64decode("a$b").is_err());
    }
}
