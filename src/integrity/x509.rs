//! X.509 certificate chains for OpenSSF model-signing *certificate mode*
//! (`model_signing sign certificate`): the bundle carries the signing (leaf) certificate and
//! the intermediates; the verifier supplies the roots it trusts (`--certificate-chain`).
//!
//! What is checked mirrors model_signing 1.x's verifier (an OpenSSL `X509Store` without
//! `PARTIAL_CHAIN`, the time set to the leaf's `notBefore`, then a key-usage check), with the
//! parts OpenSSL does implicitly written out:
//!
//! * every certificate is strict DER (it re-encodes to the same bytes) under RFC 5280;
//! * a path leaf → intermediates (from the bundle or the supplied files) → a **self-signed
//!   certificate from the supplied files**; a supplied intermediate is a link, never the end
//!   (as in OpenSSL, trusting only an intermediate fails);
//! * each issuer: subject equals the child's issuer (DER), `basicConstraints` cA, `keyUsage`
//!   keyCertSign when present, `pathLenConstraint` respected, and the child's signature
//!   verifies with the issuer's key: ECDSA P-256/P-384 with SHA-256/SHA-384;
//! * every certificate in the path is valid at the signing time. The bundle carries no
//!   trusted timestamp, so like model_signing we take the leaf's `notBefore` as that time:
//!   an expired certificate still verifies an old signature, a CA that expired before the
//!   leaf was issued does not;
//! * unknown critical extensions are refused (RFC 5280 §4.2), and so are name constraints,
//!   which mlguard does not evaluate;
//! * the leaf: `keyUsage` digitalSignature, else `extendedKeyUsage` codeSigning (exactly
//!   model_signing's rule), and an ECDSA P-256/P-384 key;
//! * Sigstore keyless (Fulcio) leaves — the Fulcio OID arc 1.3.6.1.4.1.57264 — are refused:
//!   their 10-minute certificates need Rekor's signed time and an OIDC identity policy,
//!   i.e. network trust roots this offline verifier does not have.
//!
//! Revocation (CRL/OCSP) is not checked; neither does model_signing.
//!
//! [`parse_certificate`] and [`read_pem_chain`]'s parser take untrusted bytes and never
//! panic: fuzz entry points.

use super::keys::AnyPublic;
use crate::error::{Error, IoContext, Result};
use std::path::Path;
use std::time::Duration;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::spki::ObjectIdentifier;
use x509_cert::Certificate;

/// Largest certificate accepted (real ones are 0.5–3 KiB).
pub const MAX_CERT_BYTES: usize = 64 << 10;
/// Most certificates in a bundle chain or in the supplied files together.
pub const MAX_CERTS: usize = 64;
/// Longest path (leaf + intermediates + root).
pub const MAX_DEPTH: usize = 10;

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const EKU_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.";
/// Extensions mlguard processes (or that carry no constraint), so may be critical.
const KNOWN: [&str; 6] = [
    "2.5.29.19", // basicConstraints
    "2.5.29.15", // keyUsage
    "2.5.29.37", // extendedKeyUsage
    "2.5.29.17", // subjectAltName (informational here)
    "2.5.29.14", // subjectKeyIdentifier
    "2.5.29.35", // authorityKeyIdentifier
];
const NAME_CONSTRAINTS: &str = "2.5.29.30";

/// A parsed certificate with its exact DER (what a signature covers and what "the same
/// certificate" means).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    pub der: Vec<u8>,
    pub cert: Certificate,
    /// Where it came from, for messages (`bundle certificate 2`, `ca.pem certificate 1`).
    pub origin: String,
}

