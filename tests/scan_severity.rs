//! The scan severity model (docs/scan.md, "Severity model"), one test per factor: each
//! builds its CloudTrail scenario here and runs the real binary on it.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use crate::util as common;
use common::bin;

const ACCT: &str = "111122223333";
const SYNC_UA: &str = "aws-cli/2.15.0 md/awscrt#0.19.19 ua/2.0 os/linux#6.5 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#s3.sync";
const BOTO: &str = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux";

/// Who makes the calls: identity type and ARN.
#[derive(Clone, Copy)]
struct Who {
    itype: &'static str,
    arn: &'static str,
}

const MALLORY: Who = Who {
    itype: "IAMUser",
    arn: "arn:aws:iam::111122223333:user/mallory",
};
const PIPELINE: Who = Who {
    itype: "AssumedRole",
    arn: "arn:aws:sts::111122223333:assumed-role/etl-pipeline/i-0abc",
};

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One CloudTrail record, `secs` seconds after 2026-11-03T01:00:00Z.
fn rec(who: Who, secs: u64, name: &str, source: &str, params: Value, ip: &str, ua: &str) -> Value {
    let t = 1_793_667_600 + secs; // 2026-11-03T01:00:00Z
    let time = chrono::DateTime::from_timestamp(t as i64, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": who.itype, "arn": who.arn, "accountId": ACCT, "principalId": "AIDAEXAMPLE"},
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": params,
        // Unique per record: repeated eventIDs are dropped as repeated deliveries.
        "eventID": format!("{:08x}-{secs}-{name}-{}", t, NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
        "recipientAccountId": ACCT,
    })
}

/// `n` object reads of `bucket/prefixNNNNN` spread over `span` seconds.
fn reads(
    who: Who,
    n: u64,
    bucket: &str,
    prefix: &str,
    ua: &str,
    ip: &str,
    span: u64,
) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut r = rec(
                who,
                i * span / n.max(1),
                "GetObject",
                "s3.amazonaws.com",
                json!({"bucketName": bucket, "key": format!("{prefix}{i:05}"), "Host": format!("{bucket}.s3.amazonaws.com")}),
                ip,
                ua,
            );
            r["additionalEventData"] = json!({"bytesTransferredOut": 250_000});
            r["eventCategory"] = "Data".into();
            r
        })
        .collect()
}

/// The SSE-KMS `Decrypt` S3 makes for each object read (a management event: the caller's
/// identity, S3 as source and user agent, the object in the encryption context).
fn decrypts(who: Who, n: u64, bucket: &str, prefix: &str, span: u64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut r = rec(
                who,
                i * span / n.max(1),
                "Decrypt",
                "kms.amazonaws.com",
                json!({"encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::{bucket}/{prefix}{i:05}")}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
                "s3.amazonaws.com",
                "s3.amazonaws.com",
            );
            r["userIdentity"]["invokedBy"] = "s3.amazonaws.com".into();
            r["resources"] = json!([{"ARN": format!("arn:aws:kms:us-east-1:{ACCT}:key/1234abcd"), "type": "AWS::KMS::Key"}]);
            r
        })
        .collect()
}

fn write(dir: &Path, name: &str, recs: Vec<Value>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(&json!({ "Records": recs })).unwrap()).unwrap();
    p
}

/// Scan `recs` (plus an optional mlguard.toml) with the default gate; (exit code, JSON).
fn scan(recs: Vec<Value>, config: Option<&str>) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "trail.json", recs);
    let mut c = bin();
    c.arg("scan").arg(&f).args(["--format", "json"]);
    if let Some(cfg) = config {
        let p = dir.path().join("mlguard.toml");
        std::fs::write(&p, cfg).unwrap();
        c.arg("--config").arg(&p);
    }
    let o = c.output().unwrap();
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap(), v)
}

