//! `mlguard scan` on Weights & Biases audit logs (the bucket-synced NDJSON and the
//! `/admin/audit_logs` API page): bulk artifact reads against the actor's own history, an
//! API key created then artifacts read from a new IP, deletion bursts, member changes and
//! records that cannot be read. The records are built from W&B's documented schema (no
//! public sample exists).

use crate::util as common;
use common::{bin, scan_json};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn of<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

/// One W&B audit record (`artifact:read` of `acme/llm/<artifact>` unless `extra` says
/// otherwise).
fn rec(ts: &str, action: &str, actor: &str, ip: &str, extra: Value) -> Value {
    let mut r = json!({
        "timestamp": ts, "action": action, "actor_user_id": format!("VXNlcjo{}", actor.len()),
        "actor_email": actor, "actor_ip": ip, "response_code": 200, "cli_version": "0.19.1",
        "entity_name": "acme", "entity_asset": "RW50aXR5OjE=", "project_name": "llm",
    });
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

fn read(ts: &str, actor: &str, ip: &str, n: usize) -> Value {
    rec(
        ts,
        "artifact:read",
        actor,
        ip,
        json!({"artifact_qualified_name": format!("acme/llm/shard-{n}:v1"),
               "artifact_asset": format!("QXJ0aWZhY3Q6{n}"), "artifact_digest": format!("{n:032x}")}),
    )
}

fn ndjson(dir: &Path, name: &str, recs: &[Value]) -> PathBuf {
    let p = dir.join(name);
    let text: String = recs.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&p, text).unwrap();
    p
}

/// Three days of an ordinary researcher: five artifact reads an hour, 10:00-17:00, from
/// one address.
fn history(actor: &str, ip: &str) -> Vec<Value> {
    let mut v = Vec::new();
    for day in 1..=3 {
        for h in 10..18 {
            for m in 0..5 {
                v.push(read(
                    &format!("2026-03-0{day}T{h}:{:02}:00Z", m * 10),
                    actor,
                    ip,
                    m,
                ));
            }
        }
    }
    v
}

#[test]
fn a_normal_hour_is_quiet_and_a_bulk_pull_is_found_against_own_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut normal = history("ana@acme.ai", "198.51.100.10");
    // Day 5: an ordinary hour, five reads, as in the baseline.
    for m in 0..5 {
        normal.push(read(
            &format!("2026-03-05T11:{:02}:00Z", m * 10),
            "ana@acme.ai",
            "198.51.100.10",
            m,
        ));
    }
    let a = ndjson(d, "normal.ndjson", &normal);
    let (code, v, err) = scan_json(&[a], &["--baseline-days", "3"]);
    assert_eq!(code, 0, "{err} {v:#}");
    assert_eq!(v["summary"]["events"]["wandb"], 125, "{v}");
    assert!(v["findings"].as_array().unwrap().is_empty(), "{v:#}");

    // The same, and at 14:00 on day 5, 60 distinct artifacts in one hour: 12x her busiest
    // prior hour.
    let mut bulk = normal.clone();
    for n in 0..60 {
        bulk.push(read(
            &format!("2026-03-05T14:{:02}:{:02}Z", n / 2, (n % 2) * 30),
            "ana@acme.ai",
            "198.51.100.10",
            100 + n,
        ));
    }
    let b = ndjson(d, "bulk.ndjson", &bulk);
    let (code, v, err) = scan_json(&[b], &["--baseline-days", "3"]);
    assert_eq!(code, 1, "{err}");
    let f = of(&v, "scan.bulk_download");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["subject"], "ana@acme.ai");
    assert_eq!(f[0]["evidence"]["objects"], 60);
    assert_eq!(f[0]["evidence"]["source"], "wandb");
    // W&B artifacts are ML assets: the floor is high.
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["evidence"]["asset_kind"], "model_artifact");
    assert!(
        f[0]["evidence"]["basis"]
            .as_str()
            .unwrap()
            .contains("busiest prior hour 5 objects"),
        "{:#}",
        f[0]
    );
    assert_eq!(f[0]["evidence"]["buckets"][0], "wandb://acme/llm");
    assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v:#}");
}

