//! What a failed call's error means, for finding text and evidence.
//!
//! Why: a failed call is not always a *denied* one. `DeleteTrail` answered with
//! `TrailNotFoundException` means the trail did not exist (nothing was deleted, and the
//! caller may well have had the permission); `ThrottlingException` means the call was not
//! processed and may be retried; `AccessDenied` means the caller lacked the permission.
//! Saying "denied" for all of them misleads the responder reading the finding. Every
//! detection that reports failed calls takes its wording from [`Failure`]; the raw error
//! stays in `evidence.error`, the class in `evidence.outcome` and the sentence in
//! `evidence.error_meaning`.

use crate::input::logs::{Event, Source};

/// The class of a failure, from the error code (CloudTrail `errorCode`, HTTP status for
/// Kubernetes and Azure, gRPC status for GCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The caller lacked the permission (or an SCP / permission boundary blocked it).
    Denied,
    /// The caller could not be authenticated (bad password, invalid or expired credentials).
    Unauthenticated,
    /// The resource named in the call did not exist.
    NotFound,
    /// The request was malformed or had invalid parameters.
    Invalid,
    /// The resource already existed, or was in a state that did not allow the call.
    Conflict,
    /// The call was throttled or a quota was exhausted.
    Throttled,
    /// The service failed (internal error, unavailable).
    ServiceError,
    /// Any other error.
    Other,
}

impl Kind {
    /// `evidence.outcome` of a failed call.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Denied => "denied",
            Kind::Unauthenticated => "unauthenticated",
            Kind::NotFound => "not_found",
            Kind::Invalid => "invalid_request",
            Kind::Conflict => "conflict",
            Kind::Throttled => "throttled",
            Kind::ServiceError => "service_error",
            Kind::Other => "failed",
        }
    }
}

/// One failed call's error, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    /// The error code as logged (`TrailNotFoundException`, `403`, `7`).
    pub code: String,
}

impl Failure {
    /// The failure of `e`, or `None` when it succeeded.
    pub fn of(e: &Event) -> Option<Failure> {
        if e.success {
            return None;
        }
        let err = e.error.as_deref().unwrap_or("");
        let code = code_of(err);
        let kind = if e.source == Source::CLOUDTRAIL {
            aws_kind(&code, err)
        } else if e.source.name() == "gcp" {
            code.parse::<u32>().map(grpc_kind).unwrap_or(Kind::Other)
        } else {
            code.parse::<u32>()
                .map(http_kind)
                .unwrap_or_else(|_| aws_kind(&code, err))
        };
        Some(Failure { kind, code })
    }

    /// A short clause for a finding's title: "denied", "failed: the trail did not exist".
    pub fn clause(&self) -> String {
        match self.kind {
            Kind::Denied => "denied".into(),
            _ => format!("failed: {}", self.meaning()),
        }
    }

    /// What the error means, in a sentence fragment ("the trail did not exist").
    pub fn meaning(&self) -> String {
        match self.kind {
            Kind::Denied => "the caller lacked the permission".into(),
            Kind::Unauthenticated => {
                "the caller could not be authenticated (bad password or invalid credentials)".into()
            }
            Kind::NotFound => match thing_of(&self.code) {
                Some(t) => format!("the {t} did not exist"),
                None => "the resource named in the call did not exist".into(),
            },
            Kind::Invalid => "the request was invalid; nothing was changed".into(),
            Kind::Conflict => {
                "the resource already existed or was in a state that did not allow the call".into()
            }
            Kind::Throttled => "the call was throttled and not processed".into(),
            Kind::ServiceError => "the service failed to process the call".into(),
            Kind::Other => format!("the call failed ({})", self.code),
        }
    }

    /// Add `outcome`, `error_meaning` to a finding (the raw `error` is the caller's).
    pub fn annotate(&self, f: crate::finding::Finding) -> crate::finding::Finding {
        f.with("outcome", self.kind.as_str())
            .with("error_meaning", self.meaning())
    }
}

/// The code part of an error text: CloudTrail `Code: message` / `Code`, the sources'
/// `status N: reason`, Azure `Failed N`.
fn code_of(err: &str) -> String {
    let t = err.trim();
    if let Some(rest) = t.strip_prefix("status ") {
        return rest
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches(".0")
            .to_string();
    }
    if let Some(n) = t
        .split_whitespace()
        .find(|w| w.trim_end_matches(".0").parse::<u32>().is_ok())
    {
        if !t.contains(':') {
            return n.trim_end_matches(".0").to_string();
        }
    }
    t.split(':').next().unwrap_or("").trim().to_string()
}

fn aws_kind(code: &str, err: &str) -> Kind {
    let c = code.to_ascii_lowercase();
    let m = err.to_ascii_lowercase();
    if c.contains("accessdenied")
        || c.contains("unauthorizedoperation")
        || c.contains("unauthorized")
        || c.contains("forbidden")
        || c == "authorizationerror"
        || c.contains("notauthorized")
        || m.contains("is not authorized to perform")
    {
        Kind::Denied
    } else if c.contains("notfound") || c.starts_with("nosuch") || c.ends_with(".notfound") {
        Kind::NotFound
    } else if c.contains("throttl")
        || c.contains("requestlimitexceeded")
        || c.contains("toomanyrequests")
        || c.contains("slowdown")
    {
        Kind::Throttled
    } else if c == "failed authentication"
        || c.contains("authfailure")
        || c.contains("invalidclienttokenid")
        || c.contains("expiredtoken")
        || c.contains("signaturedoesnotmatch")
        || c.contains("incompletesignature")
        || c.contains("unrecognizedclient")
    {
        Kind::Unauthenticated
    } else if c.contains("alreadyexists")
        || c.contains("conflict")
        || c.contains("inuse")
        || c.contains("invalidstate")
        || c.contains("deleteconflict")
        || c.contains("limitexceeded")
    {
        Kind::Conflict
    } else if c.contains("invalid")
        || c.contains("validation")
        || c.contains("malformed")
        || c.contains("missingparameter")
    {
        Kind::Invalid
    } else if c.contains("internal")
        || c.contains("serviceunavailable")
        || c.contains("unavailable")
    {
        Kind::ServiceError
    } else {
        Kind::Other
    }
}

