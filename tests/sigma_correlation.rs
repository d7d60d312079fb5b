//! Sigma v2 correlation rules and rule hygiene, through the real binary: Suzaku's rule set
//! (testdata/sigma/suzaku-rules, unmodified) loads whole, and each of its five correlation
//! rules fires on a generated CloudTrail sequence that should trigger it and stays quiet on
//! one just under its threshold (one event short, or just outside its timespan, or out of
//! order).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use crate::util as common;
use common::{bin, testdata};

const FAILED_LOGINS: &str = "68f8de62-97cd-4a9a-afba-7804fddf43d4";
const ACCESS_DENIED: &str = "4a6b8c0d-2e3f-5a7b-9c1d-3e4f5a6b7c8d";
const RECON: &str = "08d8b077-cc1c-4b74-8e9c-e07f84b203f0";
const S3_ENUM: &str = "6c8d0e2f-4a5b-7c9d-1e3f-5a6b7c8d9e0f";
const IAM_CHAIN: &str = "8e0f2a4b-6c7d-9e1f-3a5b-7c8d9e0f1a2b";

fn suzaku() -> PathBuf {
    testdata("sigma/suzaku-rules")
}

/// One CloudTrail record at `secs` seconds after 2026-01-01T10:00:00Z.
fn ev(secs: i64, source: &str, name: &str, ip: &str, key: &str, extra: Value) -> Value {
    let t = chrono::DateTime::from_timestamp(1_767_261_600 + secs, 0).unwrap();
    let mut r = json!({
        "eventVersion": "1.08",
        "eventTime": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::111122223333:user/mallory", "accountId": "111122223333",
            "accessKeyId": key, "userName": "mallory"},
        "eventID": format!("{secs}-{name}-{ip}"),
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    });
    if let (Value::Object(m), Value::Object(x)) = (&mut r, extra) {
        m.extend(x);
    }
    r
}

const IP: &str = "203.0.113.7";
const KEY: &str = "AKIAEXAMPLEKEY000001";

fn failed_login(secs: i64, ip: &str) -> Value {
    let mut r = ev(
        secs,
        "signin.amazonaws.com",
        "ConsoleLogin",
        ip,
        "",
        json!({"responseElements": {"ConsoleLogin": "Failure"}, "eventType": "AwsConsoleSignIn"}),
    );
    r["userIdentity"]
        .as_object_mut()
        .unwrap()
        .remove("accessKeyId");
    r
}

fn denied(secs: i64, name: &str) -> Value {
    ev(
        secs,
        "ec2.amazonaws.com",
        name,
        IP,
        KEY,
        json!({"errorCode": if secs % 2 == 0 { "Client.UnauthorizedOperation" } else { "AccessDenied" },
               "errorMessage": "You are not authorized to perform this operation."}),
    )
}

fn iam(secs: i64, name: &str) -> Value {
    ev(secs, "iam.amazonaws.com", name, IP, KEY, json!({}))
}

/// Run a scan of `records` (written as one CloudTrail file into a temp dir) with `args`.
fn scan(records: &[Value], args: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("trail.json");
    std::fs::write(
        &f,
        serde_json::to_vec(&json!({"Records": records})).unwrap(),
    )
    .unwrap();
    scan_path(&f, args)
}

fn scan_path(p: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = bin()
        .arg("scan")
        .arg(p)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {err}"));
    (out.status.code().unwrap_or(-1), v, err)
}

fn with_suzaku(records: &[Value]) -> (Value, String) {
    let (_, v, err) = scan(records, &["--rules", suzaku().to_str().unwrap()]);
    (v, err)
}

/// The findings of one rule id.
fn of(v: &Value, id: &str) -> Vec<Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == format!("sigma.{id}"))
        .cloned()
        .collect()
}

fn stats<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["sigma"]["correlations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no stats for {id}: {}", v["sigma"]))
}

