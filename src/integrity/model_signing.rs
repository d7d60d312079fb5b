//! OpenSSF model-signing (`pip install model-signing`, v1.x) signatures: Sigstore bundles
//! v0.3 around a DSSE envelope whose in-toto statement lists every file of a model with its
//! SHA-256, signed with an ECDSA key (`model_signing sign key`).
//!
//! ```text
//! bundle    = {mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
//!              verificationMaterial: {publicKey: {hint: hex sha256(SPKI PEM)}, tlogEntries: []},
//!              dsseEnvelope: {payload: b64(statement), payloadType: "application/vnd.in-toto+json",
//!                             signatures: [{sig: b64(DER ECDSA(PAE)), keyid: ""}]}}
//! statement = {_type: in-toto Statement v1,
//!              subject: [{name: <model dir name>, digest: {sha256: SHA256(d_1 ‖ … ‖ d_n)}}],
//!              predicateType: "https://model_signing/signature/v1.0",
//!              predicate: {serialization: {method: "files", hash_type: "sha256",
//!                                          allow_symlinks: false, ignore_paths: [...]},
//!                          resources: [{name: "dir/file", algorithm: "sha256", digest: hex}, ...]}}
//! ```
//!
//! `d_i` are the raw resource digests in the order listed. The signature is ECDSA with the
//! curve's hash (P-256/SHA-256, P-384/SHA-384), DER-encoded, over the DSSE PAE.
//!
//! Why a module of its own rather than a second predicate in `dsse.rs`: the wrapper (a
//! Sigstore bundle), the keys (ECDSA), the digests (SHA-256 per file, no Merkle tree) and
//! the meaning of the tree (`ignore_paths`, no `.mlguardignore`) all differ; only the PAE and
//! the exit-code contract are shared. Verification is strict and ordered like `dsse.rs`:
//! structure (exit 2) → signature by a trusted key over the exact PAE (exit 3) → only then
//! the payload, every inconsistency of which is a trust failure (exit 3) → the files (exit 1).
//!
//! [`parse_bundle`] and [`parse_statement`] take bytes and never panic: they are the
//! entry points for fuzzing.

use super::dsse::{self, TrustConfig};
use super::hasher::{HashOptions, DEFAULT_CHUNK_SIZE};
use super::keys::{self, AnyPrivate, AnyPublic};
use super::manifest::{decode_path, encode_path, EntryKind};
use super::tree::hash_tree;
use super::verify::{FileResult, Status, VerifyResult};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::input::source::WalkOptions;
use base64::Engine;
use indicatif::ProgressBar;
use serde_json::{json, Map, Value};
use sha2::Digest;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The bundle media type model_signing 1.x writes and accepts (key and certificate modes).
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The other spelling of v0.3 the Sigstore bundle spec allows.
const BUNDLE_MEDIA_TYPE_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// model_signing 0.2's predicate: only a subject list, no serialization description.
const PREDICATE_TYPE_COMPAT: &str = "https://model_signing/Digests/v0.1";
/// Largest bundle read: a 1-million-file model's resources are ~150 MB of base64 JSON, far
/// beyond any real model; 256 MiB bounds memory while leaving room.
pub const MAX_BUNDLE_BYTES: usize = 256 << 20;
/// Most resources in one statement.
pub const MAX_RESOURCES: usize = 1_000_000;
/// Longest signature accepted (a DER P-384 signature is at most 104 bytes; Ed25519 is 64).
const MAX_SIG_BYTES: usize = 512;
/// What model_signing ignores by default (`--ignore-git-paths`), besides the signature.
pub const GIT_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Strict base64 for bundle fields: the standard alphabet, canonical padding, no trailing
/// bits (what protobuf's JSON mapping writes and model_signing emits).
fn b64(field: &str, s: &Value, name: &Path) -> Result<Vec<u8>> {
    let s = s
        .as_str()
        .ok_or_else(|| Error::input(name, format!("{field} is missing or not a string")))?;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| {
            Error::input(
                name,
                format!("{field} is not canonical standard base64: {e}"),
            )
        })
}

/// Does this signature file look like a Sigstore bundle (a JSON object with `mediaType`)?
/// Cheap: nothing is allocated for the rest of the document.
pub fn is_bundle(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(bytes).is_ok_and(|p| p.media_type.is_some())
}

/// What the bundle says about the signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// Key mode: a hint (hex SHA-256 of the signer's SPKI PEM). Never trusted, only reported.
    PublicKey { hint: Option<String> },
    /// Certificate (or keyless) mode: the certificates of the named field
    /// (`x509CertificateChain`: leaf first, then intermediates; `certificate`: the leaf),
    /// parsed strictly, not yet trusted.
    Certificate {
        field: &'static str,
        certs: Vec<super::x509::Cert>,
    },
}

/// A parsed bundle: structure checked, nothing trusted yet.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub media_type: String,
    pub material: Material,
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<Vec<u8>>,
    /// `verificationMaterial.tlogEntries` present (Rekor entries: a keyless bundle).
    pub tlog_entries: usize,
}