/// The one bulk-download finding: (severity, factors, the finding).
fn bulk(v: &Value) -> (String, Vec<String>, Value) {
    let fs: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "scan.bulk_download")
        .collect();
    assert_eq!(fs.len(), 1, "{:#?}", v["findings"]);
    let f = fs[0].clone();
    let factors = f["evidence"]["severity_factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    (f["severity"].as_str().unwrap().to_string(), factors, f)
}

#[test]
fn first_time_person_syncing_1200_kms_objects_fails_the_default_gate() {
    // The case of the issue: 1,200 objects from a bucket that is no ML asset, in four
    // minutes, with `aws s3 sync`, each decrypted with KMS, by a principal never seen.
    let mut recs = reads(
        MALLORY,
        1200,
        "acme-analytics",
        "exports/part-",
        SYNC_UA,
        "203.0.113.66",
        240,
    );
    recs.extend(decrypts(
        MALLORY,
        1200,
        "acme-analytics",
        "exports/part-",
        240,
    ));
    let (code, v) = scan(recs, None);
    assert_eq!(
        code, 1,
        "default --fail-on high must fail: {:#?}",
        v["findings"]
    );
    let (sev, factors, f) = bulk(&v);
    assert_eq!(sev, "critical");
    assert_eq!(
        factors,
        ["first_time_human_far_beyond", "recursive_copy_tool"]
    );
    assert_eq!(f["evidence"]["objects"], 1200);
    assert_eq!(f["evidence"]["kms_decrypts"], 1200);
    assert_eq!(f["evidence"]["tool"], "aws s3 sync");
    assert_eq!(f["evidence"]["human"], true);
    assert!(f["evidence"].get("asset_kind").is_none());
}

#[test]
fn factor_first_time_person_far_beyond_thresholds() {
    // Far beyond (>= 10 x 100 objects): high whatever the bucket.
    let (code, v) = scan(
        reads(
            MALLORY,
            1200,
            "acme-analytics",
            "r/",
            BOTO,
            "203.0.113.66",
            600,
        ),
        None,
    );
    assert_eq!(code, 1);
    let (sev, factors, _) = bulk(&v);
    assert_eq!(
        (sev.as_str(), factors),
        ("high", vec!["first_time_human_far_beyond".to_string()])
    );
    // Over the no-history threshold but not far beyond it: the base, medium; the gate passes.
    let (code, v) = scan(
        reads(
            MALLORY,
            150,
            "acme-analytics",
            "r/",
            BOTO,
            "203.0.113.66",
            600,
        ),
        None,
    );
    assert_eq!(code, 0);
    let (sev, factors, _) = bulk(&v);
    assert_eq!(sev, "medium");
    assert!(factors.is_empty());
    // A workload (an assumed service role) reading as much: medium, not a person.
    let (code, v) = scan(
        reads(
            PIPELINE,
            1200,
            "acme-analytics",
            "r/",
            BOTO,
            "10.0.1.5",
            600,
        ),
        None,
    );
    assert_eq!(code, 0);
    let (sev, _, f) = bulk(&v);
    assert_eq!(sev, "medium");
    assert_eq!(f["evidence"]["human"], false);
    // The factor is configurable: 20 x => 1,200 objects are no longer far beyond.
    let (_, v) = scan(
        reads(
            MALLORY,
            1200,
            "acme-analytics",
            "r/",
            BOTO,
            "203.0.113.66",
            600,
        ),
        Some("[scan]\nbulk_far_factor = 20\n"),
    );
    assert_eq!(bulk(&v).0, "medium");
    // A factor below 1 would make every first hour "far beyond": a config error naming
    // the file and the key.
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "trail.json",
        reads(MALLORY, 5, "b", "r/", BOTO, "203.0.113.66", 60),
    );
    let cfg = dir.path().join("mlguard.toml");
    for bad in ["0.5", "-3", "nan"] {
        std::fs::write(&cfg, format!("[scan]\nbulk_far_factor = {bad}\n")).unwrap();
        let o = bin()
            .arg("scan")
            .arg(&f)
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("mlguard.toml") && err.contains("bulk_far_factor"),
            "{err}"
        );
    }
}

