//! Vertex AI and Workbench (GCP audit logs): a model uploaded into the registry, an
//! endpoint's deployed models changed by an identity outside `[scan] approvers`, and a
//! Workbench instance given a (post-)startup script — code that runs as the instance's
//! service account at every start (Stratus `gcp.execution.modify-vertex-notebook-startup`).
//! Model exports are `scan.model_export` (every cloud, operation kind `model_export`).

use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op, Source};
use serde_json::Value;

#[derive(Default)]
pub struct Vertex {
    n_upload: usize,
    n_deploy: usize,
    n_script: usize,
}

/// Metadata values of keys mentioning a startup script, anywhere in the request.
fn scripts(v: &Value, depth: usize, out: &mut Vec<String>) {
    if depth == 0 || out.len() >= 8 {
        return;
    }
    match v {
        Value::Object(m) => {
            // `metadata: {"post-startup-script": "gs://..."}` or `items: [{key, value}]`.
            if let (Some(k), Some(x)) = (m.get("key").and_then(Value::as_str), m.get("value")) {
                if k.contains("startup-script") {
                    out.push(format!("{k}={}", x.as_str().unwrap_or("?")));
                }
            }
            for (k, x) in m {
                if k.contains("startup-script") || k.contains("startupScript") {
                    out.push(format!(
                        "{k}={}",
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string())
                    ));
                } else {
                    scripts(x, depth - 1, out);
                }
            }
        }
        Value::Array(a) => a.iter().take(64).for_each(|x| scripts(x, depth - 1, out)),
        _ => {}
    }
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}

impl Detection for Vertex {
    fn ids(&self) -> &'static [&'static str] {
        &[
            "scan.vertex_model_upload",
            "scan.vertex_endpoint_change",
            "scan.vertex_startup_script_change",
        ]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::GCP || !e.success {
            return;
        }
        match e.op {
            Op::ModelRegister if e.action.ends_with("UploadModel") => {
                let uri = e
                    .raw
                    .pointer("/protoPayload/request/model/artifactUri")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let mut f = cx.finding(
                    "scan.vertex_model_upload",
                    Severity::Medium,
                    e,
                    format!("model uploaded to the Vertex AI registry: {}", e.resource),
                );
                if !uri.is_empty() {
                    f = f.with("artifact_uri", clip(uri));
                }
                if !cx.s.approvers.is_empty() && !cx.approved(&e.principal) {
                    f.severity = Severity::High;
                    f.title
                        .push_str(" (by an identity outside [scan] approvers)");
                }
                out.push(f);
            }
            Op::ModelDeploy => {
                let what = e.action.rsplit('.').next().unwrap_or(&e.action).to_string();
                let (sev, who) = if cx.s.approvers.is_empty() {
                    (
                        Severity::Low,
                        "no [scan] approvers configured to check against",
                    )
                } else if cx.approved(&e.principal) {
                    return;
                } else {
                    (Severity::High, "not in [scan] approvers")
                };
                out.push(
                    cx.finding(
                        "scan.vertex_endpoint_change",
                        sev,
                        e,
                        format!(
                            "{what} on endpoint {} by {} ({who})",
                            e.resource, e.principal
                        ),
                    )
                    .with("change", what),
                );
            }
            Op::StartupScriptChange => {
                let mut s = Vec::new();
                if let Some(r) = e.raw.pointer("/protoPayload/request") {
                    scripts(r, 10, &mut s);
                }
                let mut f = cx.finding(
                    "scan.vertex_startup_script_change",
                    Severity::High,
                    e,
                    format!("Workbench instance startup script changed: {}", e.resource),
                );
                if !s.is_empty() {
                    f = f.with("scripts", s.iter().map(|x| clip(x)).collect::<Vec<_>>());
                }
                out.push(f);
            }
            _ => {}
        }
    }

    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, e: &Event) {
        if e.source != Source::GCP {
            return;
        }
        match e.op {
            Op::ModelRegister if e.action.ends_with("UploadModel") => self.n_upload += 1,
            Op::ModelDeploy => self.n_deploy += 1,
            Op::StartupScriptChange => self.n_script += 1,
            _ => {}
        }
    }

    fn coverage(&self, input: &Stats, cx: &Cx) -> Vec<Coverage> {
        let gcp = input.source(Source::GCP.name());
        let blind = |id: &str, n: usize, what: &str| {
            Coverage::new(
                id,
                n > 0,
                "blind",
                if n > 0 {
                    format!("{n} {what}")
                } else if gcp == 0 {
                    "no GCP audit events in the input".into()
                } else {
                    format!("no {what} in the {gcp} GCP audit events")
                },
            )
        };
        let mut deploy = blind(
            "scan.vertex_endpoint_change",
            self.n_deploy,
            "Vertex AI endpoint deploy / undeploy calls",
        );
        if self.n_deploy > 0 && cx.s.approvers.is_empty() {
            deploy.status = "partial".into();
            deploy
                .reason
                .push_str("; no [scan] approvers configured, every change is reported low");
        }
        vec![
            blind(
                "scan.vertex_model_upload",
                self.n_upload,
                "Vertex AI UploadModel calls",
            ),
            deploy,
            blind(
                "scan.vertex_startup_script_change",
                self.n_script,
                "Workbench startup-script changes",
            ),
        ]
    }
}
