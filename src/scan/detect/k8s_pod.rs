//! Kubernetes workloads that escape their container: a pod (or a Job / Deployment /
//! StatefulSet / CronJob pod template) created with a privileged container or a hostPath
//! volume. Training jobs run on GPU nodes holding credentials, datasets and other tenants'
//! checkpoints; a privileged or host-mounted pod there reads all of it. Needs the audit
//! level `Request` or above for pods (the `requestObject`); without it nothing can be seen.

use super::{logging::control_plane, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use serde_json::Value;

pub struct K8sPod;

/// The pod spec in a created object: `spec` of a Pod, `spec.template.spec` of a Job /
/// Deployment / StatefulSet, `spec.jobTemplate.spec.template.spec` of a CronJob.
fn pod_spec(obj: &Value) -> Option<&Value> {
    obj.pointer("/spec/jobTemplate/spec/template/spec")
        .or_else(|| obj.pointer("/spec/template/spec"))
        .or_else(|| obj.get("spec").filter(|s| s.get("containers").is_some()))
}

/// What makes the spec dangerous: `privileged:<container>`, `hostPath:<path>`.
fn dangers(spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if c.pointer("/securityContext/privileged") == Some(&Value::Bool(true)) {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                out.push(format!("privileged:{name}"));
            }
        }
    }
    for v in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = v.pointer("/hostPath/path") {
            out.push(format!("hostPath:{}", p.as_str().unwrap_or("?")));
        }
    }
    out
}

impl Detection for K8sPod {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_privileged_pod"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::K8S || !e.action.starts_with("create ") || e.action.contains('/') {
            return;
        }
        let Some(spec) = e.raw.get("requestObject").and_then(pod_spec) else {
            return;
        };
        let d = dangers(spec);
        if d.is_empty() {
            return;
        }
        // A failed attempt is still a signal, one step lower; the text says why it failed.
        let fail = super::errors::Failure::of(e);
        let sev = if fail.is_none() {
            Severity::High
        } else {
            Severity::Medium
        };
        let what = match &fail {
            None => "workload created".to_string(),
            Some(x) => format!("attempt to create a workload {}", x.clause()),
        };
        let mut f = cx
            .finding(
                "scan.k8s_privileged_pod",
                sev,
                e,
                format!("{what} with {} ({})", d.join(", "), e.resource),
            )
            .with("escape", d.join(","));
        if let Some(x) = &fail {
            f = x
                .annotate(f)
                .with("error", e.error.clone().unwrap_or_default());
        }
        out.push(f);
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let mut c = control_plane("scan.k8s_privileged_pod", input);
        if input.source(Source::K8S.name()) == 0 {
            c.status = "blind".into();
            c.reason = "no Kubernetes audit events in the input".into();
        }
        vec![c]
    }
}
