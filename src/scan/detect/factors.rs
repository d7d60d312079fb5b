//! Severity factors: what about *who* did something, *with what tool* and *on what data*
//! raises or lowers a finding. The model is a table in docs/scan.md ("Severity model");
//! each factor here is one function so the table, the code and the tests name the same
//! things.
//!
//! Why factors instead of one severity per rule: the same 1,200 object reads are a
//! training job's normal night, or an intruder emptying the audit-log bucket with
//! `aws s3 sync`. Which one it was shows in the principal (a person with no history or a
//! service), the tool (a recursive copier) and the data (ML assets, the trail's own logs),
//! not in the count.

use crate::finding::Severity;
use crate::input::logs::Event;
use serde_json::Value;

/// One level up, at most `critical`.
pub fn up(s: Severity) -> Severity {
    match s {
        Severity::Info => Severity::Low,
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// One level down, at least `low`.
pub fn down(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium | Severity::Low | Severity::Info => Severity::Low,
    }
}

/// Is the principal a person (rather than a workload)? Decided from the identity type
/// each source records:
/// - CloudTrail: `IAMUser`, `Root`, `FederatedUser`, `IdentityCenterUser`, `SAMLUser`,
///   `WebIdentityUser`; an `AssumedRole` only when it is an IAM Identity Center role
///   (`AWSReservedSSO_*`) or its session is named like an e-mail address (SAML / OIDC
///   federation names sessions after the person). Other assumed roles are workloads.
/// - GCP: `user` (not a `*.gserviceaccount.com` service account).
/// - Azure: identity type `User`, or a UPN-looking caller (`name@domain`).
/// - Kubernetes: `user` (not a service account or `system:*`).
pub fn human(e: &Event) -> bool {
    let t = e.principal_type.as_str();
    match t {
        "IAMUser" | "Root" | "FederatedUser" | "IdentityCenterUser" | "SAMLUser"
        | "WebIdentityUser" => true,
        "AssumedRole" => {
            let mut parts = e.principal.rsplit('/');
            let session = parts.next().unwrap_or("");
            let role = parts.next().unwrap_or("");
            role.starts_with("AWSReservedSSO_") || session.contains('@')
        }
        "AWSService" | "AWSAccount" | "serviceAccount" | "system" | "ServicePrincipal" | "SAS"
        | "AccountKey" | "Anonymous" => false,
        _ if t.eq_ignore_ascii_case("user") => true,
        _ => !e.principal.ends_with(".gserviceaccount.com") && e.principal.contains('@'),
    }
}

/// Reads done by an AWS service on the principal's behalf (Athena, Glue, Redshift
/// Spectrum, EMR, S3 replication): the principal is `AWSService`, or the call's source /
/// user agent is a service host name (`athena.amazonaws.com`). A query engine scanning a
/// table reads thousands of objects without anyone copying them anywhere.
pub fn service_mediated(e: &Event) -> bool {
    let host = |x: &Option<String>| {
        x.as_deref()
            .is_some_and(|h| h.ends_with(".amazonaws.com") && !h.contains(' '))
    };
    e.principal_type == "AWSService" || host(&e.source_ip) || host(&e.user_agent)
}

/// The recursive-copy tool a user agent names, if any: tools that copy whole buckets or
/// prefixes (`aws s3 sync` / `s3 cp` / `s3 mv` — the CLI's user agent says
/// `command/s3.sync` or `md/command#s3.sync`, and cannot tell `cp` from `cp --recursive` — rclone, s5cmd, s3cmd,
/// MinIO `mc`, S3DistCp, gsutil `cp`/`rsync`/`mv`, `gcloud storage cp|rsync|mv`, AzCopy,
/// Cyberduck, S3 Browser, WinSCP). Matched case-insensitively on the user agent text.
pub fn recursive_copy_tool(ua: &str) -> Option<&'static str> {
    let u = ua.to_ascii_lowercase();
    if u.starts_with("aws-cli/") || u.contains(" aws-cli/") {
        // v2 since 2.13 writes `md/command#s3.sync`; older releases `command/s3.sync`.
        for (cmd, name) in [
            ("s3.sync", "aws s3 sync"),
            ("s3.cp", "aws s3 cp"),
            ("s3.mv", "aws s3 mv"),
        ] {
            let c = |sep: &str| {
                u.split_whitespace()
                    .any(|w| w.ends_with(&format!("command{sep}{cmd}")))
            };
            if c("/") || c("#") {
                return Some(name);
            }
        }
        return None;
    }
    if u.contains("gsutil") {
        for (needle, name) in [
            ("command/rsync", "gsutil rsync"),
            ("command/cp", "gsutil cp"),
            ("command/mv", "gsutil mv"),
        ] {
            if u.contains(needle) {
                return Some(name);
            }
        }
        return None;
    }
    for (needle, name) in [
        ("command/gcloud.storage.rsync", "gcloud storage rsync"),
        ("command/gcloud.storage.cp", "gcloud storage cp"),
        ("command/gcloud.storage.mv", "gcloud storage mv"),
    ] {
        if u.contains(needle) {
            return Some(name);
        }
    }
    for (needle, name) in [
        ("rclone/", "rclone"),
        ("s5cmd", "s5cmd"),
        ("s3cmd", "s3cmd"),
        (" mc/", "mc (MinIO client)"),
        ("s3distcp", "S3DistCp"),
        ("azcopy", "AzCopy"),
        ("cyberduck", "Cyberduck"),
        ("s3 browser", "S3 Browser"),
        ("winscp", "WinSCP"),
    ] {
        if u.contains(needle) {
            return Some(name);
        }
    }
    None
}