#[test]
fn suzaku_rule_set_loads_unmodified() {
    let (v, err) = with_suzaku(&[iam(0, "GetUser")]);
    let s = &v["sigma"];
    // 962 files: 957 single rules and 5 correlation files (2+2+2+3+3 documents).
    assert_eq!(s["loaded"], 969, "{err}\n{s}");
    assert_eq!(s["correlation_rules"], 5, "{s}");
    assert_eq!(s["skipped"].as_array().unwrap().len(), 0, "{s}");
    assert_eq!(s["not_rules"].as_array().unwrap().len(), 0, "{s}");
    assert_eq!(s["ignored"].as_array().unwrap().len(), 0, "{s}");
    assert_eq!(s["correlations"].as_array().unwrap().len(), 5);
    assert!(
        err.contains("969 rules loaded (5 correlation), 0 skipped, 0 ignored, 0 not rules"),
        "{err}"
    );
}

#[test]
fn many_failed_logins_fires_at_three_in_five_minutes() {
    // Three failures from one address in 4 minutes, and noise from another address.
    let recs = vec![
        failed_login(0, IP),
        failed_login(100, IP),
        failed_login(110, "198.51.100.9"),
        failed_login(240, IP),
    ];
    let (v, err) = with_suzaku(&recs);
    let f = of(&v, FAILED_LOGINS);
    assert_eq!(f.len(), 1, "{err}\n{f:?}");
    let e = &f[0]["evidence"];
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(e["correlation"], "event_count");
    assert_eq!(e["count"], 3);
    assert_eq!(e["group"], json!({"sourceIPAddress": IP}));
    assert_eq!(e["window_start"], "2026-01-01T10:00:00Z");
    assert_eq!(e["window_end"], "2026-01-01T10:04:00Z");
    assert_eq!(e["base_rules"][0]["title"], "Failed Console Login");
    assert_eq!(f[0]["subject"], format!("sourceIPAddress={IP}"));
    assert_eq!(
        f[0]["location"]["record"], 3,
        "the record that completed it"
    );
    assert_eq!(stats(&v, FAILED_LOGINS)["base_matches"], 4);
    assert_eq!(stats(&v, FAILED_LOGINS)["peak_groups"], 2);
    // The standalone Suzaku rule with the same id still reports each failure (low).
    let single: Vec<Value> = of(&v, "978c15f1-3468-42b2-bf0f-bb29ae6168cc");
    assert_eq!(single.len(), 4);
    assert!(single.iter().all(|s| s["severity"] == "low"));
}

#[test]
fn many_failed_logins_is_quiet_just_under_the_threshold() {
    // Two from one address, plus one from another: three failures, but no group has three.
    let (v, err) = with_suzaku(&[
        failed_login(0, IP),
        failed_login(60, IP),
        failed_login(90, "198.51.100.9"),
    ]);
    assert!(of(&v, FAILED_LOGINS).is_empty(), "{err}");
    assert_eq!(stats(&v, FAILED_LOGINS)["base_matches"], 3);
    // Three from one address, the third 5 minutes and 1 second after the first.
    let (v, _) = with_suzaku(&[
        failed_login(0, IP),
        failed_login(200, IP),
        failed_login(301, IP),
    ]);
    assert!(of(&v, FAILED_LOGINS).is_empty());
    // ... and at exactly 5 minutes it fires (the timespan is inclusive).
    let (v, _) = with_suzaku(&[
        failed_login(0, IP),
        failed_login(200, IP),
        failed_login(300, IP),
    ]);
    assert_eq!(of(&v, FAILED_LOGINS).len(), 1);
}