impl Cert {
    pub fn subject(&self) -> String {
        self.cert
            .tbs_certificate()
            .subject()
            .to_string()
            .escape_debug()
            .to_string()
    }
    fn issuer(&self) -> String {
        self.cert
            .tbs_certificate()
            .issuer()
            .to_string()
            .escape_debug()
            .to_string()
    }
    fn not_before(&self) -> Duration {
        self.cert
            .tbs_certificate()
            .validity()
            .not_before
            .to_unix_duration()
    }
    fn not_after(&self) -> Duration {
        self.cert
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
    }
    fn issued_by_name(&self, issuer: &Cert) -> bool {
        self.cert.tbs_certificate().issuer() == issuer.cert.tbs_certificate().subject()
    }
    fn self_issued(&self) -> bool {
        self.issued_by_name(self)
    }
    /// Self-signed: self-issued and its signature verifies with its own key.
    fn self_signed(&self) -> bool {
        self.self_issued() && signed_by(self, self).is_ok()
    }
    fn oid_strings(&self) -> impl Iterator<Item = (String, bool)> + '_ {
        self.cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .map(|e| (e.extn_id.to_string(), e.critical))
    }
}

/// Parse one DER certificate. `origin` names it in errors. Strict: the bytes must be the
/// DER encoding of what was parsed (no BER, no trailing data), at most [`MAX_CERT_BYTES`].
pub fn parse_certificate(der: &[u8], origin: &str) -> std::result::Result<Cert, String> {
    if der.len() > MAX_CERT_BYTES {
        return Err(format!(
            "{origin}: {} bytes is larger than the {} KiB a certificate may be",
            der.len(),
            MAX_CERT_BYTES >> 10
        ));
    }
    let cert = Certificate::from_der(der)
        .map_err(|e| format!("{origin}: not a DER X.509 certificate: {e}"))?;
    match cert.to_der() {
        Ok(again) if again == der => {}
        _ => return Err(format!("{origin}: not in canonical DER encoding")),
    }
    Ok(Cert {
        der: der.to_vec(),
        cert,
        origin: origin.to_string(),
    })
}

/// Parse PEM text holding one or more `CERTIFICATE` blocks (other blocks are refused so a
/// key file given by mistake is an error, not an empty trust set).
pub fn parse_pem_chain(text: &[u8], name: &str) -> std::result::Result<Vec<Cert>, String> {
    let text = std::str::from_utf8(text).map_err(|_| format!("{name}: not PEM text"))?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let label_end = block[11..]
            .find("-----")
            .ok_or_else(|| format!("{name}: broken PEM header"))?;
        let label = &block[11..11 + label_end];
        if label != "CERTIFICATE" {
            return Err(format!(
                "{name}: holds a '{}' PEM block; give certificates (-----BEGIN CERTIFICATE-----)",
                label.escape_debug()
            ));
        }
        let end_marker = "-----END CERTIFICATE-----";
        let body_start = 11 + label_end + 5;
        let end = block[body_start..]
            .find(end_marker)
            .map(|i| i + body_start)
            .ok_or_else(|| format!("{name}: PEM certificate without its END line"))?;
        let body: String = block[body_start..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("{name}: certificate {} is not base64: {e}", out.len() + 1))?;
        if out.len() >= MAX_CERTS {
            return Err(format!("{name}: more than {MAX_CERTS} certificates"));
        }
        out.push(parse_certificate(
            &der,
            &format!("{name} certificate {}", out.len() + 1),
        )?);
        rest = &block[end + end_marker.len()..];
    }
    if out.is_empty() {
        return Err(format!(
            "{name}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it"
        ));
    }
    Ok(out)
}

/// Read a PEM certificate file (at most 1 MiB).
pub fn read_pem_chain(path: &Path) -> Result<Vec<Cert>> {
    let meta = std::fs::metadata(path).with_path(path)?;
    if meta.len() > 1 << 20 {
        return Err(Error::input(
            path,
            "larger than 1 MiB: not a certificate file",
        ));
    }
    let bytes = std::fs::read(path).with_path(path)?;
    parse_pem_chain(&bytes, &path.display().to_string()).map_err(|m| Error::input(path, m))
}

