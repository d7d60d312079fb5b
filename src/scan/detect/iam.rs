//! IAM persistence: the ways an intruder keeps access after the first foothold — a new
//! user, an access key or console password for someone else, administrator rights
//! attached, a role's trust policy opened to another account.
//!
//! Each call is judged from its request (the policy documents are parsed, not matched as
//! text), then a principal's calls with no gap over [`GAP_MINUTES`] are one finding whose
//! severity is its worst step: "created user x, access key for x, AdministratorAccess
//! attached to x" is one backdoor, not three alerts. A failed step counts one level lower
//! and the finding says what its error meant.

use super::burst::{self, Bursts, Stash};
use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use chrono::Duration;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub const GAP_MINUTES: i64 = 60;

/// One persistence step, as judged from its request.
#[derive(Clone)]
struct Step {
    /// What it did, for the title ("access key created for user bob").
    what: String,
    /// The user / role / group it was done to.
    target: String,
    /// Severity if it succeeded.
    sev: Severity,
    /// `CreateUser`: the user created (for the backdoor-user combination).
    created_user: Option<String>,
    /// Accounts or `*` a trust policy now lets assume the role.
    trusted: Vec<String>,
}

pub struct Iam {
    stash: Stash<Step>,
    bursts: Bursts<Step>,
}

impl Default for Iam {
    fn default() -> Self {
        Iam {
            stash: Stash::default(),
            bursts: Bursts::new(Duration::minutes(GAP_MINUTES)),
        }
    }
}

/// An `Allow` statement granting every action on every resource.
pub(super) fn grants_admin(doc: &Value) -> bool {
    burst::statements(doc).iter().any(|st| {
        st.get("Effect").and_then(Value::as_str) == Some("Allow")
            && burst::strings(st.get("Action"))
                .iter()
                .any(|a| a == "*" || a == "*:*")
            && burst::strings(st.get("Resource")).iter().any(|r| r == "*")
    })
}

const ADMIN_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
];

fn step_of(cx: &Cx, e: &Event) -> Option<Step> {
    if e.source != Source::CLOUDTRAIL || e.service != "iam.amazonaws.com" {
        return None;
    }
    let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
    let get = |k: &str| rp.get(k).and_then(Value::as_str).map(String::from);
    let uid = e.raw.get("userIdentity").unwrap_or(&Value::Null);
    // The caller's own user name, when the caller is an IAM user.
    let me = (uid.get("type").and_then(Value::as_str) == Some("IAMUser"))
        .then(|| uid.get("userName").and_then(Value::as_str))
        .flatten();
    let target_user = get("userName");
    let other = match (&target_user, me) {
        (Some(t), Some(m)) => t != m,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let user = target_user.clone().unwrap_or_else(|| "itself".into());
    let mut step = Step {
        what: String::new(),
        target: user.clone(),
        sev: Severity::Low,
        created_user: None,
        trusted: Vec::new(),
    };
    let holder = |rp: &Value| {
        get("userName")
            .map(|u| format!("user {u}"))
            .or_else(|| {
                rp.get("roleName")
                    .and_then(Value::as_str)
                    .map(|r| format!("role {r}"))
            })
            .or_else(|| {
                rp.get("groupName")
                    .and_then(Value::as_str)
                    .map(|g| format!("group {g}"))
            })
            .unwrap_or_else(|| "?".into())
    };
    match e.action.as_str() {
        "CreateUser" => {
            step.what = format!("user {user} created");
            step.sev = Severity::Medium;
            step.created_user = target_user;
        }
        "CreateAccessKey" => {
            if other {
                step.what = format!("access key created for another user, {user}");
                step.sev = Severity::High;
            } else {
                step.what = "access key created for the caller itself".into();
                step.sev = Severity::Low;
            }
        }
        "CreateLoginProfile" | "UpdateLoginProfile" => {
            let verb = if e.action == "CreateLoginProfile" {
                "console password set"
            } else {
                "console password reset"
            };
            if other {
                step.what = format!("{verb} for another user, {user}");
                step.sev = Severity::High;
            } else {
                step.what = format!("{verb} for the caller itself");
                step.sev = if e.action == "CreateLoginProfile" {
                    Severity::Medium
                } else {
                    Severity::Low
                };
            }
        }
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => {
            let arn = get("policyArn")?;
            if !ADMIN_POLICIES.contains(&arn.as_str()) {
                return None;
            }
            let name = arn.rsplit('/').next().unwrap_or(&arn).to_string();
            step.target = holder(rp);
            step.what = format!("{name} attached to {}", step.target);
            step.sev = Severity::High;
        }
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" | "CreatePolicyVersion" => {
            let doc = burst::document(rp.get("policyDocument")?)?;
            if !grants_admin(&doc) {
                return None;
            }
            step.target = if e.action == "CreatePolicyVersion" {
                format!("policy {}", get("policyArn").unwrap_or_default())
            } else {
                holder(rp)
            };
            step.what = format!(
                "policy allowing every action on every resource put on {}",
                step.target
            );
            step.sev = Severity::High;
        }
        "UpdateAssumeRolePolicy" => {
            let role = get("roleName").unwrap_or_default();
            step.target = format!("role {role}");
            let doc = burst::document(rp.get("policyDocument")?)?;
            let own = e.account.as_str();
            let mut anyone = false;
            for st in burst::statements(&doc) {
                if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                    continue;
                }
                let conditioned = st.get("Condition").is_some();
                let principals = match st.get("Principal") {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Object(o)) => burst::strings(o.get("AWS")),
                    _ => Vec::new(),
                };
                for p in principals {
                    if p == "*" {
                        if !conditioned {
                            anyone = true;
                        }
                        step.trusted.push(p);
                    } else if let Some(a) = burst::account_of(&p) {
                        if burst::external(cx, &a, own) {
                            step.trusted.push(p);
                        }
                    }
                }
            }
            if anyone {
                step.what = format!("trust policy of role {role} lets any AWS principal assume it");
                step.sev = Severity::Critical;
            } else if !step.trusted.is_empty() {
                step.what = format!(
                    "trust policy of role {role} now trusts another account ({})",
                    step.trusted.join(", ")
                );
                step.sev = Severity::High;
            } else {
                step.what =
                    format!("trust policy of role {role} changed (own account or services only)");
                step.sev = Severity::Low;
            }
        }
        _ => return None,
    }
    Some(step)
}

