//! A seeded, documented scenario for testing and demonstrating `mlguard scan`: a normal
//! month of CloudTrail logs in the delivered layout, plus an insider pulling the model
//! artifact bucket at night.
//!
//! Account `111122223333`, region `us-east-1`, 30 days from 2026-10-01 (UTC), one gzipped
//! `{"Records": [...]}` file per day under `AWSLogs/111122223333/CloudTrail/us-east-1/
//! yyyy/mm/dd/`. Normal behaviour, every day:
//! - `role/training-pipeline` reads 30–50 training shards (`s3://acme-train-data/train/
//!   part-NNNNN.parquet`, 40–60 MiB each) at 02:00–02:59, from 10.0.1.5, boto3;
//! - `user/alice` (data scientist), working days 09–18: 2–6 reads of model artifacts
//!   (`s3://acme-ml-models/fraud/vN/model.safetensors`) and 1–4 reports;
//! - `user/bob` (analyst), working days 09–18: 3–12 reads of `s3://acme-analytics/reports/`;
//! - `user/ci-deployer` uploads a new model version every Monday;
//! - a few management calls (ListBuckets, DescribeInstances, GetBucketPolicy) by all.
//!
//! The insider: on `insider_day` (default day 25) between 01:00 and 01:59 UTC, `user/bob`
//! downloads 400 model shards (`s3://acme-ml-models/fraud/v3/shard-NNNNN.safetensors`,
//! ~20 MiB each) from a new IP (203.0.113.66) with rclone. With `--baseline-days 7` the scan
//! must report bob's first access to the model bucket, the bulk download, the new IP and
//! user agent, and nothing else for any day.

use crate::Rng;
use chrono::{Datelike, Duration, TimeZone, Utc, Weekday};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const ACCOUNT: &str = "111122223333";

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub days: u32,
    /// 1-based day of the insider; 0 = no insider.
    pub insider_day: u32,
    pub insider_objects: u32,
    /// Multiplies every normal principal's daily volume (benchmarks use large values).
    pub scale: u32,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 7,
            days: 30,
            insider_day: 25,
            insider_objects: 400,
            scale: 1,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub files: Vec<PathBuf>,
    pub events: usize,
}

fn arn(who: &str) -> String {
    if who == "training-pipeline" {
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/training-pipeline/job")
    } else {
        format!("arn:aws:iam::{ACCOUNT}:user/{who}")
    }
}

#[allow(clippy::too_many_arguments)]
fn event(
    rng: &mut Rng,
    t: chrono::DateTime<Utc>,
    who: &str,
    name: &str,
    source: &str,
    params: Value,
    ip: &str,
    ua: &str,
    bytes: Option<u64>,
) -> Value {
    let id = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
    let itype = if who == "training-pipeline" {
        "AssumedRole"
    } else {
        "IAMUser"
    };
    let identity = json!({"type": itype, "arn": arn(who), "accountId": ACCOUNT, "principalId": format!("AID{who}")});
    cloudtrail_record(
        id, t, identity, ACCOUNT, source, name, params, ip, ua, bytes,
    )
}

/// One CloudTrail API-call record in `us-east-1` as AWS writes it: a data event
/// (`bytesTransferredOut`) when `bytes` is given, else a management event; `readOnly` from
/// the Get/List/Describe prefix.
#[allow(clippy::too_many_arguments)]
pub fn cloudtrail_record(
    event_id: String,
    t: chrono::DateTime<Utc>,
    identity: Value,
    account: &str,
    source: &str,
    name: &str,
    params: Value,
    ip: &str,
    ua: &str,
    bytes: Option<u64>,
) -> Value {
    let mut e = json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": params,
        "responseElements": null,
        "eventID": event_id,
        "readOnly": name.starts_with("Get") || name.starts_with("List") || name.starts_with("Describe"),
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
    });
    if let Some(b) = bytes {
        e["additionalEventData"] = json!({"bytesTransferredIn": 0, "bytesTransferredOut": b});
        e["eventCategory"] = "Data".into();
        e["managementEvent"] = false.into();
    } else {
        e["eventCategory"] = "Management".into();
        e["managementEvent"] = true.into();
    }
    e
}

fn get(bucket: &str, key: &str) -> Value {
    json!({"bucketName": bucket, "key": key, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com")})
}

/// Write one day's CloudTrail records (in `us-east-1`) where and as AWS delivers them:
/// `ROOT/AWSLogs/ACCOUNT/CloudTrail/us-east-1/YYYY/MM/DD/ACCOUNT_CloudTrail_us-east-1_
/// YYYYMMDDT0000Z_XXXXXXXX.json.gz`, one `{"Records": [...]}` document; the suffix comes
/// from `rng`.
pub fn write_cloudtrail_day(
    root: &Path,
    account: &str,
    day: impl Datelike,
    recs: &[Value],
    rng: &mut Rng,
) -> std::io::Result<PathBuf> {
    let (y, m, d) = (day.year(), day.month(), day.day());
    let sub = root.join(format!(
        "AWSLogs/{account}/CloudTrail/us-east-1/{y:04}/{m:02}/{d:02}"
    ));
    std::fs::create_dir_all(&sub)?;
    let f = sub.join(format!(
        "{account}_CloudTrail_us-east-1_{y:04}{m:02}{d:02}T0000Z_{:08x}.json.gz",
        rng.next_u64() as u32
    ));
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&f)?, flate2::Compression::fast());
    serde_json::to_writer(&mut gz, &json!({ "Records": recs }))?;
    gz.finish()?.flush()?;
    Ok(f)
}