/// Does an object's key say it is an audit log, whatever bucket holds it? CloudTrail's
/// delivery layout (`AWSLogs/<account>/CloudTrail/` and `CloudTrail-Digest/`, also under
/// an organisation id), a GCP log sink's objects (`cloudaudit.googleapis.com/...`), Azure
/// diagnostic-settings containers (`insights-activity-logs`, `insights-logs-*`).
pub fn audit_log_key(resource: &str) -> bool {
    let r = resource;
    if let Some(rest) = r.strip_prefix("s3://") {
        let key = rest.split_once('/').map(|(_, k)| k).unwrap_or("");
        return key.contains("AWSLogs/")
            && (key.contains("/CloudTrail/") || key.contains("/CloudTrail-Digest/"));
    }
    if let Some(rest) = r.strip_prefix("gs://") {
        let key = rest.split_once('/').map(|(_, k)| k).unwrap_or("");
        return key.starts_with("cloudaudit.googleapis.com/");
    }
    if let Some(rest) = r.strip_prefix("azblob://") {
        let container = rest.split('/').nth(1).unwrap_or("");
        return container == "insights-activity-logs" || container.starts_with("insights-logs-");
    }
    false
}

/// Buckets a control-plane record names as an audit-log destination: CloudTrail
/// `CreateTrail`/`UpdateTrail` (`s3BucketName`, in the request or the response), and a
/// bucket policy (`PutBucketPolicy`) that lets `cloudtrail.amazonaws.com` write to it.
/// Returns `s3://bucket` forms.
pub fn audit_log_buckets_named(e: &Event) -> Vec<String> {
    let mut out = Vec::new();
    match e.action.as_str() {
        "CreateTrail" | "UpdateTrail" => {
            for p in [
                "/requestParameters/s3BucketName",
                "/responseElements/s3BucketName",
            ] {
                if let Some(b) = e.raw.pointer(p).and_then(Value::as_str) {
                    let b = format!("s3://{b}");
                    if !b.is_empty() && !out.contains(&b) {
                        out.push(b);
                    }
                }
            }
        }
        "PutBucketPolicy" => {
            let Some(bucket) = e
                .raw
                .pointer("/requestParameters/bucketName")
                .and_then(Value::as_str)
            else {
                return out;
            };
            let Some(doc) = super::exposure::policy_document(e) else {
                return out;
            };
            let trail_writes = super::exposure::statements(&doc).iter().any(|st| {
                st.get("Effect").and_then(Value::as_str) == Some("Allow")
                    && st
                        .pointer("/Principal/Service")
                        .map(|s| match s {
                            Value::String(x) => x == "cloudtrail.amazonaws.com",
                            Value::Array(a) => a
                                .iter()
                                .any(|x| x.as_str() == Some("cloudtrail.amazonaws.com")),
                            _ => false,
                        })
                        .unwrap_or(false)
                    && actions(st).iter().any(|a| {
                        let a = a.to_ascii_lowercase();
                        a == "s3:putobject" || a == "s3:*" || a == "*"
                    })
            });
            if trail_writes {
                out.push(format!("s3://{bucket}"));
            }
        }
        _ => {}
    }
    out
}

