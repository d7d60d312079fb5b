//! A Kubernetes namespace created by someone who does not administer the cluster (falco's
//! "Disallowed K8s User" / "Create Disallowed Namespace", priority WARNING, but a new
//! namespace is an everyday event: `low`, visible, never failing the default gate). A
//! namespace is where an intruder's own workloads, roles and secrets can live apart from
//! everything that is watched.
//!
//! Who administers the cluster: the bootstrap administrators kubeadm, minikube, kops and
//! the autoscalers use (falco's `allowed_k8s_users`), `[scan] k8s_admins` (globs), and,
//! with a baseline, every principal that created a namespace during it (carried in a saved
//! baseline as `k8s_namespace_create`). Control-plane and service-account identities
//! (`system:*`, `eks:*`: controllers, GitOps agents) are not reported.

use super::{first_time, glob_match, Baseline, Coverage, Cx, Detection, Seen, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};

/// Bootstrap administrators of common distributions (falco's `allowed_k8s_users`).
const BUILTIN_ADMINS: &[&str] = &[
    "minikube",
    "minikube-user",
    "kubelet",
    "kops",
    "admin",
    "kube",
    "kube-proxy",
    "kube-apiserver-healthcheck",
    "kubernetes-admin",
    "vpa-recommender",
    "vpa-updater",
    "cluster-autoscaler",
    "cloud-controller-manager",
];

#[derive(Default)]
pub struct K8sNamespace {
    n: usize,
    found: Vec<Finding>,
}

impl Detection for K8sNamespace {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_namespace_by_unknown_user"]
    }

    fn observe(&mut self, cx: &Cx, b: &mut Baseline, e: &Event) {
        if e.source != Source::K8S || e.action != "create namespaces" {
            return;
        }
        self.n += 1;
        let p = e.principal.as_str();
        if !e.success
            || p.starts_with("system:")
            || p.starts_with("eks:")
            || BUILTIN_ADMINS.contains(&p)
            || cx.s.k8s_admins.iter().any(|g| glob_match(g, p))
        {
            return;
        }
        if matches!(
            first_time(cx, b, e, "k8s_namespace_create"),
            Seen::Learning | Seen::Known
        ) {
            return;
        }
        let name = e.resource.rsplit('/').next().unwrap_or("");
        self.found.push(
            cx.finding(
                "scan.k8s_namespace_by_unknown_user",
                Severity::Low,
                e,
                format!("namespace {name} created by {p}, not a known cluster administrator"),
            )
            .with("namespace", name),
        );
    }

    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        std::mem::take(&mut self.found)
    }

    fn coverage(&self, _input: &Stats, cx: &Cx) -> Vec<Coverage> {
        let n = self.n;
        vec![if n == 0 {
            Coverage::new(
                "scan.k8s_namespace_by_unknown_user",
                false,
                "blind",
                "no Kubernetes namespace creations in the input".into(),
            )
        } else {
            Coverage::new(
                "scan.k8s_namespace_by_unknown_user",
                true,
                "",
                format!(
                    "{n} namespace creations; administrators: built-in bootstrap users{}{}",
                    if cx.s.k8s_admins.is_empty() {
                        ""
                    } else {
                        ", [scan] k8s_admins"
                    },
                    if cx.has_baseline {
                        ", the baseline's namespace creators"
                    } else {
                        ""
                    }
                ),
            )
        }]
    }
}