#[test]
fn many_access_denied_fires_at_ten_and_a_burst_is_one_finding() {
    let names = [
        "DescribeInstances",
        "ListBuckets",
        "GetSecretValue",
        "DescribeVolumes",
        "ListFunctions",
    ];
    // 25 denials in 9 minutes from one address and key: one finding for the burst.
    let recs: Vec<Value> = (0..25)
        .map(|i| denied(i * 21, names[i as usize % names.len()]))
        .collect();
    let (v, err) = with_suzaku(&recs);
    let f = of(&v, ACCESS_DENIED);
    assert_eq!(f.len(), 1, "{err}\n{f:?}");
    let e = &f[0]["evidence"];
    assert_eq!(e["count"], 25);
    assert_eq!(e["event_count"], 25);
    assert_eq!(
        e["group"],
        json!({"sourceIPAddress": IP, "userIdentity.accessKeyId": KEY})
    );
    assert_eq!(
        e["time"], "2026-01-01T10:03:09Z",
        "fired at the 10th denial"
    );
    assert_eq!(e["window_end"], "2026-01-01T10:08:24Z");
    // Nine denials: quiet.
    let (v, _) = with_suzaku(&recs[..9]);
    assert!(of(&v, ACCESS_DENIED).is_empty());
    assert_eq!(stats(&v, ACCESS_DENIED)["base_matches"], 9);
    // Ten, but from two access keys (5 + 5): quiet.
    let mut split: Vec<Value> = recs[..10].to_vec();
    for r in split.iter_mut().step_by(2) {
        r["userIdentity"]["accessKeyId"] = json!("AKIAEXAMPLEKEY000002");
    }
    let (v, _) = with_suzaku(&split);
    assert!(of(&v, ACCESS_DENIED).is_empty());
    // Ten from one key: fires.
    let (v, _) = with_suzaku(&recs[..10]);
    assert_eq!(of(&v, ACCESS_DENIED).len(), 1);
}

#[test]
fn many_recon_events_counts_distinct_event_names() {
    // ListUsers, ListRoles, GetUser (with repeats) within 50 s: 3 distinct names.
    let recs = vec![
        iam(0, "ListUsers"),
        iam(10, "ListUsers"),
        iam(20, "ListRoles"),
        iam(50, "GetUser"),
    ];
    let (v, err) = with_suzaku(&recs);
    let f = of(&v, RECON);
    assert_eq!(f.len(), 1, "{err}");
    let e = &f[0]["evidence"];
    assert_eq!(e["correlation"], "value_count");
    assert_eq!(e["count"], 3);
    assert_eq!(e["field"], "eventName");
    assert_eq!(e["events"], 4);
    assert_eq!(e["event_count"], 4);
    assert_eq!(e["values"], json!(["GetUser", "ListRoles", "ListUsers"]));
    assert_eq!(
        e["group"],
        json!({"userIdentity.arn": "arn:aws:iam::111122223333:user/mallory"})
    );
    // Two distinct names, however many calls: quiet.
    let mut two: Vec<Value> = (0..8).map(|i| iam(i * 5, "ListUsers")).collect();
    two.push(iam(45, "ListRoles"));
    // A third recon name from a non-IAM service does not match the base rule.
    two.push(ev(
        50,
        "ec2.amazonaws.com",
        "DescribeInstances",
        IP,
        KEY,
        json!({}),
    ));
    let (v, _) = with_suzaku(&two);
    assert!(of(&v, RECON).is_empty());
    assert_eq!(stats(&v, RECON)["base_matches"], 9);
    // Three names, but the third 61 s after the first: quiet.
    let (v, _) = with_suzaku(&[
        iam(0, "ListUsers"),
        iam(30, "ListRoles"),
        iam(61, "GetUser"),
    ]);
    assert!(of(&v, RECON).is_empty());
}

fn sts_identity(secs: i64) -> Value {
    ev(
        secs,
        "sts.amazonaws.com",
        "GetCallerIdentity",
        IP,
        KEY,
        json!({}),
    )
}

fn list_buckets(secs: i64) -> Value {
    ev(secs, "s3.amazonaws.com", "ListBuckets", IP, KEY, json!({}))
}