/// Write the scenario under `dir` (created if needed).
pub fn write(dir: &Path, sc: &Scenario) -> std::io::Result<Written> {
    let mut rng = Rng::new(sc.seed);
    let start = Utc
        .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .expect("valid date");
    let mut files = Vec::new();
    let mut total = 0usize;
    let boto = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux";
    let cli = "aws-cli/2.15.0 md/awscrt#0.19.19 ua/2.0 os/macos";
    for day in 1..=sc.days {
        let d0 = start + Duration::days(day as i64 - 1);
        let workday = !matches!(d0.weekday(), Weekday::Sat | Weekday::Sun);
        let mut recs: Vec<Value> = Vec::new();
        let at = |rng: &mut Rng, h0: i64, h1: i64| {
            d0 + Duration::seconds(h0 * 3600 + (rng.f64() * ((h1 - h0) * 3600) as f64) as i64)
        };
        // Training pipeline, nightly.
        let k = sc.scale.max(1) as usize;
        let n = (30 + rng.below(21)) * k;
        for _ in 0..n {
            let t = at(&mut rng, 2, 3);
            let key = format!("train/part-{:05}.parquet", rng.below(2000));
            let bytes = 40 * 1048576 + rng.below(20 * 1048576) as u64;
            recs.push(event(
                &mut rng,
                t,
                "training-pipeline",
                "GetObject",
                "s3.amazonaws.com",
                get("acme-train-data", &key),
                "10.0.1.5",
                boto,
                Some(bytes),
            ));
        }
        if workday {
            let version = 1 + (day - 1) / 7;
            for _ in 0..(2 + rng.below(5)) * k {
                let t = at(&mut rng, 9, 18);
                let key = format!("fraud/v{version}/model.safetensors");
                recs.push(event(
                    &mut rng,
                    t,
                    "alice",
                    "GetObject",
                    "s3.amazonaws.com",
                    get("acme-ml-models", &key),
                    "198.51.100.10",
                    cli,
                    Some(300 * 1048576),
                ));
            }
            for _ in 0..(1 + rng.below(4)) * k {
                let t = at(&mut rng, 9, 18);
                let key = format!("reports/weekly-{:03}.csv", rng.below(50));
                recs.push(event(
                    &mut rng,
                    t,
                    "alice",
                    "GetObject",
                    "s3.amazonaws.com",
                    get("acme-analytics", &key),
                    "198.51.100.10",
                    cli,
                    Some(200_000),
                ));
            }
            for _ in 0..(3 + rng.below(10)) * k {
                let t = at(&mut rng, 9, 18);
                let key = format!("reports/daily-{:03}.csv", rng.below(300));
                recs.push(event(
                    &mut rng,
                    t,
                    "bob",
                    "GetObject",
                    "s3.amazonaws.com",
                    get("acme-analytics", &key),
                    "198.51.100.20",
                    cli,
                    Some(150_000),
                ));
            }
            for who in ["alice", "bob"] {
                let t = at(&mut rng, 9, 18);
                let ip = if who == "alice" {
                    "198.51.100.10"
                } else {
                    "198.51.100.20"
                };
                recs.push(event(
                    &mut rng,
                    t,
                    who,
                    "ListBuckets",
                    "s3.amazonaws.com",
                    json!({}),
                    ip,
                    cli,
                    None,
                ));
            }
            if d0.weekday() == Weekday::Mon {
                let t = at(&mut rng, 10, 11);
                let version = 1 + (day - 1) / 7;
                recs.push(event(
                    &mut rng,
                    t,
                    "ci-deployer",
                    "PutObject",
                    "s3.amazonaws.com",
                    get(
                        "acme-ml-models",
                        &format!("fraud/v{version}/model.safetensors"),
                    ),
                    "10.0.2.7",
                    boto,
                    Some(0),
                ));
            }
        }
        let t = at(&mut rng, 6, 7);
        recs.push(event(
            &mut rng,
            t,
            "training-pipeline",
            "DescribeInstances",
            "ec2.amazonaws.com",
            json!({"instancesSet": {}}),
            "10.0.1.5",
            boto,
            None,
        ));
        if day == sc.insider_day {
            for i in 0..sc.insider_objects {
                let t = d0
                    + Duration::seconds(
                        3600 + (i as i64 * 3599) / sc.insider_objects.max(1) as i64,
                    );
                let key = format!("fraud/v3/shard-{i:05}.safetensors");
                let bytes = 20 * 1048576 + rng.below(1048576) as u64;
                recs.push(event(
                    &mut rng,
                    t,
                    "bob",
                    "GetObject",
                    "s3.amazonaws.com",
                    get("acme-ml-models", &key),
                    "203.0.113.66",
                    "rclone/v1.66.0",
                    Some(bytes),
                ));
            }
        }
        recs.sort_by(|a, b| a["eventTime"].as_str().cmp(&b["eventTime"].as_str()));
        total += recs.len();
        files.push(write_cloudtrail_day(dir, ACCOUNT, d0, &recs, &mut rng)?);
    }
    Ok(Written {
        files,
        events: total,
    })
}
