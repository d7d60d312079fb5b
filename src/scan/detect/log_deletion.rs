//! Log data destroyed: CloudWatch Logs `DeleteLogGroup` / `DeleteLogStream` (operation
//! kind `log_delete`). Where `scan.logging_disabled` covers the audit trail's
//! *configuration* (a trail stopped, selectors changed, flow logs or DNS query logs
//! removed), this covers the *data* already written: deleting the log group that receives
//! CloudTrail, VPC flow logs or EKS audit logs removes the evidence of what came before.
//!
//! Deployments tear down log groups of deleted functions every day (`/aws/lambda/...`), so
//! the severity depends on what the group looks like: `high` for audit and network logs
//! (names with cloudtrail, flowlog(s)/flow-log(s), vpc, audit, guardduty, securityhub,
//! waf, dns/route53, `/aws/eks/`), `medium` for other groups, one level lower for a stream
//! than for its group and for a failed call. A principal's deletions with no gap over
//! [`GAP_MINUTES`] are one finding.

use super::burst::{self, Bursts};
use super::iam::lower;
use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op};
use chrono::Duration;
use serde_json::json;
use std::collections::BTreeSet;

pub const GAP_MINUTES: i64 = 60;

const SECURITY: &[&str] = &[
    "cloudtrail",
    "flowlog",
    "flow-log",
    "flow_log",
    "vpc",
    "audit",
    "guardduty",
    "securityhub",
    "waf",
    "route53",
    "dns",
    "/aws/eks/",
];

/// Does a log group name look like audit / security / network logs?
pub(super) fn security_log(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECURITY.iter().any(|k| n.contains(k))
}

pub struct LogDeletion {
    bursts: Bursts<()>,
}

impl Default for LogDeletion {
    fn default() -> Self {
        LogDeletion {
            bursts: Bursts::new(Duration::minutes(GAP_MINUTES)),
        }
    }
}

fn severity(e: &Event) -> Severity {
    let mut s = if security_log(&e.resource) {
        Severity::High
    } else {
        Severity::Medium
    };
    if e.action == "DeleteLogStream" {
        s = lower(s);
    }
    if !e.success {
        s = lower(s);
    }
    s
}

impl Detection for LogDeletion {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.log_deletion"]
    }

    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, e: &Event) {
        if e.op == Op::LogDelete {
            self.bursts.push(burst::principal_key(e), e, ());
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let mut out = Vec::new();
        for b in self.bursts.finish() {
            let sev = b
                .items
                .iter()
                .map(|(e, _)| severity(e))
                .max()
                .unwrap_or(Severity::Low);
            let ok: BTreeSet<&str> = b
                .items
                .iter()
                .filter(|(e, _)| e.success)
                .map(|(e, _)| e.resource.as_str())
                .collect();
            let bad: BTreeSet<&str> = b
                .items
                .iter()
                .filter(|(e, _)| !e.success)
                .map(|(e, _)| e.resource.as_str())
                .collect();
            let (errors, clause) = burst::failures(b.items.iter().map(|(e, _)| e));
            let names = |s: &BTreeSet<&str>| {
                let v: Vec<&str> = s.iter().take(3).copied().collect();
                let more = s.len().saturating_sub(3);
                if more > 0 {
                    format!("{} (+{more} more)", v.join(", "))
                } else {
                    v.join(", ")
                }
            };
            let mut title = String::new();
            if !ok.is_empty() {
                title = format!("log data deleted: {}", names(&ok));
            }
            if !bad.is_empty() {
                if !title.is_empty() {
                    title.push_str("; ");
                }
                title.push_str(&format!(
                    "attempt to delete {} {}",
                    names(&bad),
                    clause.unwrap_or_else(|| "failed".into())
                ));
            }
            let mut f = burst::finding(cx, "scan.log_deletion", sev, &b, title)
                .with("deleted", json!(ok.iter().collect::<Vec<_>>()))
                .with("not_deleted", json!(bad.iter().collect::<Vec<_>>()))
                .with(
                    "security_logs",
                    b.items.iter().any(|(e, _)| security_log(&e.resource)),
                );
            if !errors.is_empty() {
                f = f.with("errors", errors);
            }
            out.push(f);
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane("scan.log_deletion", input)]
    }
}
