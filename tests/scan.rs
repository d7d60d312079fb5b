//! `mlguard scan` end to end: the real binary on the real public samples in
//! `testdata/scan/`, dirty files in temporary trees, the generated insider month, and
//! generated inference logs.

use mlguard_testgen::inference::{self as gen, GenConfig, Kind};
use mlguard_testgen::scenario::{self, Scenario};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util as common;
use common::{bin, scan_json, testdata as td};

/// The last path component of a warning's `file`.
fn file_name(w: &Value) -> String {
    let f = w["file"].as_str().unwrap();
    f.rsplit('/').next().unwrap().to_string()
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    bin().args(args).output().unwrap()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn stratus(p: &str) -> PathBuf {
    td("scan/cloudtrail/stratus-red-team.cloud").join(p)
}

#[test]
fn stratus_recordings_produce_their_findings() {
    let cases: &[(&str, &str)] = &[
        (
            "defense_evasion/StopCloudtrailTrail.json",
            "scan.logging_disabled",
        ),
        (
            "defense_evasion/DeleteCloudtrailTrail.json",
            "scan.logging_disabled",
        ),
        (
            "defense_evasion/DisableCloudtrailLoggingThroughEventSelectors.json",
            "scan.logging_disabled",
        ),
        (
            "defense_evasion/RemoveVPCFlowLogs.json",
            "scan.logging_disabled",
        ),
        (
            "impact/InvokeBedrockModel.json",
            "scan.llm_entitlement_then_invoke",
        ),
        (
            "impact/InvokeBedrockModel.json",
            "scan.llm_model_enumeration",
        ),
        (
            "exfiltration/ExfiltrateAMIBySharingIt.json",
            "scan.public_or_external_access",
        ),
        (
            "exfiltration/ExfiltrateEBSSnapshotBySharingIt.json",
            "scan.public_or_external_access",
        ),
        (
            "exfiltration/ExfiltrateRDSSnapshotBySharingIt.json",
            "scan.public_or_external_access",
        ),
    ];
    for (file, id) in cases {
        let (code, v, err) = scan_json(&[stratus(file)], &["--fail-on", "medium"]);
        assert_eq!(code, 1, "{file}: {err}");
        assert!(
            ids(&v).contains(*id),
            "{file}: expected {id}, got {:?}",
            ids(&v)
        );
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == *id)
            .unwrap();
        // Every finding names its record and carries framework ids.
        assert!(f["location"]["file"].as_str().unwrap().ends_with(file));
        assert!(f["location"]["record"].is_u64());
        assert!(!f["tags"].as_array().unwrap().is_empty());
    }
    // The AMI is shared with an external account: the grantee is in the evidence.
    let (_, v, _) = scan_json(
        &[stratus("exfiltration/ExfiltrateAMIBySharingIt.json")],
        &[],
    );
    let f = &v["findings"][0];
    assert_eq!(f["severity"], "high");
    assert!(f["evidence"]["grantees"].as_array().unwrap().len() == 1);
    // A recording with nothing ML- or logging-related gives no built-in finding.
    let (code, v, _) = scan_json(
        &[stratus("discovery/DownloadEC2InstanceUserData.json")],
        &[],
    );
    assert_eq!(code, 0);
    assert!(ids(&v).is_empty(), "{:?}", ids(&v));
}

#[test]
fn traildiscover_events_parse_and_bad_files_warn() {
    let dir = td("scan/cloudtrail/traildiscover.cloud/aws/cloudtrail");
    let (code, v, err) = scan_json(std::slice::from_ref(&dir), &[]);
    // The three trail events were denied (AccessDenied): attempts, reported as medium, below
    // --fail-on high. Two files could not be read, so the gate cannot pass: incomplete.
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["summary"]["skipped"], 2);
    let skipped: BTreeSet<String> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["what"], "file");
            file_name(s)
        })
        .collect();
    assert_eq!(
        skipped,
        ["CreateApiKey.json", "PutEventSelectors.json"]
            .map(String::from)
            .into()
    );
    // --allow-partial: forensic use, the same findings and list, warnings only.
    let (code, v2, _) = scan_json(&[dir], &["--allow-partial"]);
    assert_eq!(code, 0);
    assert_eq!(v2["verdict"], "pass");
    assert_eq!(v2["allow_partial"], true);
    assert_eq!(v2["skipped"], v["skipped"]);
    assert_eq!(v2["findings"], v["findings"]);
    assert_eq!(v["summary"]["files"], 6);
    assert_eq!(v["summary"]["events"]["cloudtrail"], 4);
    let warnings: Vec<(String, String)> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (file_name(w), w["message"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings
        .iter()
        .any(|(f, m)| f == "PutEventSelectors.json" && m.contains("no records")));
    assert!(warnings
        .iter()
        .any(|(f, m)| f == "CreateApiKey.json" && m.contains("not JSON")));
    // Warnings are also on stderr, naming the file.
    assert!(err.contains("PutEventSelectors.json"));
    let found = ids(&v);
    assert!(found.contains("scan.logging_disabled"));
    let actions: BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "scan.logging_disabled")
        .map(|f| f["evidence"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["DeleteTrail", "StopLogging", "UpdateTrail"]
            .into_iter()
            .collect()
    );
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(f["severity"], "medium");
        assert!(f["evidence"]["error"]
            .as_str()
            .unwrap()
            .starts_with("AccessDenied"));
    }
}

