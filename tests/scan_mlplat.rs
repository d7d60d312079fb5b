//! ML platform control planes in the cloud audit logs: SageMaker (CloudTrail), Vertex AI
//! and Workbench (GCP), Azure ML (activity log). The samples under
//! testdata/scan/mlplat/ are small records written for these tests from the documented
//! event and method names (docs/scan.md, "ML platforms"): a baseline week of routine work,
//! then one actor's attack steps on day 10 beside routine calls that must stay silent.

use crate::util::testdata as td;
use serde_json::Value;
use std::path::PathBuf;

fn scan(paths: &[PathBuf], extra: &[&str]) -> (i32, Value, String) {
    crate::util::scan_json(paths, extra)
}

/// (id, severity, subject's last path component) of every finding, sorted.
fn summary(v: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = f["subject"].as_str().unwrap();
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                s.rsplit('/').next().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn find<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

fn coverage(v: &Value, d: &str) -> (String, String) {
    let c = v["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["detection"] == d)
        .unwrap_or_else(|| panic!("{d} not in coverage"));
    (
        c["status"].as_str().unwrap().to_string(),
        c["reason"].as_str().unwrap().to_string(),
    )
}

fn t(id: &str, sev: &str, who: &str) -> (String, String, String) {
    (id.into(), sev.into(), who.into())
}

#[test]
fn sagemaker_role_lifecycle_presigned_and_foreign_output() {
    let p = td("scan/mlplat/cloudtrail/sagemaker.json");
    let (code, v, err) = scan(std::slice::from_ref(&p), &["--baseline-days", "7"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["skipped"], 0);
    assert_eq!(
        summary(&v),
        [
            t("scan.sagemaker_lifecycle_script", "critical", "mallory"),
            t("scan.sagemaker_lifecycle_script", "low", "mallory"),
            t("scan.sagemaker_output_other_account", "high", "mallory"),
            t("scan.sagemaker_presigned_url_new_ip", "medium", "alice"),
            t(
                "scan.sagemaker_role_passed_by_new_principal",
                "high",
                "mallory"
            ),
        ],
        "{:#}",
        v["findings"]
    );
    let lc = find(&v, "scan.sagemaker_lifecycle_script");
    let bad = lc.iter().find(|f| f["severity"] == "critical").unwrap();
    assert_eq!(
        bad["evidence"]["signs"],
        serde_json::json!(["metadata_service", "reverse_shell"])
    );
    assert!(bad["evidence"]["lines_reverse_shell"][0]
        .as_str()
        .unwrap()
        .contains("/dev/tcp/203.0.113.66/4444"));
    assert_eq!(bad["evidence"]["lifecycle_config"], "research-setup");
    let role = &find(&v, "scan.sagemaker_role_passed_by_new_principal")[0];
    assert_eq!(
        role["evidence"]["role"],
        "arn:aws:iam::111122223333:role/SageMakerAdminAccess"
    );
    let out = &find(&v, "scan.sagemaker_output_other_account")[0];
    assert_eq!(out["evidence"]["bucket_owner"], "444455556666");
    assert_eq!(out["evidence"]["output_path"], "s3://drop-zone-7781/out/");
    let url = &find(&v, "scan.sagemaker_presigned_url_new_ip")[0];
    assert_eq!(url["evidence"]["new_ip"], "185.220.101.4");
    // The bucket no record names an owner for is listed, not passed silently.
    let (st, why) = coverage(&v, "scan.sagemaker_output_other_account");
    assert_eq!(st, "partial");
    assert!(why.contains("unknown-owner-bucket"), "{why}");
    // The other platforms' rules say why they did not run.
    assert_eq!(coverage(&v, "scan.vertex_startup_script_change").0, "blind");
    assert_eq!(coverage(&v, "scan.azureml_keys_listed").0, "blind");
    assert_eq!(coverage(&v, "scan.k8s_exec_into_pod").0, "blind");

    // The foreign account trusted: no output finding.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mlguard.toml");
    std::fs::write(&cfg, "[scan]\ntrusted_accounts = [\"444455556666\"]\n").unwrap();
    let (_, v, _) = scan(
        std::slice::from_ref(&p),
        &["--baseline-days", "7", "--config", cfg.to_str().unwrap()],
    );
    assert!(find(&v, "scan.sagemaker_output_other_account").is_empty());

    // No baseline: the behavioural rules are off (and say so), the content and ownership
    // rules still fire.
    let (_, v, _) = scan(std::slice::from_ref(&p), &[]);
    let ids: Vec<String> = summary(&v).into_iter().map(|x| x.0).collect();
    assert!(!ids
        .iter()
        .any(|i| i.contains("role_passed") || i.contains("presigned")));
    assert!(ids
        .iter()
        .any(|i| i == "scan.sagemaker_output_other_account"));
    assert_eq!(
        coverage(&v, "scan.sagemaker_role_passed_by_new_principal").0,
        "off"
    );
    assert_eq!(coverage(&v, "scan.sagemaker_presigned_url_new_ip").0, "off");
}

#[test]
fn vertex_jobs_uploads_deploys_and_workbench_scripts() {
    let p = td("scan/mlplat/gcp/vertex.json");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mlguard.toml");
    std::fs::write(&cfg, "[scan]\napprovers = [\"release@acme.example\"]\n").unwrap();
    let (code, v, err) = scan(
        std::slice::from_ref(&p),
        &["--baseline-days", "7", "--config", cfg.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["skipped"], 0);
    assert_eq!(
        summary(&v),
        [
            t("scan.ml_job_by_new_principal", "medium", "eve@acme.example"),
            t("scan.model_export", "medium", "eve@acme.example"),
            t("scan.vertex_endpoint_change", "high", "eve@acme.example"),
            t("scan.vertex_model_upload", "high", "eve@acme.example"),
            t(
                "scan.vertex_startup_script_change",
                "high",
                "eve@acme.example"
            ),
        ],
        "{:#}",
        v["findings"]
    );
    let s = &find(&v, "scan.vertex_startup_script_change")[0];
    assert_eq!(
        s["evidence"]["scripts"][0],
        "post-startup-script=gs://eve-scratch/startup.sh"
    );
    assert_eq!(
        find(&v, "scan.vertex_model_upload")[0]["evidence"]["artifact_uri"],
        "gs://eve-scratch/fraud-scorer/"
    );
    assert_eq!(
        find(&v, "scan.ml_job_by_new_principal")[0]["evidence"]["platform"],
        "vertex_ai"
    );
    assert_eq!(coverage(&v, "scan.vertex_endpoint_change").0, "active");

    // Without approvers every endpoint change is visible, low, and the coverage says why.
    let (_, v, _) = scan(std::slice::from_ref(&p), &["--baseline-days", "7"]);
    let e = find(&v, "scan.vertex_endpoint_change");
    assert_eq!(e.len(), 3);
    assert!(e.iter().all(|f| f["severity"] == "low"));
    assert_eq!(coverage(&v, "scan.vertex_endpoint_change").0, "partial");
}

#[test]
fn azureml_keys_secrets_endpoints_and_jobs() {
    let p = td("scan/mlplat/azure/azureml-activity.json");
    let (code, v, err) = scan(std::slice::from_ref(&p), &["--baseline-days", "7"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["skipped"], 0);
    assert_eq!(
        summary(&v),
        [
            t(
                "scan.azureml_endpoint_change_by_new_identity",
                "high",
                "eve@contoso.example"
            ),
            t("scan.azureml_keys_listed", "high", "eve@contoso.example"),
            t("scan.azureml_keys_listed", "high", "eve@contoso.example"),
            t(
                "scan.ml_job_by_new_principal",
                "medium",
                "eve@contoso.example"
            ),
        ],
        "{:#}",
        v["findings"]
    );
    let mut ops: Vec<&str> = find(&v, "scan.azureml_keys_listed")
        .iter()
        .map(|f| f["evidence"]["operation"].as_str().unwrap())
        .collect();
    ops.sort();
    assert_eq!(ops, ["DATASTORES/LISTSECRETS", "LISTKEYS"]);
    assert_eq!(
        find(&v, "scan.azureml_keys_listed")[0]["evidence"]["source_ip"],
        "203.0.113.80"
    );

    // No baseline: every successful listing (ml-ops' three, eve's two; not eve's failed
    // compute listKeys) at medium; the endpoint rule is off.
    let (_, v, _) = scan(std::slice::from_ref(&p), &[]);
    let k = find(&v, "scan.azureml_keys_listed");
    assert_eq!(k.len(), 5, "{:#}", v["findings"]);
    assert!(k.iter().all(|f| f["severity"] == "medium"));
    assert_eq!(
        coverage(&v, "scan.azureml_endpoint_change_by_new_identity").0,
        "off"
    );
}