/// A policy statement's `Action` as a list.
pub fn actions(st: &Value) -> Vec<String> {
    super::burst::strings(st.get("Action"))
}

/// The S3 object a KMS `Decrypt` was made for (SSE-KMS: the encryption context
/// `aws:s3:arn` names the object, or the bucket when S3 Bucket Keys are on), as
/// `s3://bucket[/key]`. These are management events: they are in a trail that logs no S3
/// data events.
pub fn kms_s3_object(e: &Event) -> Option<String> {
    if e.action != "Decrypt" || !e.service.starts_with("kms.") {
        return None;
    }
    let arn = e
        .raw
        .pointer("/requestParameters/encryptionContext/aws:s3:arn")
        .and_then(Value::as_str)?;
    let rest = arn.strip_prefix("arn:aws:s3:::")?;
    if rest.is_empty() {
        return None;
    }
    Some(format!("s3://{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_copy_user_agents() {
        let cases = [
            ("aws-cli/2.15.0 md/awscrt#0.19.19 ua/2.0 os/linux#6 md/arch#x86_64 lang/python#3.11 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#s3.sync", Some("aws s3 sync")),
            ("aws-cli/2.15.0 Python/3.11 Linux/6 exe/x86_64 prompt/off command/s3.sync", Some("aws s3 sync")),
            ("aws-cli/1.29.0 Python/3.8 Linux/5 botocore/1.31.0 command/s3.cp", Some("aws s3 cp")),
            ("aws-cli/2.15.0 Python/3.11 command/s3api.get-object", None),
            ("rclone/v1.66.0", Some("rclone")),
            ("aws-sdk-go-v2/1.24 s5cmd/v2.2.2", Some("s5cmd")),
            ("Boto3/1.34.0 md/Botocore#1.34.0", None),
            ("AzCopy/10.22.0 Azure-Storage/0.15 (go1.21; linux)", Some("AzCopy")),
            ("apitools Python/3.11 gsutil/5.27 (linux) analytics/disabled interactive/True command/cp", Some("gsutil cp")),
        ];
        for (ua, want) in cases {
            assert_eq!(recursive_copy_tool(ua), want, "{ua}");
        }
    }

    #[test]
    fn audit_log_keys() {
        assert!(audit_log_key(
            "s3://trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/x.json.gz"
        ));
        assert!(audit_log_key(
            "s3://trail/AWSLogs/o-abc/111122223333/CloudTrail-Digest/us-east-1/x"
        ));
        assert!(!audit_log_key("s3://data/AWSLogs-notes.txt"));
        assert!(!audit_log_key("s3://data/train/part-1.parquet"));
        assert!(audit_log_key(
            "gs://sink/cloudaudit.googleapis.com/activity/2026/10/01/00:00:00_00:59:59_S0.json"
        ));
        assert!(audit_log_key("azblob://acct/insights-activity-logs/x.json"));
        assert!(!audit_log_key("azblob://acct/models/x.json"));
    }
}