#[test]
fn s3_enumeration_after_get_caller_identity_in_order() {
    let (v, err) = with_suzaku(&[sts_identity(0), list_buckets(120), list_buckets(130)]);
    let f = of(&v, S3_ENUM);
    assert_eq!(f.len(), 1, "{err}\n{f:?}");
    let e = &f[0]["evidence"];
    assert_eq!(e["correlation"], "temporal_ordered");
    assert_eq!(e["window_start"], "2026-01-01T10:00:00Z");
    assert_eq!(e["window_end"], "2026-01-01T10:02:00Z");
    let titles: Vec<&str> = e["base_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["GetCallerIdentity Call", "S3 ListBuckets Call"]);
    // The same second counts as in order (CloudTrail has one-second resolution).
    let (v, _) = with_suzaku(&[list_buckets(0), sts_identity(0)]);
    assert_eq!(of(&v, S3_ENUM).len(), 1);
    // Wrong order: quiet.
    let (v, _) = with_suzaku(&[list_buckets(0), sts_identity(60)]);
    assert!(of(&v, S3_ENUM).is_empty());
    // In order but 5 min 1 s apart: quiet.
    let (v, _) = with_suzaku(&[sts_identity(0), list_buckets(301)]);
    assert!(of(&v, S3_ENUM).is_empty());
    assert_eq!(stats(&v, S3_ENUM)["base_matches"], 2);
    // From another access key: a different group, quiet.
    let mut other = list_buckets(60);
    other["userIdentity"]["accessKeyId"] = json!("AKIAEXAMPLEKEY000002");
    let (v, _) = with_suzaku(&[sts_identity(0), other]);
    assert!(of(&v, S3_ENUM).is_empty());
}

#[test]
fn iam_persistence_chain_needs_both_successful_steps_in_order() {
    let (v, err) = with_suzaku(&[iam(0, "CreateUser"), iam(540, "CreateAccessKey")]);
    let f = of(&v, IAM_CHAIN);
    assert_eq!(f.len(), 1, "{err}");
    assert_eq!(f[0]["severity"], "critical");
    assert_eq!(f[0]["evidence"]["window_end"], "2026-01-01T10:09:00Z");
    // The access key creation failed: quiet.
    let mut failed = iam(60, "CreateAccessKey");
    failed["errorCode"] = json!("AccessDenied");
    let (v, _) = with_suzaku(&[iam(0, "CreateUser"), failed]);
    assert!(of(&v, IAM_CHAIN).is_empty());
    // 10 min 1 s apart: quiet.
    let (v, _) = with_suzaku(&[iam(0, "CreateUser"), iam(601, "CreateAccessKey")]);
    assert!(of(&v, IAM_CHAIN).is_empty());
    // Reversed: quiet.
    let (v, _) = with_suzaku(&[iam(0, "CreateAccessKey"), iam(60, "CreateUser")]);
    assert!(of(&v, IAM_CHAIN).is_empty());
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const BASE: &str = "title: Failed Console Login\nid: 11111111-0000-4000-8000-000000000001\n\
    name: failed_login\nlogsource:\n    product: aws\n    service: cloudtrail\n\
    detection:\n    selection:\n        eventName: ConsoleLogin\n        \
    responseElements.ConsoleLogin: Failure\n    condition: selection\nlevel: low\n";

fn corr(id: &str, body: &str) -> String {
    format!("title: Corr {id}\nid: {id}\nlevel: high\ncorrelation:\n{body}")
}

#[test]
fn ignore_list_and_non_rule_yaml_are_counted_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write(&rules, "base.yml", BASE);
    write(
        &rules,
        "corr.yml",
        &corr(
            "22222222-0000-4000-8000-000000000001",
            "    type: event_count\n    rules: [failed_login]\n    group-by: [sourceIPAddress]\n    timespan: 5m\n    condition: {gte: 2}\n",
        ),
    );
    write(
        &rules,
        "noisy/a.yml",
        &BASE.replace(
            "11111111-0000-4000-8000-000000000001",
            "33333333-0000-4000-8000-000000000001",
        ),
    );
    write(
        &rules,
        "other.yml",
        &BASE.replace(
            "11111111-0000-4000-8000-000000000001",
            "44444444-0000-4000-8000-000000000001",
        ),
    );
    write(
        &rules,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  t:\n    runs-on: x\n",
    );
    write(&rules, "tools/config.yaml", "retries: 3\nnames: [a, b]\n");
    // Suzaku's list format, read through ignore_files.
    write(
        dir.path(),
        "ignore.txt",
        "# comment\n\n44444444-0000-4000-8000-000000000001 # superseded by base.yml\n55555555-0000-4000-8000-000000000009 # matches nothing\n",
    );
    write(
        dir.path(),
        "mlguard.toml",
        "[sigma]\nignore = [\"noisy/*.yml\"]\nignore_files = [\"ignore.txt\"]\n",
    );
    let (_, v, err) = scan(
        &[failed_login(0, IP), failed_login(30, IP)],
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--config",
            dir.path().join("mlguard.toml").to_str().unwrap(),
        ],
    );
    let s = &v["sigma"];
    assert_eq!(s["loaded"], 2, "{err}\n{s}");
    assert_eq!(s["skipped"].as_array().unwrap().len(), 0, "{s}");
    let ignored = s["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 2, "{s}");
    let reason = |name: &str| -> String {
        ignored
            .iter()
            .find(|i| i["file"].as_str().unwrap().ends_with(name))
            .map(|i| i["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{name}: {s}"))
    };
    assert!(reason("other.yml").contains("superseded by base.yml"));
    assert!(reason("noisy/a.yml").contains("noisy/*.yml"));
    let not_rules = s["not_rules"].as_array().unwrap();
    assert_eq!(not_rules.len(), 2, "{s}");
    assert!(not_rules
        .iter()
        .any(|n| n["file"].as_str().unwrap().ends_with("ci.yml")
            && n["reason"].as_str().unwrap().contains(".github")));
    assert!(not_rules
        .iter()
        .any(|n| n["file"].as_str().unwrap().ends_with("config.yaml")));
    assert_eq!(
        s["unused_ignores"],
        json!(["55555555-0000-4000-8000-000000000009"])
    );
    assert!(err.contains("2 ignored, 2 not rules"), "{err}");
    assert!(err.contains("'55555555-0000-4000-8000-000000000009' matched no rule"));
    // The correlation ran; its base rule (generate: false) is no finding of its own; the
    // ignored rules produced nothing.
    assert_eq!(of(&v, "22222222-0000-4000-8000-000000000001").len(), 1);
    assert!(of(&v, "11111111-0000-4000-8000-000000000001").is_empty());
    assert!(of(&v, "33333333-0000-4000-8000-000000000001").is_empty());
    assert!(of(&v, "44444444-0000-4000-8000-000000000001").is_empty());
    // Non-rule YAML does not make the verdict incomplete.
    assert!(
        v["skipped"].as_array().is_none_or(|a| a.is_empty()),
        "{}",
        v["skipped"]
    );
}

#[test]
fn suzaku_ignore_list_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let list = suzaku().join("config/aws_ignore_rule_list.txt");
    write(
        dir.path(),
        "mlguard.toml",
        &format!("[sigma]\nignore_files = [{:?}]\n", list.to_str().unwrap()),
    );
    let (_, v, err) = scan(
        &[iam(0, "GetUser")],
        &[
            "--rules",
            suzaku().to_str().unwrap(),
            "--config",
            dir.path().join("mlguard.toml").to_str().unwrap(),
        ],
    );
    let s = &v["sigma"];
    // The list names 16 rule ids, each present once.
    assert_eq!(s["ignored"].as_array().unwrap().len(), 16, "{err}\n{s}");
    assert_eq!(s["loaded"], 969 - 16);
    assert_eq!(s["unused_ignores"], json!([]));
    assert!(s["ignored"].as_array().unwrap().iter().any(|i| i["id"]
        == "0e854216-b78f-4e05-9d62-1314cf16bb40"
        && i["reason"]
            .as_str()
            .unwrap()
            .contains("superseded by TrailDiscover")));
}

