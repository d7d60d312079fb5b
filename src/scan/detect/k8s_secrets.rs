//! Kubernetes secrets read (`get`) or listed (`list` / `watch`) by a principal that never
//! read secrets before: after the baseline, the first secret access of a user or service
//! account. A list returns every secret of the namespace (or the cluster) in one call, so
//! it is reported higher than a get. Service-account token secrets (type
//! `kubernetes.io/service-account-token`, or a name `<account>-token-<5 chars>`) are read
//! by controllers all day and are left out.

use super::burst::Stash;
use super::{first_time, needs_baseline, Baseline, Coverage, Cx, Detection, Seen, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op, Source};
use serde_json::Value;

#[derive(Default)]
pub struct K8sSecrets {
    /// Reads of service-account token secrets (true), from the raw record.
    tokens: Stash<bool>,
    n: usize,
    found: Vec<Finding>,
}

/// `<account>-token-<5 lowercase alphanumerics>`: the legacy token secret name.
fn token_name(name: &str) -> bool {
    name.rsplit_once("-token-").is_some_and(|(a, s)| {
        !a.is_empty()
            && s.len() == 5
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

pub(super) fn is_token(raw: &Value) -> bool {
    const T: &str = "kubernetes.io/service-account-token";
    let name = raw
        .pointer("/objectRef/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    token_name(name)
        || ["requestObject", "responseObject"]
            .iter()
            .any(|k| raw.pointer(&format!("/{k}/type")).and_then(Value::as_str) == Some(T))
}

impl Detection for K8sSecrets {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_secret_read_by_new_principal"]
    }

    fn record(&self, _cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if e.source == Source::K8S && e.op == Op::SecretRead && is_token(&e.raw) {
            self.tokens.put(&e.at, true);
        }
    }

    fn observe(&mut self, cx: &Cx, b: &mut Baseline, e: &Event) {
        if e.source != Source::K8S || e.op != Op::SecretRead {
            return;
        }
        if self.tokens.take(&e.at).is_some() {
            return;
        }
        self.n += 1;
        if first_time(cx, b, e, "k8s_secret_read") != Seen::New || !e.success {
            return;
        }
        let verb = e.action.split(' ').next().unwrap_or("");
        let cluster = e.resource.starts_with("k8s://_cluster/");
        let (sev, what) = match (verb, cluster) {
            ("get", _) => (Severity::Medium, "read secret"),
            (_, true) => (Severity::High, "listed every secret of the cluster"),
            _ => (Severity::High, "listed the secrets of a namespace"),
        };
        self.found.push(cx.finding(
            "scan.k8s_secret_read_by_new_principal",
            sev,
            e,
            format!(
                "{} {what} ({}) for the first time after the baseline",
                e.principal, e.resource
            ),
        ));
    }

    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        std::mem::take(&mut self.found)
    }

    fn coverage(&self, _input: &Stats, cx: &Cx) -> Vec<Coverage> {
        vec![needs_baseline(
            "scan.k8s_secret_read_by_new_principal",
            self.n,
            "Kubernetes secret reads (service-account tokens excluded)",
            cx,
        )]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_names() {
        assert!(super::token_name("default-token-x7k2p"));
        assert!(!super::token_name("db-password"));
        assert!(!super::token_name("-token-abcde"));
        assert!(!super::token_name("api-token-ABCDE"));
    }
}
