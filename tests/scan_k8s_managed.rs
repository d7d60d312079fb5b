//! Kubernetes audit events inside the managed-cluster envelopes — GKE Cloud Logging
//! entries (`protoPayload.serviceName = "k8s.io"`), AKS diagnostic records (`kube-audit`,
//! the event as text in `properties.log`), EKS CloudWatch Logs deliveries (the event as text
//! in each `logEvents[].message`) — give the same events and findings as the raw events
//! they wrap. Samples: `testdata/scan/k8s-managed/` (the falco events of
//! `testdata/scan/k8s/`, plus an exec in the same shape, wrapped; see its README).

use crate::util as common;
use common::{scan_json, testdata};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// What must not depend on the envelope: rule, severity, principal, source IP, resource,
/// action, time and the escape / namespace evidence.
fn findings(v: &Value) -> BTreeSet<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let e = &f["evidence"];
            format!(
                "{} {} {} ip={} {} {} {} {} {}",
                f["id"],
                f["severity"],
                f["subject"],
                e["source_ip"],
                e["resource"],
                e["action"],
                e["time"],
                e["escape"],
                e["namespace"]
            )
        })
        .collect()
}

fn managed(name: &str) -> PathBuf {
    testdata(&format!("scan/k8s-managed/{name}"))
}

#[test]
fn gke_aks_and_eks_wrappers_give_the_raw_events_findings() {
    let (code, raw, err) = scan_json(&[managed("raw.jsonl")], &[]);
    assert_eq!(code, 1, "{err}");
    // Nine records: two stage repeats of the exec and one of the privileged pod are not
    // events; six requests are.
    assert_eq!(raw["summary"]["events"]["k8s"], 6, "{raw}");
    assert_eq!(raw["summary"]["skipped"], 0, "{raw}");
    let want = findings(&raw);
    let ids: BTreeSet<&str> = raw["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["scan.k8s_exec_into_pod", "scan.k8s_privileged_pod"]),
        "{raw:#}"
    );
    assert_eq!(want.len(), 3, "{want:#?}");
    // The exec came through a proxy: the connection's address, not X-Forwarded-For.
    assert!(
        want.iter()
            .any(|f| f.contains("k8s_exec_into_pod") && f.contains("ip=\"192.168.99.1\"")),
        "{want:#?}"
    );
    for w in [
        "gke.json",
        "aks.json",
        "aks-table.json",
        "aks-diagnostics.jsonl",
        "eks.json",
        "eks-export.log",
    ] {
        let (code, v, err) = scan_json(&[managed(w)], &[]);
        assert_eq!(code, 1, "{w}: {err}");
        assert_eq!(v["summary"]["events"]["k8s"], 6, "{w}: {v}");
        assert!(v["summary"]["events"].get("gcp").is_none(), "{w}: {v}");
        assert!(v["summary"]["events"].get("azure").is_none(), "{w}: {v}");
        assert_eq!(v["summary"]["skipped"], 0, "{w}: {v}");
        assert_eq!(findings(&v), want, "{w}");
        // Records point into the wrapper file.
        for f in v["findings"].as_array().unwrap() {
            assert!(f["location"]["file"].as_str().unwrap().ends_with(w), "{f}");
        }
    }
    // Forced: `--source k8s` reads the wrappers too.
    let (_, v, _) = scan_json(&[managed("gke.json")], &["--source", "k8s"]);
    assert_eq!(v["summary"]["events"]["k8s"], 6, "{v}");
}

