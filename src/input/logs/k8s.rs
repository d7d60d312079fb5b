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
        raw_event(rec) || wrapper(rec).is_some()
    }
    fn unwrap(&self, rec: Value) -> Result<Value, String> {
        match wrapper(&rec) {
            None => Ok(rec),
            Some(w) => {
                // The wrapper names the cluster, the Event does not: kept as an annotation
                // (annotations are a string map, so the Event stays valid) that becomes the
                // event's account (`[environments] k8s_clusters`).
                let cluster = cluster_of(w, &rec);
                let mut ev = w.unwrap(rec)?;
                if let (Some(c), Some(o)) = (cluster, ev.as_object_mut()) {
                    let a = o
                        .entry("annotations")
                        .or_insert_with(|| Value::Object(Default::default()));
                    if let Some(a) = a.as_object_mut() {
                        a.insert(CLUSTER_ANNOTATION.into(), c.into());
                    }
                }
                Ok(ev)
            }
        }
    }
    fn parse(&self, rec: Value, at: RecordRef) -> Parsed {
        parse(rec, at)
    }
    fn containers(&self) -> &'static [&'static str] {
        // `logEvents`: CloudWatch Logs subscription deliveries (Firehose / Lambda);
        // `events`: `aws logs get-log-events` / `filter-log-events` output.
        &["items", "logEvents", "events"]
    }
    fn logsource(&self, _e: &Event) -> Option<(&'static str, Option<&'static str>)> {
        Some(("kubernetes", Some("audit")))
    }
    fn mapping_yaml(&self) -> &'static str {
        include_str!("mappings/k8s.yml")
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

/// An audit event as the API server writes it.
fn raw_event(rec: &Value) -> bool {
    let api_ok = match rec.get("apiVersion").and_then(Value::as_str) {
        Some(v) => v.starts_with("audit.k8s.io/"),
        None => true,
    };
    api_ok
        && rec.get("kind").and_then(Value::as_str) == Some("Event")
        && rec.get("auditID").is_some()
}

/// The managed-Kubernetes envelopes around an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrapper {
    /// GKE: a Cloud Logging entry whose `protoPayload.serviceName` is `k8s.io`.
    Gke,
    /// AKS: a diagnostic record of category `kube-audit` / `kube-audit-admin`, the event
    /// as JSON text in `properties.log`.
    Aks,
    /// EKS: a CloudWatch Logs event, the audit event as JSON text in `message`.
    Eks,
    /// AKS through Log Analytics, resource-specific tables: an `AKSAudit` /
    /// `AKSAuditAdmin` row (`AuditId`, `Stage`, `Verb`, `User`, `ObjectRef`, ... columns,
    /// dynamic columns as objects or as JSON text).
    AksTable,
    /// AKS through Log Analytics, the legacy `AzureDiagnostics` table: `Category`
    /// `kube-audit` / `kube-audit-admin`, the event as JSON text in `log_s`.
    AksDiagnostics,
}

/// The annotation a wrapper's cluster name is kept in (the event's account).
pub const CLUSTER_ANNOTATION: &str = "mlguard.dev/cluster";

/// The cluster a managed wrapper names: GKE `resource.labels.cluster_name`, AKS the
/// `managedClusters/<name>` of `resourceId`, EKS the `/aws/eks/<name>/cluster` log group
/// when the record carries `logGroup` (subscription deliveries name it once per delivery,
/// not per event: such files need `[environments] paths`).
fn cluster_of(w: Wrapper, rec: &Value) -> Option<String> {
    let c = match w {
        Wrapper::Gke => s(rec, "resource/labels/cluster_name")?,
        Wrapper::Aks | Wrapper::AksTable | Wrapper::AksDiagnostics => {
            let id = s(rec, "resourceId")
                .or_else(|| s(rec, "ResourceId"))
                .or_else(|| s(rec, "_ResourceId"))?;
            let lower = id.to_ascii_lowercase();
            let at = lower.find("/managedclusters/")? + "/managedclusters/".len();
            id[at..].split('/').next()?.to_string()
        }
        Wrapper::Eks => {
            let g = s(rec, "logGroup")?;
            g.strip_prefix("/aws/eks/")?
                .strip_suffix("/cluster")?
                .to_string()
        }
    };
    (!c.is_empty()).then_some(c)
}

/// Does the text look like a JSON audit event (cheap: the full parse is in `unwrap`)?
fn looks_like_event(text: &str) -> bool {
    text.trim_start().starts_with('{') && text.contains("\"auditID\"")
}