#[test]
fn correlation_edge_cases_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write(&rules, "base.yml", BASE);
    // temporal over two rules with an alias: the login failure's source IP and the
    // GetUser call's source IP are one field.
    write(
        &rules,
        "getuser.yml",
        "title: GetUser\nid: 11111111-0000-4000-8000-000000000002\nname: get_user\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    selection:\n        eventName: GetUser\n    condition: selection\n",
    );
    write(
        &rules,
        "temporal.yml",
        &corr(
            "22222222-0000-4000-8000-000000000002",
            "    type: temporal\n    rules: [get_user, failed_login]\n    group-by: [ip]\n    timespan: 1m\n    generate: true\n    aliases:\n        ip:\n            get_user: sourceIPAddress\n            failed_login: sourceIPAddress\n",
        ),
    );
    // A range condition: between 2 and 3 failures (gt 1, lte 3).
    write(
        &rules,
        "range.yml",
        &corr(
            "22222222-0000-4000-8000-000000000003",
            "    type: event_count\n    rules: [11111111-0000-4000-8000-000000000001]\n    group-by: [sourceIPAddress]\n    timespan: 10m\n    condition: {gt: 1, lte: 3}\n",
        ),
    );
    // Broken correlations: each skipped with its reason.
    write(
        &rules,
        "bad_ref.yml",
        &corr(
            "22222222-0000-4000-8000-000000000004",
            "    type: event_count\n    rules: [no_such_rule]\n    group-by: [x]\n    timespan: 5m\n    condition: {gte: 2}\n",
        ),
    );
    write(
        &rules,
        "bad_span.yml",
        &corr(
            "22222222-0000-4000-8000-000000000005",
            "    type: event_count\n    rules: [failed_login]\n    timespan: 5 minutes\n    condition: {gte: 2}\n",
        ),
    );
    write(
        &rules,
        "bad_vc.yml",
        &corr(
            "22222222-0000-4000-8000-000000000006",
            "    type: value_count\n    rules: [failed_login]\n    timespan: 5m\n    condition: {gte: 2}\n",
        ),
    );
    write(
        &rules,
        "chained.yml",
        &corr(
            "22222222-0000-4000-8000-000000000007",
            "    type: temporal_ordered\n    rules: [22222222-0000-4000-8000-000000000003, get_user]\n    timespan: 5m\n    generate: true\n",
        ),
    );
    let recs = vec![
        failed_login(0, IP),
        iam(20, "GetUser"),
        failed_login(30, IP),
        failed_login(40, IP),
        failed_login(50, IP),
    ];
    let (code, v, err) = scan(&recs, &["--rules", rules.to_str().unwrap()]);
    let s = &v["sigma"];
    assert_eq!(s["correlation_rules"], 3, "{err}\n{s}");
    let skipped = s["skipped"].as_array().unwrap();
    let reason = |name: &str| -> String {
        skipped
            .iter()
            .find(|i| i["file"].as_str().unwrap().ends_with(name))
            .map(|i| i["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{name}: {s}"))
    };
    assert!(reason("bad_ref.yml").contains("'no_such_rule' is not loaded"));
    assert!(reason("bad_span.yml").contains("timespan '5 minutes'"));
    assert!(reason("bad_vc.yml").contains("needs 'field'"));
    assert_eq!(skipped.len(), 3);
    // Skipped rules make the verdict incomplete unless findings fail the gate (high does).
    assert_eq!(code, 1, "{err}");
    let t = of(&v, "22222222-0000-4000-8000-000000000002");
    assert_eq!(t.len(), 1, "one temporal match, then reset: {t:?}");
    assert_eq!(t[0]["evidence"]["group"], json!({"ip": IP}));
    assert_eq!(t[0]["evidence"]["window_start"], "2026-01-01T10:00:00Z");
    assert_eq!(t[0]["evidence"]["window_end"], "2026-01-01T10:00:20Z");
    // generate: true keeps the base rules' own findings (4 failures + 1 GetUser).
    assert_eq!(of(&v, "11111111-0000-4000-8000-000000000001").len(), 4);
    assert_eq!(of(&v, "11111111-0000-4000-8000-000000000002").len(), 1);
    // Range: true at the 2nd and 3rd failure, false at the 4th: one finding of 2 events.
    let r = of(&v, "22222222-0000-4000-8000-000000000003");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["evidence"]["count"], 3);
    assert_eq!(r[0]["evidence"]["condition"], "gt 1 and lte 3");
    assert_eq!(r[0]["evidence"]["window_end"], "2026-01-01T10:00:40Z");
    // The chain: the range correlation fired at 10:00:30, after the only GetUser (10:00:20).
    assert!(of(&v, "22222222-0000-4000-8000-000000000007").is_empty());
    assert_eq!(
        stats(&v, "22222222-0000-4000-8000-000000000007")["base_matches"],
        2
    );
}