/// Parse a Sigstore bundle (structure only). Every failure is an input error (exit 2)
/// naming `name`.
pub fn parse_bundle(bytes: &[u8], name: &Path) -> Result<Bundle> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(Error::input(
            name,
            format!(
                "{} bytes: larger than the {} MiB a signature bundle may be",
                bytes.len(),
                MAX_BUNDLE_BYTES >> 20
            ),
        ));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::input(name, format!("not a Sigstore bundle (JSON): {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::input(name, "not a Sigstore bundle: not a JSON object"))?;
    let media_type = obj
        .get("mediaType")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::input(name, "mediaType is missing or not a string"))?;
    if media_type != BUNDLE_MEDIA_TYPE && media_type != BUNDLE_MEDIA_TYPE_ALT {
        return Err(Error::input(
            name,
            format!(
                "unsupported bundle mediaType '{}' (mlguard reads '{BUNDLE_MEDIA_TYPE}', what model_signing 1.x writes)",
                media_type.escape_debug()
            ),
        ));
    }
    let vm = obj
        .get("verificationMaterial")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::input(name, "verificationMaterial is missing or not an object"))?;
    let material = if let Some(pk) = vm.get("publicKey") {
        let pk = pk
            .as_object()
            .ok_or_else(|| Error::input(name, "verificationMaterial.publicKey is not an object"))?;
        let hint = match pk.get("hint") {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) if h.len() <= 256 => Some(h.clone()),
            Some(_) => {
                return Err(Error::input(
                    name,
                    "verificationMaterial.publicKey.hint is not a short string",
                ))
            }
        };
        Material::PublicKey { hint }
    } else if let Some(c) = vm.get("certificate") {
        let cert = cert_field("verificationMaterial.certificate", c, name)?;
        Material::Certificate {
            field: "certificate",
            certs: vec![cert],
        }
    } else if let Some(ch) = vm.get("x509CertificateChain") {
        let list = ch
            .get("certificates")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                Error::input(
                    name,
                    "verificationMaterial.x509CertificateChain.certificates is missing, empty or not a list",
                )
            })?;
        if list.len() > super::x509::MAX_CERTS {
            return Err(Error::input(
                name,
                format!(
                    "{} certificates in the chain (at most {})",
                    list.len(),
                    super::x509::MAX_CERTS
                ),
            ));
        }
        let certs = list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cert_field(
                    &format!("verificationMaterial.x509CertificateChain.certificates[{i}]"),
                    c,
                    name,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Material::Certificate {
            field: "x509CertificateChain",
            certs,
        }
    } else {
        return Err(Error::input(
            name,
            "verificationMaterial has none of publicKey, certificate, x509CertificateChain",
        ));
    };
    if obj.contains_key("messageSignature") {
        return Err(Error::input(
            name,
            "the bundle holds a messageSignature, not a DSSE envelope (model_signing signs DSSE envelopes)",
        ));
    }
    let env = obj
        .get("dsseEnvelope")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::input(name, "dsseEnvelope is missing or not an object"))?;
    let payload_type = env
        .get("payloadType")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::input(name, "dsseEnvelope.payloadType is missing or not a string"))?
        .to_string();
    let payload = b64(
        "dsseEnvelope.payload",
        env.get("payload").unwrap_or(&Value::Null),
        name,
    )?;
    let sigs = env
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::input(name, "dsseEnvelope.signatures is missing or not an array"))?;
    if sigs.len() > dsse::MAX_SIGNATURES {
        return Err(Error::input(
            name,
            format!(
                "{} signatures (at most {})",
                sigs.len(),
                dsse::MAX_SIGNATURES
            ),
        ));
    }
    let mut signatures = Vec::with_capacity(sigs.len());
    for (i, s) in sigs.iter().enumerate() {
        let field = format!("dsseEnvelope.signatures[{i}].sig");
        let raw = b64(&field, s.get("sig").unwrap_or(&Value::Null), name)?;
        if raw.is_empty() || raw.len() > MAX_SIG_BYTES {
            return Err(Error::input(
                name,
                format!("{field}: {} bytes is not a signature", raw.len()),
            ));
        }
        signatures.push(raw);
    }
    let tlog_entries = match vm.get("tlogEntries") {
        None | Some(Value::Null) => 0,
        Some(Value::Array(a)) => a.len(),
        Some(_) => {
            return Err(Error::input(
                name,
                "verificationMaterial.tlogEntries is not a list",
            ))
        }
    };
    Ok(Bundle {
        media_type: media_type.to_string(),
        material,
        payload_type,
        payload,
        signatures,
        tlog_entries,
    })
}

/// One `{"rawBytes": base64 DER}` certificate of the verification material.
fn cert_field(field: &str, v: &Value, name: &Path) -> Result<super::x509::Cert> {
    let raw = b64(
        &format!("{field}.rawBytes"),
        v.get("rawBytes").unwrap_or(&Value::Null),
        name,
    )?;
    let origin = match field.rsplit_once('[') {
        Some((_, "0]")) | None => "the bundle's signing certificate".to_string(),
        Some((_, i)) => format!("the bundle's certificate {}", i.trim_end_matches(']')),
    };
    super::x509::parse_certificate(&raw, &origin).map_err(|m| Error::input(name, m))
}

/// Hash algorithm of the resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashType {
    Sha256,
    Blake3,
}

