//! The everyday AWS detections, deduplication and error descriptions, end to end:
//! the real binary on the Stratus Red Team recordings in `testdata/scan/` and on small
//! synthetic CloudTrail records for negatives and thresholds.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use crate::util::{bin, testdata as td};

fn stratus(p: &str) -> PathBuf {
    td("scan/cloudtrail/stratus-red-team.cloud").join(p)
}

fn scan(paths: &[PathBuf], extra: &[&str]) -> (i32, Value) {
    let (code, v, _) = crate::util::scan_json(paths, extra);
    (code, v)
}

fn of<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

/// Every synthetic record is a distinct event (deduplication is tested on purpose only).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A CloudTrail record by `who` (an IAM user of account 111122223333 unless an ARN).
fn ct(who: &str, time: &str, source: &str, name: &str, rp: Value) -> Value {
    let arn = if who.starts_with("arn:") {
        who.to_string()
    } else {
        format!("arn:aws:iam::111122223333:user/{who}")
    };
    let user = arn.rsplit('/').next().unwrap().to_string();
    json!({
        "eventVersion": "1.09", "eventTime": time, "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0",
        "eventID": format!("ev-{}", NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
        "userIdentity": {"type": "IAMUser", "arn": arn, "accountId": "111122223333",
                         "userName": user},
        "requestParameters": rp, "recipientAccountId": "111122223333",
        "eventType": "AwsApiCall"
    })
}

fn failed(mut r: Value, code: &str, msg: &str) -> Value {
    r["errorCode"] = code.into();
    r["errorMessage"] = msg.into();
    r
}

fn write(dir: &Path, name: &str, records: &[Value]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        serde_json::to_vec(&json!({ "Records": records })).unwrap(),
    )
    .unwrap();
    p
}

/// Findings by the last path component of their subject (the user or session name).
fn by_who<'a>(found: &[&'a Value]) -> std::collections::BTreeMap<String, &'a Value> {
    let mut m = std::collections::BTreeMap::new();
    for f in found {
        let who = f["subject"].as_str().unwrap().rsplit('/').next().unwrap();
        assert!(
            m.insert(who.to_string(), *f).is_none(),
            "two findings for {who}"
        );
    }
    m
}

