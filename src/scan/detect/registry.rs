//! Model registries: MLflow registry state (promotions by non-approvers or with no run, a
//! version whose run or source changed between exports) and SageMaker model-package
//! approvals ([`Op::ModelPromote`]).

use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op, Source};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub struct Registry {
    /// Versions by tracking server + `models:/name/version`, in time order.
    by_version: BTreeMap<String, Vec<Event>>,
    found: Vec<Finding>,
}

impl Detection for Registry {
    fn ids(&self) -> &'static [&'static str] {
        &[
            "scan.registry_unapproved_promotion",
            "scan.registry_approval",
            "scan.registry_promotion_without_run",
            "scan.registry_version_source_changed",
        ]
    }

    /// SageMaker model-package approvals, one call at a time.
    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.op != Op::ModelPromote || e.source == Source::MLFLOW || !e.success {
            return;
        }
        if cx.s.approvers.is_empty() {
            out.push(cx.finding(
                "scan.registry_approval",
                Severity::Low,
                e,
                "model package approved (no [scan] approvers configured to check against)".into(),
            ));
        } else if !cx.approved(&e.principal) {
            out.push(cx.finding(
                "scan.registry_unapproved_promotion",
                Severity::High,
                e,
                format!(
                    "model package approved by {} (not in [scan] approvers)",
                    e.principal
                ),
            ));
        }
    }

    fn observe(&mut self, cx: &Cx, _b: &mut Baseline, e: &Event) {
        if e.source != Source::MLFLOW {
            return;
        }
        // The same name/version on two tracking servers are two different versions.
        let server = e.raw["tracking_uri"].as_str().unwrap_or("");
        self.by_version
            .entry(format!("{server} {}", e.resource))
            .or_default()
            .push(e.clone());
        let stage = e.raw["current_stage"].as_str().unwrap_or("None");
        let aliases: Vec<String> = e.raw["aliases"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let promoted = stage.eq_ignore_ascii_case("Production") || !aliases.is_empty();
        if !promoted {
            return;
        }
        let to = if stage.eq_ignore_ascii_case("Production") {
            "Production".to_string()
        } else {
            format!("alias {}", aliases.join(", "))
        };
        let user = e.raw["user_id"].as_str().unwrap_or("");
        if e.raw["run_id"].as_str().unwrap_or("").is_empty() {
            let f = cx
                .finding(
                    "scan.registry_promotion_without_run",
                    Severity::High,
                    e,
                    format!("{} promoted to {to} with no linked run", e.resource),
                )
                .with("stage", stage)
                .with("aliases", aliases.clone());
            self.found.push(f);
        }
        if !cx.s.approvers.is_empty() && (user.is_empty() || !cx.approved(user)) {
            let who = if user.is_empty() {
                "an unrecorded user"
            } else {
                user
            };
            let f = cx
                .finding(
                    "scan.registry_unapproved_promotion",
                    Severity::High,
                    e,
                    format!(
                        "{} promoted to {to} by {who}, not in [scan] approvers",
                        e.resource
                    ),
                )
                .with("stage", stage)
                .with("aliases", aliases);
            self.found.push(f);
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let mut out = std::mem::take(&mut self.found);
        for evs in std::mem::take(&mut self.by_version).into_values() {
            let runs: BTreeSet<(&str, &str)> = evs
                .iter()
                .map(|e| {
                    (
                        e.raw["run_id"].as_str().unwrap_or(""),
                        e.raw["source"].as_str().unwrap_or(""),
                    )
                })
                .collect();
            let Some(last) = evs.last() else { continue };
            if runs.len() > 1 {
                let f = cx
                    .finding(
                        "scan.registry_version_source_changed",
                        Severity::High,
                        last,
                        format!(
                            "{}: run_id/source differ between exports (the artifact behind a version was swapped)",
                            last.resource
                        ),
                    )
                    .with(
                        "variants",
                        runs.iter()
                            .map(|(r, s)| json!({"run_id": r, "source": s}))
                            .collect::<Vec<_>>(),
                    )
                    .with(
                        "records",
                        evs.iter().map(|e| e.at.to_string()).collect::<Vec<_>>(),
                    );
                out.push(f);
            }
        }
        out
    }

    fn coverage(&self, input: &Stats, cx: &Cx) -> Vec<Coverage> {
        let n = input.op(Op::ModelRegister) + input.op(Op::ModelPromote);
        vec![Coverage::new(
            "scan.registry_*",
            n > 0,
            "blind",
            if n == 0 {
                "no MLflow registry export or SageMaker model-package events in the input".into()
            } else if cx.s.approvers.is_empty() {
                format!("{n} registry records; no [scan] approvers configured, so unapproved promotions cannot be told apart")
            } else {
                format!("{n} registry records")
            },
        )]
    }
}