#[test]
fn an_api_key_then_reads_from_a_new_ip_is_found_and_the_usual_ip_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut recs = history("ana@acme.ai", "198.51.100.10");
    let key = |ts: &str, ip: &str| {
        rec(
            ts,
            "user:create_api_key",
            "ana@acme.ai",
            ip,
            json!({"user_asset": "VXNlcjo5", "user_email": "ana@acme.ai"}),
        )
    };
    // Day 4: a key created from her usual address and used from it: expected.
    recs.push(key("2026-03-04T09:00:00Z", "198.51.100.10"));
    for n in 0..3 {
        recs.push(read(
            &format!("2026-03-04T09:1{n}:00Z"),
            "ana@acme.ai",
            "198.51.100.10",
            n,
        ));
    }
    let quiet = ndjson(d, "quiet.ndjson", &recs);
    let (code, v, err) = scan_json(&[quiet], &["--baseline-days", "3"]);
    assert_eq!(code, 0, "{err} {v:#}");
    assert!(of(&v, "scan.wandb_key_then_new_ip").is_empty(), "{v:#}");

    // Day 5: another key, then four artifact reads from an address she never used, 40
    // minutes later; and one more from it after the window (25 h): not counted.
    recs.push(key("2026-03-05T22:00:00Z", "198.51.100.10"));
    for n in 0..4 {
        recs.push(read(
            &format!("2026-03-05T22:4{n}:00Z"),
            "ana@acme.ai",
            "203.0.113.66",
            n,
        ));
    }
    recs.push(read(
        "2026-03-06T23:30:00Z",
        "ana@acme.ai",
        "203.0.113.66",
        9,
    ));
    let p = ndjson(d, "key.ndjson", &recs);
    let (code, v, err) = scan_json(&[p], &["--baseline-days", "3"]);
    assert_eq!(code, 1, "{err}");
    let f = of(&v, "scan.wandb_key_then_new_ip");
    assert_eq!(f.len(), 1, "{v:#}");
    let e = &f[0]["evidence"];
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["subject"], "ana@acme.ai");
    assert_eq!(e["source_ip"], "203.0.113.66");
    assert_eq!(e["key_ip"], "198.51.100.10");
    assert_eq!(e["key_created"], "2026-03-05T22:00:00Z");
    assert_eq!(e["event_count"], 4);
    assert_eq!(e["last_seen"], "2026-03-05T22:43:00Z");
    assert!(
        e["key_record"]
            .as_str()
            .unwrap()
            .ends_with("key.ndjson:125"),
        "{e}"
    );
    assert!(f[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "attack:T1098.001"));
}

#[test]
fn a_deletion_burst_is_found_and_a_few_deletions_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let del = |ts: &str, action: &str, project: &str| {
        rec(
            ts,
            action,
            "bob@acme.ai",
            "192.0.2.7",
            json!({"project_name": project, "project_asset": format!("UHJvamVjdDo{}", project.len())}),
        )
    };
    // Three run deletions in a morning: housekeeping.
    let few: Vec<Value> = (0..3)
        .map(|i| del(&format!("2026-03-02T09:{i}0:00Z"), "run:delete", "llm"))
        .collect();
    let p = ndjson(d, "few.ndjson", &few);
    let (code, v, err) = scan_json(&[p], &[]);
    assert_eq!(code, 0, "{err} {v:#}");
    assert!(of(&v, "scan.wandb_deletion_burst").is_empty(), "{v:#}");

    // In the evening: runs deleted in bulk, then three projects, within 25 minutes; one
    // project deletion denied.
    let mut burst = few.clone();
    burst.push(del("2026-03-02T21:00:00Z", "run:delete_many", "llm"));
    burst.push(del("2026-03-02T21:05:00Z", "run:delete_many", "vision"));
    for (i, p) in ["llm", "vision", "speech"].iter().enumerate() {
        burst.push(del(&format!("2026-03-02T21:1{i}:00Z"), "project:delete", p));
    }
    let mut denied = del("2026-03-02T21:25:00Z", "project:delete", "prod-models");
    denied["response_code"] = json!(403);
    burst.push(denied);
    let p = ndjson(d, "burst.ndjson", &burst);
    let (code, v, err) = scan_json(&[p], &[]);
    assert_eq!(code, 1, "{err}");
    let f = of(&v, "scan.wandb_deletion_burst");
    assert_eq!(f.len(), 1, "{v:#}");
    let e = &f[0]["evidence"];
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(e["event_count"], 6);
    assert_eq!(e["failed"], 1);
    assert_eq!(e["actions"]["project:delete"], 4);
    assert_eq!(e["time"], "2026-03-02T21:00:00Z");
    assert_eq!(e["projects"].as_array().unwrap().len(), 4, "{e}");
    // W&B deletions are not also counted as object mass deletion.
    assert!(of(&v, "scan.mass_deletion").is_empty(), "{v:#}");
}