#[test]
fn factor_recursive_copy_user_agent() {
    for ua in [
        SYNC_UA,
        "rclone/v1.66.0",
        "aws-sdk-go-v2/1.24.0 s5cmd/v2.2.2",
    ] {
        let (code, v) = scan(
            reads(
                MALLORY,
                150,
                "acme-analytics",
                "r/",
                ua,
                "203.0.113.66",
                600,
            ),
            None,
        );
        assert_eq!(code, 1, "{ua}");
        let (sev, factors, _) = bulk(&v);
        assert_eq!(
            (sev.as_str(), factors),
            ("high", vec!["recursive_copy_tool".to_string()]),
            "{ua}"
        );
    }
    // A minority of the hour's reads by the tool does not count.
    let mut recs = reads(
        MALLORY,
        150,
        "acme-analytics",
        "r/",
        BOTO,
        "203.0.113.66",
        600,
    );
    recs.extend(reads(
        MALLORY,
        20,
        "acme-analytics",
        "s/",
        "rclone/v1.66.0",
        "203.0.113.66",
        600,
    ));
    let (sev, factors, _) = bulk(&scan(recs, None).1);
    assert_eq!(sev, "medium");
    assert!(factors.is_empty());
}

#[test]
fn factor_audit_log_bucket_named_by_trail_policy_layout_or_config() {
    let trail = rec(
        Who {
            itype: "IAMUser",
            arn: "arn:aws:iam::111122223333:user/admin",
        },
        0,
        "CreateTrail",
        "cloudtrail.amazonaws.com",
        json!({"name": "org-trail", "s3BucketName": "corp-audit-7", "isMultiRegionTrail": true}),
        "198.51.100.1",
        BOTO,
    );
    // 1. The bucket a CreateTrail names.
    let mut recs = vec![trail.clone()];
    recs.extend(reads(
        MALLORY,
        150,
        "corp-audit-7",
        "logs/",
        BOTO,
        "203.0.113.66",
        600,
    ));
    let (code, v) = scan(recs, None);
    assert_eq!(code, 1);
    let (sev, factors, f) = bulk(&v);
    assert_eq!(
        (sev.as_str(), factors),
        ("high", vec!["audit_log_bucket".to_string()])
    );
    assert_eq!(f["evidence"]["audit_log_objects"], 150);
    // 2. A bucket policy letting CloudTrail write (the policy CreateTrail needs).
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::corp-audit-8"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::corp-audit-8/AWSLogs/*"}]});
    let mut recs = vec![rec(
        Who {
            itype: "IAMUser",
            arn: "arn:aws:iam::111122223333:user/admin",
        },
        0,
        "PutBucketPolicy",
        "s3.amazonaws.com",
        json!({"bucketName": "corp-audit-8", "bucketPolicy": policy}),
        "198.51.100.1",
        BOTO,
    )];
    recs.extend(reads(
        MALLORY,
        150,
        "corp-audit-8",
        "x/",
        BOTO,
        "203.0.113.66",
        600,
    ));
    assert_eq!(bulk(&scan(recs, None).1).1, ["audit_log_bucket"]);
    // 3. CloudTrail's delivery layout in the key, whatever the bucket.
    let recs = reads(
        MALLORY,
        150,
        "any-bucket",
        &format!("AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/11/02/f"),
        BOTO,
        "203.0.113.66",
        600,
    );
    assert_eq!(bulk(&scan(recs, None).1).1, ["audit_log_bucket"]);
    // 4. Configured.
    let recs = reads(
        MALLORY,
        150,
        "corp-audit-9",
        "x/",
        BOTO,
        "203.0.113.66",
        600,
    );
    let (_, v) = scan(
        recs.clone(),
        Some("[scan]\naudit_log_buckets = [\"s3://corp-audit-*\"]\n"),
    );
    assert_eq!(bulk(&v).1, ["audit_log_bucket"]);
    // Negative: the same reads with nothing saying the bucket holds logs.
    let (code, v) = scan(recs, None);
    assert_eq!(code, 0);
    assert_eq!(bulk(&v).0, "medium");
    // A trail naming *another* bucket does not make this one a log bucket.
    let mut recs = vec![trail];
    recs.extend(reads(
        MALLORY,
        150,
        "corp-audit-9",
        "x/",
        BOTO,
        "203.0.113.66",
        600,
    ));
    assert_eq!(bulk(&scan(recs, None).1).0, "medium");
}