/// The spec's own example: many failed logins followed by a successful login by the same
/// user (a temporal_ordered correlation over an event_count correlation and a rule).
#[test]
fn chained_correlation_failed_logins_then_success() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write(
        &rules,
        "chain.yml",
        &format!(
            "{}---\n{}---\n{BASE}---\n{}",
            corr(
                "22222222-0000-4000-8000-0000000000a1",
                "    type: temporal_ordered\n    rules: [many_failed, successful_login]\n    group-by: [userIdentity.arn]\n    timespan: 10m\n",
            ),
            "title: Many failed\nid: 22222222-0000-4000-8000-0000000000a2\nname: many_failed\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n    group-by: [userIdentity.arn]\n    timespan: 10m\n    condition: {gte: 3}\n",
            "title: Successful login\nid: 11111111-0000-4000-8000-0000000000a3\nname: successful_login\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    selection:\n        eventName: ConsoleLogin\n        responseElements.ConsoleLogin: Success\n    condition: selection\n",
        ),
    );
    let success = |secs: i64| {
        let mut r = failed_login(secs, "198.51.100.77");
        r["responseElements"]["ConsoleLogin"] = json!("Success");
        r
    };
    let arg = ["--rules", rules.to_str().unwrap()];
    let (_, v, err) = scan(
        &[
            failed_login(0, IP),
            failed_login(10, "198.51.100.9"),
            failed_login(20, IP),
            success(60),
        ],
        &arg,
    );
    assert_eq!(v["sigma"]["correlation_rules"], 2, "{err}\n{}", v["sigma"]);
    let f = of(&v, "22222222-0000-4000-8000-0000000000a1");
    assert_eq!(f.len(), 1, "{err}");
    let e = &f[0]["evidence"];
    assert_eq!(
        e["group"],
        json!({"userIdentity.arn": "arn:aws:iam::111122223333:user/mallory"})
    );
    assert_eq!(
        e["window_start"], "2026-01-01T10:00:20Z",
        "when the inner one fired"
    );
    assert_eq!(e["window_end"], "2026-01-01T10:01:00Z");
    assert_eq!(e["base_rules"][0]["title"], "Many failed");
    // Only the outermost correlation reports (generate: false); nor do the base rules.
    assert!(of(&v, "22222222-0000-4000-8000-0000000000a2").is_empty());
    assert!(of(&v, "11111111-0000-4000-8000-000000000001").is_empty());
    assert_eq!(
        stats(&v, "22222222-0000-4000-8000-0000000000a2")["findings"],
        1
    );
    // Two failures, then the success: quiet.
    let (_, v, _) = scan(
        &[failed_login(0, IP), failed_login(20, IP), success(60)],
        &arg,
    );
    assert!(of(&v, "22222222-0000-4000-8000-0000000000a1").is_empty());
    // The success before the failures: quiet.
    let (_, v, _) = scan(
        &[
            success(0),
            failed_login(10, IP),
            failed_login(20, IP),
            failed_login(30, IP),
        ],
        &arg,
    );
    assert!(of(&v, "22222222-0000-4000-8000-0000000000a1").is_empty());
}

