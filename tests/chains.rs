//! `scan.cross_environment_chain` through the binary: crafted Kubernetes audit and CloudTrail
//! records in a temp tree, environments and identities from a config file.

use crate::util::bin;
use serde_json::{json, Value};
use std::path::Path;

fn scan(dir: &Path, config: Option<&str>) -> (i32, Value) {
    let mut c = bin();
    c.arg("scan").arg(dir).args(["--format", "json"]);
    if let Some(text) = config {
        let p = dir.parent().unwrap().join("mlguard.toml");
        std::fs::write(&p, text).unwrap();
        c.arg("--config").arg(p);
    }
    let o = c.output().unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stderr));
    });
    (o.status.code().unwrap(), v)
}

#[allow(clippy::too_many_arguments)]
fn k8s(
    id: &str,
    t: &str,
    user: &str,
    ip: &str,
    verb: &str,
    object: Value,
    stage: &str,
    code: u16,
) -> String {
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": id,
        "stage": stage, "requestURI": "/api/v1/x", "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": [ip], "userAgent": "kubectl/v1.30.0", "objectRef": object,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": t, "stageTimestamp": t,
    })
    .to_string()
}

fn get_object(t: &str, key: &str, ip: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::444455556666:user/etl",
            "accountId": "444455556666", "accessKeyId": "AKIAEXAMPLEPROD0001"},
        "eventTime": t, "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": "rclone/v1.66.0",
        "requestParameters": {"bucketName": "acme-train-data", "key": key},
        "additionalEventData": {"bytesTransferredOut": 50_000_000},
        "eventID": format!("ev-{t}-{key}"), "eventType": "AwsApiCall", "eventCategory": "Data",
        "managementEvent": false, "readOnly": true, "recipientAccountId": "444455556666",
    })
}

/// An exec and a secret read in the dev cluster, then 30 training shards read in the prod
/// account from the same IP within the hour; another IP does the same 3 hours apart.
fn tree(root: &Path) -> std::path::PathBuf {
    let dir = root.join("logs");
    std::fs::create_dir_all(dir.join("k8s-dev")).unwrap();
    std::fs::create_dir_all(dir.join("cloudtrail")).unwrap();
    let pod = json!({"resource": "pods", "subresource": "exec", "namespace": "notebooks",
        "name": "alice-nb-0", "apiVersion": "v1"});
    let secret = json!({"resource": "secrets", "namespace": "ml-pipelines",
        "name": "aws-prod-creds", "apiVersion": "v1"});
    let lines = [
        k8s(
            "x1",
            "2026-10-20T01:00:00Z",
            "alice@example.com",
            "203.0.113.50",
            "create",
            pod.clone(),
            "ResponseStarted",
            101,
        ),
        k8s(
            "s1",
            "2026-10-20T01:05:00Z",
            "alice@example.com",
            "203.0.113.50",
            "get",
            secret.clone(),
            "ResponseComplete",
            200,
        ),
        // Same steps from another address, but the prod reads come 3 hours later.
        k8s(
            "x2",
            "2026-10-20T05:00:00Z",
            "bob@example.com",
            "198.51.100.7",
            "create",
            pod,
            "ResponseStarted",
            101,
        ),
        k8s(
            "s2",
            "2026-10-20T05:01:00Z",
            "bob@example.com",
            "198.51.100.7",
            "get",
            secret,
            "ResponseComplete",
            200,
        ),
    ];
    std::fs::write(dir.join("k8s-dev/audit.jsonl"), lines.join("\n") + "\n").unwrap();
    let mut recs = Vec::new();
    for i in 0..30 {
        let t = format!("2026-10-20T01:{:02}:00Z", 20 + i / 2);
        recs.push(get_object(
            &t,
            &format!("train/part-{i:05}.parquet"),
            "203.0.113.50",
        ));
    }
    for i in 0..30 {
        let t = format!("2026-10-20T08:{:02}:00Z", 10 + i);
        recs.push(get_object(
            &t,
            &format!("train/part-{i:05}.parquet"),
            "198.51.100.7",
        ));
    }
    std::fs::write(
        dir.join("cloudtrail/prod.json"),
        json!({"Records": recs}).to_string(),
    )
    .unwrap();
    dir
}

const ENVS: &str = r#"
[environments.dev]
paths = ["*/k8s-dev/*"]
[environments.prod]
aws_accounts = ["444455556666"]
"#;

fn chains(v: &Value) -> Vec<&Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "scan.cross_environment_chain")
        .collect()
}