#[test]
fn a_wrapper_whose_event_cannot_be_read_is_skipped_with_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let raw = std::fs::read_to_string(managed("raw.jsonl")).unwrap();
    let first = raw.lines().nth(1).unwrap();
    // AKS: one good record, one whose log is cut off, one whose log is JSON but no event.
    let aks = json!({"records": [
        {"category": "kube-audit", "properties": {"log": first, "stream": "stdout"}, "time": "2018-10-25T14:09:12Z",
         "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read", "resourceId": "/x"},
        {"category": "kube-audit-admin", "properties": {"log": &first[..200], "stream": "stdout"}, "time": "2018-10-25T14:09:12Z",
         "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read", "resourceId": "/x"},
        {"category": "kube-audit", "properties": {"log": "{\"hello\": 1}"}, "resourceId": "/x",
         "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read"}
    ]});
    std::fs::write(d.join("aks.json"), aks.to_string()).unwrap();
    // EKS: one exported log event per line, the second one's message truncated.
    let good = json!({"timestamp": 1540476552581u64, "message": first});
    let bad =
        json!({"timestamp": 1540476552582u64, "message": format!("{}\"auditID\"", &first[..300])});
    std::fs::write(d.join("eks.jsonl"), format!("{good}\n{bad}\n")).unwrap();
    let (code, v, err) = scan_json(&[d.to_path_buf()], &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["summary"]["events"]["k8s"], 2, "{v}");
    assert_eq!(v["summary"]["skipped"], 3, "{v}");
    let skipped = v["skipped"].as_array().unwrap();
    let aks_bad: Vec<&Value> = skipped
        .iter()
        .filter(|s| s["file"].as_str().unwrap().ends_with("aks.json"))
        .collect();
    assert_eq!(aks_bad.len(), 2, "{skipped:#?}");
    assert_eq!(aks_bad[0]["record"], 1);
    assert!(
        aks_bad[0]["reason"]
            .as_str()
            .unwrap()
            .contains("properties.log is not a JSON Kubernetes audit event"),
        "{skipped:#?}"
    );
    assert_eq!(aks_bad[1]["record"], 2);
    assert!(aks_bad[1]["reason"]
        .as_str()
        .unwrap()
        .contains("no kind Event"));
    let eks_bad: Vec<&Value> = skipped
        .iter()
        .filter(|s| s["file"].as_str().unwrap().ends_with("eks.jsonl"))
        .collect();
    assert_eq!(eks_bad.len(), 1, "{skipped:#?}");
    assert_eq!(eks_bad[0]["line"], 2);
    assert!(eks_bad[0]["reason"]
        .as_str()
        .unwrap()
        .contains("EKS CloudWatch log event message"));
}

#[test]
fn impersonation_makes_the_impersonated_identity_the_principal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `kubectl --as=system:serviceaccount:ml:trainer exec ...` by alice: authorised as the
    // service account, so the principal; alice is named as the impersonator.
    let raw = json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": "imp-1", "stage": "ResponseStarted", "verb": "create",
        "requestURI": "/api/v1/namespaces/ml/pods/trainer-0/exec?command=sh",
        "user": {"username": "alice@example.com", "groups": ["system:authenticated"]},
        "impersonatedUser": {"username": "system:serviceaccount:ml:trainer"},
        "sourceIPs": ["203.0.113.7"],
        "objectRef": {"resource": "pods", "namespace": "ml", "name": "trainer-0", "subresource": "exec"},
        "responseStatus": {"code": 101},
        "requestReceivedTimestamp": "2026-03-10T10:00:00Z", "stageTimestamp": "2026-03-10T10:00:00Z"});
    std::fs::write(d.join("raw.jsonl"), format!("{raw}\n")).unwrap();
    let (code, v, err) = scan_json(&[d.join("raw.jsonl")], &[]);
    assert_eq!(code, 1, "{err}");
    let f = &v["findings"][0];
    assert_eq!(f["id"], "scan.k8s_exec_into_pod", "{v:#}");
    assert_eq!(f["subject"], "system:serviceaccount:ml:trainer");
    assert_eq!(f["evidence"]["impersonated_by"], "alice@example.com");
    // GKE: a request through service-account delegation: principalEmail is the service
    // account, the first delegation entry the real caller.
    let gke = json!({"insertId": "g1", "timestamp": "2026-03-10T10:05:00Z",
        "resource": {"type": "k8s_cluster", "labels": {"cluster_name": "train-prod"}},
        "protoPayload": {"serviceName": "k8s.io",
            "methodName": "io.k8s.core.v1.pods.exec.create",
            "resourceName": "core/v1/namespaces/ml/pods/trainer-0/exec",
            "authenticationInfo": {"principalEmail": "ci-deployer@acme-ml.iam.gserviceaccount.com",
                "serviceAccountDelegationInfo": [
                    {"firstPartyPrincipal": {"principalEmail": "bob@example.com"}}]},
            "requestMetadata": {"callerIp": "198.51.100.4"}, "status": {}}});
    std::fs::write(d.join("gke.json"), format!("{gke}\n")).unwrap();
    let (_, v, err) = scan_json(&[d.join("gke.json")], &[]);
    let f = &v["findings"][0];
    assert_eq!(f["id"], "scan.k8s_exec_into_pod", "{err} {v:#}");
    assert_eq!(f["subject"], "ci-deployer@acme-ml.iam.gserviceaccount.com");
    assert_eq!(f["evidence"]["impersonated_by"], "bob@example.com");
    assert_eq!(f["evidence"]["account"], "train-prod");
    // Without delegation the caller is the principal, and nobody is named as impersonator.
    let mut plain = gke.clone();
    plain["protoPayload"]["authenticationInfo"] = json!({"principalEmail": "bob@example.com"});
    std::fs::write(d.join("gke.json"), format!("{plain}\n")).unwrap();
    let (_, v, _) = scan_json(&[d.join("gke.json")], &[]);
    assert_eq!(v["findings"][0]["subject"], "bob@example.com");
    assert!(v["findings"][0]["evidence"]
        .get("impersonated_by")
        .is_none());
}