/// The certificate's public key, if it is one mlguard verifies with.
pub fn public_key(c: &Cert) -> std::result::Result<AnyPublic, String> {
    use p256::pkcs8::DecodePublicKey;
    let spki = c
        .cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| format!("{}: public key: {e}", c.origin))?;
    if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki) {
        return Ok(AnyPublic::P256(k));
    }
    if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(&spki) {
        return Ok(AnyPublic::P384(k));
    }
    Err(format!(
        "{}: public key algorithm {} is not supported (mlguard verifies ECDSA P-256/P-384 certificates)",
        c.origin,
        c.cert.tbs_certificate().subject_public_key_info().algorithm.oid
    ))
}

/// Why a check failed: `Unsupported` is an input error (exit 2: mlguard cannot check it),
/// `Untrusted` a trust failure (exit 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    Unsupported(String),
    Untrusted(String),
}

/// Does `issuer`'s key verify `child`'s signature?
fn signed_by(child: &Cert, issuer: &Cert) -> std::result::Result<(), ChainError> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use sha2::Digest;
    let alg = child.cert.signature_algorithm();
    if alg != child.cert.tbs_certificate().signature() {
        return Err(ChainError::Untrusted(format!(
            "{}: the signature algorithm outside and inside the signed part differ",
            child.origin
        )));
    }
    if alg.parameters.is_some() {
        return Err(ChainError::Untrusted(format!(
            "{}: ECDSA signature algorithm with parameters",
            child.origin
        )));
    }
    let tbs = child
        .cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| ChainError::Untrusted(format!("{}: {e}", child.origin)))?;
    let digest: Vec<u8> = if alg.oid == ECDSA_SHA256 {
        sha2::Sha256::digest(&tbs).to_vec()
    } else if alg.oid == ECDSA_SHA384 {
        sha2::Sha384::digest(&tbs).to_vec()
    } else {
        return Err(ChainError::Unsupported(format!(
            "{}: signature algorithm {} is not supported (mlguard verifies ECDSA with SHA-256 or SHA-384)",
            child.origin, alg.oid
        )));
    };
    let sig = child.cert.signature().as_bytes().ok_or_else(|| {
        ChainError::Untrusted(format!("{}: signature is not whole bytes", child.origin))
    })?;
    let ok = match public_key(issuer).map_err(ChainError::Unsupported)? {
        AnyPublic::P256(k) => p256::ecdsa::Signature::from_der(sig)
            .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
        AnyPublic::P384(k) => p384::ecdsa::Signature::from_der(sig)
            .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
        AnyPublic::Ed25519(_) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ChainError::Untrusted(format!(
            "{} ('{}'): its signature does not verify with the key of '{}' ({})",
            child.origin,
            child.subject(),
            issuer.subject(),
            issuer.origin
        )))
    }
}

fn rfc3339(d: Duration) -> String {
    chrono::DateTime::from_timestamp(d.as_secs().min(crate::limits::MAX_TIME as u64) as i64, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| format!("{}s", d.as_secs()))
}

/// Extensions every certificate in the path must pass.
fn check_extensions(c: &Cert) -> std::result::Result<(), ChainError> {
    let mut seen = std::collections::HashSet::new();
    for (oid, critical) in c.oid_strings() {
        if !seen.insert(oid.clone()) {
            return Err(ChainError::Untrusted(format!(
                "{}: extension {oid} appears twice",
                c.origin
            )));
        }
        if oid == NAME_CONSTRAINTS {
            return Err(ChainError::Unsupported(format!(
                "{}: name constraints are not evaluated by mlguard; refusing rather than ignoring them",
                c.origin
            )));
        }
        if critical && !KNOWN.contains(&oid.as_str()) {
            return Err(ChainError::Untrusted(format!(
                "{}: unknown critical extension {oid}",
                c.origin
            )));
        }
    }
    let tbs = c.cert.tbs_certificate();
    let bad = |what: &str, e: x509_cert::der::Error| {
        ChainError::Untrusted(format!(
            "{}: {what} extension does not parse: {e}",
            c.origin
        ))
    };
    tbs.get_extension::<BasicConstraints>()
        .map_err(|e| bad("basicConstraints", e))?;
    tbs.get_extension::<KeyUsage>()
        .map_err(|e| bad("keyUsage", e))?;
    tbs.get_extension::<ExtendedKeyUsage>()
        .map_err(|e| bad("extendedKeyUsage", e))?;
    Ok(())
}