impl HashType {
    pub fn as_str(self) -> &'static str {
        match self {
            HashType::Sha256 => "sha256",
            HashType::Blake3 => "blake3",
        }
    }
}

/// One file of the signed model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// POSIX path relative to the model directory (valid, canonical: checked).
    pub name: String,
    /// Lower-case hex.
    pub digest: String,
}

/// A verified statement: what the signer says the model is.
#[derive(Debug, Clone)]
pub struct Statement {
    pub model_name: String,
    /// Hex SHA-256 over the resource digests, checked against the resources.
    pub subject_digest: String,
    pub hash_type: HashType,
    pub allow_symlinks: bool,
    pub ignore_paths: Vec<String>,
    pub resources: Vec<Resource>,
}

/// A resource name model_signing itself would write: relative, `/`-separated, no empty,
/// `.` or `..` components, no NUL. Anything else cannot name a file inside the model.
fn check_name(n: &str) -> std::result::Result<(), &'static str> {
    if n.is_empty() {
        return Err("empty name");
    }
    if n.starts_with('/') {
        return Err("absolute path");
    }
    if n.contains('\0') {
        return Err("NUL byte");
    }
    for c in n.split('/') {
        match c {
            "" => return Err("empty path component"),
            "." => return Err("'.' component"),
            ".." => return Err("'..' component: escapes the model directory"),
            _ => {}
        }
    }
    Ok(())
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    (s.len() == 64)
        .then(|| hex::decode_to_slice(s, &mut out).ok())
        .flatten()
        .map(|_| out)
}

/// Interpret a payload (after its signature verified). Failures are trust failures (exit 3),
/// except features mlguard does not implement (`shards` serialization, BLAKE2), which are
/// input errors (exit 2: the model cannot be checked, which is not the same as "forged").
pub fn parse_statement(payload: &[u8], name: &Path) -> Result<Statement> {
    let d = name.display();
    let bad = |msg: String| Error::trust(format!("{d}: {msg}"));
    let st: Value = serde_json::from_slice(payload)
        .map_err(|e| bad(format!("signed payload is not JSON: {e}")))?;
    if st["_type"] != dsse::STATEMENT_TYPE {
        return Err(bad(format!(
            "statement _type is {}, expected '{}'",
            st["_type"],
            dsse::STATEMENT_TYPE
        )));
    }
    if st["predicateType"] == PREDICATE_TYPE_COMPAT {
        return Err(Error::input(
            name,
            format!("predicateType '{PREDICATE_TYPE_COMPAT}' (model_signing 0.2) is not supported: re-sign with model_signing 1.x"),
        ));
    }
    if st["predicateType"] != PREDICATE_TYPE {
        return Err(bad(format!(
            "unknown predicateType {}, expected '{PREDICATE_TYPE}'",
            st["predicateType"]
        )));
    }
    let subjects = st["subject"]
        .as_array()
        .ok_or_else(|| bad("statement has no subject list".into()))?;
    if subjects.len() != 1 {
        return Err(bad(format!(
            "statement has {} subjects, model_signing writes exactly one",
            subjects.len()
        )));
    }
    let model_name = subjects[0]["name"]
        .as_str()
        .ok_or_else(|| bad("subject has no name".into()))?
        .to_string();
    let subject_digest = subjects[0]["digest"]["sha256"]
        .as_str()
        .filter(|s| hex32(s).is_some())
        .ok_or_else(|| bad("subject digest sha256 is missing or not 64 hex digits".into()))?
        .to_ascii_lowercase();
    let pred = &st["predicate"];
    let ser = pred["serialization"]
        .as_object()
        .ok_or_else(|| bad("predicate.serialization is missing".into()))?;
    match ser.get("method").and_then(Value::as_str) {
        Some("files") => {}
        Some("shards") => {
            return Err(Error::input(
                name,
                "serialization method 'shards' is not supported by mlguard (sign with the default per-file serialization)",
            ))
        }
        other => {
            return Err(bad(format!(
                "unknown serialization method {}",
                other.map(|s| format!("'{}'", s.escape_debug())).unwrap_or("(none)".into())
            )))
        }
    }
    let hash_type = match ser.get("hash_type").and_then(Value::as_str) {
        Some("sha256") => HashType::Sha256,
        Some("blake3") => HashType::Blake3,
        Some("blake2") => {
            return Err(Error::input(
                name,
                "hash_type 'blake2' is not supported by mlguard (sha256 and blake3 are)",
            ))
        }
        other => {
            return Err(bad(format!(
                "unknown hash_type {}",
                other
                    .map(|s| format!("'{}'", s.escape_debug()))
                    .unwrap_or("(none)".into())
            )))
        }
    };
    let allow_symlinks = ser
        .get("allow_symlinks")
        .and_then(Value::as_bool)
        .ok_or_else(|| bad("serialization.allow_symlinks is missing or not a boolean".into()))?;
    let ignore_paths = match ser.get("ignore_paths") {
        None => Vec::new(),
        Some(Value::Array(a)) if a.len() <= 10_000 => a
            .iter()
            .map(|p| p.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("serialization.ignore_paths holds a non-string".into()))?,
        Some(_) => {
            return Err(bad(
                "serialization.ignore_paths is not a list of at most 10000 paths".into(),
            ))
        }
    };
    let list = pred["resources"]
        .as_array()
        .ok_or_else(|| bad("predicate.resources is missing or not a list".into()))?;
    if list.len() > MAX_RESOURCES {
        return Err(Error::input(
            name,
            format!("{} resources (at most {MAX_RESOURCES})", list.len()),
        ));
    }
    let mut hasher = sha2::Sha256::new();
    let mut resources = Vec::with_capacity(list.len());
    let mut seen = HashSet::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let rname = r["name"]
            .as_str()
            .ok_or_else(|| bad(format!("resource {i} has no name")))?;
        check_name(rname).map_err(|why| {
            bad(format!(
                "resource {i} name '{}': {why}",
                rname.escape_debug()
            ))
        })?;
        if r["algorithm"] != hash_type.as_str() {
            return Err(bad(format!(
                "resource '{}' has algorithm {}, the serialization says '{}'",
                rname.escape_debug(),
                r["algorithm"],
                hash_type.as_str()
            )));
        }
        let digest = r["digest"].as_str().and_then(hex32).ok_or_else(|| {
            bad(format!(
                "resource '{}' digest is not 64 hex digits",
                rname.escape_debug()
            ))
        })?;
        if !seen.insert(rname) {
            return Err(bad(format!(
                "resource '{}' is listed twice",
                rname.escape_debug()
            )));
        }
        hasher.update(digest);
        resources.push(Resource {
            name: rname.to_string(),
            digest: hex::encode(digest),
        });
    }
    let computed = hex::encode(hasher.finalize());
    if computed != subject_digest {
        return Err(bad(format!(
            "subject digest sha256 {subject_digest} does not match the resources (they hash to {computed})"
        )));
    }
    Ok(Statement {
        model_name,
        subject_digest,
        hash_type,
        allow_symlinks,
        ignore_paths,
        resources,
    })
}