fn wrapper(rec: &Value) -> Option<Wrapper> {
    if rec
        .pointer("/protoPayload/serviceName")
        .and_then(Value::as_str)
        == Some("k8s.io")
    {
        return Some(Wrapper::Gke);
    }
    if matches!(
        rec.get("category").and_then(Value::as_str),
        Some("kube-audit" | "kube-audit-admin")
    ) && rec.pointer("/properties/log").is_some()
    {
        return Some(Wrapper::Aks);
    }
    if rec
        .get("message")
        .and_then(Value::as_str)
        .is_some_and(looks_like_event)
        && !raw_event(rec)
    {
        return Some(Wrapper::Eks);
    }
    if matches!(
        rec.get("Type").and_then(Value::as_str),
        Some("AKSAudit" | "AKSAuditAdmin")
    ) || (rec.get("AuditId").is_some()
        && rec.get("Verb").is_some()
        && rec.get("Stage").is_some())
    {
        return Some(Wrapper::AksTable);
    }
    if matches!(
        rec.get("Category").and_then(Value::as_str),
        Some("kube-audit" | "kube-audit-admin")
    ) && rec.get("log_s").is_some()
    {
        return Some(Wrapper::AksDiagnostics);
    }
    None
}

/// An audit event given as JSON text (AKS `properties.log`, EKS `message`).
fn inner(text: Option<&Value>, what: &str) -> Result<Value, String> {
    let Some(text) = text.and_then(Value::as_str) else {
        return Err(format!("{what} is not a string"));
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{what} is not a JSON Kubernetes audit event: {e}"))?;
    if !raw_event(&v) {
        return Err(format!(
            "{what} is JSON but not a Kubernetes audit event (no kind Event / auditID)"
        ));
    }
    Ok(v)
}

impl Wrapper {
    fn unwrap(self, rec: Value) -> Result<Value, String> {
        match self {
            Wrapper::Aks => inner(
                rec.pointer("/properties/log"),
                "AKS kube-audit properties.log",
            ),
            Wrapper::Eks => inner(rec.get("message"), "EKS CloudWatch log event message"),
            Wrapper::Gke => gke(&rec),
            Wrapper::AksDiagnostics => inner(rec.get("log_s"), "AKS AzureDiagnostics log_s"),
            Wrapper::AksTable => aks_table(rec),
        }
    }
}

/// A Log Analytics dynamic column: an object / array, or the same as JSON text (exports
/// write them either way); anything else (`"skipped-too-big-size-object"`) is absent.
fn dynamic(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::Object(_) | Value::Array(_) => v.cloned(),
        Value::String(t) if t.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str::<Value>(t)
                .ok()
                .filter(|p| p.is_object() || p.is_array())
        }
        _ => None,
    }
}

/// An `AKSAudit` / `AKSAuditAdmin` row → the audit event it holds (Azure Monitor table
/// reference: one column per Event field, PascalCase; `StageReceivedTime` is the stage
/// time, `TimeGenerated` its fallback).
fn aks_table(rec: Value) -> Result<Value, String> {
    let text = |k: &str| rec.get(k).and_then(Value::as_str).map(String::from);
    let mut ev = serde_json::Map::new();
    ev.insert("kind".into(), "Event".into());
    ev.insert("apiVersion".into(), "audit.k8s.io/v1".into());
    for (from, to) in [
        ("Level", "level"),
        ("AuditId", "auditID"),
        ("Stage", "stage"),
        ("RequestUri", "requestURI"),
        ("Verb", "verb"),
        ("UserAgent", "userAgent"),
        ("RequestReceivedTime", "requestReceivedTimestamp"),
    ] {
        if let Some(v) = text(from) {
            ev.insert(to.into(), v.into());
        }
    }
    if let Some(t) = text("StageReceivedTime").or_else(|| text("TimeGenerated")) {
        ev.insert("stageTimestamp".into(), t.into());
    }
    for (from, to) in [
        ("User", "user"),
        ("ImpersonatedUser", "impersonatedUser"),
        ("SourceIps", "sourceIPs"),
        ("ObjectRef", "objectRef"),
        ("ResponseStatus", "responseStatus"),
        ("RequestObject", "requestObject"),
        ("ResponseObject", "responseObject"),
        ("Annotations", "annotations"),
    ] {
        if let Some(v) = dynamic(rec.get(from)) {
            ev.insert(to.into(), v);
        }
    }
    if !ev.contains_key("auditID") {
        return Err("AKSAudit row without AuditId".into());
    }
    Ok(Value::Object(ev))
}

/// gRPC status code (Cloud Logging `status.code`) → the HTTP status the API server sent.
fn http_of_grpc(code: i64) -> i64 {
    match code {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    }
}