fn http_kind(code: u32) -> Kind {
    match code {
        401 => Kind::Unauthenticated,
        403 => Kind::Denied,
        404 => Kind::NotFound,
        400 | 422 => Kind::Invalid,
        409 | 412 => Kind::Conflict,
        429 => Kind::Throttled,
        500..=599 => Kind::ServiceError,
        _ => Kind::Other,
    }
}

/// google.rpc.Code.
fn grpc_kind(code: u32) -> Kind {
    match code {
        7 => Kind::Denied,
        16 => Kind::Unauthenticated,
        5 => Kind::NotFound,
        3 | 11 => Kind::Invalid,
        6 | 9 | 10 => Kind::Conflict,
        8 => Kind::Throttled,
        13..=15 => Kind::ServiceError,
        _ => Kind::Other,
    }
}

/// The missing thing named by a not-found code, in lowercase words:
/// `TrailNotFoundException` → "trail", `NoSuchBucket` → "bucket",
/// `InvalidSnapshot.NotFound` → "snapshot", `ResourceNotFoundException` → `None`.
fn thing_of(code: &str) -> Option<String> {
    let c = code.strip_prefix("Client.").unwrap_or(code);
    let stem = if let Some(s) = c.strip_prefix("NoSuch") {
        s.to_string()
    } else if let Some(i) = c.find("NotFound") {
        c[..i].trim_end_matches('.').to_string()
    } else {
        return None;
    };
    let stem = stem.strip_prefix("Invalid").unwrap_or(&stem);
    // AMI ids are `InvalidAMIID.NotFound`.
    let stem = stem.strip_suffix("ID").unwrap_or(stem);
    if stem.is_empty() || stem == "Resource" {
        return None;
    }
    if stem == "Entity" {
        return Some("IAM user, role, group or policy".into());
    }
    let mut words = String::new();
    let chars: Vec<char> = stem.chars().collect();
    for (i, ch) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let prev_lower = i > 0 && chars[i - 1].is_lowercase();
        if i > 0 && ch.is_uppercase() && (prev_lower || next_lower) {
            words.push(' ');
        }
        words.push(*ch);
    }
    // Keep acronyms (AMI, DB) as written, lower the rest.
    Some(
        words
            .split(' ')
            .map(|w| {
                if w.len() > 1 && w.chars().all(|c| c.is_uppercase()) {
                    w.to_string()
                } else {
                    w.to_lowercase()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(code: &str) -> Failure {
        Failure {
            kind: aws_kind(&code_of(code), code),
            code: code_of(code),
        }
    }

    #[test]
    fn aws_error_codes_are_classified_and_described() {
        let f = fail("TrailNotFoundException: Unknown trail: x");
        assert_eq!(f.kind, Kind::NotFound);
        assert_eq!(f.meaning(), "the trail did not exist");
        assert_eq!(f.clause(), "failed: the trail did not exist");
        assert_eq!(fail("NoSuchBucket").meaning(), "the bucket did not exist");
        assert_eq!(
            fail("InvalidSnapshot.NotFound: x").meaning(),
            "the snapshot did not exist"
        );
        assert_eq!(
            fail("InvalidAMIID.NotFound").meaning(),
            "the AMI did not exist"
        );
        assert_eq!(
            fail("ResourceNotFoundException: The specified log group does not exist.").meaning(),
            "the resource named in the call did not exist"
        );
        assert_eq!(
            fail("DBSnapshotNotFoundFault").meaning(),
            "the DB snapshot did not exist"
        );
        assert_eq!(
            fail("LogGroupNotFound").meaning(),
            "the log group did not exist"
        );
        for d in [
            "AccessDenied: x",
            "AccessDeniedException",
            "Client.UnauthorizedOperation: You are not authorized",
            "UnauthorizedOperation",
        ] {
            assert_eq!(fail(d).kind, Kind::Denied, "{d}");
            assert_eq!(fail(d).clause(), "denied");
        }
        assert_eq!(fail("ThrottlingException").kind, Kind::Throttled);
        assert_eq!(fail("EntityAlreadyExists: x").kind, Kind::Conflict);
        assert_eq!(fail("ValidationException: x").kind, Kind::Invalid);
        assert_eq!(fail("Failed authentication").kind, Kind::Unauthenticated);
        assert_eq!(fail("InternalError").kind, Kind::ServiceError);
        assert_eq!(fail("SomethingOdd").kind, Kind::Other);
        assert!(fail("SomethingOdd").meaning().contains("SomethingOdd"));
    }

    #[test]
    fn status_codes_of_other_sources() {
        assert_eq!(code_of("status 403: Forbidden"), "403");
        assert_eq!(code_of("status 7.0: denied"), "7");
        assert_eq!(code_of("Failed 404"), "404");
        assert_eq!(http_kind(403), Kind::Denied);
        assert_eq!(http_kind(404), Kind::NotFound);
        assert_eq!(grpc_kind(7), Kind::Denied);
        assert_eq!(grpc_kind(5), Kind::NotFound);
    }
}