#[test]
fn group_cap_is_counted_and_makes_the_verdict_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write(&rules, "base.yml", BASE);
    write(
        &rules,
        "corr.yml",
        &corr(
            "22222222-0000-4000-8000-000000000001",
            "    type: event_count\n    rules: [failed_login]\n    group-by: [sourceIPAddress]\n    timespan: 5m\n    condition: {gte: 3}\n",
        ),
    );
    write(dir.path(), "mlguard.toml", "[sigma]\nmax_groups = 1\n");
    // Two addresses interleaved within 5 minutes: the second group cannot be kept.
    let mut recs = Vec::new();
    for i in 0..3 {
        recs.push(failed_login(i * 10, IP));
        recs.push(failed_login(i * 10 + 5, "198.51.100.9"));
    }
    // Much later, the first group has closed: the other address gets a group again.
    for i in 0..3 {
        recs.push(failed_login(3600 + i, "198.51.100.9"));
    }
    let (code, v, err) = scan(
        &recs,
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--config",
            dir.path().join("mlguard.toml").to_str().unwrap(),
            "--fail-on",
            "critical",
        ],
    );
    let st = stats(&v, "22222222-0000-4000-8000-000000000001");
    assert_eq!(st["dropped_groups"], 1, "{err}\n{st}");
    assert_eq!(st["dropped_matches"], 3);
    assert_eq!(st["peak_groups"], 1);
    assert_eq!(of(&v, "22222222-0000-4000-8000-000000000001").len(), 2);
    assert!(
        err.contains("3 base-rule match(es) of 1 group(s) not correlated"),
        "{err}"
    );
    assert_eq!(
        code, 2,
        "dropped matches make the verdict incomplete: {err}"
    );
    assert_eq!(v["verdict"], "incomplete", "{}", v["verdict"]);
}