#[test]
fn gcp_and_mlflow_samples_parse_into_events() {
    let (code, v, err) = scan_json(&[td("scan/gcp")], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["summary"]["events"]["gcp"], 3);
    assert_eq!(v["summary"]["warnings"], 0);

    let (_, v, err) = scan_json(&[td("scan/mlflow")], &["--fail-on", "critical"]);
    assert_eq!(v["summary"]["events"]["mlflow"], 8, "{err}");
    // Experiments and runs are recognised and listed as unused, not warned about.
    assert!(v["ignored_files"].as_array().unwrap().len() >= 10);
    // The only unreadable file is a real export with a raw control character.
    assert_eq!(v["summary"]["warnings"], 1);
    assert!(v["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("control character"));
    // sklearn_wine v1 was exported twice from one server with different runs.
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "scan.registry_version_source_changed")
        .expect("source change");
    assert_eq!(f["evidence"]["resource"], "models:/sklearn_wine/1");
    assert_eq!(f["evidence"]["variants"].as_array().unwrap().len(), 2);

    // With approvers configured, Production versions by anyone else are flagged.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mlguard.toml");
    std::fs::write(&cfg, "[scan]\napprovers = [\"release-bot\"]\n").unwrap();
    let (code, v, _) = scan_json(
        &[td("scan/mlflow/single/models/src_tags")],
        &["--config", cfg.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "scan.registry_unapproved_promotion")
        .expect("unapproved promotion");
    assert_eq!(f["evidence"]["stage"], "Production");
    assert!(f["title"].as_str().unwrap().contains("unrecorded user"));
}

/// Hostile rule files (deep condition nesting, deep YAML flow nesting, huge
/// files) are skipped with a reason naming the file; the scan still runs the good rule.
#[test]
fn hostile_sigma_rules_are_skipped_by_name_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(td(
        "sigma/rules/cloud/aws/cloudtrail/aws_cloudtrail_disable_logging.yml",
    ))
    .unwrap();
    std::fs::write(dir.path().join("good.yml"), &good).unwrap();
    let with_cond = |c: &str| {
        format!("title: T\nid: x-{}\nlogsource:\n    product: aws\ndetection:\n    sel:\n        eventName: X\n    condition: {c}\n", c.len())
    };
    // 20k nested parentheses (40 KB): refused by the condition depth limit.
    let parens = format!("{}sel{}", "(".repeat(20_000), ")".repeat(20_000));
    std::fs::write(dir.path().join("parens.yml"), with_cond(&parens)).unwrap();
    // 50k `not` (200 KB): depth limit; 100k `not` (400 KB): size limit.
    std::fs::write(
        dir.path().join("nots.yml"),
        with_cond(&format!("{}sel", "not ".repeat(50_000))),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("nots100k.yml"),
        with_cond(&format!("{}sel", "not ".repeat(100_000))),
    )
    .unwrap();
    // 200 KB of nested YAML flow collections (12 s to refuse before the limit).
    let nested = format!(
        "title: T\nlogsource: {{product: aws}}\ndetection: {}\n",
        "[".repeat(200_000)
    );
    std::fs::write(dir.path().join("nested.yml"), nested).unwrap();
    // Brackets hidden in a quoted string count too (no tokenizer to fool).
    let hidden = format!(
        "title: T\nlogsource: {{product: aws}}\ndetection: {}\n",
        "['a]', ".repeat(30_000)
    );
    std::fs::write(dir.path().join("hidden.yml"), hidden).unwrap();
    let (code, v, err) = scan_json(
        &[stratus("defense_evasion/StopCloudtrailTrail.json")],
        &["--rules", dir.path().to_str().unwrap()],
    );
    assert_eq!(v["sigma"]["loaded"], 1, "{err}");
    let skipped = v["sigma"]["skipped"].as_array().unwrap();
    let reason = |name: &str| -> String {
        skipped
            .iter()
            .find(|s| s["file"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not reported: {skipped:?}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(skipped.len(), 5, "{skipped:?}");
    assert!(reason("/parens.yml").contains("deeper than 64 levels"));
    assert!(reason("/nots.yml").contains("deeper than 64 levels"));
    assert!(reason("/nots100k.yml").contains("larger than 262144 bytes"));
    assert!(reason("/nested.yml").contains("the limit is 256"));
    assert!(reason("/hidden.yml").contains("the limit is 256"));
    // Reasons stay short (no echo of a 200 KB condition).
    assert!(skipped
        .iter()
        .all(|s| s["reason"].as_str().unwrap().len() < 300));
    // The good rule still ran: the recording stops CloudTrail logging.
    assert!(
        ids(&v).contains("sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74"),
        "{:?}",
        ids(&v)
    );
    // `scan.logging_disabled` (high) fails the default gate.
    assert_eq!(code, 1, "{err}");
}

#[test]
fn every_sigma_cloud_rule_loads_and_rules_match_real_records() {
    let (code, v, err) = scan_json(
        &[stratus("initial_access/ConsoleLoginWithoutMFA.json")],
        &["--rules", td("sigma/rules/cloud").to_str().unwrap()],
    );
    assert_eq!(v["sigma"]["loaded"], 206, "{err}");
    assert_eq!(v["sigma"]["skipped"].as_array().unwrap().len(), 0);
    assert!(v["sigma"]["matched"].as_u64().unwrap() >= 1);
    let titles: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"].as_str().unwrap().starts_with("sigma."))
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"AWS Successful Console Login Without MFA"),
        "{titles:?}"
    );
    let sigma = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"].as_str().unwrap().starts_with("sigma."))
        .unwrap();
    assert!(sigma["subject"].as_str().unwrap().starts_with("arn:aws:"));
    assert!(sigma["location"]["record"].is_u64());
    assert!(code == 0 || code == 1);
    let cov: Vec<&Value> = v["coverage"].as_array().unwrap().iter().collect();
    assert!(cov
        .iter()
        .any(|c| c["detection"] == "sigma" && c["status"] == "active"));
}

fn write_month(dir: &Path, insider_day: u32) -> PathBuf {
    let sc = Scenario {
        insider_day,
        ..Scenario::default()
    };
    scenario::write(dir, &sc).unwrap();
    dir.join("AWSLogs")
}

#[test]
fn insider_month_raises_bulk_and_new_principal_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let logs = write_month(dir.path(), 25);
    let (code, v, err) = scan_json(std::slice::from_ref(&logs), &["--baseline-days", "7"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["files"], 30);
    assert_eq!(v["summary"]["warnings"], 0);
    let found = ids(&v);
    assert_eq!(
        found,
        [
            "scan.bulk_download",
            "scan.new_principal_on_asset",
            "scan.new_source_ip",
            "scan.new_user_agent"
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(f["subject"], "arn:aws:iam::111122223333:user/bob");
        assert!(f["evidence"]["time"]
            .as_str()
            .unwrap()
            .starts_with("2026-10-25T01:"));
    }
    let bulk = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "scan.bulk_download")
        .unwrap();
    // Model artifacts (high) pulled with rclone (one level up): docs/scan.md severity model.
    assert_eq!(bulk["severity"], "critical");
    assert_eq!(
        bulk["evidence"]["severity_factors"],
        serde_json::json!(["ml_asset", "recursive_copy_tool"])
    );
    assert_eq!(bulk["evidence"]["objects"], 400);
    assert_eq!(bulk["evidence"]["asset_kind"], "model_artifact");
    let np = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "scan.new_principal_on_asset")
        .unwrap();
    assert!(np["title"]
        .as_str()
        .unwrap()
        .contains("s3://acme-ml-models"));

    // The same month without the insider: nothing at all.
    let clean = tempfile::tempdir().unwrap();
    let logs = write_month(clean.path(), 0);
    let (code, v, _) = scan_json(&[logs], &["--baseline-days", "7", "--fail-on", "low"]);
    assert_eq!(code, 0, "{:?}", v["findings"]);
    assert!(ids(&v).is_empty());
}

#[test]
fn saved_baseline_is_used_for_a_later_scan() {
    let clean = tempfile::tempdir().unwrap();
    let logs = write_month(clean.path(), 0);
    let base = clean.path().join("baseline.json");
    let o = run(&[
        "scan".as_ref(),
        logs.as_os_str(),
        "--baseline-days".as_ref(),
        "30".as_ref(),
        "--save-baseline".as_ref(),
        base.as_os_str(),
        "-q".as_ref(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let b: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    assert_eq!(b["version"], 1);
    assert!(b["principals"]["arn:aws:iam::111122223333:user/bob"]["ips"]
        .as_array()
        .unwrap()
        .contains(&Value::from("198.51.100.20")));
    // A later export holding only the insider's day, judged against the saved baseline.
    let later = tempfile::tempdir().unwrap();
    let logs2 = write_month(later.path(), 25);
    let day25: Vec<PathBuf> = walk(&logs2)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/2026/10/25/"))
        .collect();
    assert_eq!(day25.len(), 1);
    let (code, v, _) = scan_json(&day25, &["--baseline", base.to_str().unwrap()]);
    assert_eq!(code, 1);
    let found = ids(&v);
    assert!(found.contains("scan.new_principal_on_asset"), "{found:?}");
    assert!(found.contains("scan.bulk_download"));
    // A bad baseline file is an input error naming it.
    std::fs::write(&base, "{").unwrap();
    let o = run(&[
        "scan".as_ref(),
        day25[0].as_os_str(),
        "--baseline".as_ref(),
        base.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("baseline.json"));
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap().path();
        if e.is_dir() {
            out.extend(walk(&e));
        } else {
            out.push(e);
        }
    }
    out
}

#[test]
fn dirty_data_gives_warnings_with_file_and_line_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.json"), "").unwrap();
    std::fs::write(
        d.join("truncated.json"),
        r#"{"Records": [{"eventName": "GetObj"#,
    )
    .unwrap();
    std::fs::write(d.join("binary.log"), [0u8, 159, 146, 150, 255]).unwrap();
    // JSON Lines with a bad line 2, numbers as 0 / 2356.0 / "7", a zero-padded IP.
    let good = |name: &str, bytes: &str, ip: &str| {
        format!(
            r#"{{"eventVersion":"1.09","eventTime":"2026-01-05T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"{name}","awsRegion":"x-odd-1r","sourceIPAddress":"{ip}","userAgent":"ua","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}},"requestParameters":{{"bucketName":"b","key":"k.csv"}},"additionalEventData":{{"bytesTransferredOut":{bytes}}},"recipientAccountId":"1"}}"#
        )
    };
    let jsonl = [
        good("GetObject", "0", "010.000.000.001"),
        "{not json".to_string(),
        good("GetObject", "2356.0", "10.0.0.1"),
        good("GetObject", "\"7\"", "10.0.0.1"),
    ]
    .join("\n");
    std::fs::write(d.join("events.jsonl"), jsonl).unwrap();
    // A gzipped delivered file.
    let gz = d.join("delivered.json.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(
        &mut enc,
        format!(r#"{{"Records": [{}]}}"#, good("GetObject", "1", "10.0.0.2")).as_bytes(),
    )
    .unwrap();
    enc.finish().unwrap();
    let (code, v, err) = scan_json(&[d.to_path_buf()], &[]);
    // Nothing fails the gate, but four inputs were not (fully) read: incomplete, exit 2.
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["summary"]["skipped"], 4);
    let line2 = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| file_name(s) == "events.jsonl")
        .unwrap();
    assert_eq!(line2["what"], "record");
    assert_eq!(line2["line"], 2);
    // The table says why, and which.
    let o = bin().arg("scan").arg(d).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("not read (skipped):"), "{table}");
    assert!(table.contains("events.jsonl:2"), "{table}");
    assert!(
        table.contains("verdict: INCOMPLETE (no findings; 4 not read; fail-on high)"),
        "{table}"
    );
    let (code, _, _) = scan_json(&[d.to_path_buf()], &["--allow-partial"]);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["events"]["cloudtrail"], 4);
    let w: BTreeMap<String, (Value, String)> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                file_name(w),
                (
                    w["line"].clone(),
                    w["message"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert!(w["empty.json"].1.contains("empty"));
    assert!(w["truncated.json"].1.contains("not JSON"));
    assert!(w["binary.log"].1.contains("not JSON"));
    assert_eq!(w["events.jsonl"].0, 2);
    assert_eq!(v["summary"]["warnings"], 4);
    assert!(err.contains("events.jsonl:2"), "{err}");
}

#[test]
fn nothing_readable_is_an_input_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("only.json");
    std::fs::write(&f, "[]").unwrap();
    let o = run(&["scan".as_ref(), f.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("only.json"));
    let o = run(&["scan".as_ref(), dir.path().join("missing").as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "scan".as_ref(),
        f.as_os_str(),
        "--format".as_ref(),
        "b3sum".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn azure_activity_storage_and_policy_exposure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("activity.json"),
        r#"{"records": [
 {"time": "2026-02-01T10:00:00Z", "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/AUDIT",
  "operationName": "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE", "category": "Administrative", "resultType": "Success",
  "callerIpAddress": "203.0.113.5", "identity": {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "mallory@corp.example"}}},
 {"time": "2026-02-01T10:05:00Z", "category": "StorageRead", "operationName": "GetBlob", "statusCode": 200, "statusText": "Success",
  "callerIpAddress": "203.0.113.5:51234", "uri": "https://acct.blob.core.windows.net/models/prod/model.onnx",
  "identity": {"type": "OAuth", "requester": {"upn": "mallory@corp.example"}}, "properties": {"responseBodySize": 2356.0}}
]}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("rest.json"),
        r#"{"value": [{"eventTimestamp": "2026-02-01T11:00:00Z", "caller": "ops@corp.example",
  "operationName": {"value": "Microsoft.Storage/storageAccounts/write", "localizedValue": "Update"},
  "resourceId": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/acct",
  "status": {"value": "Succeeded"}, "httpRequest": {"clientIpAddress": "10.1.1.1"}}]}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("policy.json"),
        r#"{"eventVersion":"1.09","eventTime":"2026-02-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.9","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/eve","accountId":"111122223333"},"recipientAccountId":"111122223333",
  "requestParameters":{"bucketName":"acme-ml-models","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-ml-models/*"}]}}}"#,
    )
    .unwrap();
    let cfg = d.join("mlguard.toml");
    std::fs::write(
        &cfg,
        "[assets]\nmodel_artifacts = [\"s3://acme-ml-models/*\"]\n",
    )
    .unwrap();
    let (code, v, err) = scan_json(
        &[
            d.join("activity.json"),
            d.join("rest.json"),
            d.join("policy.json"),
        ],
        &["--config", cfg.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["events"]["azure"], 3);
    assert_eq!(v["summary"]["events"]["cloudtrail"], 1);
    let fs = v["findings"].as_array().unwrap();
    let public = fs
        .iter()
        .find(|f| f["id"] == "scan.public_or_external_access")
        .unwrap();
    assert_eq!(public["severity"], "critical");
    assert_eq!(public["evidence"]["asset_kind"], "model_artifact");
    let logging = fs
        .iter()
        .find(|f| f["id"] == "scan.logging_disabled")
        .unwrap();
    assert_eq!(logging["subject"], "mallory@corp.example");
    assert_eq!(logging["evidence"]["source_ip"], "203.0.113.5");
}