fn severities(found: &[&Value]) -> Vec<(String, String)> {
    by_who(found)
        .into_iter()
        .map(|(k, f)| (k, f["severity"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = v
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

const IAM: &str = "iam.amazonaws.com";
const SM: &str = "secretsmanager.amazonaws.com";
const LAMBDA: &str = "lambda.amazonaws.com";

#[test]
fn secrets_harvesting_on_stratus_recordings_one_finding_per_burst() {
    // 20 GetSecretValue of 20 different secrets after a ListSecrets, within seconds.
    let (code, v) = scan(
        &[stratus(
            "credential_access/RetrieveHighNumberOfSecretsManagerSecrets.json",
        )],
        &[],
    );
    assert_eq!(code, 1);
    let f = of(&v, "scan.secrets_harvesting");
    assert_eq!(f.len(), 1, "{:#}", v["findings"]);
    let f = f[0];
    assert_eq!(f["severity"], "high");
    assert_eq!(f["evidence"]["distinct_secrets"], 20);
    assert_eq!(f["evidence"]["event_count"], 21);
    assert_eq!(f["evidence"]["discovery_calls"], 1);
    assert!(f["title"].as_str().unwrap().contains("after listing them"));
    assert!(f["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("attack:T1555.006")));
    // The timeline lists every call of the burst behind the finding (ListSecrets and the
    // 20 GetSecretValue: several kinds of call, matched by the finding's actions).
    let (_, tl) = scan(
        &[stratus(
            "credential_access/RetrieveHighNumberOfSecretsManagerSecrets.json",
        )],
        &["--view", "timeline", "--events"],
    );
    let rows = tl["timeline"].as_array().unwrap();
    assert_eq!(rows.iter().filter(|r| r["kind"] == "finding").count(), 1);
    assert_eq!(rows.iter().filter(|r| r["kind"] == "event").count(), 21);
    // SSM GetParameters with decryption: 5 calls naming 42 distinct parameters.
    let (_, v) = scan(
        &[stratus(
            "credential_access/RetrieveAndDecryptSSMParameters.json",
        )],
        &[],
    );
    let f = of(&v, "scan.secrets_harvesting");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["evidence"]["distinct_secrets"], 42);
    // BatchGetSecretValue by tag filter: CloudTrail does not say how many matched: medium.
    let (code, v) = scan(
        &[stratus(
            "credential_access/RetrieveHighNumberOfSecretsManagerSecrets-Batch.json",
        )],
        &[],
    );
    assert_eq!(code, 0, "medium is below the default --fail-on high");
    let f = of(&v, "scan.secrets_harvesting");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "medium");
    assert!(f[0]["title"].as_str().unwrap().contains("bulk"));
}

#[test]
fn secrets_thresholds_repeats_decryption_and_denied_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let t = |s: u32| format!("2026-03-01T10:{:02}:{:02}Z", s / 60, s % 60);
    let get =
        |who: &str, s: u32, id: &str| ct(who, &t(s), SM, "GetSecretValue", json!({"secretId": id}));
    let mut recs = Vec::new();
    // 9 distinct secrets: under the threshold of 10.
    for i in 0..9 {
        recs.push(get("nine", i, &format!("s{i}")));
    }
    // An application re-reading its one secret 50 times.
    for i in 0..50 {
        recs.push(get("app", i, "db-password"));
    }
    // Exactly 10 distinct: harvesting.
    for i in 0..10 {
        recs.push(get("ten", i, &format!("s{i}")));
    }
    // 12 distinct attempts, all denied: medium, said as denied.
    for i in 0..12 {
        recs.push(failed(
            get("denied", i, &format!("s{i}")),
            "AccessDenied",
            "User is not authorized to perform: secretsmanager:GetSecretValue",
        ));
    }
    // Two bursts of 6 distinct secrets 30 minutes apart: two bursts under the threshold.
    for i in 0..6 {
        recs.push(get("slow", i, &format!("a{i}")));
        recs.push(get("slow", 1800 + i, &format!("b{i}")));
    }
    // SSM without decryption is configuration, not secrets.
    for i in 0..15 {
        recs.push(ct(
            "config",
            &t(i),
            "ssm.amazonaws.com",
            "GetParameter",
            json!({"name": format!("/app/p{i}"), "withDecryption": false}),
        ));
    }
    // One application path read with decryption is not bulk.
    recs.push(ct(
        "loader",
        &t(1),
        "ssm.amazonaws.com",
        "GetParametersByPath",
        json!({"path": "/app/prod", "recursive": true, "withDecryption": true}),
    ));
    let f = write(dir.path(), "secrets.json", &recs);
    let (_, v) = scan(&[f], &[]);
    let found = of(&v, "scan.secrets_harvesting");
    assert_eq!(
        severities(&found),
        pairs(&[("ten", "high"), ("denied", "medium")]),
        "{found:#?}"
    );
    let d = by_who(&found)["denied"];
    assert_eq!(d["evidence"]["failed_secrets"], 12);
    assert_eq!(d["evidence"]["errors"][0]["outcome"], "denied");
    assert!(
        d["title"].as_str().unwrap().contains("12 denied"),
        "{}",
        d["title"]
    );
    // The threshold is a setting.
    let cfg = dir.path().join("mlguard.toml");
    std::fs::write(&cfg, "[scan]\nsecrets_per_burst = 6\n").unwrap();
    let (_, v) = scan(
        &[dir.path().join("secrets.json")],
        &["--config", cfg.to_str().unwrap()],
    );
    let slow = of(&v, "scan.secrets_harvesting")
        .into_iter()
        .filter(|f| f["subject"].as_str().unwrap().ends_with("/slow"))
        .count();
    assert_eq!(slow, 2, "two bursts of 6, one finding each");
}

#[test]
fn iam_persistence_backdoor_user_is_one_finding_and_steps_are_judged() {
    let dir = tempfile::tempdir().unwrap();
    let t = |m: u32| format!("2026-03-01T10:{m:02}:00Z");
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    let recs = vec![
        // The intruder (mallory): a user, its key and password, admin rights — one backdoor.
        ct(
            "mallory",
            &t(0),
            IAM,
            "CreateUser",
            json!({"userName": "svc-backup"}),
        ),
        ct(
            "mallory",
            &t(1),
            IAM,
            "CreateAccessKey",
            json!({"userName": "svc-backup"}),
        ),
        ct(
            "mallory",
            &t(2),
            IAM,
            "CreateLoginProfile",
            json!({"userName": "svc-backup", "passwordResetRequired": false}),
        ),
        ct(
            "mallory",
            &t(3),
            IAM,
            "AttachUserPolicy",
            json!({"userName": "svc-backup", "policyArn": admin}),
        ),
        // Rotating one's own key: low.
        ct("alice", &t(5), IAM, "CreateAccessKey", json!({})),
        // A read-only policy attached: nothing.
        ct(
            "bob",
            &t(6),
            IAM,
            "AttachRolePolicy",
            json!({"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        ),
        // An inline *:* policy, denied: medium, said as denied.
        failed(
            ct(
                "eve",
                &t(7),
                IAM,
                "PutRolePolicy",
                json!({"roleName": "ops", "policyName": "p",
                "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
            ),
            "AccessDenied",
            "not authorized",
        ),
        // Trust policies: another account (high), own account only (low).
        ct(
            "trudy",
            &t(8),
            IAM,
            "UpdateAssumeRolePolicy",
            json!({"roleName": "deploy",
            "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::999988887777:root\"},\"Action\":\"sts:AssumeRole\"}]}"}),
        ),
        ct(
            "carol",
            &t(9),
            IAM,
            "UpdateAssumeRolePolicy",
            json!({"roleName": "ci",
            "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:role/x\",\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"}),
        ),
    ];
    let f = write(dir.path(), "iam.json", &recs);
    let (code, v) = scan(&[f], &[]);
    assert_eq!(code, 1);
    let found = of(&v, "scan.iam_persistence");
    assert_eq!(
        severities(&found),
        pairs(&[
            ("mallory", "high"),
            ("alice", "low"),
            ("eve", "medium"),
            ("trudy", "high"),
            ("carol", "low"),
        ]),
        "{found:#?}"
    );
    let w = by_who(&found);
    let m = w["mallory"];
    assert_eq!(m["evidence"]["event_count"], 4);
    assert_eq!(m["evidence"]["steps"].as_array().unwrap().len(), 4);
    assert_eq!(m["evidence"]["backdoor_user"], true);
    assert!(m["title"].as_str().unwrap().contains("backdoor user"));
    assert!(m["title"].as_str().unwrap().contains("(+1 more)"));
    assert!(w["eve"]["title"].as_str().unwrap().contains("denied"));
    assert_eq!(w["eve"]["evidence"]["steps"][0]["outcome"], "denied");
    assert_eq!(
        w["trudy"]["evidence"]["steps"][0]["trusted"],
        json!(["arn:aws:iam::999988887777:root"])
    );
    // The trusted account is a setting.
    let cfg = dir.path().join("mlguard.toml");
    std::fs::write(&cfg, "[scan]\ntrusted_accounts = [\"999988887777\"]\n").unwrap();
    let (_, v) = scan(
        &[dir.path().join("iam.json")],
        &["--config", cfg.to_str().unwrap()],
    );
    let trudy = of(&v, "scan.iam_persistence")
        .into_iter()
        .find(|f| f["subject"].as_str().unwrap().ends_with("/trudy"))
        .unwrap();
    assert_eq!(trudy["severity"], "low");
}

#[test]
fn lambda_permissions_urls_and_code_changes() {
    let dir = tempfile::tempdir().unwrap();
    let t = |m: u32| format!("2026-03-01T11:{m:02}:00Z");
    let recs = vec![
        // The Stratus backdoor: anyone may invoke, through a public URL.
        ct(
            "mallory",
            &t(0),
            LAMBDA,
            "AddPermission20150331v2",
            json!({"functionName": "payments",
            "statementId": "s", "action": "lambda:InvokeFunctionUrl", "principal": "*",
            "functionUrlAuthType": "NONE"}),
        ),
        ct(
            "mallory",
            &t(1),
            LAMBDA,
            "UpdateFunctionCode20150331v2",
            json!({"functionName": "payments"}),
        ),
        // Routine S3 trigger wiring: nothing.
        ct(
            "ci",
            &t(2),
            LAMBDA,
            "AddPermission20150331v2",
            json!({"functionName": "thumbs",
            "principal": "s3.amazonaws.com", "sourceAccount": "111122223333",
            "sourceArn": "arn:aws:s3:::uploads", "action": "lambda:InvokeFunction"}),
        ),
        // A deployment: low.
        ct(
            "ci",
            &t(3),
            LAMBDA,
            "UpdateFunctionCode20150331v2",
            json!({"functionName": "thumbs"}),
        ),
        // Another account, denied: medium.
        failed(
            ct(
                "eve",
                &t(4),
                LAMBDA,
                "AddPermission20150331v2",
                json!({"functionName": "x",
            "principal": "999988887777", "action": "lambda:InvokeFunction"}),
            ),
            "AccessDeniedException",
            "not authorized",
        ),
        // A layer from another account: medium.
        ct(
            "dave",
            &t(5),
            LAMBDA,
            "UpdateFunctionConfiguration20150331v2",
            json!({"functionName": "y",
            "layers": ["arn:aws:lambda:us-east-1:999988887777:layer:ext:1"]}),
        ),
    ];
    let f = write(dir.path(), "lambda.json", &recs);
    let (_, v) = scan(&[f], &[]);
    let found = of(&v, "scan.lambda_backdoor");
    assert_eq!(
        severities(&found),
        pairs(&[
            ("mallory", "high"),
            ("ci", "low"),
            ("eve", "medium"),
            ("dave", "medium")
        ]),
        "{found:#?}"
    );
    let w = by_who(&found);
    assert_eq!(w["mallory"]["evidence"]["grantees"], json!(["*"]));
    assert_eq!(w["mallory"]["evidence"]["event_count"], 2);
    assert!(w["mallory"]["title"]
        .as_str()
        .unwrap()
        .contains("public URL"));
    assert_eq!(
        w["ci"]["evidence"]["event_count"], 1,
        "the trigger wiring is not counted"
    );
    assert!(w["eve"]["title"].as_str().unwrap().contains("denied"));
}

#[test]
fn shares_revoked_within_minutes_are_lower_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    // The Stratus EBS share, revoked 5 minutes later by the same account.
    let recs: Vec<Value> = serde_json::from_slice(
        &std::fs::read(stratus(
            "exfiltration/ExfiltrateEBSSnapshotBySharingIt.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let mut revoke = recs[0].clone();
    revoke["eventID"] = "revoke-1".into();
    revoke["eventTime"] = "2024-08-01T12:33:02Z".into();
    revoke["requestParameters"]["createVolumePermission"] =
        json!({"remove": {"items": [{"userId": "098797384747"}]}});
    let soon = write(dir.path(), "soon.json", &[recs[0].clone(), revoke.clone()]);
    let (code, v) = scan(&[soon], &[]);
    assert_eq!(code, 0, "high lowered to medium: under --fail-on high");
    let f = of(&v, "scan.public_or_external_access");
    assert_eq!(f.len(), 1, "{:#}", v["findings"]);
    assert_eq!(f[0]["severity"], "medium");
    assert!(
        f[0]["title"]
            .as_str()
            .unwrap()
            .contains("revoked 5 min later"),
        "{}",
        f[0]["title"]
    );
    assert_eq!(f[0]["evidence"]["revoked"], true);
    assert_eq!(f[0]["evidence"]["shares"][0]["revoked_after_minutes"], 5);
    // Revoked two hours later: outside the 60-minute window, still high.
    revoke["eventTime"] = "2024-08-01T14:28:02Z".into();
    let late = write(dir.path(), "late.json", &[recs[0].clone(), revoke]);
    let (code, v) = scan(&[late], &[]);
    assert_eq!(code, 1);
    let f = of(&v, "scan.public_or_external_access");
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["evidence"]["revoked"], false);
    assert!(f[0]["title"]
        .as_str()
        .unwrap()
        .contains("after the 60-min window"));
    // Made public (group all): critical.
    let mut public = recs[0].clone();
    public["requestParameters"]["createVolumePermission"] =
        json!({"add": {"items": [{"group": "all"}]}});
    let p = write(dir.path(), "public.json", &[public]);
    let (_, v) = scan(&[p], &[]);
    let f = of(&v, "scan.public_or_external_access");
    assert_eq!(f[0]["severity"], "critical");
    assert_eq!(f[0]["evidence"]["grantees"], json!(["all"]));
}

#[test]
fn log_deletion_and_failed_calls_are_described_by_their_error() {
    let dir = tempfile::tempdir().unwrap();
    let logs = "logs.amazonaws.com";
    let t = |m: u32| format!("2026-03-02T09:{m:02}:00Z");
    let recs = vec![
        ct(
            "mallory",
            &t(0),
            logs,
            "DeleteLogGroup",
            json!({"logGroupName": "aws-cloudtrail-logs-1111"}),
        ),
        ct(
            "mallory",
            &t(1),
            logs,
            "DeleteLogGroup",
            json!({"logGroupName": "vpc-flowlogs"}),
        ),
        ct(
            "ci",
            &t(2),
            logs,
            "DeleteLogGroup",
            json!({"logGroupName": "/aws/lambda/old-fn"}),
        ),
        failed(
            ct(
                "eve",
                &t(3),
                logs,
                "DeleteLogGroup",
                json!({"logGroupName": "/aws/eks/prod/cluster"}),
            ),
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ),
        // A DeleteTrail on a trail that did not exist: not "denied".
        failed(
            ct(
                "eve",
                &t(4),
                "cloudtrail.amazonaws.com",
                "DeleteTrail",
                json!({"name": "main"}),
            ),
            "TrailNotFoundException",
            "Unknown trail: main for the user: 111122223333",
        ),
    ];
    let f = write(dir.path(), "logs.json", &recs);
    let (_, v) = scan(&[f], &[]);
    let found = of(&v, "scan.log_deletion");
    assert_eq!(
        severities(&found),
        pairs(&[("mallory", "high"), ("ci", "medium"), ("eve", "medium")]),
        "{found:#?}"
    );
    let w = by_who(&found);
    assert_eq!(w["mallory"]["evidence"]["event_count"], 2);
    assert!(w["eve"]["title"]
        .as_str()
        .unwrap()
        .contains("the resource named in the call did not exist"));
    let trail = of(&v, "scan.logging_disabled");
    assert_eq!(trail.len(), 1);
    let title = trail[0]["title"].as_str().unwrap();
    assert!(title.contains("failed: the trail did not exist"), "{title}");
    assert!(!title.contains("denied"), "{title}");
    assert_eq!(trail[0]["evidence"]["outcome"], "not_found");
    assert_eq!(trail[0]["severity"], "medium");
    // A denied one says denied (the traildiscover samples).
    let (_, v) = scan(
        &[td(
            "scan/cloudtrail/traildiscover.cloud/aws/cloudtrail/StopLogging.json",
        )],
        &[],
    );
    let f = &of(&v, "scan.logging_disabled")[0];
    assert!(f["title"].as_str().unwrap().contains("denied"));
    assert_eq!(f["evidence"]["outcome"], "denied");
    assert_eq!(
        f["evidence"]["error_meaning"],
        "the caller lacked the permission"
    );
}

#[test]
fn console_login_without_mfa_and_root_use() {
    let (code, v) = scan(
        &[stratus("initial_access/ConsoleLoginWithoutMFA.json")],
        &[],
    );
    assert_eq!(code, 0);
    let f = of(&v, "scan.console_login_without_mfa");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "medium");
    let dir = tempfile::tempdir().unwrap();
    let signin = "signin.amazonaws.com";
    let login = |who: &str, time: &str, ty: &str, mfa: &str, ok: bool| {
        let mut r = ct(who, time, signin, "ConsoleLogin", Value::Null);
        r["userIdentity"]["type"] = ty.into();
        r["additionalEventData"] = json!({"MFAUsed": mfa});
        r["responseElements"] = json!({"ConsoleLogin": if ok { "Success" } else { "Failure" }});
        if !ok {
            r["errorMessage"] = "Failed authentication".into();
        }
        r
    };
    let root_arn = "arn:aws:iam::111122223333:root";
    let mut root_call = ct(
        root_arn,
        "2026-03-03T08:05:00Z",
        IAM,
        "ListUsers",
        json!({}),
    );
    root_call["userIdentity"]["type"] = "Root".into();
    let mut service_as_root = root_call.clone();
    service_as_root["eventID"] = "svc".into();
    service_as_root["userIdentity"]["invokedBy"] = "support.amazonaws.com".into();
    service_as_root["userIdentity"]["arn"] = Value::Null;
    let recs = vec![
        login("alice", "2026-03-03T08:00:00Z", "IAMUser", "No", true),
        login("alice", "2026-03-03T08:10:00Z", "IAMUser", "No", true),
        // SSO: MFA at the identity provider.
        login(
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin/bob",
            "2026-03-03T08:00:00Z",
            "AssumedRole",
            "No",
            true,
        ),
        login("carol", "2026-03-03T08:00:00Z", "IAMUser", "Yes", true),
        login("guess", "2026-03-03T08:00:00Z", "IAMUser", "No", false),
        login(root_arn, "2026-03-03T08:04:00Z", "Root", "No", true),
        root_call,
        service_as_root,
    ];
    let f = write(dir.path(), "signin.json", &recs);
    let (_, v) = scan(&[f], &[]);
    let mfa = of(&v, "scan.console_login_without_mfa");
    assert_eq!(
        severities(&mfa),
        pairs(&[("alice", "medium"), ("guess", "low")]),
        "{mfa:#?}"
    );
    let w = by_who(&mfa);
    assert_eq!(
        w["alice"]["evidence"]["event_count"], 2,
        "one finding per burst"
    );
    assert_eq!(
        w["guess"]["evidence"]["errors"][0]["outcome"],
        "unauthenticated"
    );
    let root = of(&v, "scan.root_credential_use");
    assert_eq!(root.len(), 1, "{root:#?}");
    assert_eq!(root[0]["severity"], "critical");
    assert_eq!(
        root[0]["evidence"]["event_count"], 2,
        "invokedBy is not root use"
    );
}

#[test]
fn duplicated_deliveries_are_counted_once_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let src = stratus("credential_access/RetrieveHighNumberOfSecretsManagerSecrets.json");
    let recs: Vec<Value> = serde_json::from_slice(&std::fs::read(&src).unwrap()).unwrap();
    assert_eq!(recs.len(), 21);
    // The same 21 events twice in one file, and a third time in a second file.
    let mut twice = recs.clone();
    twice.extend(recs.iter().cloned());
    let a = write(dir.path(), "a.json", &twice);
    let b = write(dir.path(), "b.json", &recs);
    // The same eventID in another account is another event.
    let mut other = recs[0].clone();
    other["recipientAccountId"] = "999988887777".into();
    let c = write(dir.path(), "c.json", &[other]);
    let (code, v) = scan(&[dir.path().to_path_buf()], &[]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["duplicates_dropped"], 42);
    assert_eq!(v["summary"]["events"]["cloudtrail"], 22);
    let f = of(&v, "scan.secrets_harvesting");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["evidence"]["event_count"], 21);
    // The copy kept is the first in file order.
    assert!(f[0]["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("a.json"));
    let cov = v["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["detection"] == "(deduplication)")
        .unwrap();
    assert!(cov["reason"].as_str().unwrap().starts_with("42 "));
    // The table says so too; one copy alone drops nothing.
    let o = bin().arg("scan").arg(dir.path()).output().unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("deduplicated: 42 repeated deliveries"),
        "{table}"
    );
    let (_, v) = scan(&[b], &[]);
    assert_eq!(v["summary"]["duplicates_dropped"], 0);
    let _ = (a, c);
}

#[test]
fn benign_samples_raise_none_of_the_new_detections() {
    // Recordings of other techniques, the traildiscover events, GCP, MLflow and k8s
    // samples: none of them is one of these techniques.
    let new = [
        "scan.secrets_harvesting",
        "scan.iam_persistence",
        "scan.lambda_backdoor",
        "scan.log_deletion",
        "scan.root_credential_use",
    ];
    for p in [
        stratus("discovery"),
        stratus("execution"),
        stratus("defense_evasion"),
        stratus("impact"),
        stratus("credential_access/RetrieveEC2PasswordData.json"),
        stratus("credential_access/StealEC2InstanceCredentials.json"),
        td("scan/cloudtrail/traildiscover.cloud"),
        td("scan/gcp"),
        td("scan/k8s"),
    ] {
        let (_, v) = scan(std::slice::from_ref(&p), &["--allow-partial"]);
        for id in new {
            assert!(
                of(&v, id).is_empty(),
                "{}: {id}: {:#}",
                p.display(),
                v["findings"]
            );
        }
        // `impact/S3RansomwareThroughBatchFileDeletion.json` is byte-identical to
        // `impact/InvokeBedrockModel.json` in the source: its 15 records are repeats.
        let dups = if p.ends_with("impact") { 15 } else { 0 };
        assert_eq!(v["summary"]["duplicates_dropped"], dups, "{}", p.display());
    }
}
