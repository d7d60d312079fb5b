//! SigmaHQ's 16 Kubernetes audit rules, unmodified, through the Kubernetes field mapping
//! (`src/input/logs/mappings/k8s.yml`) on Falco's real audit traces (all 38,
//! `testdata/scan/k8s-falco`): the load report, and which rule fires on which trace when
//! the real binary scans them.

use crate::util::{bin, testdata};
use mlguard::scan::sigma::RuleSet;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const RULES: &str = "sigma/rules/application/kubernetes";

#[test]
fn sigmahq_kubernetes_rules_load_or_are_skipped_with_the_mapping_reason() {
    let (set, rep) = RuleSet::load_dir(&testdata(RULES)).unwrap();
    assert_eq!(rep.loaded.len() + rep.skipped.len(), 16, "{rep:?}");
    assert_eq!(rep.loaded.len(), 14, "skipped: {:?}", rep.skipped);
    assert_eq!(set.len(), 14);
    assert_eq!(rep.skipped.len(), 2);
    let why = |stem: &str| -> &str {
        &rep.skipped
            .iter()
            .find(|(f, _)| f.ends_with(&format!("{stem}.yml")))
            .unwrap_or_else(|| panic!("{stem} not skipped: {:?}", rep.skipped))
            .1
    };
    let w = why("kubernetes_audit_privileged_pod_creation");
    assert!(
        w.contains("field 'capabilities' cannot be mapped for product kubernetes")
            && w.contains("'drop' lists"),
        "{w}"
    );
    // `responseStatus.code: 'ALLOW'`: the field holds HTTP status numbers.
    let w = why("kubernetes_audit_potential_enumeration_activity");
    assert!(
        w.contains("field 'responseStatus.code' never holds 'ALLOW' in product kubernetes")
            && w.contains("authorization.k8s.io/decision"),
        "{w}"
    );
    assert!(rep.not_rules.is_empty() && rep.ignored.is_empty());
    let counts: Vec<((String, String), usize)> = set.logsource_counts().into_iter().collect();
    assert_eq!(
        counts,
        vec![(("kubernetes".to_string(), "audit".to_string()), 14)]
    );
}

/// Rule file stem → trace file names it fired on, from one `scan --rules` over the traces.
fn fired(v: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in v["findings"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        if !id.starts_with("sigma.") {
            continue;
        }
        let rule = f["evidence"]["rule_file"].as_str().unwrap();
        let rule = std::path::Path::new(rule)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("kubernetes_audit_")
            .to_string();
        let at = f["location"]["file"].as_str().unwrap();
        let name = std::path::Path::new(at)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // JSON Lines records carry their line; a one-event `.json` file has none.
        let at = match f["location"]["line"].as_u64() {
            Some(l) => format!("{name}:{l}"),
            None => name,
        };
        out.entry(rule).or_default().insert(at);
    }
    out
}

#[test]
fn falco_traces_fire_the_rules_their_names_say_through_the_binary() {
    // All 38 of falco's trace files (one is the malformed `{"kind": 0}`: a skipped record).
    let o = bin()
        .arg("scan")
        .arg(testdata("scan/k8s-falco"))
        .arg("--rules")
        .arg(testdata(RULES))
        .args(["--format", "json", "--allow-partial"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stderr));
    });
    assert_eq!(v["summary"]["files"], 38, "{v}");
    // The malformed record and the two skipped rules.
    assert_eq!(v["summary"]["skipped"], 3, "{v}");
    assert!(v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["what"] == "rule"));
    assert_eq!(v["sigma"]["loaded"], 14);
    assert_eq!(v["sigma"]["skipped"].as_array().map(Vec::len), Some(2));
    let got = fired(&v);
    let want: BTreeMap<String, BTreeSet<String>> = [
        // objectRef.apiGroup rbac.authorization.k8s.io + (cluster)rolebindings writes.
        (
            "rolebinding_modification",
            &[
                "attach_cluster_admin_role.json",
                "create_clusterrolebinding.json",
                "delete_clusterrolebinding.json",
            ][..],
        ),
        (
            "secrets_modified_or_deleted",
            &[
                "create_kube_system_secret.json",
                "create_secret.json",
                "create_service_account_token_secret.json",
                "delete_secret.json",
            ][..],
        ),
        (
            "serviceaccount_creation",
            &[
                "create_serviceaccount.json",
                "create_serviceaccount_kube_public_namespace.json",
                "create_serviceaccount_kube_system_namespace.json",
            ][..],
        ),
        (
            "pod_in_system_namespace",
            &["create_pod_kube_system_namespace.json"][..],
        ),
        ("deployment_deleted", &["delete_deployment.json"][..]),
        // `hostPath` mapped to requestObject.spec.volumes[].hostPath.path: the /etc mount
        // pod fires, the other pods (privileged, hostNetwork, plain) do not.
        (
            "hostpath_mount",
            &["create_nginx_pod_sensitive_mount.json"][..],
        ),
    ]
    .into_iter()
    .map(|(r, fs)| (r.to_string(), fs.iter().map(|s| s.to_string()).collect()))
    .collect();
    assert_eq!(got, want, "{:#}", v["findings"]);
    // Benign traces (configmaps, plain pods, services, deployments created) fire nothing.
    for benign in [
        "create_configmap.json",
        "create_nginx_pod_nohostnetwork.json",
        "create_deployment.json",
        "create_service.json",
        "create_nginx_service_nonodeport.json",
    ] {
        assert!(
            got.values().all(|fs| !fs.contains(benign)),
            "{benign}: {got:?}"
        );
    }
}
