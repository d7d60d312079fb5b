//! Exposure: a resource made public or shared with another account (S3 policies and ACLs,
//! snapshot and image shares, GCP IAM `allUsers`, Azure public containers). The policy
//! document is parsed per cloud; only [`Op::PolicyChange`] events are looked at.

use super::{Coverage, Cx, Detection, Stats};
use crate::input::logs::{Event, Op};
use crate::report::{Finding, Severity};
use serde_json::Value;

pub struct Exposure;

impl Detection for Exposure {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.public_or_external_access"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if !e.success || e.op != Op::PolicyChange {
            return;
        }
        if let Some((what, grantees)) = exposure(cx, e) {
            let sev = if cx.kind_of(e).is_some() {
                Severity::Critical
            } else {
                Severity::High
            };
            let f = cx
                .finding(
                    "scan.public_or_external_access",
                    sev,
                    e,
                    format!("{what} on {} ({})", e.resource, e.action),
                )
                .with("grantees", grantees);
            out.push(f);
        }
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane(
            "scan.public_or_external_access",
            input,
        )]
    }
}

/// The policy document of a policy-setting call (a JSON string or an object in CloudTrail).
pub(super) fn policy_document(e: &Event) -> Option<Value> {
    let rp = e.raw.get("requestParameters")?;
    let doc = rp
        .get("bucketPolicy")
        .or_else(|| rp.get("policyDocument"))
        .or_else(|| rp.get("policy"))
        .or_else(|| rp.get("resourcePolicy"))?;
    match doc {
        Value::String(t) => serde_json::from_str(t).ok(),
        v => Some(v.clone()),
    }
}

/// A policy's statements (`Statement` is an object or an array).
pub(super) fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

fn external(cx: &Cx, account: &str, own: &str) -> bool {
    account != own && !cx.s.trusted_accounts.iter().any(|t| t == account)
}

/// Did this event make a resource public or grant another account? Returns a description
/// and the grantees.
fn exposure(cx: &Cx, e: &Event) -> Option<(String, Vec<Value>)> {
    let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
    let own = e.account.as_str();
    let mut grantees: Vec<Value> = Vec::new();
    let mut public = false;
    match e.action.as_str() {
        "PutBucketPolicy"
        | "PutAccessPointPolicy"
        | "UpdateAssumeRolePolicy"
        | "PutResourcePolicy" => {
            let doc = policy_document(e)?;
            for st in statements(&doc) {
                if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                    continue;
                }
                let conditioned = st.get("Condition").is_some();
                let mut ps: Vec<String> = Vec::new();
                match st.get("Principal") {
                    Some(Value::String(x)) => ps.push(x.clone()),
                    Some(Value::Object(o)) => {
                        for v in o.values() {
                            match v {
                                Value::String(x) => ps.push(x.clone()),
                                Value::Array(a) => {
                                    ps.extend(a.iter().filter_map(Value::as_str).map(String::from))
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                for p in ps {
                    if p == "*" {
                        if !conditioned {
                            public = true;
                            grantees.push("*".into());
                        }
                    } else if let Some(acct) = account_of(&p) {
                        if external(cx, &acct, own) {
                            grantees.push(p.into());
                        }
                    }
                }
            }
        }
        "PutBucketAcl" | "PutObjectAcl" => {
            let t = rp.to_string();
            if t.contains("AllUsers")
                || t.contains("AuthenticatedUsers")
                || t.contains("public-read")
            {
                public = true;
                grantees.push("AllUsers".into());
            }
        }
        "DeletePublicAccessBlock" | "DeleteBucketPublicAccessBlock" => {
            return Some(("public access block removed".into(), vec![]));
        }
        "ModifySnapshotAttribute" | "ModifyImageAttribute" => {
            let t = rp.to_string();
            let v: Value = rp.clone();
            let items = v
                .pointer("/createVolumePermission/add/items")
                .or_else(|| v.pointer("/launchPermission/add/items"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for it in items {
                if let Some(u) = it.get("userId").and_then(Value::as_str) {
                    if external(cx, u, own) {
                        grantees.push(u.into());
                    }
                }
                if it.get("group").and_then(Value::as_str) == Some("all") {
                    public = true;
                    grantees.push("all".into());
                }
            }
            let _ = t;
        }
        "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => {
            for v in rp
                .get("valuesToAdd")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if v == "all" {
                    public = true;
                    grantees.push("all".into());
                } else if external(cx, v, own) {
                    grantees.push(v.into());
                }
            }
        }
        a if a.ends_with("SetIamPolicy") || a == "storage.setIamPermissions" => {
            let deltas = e
                .raw
                .pointer("/protoPayload/serviceData/policyDelta/bindingDeltas")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for d in deltas {
                let m = d.get("member").and_then(Value::as_str).unwrap_or("");
                if d.get("action").and_then(Value::as_str) == Some("ADD")
                    && (m == "allUsers" || m == "allAuthenticatedUsers")
                {
                    public = true;
                    grantees.push(m.into());
                }
            }
            let bindings = e
                .raw
                .pointer("/protoPayload/request/policy/bindings")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for b in bindings {
                for m in b
                    .get("members")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(m) = m
                        .as_str()
                        .filter(|m| *m == "allUsers" || *m == "allAuthenticatedUsers")
                    {
                        if !grantees.iter().any(|g| g == m) {
                            public = true;
                            grantees.push(m.into());
                        }
                    }
                }
            }
        }
        a if a.to_ascii_uppercase().ends_with("/CONTAINERS/WRITE") => {
            let t = e.raw.to_string();
            if t.contains("\"publicAccess\":\"Container\"")
                || t.contains("\"publicAccess\":\"Blob\"")
            {
                public = true;
                grantees.push("anonymous".into());
            }
        }
        _ => return None,
    }
    if grantees.is_empty() {
        return None;
    }
    let what = if public {
        "made public".to_string()
    } else {
        "access granted to an external account".to_string()
    };
    Some((what, grantees))
}

/// The account id in an AWS principal (`arn:aws:iam::123456789012:root`, `123456789012`).
fn account_of(p: &str) -> Option<String> {
    if p.len() == 12 && p.chars().all(|c| c.is_ascii_digit()) {
        return Some(p.to_string());
    }
    let parts: Vec<&str> = p.split(':').collect();
    if parts.len() >= 5 && parts[0] == "arn" {
        let a = parts[4];
        if a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()) {
            return Some(a.to_string());
        }
    }
    None
}