/// A GKE Cloud Logging entry → the audit event it records. `resourceName`
/// (`core/v1/namespaces/NS/pods/NAME/exec`, `rbac.authorization.k8s.io/v1/clusterroles/X`)
/// gives the object reference, the last component of `methodName`
/// (`io.k8s.core.v1.pods.exec.create`) the verb, `authenticationInfo.principalEmail` the
/// user, `requestMetadata.callerIp` the one source IP, `request` / `response` the
/// request / response objects, `operation.id` the audit id. One entry is one request:
/// the stage is `ResponseStarted` for exec / attach / port-forward, else
/// `ResponseComplete`, so it is counted once as a raw event would be.
fn gke(rec: &Value) -> Result<Value, String> {
    let pp = &rec["protoPayload"];
    let method = s(pp, "methodName").ok_or("GKE audit entry without protoPayload.methodName")?;
    let verb = method.rsplit('.').next().unwrap_or_default().to_string();
    let name = s(pp, "resourceName").unwrap_or_default();
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    let mut object = serde_json::Map::new();
    if parts.len() >= 3 {
        let (group, version) = (parts[0], parts[1]);
        let mut rest = &parts[2..];
        if rest.len() >= 3 && rest[0] == "namespaces" {
            object.insert("namespace".into(), rest[1].into());
            rest = &rest[2..];
        }
        let keys = ["resource", "name", "subresource"];
        for (k, v) in keys.iter().zip(rest.iter()) {
            object.insert((*k).into(), (*v).into());
        }
        if group != "core" {
            object.insert("apiGroup".into(), group.into());
        }
        object.insert("apiVersion".into(), version.into());
    }
    let long_running = matches!(
        object.get("subresource").and_then(Value::as_str),
        Some("exec" | "attach" | "portforward")
    );
    let code = pp
        .pointer("/status/code")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut ev = serde_json::json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": if pp.get("request").is_some() { "Request" } else { "Metadata" },
        "auditID": s(rec, "operation/id").or_else(|| s(rec, "insertId")).unwrap_or_default(),
        "stage": if long_running { "ResponseStarted" } else { "ResponseComplete" },
        "requestURI": format!("/{name}"),
        "verb": verb,
        "objectRef": Value::Object(object),
        "responseStatus": {"code": if long_running && code == 0 { 101 } else { http_of_grpc(code) }},
        "stageTimestamp": rec.get("timestamp").cloned().unwrap_or(Value::Null),
        "requestReceivedTimestamp": rec.get("timestamp").cloned().unwrap_or(Value::Null),
    });
    let principal = s(pp, "authenticationInfo/principalEmail")
        .or_else(|| s(pp, "authenticationInfo/principalSubject"));
    // Service-account delegation: `principalEmail` is the service account acted as, the
    // first delegation entry the real caller (Cloud Audit Logs `ServiceAccountDelegationInfo`,
    // "sorted based on the original ordering"): the caller is the Event's `user`, the
    // service account its `impersonatedUser`, as Kubernetes impersonation would log it.
    let delegated = pp
        .pointer("/authenticationInfo/serviceAccountDelegationInfo")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|d| {
            s(d, "firstPartyPrincipal/principalEmail")
                .or_else(|| s(d, "principalSubject"))
                .or_else(|| s(d, "thirdPartyPrincipal/thirdPartyClaims/sub"))
        })
        .filter(|c| !c.is_empty());
    match (principal, delegated) {
        (Some(u), Some(caller)) if u != caller => {
            ev["user"] = serde_json::json!({"username": caller});
            ev["impersonatedUser"] = serde_json::json!({"username": u});
        }
        (Some(u), _) => ev["user"] = serde_json::json!({"username": u}),
        (None, _) => {}
    }
    if let Some(ip) = s(pp, "requestMetadata/callerIp") {
        ev["sourceIPs"] = serde_json::json!([ip]);
    }
    if let Some(ua) = s(pp, "requestMetadata/callerSuppliedUserAgent") {
        ev["userAgent"] = ua.into();
    }
    if let Some(m) = s(pp, "status/message") {
        ev["responseStatus"]["message"] = m.into();
    }
    for (from, to) in [("request", "requestObject"), ("response", "responseObject")] {
        if let Some(v) = pp.get(from).filter(|v| v.is_object()) {
            ev[to] = v.clone();
        }
    }
    if let Some(l) = rec.get("labels").filter(|v| v.is_object()) {
        ev["annotations"] = l.clone();
    }
    Ok(ev)
}

/// The operation kind of a verb on a resource/subresource.
fn op(verb: &str, resource: &str, sub: &str) -> Op {
    if sub.is_empty() && verb == "create" && KUBEFLOW_RESOURCES.contains(&resource) {
        return Op::JobSubmit;
    }
    match (resource, sub) {
        ("pods", "exec" | "attach" | "portforward") => Op::ExecAttach,
        // `kubectl debug`: an ephemeral container added to a running pod runs any image
        // with any command in the pod's namespaces and volumes, exec by another name.
        ("pods", "ephemeralcontainers") if matches!(verb, "update" | "patch") => Op::ExecAttach,
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
    let Some(caller) = s(&rec, "user/username").filter(|v| !v.is_empty()) else {
        return Err((at, "Kubernetes audit event without user.username".into()));
    };
    // Impersonation (`kubectl --as`, GKE service-account delegation): the request was
    // authorised, and acted, as `impersonatedUser`; that identity is the principal (as a
    // GCP entry's `principalEmail` or an assumed-role session is), and the authenticated
    // caller stays in the record's `user` (findings show it as `impersonated_by`).
    let principal = s(&rec, "impersonatedUser/username")
        .filter(|v| !v.is_empty())
        .unwrap_or(caller);
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
        // Raw events name no cluster; a managed wrapper's cluster is kept in an annotation.
        account: rec
            .get("annotations")
            .and_then(|a| a.get(CLUSTER_ANNOTATION))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
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