#[test]
fn output_formats_ocsf_sarif_jsonl_junit_and_fail_on() {
    let f = stratus("defense_evasion/StopCloudtrailTrail.json");
    let out = |fmt: &str, extra: &[&str]| {
        let o = bin()
            .arg("scan")
            .arg(&f)
            .args(["--format", fmt])
            .args(extra)
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8(o.stdout).unwrap(),
        )
    };
    let (code, ocsf) = out("ocsf", &[]);
    assert_eq!(code, 1);
    let lines: Vec<Value> = ocsf
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["class_uid"], 2004);
    assert_eq!(lines[0]["type_uid"], 200401);
    assert_eq!(lines[0]["severity_id"], 4);
    assert_eq!(
        lines[0]["finding_info"]["analytic"]["uid"],
        "scan.logging_disabled"
    );
    assert_eq!(lines[0]["attacks"][0]["technique"]["uid"], "T1562.008");
    assert!(lines[0]["time"].as_i64().unwrap() > 1_600_000_000_000);
    let (_, sarif) = out("sarif", &[]);
    let s: Value = serde_json::from_str(&sarif).unwrap();
    let r = &s["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "scan.logging_disabled");
    assert!(r["partialFingerprints"]["mlguardFinding/v1"].is_string());
    assert!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("StopCloudtrailTrail.json")
    );
    let (_, jsonl) = out("jsonl", &[]);
    assert_eq!(jsonl.lines().count(), 1);
    let (_, junit) = out("junit", &[]);
    assert!(junit.contains("<testsuite") && junit.contains("scan.logging_disabled"));
    // The gate: a high finding passes with --fail-on critical.
    let (code, table) = out("table", &["--fail-on", "critical"]);
    assert_eq!(code, 0);
    assert!(table.contains("verdict: PASS"));
    assert!(table.contains("coverage"));
}

