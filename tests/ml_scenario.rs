//! The ML-platform scenario (examples/ml_platform_scenario.rs, docs/scan.md): a generated
//! month of a Kubeflow dev cluster's audit log, SageMaker / S3 CloudTrail, Vertex AI audit
//! and W&B audit logs, scanned by the real binary. The attack on day 25 gives its individual
//! findings and exactly one chain; the normal month gives nothing at high or above.

// The generator itself (`#![allow(dead_code)]` inside: `main` is unused here).
#[path = "../examples/ml_platform_scenario.rs"]
mod gen;

use crate::util::{bin, testdata};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

fn scan(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let o = bin()
        .arg("scan")
        .arg(dir.join("logs"))
        .arg("--config")
        .arg(dir.join("mlguard.toml"))
        .args(["--baseline-days", "7", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stderr));
    });
    (o.status.code().unwrap(), v)
}

fn findings(v: &Value) -> Vec<&Value> {
    v["findings"].as_array().unwrap().iter().collect()
}

fn rank(s: &str) -> u8 {
    ["info", "low", "medium", "high", "critical"]
        .iter()
        .position(|x| *x == s)
        .unwrap() as u8
}

#[test]
fn attack_day_gives_its_findings_and_exactly_one_chain() {
    let t = tempfile::tempdir().unwrap();
    let w = gen::write(t.path(), &gen::Options::default()).unwrap();
    assert!(
        w.k8s > 400 && w.cloudtrail > 1500 && w.gcp > 50 && w.wandb > 250,
        "{w:?}"
    );
    let (code, v) = scan(t.path(), &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["summary"]["skipped"], 0, "{v}");
    for src in ["k8s", "cloudtrail", "gcp", "wandb"] {
        assert!(
            v["summary"]["events"][src].as_u64().unwrap() > 0,
            "{src}: {v}"
        );
    }
    let fs = findings(&v);
    // Everything reported is the attack: day 25.
    for f in &fs {
        let t = f["evidence"]["time"].as_str().unwrap();
        assert!(t.starts_with("2026-10-25T01:"), "{f:#}");
    }
    let got: BTreeSet<(&str, &str)> = fs
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["subject"].as_str().unwrap()))
        .collect();
    // (id, subject, lowest severity accepted).
    let want: Vec<(&str, &str, &str)> = vec![
        ("scan.cross_environment_chain", gen::ATTACKER_IP, "critical"),
        // A notebook pod in the Kubeflow namespace: a training / notebook workload.
        ("scan.k8s_exec_into_pod", gen::ALICE, "critical"),
        // Her first secret read in the cluster, after a baseline without any.
        ("scan.k8s_secret_read_by_new_principal", gen::ALICE, "high"),
        // 400 training shards read in prod with the stolen key, against its nightly few.
        ("scan.bulk_download", gen::SYNC_USER, "critical"),
        ("scan.new_user_agent", gen::SYNC_USER, "low"),
        // Every model version pulled from W&B with alice's key.
        ("scan.bulk_download", gen::ALICE, "high"),
    ];
    let want_ids: BTreeSet<(&str, &str)> = want.iter().map(|(i, s, _)| (*i, *s)).collect();
    assert_eq!(got, want_ids, "{:#}", v["findings"]);
    for (id, subject, min) in &want {
        for f in fs
            .iter()
            .filter(|f| f["id"] == *id && f["subject"] == *subject)
        {
            assert!(
                rank(f["severity"].as_str().unwrap()) >= rank(min),
                "{id} {subject}: {f:#}"
            );
        }
    }
    let chains: Vec<&&Value> = fs
        .iter()
        .filter(|f| f["id"] == "scan.cross_environment_chain")
        .collect();
    assert_eq!(chains.len(), 1);
    let e = &chains[0]["evidence"];
    assert_eq!(e["environments"], json!(["dev", "prod"]));
    assert_eq!(e["clouds"], json!(["aws", "kubernetes", "wandb"]));
    assert_eq!(e["credential_step"], true);
    assert_eq!(e["bulk_read"], true);
    // In time order: the exec, the secrets, the prod shards, the W&B artifacts.
    let steps: Vec<(&str, &str, Option<&str>, u64)> = e["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["cloud"].as_str().unwrap(),
                s["op"].as_str().unwrap(),
                s["environment"].as_str(),
                s["events"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("kubernetes", "exec_attach", Some("dev"), 1),
            ("kubernetes", "secret_read", Some("dev"), 1),
            ("kubernetes", "secret_read", Some("dev"), 1),
            (
                "aws",
                "object_read",
                Some("prod"),
                gen::STOLEN_SHARDS as u64
            ),
            ("wandb", "object_read", None, gen::STOLEN_ARTIFACTS as u64),
        ]
    );
    // One request of the exec, logged at two stages: the counted one is line 2.
    let first = e["steps"][0]["records"][0].as_str().unwrap();
    assert!(
        first.ends_with("k8s-audit/kubeflow-dev/audit-2026-10-25.jsonl:2"),
        "{first}"
    );
    // The mapped identity (alice) has the dev steps and the W&B pull but not the prod key
    // (not hers): one environment, secrets in one cloud, no chain of its own.
    assert!(e.get("also_keys").is_none(), "{e:#}");
    // SigmaHQ's Kubernetes rules on the same month: the exec and the secrets listing.
    let (_, s) = scan(
        t.path(),
        &[
            "--rules",
            testdata("sigma/rules/application/kubernetes")
                .to_str()
                .unwrap(),
        ],
    );
    let sigma: BTreeSet<&str> = findings(&s)
        .iter()
        .filter(|f| f["id"].as_str().unwrap().starts_with("sigma."))
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        sigma,
        BTreeSet::from([
            "Potential Remote Command Execution In Pod Container",
            "Kubernetes Secrets Enumeration"
        ]),
        "{:#}",
        s["findings"]
    );
}

#[test]
fn the_normal_month_has_nothing_at_high_and_no_chain_and_is_deterministic() {
    let t = tempfile::tempdir().unwrap();
    let o = gen::Options {
        attack: false,
        ..gen::Options::default()
    };
    let w = gen::write(t.path(), &o).unwrap();
    let (code, v) = scan(t.path(), &[]);
    assert_eq!(code, 0, "{:#}", v["findings"]);
    for f in findings(&v) {
        assert!(rank(f["severity"].as_str().unwrap()) < 3, "{f:#}");
        assert_ne!(f["id"], "scan.cross_environment_chain", "{f:#}");
    }
    let cov = v["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["detection"] == "scan.cross_environment_chain")
        .unwrap();
    assert_eq!(cov["status"], "active", "{cov}");
    // The same seed writes the same bytes.
    let again = tempfile::tempdir().unwrap();
    let w2 = gen::write(again.path(), &o).unwrap();
    assert_eq!(w.files.len(), w2.files.len());
    for (a, b) in w.files.iter().zip(&w2.files) {
        assert_eq!(
            std::fs::read(a).unwrap(),
            std::fs::read(b).unwrap(),
            "{}",
            a.display()
        );
    }
}