/// A rule that matches every S3 read (as Suzaku's "AWS S3 GetObject" does) is one
/// aggregated finding past `[sigma] aggregate_above`, counting each event once even when
/// a second file repeats deliveries; under the bar every match stays its own finding.
#[test]
fn a_rule_matching_most_events_is_one_aggregated_finding() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write(
        &rules,
        "getobject.yml",
        "title: S3 GetObject\nid: 22222222-0000-4000-8000-000000000001\n\
         logsource:\n    product: aws\n    service: cloudtrail\n\
         detection:\n    selection:\n        eventName: GetObject\n    condition: selection\n\
         level: high\n",
    );
    let get = |i: i64, who: &str| {
        let mut r = ev(
            i * 7,
            "s3.amazonaws.com",
            "GetObject",
            IP,
            KEY,
            json!({
                "eventCategory": "Data",
                "requestParameters": {"bucketName": "b", "key": format!("k/{i}")},
            }),
        );
        r["userIdentity"]["arn"] = json!(format!("arn:aws:iam::111122223333:user/{who}"));
        r
    };
    // a.json: 180 reads (alice 0..120, bob 120..180); b.json repeats 150..180 and adds
    // 40 new ones (bob): 220 distinct events.
    let a: Vec<Value> = (0..180)
        .map(|i| get(i, if i < 120 { "alice" } else { "bob" }))
        .collect();
    let b: Vec<Value> = (150..220)
        .map(|i| get(i, if i < 120 { "alice" } else { "bob" }))
        .collect();
    let logs = dir.path().join("logs");
    write(&logs, "a.json", &json!({"Records": a}).to_string());
    write(&logs, "b.json", &json!({"Records": b}).to_string());
    let r = rules.to_str().unwrap();
    let (code, v, err) = scan_path(&logs, &["--rules", r]);
    assert_eq!(code, 1, "{err}");
    let f = of(&v, "22222222-0000-4000-8000-000000000001");
    assert_eq!(f.len(), 1, "{err}\n{f:?}");
    let e = &f[0]["evidence"];
    assert_eq!(e["aggregated"], true);
    assert_eq!(e["event_count"], 220);
    assert_eq!(e["principals"]["arn:aws:iam::111122223333:user/alice"], 120);
    assert_eq!(e["principals"]["arn:aws:iam::111122223333:user/bob"], 100);
    assert_eq!(e["principal_count"], 2);
    assert_eq!(e["time"], "2026-01-01T10:00:00Z");
    assert_eq!(e["last_seen"], "2026-01-01T10:25:33Z");
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["subject"], "2 principals");
    assert!(f[0]["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("a.json"));
    // The timeline counts the aggregate's events.
    let out = bin()
        .args([
            "scan",
            logs.to_str().unwrap(),
            "--rules",
            r,
            "--view",
            "timeline",
        ])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = t["timeline"]
        .as_array()
        .unwrap_or_else(|| panic!("{t}"))
        .iter()
        .find(|x| x["rule"] == "sigma.22222222-0000-4000-8000-000000000001")
        .unwrap_or_else(|| panic!("{t}"));
    assert_eq!(row["events"], 220, "{row}");
    // Raise the bar above the count: 220 findings, one per event.
    let cfg = dir.path().join("mlguard.toml");
    std::fs::write(&cfg, "[sigma]\naggregate_above = 500\n").unwrap();
    let (_, v, err) = scan_path(&logs, &["--rules", r, "--config", cfg.to_str().unwrap()]);
    let f = of(&v, "22222222-0000-4000-8000-000000000001");
    assert_eq!(f.len(), 220, "{err}");
    assert!(f.iter().all(|x| x["evidence"].get("aggregated").is_none()));
    // Zero is refused, naming the key.
    std::fs::write(&cfg, "[sigma]\naggregate_above = 0\n").unwrap();
    let out = bin()
        .args([
            "scan",
            logs.to_str().unwrap(),
            "--rules",
            r,
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("aggregate_above"));
}
