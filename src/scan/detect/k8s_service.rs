//! Kubernetes Services opened outside the cluster network: `type: NodePort` (a port on
//! every node, falco's "Create NodePort Service") or `type: LoadBalancer` (a cloud load
//! balancer, usually public). Ingress controllers and gateways do this by design, so it is
//! `low`: visible in the report, never failing the default gate; a notebook server or a
//! tracking UI exposed this way is the case worth the look.
//!
//! Read from the `requestObject` of `create` / `update` / `patch` calls on `services`
//! (audit level `Request` or above for Services): `evidence.type`, `evidence.ports`
//! (`nodePort` or `port`, at most 16).

use super::{logging::control_plane, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use serde_json::Value;

pub struct K8sService;

impl Detection for K8sService {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_service_exposed"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::K8S || !e.success {
            return;
        }
        let verb = match e.action.as_str() {
            "create services" => "created",
            "update services" | "patch services" => "changed",
            _ => return,
        };
        let Some(spec) = e.raw.pointer("/requestObject/spec") else {
            return;
        };
        let Some(kind) = spec
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| matches!(*t, "NodePort" | "LoadBalancer"))
        else {
            return;
        };
        let ports: Vec<u64> = spec
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p.get("nodePort")
                    .filter(|_| kind == "NodePort")
                    .or_else(|| p.get("port"))
                    .and_then(Value::as_u64)
            })
            .take(16)
            .collect();
        let on = if ports.is_empty() {
            String::new()
        } else {
            format!(
                " on port{} {}",
                if ports.len() > 1 { "s" } else { "" },
                ports
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let reach = if kind == "NodePort" {
            "every node"
        } else {
            "a load balancer"
        };
        out.push(
            cx.finding(
                "scan.k8s_service_exposed",
                Severity::Low,
                e,
                format!(
                    "{kind} service {verb}: {} reachable through {reach}{on}",
                    e.resource
                ),
            )
            .with("type", kind)
            .with("ports", ports),
        );
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let mut c = control_plane("scan.k8s_service_exposed", input);
        if input.source(Source::K8S.name()) == 0 {
            c.status = "blind".into();
            c.reason = "no Kubernetes audit events in the input".into();
        }
        vec![c]
    }
}