#[test]
fn member_changes_are_reported_from_the_api_page_shape() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let change = rec(
        "2026-03-02T12:00:00Z",
        "organization:update_member",
        "root@acme.ai",
        "192.0.2.1",
        json!({"user_email": "eve@partner.example", "user_asset": "VXNlcjo3"}),
    );
    let invite = rec(
        "2026-03-02T12:01:00Z",
        "team:invite_user",
        "root@acme.ai",
        "192.0.2.1",
        json!({"user_email": "mallory@partner.example"}),
    );
    let page = json!({
        "audit_logs": [change, invite, read("2026-03-02T12:02:00Z", "ana@acme.ai", "198.51.100.10", 1)],
        "range_start_time": "2026-03-02T00:00:00Z", "range_end_time": "2026-03-03T00:00:00Z",
        "count": 3, "next_cursor": "eyJvZmZzZXQiOjN9"
    });
    let p = d.join("page-1.json");
    std::fs::write(&p, serde_json::to_vec_pretty(&page).unwrap()).unwrap();
    let (code, v, err) = scan_json(&[p], &["--fail-on", "medium"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["events"]["wandb"], 3, "{v}");
    let f = of(&v, "scan.wandb_member_change");
    assert_eq!(f.len(), 2, "{v:#}");
    let role = f
        .iter()
        .find(|f| f["evidence"]["action"] == "organization:update_member")
        .unwrap();
    assert_eq!(role["severity"], "medium");
    assert_eq!(role["evidence"]["target_user"], "eve@partner.example");
    assert_eq!(
        role["evidence"]["resource"],
        "wandb-user:eve@partner.example"
    );
    assert_eq!(role["location"]["record"], 0, "{role}");
    let inv = f
        .iter()
        .find(|f| f["evidence"]["action"] == "team:invite_user")
        .unwrap();
    assert_eq!(inv["severity"], "low");
}

