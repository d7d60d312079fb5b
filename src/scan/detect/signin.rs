//! Sign-ins and the root user: console logins of IAM users without MFA, and any use of
//! the account's root credentials.
//!
//! Why only IAM users and root for MFA: a federated or SSO console session (`AssumedRole`)
//! logs `MFAUsed: No` because MFA happened at the identity provider; flagging it would
//! flag every SSO login. Root is the identity no guardrail (SCP, permission boundary)
//! limits; AWS advises using it only for the few tasks that need it.
//!
//! Root events *not* counted (decision, documented in docs/scan.md): records with
//! `userIdentity.invokedBy` (an AWS service acting in the account on root's behalf) and
//! `eventType: AwsServiceEvent` (events AWS emits, not calls root made).

use super::burst::{self, Bursts};
use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use chrono::Duration;
use serde_json::{json, Value};

/// A principal's sign-ins or root calls with no gap over this are one finding.
pub const GAP_MINUTES: i64 = 60;

#[derive(Clone, Copy)]
struct Fact {
    /// `ConsoleLogin` with `MFAUsed: No`.
    no_mfa: bool,
    console: bool,
    root: bool,
}

pub struct Signin {
    stash: burst::Stash<Fact>,
    no_mfa: Bursts<Fact>,
    root: Bursts<Fact>,
}

impl Default for Signin {
    fn default() -> Self {
        Signin {
            stash: burst::Stash::default(),
            no_mfa: Bursts::new(Duration::minutes(GAP_MINUTES)),
            root: Bursts::new(Duration::minutes(GAP_MINUTES)),
        }
    }
}

fn fact_of(e: &Event) -> Option<Fact> {
    if e.source != Source::CLOUDTRAIL {
        return None;
    }
    let uid = e.raw.get("userIdentity").unwrap_or(&Value::Null);
    let ty = uid.get("type").and_then(Value::as_str).unwrap_or("");
    let console = e.action == "ConsoleLogin";
    let no_mfa = console
        && matches!(ty, "IAMUser" | "Root")
        && e.raw.pointer("/additionalEventData/MFAUsed") == Some(&json!("No"));
    let root = ty == "Root"
        && uid.get("invokedBy").is_none()
        && e.raw.get("eventType").and_then(Value::as_str) != Some("AwsServiceEvent");
    (no_mfa || root).then_some(Fact {
        no_mfa,
        console,
        root,
    })
}

impl Detection for Signin {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.console_login_without_mfa", "scan.root_credential_use"]
    }

    fn record(&self, _cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if let Some(f) = fact_of(e) {
            self.stash.put(&e.at, f);
        }
    }

    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, e: &Event) {
        if e.source != Source::CLOUDTRAIL {
            return;
        }
        let Some(f) = self.stash.take(&e.at) else {
            return;
        };
        let key = burst::principal_key(e);
        // A root login without MFA is reported once, as root use (the worse finding).
        if f.no_mfa && !f.root {
            self.no_mfa.push(key.clone(), e, f);
        }
        if f.root {
            self.root.push(key, e, f);
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let mut out = Vec::new();
        for b in self.no_mfa.finish() {
            let ok = b.items.iter().filter(|(e, _)| e.success).count();
            let (errors, clause) = burst::failures(b.items.iter().map(|(e, _)| e));
            // Failed logins without MFA: someone tried the password; lower.
            let (sev, title) = if ok > 0 {
                (
                    Severity::Medium,
                    format!("{ok} console sign-in(s) without MFA"),
                )
            } else {
                (
                    Severity::Low,
                    format!(
                        "{} console sign-in attempt(s) without MFA {}",
                        b.items.len(),
                        clause.unwrap_or_else(|| "failed".into())
                    ),
                )
            };
            let mut f = burst::finding(cx, "scan.console_login_without_mfa", sev, &b, title)
                .with("succeeded", ok as u64);
            if !errors.is_empty() {
                f = f.with("errors", errors);
            }
            out.push(f);
        }
        for b in self.root.finish() {
            let ok: Vec<&Event> = b
                .items
                .iter()
                .filter(|(e, _)| e.success)
                .map(|(e, _)| e)
                .collect();
            let console_no_mfa = b
                .items
                .iter()
                .any(|(e, f)| e.success && f.console && f.no_mfa);
            let (errors, clause) = burst::failures(b.items.iter().map(|(e, _)| e));
            let (sev, title) = if console_no_mfa {
                (
                    Severity::Critical,
                    format!(
                        "root user signed in to the console without MFA ({} call(s) in the session)",
                        b.events()
                    ),
                )
            } else if !ok.is_empty() {
                (
                    Severity::High,
                    format!("root credentials used: {} call(s)", b.events()),
                )
            } else {
                (
                    Severity::Medium,
                    format!(
                        "root credentials tried: {} call(s) {}",
                        b.events(),
                        clause.unwrap_or_else(|| "failed".into())
                    ),
                )
            };
            let mut f = burst::finding(cx, "scan.root_credential_use", sev, &b, title)
                .with("succeeded", ok.len() as u64)
                .with("console_without_mfa", console_no_mfa);
            if !errors.is_empty() {
                f = f.with("errors", errors);
            }
            out.push(f);
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane(
            "scan.console_login_without_mfa / scan.root_credential_use",
            input,
        )]
    }
}