#[test]
fn factor_ml_asset_floor_and_the_one_level_cap() {
    // ML assets: high; with a recursive copier on top, critical.
    let (_, v) = scan(
        reads(
            MALLORY,
            150,
            "acme-ml",
            "fraud/v3/shard-",
            BOTO,
            "203.0.113.66",
            600,
        )
        .into_iter()
        .map(|mut r| {
            let k = r["requestParameters"]["key"].as_str().unwrap().to_string();
            r["requestParameters"]["key"] = format!("{k}.safetensors").into();
            r
        })
        .collect(),
        None,
    );
    let (sev, factors, f) = bulk(&v);
    assert_eq!(
        (sev.as_str(), factors),
        ("high", vec!["ml_asset".to_string()])
    );
    assert_eq!(f["evidence"]["asset_kind"], "model_artifact");
    // Raising factors add one level together, not one each: audit-log bucket + rclone on
    // a medium base is high, not critical.
    let recs = reads(
        MALLORY,
        150,
        "any",
        &format!("AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/11/02/f"),
        "rclone/v1.66.0",
        "203.0.113.66",
        600,
    );
    let (sev, factors, _) = bulk(&scan(recs, None).1);
    assert_eq!(sev, "high");
    assert_eq!(factors, ["audit_log_bucket", "recursive_copy_tool"]);
}

#[test]
fn factor_service_mediated_reads_are_lower() {
    // Athena scanning a table as the user: 1,200 reads from athena.amazonaws.com.
    let recs = reads(
        MALLORY,
        1200,
        "acme-lake",
        "tbl/part-",
        "athena.amazonaws.com",
        "athena.amazonaws.com",
        600,
    );
    let (code, v) = scan(recs, None);
    assert_eq!(code, 0, "{:#?}", v["findings"]);
    let (sev, factors, _) = bulk(&v);
    assert_eq!(
        (sev.as_str(), factors),
        ("low", vec!["service_mediated".to_string()])
    );
}

#[test]
fn kms_decrypts_stand_in_for_missing_s3_data_events() {
    // A trail without S3 data events still logs SSE-KMS decrypts (management events).
    let (code, v) = scan(
        decrypts(MALLORY, 1200, "acme-analytics", "exports/part-", 240),
        None,
    );
    assert_eq!(code, 1);
    let (sev, factors, f) = bulk(&v);
    assert_eq!(sev, "high");
    assert_eq!(factors, ["first_time_human_far_beyond"]);
    assert_eq!(f["evidence"]["objects"], 1200);
    assert_eq!(f["evidence"]["kms_decrypts"], 1200);
    // Decrypts for something other than S3 (no aws:s3:arn context) are not reads.
    let recs: Vec<Value> = decrypts(MALLORY, 1200, "acme-analytics", "p-", 240)
        .into_iter()
        .map(|mut r| {
            r["requestParameters"]["encryptionContext"] = json!({"aws:lambda:FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:f"});
            r
        })
        .collect();
    let (code, v) = scan(recs, None);
    assert_eq!(code, 0);
    assert!(v["findings"].as_array().unwrap().is_empty());
}
