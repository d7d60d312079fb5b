//! Defense evasion on the audit trail itself: logging stopped or changed, bucket
//! versioning suspended (so deletions become unrecoverable).

use super::{Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op};
use serde_json::json;

pub struct Logging;

impl Detection for Logging {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.logging_disabled", "scan.versioning_disabled"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        let a = e.action.as_str();
        let sev = match e.op {
            Op::LoggingDisable => Some(Severity::High),
            Op::LoggingChange => Some(Severity::Medium),
            _ => None,
        };
        if let Some(sev) = sev {
            // A failed attempt is still a defense-evasion signal, one step lower; its text
            // says why it failed (a missing trail is not a denial).
            let f = match super::errors::Failure::of(e) {
                None => cx.finding(
                    "scan.logging_disabled",
                    sev,
                    e,
                    format!("audit logging disabled or changed: {a}"),
                ),
                Some(fail) => {
                    let f = cx
                        .finding(
                            "scan.logging_disabled",
                            Severity::Medium.min(sev),
                            e,
                            format!(
                                "attempt to disable or change audit logging {}: {a}",
                                fail.clause()
                            ),
                        )
                        .with("error", e.error.clone().unwrap_or_default());
                    fail.annotate(f)
                }
            };
            out.push(f);
        }
        if e.op == Op::VersioningChange
            && e.success
            && e.raw
                .pointer("/requestParameters/VersioningConfiguration/Status")
                == Some(&json!("Suspended"))
        {
            let sev = if cx.kind_of(e).is_some() {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(cx.finding(
                "scan.versioning_disabled",
                sev,
                e,
                format!("bucket versioning suspended on {}", e.resource),
            ));
        }
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![control_plane(
            "scan.logging_disabled / scan.versioning_disabled",
            input,
        )]
    }
}

/// Coverage of a detection that needs control-plane (management) events.
pub(super) fn control_plane(detection: &str, input: &Stats) -> Coverage {
    let n = input.control;
    Coverage::new(
        detection,
        n > 0,
        "blind",
        if n > 0 {
            format!("{n} management events")
        } else {
            "no management (control-plane) events in the input".into()
        },
    )
}
