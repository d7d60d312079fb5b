//! New things in the control plane's namespaces, `kube-system` and `kube-public`: a place
//! attackers hide a workload or an identity because nobody looks there (falco's "Pod
//! Created in Kube Namespace" and "Service Account Created in Kube Namespace", WARNING).
//! One rule, `scan.k8s_kube_system_object` (`medium`), for three kinds of object:
//!
//! - a **pod** running an image that is neither a managed platform's own (`registry.k8s.io`,
//!   `gke.gcr.io`, `mcr.microsoft.com/oss`, EKS's add-on registry...) nor already seen in a
//!   pod of that namespace earlier in the input (the baseline window, or an earlier
//!   report): each image is reported once per namespace;
//! - a **service account** other than the controllers' own (falco's `known_sa_list`),
//!   created by anyone but the control plane;
//! - a **secret** created by a person or a non-system identity (falco's `non_system_user`);
//!   service-account token secrets are left out. A `bootstrap-token-*` secret lets a
//!   machine join the cluster as a node (`evidence.bootstrap_token`).
//!
//! Only successful creations: a refused one left nothing behind.

use super::burst::Stash;
use super::k8s_rbac_change::{control_plane_user, CONTROLLER_SAS};
use super::{glob_match, Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use serde_json::Value;
use std::collections::BTreeSet;

/// The namespaces of the control plane.
const KUBE_NAMESPACES: &[&str] = &["kube-system", "kube-public"];

/// Images of the managed platforms and upstream Kubernetes (falco's
/// `allowed_kube_namespace_image_list`, widened to its registries).
const PLATFORM_IMAGES: &[&str] = &[
    "registry.k8s.io/*",
    "k8s.gcr.io/*",
    "gke.gcr.io/*",
    "gcr.io/gke-release/*",
    "gcr.io/google-containers/*",
    "gcr.io/projectcalico-org/*",
    "mcr.microsoft.com/oss/*",
    "mcr.microsoft.com/aks/*",
    "mcr.microsoft.com/azuremonitor/*",
    "602401143452.dkr.ecr.*.amazonaws.com/*",
    "kope/kube-apiserver-healthcheck",
];

/// An image reference without its tag or digest (`host:5000/a/b:1.2@sha256:..` →
/// `host:5000/a/b`).
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

/// The container images (init, regular, ephemeral) of a pod object, at most 64.
fn images(pod: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for k in ["initContainers", "containers", "ephemeralContainers"] {
        for c in pod
            .pointer(&format!("/spec/{k}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(64)
        {
            if let Some(i) = c.get("image").and_then(Value::as_str) {
                if out.len() < 64 && !out.iter().any(|x| x == i) {
                    out.push(i.to_string());
                }
            }
        }
    }
    out
}

#[derive(Default)]
pub struct K8sKubeSystem {
    /// Images of each pod created in a kube namespace, from the raw record.
    pods: Stash<Vec<String>>,
    /// (namespace, image repository) of the kube-namespace pods seen so far.
    known: BTreeSet<(String, String)>,
    found: Vec<Finding>,
}

fn kube_namespace(e: &Event) -> Option<&str> {
    e.raw
        .pointer("/objectRef/namespace")
        .and_then(Value::as_str)
        .filter(|ns| KUBE_NAMESPACES.contains(ns))
}

impl Detection for K8sKubeSystem {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_kube_system_object"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::K8S || !e.success {
            return;
        }
        let Some(ns) = kube_namespace(e) else {
            return;
        };
        let name = e
            .raw
            .pointer("/objectRef/name")
            .and_then(Value::as_str)
            .or_else(|| {
                e.raw
                    .pointer("/requestObject/metadata/name")
                    .and_then(Value::as_str)
            })
            .unwrap_or("");
        match e.action.as_str() {
            "create pods" => {
                let obj = e.raw.get("requestObject").unwrap_or(&Value::Null);
                self.pods.put(&e.at, images(obj));
            }
            "create serviceaccounts" => {
                if CONTROLLER_SAS.contains(&name) || control_plane_user(&e.principal) {
                    return;
                }
                out.push(
                    cx.finding(
                        "scan.k8s_kube_system_object",
                        Severity::Medium,
                        e,
                        format!("service account {name} created in {ns}"),
                    )
                    .with("object_kind", "serviceaccount")
                    .with("namespace", ns)
                    .with("name", name),
                );
            }
            "create secrets" => {
                if e.principal.starts_with("system:") || super::k8s_secrets::is_token(&e.raw) {
                    return;
                }
                let bootstrap = name.starts_with("bootstrap-token-");
                let what = if bootstrap {
                    " (a bootstrap token: it lets a machine join the cluster as a node)"
                } else {
                    ""
                };
                out.push(
                    cx.finding(
                        "scan.k8s_kube_system_object",
                        Severity::Medium,
                        e,
                        format!("secret {name} created in {ns}{what}"),
                    )
                    .with("object_kind", "secret")
                    .with("namespace", ns)
                    .with("name", name)
                    .with("bootstrap_token", bootstrap),
                );
            }
            _ => {}
        }
    }

    fn observe(&mut self, cx: &Cx, _b: &mut Baseline, e: &Event) {
        if e.source != Source::K8S {
            return;
        }
        let Some(imgs) = self.pods.take(&e.at) else {
            return;
        };
        // The raw record is gone by now: the namespace is in the resource
        // (`k8s://<namespace>/pods...`).
        let ns = e
            .resource
            .strip_prefix("k8s://")
            .and_then(|r| r.split('/').next())
            .unwrap_or("")
            .to_string();
        let new: Vec<String> = imgs
            .iter()
            .filter(|i| {
                let r = repository(i);
                !PLATFORM_IMAGES.iter().any(|p| glob_match(p, r))
                    && !self.known.contains(&(ns.clone(), r.to_string()))
            })
            .cloned()
            .collect();
        self.known
            .extend(imgs.iter().map(|i| (ns.clone(), repository(i).to_string())));
        if new.is_empty() || cx.in_baseline(e) {
            return;
        }
        self.found.push(
            cx.finding(
                "scan.k8s_kube_system_object",
                Severity::Medium,
                e,
                format!(
                    "pod created in {ns} running an image not seen there before ({})",
                    new.join(", ")
                ),
            )
            .with("object_kind", "pod")
            .with("namespace", ns)
            .with("images", new),
        );
    }

    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        std::mem::take(&mut self.found)
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let n = input.source(Source::K8S.name());
        vec![Coverage::new(
            "scan.k8s_kube_system_object",
            n > 0,
            "blind",
            if n == 0 {
                "no Kubernetes audit events in the input".into()
            } else {
                format!(
                    "{n} Kubernetes audit events (pod images need audit level Request for pods)"
                )
            },
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repositories_and_images() {
        assert_eq!(repository("nginx"), "nginx");
        assert_eq!(repository("nginx:1.25"), "nginx");
        assert_eq!(repository("host:5000/a/b:1.2@sha256:00"), "host:5000/a/b");
        assert_eq!(repository("host:5000/a/b"), "host:5000/a/b");
        let pod = json!({"spec": {"containers": [{"image": "a:1"}, {"image": "a:1"}],
            "initContainers": [{"image": "b"}], "ephemeralContainers": [{"name": "x"}]}});
        assert_eq!(images(&pod), ["b", "a:1"]);
        assert!(images(&json!({"spec": 1})).is_empty());
        assert!(PLATFORM_IMAGES
            .iter()
            .any(|p| glob_match(p, repository("registry.k8s.io/kube-proxy:v1.30.1"))));
        assert!(PLATFORM_IMAGES.iter().any(|p| glob_match(
            p,
            "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni"
        )));
    }
}
