//! `mlguard scan --geoip FILE`: MaxMind's own test databases (testdata/geoip/, see its
//! README) on a record from an address they know, one they do not, and broken databases.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use crate::util::{bin, testdata};

fn country_db() -> PathBuf {
    testdata("geoip/GeoLite2-Country-Test.mmdb")
}
fn asn_db() -> PathBuf {
    testdata("geoip/GeoLite2-ASN-Test.mmdb")
}

/// A public bucket policy set from `ip` (one high finding carrying `source_ip`).
fn write_policy(dir: &Path, ip: &str) -> PathBuf {
    let rec = json!({
        "eventVersion": "1.09", "eventTime": "2026-11-03T12:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketPolicy", "awsRegion": "us-east-1", "sourceIPAddress": ip,
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/eve", "accountId": "111122223333"},
        "recipientAccountId": "111122223333",
        "requestParameters": {"bucketName": "acme-data", "bucketPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-data/*"}]}}
    });
    let p = dir.join(format!("policy-{ip}.json"));
    std::fs::write(&p, serde_json::to_vec(&rec).unwrap()).unwrap();
    p
}

fn scan(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let o = bin().arg("scan").args(args).output().unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn evidence(stdout: &str) -> Value {
    let v: Value = serde_json::from_str(stdout).unwrap();
    let fs = v["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 1, "{fs:?}");
    fs[0]["evidence"].clone()
}

#[test]
fn source_ips_get_country_and_as_from_the_given_databases() {
    let dir = tempfile::tempdir().unwrap();
    let known = write_policy(dir.path(), "89.160.20.115");
    let (c, a) = (country_db(), asn_db());
    let (code, out, err) = scan(&[
        known.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--geoip".as_ref(),
        c.as_os_str(),
        "--geoip".as_ref(),
        a.as_os_str(),
    ]);
    assert_eq!(code, 1, "{err}");
    let ev = evidence(&out);
    assert_eq!(ev["source_ip"], "89.160.20.115");
    assert_eq!(ev["source_country"], "SE");
    assert_eq!(ev["source_asn"], 29518);
    assert_eq!(ev["source_as_org"], "Bredband2 AB");
    // JSON Lines carry the same evidence.
    let (_, out, _) = scan(&[
        known.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--geoip".as_ref(),
        a.as_os_str(),
    ]);
    let line: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["evidence"]["source_asn"], 29518);
    assert!(
        line["evidence"].get("source_country").is_none(),
        "ASN db has no country"
    );
    // Without --geoip nothing changes: the same finding, none of the keys.
    let (_, plain, _) = scan(&[known.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    let mut with = ev.as_object().unwrap().clone();
    for k in ["source_country", "source_asn", "source_as_org"] {
        assert!(with.remove(k).is_some());
    }
    assert_eq!(Value::Object(with), evidence(&plain));
    // An address the databases do not know (TEST-NET-3): no keys, no error.
    let unknown = write_policy(dir.path(), "203.0.113.66");
    let (code, out, _) = scan(&[
        unknown.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--geoip".as_ref(),
        c.as_os_str(),
    ]);
    assert_eq!(code, 1);
    let ev = evidence(&out);
    assert!(ev.get("source_country").is_none() && ev.get("source_asn").is_none());
}

#[test]
fn a_bad_geoip_database_is_an_input_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_policy(dir.path(), "89.160.20.115");
    let full = std::fs::read(country_db()).unwrap();
    let truncated = dir.path().join("truncated.mmdb");
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.mmdb");
    std::fs::write(&garbage, b"not a database at all\n".repeat(100)).unwrap();
    // Search tree intact, a data record corrupted: only verification finds it.
    let mut corrupt = full.clone();
    let meta = full
        .windows(14)
        .position(|w| w == b"\xab\xcd\xefMaxMind.com")
        .unwrap();
    for b in &mut corrupt[meta - 600..meta - 100] {
        *b = 0xff;
    }
    let corrupt_p = dir.path().join("corrupt.mmdb");
    std::fs::write(&corrupt_p, &corrupt).unwrap();
    let missing = dir.path().join("missing.mmdb");
    for db in [&truncated, &garbage, &corrupt_p, &missing] {
        let (code, out, err) = scan(&[log.as_os_str(), "--geoip".as_ref(), db.as_os_str()]);
        assert_eq!(code, 2, "{}: {err}", db.display());
        assert!(out.is_empty(), "no report on a bad database: {out}");
        let name = db.file_name().unwrap().to_str().unwrap();
        assert!(err.contains(name), "{name}: {err}");
    }
    // A flag for audit logs only.
    let q = dir.path().join("q.jsonl");
    std::fs::write(
        &q,
        "{\"timestamp\": \"2026-11-03T12:00:00Z\", \"client\": \"a\", \"prompt\": \"x\"}\n",
    )
    .unwrap();
    let c = country_db();
    let (code, _, err) = scan(&[
        q.as_os_str(),
        "--source".as_ref(),
        "inference".as_ref(),
        "--geoip".as_ref(),
        c.as_os_str(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--geoip"), "{err}");
}