#[test]
fn unreadable_records_are_listed_with_file_and_line_and_make_the_verdict_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = read("2026-03-02T10:00:00Z", "ana@acme.ai", "198.51.100.10", 1);
    let mut bad_time = good.clone();
    bad_time["timestamp"] = json!("last tuesday");
    let mut bad_code = good.clone();
    bad_code["response_code"] = json!("OK");
    let mut bad_action = good.clone();
    bad_action["action"] = json!("rm -rf /");
    let text = format!(
        "{good}\n{{\"timestamp\": \"2026-03-02T10:01:00Z\", \"action\": \"artifact:re\n{bad_time}\n{bad_code}\n{bad_action}\n{good}\n"
    );
    let p = d.join("2026-03-02.ndjson");
    std::fs::write(&p, text).unwrap();
    let (code, v, err) = scan_json(std::slice::from_ref(&p), &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["summary"]["events"]["wandb"], 2, "{v}");
    assert_eq!(v["summary"]["skipped"], 4, "{v}");
    let skipped = v["skipped"].as_array().unwrap();
    let at = |line: u64| {
        skipped
            .iter()
            .find(|s| s["line"] == line)
            .unwrap_or_else(|| panic!("no skip at line {line}: {skipped:#?}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(at(2).contains("malformed JSON"), "{}", at(2));
    assert!(at(3).contains("timestamp"), "{}", at(3));
    assert!(at(4).contains("response_code"), "{}", at(4));
    assert!(at(5).contains("noun:verb"), "{}", at(5));
    assert!(skipped
        .iter()
        .all(|s| s["file"].as_str().unwrap().ends_with("2026-03-02.ndjson")));
    // stderr names file:line too.
    assert!(err.contains("2026-03-02.ndjson:3"), "{err}");
}

#[test]
fn source_wandb_reads_records_the_sniffer_does_not_claim() {
    // A minimal record (no actor fields at all, as W&B writes for some anonymous reads):
    // not recognised automatically, read with --source wandb.
    let dir = tempfile::tempdir().unwrap();
    let p = ndjson(
        dir.path(),
        "min.ndjson",
        &[
            json!({"timestamp": "2026-03-02T10:00:00Z", "action": "report:read", "report_name": "weekly"}),
        ],
    );
    let o = bin().arg("scan").arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no audit event could be read"), "{err}");
    let (code, v, err) = scan_json(&[p], &["--source", "wandb"]);
    assert_eq!(code, 0, "{err} {v}");
    assert_eq!(v["summary"]["events"]["wandb"], 1, "{v}");
    let cov = v["coverage"].as_array().unwrap();
    let c = cov
        .iter()
        .find(|c| c["detection"] == "scan.wandb_key_then_new_ip")
        .unwrap();
    assert_eq!(c["status"], "active", "{c}");
}

#[test]
fn coverage_says_the_wandb_detections_are_blind_without_wandb_input() {
    let (_, v, _) = scan_json(&[common::testdata("scan/gcp")], &["--allow-partial"]);
    let cov = v["coverage"].as_array().unwrap();
    for id in [
        "scan.wandb_key_then_new_ip",
        "scan.wandb_deletion_burst / scan.wandb_member_change",
    ] {
        let c = cov.iter().find(|c| c["detection"] == id).unwrap();
        assert_eq!(c["status"], "blind", "{c}");
        assert!(c["reason"].as_str().unwrap().contains("no W&B"), "{c}");
    }
}

#[test]
fn bad_wandb_settings_are_usage_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = ndjson(
        d,
        "a.ndjson",
        &[read(
            "2026-03-02T10:00:00Z",
            "ana@acme.ai",
            "198.51.100.10",
            1,
        )],
    );
    for (cfg, key) in [
        ("wandb_key_window_hours = -1.0", "wandb_key_window_hours"),
        ("wandb_key_window_hours = nan", "wandb_key_window_hours"),
        ("wandb_deletes_per_burst = 0", "wandb_deletes_per_burst"),
    ] {
        let c = d.join("mlguard.toml");
        std::fs::write(&c, format!("[scan]\n{cfg}\n")).unwrap();
        let o = bin()
            .arg("scan")
            .arg(&p)
            .arg("--config")
            .arg(&c)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cfg}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(key) && err.contains("mlguard.toml"),
            "{cfg}: {err}"
        );
    }
}

#[test]
fn a_saved_baseline_supplies_the_actors_known_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hist = ndjson(d, "march.ndjson", &history("ana@acme.ai", "198.51.100.10"));
    let base = d.join("base.json");
    let (code, _, err) = scan_json(&[hist], &["--save-baseline", base.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // April, scanned alone against March's baseline: the key is created from a new
    // laptop address and used from her usual address (known from the baseline: quiet),
    // and from a third one (new: high, because she has history).
    let key = rec(
        "2026-04-01T09:00:00Z",
        "user:create_api_key",
        "ana@acme.ai",
        "192.0.2.50",
        json!({"user_email": "ana@acme.ai"}),
    );
    let recs = vec![
        key,
        read("2026-04-01T09:05:00Z", "ana@acme.ai", "198.51.100.10", 1),
        read("2026-04-01T09:06:00Z", "ana@acme.ai", "203.0.113.66", 2),
    ];
    let april = ndjson(d, "april.ndjson", &recs);
    let (_, v, err) = scan_json(&[april], &["--baseline", base.to_str().unwrap()]);
    let f = of(&v, "scan.wandb_key_then_new_ip");
    assert_eq!(f.len(), 1, "{err} {v:#}");
    assert_eq!(f[0]["evidence"]["source_ip"], "203.0.113.66");
    assert_eq!(f[0]["severity"], "high");
    assert_eq!(f[0]["evidence"]["known_ips"], 2, "{:#}", f[0]);
}