/// model_signing's key hint: hex SHA-256 of the SPKI PEM text.
pub fn key_hint(k: &AnyPublic) -> String {
    k.to_pem()
        .map(|pem| hex::encode(sha2::Sha256::digest(pem.as_bytes())))
        .unwrap_or_default()
}

/// Does `sig` verify over `msg` with `key`? ECDSA signatures are DER (strictly parsed),
/// with the curve's own hash; Ed25519 uses `verify_strict`.
fn verifies(key: &AnyPublic, msg: &[u8], sig: &[u8]) -> bool {
    use p256::ecdsa::signature::Verifier;
    match key {
        AnyPublic::P256(k) => {
            p256::ecdsa::DerSignature::try_from(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
        }
        AnyPublic::P384(k) => {
            p384::ecdsa::DerSignature::try_from(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
        }
        AnyPublic::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
            .is_ok_and(|s| k.verify_strict(msg, &s).is_ok()),
    }
}

/// Trusted keys for a bundle: `--pubkey` (repeatable), else `[trust] keys` in mlguard.toml;
/// threshold as for DSSE envelopes. Keys may be ECDSA P-256/P-384 or Ed25519.
pub fn trusted_keys(
    pubkeys: &[PathBuf],
    threshold: Option<usize>,
    config: &Config,
) -> Result<(Vec<AnyPublic>, usize)> {
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
    let mut out: Vec<AnyPublic> = Vec::new();
    for p in &paths {
        let k = keys::read_public_any(p)?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    let t = threshold.or(tc.threshold).unwrap_or(1);
    if t == 0 {
        return Err(Error::usage("--threshold must be at least 1"));
    }
    if t > out.len() {
        return Err(Error::usage(format!(
            "threshold {t} is more than the {} distinct trusted key(s) given",
            out.len()
        )));
    }
    Ok((out, t))
}

/// Check a parsed bundle against trusted keys and return its statement. Every failure is a
/// trust failure (exit 3) except unsupported statement features (see [`parse_statement`]).
pub fn verify_bundle(
    b: &Bundle,
    trusted: &[AnyPublic],
    threshold: usize,
    name: &Path,
) -> Result<Statement> {
    let d = name.display();
    let hint = match &b.material {
        Material::Certificate { .. } => {
            return Err(Error::usage(format!(
                "{d} is a certificate-mode bundle: verify it with --certificate-chain CA.pem (the roots you trust), not --pubkey"
            )))
        }
        Material::PublicKey { hint } => hint.clone(),
    };
    if b.signatures.is_empty() {
        return Err(Error::trust(format!("{d}: the envelope has no signatures")));
    }
    let msg = dsse::pae(&b.payload_type, &b.payload);
    let signed_by = trusted
        .iter()
        .filter(|k| b.signatures.iter().any(|s| verifies(k, &msg, s)))
        .count();
    if signed_by < threshold {
        let hint_note = match &hint {
            Some(h) if !trusted.iter().any(|k| key_hint(k) == *h) => format!(
                "; the bundle names signer key hint {}, none of the given keys has it",
                h.escape_debug()
            ),
            _ => String::new(),
        };
        return Err(Error::trust(format!(
            "{d}: signature check failed: {signed_by} of {} trusted key(s) signed, threshold is {threshold} ({} signature(s) present){hint_note}",
            trusted.len(),
            b.signatures.len()
        )));
    }
    if b.payload_type != dsse::PAYLOAD_TYPE {
        return Err(Error::trust(format!(
            "{d}: payloadType is '{}', expected '{}'",
            b.payload_type.escape_debug(),
            dsse::PAYLOAD_TYPE
        )));
    }
    parse_statement(&b.payload, name)
}

/// Check a certificate-mode bundle: refuse keyless material, verify the certificate chain
/// up to one of `roots` (see [`super::x509`]), then the one DSSE signature with the leaf's
/// key, then the statement. Chain and signature failures are trust failures (exit 3);
/// algorithms mlguard does not implement are input errors (exit 2).
pub fn verify_bundle_certificate(
    b: &Bundle,
    roots: &[super::x509::Cert],
    name: &Path,
) -> Result<(Statement, super::x509::Verified)> {
    use super::x509::{self, ChainError};
    let d = name.display();
    let Material::Certificate { certs, field } = &b.material else {
        return Err(Error::usage(format!(
            "{d} is a key-mode bundle (model_signing sign key): verify it with --pubkey KEY.pub, not --certificate-chain"
        )));
    };
    let keyless = b.tlog_entries > 0 || certs.iter().any(x509::is_fulcio);
    if keyless {
        return Err(Error::trust(format!(
            "{d}: Sigstore keyless bundle (Fulcio certificate / Rekor entries in verificationMaterial.{field}) not supported: it needs Sigstore's trust roots, Rekor's signed time and an identity policy, which an offline verifier does not have; sign with `model_signing sign key` or `sign certificate` for offline verification"
        )));
    }
    let v = x509::verify_chain(certs, roots).map_err(|e| match e {
        ChainError::Unsupported(m) => Error::input(name, m),
        ChainError::Untrusted(m) => Error::trust(format!("{d}: certificate chain: {m}")),
    })?;
    // model_signing signs (and checks) exactly one signature in this mode.
    if b.signatures.len() != 1 {
        return Err(Error::trust(format!(
            "{d}: a certificate-mode bundle carries exactly one signature, this one has {}",
            b.signatures.len()
        )));
    }
    let msg = dsse::pae(&b.payload_type, &b.payload);
    if !verifies(&v.key, &msg, &b.signatures[0]) {
        return Err(Error::trust(format!(
            "{d}: signature check failed: the signature does not verify with the key of the signing certificate '{}'",
            v.leaf_subject
        )));
    }
    if b.payload_type != dsse::PAYLOAD_TYPE {
        return Err(Error::trust(format!(
            "{d}: payloadType is '{}', expected '{}'",
            b.payload_type.escape_debug(),
            dsse::PAYLOAD_TYPE
        )));
    }
    Ok((parse_statement(&b.payload, name)?, v))
}

/// What `verify --signature BUNDLE` was told to trust.
#[derive(Debug, Default)]
pub struct TrustArgs<'a> {
    pub pubkeys: &'a [PathBuf],
    pub threshold: Option<usize>,
    /// `--certificate-chain` files (trusted roots and extra intermediates).
    pub certificate_chain: &'a [PathBuf],
}

/// Read a signature file, parse it as a bundle and verify it: the whole trust step of
/// `mlguard verify --signature BUNDLE`. Key-mode bundles take `--pubkey`/`[trust] keys`,
/// certificate-mode ones `--certificate-chain`/`[trust] certificate_chain`; a flag for the
/// other mode is a usage error. Returns the statement and who signed (for the note).
pub fn open_verified(
    path: &Path,
    bytes: &[u8],
    trust: &TrustArgs,
    config: &Config,
) -> Result<(Statement, String)> {
    let b = parse_bundle(bytes, path)?;
    match &b.material {
        Material::PublicKey { .. } => {
            if !trust.certificate_chain.is_empty() {
                return Err(Error::usage(format!(
                    "{} is a key-mode bundle (model_signing sign key): --certificate-chain does not apply, give --pubkey KEY.pub",
                    path.display()
                )));
            }
            let (keys, t) = trusted_keys(trust.pubkeys, trust.threshold, config)?;
            let st = verify_bundle(&b, &keys, t, path)?;
            Ok((st, "key".into()))
        }
        Material::Certificate { .. } => {
            if !trust.pubkeys.is_empty() || trust.threshold.is_some() {
                return Err(Error::usage(format!(
                    "{} is a certificate-mode bundle (model_signing sign certificate): --pubkey/--threshold do not apply, give --certificate-chain CA.pem",
                    path.display()
                )));
            }
            let tc: TrustConfig = config.section("trust")?;
            let paths: Vec<PathBuf> = if trust.certificate_chain.is_empty() {
                tc.certificate_chain
                    .iter()
                    .map(|p| config.resolve(p))
                    .collect()
            } else {
                trust.certificate_chain.to_vec()
            };
            if paths.is_empty() {
                return Err(Error::usage(format!(
                    "{} is a certificate-mode bundle: give --certificate-chain CA.pem (the root certificates you trust; repeatable) or set [trust] certificate_chain in mlguard.toml. mlguard does not fall back to the system's web CAs",
                    path.display()
                )));
            }
            let mut roots = Vec::new();
            for p in &paths {
                roots.extend(super::x509::read_pem_chain(p)?);
            }
            let (st, v) = verify_bundle_certificate(&b, &roots, path)?;
            let mut who = format!(
                "certificate '{}' via {}",
                v.leaf_subject,
                v.path[1..].join(" -> ")
            );
            if v.path.len() == 1 {
                who = format!("certificate '{}' (trusted as given)", v.leaf_subject);
            }
            if v.leaf_expired {
                who.push_str(&format!(
                    "; the certificate has expired since, accepted: validity is checked at the signing time {} (its notBefore), as model_signing does",
                    v.at
                ));
            }
            Ok((st, who))
        }
    }
}

/// What is left out of the tree, as model_signing does: the signed `ignore_paths`, the git
/// paths it ignores by default (unless the signature lists files under one of them), and
/// the signature file (through `skip_paths`). Paths that would leave the model directory
/// are dropped, as model_signing drops them.
fn ignore_set(st: &Statement) -> Vec<PathBuf> {
    let under = |p: &str| {
        st.resources
            .iter()
            .any(|r| r.name == p || r.name.starts_with(&format!("{p}/")))
    };
    let mut out: Vec<PathBuf> = st
        .ignore_paths
        .iter()
        .filter(|p| check_name(p.trim_end_matches('/')).is_ok())
        .map(|p| PathBuf::from(p.trim_end_matches('/')))
        .collect();
    for g in GIT_PATHS {
        if !under(g) {
            out.push(PathBuf::from(g));
        }
    }
    out
}

/// Classify every file under `root` against the statement's resources. `skip_paths` are
/// absolute paths left out (the signature, the report being written).
pub fn verify_tree(
    root: &Path,
    st: &Statement,
    skip_paths: Vec<PathBuf>,
    progress: &ProgressBar,
) -> Result<VerifyResult> {
    let walk = WalkOptions {
        follow_symlinks: st.allow_symlinks,
        skip_paths,
        ignore_rel: ignore_set(st),
        no_ignore_file: true,
        ..WalkOptions::default()
    };
    let opts = HashOptions {
        sha256: st.hash_type == HashType::Sha256,
        chunk_size: DEFAULT_CHUNK_SIZE,
    };
    let tree = hash_tree(root, &walk, &opts, progress)?;
    let digest_of = |e: &super::manifest::Entry| match st.hash_type {
        HashType::Sha256 => e.sha256.clone().unwrap_or_default(),
        HashType::Blake3 => e.blake3.clone(),
    };
    let set_digests =
        |r: &mut FileResult, expected: Option<String>, actual: Option<String>| match st.hash_type {
            HashType::Sha256 => {
                r.expected_sha256 = expected;
                r.actual_sha256 = actual;
            }
            HashType::Blake3 => {
                r.expected_blake3 = expected;
                r.actual_blake3 = actual;
            }
        };
    // The tree's paths, raw bytes → entry.
    let mut actual: HashMap<Vec<u8>, &super::manifest::Entry> = HashMap::new();
    for e in &tree.entries {
        if let Ok(raw) = decode_path(&e.path) {
            actual.insert(raw, e);
        }
    }
    let unread: HashMap<Vec<u8>, &str> = tree
        .unreadable
        .iter()
        .filter_map(|(p, m)| Some((decode_path(p).ok()?, m.as_str())))
        .collect();
    let expected: HashSet<&[u8]> = st.resources.iter().map(|r| r.name.as_bytes()).collect();
    let mut files = Vec::new();
    // Unchanged paths are counted, not listed (see `VerifyResult::ok`).
    let mut ok = 0usize;
    let mut missing: Vec<&Resource> = Vec::new();
    for r in &st.resources {
        let shown = encode_path(r.name.as_bytes());
        if let Some(msg) = unread.get(r.name.as_bytes()) {
            let mut f = FileResult::new(&shown, Status::Unreadable);
            f.detail = Some(msg.to_string());
            files.push(f);
            continue;
        }
        let Some(a) = actual.get(r.name.as_bytes()) else {
            missing.push(r);
            continue;
        };
        if a.kind == EntryKind::Symlink {
            let mut f = FileResult::new(&shown, Status::TypeChanged);
            f.detail = Some(format!(
                "was a file, now symlink -> {} (the signature does not allow symlinks)",
                a.target.as_deref().unwrap_or("?")
            ));
            files.push(f);
            continue;
        }
        let got = digest_of(a);
        if got.eq_ignore_ascii_case(&r.digest) {
            ok += 1;
        } else {
            let mut f = FileResult::new(&shown, Status::Modified);
            f.actual_size = Some(a.size);
            set_digests(&mut f, Some(r.digest.clone()), Some(got));
            files.push(f);
        }
    }
    // Content under a new path is `moved`, as for manifests.
    let mut by_digest: HashMap<&str, Vec<&Resource>> = HashMap::new();
    for m in missing.iter().rev() {
        by_digest.entry(m.digest.as_str()).or_default().push(m);
    }
    for (raw, a) in {
        let mut v: Vec<_> = actual.iter().collect();
        v.sort_by(|x, y| x.0.cmp(y.0));
        v
    } {
        if expected.contains(raw.as_slice()) {
            continue;
        }
        let got = digest_of(a);
        let from = (a.kind == EntryKind::File)
            .then(|| by_digest.get_mut(got.as_str()).and_then(|v| v.pop()))
            .flatten();
        match from {
            Some(m) => {
                let mut f = FileResult::new(&a.path, Status::Moved);
                f.from = Some(encode_path(m.name.as_bytes()));
                files.push(f);
            }
            None => {
                let mut f = FileResult::new(&a.path, Status::Added);
                f.actual_size = Some(a.size);
                if a.kind == EntryKind::Symlink {
                    f.detail = Some(format!(
                        "symlink -> {} (the signature does not allow symlinks)",
                        a.target.as_deref().unwrap_or("?")
                    ));
                } else {
                    set_digests(&mut f, None, Some(got));
                }
                files.push(f);
            }
        }
    }
    for v in by_digest.into_values() {
        for m in v {
            let mut f = FileResult::new(&encode_path(m.name.as_bytes()), Status::Missing);
            set_digests(&mut f, Some(m.digest.clone()), None);
            files.push(f);
        }
    }
    for (p, msg) in &tree.unreadable {
        let known = decode_path(p)
            .map(|raw| expected.contains(raw.as_slice()))
            .unwrap_or(false);
        if !known {
            let mut f = FileResult::new(p, Status::Unreadable);
            f.detail = Some(msg.clone());
            files.push(f);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path).then(a.status.cmp(&b.status)));
    Ok(VerifyResult {
        files,
        ok,
        skipped: tree.skipped,
        shard: None,
    })
}

/// `path` relative to `root` when it lies inside it (both canonicalised; `path` may not
/// exist yet), as model_signing records the signature file in `ignore_paths`.
fn relative_inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let root = std::fs::canonicalize(root).ok()?;
    let name = path.file_name()?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()?;
    dir.join(name)
        .strip_prefix(&root)
        .ok()
        .map(Path::to_path_buf)
}

/// Sign the model directory `root` into a bundle that `model_signing verify key` accepts.
/// `signature` is where the bundle will be written (left out of the resources, and listed
/// in `ignore_paths` when inside the model, as model_signing does).
pub fn sign_tree(
    root: &Path,
    key: &AnyPrivate,
    signature: Option<&Path>,
    name: Option<&str>,
    certificates: Option<&[super::x509::Cert]>,
    progress: &ProgressBar,
) -> Result<Vec<u8>> {
    if matches!(key, AnyPrivate::Ed25519(_)) {
        return Err(Error::usage(
            "model_signing verifies ECDSA keys only: make one with `mlguard keygen --algorithm p256 -o KEY` (or openssl ecparam -name prime256v1 -genkey)",
        ));
    }
    if let Some(certs) = certificates {
        let leaf = certs
            .first()
            .ok_or_else(|| Error::usage("no signing certificate given"))?;
        let k = super::x509::public_key(leaf).map_err(Error::usage)?;
        if k != key.public() {
            return Err(Error::usage(
                "the signing certificate does not hold the public key of --key (give the certificate issued for this key)",
            ));
        }
    }
    let mut ignore: Vec<String> = GIT_PATHS.iter().map(|s| s.to_string()).collect();
    if let Some(rel) = signature.and_then(|s| relative_inside(root, s)) {
        let rel = rel.to_string_lossy().into_owned();
        if !ignore.contains(&rel) {
            ignore.push(rel);
        }
    }
    ignore.sort();
    let walk = WalkOptions {
        follow_symlinks: false,
        skip_paths: signature.map(Path::to_path_buf).into_iter().collect(),
        ignore_rel: ignore.iter().map(PathBuf::from).collect(),
        no_ignore_file: true,
        ..WalkOptions::default()
    };
    let opts = HashOptions {
        sha256: true,
        chunk_size: DEFAULT_CHUNK_SIZE,
    };
    let tree = hash_tree(root, &walk, &opts, progress)?;
    if let Some((p, msg)) = tree.unreadable.first() {
        return Err(Error::input(root.join(p), format!("cannot be read: {msg}")));
    }
    if let Some((p, why)) = tree.skipped.first() {
        return Err(Error::input(
            root.join(p),
            format!("{why}: a signature must cover every file, move it out of the model"),
        ));
    }
    let mut items: Vec<(Vec<String>, String, String)> = Vec::with_capacity(tree.entries.len());
    for e in &tree.entries {
        let raw = decode_path(&e.path).map_err(|m| Error::input(root.join(&e.path), m))?;
        let Ok(n) = String::from_utf8(raw) else {
            return Err(Error::input(
                root.join(&e.path),
                "file name is not UTF-8: model_signing names resources by UTF-8 paths",
            ));
        };
        if e.kind == EntryKind::Symlink {
            return Err(Error::input(
                root.join(&n),
                "symlink: model_signing signatures do not follow symlinks by default; replace it by the file",
            ));
        }
        let digest = e
            .sha256
            .clone()
            .ok_or_else(|| Error::input(root.join(&n), "no SHA-256 computed"))?;
        items.push((n.split('/').map(str::to_string).collect(), n, digest));
    }
    // model_signing sorts resources as Python sorts paths: component by component.
    items.sort();
    let mut hasher = sha2::Sha256::new();
    let mut resources = Vec::with_capacity(items.len());
    for (_, n, digest) in &items {
        let mut raw = [0u8; 32];
        hex::decode_to_slice(digest, &mut raw).map_err(|_| Error::input(root, "bad digest"))?;
        hasher.update(raw);
        resources.push(json!({"name": n, "algorithm": "sha256", "digest": digest}));
    }
    let model_name = name.map(str::to_string).unwrap_or_else(|| {
        let n = root.file_name().map(|s| s.to_string_lossy().into_owned());
        n.filter(|s| s != "..")
            .or_else(|| {
                std::fs::canonicalize(root)
                    .ok()
                    .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
            })
            .unwrap_or_else(|| "model".into())
    });
    let statement = json!({
        "_type": dsse::STATEMENT_TYPE,
        "subject": [{"name": model_name, "digest": {"sha256": hex::encode(hasher.finalize())}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": false,
                "ignore_paths": ignore,
            },
            "resources": resources,
        },
    });
    let payload = serde_json::to_vec_pretty(&statement)
        .map_err(|e| Error::usage(format!("cannot encode the statement: {e}")))?;
    let msg = dsse::pae(dsse::PAYLOAD_TYPE, &payload);
    let sig: Vec<u8> = {
        use p256::ecdsa::signature::Signer;
        match key {
            AnyPrivate::P256(k) => {
                let s: p256::ecdsa::DerSignature = k.sign(&msg);
                s.as_bytes().to_vec()
            }
            AnyPrivate::P384(k) => {
                let s: p384::ecdsa::DerSignature = k.sign(&msg);
                s.as_bytes().to_vec()
            }
            // Refused at the top; kept total without a panic path.
            AnyPrivate::Ed25519(_) => {
                return Err(Error::usage("model_signing verifies ECDSA keys only"))
            }
        }
    };
    let std_b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut vm = Map::new();
    match certificates {
        // As `model_signing sign certificate` writes it: the signing certificate, then
        // the chain given, each as base64 DER.
        Some(certs) => {
            let list: Vec<Value> = certs
                .iter()
                .map(|c| json!({"rawBytes": std_b64(&c.der)}))
                .collect();
            vm.insert(
                "x509CertificateChain".into(),
                json!({ "certificates": list }),
            );
        }
        None => {
            vm.insert("publicKey".into(), json!({"hint": key_hint(&key.public())}));
        }
    }
    vm.insert("tlogEntries".into(), json!([]));
    let bundle = json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": vm,
        "dsseEnvelope": {
            "payload": std_b64(&payload),
            "payloadType": dsse::PAYLOAD_TYPE,
            "signatures": [{"sig": std_b64(&sig), "keyid": ""}],
        },
    });
    let mut out = serde_json::to_vec(&bundle)
        .map_err(|e| Error::usage(format!("cannot encode the bundle: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_stay_inside_the_model() {
        for bad in ["", "/etc/passwd", "a/../../b", "a//b", "./a", "a/", "a\0b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "a/b.bin", ".hidden/x", "a..b"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn bundle_parser_rejects_without_panicking() {
        let n = Path::new("b.sig");
        for bytes in [
            &b""[..],
            b"[]",
            b"{\"mediaType\":1}",
            b"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.1+json\"}",
            b"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"publicKey\":{}},\"dsseEnvelope\":{\"payload\":\"a$\",\"payloadType\":\"x\",\"signatures\":[]}}",
            b"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{\"publicKey\":{}},\"dsseEnvelope\":{\"payload\":\"aGk\",\"payloadType\":\"x\",\"signatures\":[]}}",
        ] {
            let e = parse_bundle(bytes, n).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
        }
        let ok = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"ab"}},"dsseEnvelope":{"payload":"aGk=","payloadType":"x","signatures":[{"sig":"AAAA"}]}}"#;
        let b = parse_bundle(ok, n).unwrap();
        assert_eq!(b.payload, b"hi");
        assert_eq!(b.signatures, vec![vec![0u8, 0, 0]]);
        assert!(is_bundle(ok) && !is_bundle(b"{\"payloadType\":\"x\"}"));
    }

    #[test]
    fn statement_subject_digest_is_checked() {
        let d = [7u8; 32];
        let subject = hex::encode(sha2::Sha256::digest(d));
        let st = |subject: &str| {
            serde_json::to_vec(&json!({
                "_type": dsse::STATEMENT_TYPE,
                "subject": [{"name": "m", "digest": {"sha256": subject}}],
                "predicateType": PREDICATE_TYPE,
                "predicate": {"serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false},
                              "resources": [{"name": "w.bin", "algorithm": "sha256", "digest": hex::encode(d)}]}
            }))
            .unwrap()
        };
        let s = parse_statement(&st(&subject), Path::new("m.sig")).unwrap();
        assert_eq!(s.resources.len(), 1);
        let e = parse_statement(&st(&"0".repeat(64)), Path::new("m.sig")).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.to_string().contains("does not match the resources"),
            "{e}"
        );
    }
}
