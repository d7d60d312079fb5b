//! Kubernetes API server audit events (`audit.k8s.io/v1`, also `v1beta1` and the 2018 format
//! without `apiVersion`), one JSON event per line as the log backend writes them, or an
//! `EventList` (`{"kind":"EventList","items":[...]}`).
//!
//! Stages: the API server writes one record per *stage* of a request (`RequestReceived`,
//! `ResponseStarted`, `ResponseComplete`, `Panic`), so a policy that keeps every stage logs
//! the same call two or three times, and counting every record would inflate every
//! per-principal count. A request is counted once: at `ResponseComplete`, or at
//! `ResponseStarted` for the long-running `exec` / `attach` / `portforward` connections
//! (their `ResponseComplete` only comes when the session ends), and always at `Panic`. The
//! other stage records are read and recognised as repeats ([`LogSource::counted`]), neither
//! events nor skips. Caveat (docs/scan.md): an audit policy that omits `ResponseStarted`
//! hides exec sessions from the count.
//!
//! Source IP: the *last* entry of `sourceIPs`, the address of the connection the API server
//! accepted; the entries before it come from `X-Forwarded-For` / `X-Real-Ip` headers, which
//! the client chooses.

use super::fields::{normalize_ip, num, parse_time, s};
use super::registry::{LogSource, Parsed};
use super::{Event, Op, RecordRef, Source};
use serde_json::Value;

impl Source {
    pub const K8S: Source = Source("k8s");
}

pub struct K8s;

impl LogSource for K8s {
    fn source(&self) -> Source {
        Source::K8S
    }
    fn sniff(&self, rec: &Value) -> bool {
        let api_ok = match rec.get("apiVersion").and_then(Value::as_str) {
            Some(v) => v.starts_with("audit.k8s.io/"),
            None => true,
        };
        api_ok
            && rec.get("kind").and_then(Value::as_str) == Some("Event")
            && rec.get("auditID").is_some()
    }
    fn parse(&self, rec: Value, at: RecordRef) -> Parsed {
        parse(rec, at)
    }
    fn containers(&self) -> &'static [&'static str] {
        &["items"]
    }
    fn counted(&self, rec: &Value) -> bool {
        // Records without a stage go to `parse`, which rejects them by name.
        let Some(stage) = rec.get("stage").and_then(Value::as_str) else {
            return true;
        };
        let long_running = matches!(
            rec.pointer("/objectRef/subresource")
                .and_then(Value::as_str),
            Some("exec" | "attach" | "portforward")
        ) && rec.pointer("/objectRef/resource").and_then(Value::as_str)
            == Some("pods");
        match stage {
            "Panic" => true,
            "ResponseComplete" => !long_running,
            "ResponseStarted" => long_running,
            "RequestReceived" => false,
            // An unknown stage name: let `parse` reject it, so it is listed.
            _ => true,
        }
    }
}

/// Kubeflow training and notebook custom resources (plural resource names, as in
/// `objectRef.resource`): `kubeflow.org/v1` (Training Operator, Notebook Controller) and
/// Trainer v2 `trainer.kubeflow.org`. Creating one starts training / notebook pods.
pub static KUBEFLOW_RESOURCES: &[&str] = &[
    "pytorchjobs",
    "tfjobs",
    "mpijobs",
    "xgboostjobs",
    "paddlejobs",
    "jaxjobs",
    "mxjobs",
    "notebooks",
    "trainjobs",
    "trainingruntimes",
    "clustertrainingruntimes",
];

/// The operation kind of a verb on a resource/subresource.
fn op(verb: &str, resource: &str, sub: &str) -> Op {
    if sub.is_empty() && verb == "create" && KUBEFLOW_RESOURCES.contains(&resource) {
        return Op::JobSubmit;
    }
    match (resource, sub) {
        ("pods", "exec" | "attach" | "portforward") => Op::ExecAttach,
        ("secrets", "") if matches!(verb, "get" | "list" | "watch") => Op::SecretRead,
        ("serviceaccounts", "token") if verb == "create" => Op::CredentialCreate,
        ("roles" | "clusterroles" | "rolebindings" | "clusterrolebindings", _)
            if !matches!(verb, "get" | "list" | "watch") =>
        {
            Op::PolicyChange
        }
        ("pods" | "jobs" | "cronjobs" | "deployments" | "statefulsets", "") if verb == "create" => {
            Op::JobSubmit
        }
        _ => Op::Other,
    }
}

fn parse(rec: Value, at: RecordRef) -> Parsed {
    let Some(stage) = s(&rec, "stage") else {
        return Err((at, "Kubernetes audit event without stage".into()));
    };
    if !matches!(
        stage.as_str(),
        "ResponseComplete" | "ResponseStarted" | "Panic"
    ) {
        return Err((
            at,
            format!("Kubernetes audit event of unknown stage {stage}"),
        ));
    }
    let Some(verb) = s(&rec, "verb").filter(|v| !v.is_empty()) else {
        return Err((at, "Kubernetes audit event without verb".into()));
    };
    let Some(principal) = s(&rec, "user/username").filter(|v| !v.is_empty()) else {
        return Err((at, "Kubernetes audit event without user.username".into()));
    };
    let time = rec
        .get("stageTimestamp")
        .and_then(parse_time)
        .or_else(|| rec.get("requestReceivedTimestamp").and_then(parse_time));
    if time.is_none() {
        return Err((
            at,
            "Kubernetes audit event without a valid stageTimestamp / requestReceivedTimestamp"
                .into(),
        ));
    }
    let resource = s(&rec, "objectRef/resource").unwrap_or_default();
    let sub = s(&rec, "objectRef/subresource").unwrap_or_default();
    let ns = s(&rec, "objectRef/namespace").unwrap_or_default();
    let name = s(&rec, "objectRef/name").unwrap_or_default();
    // k8s://<namespace or _cluster>/<resource>[/<name>][/<subresource>]
    let mut res = if resource.is_empty() {
        s(&rec, "requestURI").unwrap_or_default()
    } else {
        let mut r = format!(
            "k8s://{}/{resource}",
            if ns.is_empty() { "_cluster" } else { &ns }
        );
        if !name.is_empty() {
            r.push('/');
            r.push_str(&name);
        }
        r
    };
    if !sub.is_empty() {
        res.push('/');
        res.push_str(&sub);
    }
    let principal_type = if principal.starts_with("system:serviceaccount:") {
        "serviceAccount"
    } else if principal.starts_with("system:") {
        "system"
    } else {
        "user"
    }
    .to_string();
    let code = num(rec.pointer("/responseStatus/code")).unwrap_or(0.0);
    let error = (stage == "Panic" || code >= 400.0).then(|| {
        format!(
            "status {code}: {}",
            s(&rec, "responseStatus/reason")
                .or_else(|| s(&rec, "responseStatus/message"))
                .unwrap_or_default()
        )
    });
    let action = if sub.is_empty() {
        format!("{verb} {resource}")
    } else {
        format!("{verb} {resource}/{sub}")
    };
    Ok(Event {
        op: op(&verb, &resource, &sub),
        time,
        source: Source::K8S,
        principal,
        principal_type,
        account: String::new(),
        action,
        service: "kubernetes".into(),
        resource: res,
        region: None,
        source_ip: rec
            .get("sourceIPs")
            .and_then(Value::as_array)
            .and_then(|ips| ips.last())
            .and_then(Value::as_str)
            .map(normalize_ip),
        user_agent: s(&rec, "userAgent"),
        access_key: None,
        bytes_out: None,
        objects: 1,
        success: error.is_none(),
        error,
        raw: rec,
        at,
    })
}
