//! Kubernetes RBAC and authentication: a Role / ClusterRole granting wildcards, `pods/exec`
//! (or attach / port-forward) or the escalation verbs, a binding to `cluster-admin`, and
//! requests by the anonymous user or the unauthenticated group that succeeded. In a
//! training cluster any of them hands the datasets, the secrets mounted into the trainers
//! and the nodes' GPUs to whoever holds the grant.
//!
//! Read from the `requestObject` of `create` / `update` / `patch` calls (audit level
//! `Request` or above for RBAC resources); the API server's own bootstrapping
//! (`system:apiserver`) is not reported.

use super::{logging::control_plane, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use serde_json::Value;

pub struct K8sRbac;

/// Non-resource URLs every caller may read (`system:public-info-viewer`, health probes,
/// OIDC discovery): an anonymous request for them is routine.
const PUBLIC_PATHS: &[&str] = &[
    "/healthz",
    "/livez",
    "/readyz",
    "/version",
    "/.well-known/openid-configuration",
    "/openid/v1/jwks",
];

/// Subjects that mean "everyone" or "anyone".
const EVERYONE: &[&str] = &[
    "system:anonymous",
    "system:unauthenticated",
    "system:authenticated",
    "system:serviceaccounts",
];

pub(super) fn strs(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// The dangerous grants of a role's rules: `*` verbs / resources / API groups,
/// `create|*` on `pods/exec|attach|portforward`, `escalate` / `bind` / `impersonate`.
pub(super) fn grants(obj: &Value) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut full = false;
    for r in obj
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(256)
    {
        let verbs = strs(r, "verbs");
        let res = strs(r, "resources");
        let groups = strs(r, "apiGroups");
        let urls = strs(r, "nonResourceURLs");
        let star = |v: &[String]| v.iter().any(|x| x == "*");
        let target = if res.is_empty() {
            urls.join(",")
        } else {
            res.join(",")
        };
        // `*` verbs on `*` resources of `*` API groups: cluster-admin by another name.
        full |= star(&verbs) && ((star(&res) && star(&groups)) || star(&urls));
        if star(&verbs) {
            out.push(format!("*:{target}"));
        } else if star(&res) {
            out.push(format!("{}:*", verbs.join(",")));
        } else if star(&groups) {
            out.push(format!("{}:{target} in apiGroups *", verbs.join(",")));
        }
        let writes = verbs
            .iter()
            .any(|v| v == "create" || v == "*" || v == "get");
        for sub in ["pods/exec", "pods/attach", "pods/portforward"] {
            if writes && res.iter().any(|x| x == sub) {
                out.push(format!("{}:{sub}", verbs.join(",")));
            }
        }
        // Ephemeral containers (`kubectl debug`) are added by update / patch.
        let debug = verbs
            .iter()
            .any(|v| v == "update" || v == "patch" || v == "*");
        if debug && res.iter().any(|x| x == "pods/ephemeralcontainers") {
            out.push(format!("{}:pods/ephemeralcontainers", verbs.join(",")));
        }
        for v in verbs
            .iter()
            .filter(|v| matches!(v.as_str(), "escalate" | "bind" | "impersonate"))
        {
            out.push(format!("{v}:{target}"));
        }
    }
    let mut once = std::collections::BTreeSet::new();
    out.retain(|x| once.insert(x.clone()));
    (out, full)
}

fn subjects(obj: &Value) -> Vec<String> {
    obj.get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(64)
        .map(|s| {
            let kind = s.get("kind").and_then(Value::as_str).unwrap_or("?");
            let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
            match s.get("namespace").and_then(Value::as_str) {
                Some(ns) => format!("{kind}:{ns}/{name}"),
                None => format!("{kind}:{name}"),
            }
        })
        .collect()
}

impl K8sRbac {
    fn rbac(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        let verb = e.action.split(' ').next().unwrap_or("");
        let resource = e.action.split(' ').nth(1).unwrap_or("");
        if !matches!(verb, "create" | "update" | "patch")
            || e.principal == "system:apiserver"
            || !e.success
        {
            return;
        }
        let Some(obj) = e.raw.get("requestObject") else {
            return;
        };
        match resource {
            "roles" | "clusterroles" => {
                let (g, full) = grants(obj);
                if g.is_empty() {
                    return;
                }
                let sev = if full && resource == "clusterroles" {
                    Severity::Critical
                } else {
                    Severity::High
                };
                out.push(
                    cx.finding(
                        "scan.k8s_rbac_broad_grant",
                        sev,
                        e,
                        format!(
                            "{} {verb}d granting {} ({})",
                            if resource == "roles" {
                                "Role"
                            } else {
                                "ClusterRole"
                            },
                            g.join("; "),
                            e.resource
                        ),
                    )
                    .with("grants", g),
                );
            }
            "rolebindings" | "clusterrolebindings" => {
                let role = obj
                    .pointer("/roleRef/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if role != "cluster-admin" {
                    return;
                }
                let subs = subjects(obj);
                let everyone = subs
                    .iter()
                    .any(|s| EVERYONE.iter().any(|x| s.ends_with(&format!(":{x}"))));
                let sev = if everyone {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let scope = if resource == "rolebindings" {
                    "in its namespace"
                } else {
                    "cluster-wide"
                };
                out.push(
                    cx.finding(
                        "scan.k8s_cluster_admin_binding",
                        sev,
                        e,
                        format!(
                            "cluster-admin bound {scope} to {} ({})",
                            if subs.is_empty() {
                                "(no subjects)".to_string()
                            } else {
                                subs.join(", ")
                            },
                            e.resource
                        ),
                    )
                    .with("subjects", subs),
                );
            }
            _ => {}
        }
    }

    fn anonymous(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        let groups = strs(e.raw.get("user").unwrap_or(&Value::Null), "groups");
        let anon = e.principal == "system:anonymous"
            || groups.iter().any(|g| g == "system:unauthenticated");
        if !anon || !e.success {
            return;
        }
        let uri = e
            .raw
            .get("requestURI")
            .and_then(Value::as_str)
            .unwrap_or("");
        let path = uri.split('?').next().unwrap_or(uri);
        if PUBLIC_PATHS
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
        {
            return;
        }
        let verb = e.action.split(' ').next().unwrap_or("");
        let write = !matches!(verb, "get" | "list" | "watch");
        let sensitive = e.resource.contains("/secrets") || e.resource.contains("/exec");
        let sev = if write || sensitive {
            Severity::Critical
        } else {
            Severity::High
        };
        out.push(
            cx.finding(
                "scan.k8s_anonymous_access",
                sev,
                e,
                format!(
                    "unauthenticated request succeeded: {} {}",
                    e.action,
                    if e.resource.is_empty() {
                        uri
                    } else {
                        &e.resource
                    }
                ),
            )
            .with("request_uri", uri),
        );
    }
}

impl Detection for K8sRbac {
    fn ids(&self) -> &'static [&'static str] {
        &[
            "scan.k8s_rbac_broad_grant",
            "scan.k8s_cluster_admin_binding",
            "scan.k8s_anonymous_access",
        ]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::K8S {
            return;
        }
        self.rbac(cx, e, out);
        self.anonymous(cx, e, out);
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let n = input.source(Source::K8S.name());
        let mut c = control_plane(
            "scan.k8s_rbac_broad_grant / scan.k8s_cluster_admin_binding / scan.k8s_anonymous_access",
            input,
        );
        if n == 0 {
            c.status = "blind".into();
            c.reason = "no Kubernetes audit events in the input".into();
        } else {
            c.reason = format!(
                "{n} Kubernetes audit events (RBAC grants need audit level Request for RBAC resources)"
            );
        }
        vec![c]
    }
}

#[cfg(test)]
mod tests {
    use super::grants;
    use serde_json::json;

    #[test]
    fn rbac_grants() {
        let (g, full) =
            grants(&json!({"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}));
        assert_eq!(g, ["*:*"]);
        assert!(full);
        let (g, full) = grants(&json!({"rules": [
            {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["patch"]}]}));
        assert_eq!(
            g,
            [
                "create:pods/exec",
                "impersonate:users",
                "patch:pods/ephemeralcontainers"
            ]
        );
        assert!(!full);
        assert!(grants(&json!({"rules": "nonsense"})).0.is_empty());
    }
}