fn valid_at(c: &Cert, t: Duration) -> std::result::Result<(), ChainError> {
    if c.not_before() <= t && t <= c.not_after() {
        return Ok(());
    }
    Err(ChainError::Untrusted(format!(
        "{} ('{}') is not valid at the signing time {} (valid {} to {})",
        c.origin,
        c.subject(),
        rfc3339(t),
        rfc3339(c.not_before()),
        rfc3339(c.not_after())
    )))
}

/// Can `issuer` issue a certificate that has `below` non-self-issued intermediates under it?
fn can_issue(issuer: &Cert, below: usize) -> std::result::Result<(), ChainError> {
    let tbs = issuer.cert.tbs_certificate();
    let bc = tbs.get_extension::<BasicConstraints>().ok().flatten();
    match bc {
        Some((_, bc)) if bc.ca => {
            if let Some(n) = bc.path_len_constraint {
                if below > n as usize {
                    return Err(ChainError::Untrusted(format!(
                        "{} ('{}'): pathLenConstraint {n} allows fewer intermediates than the {below} below it",
                        issuer.origin,
                        issuer.subject()
                    )));
                }
            }
        }
        _ => {
            return Err(ChainError::Untrusted(format!(
            "{} ('{}') is not a CA certificate (basicConstraints cA is not set) but issued another",
            issuer.origin,
            issuer.subject()
        )))
        }
    }
    if let Some((_, ku)) = tbs.get_extension::<KeyUsage>().ok().flatten() {
        if !ku.key_cert_sign() {
            return Err(ChainError::Untrusted(format!(
                "{} ('{}'): keyUsage lacks keyCertSign",
                issuer.origin,
                issuer.subject()
            )));
        }
    }
    Ok(())
}

/// The checked signer: its key and a one-line description of the path.
#[derive(Debug, Clone)]
pub struct Verified {
    pub key: AnyPublic,
    pub leaf_subject: String,
    /// Subjects from the leaf up to the trusted root.
    pub path: Vec<String>,
    /// The signing time used (the leaf's notBefore), RFC 3339.
    pub at: String,
    /// The leaf's notAfter is in the past (accepted, as model_signing does; reported).
    pub leaf_expired: bool,
}

/// Is this a Sigstore keyless (Fulcio) certificate?
pub fn is_fulcio(c: &Cert) -> bool {
    c.oid_strings().any(|(o, _)| o.starts_with(FULCIO_ARC))
}