/// One level lower, for a step that failed.
pub(super) fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        _ => Severity::Info,
    }
}

impl Detection for Iam {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.iam_persistence"]
    }

    fn record(&self, cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if let Some(s) = step_of(cx, e) {
            self.stash.put(&e.at, s);
        }
    }

    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, e: &Event) {
        self.bursts.push_stashed(&mut self.stash, e);
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let mut out = Vec::new();
        for b in self.bursts.finish() {
            let mut sev = Severity::Info;
            let created: BTreeSet<&str> = b
                .items
                .iter()
                .filter(|(e, _)| e.success)
                .filter_map(|(_, s)| s.created_user.as_deref())
                .collect();
            let mut backdoor = false;
            let mut steps = Vec::new();
            for (e, s) in &b.items {
                let mut v = s.sev;
                // A credential or admin rights for a user created in the same burst: a
                // backdoor user.
                if e.success
                    && s.created_user.is_none()
                    && created
                        .iter()
                        .any(|u| s.target == *u || s.target == format!("user {u}"))
                {
                    backdoor = true;
                    v = v.max(Severity::High);
                }
                if !e.success {
                    v = lower(v);
                }
                sev = sev.max(v);
                let fail = super::errors::Failure::of(e);
                steps.push(json!({
                    "action": e.action,
                    "target": s.target,
                    "what": s.what,
                    "severity": v.as_str(),
                    "outcome": fail.as_ref().map(|f| f.kind.as_str()).unwrap_or("succeeded"),
                    "record": e.at.to_string(),
                    "trusted": s.trusted,
                }));
            }
            if sev == Severity::Info {
                continue;
            }
            let mut whats: Vec<String> = Vec::new();
            for (e, s) in &b.items {
                let w = if e.success {
                    s.what.clone()
                } else {
                    format!(
                        "{} ({})",
                        s.what,
                        super::errors::Failure::of(e)
                            .map(|f| f.clause())
                            .unwrap_or_default()
                    )
                };
                if !whats.contains(&w) {
                    whats.push(w);
                }
            }
            let shown = whats.len().min(3);
            let mut title = format!(
                "IAM persistence{}: {}",
                if backdoor { " (backdoor user)" } else { "" },
                whats[..shown].join("; ")
            );
            if whats.len() > shown {
                title.push_str(&format!(" (+{} more)", whats.len() - shown));
            }
            let (errors, _) = burst::failures(b.items.iter().map(|(e, _)| e));
            let mut f = burst::finding(cx, "scan.iam_persistence", sev, &b, title)
                .with("steps", steps)
                .with("backdoor_user", backdoor)
                .with(
                    "targets",
                    b.items
                        .iter()
                        .map(|(_, s)| s.target.clone())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>(),
                );
            if !errors.is_empty() {
                f = f.with("errors", errors);
            }
            out.push(f);
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane("scan.iam_persistence", input)]
    }
}