#[test]
fn inference_logs_through_the_cli() {
    let data = gen::load_csv(&td("datasets/digits.csv")).unwrap();
    let g = gen::generate(&data, &GenConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("requests.csv");
    gen::write_csv(&g, &path).unwrap();
    let (code, v, err) = scan_json(std::slice::from_ref(&path), &["--source", "inference"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        v["summary"]["queries"].as_u64().unwrap() as usize,
        g.queries.len()
    );
    let mut by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in v["findings"].as_array().unwrap() {
        by.entry(f["subject"].as_str().unwrap().into())
            .or_default()
            .insert(f["id"].as_str().unwrap().into());
    }
    for (name, kind) in &g.clients {
        let got = by.get(name).cloned().unwrap_or_default();
        match kind {
            Kind::Benign => assert!(got.is_empty(), "benign {name}: {got:?}"),
            Kind::Jbda => assert!(got.contains("scan.inference.prada"), "{name}: {got:?}"),
            Kind::Uniform => assert!(got.contains("scan.inference.coverage"), "{name}: {got:?}"),
            Kind::OneFeature => assert!(got.contains("scan.inference.sweep"), "{name}: {got:?}"),
            Kind::Knockoff => {}
        }
    }
    // Sampling is reported; --sample-rate without --source inference is a usage error.
    let (_, v, _) = scan_json(
        std::slice::from_ref(&path),
        &["--source", "inference", "--sample-rate", "0.5"],
    );
    assert!(v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("sampl")));
    let o = run(&[
        "scan".as_ref(),
        path.as_os_str(),
        "--sample-rate".as_ref(),
        "0.5".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn empty_or_header_only_inference_log_does_not_pass() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let header = "timestamp,client_id,prediction,confidence\n";
    std::fs::write(d.join("header.csv"), header).unwrap();
    std::fs::write(d.join("empty.jsonl"), "").unwrap();
    for f in ["header.csv", "empty.jsonl"] {
        let (code, _, err) = scan_inference(&[d.join(f)], &[]);
        assert_eq!(code, 2, "{f}: {err}");
        // Exit 2 naming the file (the table reader refuses an empty JSONL file itself).
        assert!(err.contains(f), "{err}");
    }
    // One real log beside a header-only one: the empty file is listed, the gate incomplete.
    let mut rows = String::from(header);
    for i in 0..50 {
        rows.push_str(&format!(
            "2026-01-01T00:{:02}:00Z,c{},cat,0.9\n",
            i % 60,
            i % 3
        ));
    }
    std::fs::write(d.join("real.csv"), rows).unwrap();
    let (_, _, err) = scan_inference(&[d.join("header.csv")], &[]);
    assert!(err.contains("no inference query"), "{err}");
    let (code, v, err) = scan_inference(&[d.join("header.csv"), d.join("real.csv")], &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(file_name(&v["skipped"][0]), "header.csv");
    let (code, v, _) = scan_inference(
        &[d.join("header.csv"), d.join("real.csv")],
        &["--allow-partial"],
    );
    assert_eq!(code, 0, "{v}");
}

fn scan_inference(paths: &[PathBuf], extra: &[&str]) -> (i32, Value, String) {
    let o = bin()
        .args(["scan", "--source", "inference", "--format", "json"])
        .args(paths)
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// One symlink policy for log directories: a linked log file is read (and listed as read
/// through a link), a link to a directory is not descended and listed with its reason —
/// never dropped silently. A gzip log is read through the same capped decompressor.
#[test]
fn log_directory_symlinks_are_read_or_listed() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let sample = td("scan/gcp");
    let first = std::fs::read_dir(&sample)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "jsonl"))
        .min()
        .unwrap();
    std::os::unix::fs::symlink(&first, logs.join("linked.json")).unwrap();
    std::os::unix::fs::symlink(&sample, logs.join("dirlink")).unwrap();
    let (code, v, err) = scan_json(std::slice::from_ref(&logs), &["--fail-on", "critical"]);
    assert!(code == 0 || code == 1, "{err}");
    assert_eq!(v["summary"]["files"], 1, "{err}");
    let ignored = v["ignored_files"].as_array().unwrap();
    let reason = |name: &str| {
        ignored
            .iter()
            .find(|i| file_name(i) == name)
            .map(|i| i["reason"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        reason("linked.json"),
        "",
        "a file that was read is not listed as ignored: {ignored:?}"
    );
    assert!(
        reason("dirlink").contains("symlink to a directory"),
        "{ignored:?}"
    );
    let read = v["symlinks_read"].as_array().unwrap();
    assert_eq!(read.len(), 1, "{read:?}");
    assert_eq!(file_name(&read[0]), "linked.json");
    assert_eq!(
        Path::new(read[0]["target"].as_str().unwrap()),
        std::fs::canonicalize(&first).unwrap(),
        "the link is recorded with its target"
    );
    assert!(err.contains("read through a symlink"), "{err}");
    assert!(
        v["summary"]["events"]["gcp"].as_u64().unwrap_or(0) > 0,
        "the linked file's events were read: {v}"
    );
}

/// A DeleteTrail CloudTrail record: the finding proves the record was read.
fn delete_trail(i: u32) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"2026-03-01T10:00:{:02}Z","eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.{i}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u{i}"}},"requestParameters":{{"name":"main"}},"recipientAccountId":"111122223333"}}"#,
        i % 60
    )
}