/// Verify `chain[0]` (the leaf) up to a self-signed certificate among `roots`, using
/// `chain[1..]` and the non-self-signed `roots` as possible intermediates.
pub fn verify_chain(chain: &[Cert], roots: &[Cert]) -> std::result::Result<Verified, ChainError> {
    let leaf = chain
        .first()
        .ok_or_else(|| ChainError::Untrusted("the bundle holds no certificate".into()))?;
    if chain.len() + roots.len() > MAX_CERTS {
        return Err(ChainError::Untrusted(format!(
            "more than {MAX_CERTS} certificates in the bundle and the trusted files together"
        )));
    }
    check_extensions(leaf)?;
    let key = public_key(leaf).map_err(ChainError::Unsupported)?;
    let tbs = leaf.cert.tbs_certificate();
    let ku_sign = tbs
        .get_extension::<KeyUsage>()
        .ok()
        .flatten()
        .is_some_and(|(_, ku)| ku.digital_signature());
    let eku_code = tbs
        .get_extension::<ExtendedKeyUsage>()
        .ok()
        .flatten()
        .is_some_and(|(_, eku)| eku.0.contains(&EKU_CODE_SIGNING));
    if !ku_sign && !eku_code {
        return Err(ChainError::Untrusted(format!(
            "{} ('{}') may not sign: neither keyUsage digitalSignature nor extendedKeyUsage codeSigning",
            leaf.origin,
            leaf.subject()
        )));
    }
    let t = leaf.not_before();
    valid_at(leaf, t)?;
    let anchors: Vec<&Cert> = roots.iter().filter(|r| r.self_signed()).collect();
    if anchors.is_empty() {
        return Err(ChainError::Untrusted(
            "none of the trusted certificates given is a self-signed root (an intermediate alone is not a trust anchor)".into(),
        ));
    }
    let pool: Vec<&Cert> = chain[1..]
        .iter()
        .chain(roots.iter().filter(|r| !r.self_signed()))
        .chain(anchors.iter().copied())
        .collect();
    let mut path: Vec<&Cert> = vec![leaf];
    let mut last = None;
    if extend(&mut path, &anchors, &pool, t, &mut last) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return Ok(Verified {
            key,
            leaf_subject: leaf.subject(),
            path: path.iter().map(|c| c.subject()).collect(),
            at: rfc3339(t),
            leaf_expired: leaf.not_after() < now,
        });
    }
    Err(last.unwrap_or_else(|| {
        ChainError::Untrusted(format!(
            "no trusted root issued '{}' (issuer '{}')",
            leaf.subject(),
            leaf.issuer()
        ))
    }))
}

/// Depth-first path search from `path`'s last certificate to an anchor. `last` keeps the
/// most informative failure.
fn extend<'a>(
    path: &mut Vec<&'a Cert>,
    anchors: &[&'a Cert],
    pool: &[&'a Cert],
    t: Duration,
    last: &mut Option<ChainError>,
) -> bool {
    let Some(cur) = path.last().copied() else {
        return false;
    };
    if anchors.iter().any(|a| a.der == cur.der) {
        return true;
    }
    if path.len() >= MAX_DEPTH {
        *last = Some(ChainError::Untrusted(format!(
            "no trusted root within {MAX_DEPTH} certificates"
        )));
        return false;
    }
    let mut found_name = false;
    for cand in pool {
        if !cur.issued_by_name(cand) || path.iter().any(|p| p.der == cand.der) {
            continue;
        }
        found_name = true;
        // Intermediates below `cand`, not counting the leaf or self-issued ones.
        let below = path[1..].iter().filter(|c| !c.self_issued()).count();
        // The signature first: a same-named certificate that did not sign is no issuer,
        // and saying so is the useful message.
        let step = signed_by(cur, cand)
            .and_then(|_| check_extensions(cand))
            .and_then(|_| can_issue(cand, below))
            .and_then(|_| valid_at(cand, t));
        match step {
            Ok(()) => {
                path.push(cand);
                if extend(path, anchors, pool, t, last) {
                    return true;
                }
                path.pop();
            }
            Err(e) => *last = Some(e),
        }
    }
    if !found_name && last.is_none() {
        *last = Some(ChainError::Untrusted(format!(
            "no trusted root or intermediate is '{}', the issuer of {} ('{}')",
            cur.issuer(),
            cur.origin,
            cur.subject()
        )));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_without_panicking() {
        for b in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x02\x01\x01",
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(parse_certificate(b, "x").is_err());
        }
        assert!(parse_pem_chain(b"", "f")
            .unwrap_err()
            .contains("no PEM certificate"));
        assert!(parse_pem_chain(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "f"
        )
        .unwrap_err()
        .contains("PRIVATE KEY"));
        assert!(parse_pem_chain(
            b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
            "f"
        )
        .unwrap_err()
        .contains("base64"));
        assert!(parse_pem_chain(b"-----BEGIN CERTIFICATE", "f").is_err());
        assert!(parse_pem_chain(b"-----BEGIN CERTIFICATE-----END CERTIFICATE-----", "f").is_err());
        assert!(verify_chain(&[], &[]).is_err());
    }
}
