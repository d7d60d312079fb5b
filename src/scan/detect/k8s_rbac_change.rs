//! Kubernetes RBAC changes short of a broad grant (`k8s_rbac.rs` has those): a Role /
//! ClusterRole *created* with write verbs (falco's "ClusterRole With Write Privileges
//! Created", priority NOTICE: routine for operators, so `low`, visible but never failing the
//! default gate), and a built-in role or binding (`system:*`, `cluster-admin`) modified or
//! deleted by anyone but the control plane (falco's "System ClusterRole Modified/Deleted",
//! WARNING: `medium`). A write grant that is also a broad grant is reported once, as the
//! broad grant.

use super::{factors::down, logging::control_plane, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use serde_json::Value;

pub struct K8sRbacChange;

/// Write verbs of a role rule (falco's `writable_verbs`).
const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

/// Built-in roles changed in normal operation (falco's exceptions).
const CHANGED_IN_OPERATION: &[&str] = &["system:coredns", "system:managed-certificate-controller"];

/// Controller service accounts of `kube-system` (falco's `known_sa_list`): the control
/// plane's own identities.
pub(super) const CONTROLLER_SAS: &[&str] = &[
    "coredns",
    "coredns-autoscaler",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "service-account-controller",
    "statefulset-controller",
    "clusterrole-aggregation-controller",
];

/// The control plane's own identities: the API server, controller manager, scheduler,
/// addon manager, EKS's `eks:*` components and the `kube-system` controller service
/// accounts. Their changes to built-in objects are the cluster maintaining itself.
pub(super) fn control_plane_user(p: &str) -> bool {
    matches!(
        p,
        "system:apiserver"
            | "system:kube-controller-manager"
            | "system:kube-scheduler"
            | "system:addon-manager"
    ) || p.starts_with("eks:")
        || p.strip_prefix("system:serviceaccount:kube-system:")
            .is_some_and(|sa| CONTROLLER_SAS.contains(&sa))
}

/// The write grants of a role's rules: `verbs:resources` (or non-resource URLs, the first
/// three and a count).
fn write_grants(obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for r in obj
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(256)
    {
        let verbs: Vec<String> = super::k8s_rbac::strs(r, "verbs")
            .into_iter()
            .filter(|v| WRITE_VERBS.contains(&v.as_str()))
            .collect();
        if verbs.is_empty() {
            continue;
        }
        let mut target = super::k8s_rbac::strs(r, "resources");
        if target.is_empty() {
            target = super::k8s_rbac::strs(r, "nonResourceURLs");
        }
        let n = target.len();
        target.truncate(3);
        let mut t = target.join(",");
        if n > 3 {
            t.push_str(&format!(",+{} more", n - 3));
        }
        out.push(format!("{}:{t}", verbs.join(",")));
    }
    let mut once = std::collections::BTreeSet::new();
    out.retain(|x| once.insert(x.clone()));
    out
}

fn kind(resource: &str) -> &'static str {
    match resource {
        "roles" => "Role",
        "clusterroles" => "ClusterRole",
        "rolebindings" => "RoleBinding",
        _ => "ClusterRoleBinding",
    }
}

impl K8sRbacChange {
    fn write_grant(&self, cx: &Cx, e: &Event, resource: &str, out: &mut Vec<Finding>) {
        let Some(obj) = e.raw.get("requestObject") else {
            return;
        };
        // Reported as a broad grant (k8s_rbac.rs) instead.
        if !super::k8s_rbac::grants(obj).0.is_empty() {
            return;
        }
        let g = write_grants(obj);
        if g.is_empty() {
            return;
        }
        let name = e
            .raw
            .pointer("/objectRef/name")
            .and_then(Value::as_str)
            .or_else(|| obj.pointer("/metadata/name").and_then(Value::as_str))
            .unwrap_or("");
        out.push(
            cx.finding(
                "scan.k8s_role_write_grant",
                Severity::Low,
                e,
                format!(
                    "{} {name} created with write permissions ({})",
                    kind(resource),
                    g.join("; ")
                ),
            )
            .with("role", name)
            .with("write_grants", g),
        );
    }

    fn system_role(&self, cx: &Cx, e: &Event, verb: &str, resource: &str, out: &mut Vec<Finding>) {
        let name = e
            .raw
            .pointer("/objectRef/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let builtin = (name.starts_with("system:") && !CHANGED_IN_OPERATION.contains(&name))
            || name == "cluster-admin";
        if !builtin {
            return;
        }
        let fail = super::errors::Failure::of(e);
        let (sev, what) = match &fail {
            None => (Severity::Medium, format!("{verb}d")),
            Some(x) => (
                down(Severity::Medium),
                format!("{verb} attempted, {}", x.clause()),
            ),
        };
        let mut f = cx
            .finding(
                "scan.k8s_system_role_changed",
                sev,
                e,
                format!("built-in {} {name} {what}", kind(resource)),
            )
            .with("role", name)
            .with("verb", verb);
        if let Some(x) = &fail {
            f = x
                .annotate(f)
                .with("error", e.error.clone().unwrap_or_default());
        }
        out.push(f);
    }
}

impl Detection for K8sRbacChange {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_role_write_grant", "scan.k8s_system_role_changed"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::K8S || control_plane_user(&e.principal) {
            return;
        }
        let mut it = e.action.split(' ');
        let (verb, resource) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
        let rbac = matches!(
            resource,
            "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings"
        );
        if !rbac {
            return;
        }
        if verb == "create" && e.success && matches!(resource, "roles" | "clusterroles") {
            self.write_grant(cx, e, resource, out);
        }
        if matches!(verb, "update" | "patch" | "delete") {
            self.system_role(cx, e, verb, resource, out);
        }
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let mut c = control_plane(
            "scan.k8s_role_write_grant / scan.k8s_system_role_changed",
            input,
        );
        if input.source(Source::K8S.name()) == 0 {
            c.status = "blind".into();
            c.reason = "no Kubernetes audit events in the input".into();
        }
        vec![c]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn write_grants_and_control_plane() {
        let g = write_grants(&json!({"rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            {"nonResourceURLs": ["/a", "/b", "/c", "/d"], "verbs": ["delete", "get"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]}]}));
        assert_eq!(g, ["delete:/a,/b,/c,+1 more", "patch:deployments"]);
        assert!(write_grants(&json!({"rules": 3})).is_empty());
        assert!(control_plane_user("system:apiserver"));
        assert!(control_plane_user(
            "system:serviceaccount:kube-system:replicaset-controller"
        ));
        assert!(!control_plane_user(
            "system:serviceaccount:kube-system:tiller"
        ));
        assert!(!control_plane_user("minikube-user"));
    }
}