fn logging_findings(v: &Value) -> usize {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "scan.logging_disabled")
        .count()
}

/// Shapes common in the wild, once dropped while the gate passed.
#[test]
fn container_per_line_bom_and_invalid_utf8_are_read() {
    let dir = tempfile::tempdir().unwrap();
    // `zcat *.json.gz > all.json`: one {"Records":[...]} document per line.
    let per_line = dir.path().join("all.json");
    let lines: Vec<String> = (0..3)
        .map(|k| {
            format!(
                r#"{{"Records":[{},{}]}}"#,
                delete_trail(2 * k),
                delete_trail(2 * k + 1)
            )
        })
        .collect();
    std::fs::write(&per_line, lines.join("\n")).unwrap();
    let (code, v, err) = scan_json(std::slice::from_ref(&per_line), &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(logging_findings(&v), 6);
    assert_eq!(v["summary"]["warnings"], 0);
    assert!(v["findings"][0]["location"]["line"].as_u64().is_some());

    // A UTF-8 byte-order mark before the container.
    let bom = dir.path().join("bom.json");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(format!(r#"{{"Records":[{}]}}"#, delete_trail(1)).as_bytes());
    std::fs::write(&bom, bytes).unwrap();
    let (code, v, err) = scan_json(std::slice::from_ref(&bom), &[]);
    assert_eq!((code, logging_findings(&v)), (1, 1), "{err}");

    // One invalid byte in a single-line array: that record is read with U+FFFD and counted,
    // the others are untouched.
    let bad = dir.path().join("bad.json");
    let mut bytes = format!(
        "[{},{}]",
        delete_trail(1),
        delete_trail(2).replace("user/u2", "user/u\x01")
    )
    .into_bytes();
    let i = bytes.iter().position(|b| *b == 1).unwrap();
    bytes[i] = 0xC3; // a lone UTF-8 lead byte
    std::fs::write(&bad, bytes).unwrap();
    let (code, v, err) = scan_json(std::slice::from_ref(&bad), &[]);
    assert_eq!((code, logging_findings(&v)), (1, 2), "{err}");
    assert_eq!(v["summary"]["repaired"], 1);
    assert_eq!(v["repaired"][0]["record"], 1);
    assert!(err.contains("invalid UTF-8"), "{err}");
}

/// A whole container of an unknown shape is named as such, and a damaged MLflow
/// export inside a scanned directory is a warning, not silence.
#[test]
fn unknown_containers_and_damaged_mlflow_exports_are_warned() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("logs.json"),
        format!(r#"{{"logs":[{},{}]}}"#, delete_trail(1), delete_trail(2)),
    )
    .unwrap();
    let models = dir.path().join("models/m");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(
        models.join("model.json"),
        r#"{"system":{"script":"export_model.py"},"mlflow":{"registered_model":{"name":"m","versions":"lost"}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("odd.json"),
        r#"{"system":{"script":"export_x.py"},"mlflow":{"registred_model":{}}}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("ok.json"), delete_trail(3)).unwrap();
    let (code, v, err) = scan_json(&[dir.path().to_path_buf()], &[]);
    assert_eq!(code, 1, "{err}");
    let warnings: BTreeMap<String, String> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (file_name(w), w["message"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        warnings["logs.json"].contains("not a known log container")
            && !warnings["logs.json"].contains("record is not"),
        "{warnings:?}"
    );
    assert!(
        warnings["model.json"].contains("versions is not a list"),
        "{warnings:?}"
    );
    assert!(
        warnings["odd.json"].contains("unknown kind"),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 3);
}

/// `--baseline-days` and `[scan] baseline_days` are bounded (chrono overflowed on 1e8 days),
/// a far-future event time is no time, and config errors name the config file.
#[test]
fn baseline_days_event_times_and_config_errors_are_bounded_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ev = |t: &str| {
        format!(
            r#"{{"eventVersion":"1.09","eventTime":{t},"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"ua","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}},"requestParameters":{{"bucketName":"b","key":"k.csv"}},"recipientAccountId":"1"}}"#
        )
    };
    let log = d.join("t.jsonl");
    std::fs::write(
        &log,
        [
            ev("\"2026-01-05T10:00:00Z\""),
            ev("\"9999-12-31T23:59:59Z\""),
            ev("253402300799000000"),
            ev("1e300"),
        ]
        .join("\n"),
    )
    .unwrap();
    for days in ["1e8", "1e12", "inf", "-1", "NaN"] {
        let flag = format!("--baseline-days={days}");
        let o = run(&["scan".as_ref(), log.as_os_str(), flag.as_ref()]);
        assert_eq!(o.status.code(), Some(2), "{days}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("--baseline-days must be"), "{days}: {e}");
    }
    // The largest accepted window with the latest accepted time: no overflow.
    let (code, v, err) = scan_json(
        std::slice::from_ref(&log),
        &["--baseline-days", "36500", "--fail-on", "critical"],
    );
    assert!(code == 0 || code == 1, "{err}");
    assert_eq!(v["summary"]["events"]["cloudtrail"], 4);
    // The same bound from the config file, and other config errors, name the file.
    let cfg = d.join("my.toml");
    for (text, want) in [
        (
            "[scan]\nbaseline_days = 1e12\n",
            "[scan] baseline_days must be",
        ),
        (
            "[scan]\nbaseline_days = -1\n",
            "[scan] baseline_days must be",
        ),
        ("[scan]\nworking_hours = \"25:00-x\"\n", "working_hours"),
        (
            "[assets]\nmodel_artifacts = [\"a[b\"]\n",
            "[assets] model_artifacts[0]: bad glob 'a[b'",
        ),
        (
            "[drfit]\nks = 0.1\n",
            "unknown section [drfit] (did you mean [drift]?)",
        ),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let o = run(&[
            "scan".as_ref(),
            log.as_os_str(),
            "--config".as_ref(),
            cfg.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("my.toml") && e.contains(want), "{text}: {e}");
        assert!(!e.contains("--baseline-days"), "{e}");
    }
}

#[test]
fn inference_timestamp_errors_name_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("req.csv");
    let mut text = String::from("timestamp,client_id,prediction,confidence\n");
    for i in 0..5 {
        text.push_str(&format!("2026-01-01T00:00:0{i}Z,c{i},cat,0.9\n"));
    }
    text.push_str("yesterday-ish,c9,cat,0.9\n");
    std::fs::write(&f, text).unwrap();
    let (code, _, err) = scan_inference(std::slice::from_ref(&f), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("req.csv (row 6)") && err.contains("'yesterday-ish'"),
        "{err}"
    );
}

#[test]
fn scan_output_is_never_an_input_and_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let good = logs.join("trail.json");
    std::fs::write(&good, format!("{{\"Records\":[{}]}}", delete_trail(1))).unwrap();
    // A damaged file whose name would clear the screen: listed as not read, escaped.
    std::fs::write(logs.join("\u{1b}[2Jx.json"), "{\"Records\": [").unwrap();
    for out in [good.clone(), logs.join("report.json")] {
        let o = run(&[
            "scan".as_ref(),
            logs.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("also an input") || e.contains("inside the input directory"),
            "{e}"
        );
    }
    assert!(std::fs::read_to_string(&good)
        .unwrap()
        .contains("DeleteTrail"));
    let o = run(&["scan".as_ref(), logs.as_os_str()]);
    // The DeleteTrail finding fails the gate; the damaged file is listed, escaped.
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(
        !out.contains('\u{1b}') && !err.contains('\u{1b}'),
        "{out:?} {err:?}"
    );
    assert!(out.contains("\\u{1b}[2Jx.json"), "{out}");
    // JSON keeps the exact name.
    let (_, v, _) = scan_json(std::slice::from_ref(&logs), &[]);
    assert!(
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["file"].as_str().unwrap().contains("\u{1b}[2Jx.json")),
        "{v}"
    );
}

/// A Kubernetes audit event (`audit.k8s.io/v1`, one line) creating `spec` as a pod in
/// namespace `ns`.
fn k8s_pod(id: &str, ns: &str, spec: &str, stage: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{id}","stage":"{stage}","requestURI":"/api/v1/namespaces/{ns}/pods","verb":"create","user":{{"username":"alice@example.com","groups":["system:authenticated"]}},"sourceIPs":["10.1.2.3"],"userAgent":"kubectl/v1.30.0","objectRef":{{"resource":"pods","namespace":"{ns}","name":"p-{id}","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":201}},"requestObject":{{"kind":"Pod","apiVersion":"v1","spec":{spec}}},"requestReceivedTimestamp":"2026-03-02T10:00:00.000000Z","stageTimestamp":"2026-03-02T10:00:00.100000Z"}}"#
    )
}

#[test]
fn k8s_audit_sample_is_read_and_privileged_pods_are_found() {
    // Six Falco trace events (2018 format): privileged pod, hostPath /etc pod, a plain pod,
    // a configmap, a secret and a deployment.
    let (code, v, err) = scan_json(&[td("scan/k8s/falco-audit.jsonl")], &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["events"]["k8s"], 6, "{v}");
    assert_eq!(v["summary"]["skipped"], 0);
    let f: Vec<&Value> = v["findings"].as_array().unwrap().iter().collect();
    assert_eq!(f.len(), 2, "{v}");
    assert!(f.iter().all(|f| f["id"] == "scan.k8s_privileged_pod"));
    let escapes: BTreeSet<&str> = f
        .iter()
        .map(|f| f["evidence"]["escape"].as_str().unwrap())
        .collect();
    assert_eq!(
        escapes,
        BTreeSet::from(["privileged:nginx", "hostPath:/etc"]),
        "{v}"
    );
}

#[test]
fn k8s_crafted_records_fire_on_escapes_only_and_bad_records_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let benign = k8s_pod(
        "b1",
        "training",
        r#"{"containers":[{"name":"trainer","image":"pytorch","securityContext":{"privileged":false}}],"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"ds"}}]}"#,
        "ResponseComplete",
    );
    let bad_pod = k8s_pod(
        "e1",
        "training",
        r#"{"containers":[{"name":"trainer","image":"pytorch"}],"volumes":[{"name":"root","hostPath":{"path":"/"}}]}"#,
        "ResponseComplete",
    );
    // The escaping pod came through a proxy: `X-Forwarded-For` (first, chosen by the client)
    // must not become the source IP; the connection's address (last) does.
    let bad_pod = bad_pod.replace(
        r#""sourceIPs":["10.1.2.3"]"#,
        r#""sourceIPs":["203.0.113.9","10.1.2.3"]"#,
    );
    // `kubectl exec` into a trainer pod: the same event shape on pods/exec, logged at every
    // stage (RequestReceived, ResponseStarted, ResponseComplete): one request, one event.
    let exec = benign
        .replace(
            r#""name":"p-b1","#,
            r#""name":"trainer-0","subresource":"exec","#,
        )
        .replace(r#""auditID":"b1""#, r#""auditID":"x1""#);
    let exec_received = exec.replace(
        r#""stage":"ResponseComplete""#,
        r#""stage":"RequestReceived""#,
    );
    let exec_started = exec.replace(
        r#""stage":"ResponseComplete""#,
        r#""stage":"ResponseStarted""#,
    );
    // The pod create also logged at RequestReceived: a repeat, not a second event.
    let bad_received = bad_pod.replace(
        r#""stage":"ResponseComplete""#,
        r#""stage":"RequestReceived""#,
    );
    std::fs::write(
        d.join("audit.log"),
        format!("{benign}\n{bad_received}\n{bad_pod}\n{exec_received}\n{exec_started}\n{exec}\n"),
    )
    .unwrap();
    let (code, v, err) = scan_json(&[d.to_path_buf()], &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["events"]["k8s"], 3, "{v}");
    assert_eq!(v["summary"]["skipped"], 0, "{v}");
    let all = v["findings"].as_array().unwrap();
    assert_eq!(all.len(), 2, "{v}");
    let x: Vec<&Value> = all
        .iter()
        .filter(|f| f["id"] == "scan.k8s_exec_into_pod")
        .collect();
    assert_eq!(x.len(), 1, "{v}");
    assert_eq!(
        x[0]["evidence"]["resource"],
        "k8s://training/pods/trainer-0/exec"
    );
    assert_eq!(x[0]["evidence"]["namespace"], "training");
    // A namespace named like a training namespace: one level higher.
    assert_eq!(x[0]["severity"], "critical");
    assert_eq!(
        x[0]["evidence"]["training_workload"],
        "namespace named like a training / notebook namespace"
    );
    let f: Vec<&Value> = all
        .iter()
        .filter(|f| f["id"] == "scan.k8s_privileged_pod")
        .collect();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["id"], "scan.k8s_privileged_pod");
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["evidence"]["resource"], "k8s://training/pods/p-e1");
    assert_eq!(f[0]["evidence"]["source_ip"], "10.1.2.3");
    assert_eq!(f[0]["subject"], "alice@example.com");

    // Benign only, in an EventList, plus a record without user.username, one of stage
    // RequestReceived (a repeat: neither event nor skip) and one of a stage that does not
    // exist: nothing fires, two records skipped, verdict incomplete.
    let dir2 = tempfile::tempdir().unwrap();
    let d2 = dir2.path();
    let no_user = benign.replace(r#""username":"alice@example.com","#, "");
    let early = k8s_pod("b2", "training", r#"{"containers":[]}"#, "RequestReceived");
    let odd_stage = k8s_pod("b3", "training", r#"{"containers":[]}"#, "Halfway");
    std::fs::write(
        d2.join("list.json"),
        format!(r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{benign},{no_user},{early},{odd_stage}]}}"#),
    )
    .unwrap();
    let (code, v, err) = scan_json(&[d2.to_path_buf()], &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["summary"]["events"]["k8s"], 1, "{v}");
    assert_eq!(v["summary"]["skipped"], 2, "{v}");
    assert!(v["findings"].as_array().unwrap().is_empty(), "{v}");
    let msgs: Vec<String> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(msgs.iter().any(|m| m.contains("user.username")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("Halfway")), "{msgs:?}");
    assert!(
        !msgs.iter().any(|m| m.contains("RequestReceived")),
        "{msgs:?}"
    );
}
