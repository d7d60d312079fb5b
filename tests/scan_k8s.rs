//! Kubernetes / Kubeflow detections on falco's real audit traces (testdata/scan/k8s-falco,
//! Apache-2.0) and on crafted records for what the traces do not have (exec into training
//! pods, Kubeflow jobs, GPU pods, secrets by new principals, anonymous access).

use crate::util::{bin, testdata as td};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn scan(paths: &[PathBuf], extra: &[&str]) -> (i32, Value, String) {
    let out = bin()
        .arg("scan")
        .args(paths)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ids(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The falco traces that are attacks, the finding each one's name says and its severity.
/// Severities follow falco's own priorities (WARNING → medium, NOTICE → low); namespace
/// creation and NodePort services are informational (`low`): below the default gate
/// (`--fail-on high`), so those scans pass with the finding listed.
const ATTACKS: &[(&str, &str, &str)] = &[
    (
        "attach_cluster_admin_role",
        "scan.k8s_cluster_admin_binding",
        "high",
    ),
    (
        "create_cluster_role_wildcard_resources",
        "scan.k8s_rbac_broad_grant",
        "high",
    ),
    (
        "create_nginx_pod_hostnetwork",
        "scan.k8s_privileged_pod",
        "high",
    ),
    (
        "create_nginx_pod_privileged",
        "scan.k8s_privileged_pod",
        "high",
    ),
    (
        "create_nginx_pod_sensitive_mount",
        "scan.k8s_privileged_pod",
        "high",
    ),
    (
        "create_nginx_pod_no_secctx_1st_container_privileged_2nd_container",
        "scan.k8s_privileged_pod",
        "high",
    ),
    (
        "create_cluster_role_write_privileges",
        "scan.k8s_role_write_grant",
        "low",
    ),
    (
        "create_configmap_sensitive_values",
        "scan.k8s_configmap_credentials",
        "medium",
    ),
    (
        "create_kube_system_secret",
        "scan.k8s_kube_system_object",
        "medium",
    ),
    (
        "create_nginx_service_nodeport",
        "scan.k8s_service_exposed",
        "low",
    ),
    (
        "create_pod_kube_public_namespace",
        "scan.k8s_kube_system_object",
        "medium",
    ),
    (
        "create_pod_kube_system_namespace",
        "scan.k8s_kube_system_object",
        "medium",
    ),
    (
        "create_serviceaccount_kube_public_namespace",
        "scan.k8s_kube_system_object",
        "medium",
    ),
    (
        "create_serviceaccount_kube_system_namespace",
        "scan.k8s_kube_system_object",
        "medium",
    ),
    (
        "delete_cluster_role_kube_aggregator",
        "scan.k8s_system_role_changed",
        "medium",
    ),
    (
        "modify_cluster_role_node_problem_detector",
        "scan.k8s_system_role_changed",
        "medium",
    ),
    (
        "some-user_creates_namespace_foo",
        "scan.k8s_namespace_by_unknown_user",
        "low",
    ),
];

/// Benign traces: nothing may fire.
const BENIGN: &[&str] = &[
    "create_clusterrole",
    "create_clusterrolebinding",
    "create_configmap",
    "create_configmap_no_sensitive_values",
    "create_deployment",
    "create_nginx_pod_nohostnetwork",
    "create_nginx_service_nonodeport",
    "create_secret",
    "create_service",
    "create_service_account_token_secret",
    "create_serviceaccount",
    "delete_clusterrole",
    "delete_clusterrolebinding",
    "delete_configmap",
    "delete_deployment",
    "delete_namespace_foo",
    "delete_secret",
    "delete_service",
    "delete_serviceaccount",
    "minikube_creates_namespace_foo",
];

fn falco(name: &str) -> PathBuf {
    td(&format!("scan/k8s-falco/{name}.json"))
}

#[test]
fn every_falco_trace_is_classified() {
    let dir = td("scan/k8s-falco");
    let mut listed: Vec<&str> = ATTACKS
        .iter()
        .map(|a| a.0)
        .chain(BENIGN.iter().copied())
        .chain(["fal_01_003"])
        .collect();
    listed.sort();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            Path::new(&p)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(files, listed);
}

#[test]
fn falco_attack_traces_raise_the_finding_their_name_says() {
    for (name, id, sev) in ATTACKS {
        let (code, v, err) = scan(&[falco(name)], &[]);
        // The default gate fails on high and above.
        let want = if matches!(*sev, "high" | "critical") {
            1
        } else {
            0
        };
        assert_eq!(code, want, "{name}: {err} {v:#}");
        let f = v["findings"].as_array().unwrap();
        assert_eq!(ids(&v), vec![id.to_string()], "{name}: {v:#}");
        assert_eq!(f[0]["severity"], *sev, "{name}");
        assert_eq!(v["summary"]["skipped"], 0, "{name}");
    }
    // The evidence says what made each one dangerous.
    let (_, v, _) = scan(&[falco("create_nginx_pod_sensitive_mount")], &[]);
    assert_eq!(v["findings"][0]["evidence"]["escape"], "hostPath:/etc");
    assert_eq!(v["findings"][0]["evidence"]["sensitive_mount"], true);
    let (_, v, _) = scan(&[falco("create_nginx_pod_hostnetwork")], &[]);
    assert_eq!(v["findings"][0]["evidence"]["escape"], "hostNetwork");
    let (_, v, _) = scan(
        &[falco(
            "create_nginx_pod_no_secctx_1st_container_privileged_2nd_container",
        )],
        &[],
    );
    assert_eq!(v["findings"][0]["evidence"]["escape"], "privileged:mysql");
    let (_, v, _) = scan(&[falco("attach_cluster_admin_role")], &[]);
    assert_eq!(v["findings"][0]["evidence"]["subjects"][0], "User:minikube");
    let (_, v, _) = scan(&[falco("create_cluster_role_wildcard_resources")], &[]);
    assert_eq!(v["findings"][0]["evidence"]["grants"][0], "get,list:*");
    let ev = |name: &str| {
        let (_, v, _) = scan(&[falco(name)], &[]);
        v["findings"][0]["evidence"].clone()
    };
    // A write verb on non-resource URLs; the read rule of the same role is not listed.
    let e = ev("create_cluster_role_write_privileges");
    assert_eq!(e["role"], "some-reader");
    assert_eq!(e["write_grants"][0], "delete:/api,/api/*,/apis,+10 more");
    // Six writes of one ConfigMap: one finding naming the entries, never the values.
    let e = ev("create_configmap_sensitive_values");
    assert_eq!(e["event_count"], 6);
    let creds = e["credentials"].to_string();
    for want in [
        "access.properties: aws_access_key_id",
        "access.properties: aws-access-key-id",
        "access.properties: aws_s3_access_key_id",
        "access.properties: aws-s3-access-key-id",
        "access.properties: password",
        "access.properties: passphrase",
        "access.properties: aws_secret_access_key",
    ] {
        assert!(creds.contains(want), "{want}: {creds}");
    }
    assert!(
        !creds.contains("MY-KEY") && !creds.contains("ui.properties"),
        "{creds}"
    );
    let e = ev("create_kube_system_secret");
    assert_eq!(e["object_kind"], "secret");
    assert_eq!(e["bootstrap_token"], true);
    let e = ev("create_pod_kube_system_namespace");
    assert_eq!(e["object_kind"], "pod");
    assert_eq!(e["namespace"], "kube-system");
    assert_eq!(e["images"][0], "nginx");
    let e = ev("create_serviceaccount_kube_public_namespace");
    assert_eq!(e["object_kind"], "serviceaccount");
    assert_eq!(e["name"], "myacct");
    let e = ev("create_nginx_service_nodeport");
    assert_eq!(e["type"], "NodePort");
    assert_eq!(e["ports"][0], 30080);
    assert_eq!(ev("delete_cluster_role_kube_aggregator")["verb"], "delete");
    let e = ev("modify_cluster_role_node_problem_detector");
    assert_eq!(e["role"], "system:node-problem-detector");
    assert_eq!(e["verb"], "patch");
    assert_eq!(ev("some-user_creates_namespace_foo")["namespace"], "foo");
}

#[test]
fn falco_namespace_and_kube_system_rules_learn_what_is_routine() {
    // some-user listed as a cluster administrator: its namespace is not reported.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mlguard.toml");
    std::fs::write(&cfg, "[scan]\nk8s_admins = [\"some-*\"]\n").unwrap();
    let (code, v, err) = scan(
        &[falco("some-user_creates_namespace_foo")],
        &["--config", cfg.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(ids(&v).is_empty(), "{v:#}");
    // The same pod image in kube-system twice: reported once, for its first pod.
    let trace = std::fs::read_to_string(falco("create_pod_kube_system_namespace")).unwrap();
    let first: Value = serde_json::from_str(trace.lines().next().unwrap()).unwrap();
    let mut second = first.clone();
    second["auditID"] = "again".into();
    second["stageTimestamp"] = "2018-10-27T10:00:00.000000Z".into();
    let two = dir.path().join("two.jsonl");
    std::fs::write(&two, format!("{first}\n{second}\n")).unwrap();
    let (_, v, err) = scan(&[two], &[]);
    assert_eq!(ids(&v), ["scan.k8s_kube_system_object"], "{err} {v:#}");
}

#[test]
fn falco_benign_traces_raise_nothing() {
    for name in BENIGN {
        let (code, v, err) = scan(&[falco(name)], &[]);
        assert_eq!(code, 0, "{name}: {err} {v:#}");
        assert!(ids(&v).is_empty(), "{name}: {v:#}");
        assert!(
            v["summary"]["events"]["k8s"].as_u64().unwrap() >= 1,
            "{name}"
        );
    }
    // The one malformed trace (`{"kind": 0}`) is a warning naming the file, never a panic.
    let (code, _, err) = scan(&[falco("fal_01_003")], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fal_01_003.json"), "{err}");
}

#[test]
fn falco_directory_as_a_whole() {
    // All traces in one scan: one finding per attack trace, nothing else (the two kube
    // namespaces each see the nginx image once); the malformed trace
    // is skipped (incomplete without --allow-partial), and its warning named.
    let (code, v, err) = scan(&[td("scan/k8s-falco")], &["--allow-partial"]);
    assert_eq!(code, 1, "{err}");
    let mut got = ids(&v);
    got.sort();
    let mut want: Vec<String> = ATTACKS.iter().map(|a| a.1.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{v:#}");
    // Coverage: the ML-platform rules that cannot run on k8s-only input are named.
    let cov = v["coverage"].as_array().unwrap();
    let status = |d: &str| {
        cov.iter()
            .find(|c| c["detection"] == d)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        status("scan.sagemaker_lifecycle_script").as_deref(),
        Some("blind")
    );
    assert_eq!(
        status("scan.vertex_startup_script_change").as_deref(),
        Some("blind")
    );
    assert_eq!(
        status("scan.k8s_secret_read_by_new_principal").as_deref(),
        Some("blind")
    );
    assert_eq!(status("scan.k8s_exec_into_pod").as_deref(), Some("active"));
}

/// One Kubernetes audit event line (`audit.k8s.io/v1`).
#[allow(clippy::too_many_arguments)]
fn ev(
    id: &str,
    t: &str,
    user: &str,
    groups: &str,
    verb: &str,
    uri: &str,
    object_ref: &str,
    code: u32,
    stage: &str,
    body: &str,
) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"{id}","stage":"{stage}","requestURI":"{uri}","verb":"{verb}","user":{{"username":"{user}","groups":[{groups}]}},"sourceIPs":["203.0.113.9","10.0.0.5"],"userAgent":"kubectl/v1.30.0","objectRef":{object_ref},"responseStatus":{{"metadata":{{}},"code":{code}}},{body}"requestReceivedTimestamp":"{t}","stageTimestamp":"{t}"}}"#
    )
}

const AUTH: &str = r#""system:authenticated""#;

#[test]
fn kubeflow_exec_gpu_secrets_anonymous_and_new_job_submitters() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    // Baseline week (2026-03-01..07): the pipeline SA reads secrets and submits jobs.
    for d in 1..=7 {
        let t = format!("2026-03-0{d}T10:00:00Z");
        lines.push(ev(
            &format!("b{d}"),
            &t,
            "system:serviceaccount:ml:pipeline",
            AUTH,
            "get",
            "/api/v1/namespaces/ml/secrets/db",
            r#"{"resource":"secrets","namespace":"ml","name":"db","apiVersion":"v1"}"#,
            200,
            "ResponseComplete",
            "",
        ));
        lines.push(ev(&format!("j{d}"), &t, "system:serviceaccount:ml:pipeline", AUTH, "create",
            "/apis/kubeflow.org/v1/namespaces/team-a/pytorchjobs", &format!(r#"{{"resource":"pytorchjobs","namespace":"team-a","name":"nightly-{d}","apiGroup":"kubeflow.org","apiVersion":"v1"}}"#), 201, "ResponseComplete", ""));
    }
    // After the baseline:
    // 1. mallory submits a PyTorchJob (first Kubeflow job) whose worker template is
    //    privileged on GPUs.
    let job = r#""requestObject":{"apiVersion":"kubeflow.org/v1","kind":"PyTorchJob","metadata":{"name":"bert"},"spec":{"pytorchReplicaSpecs":{"Master":{"replicas":1,"template":{"spec":{"containers":[{"name":"pytorch","image":"x","resources":{"limits":{"nvidia.com/gpu":8}}}]}}},"Worker":{"replicas":2,"template":{"spec":{"containers":[{"name":"pytorch","image":"x","securityContext":{"privileged":true},"resources":{"limits":{"nvidia.com/gpu":8}}}]}}}}}},"#;
    lines.push(ev("m1", "2026-03-10T01:00:00Z", "mallory@example.com", AUTH, "create",
        "/apis/kubeflow.org/v1/namespaces/team-a/pytorchjobs", r#"{"resource":"pytorchjobs","namespace":"team-a","name":"bert","apiGroup":"kubeflow.org","apiVersion":"v1"}"#, 201, "ResponseComplete", job));
    // 2. exec into the job's worker pod (namespace not named like training: the job shows it).
    lines.push(ev("m2", "2026-03-10T01:05:00Z", "mallory@example.com", AUTH, "create",
        "/api/v1/namespaces/team-a/pods/bert-worker-0/exec?command=cat&command=%2Fvar%2Frun%2Fsecrets%2Ftoken&container=pytorch&stdin=true",
        r#"{"resource":"pods","namespace":"team-a","name":"bert-worker-0","subresource":"exec","apiVersion":"v1"}"#, 101, "ResponseStarted", ""));
    // 3. exec into a web pod elsewhere: high, not critical.
    lines.push(ev("m3", "2026-03-10T01:06:00Z", "mallory@example.com", AUTH, "create",
        "/api/v1/namespaces/web/pods/nginx-1/exec?command=sh",
        r#"{"resource":"pods","namespace":"web","name":"nginx-1","subresource":"exec","apiVersion":"v1"}"#, 101, "ResponseStarted", ""));
    // 4. mallory lists every secret of the cluster (first secret read): high; the
    //    pipeline's usual read and a token secret read by her: nothing.
    lines.push(ev(
        "m4",
        "2026-03-10T01:10:00Z",
        "mallory@example.com",
        AUTH,
        "list",
        "/api/v1/secrets",
        r#"{"resource":"secrets","apiVersion":"v1"}"#,
        200,
        "ResponseComplete",
        "",
    ));
    lines.push(ev(
        "m5",
        "2026-03-10T01:11:00Z",
        "system:serviceaccount:ml:pipeline",
        AUTH,
        "get",
        "/api/v1/namespaces/ml/secrets/db",
        r#"{"resource":"secrets","namespace":"ml","name":"db","apiVersion":"v1"}"#,
        200,
        "ResponseComplete",
        "",
    ));
    lines.push(ev(
        "m6",
        "2026-03-10T01:12:00Z",
        "bob@example.com",
        AUTH,
        "get",
        "/api/v1/namespaces/ml/secrets/default-token-x7k2p",
        r#"{"resource":"secrets","namespace":"ml","name":"default-token-x7k2p","apiVersion":"v1"}"#,
        200,
        "ResponseComplete",
        "",
    ));
    // 5. anonymous: /version is public (nothing); listing pods succeeded (high); a denied
    //    anonymous secret read (nothing).
    lines.push(ev(
        "a1",
        "2026-03-10T02:00:00Z",
        "system:anonymous",
        r#""system:unauthenticated""#,
        "get",
        "/version",
        "null",
        200,
        "ResponseComplete",
        "",
    ));
    lines.push(ev(
        "a2",
        "2026-03-10T02:01:00Z",
        "system:anonymous",
        r#""system:unauthenticated""#,
        "list",
        "/api/v1/pods",
        r#"{"resource":"pods","apiVersion":"v1"}"#,
        200,
        "ResponseComplete",
        "",
    ));
    lines.push(ev(
        "a3",
        "2026-03-10T02:02:00Z",
        "system:anonymous",
        r#""system:unauthenticated""#,
        "list",
        "/api/v1/secrets",
        r#"{"resource":"secrets","apiVersion":"v1"}"#,
        403,
        "ResponseComplete",
        "",
    ));
    // 6. a Role granting pods/exec, and cluster-admin bound to every authenticated user.
    let role = r#""requestObject":{"kind":"Role","rules":[{"apiGroups":[""],"resources":["pods/exec"],"verbs":["create"]}]},"#;
    lines.push(ev("r1", "2026-03-10T03:00:00Z", "mallory@example.com", AUTH, "create",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles", r#"{"resource":"roles","namespace":"team-a","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}"#, 201, "ResponseComplete", role));
    let crb = r#""requestObject":{"kind":"ClusterRoleBinding","roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"Group","name":"system:authenticated"}]},"#;
    lines.push(ev("r2", "2026-03-10T03:01:00Z", "mallory@example.com", AUTH, "create",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", r#"{"resource":"clusterrolebindings","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"}"#, 201, "ResponseComplete", crb));
    std::fs::write(dir.path().join("audit.log"), lines.join("\n") + "\n").unwrap();

    let (code, v, err) = scan(&[dir.path().to_path_buf()], &["--baseline-days", "7"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["skipped"], 0, "{v:#}");
    let f = v["findings"].as_array().unwrap();
    let by = |id: &str| -> Vec<&Value> { f.iter().filter(|x| x["id"] == id).collect() };
    let mut got = ids(&v);
    got.sort();
    assert_eq!(
        got,
        [
            "scan.k8s_anonymous_access",
            "scan.k8s_cluster_admin_binding",
            "scan.k8s_exec_into_pod",
            "scan.k8s_exec_into_pod",
            "scan.k8s_privileged_pod",
            "scan.k8s_rbac_broad_grant",
            "scan.k8s_secret_read_by_new_principal",
            "scan.ml_job_by_new_principal",
        ],
        "{v:#}"
    );
    let pod = by("scan.k8s_privileged_pod");
    assert_eq!(pod[0]["severity"], "critical");
    assert_eq!(pod[0]["evidence"]["gpu"], true);
    assert_eq!(pod[0]["evidence"]["escape"], "privileged:pytorch");
    let ex = by("scan.k8s_exec_into_pod");
    let train = ex
        .iter()
        .find(|x| x["evidence"]["namespace"] == "team-a")
        .unwrap();
    assert_eq!(train["severity"], "critical");
    assert_eq!(train["evidence"]["command"], "cat /var/run/secrets/token");
    assert_eq!(train["evidence"]["source_ip"], "10.0.0.5");
    assert!(train["evidence"]["training_workload"]
        .as_str()
        .unwrap()
        .contains("Kubeflow"));
    let web = ex
        .iter()
        .find(|x| x["evidence"]["namespace"] == "web")
        .unwrap();
    assert_eq!(web["severity"], "high");
    let s = by("scan.k8s_secret_read_by_new_principal");
    assert_eq!(s[0]["subject"], "mallory@example.com");
    assert_eq!(s[0]["severity"], "high");
    let a = by("scan.k8s_anonymous_access");
    assert_eq!(a[0]["evidence"]["request_uri"], "/api/v1/pods");
    assert_eq!(
        by("scan.k8s_cluster_admin_binding")[0]["severity"],
        "critical"
    );
    assert_eq!(
        by("scan.k8s_rbac_broad_grant")[0]["evidence"]["grants"][0],
        "create:pods/exec"
    );
    let j = by("scan.ml_job_by_new_principal");
    assert_eq!(j[0]["subject"], "mallory@example.com");
    assert_eq!(j[0]["evidence"]["platform"], "kubeflow");

    // Without a baseline the behavioural rules are off (named in the coverage), the
    // stateless ones still fire.
    let (_, v, _) = scan(&[dir.path().to_path_buf()], &[]);
    let got = ids(&v);
    assert!(!got.iter().any(|i| i == "scan.ml_job_by_new_principal"));
    assert!(!got
        .iter()
        .any(|i| i == "scan.k8s_secret_read_by_new_principal"));
    assert!(got.iter().any(|i| i == "scan.k8s_privileged_pod"));
    let off = v["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["detection"] == "scan.k8s_secret_read_by_new_principal")
        .unwrap()
        .clone();
    assert_eq!(off["status"], "off", "{off}");
}

#[test]
fn ephemeral_containers_are_exec_by_another_name() {
    // `kubectl debug -it bert-worker-0 --image=busybox -- sh`: a patch of
    // pods/ephemeralcontainers (Kubernetes >= 1.23 sends the Pod body).
    let dir = tempfile::tempdir().unwrap();
    let body = r#""requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"bert-worker-0"},"spec":{"ephemeralContainers":[{"name":"debugger-x7","image":"busybox","command":["sh"],"stdin":true,"tty":true}]}},"#;
    let lines = [
        ev(
            "d1",
            "2026-03-10T10:00:00Z",
            "mallory@example.com",
            AUTH,
            "patch",
            "/api/v1/namespaces/kubeflow-user/pods/bert-worker-0/ephemeralcontainers",
            r#"{"resource":"pods","namespace":"kubeflow-user","name":"bert-worker-0","subresource":"ephemeralcontainers","apiVersion":"v1"}"#,
            200,
            "ResponseComplete",
            body,
        ),
        // Reading the ephemeral containers is not adding one.
        ev(
            "d2",
            "2026-03-10T10:01:00Z",
            "mallory@example.com",
            AUTH,
            "get",
            "/api/v1/namespaces/kubeflow-user/pods/bert-worker-0/ephemeralcontainers",
            r#"{"resource":"pods","namespace":"kubeflow-user","name":"bert-worker-0","subresource":"ephemeralcontainers","apiVersion":"v1"}"#,
            200,
            "ResponseComplete",
            "",
        ),
    ];
    std::fs::write(dir.path().join("audit.jsonl"), lines.join("\n")).unwrap();
    let (code, v, err) = scan(&[dir.path().to_path_buf()], &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(ids(&v), ["scan.k8s_exec_into_pod"], "{v:#}");
    let f = &v["findings"][0];
    // A training namespace: critical, as an exec would be.
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["evidence"]["action"], "patch pods/ephemeralcontainers");
    assert_eq!(
        f["evidence"]["ephemeral_containers"][0],
        "debugger-x7=busybox"
    );
    assert_eq!(f["evidence"]["command"], "sh");
}