fn coverage(v: &Value) -> &Value {
    v["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["detection"] == "scan.cross_environment_chain")
        .unwrap()
}

#[test]
fn dev_exec_and_secret_then_prod_bulk_read_from_one_ip_is_one_critical_chain() {
    let t = tempfile::tempdir().unwrap();
    let dir = tree(t.path());
    let (code, v) = scan(&dir, Some(ENVS));
    assert_eq!(code, 1, "{v}");
    let c = chains(&v);
    assert_eq!(c.len(), 1, "{:#}", v["findings"]);
    let f = c[0];
    assert_eq!(f["severity"], "critical", "{f:#}");
    assert_eq!(f["subject"], "203.0.113.50");
    let e = &f["evidence"];
    assert_eq!(e["key_kind"], "source_ip");
    assert_eq!(e["environments"], json!(["dev", "prod"]));
    assert_eq!(e["clouds"], json!(["aws", "kubernetes"]));
    assert_eq!(e["credential_step"], true);
    assert_eq!(e["bulk_read"], true);
    assert_eq!(e["asset_objects_read"], 30);
    assert_eq!(e["event_count"], 32);
    assert_eq!(e["time"], "2026-10-20T01:00:00Z");
    assert_eq!(e["last_seen"], "2026-10-20T01:34:00Z");
    let steps = e["steps"].as_array().unwrap();
    let got: Vec<(&str, &str, u64)> = steps
        .iter()
        .map(|s| {
            (
                s["op"].as_str().unwrap(),
                s["environment"].as_str().unwrap(),
                s["events"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("exec_attach", "dev", 1),
            ("secret_read", "dev", 1),
            ("object_read", "prod", 30)
        ]
    );
    assert_eq!(steps[2]["asset_kind"], "training_data");
    assert_eq!(steps[2]["resource"], "s3://acme-train-data");
    // Record references: the audit log line, the CloudTrail record index (5 listed of 30).
    assert!(steps[0]["records"][0]
        .as_str()
        .unwrap()
        .ends_with("k8s-dev/audit.jsonl:1"));
    assert!(steps[1]["records"][0]
        .as_str()
        .unwrap()
        .ends_with("k8s-dev/audit.jsonl:2"));
    assert_eq!(steps[2]["records"].as_array().unwrap().len(), 5);
    assert!(steps[2]["records"][0]
        .as_str()
        .unwrap()
        .ends_with("cloudtrail/prod.json#0"));
    assert!(f["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "atlas:AML.T0055"));
    assert_eq!(coverage(&v)["status"], "active");
}

#[test]
fn no_environments_no_chain_and_coverage_says_off_a_short_window_splits_the_chain() {
    let t = tempfile::tempdir().unwrap();
    let dir = tree(t.path());
    let (_, v) = scan(&dir, None);
    assert!(chains(&v).is_empty());
    let c = coverage(&v);
    assert_eq!(c["status"], "off");
    assert!(c["reason"].as_str().unwrap().contains("[environments]"));
    // The secret read (01:05) and the first prod read (01:20) are 15 min apart.
    let (_, v) = scan(
        &dir,
        Some(&format!("[scan]\nchain_window_minutes = 10\n{ENVS}")),
    );
    assert!(chains(&v).is_empty(), "{:#}", v["findings"]);
    let (_, v) = scan(
        &dir,
        Some(&format!(
            "[scan]\nchain_ignore_ips = [\"203.0.113.0/24\"]\n{ENVS}"
        )),
    );
    assert!(chains(&v).is_empty(), "{:#}", v["findings"]);
}

#[test]
fn a_mapped_identity_is_folded_into_the_ip_chain_and_bad_config_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let dir = tree(t.path());
    let ids = format!(
        "{ENVS}\n[identities.alice]\nk8s_users = [\"ALICE@example.com\"]\naws_arns = [\"arn:aws:iam::444455556666:user/etl\"]\n"
    );
    let (_, v) = scan(&dir, Some(&ids));
    let c = chains(&v);
    // The identity's chain has the same events as the IP's: one finding naming both keys.
    // (The identity also covers the other IP's prod reads, hours later: a separate run of
    // the identity with one environment, no chain.)
    assert_eq!(c.len(), 1, "{:#}", v["findings"]);
    assert_eq!(c[0]["evidence"]["also_keys"], json!(["identity alice"]));
    let cov = coverage(&v)["reason"].as_str().unwrap().to_string();
    assert!(cov.contains("of a mapped identity"), "{cov}");
    for (bad, want) in [
        (
            "[environments.dev]\naws_accounts = [\"1\"]\n[environments.prod]\naws_accounts = [\"1\"]\n",
            "aws_accounts '1' is in both dev and prod",
        ),
        ("[environments.dev]\naccounts = [\"1\"]\n", "unknown field `accounts`"),
        ("[identities.a]\nk8s_users = [\"[\"]\n", "[identities] k8s_users[0]: bad glob"),
        ("[scan]\nchain_window_minutes = 0\n", "chain_window_minutes 0"),
        ("[scan]\nchain_ignore_ips = [\"nat\"]\n", "chain_ignore_ips[0]"),
    ] {
        let p = t.path().join("bad.toml");
        std::fs::write(&p, bad).unwrap();
        let o = bin()
            .arg("scan")
            .arg(&dir)
            .arg("--config")
            .arg(&p)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("bad.toml") && err.contains(want), "{bad}: {err}");
    }
}

#[test]
fn managed_cluster_wrappers_name_their_cluster_for_k8s_clusters() {
    let t = tempfile::tempdir().unwrap();
    let cfg = t.path().join("m.toml");
    // GKE `resource.labels.cluster_name`, AKS `.../managedClusters/TRAIN-AKS` (any case).
    std::fs::write(
        &cfg,
        "[environments.dev]\nk8s_clusters = [\"train-aks\"]\n[environments.prod]\nk8s_clusters = [\"train-gke\"]\n",
    )
    .unwrap();
    let o = bin()
        .arg("scan")
        .arg(crate::util::testdata("scan/k8s-managed/gke.json"))
        .arg(crate::util::testdata("scan/k8s-managed/aks.json"))
        .args(["--format", "json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = coverage(&v);
    let reason = c["reason"].as_str().unwrap();
    assert_eq!(c["status"], "active", "{reason}");
    // Every touch of both files was placed, in two environments.
    let n: Vec<u64> = reason
        .split(|ch: char| !ch.is_ascii_digit())
        .filter_map(|x| x.parse().ok())
        .collect();
    assert!(n.len() >= 3 && n[0] > 0 && n[0] == n[1], "{reason}");
    assert!(reason.contains("in 2 environment(s)"), "{reason}");
}
