//! `mlguard scan --view timeline|summary|principals|actions`, `--search`, and the display
//! flags (`--events`, `--raw`, `--min-severity`, `--utc-offset`): the real binary on the
//! bundled Stratus Red Team / traildiscover samples, the generated insider month, and
//! small generated trails (caps, hostile names).

use mlguard_testgen::scenario::{self, Scenario};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::{bin, testdata as td};

fn stratus(p: &str) -> PathBuf {
    td("scan/cloudtrail/stratus-red-team.cloud").join(p)
}

fn write_month(dir: &Path, insider_day: u32) -> PathBuf {
    let sc = Scenario {
        insider_day,
        ..Scenario::default()
    };
    scenario::write(dir, &sc).unwrap();
    dir.join("AWSLogs")
}

/// `mlguard scan PATHS --format json ARGS`: (exit code, document, stderr).
fn scan_json(paths: &[PathBuf], extra: &[&str]) -> (i32, Value, String) {
    let o = bin()
        .arg("scan")
        .args(paths)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        json_of(&String::from_utf8_lossy(&o.stdout)),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `mlguard -q scan PATHS ARGS`: (exit code, stdout, stderr).
fn scan_out(paths: &[PathBuf], args: &[&str]) -> (i32, String, String) {
    let o = bin()
        .arg("-q")
        .arg("scan")
        .args(paths)
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn bedrock() -> PathBuf {
    stratus("impact/InvokeBedrockModel.json")
}

#[test]
fn timeline_lists_findings_in_time_order_with_spans_and_their_events() {
    let (code, out, err) = scan_out(&[bedrock()], &["--view", "timeline", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let v = json_of(&out);
    assert_eq!(v["view"], "timeline");
    assert!(
        v.get("findings").is_none(),
        "the timeline replaces the list"
    );
    let rows = v["timeline"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let times: Vec<&str> = rows.iter().map(|r| r["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // The enumeration aggregates one hour of discovery calls: first/last seen and count.
    let en = &rows[0];
    assert_eq!(en["rule"], "scan.llm_model_enumeration");
    assert_eq!(en["time"], "2024-10-17T20:09:50Z");
    assert_eq!(en["last_seen"], "2024-10-17T20:11:22Z");
    assert_eq!(en["events"], 11);
    assert_eq!(rows[1]["rule"], "scan.llm_entitlement_then_invoke");
    assert_eq!(rows[1]["events"], 1);

    // --events: the events behind each finding, with their record references; --raw: the
    // records themselves, whose eventName is the row's action.
    let (_, out, _) = scan_out(
        &[bedrock()],
        &[
            "--view", "timeline", "--events", "--raw", "--format", "jsonl",
        ],
    );
    let rows: Vec<Value> = out.lines().map(json_of).collect();
    let under_enum: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == "event" && r["rule"] == "scan.llm_model_enumeration")
        .collect();
    assert_eq!(under_enum.len(), 11);
    for r in &under_enum {
        assert!(r["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("InvokeBedrockModel.json"));
        assert!(r["location"]["record"].is_u64());
        assert_eq!(r["raw"]["eventName"], r["action"]);
        let t = r["time"].as_str().unwrap();
        assert!(("2024-10-17T20:09:50Z"..="2024-10-17T20:11:22Z").contains(&t));
    }
    let invoke: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == "event" && r["rule"] == "scan.llm_entitlement_then_invoke")
        .collect();
    assert_eq!(invoke.len(), 1);
    assert_eq!(invoke[0]["action"], "InvokeModel");
    assert_eq!(invoke[0]["location"]["record"], 2);

    // --raw without --events: each finding row carries its own record.
    let (_, out, _) = scan_out(
        &[bedrock()],
        &["--view", "timeline", "--raw", "--format", "json"],
    );
    let t = json_of(&out);
    assert_eq!(t["timeline"][1]["raw"]["eventName"], "InvokeModel");
    assert_eq!(
        t["timeline"][0]["raw"]["eventName"],
        "ListFoundationModelAgreementOffers"
    );
    // CSV: a header and the same rows; times in the display offset, as RFC 3339.
    let (_, out, _) = scan_out(
        &[bedrock()],
        &[
            "--view",
            "timeline",
            "--events",
            "--format",
            "csv",
            "--utc-offset",
            "+09:00",
        ],
    );
    let mut rd = csv::Reader::from_reader(out.as_bytes());
    let head: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&head[..4], ["kind", "time", "last_seen", "events"]);
    let recs: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(recs.len(), rows.len());
    assert_eq!(&recs[0][1], "2024-10-18T05:09:50+09:00");
    // Table: the offset in the header, the time shifted.
    let (_, out, _) = scan_out(
        &[bedrock()],
        &["--view", "timeline", "--utc-offset", "-05:00"],
    );
    assert!(out.contains("TIME (-05:00)"), "{out}");
    assert!(out.contains("2024-10-17 15:09:50"), "{out}");
    assert!(out.contains("verdict: FAIL"), "{out}");
}

#[test]
fn insider_timeline_lists_the_four_hundred_reads_and_the_summary_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let logs = write_month(dir.path(), 25);
    let (code, out, err) = scan_out(
        std::slice::from_ref(&logs),
        &[
            "--baseline-days",
            "7",
            "--view",
            "timeline",
            "--events",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let v = json_of(&out);
    let rows = v["timeline"].as_array().unwrap();
    let bulk = rows
        .iter()
        .find(|r| r["kind"] == "finding" && r["rule"] == "scan.bulk_download")
        .unwrap();
    assert_eq!(bulk["events"], 400);
    assert!(bulk["last_seen"].as_str().unwrap() > bulk["time"].as_str().unwrap());
    let reads: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == "event" && r["rule"] == "scan.bulk_download")
        .collect();
    assert_eq!(reads.len(), 400);
    assert!(reads.iter().all(|r| r["action"] == "GetObject"
        && r["subject"] == "arn:aws:iam::111122223333:user/bob"
        && r["time"].as_str().unwrap().starts_with("2026-10-25T01:")));

    let (_, out, _) = scan_out(
        std::slice::from_ref(&logs),
        &[
            "--baseline-days",
            "7",
            "--view",
            "summary",
            "--format",
            "json",
        ],
    );
    let v = json_of(&out);
    let s = &v["results"];
    let read: u64 = v["summary"]["events"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(s["events_read"], read);
    // The four findings stand on the analyst's 400 reads (the others are among them).
    assert_eq!(s["events_with_hits"], 400);
    let pct = (1.0 - 400.0 / read as f64) * 100.0;
    assert!((s["data_reduction_pct"].as_f64().unwrap() - pct).abs() < 0.01);
    assert_eq!(s["findings"]["total"], 4);
    // Per severity, the same counts as the findings report.
    let (_, rep, _) = scan_json(std::slice::from_ref(&logs), &["--baseline-days", "7"]);
    for sev in ["critical", "high", "medium", "low", "info"] {
        let n = rep["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == sev)
            .count();
        assert_eq!(s["findings"]["by_severity"][sev], n, "{sev}: {s}");
    }
    assert_eq!(s["sources"][0]["source"], "cloudtrail");
    assert_eq!(s["sources"][0]["events"], read);
    assert!(s["first_event"].as_str().unwrap().starts_with("2026-10-01"));
    // The busiest date is the insider's day; dates are listed busiest first.
    let days = s["busiest_dates"].as_array().unwrap();
    assert_eq!(days[0]["date"], "2026-10-25");
    assert_eq!(days[0]["events_with_hits"], 400);
    assert!(days
        .windows(2)
        .all(|w| w[0]["events"].as_u64() >= w[1]["events"].as_u64()));
}

#[test]
fn summary_counts_agree_with_the_findings_report() {
    let all = td("scan/cloudtrail");
    let (code, v, _) = scan_json(std::slice::from_ref(&all), &["--allow-partial"]);
    assert_eq!(code, 1);
    let mut by_sev: BTreeMap<String, u64> = BTreeMap::new();
    for f in v["findings"].as_array().unwrap() {
        *by_sev
            .entry(f["severity"].as_str().unwrap().into())
            .or_default() += 1;
    }
    let (code2, out, _) = scan_out(
        std::slice::from_ref(&all),
        &["--allow-partial", "--view", "summary", "--format", "json"],
    );
    assert_eq!(code2, code);
    let s = json_of(&out);
    assert_eq!(s["verdict"], v["verdict"]);
    assert_eq!(s["skipped"], v["skipped"]);
    let r = &s["results"];
    for (sev, n) in &by_sev {
        assert_eq!(r["findings"]["by_severity"][sev], *n, "{sev}");
    }
    assert_eq!(r["findings"]["by_severity"]["critical"], 0);
    assert_eq!(r["events_read"], v["summary"]["events"]["cloudtrail"]);
    let top_high = r["top_findings"]["high"].as_array().unwrap();
    let n: u64 = top_high
        .iter()
        .map(|t| t["findings"].as_u64().unwrap())
        .sum();
    assert_eq!(n, by_sev["high"]);
    // The table: same numbers, the verdict line, and the coverage list.
    let (_, out, _) = scan_out(
        std::slice::from_ref(&all),
        &["--allow-partial", "--view", "summary"],
    );
    assert!(
        out.contains(&format!("events read          {}", r["events_read"])),
        "{out}"
    );
    assert!(
        out.contains("coverage (detections that could not run"),
        "{out}"
    );
    assert!(out.contains("verdict: FAIL"), "{out}");
}

#[test]
fn min_severity_hides_findings_but_not_from_the_verdict() {
    let all = td("scan/cloudtrail");
    let p = std::slice::from_ref(&all);
    let (code, v, _) = scan_json(p, &["--allow-partial", "--fail-on", "medium"]);
    let total = v["findings"].as_array().unwrap().len();
    let medium = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "medium")
        .count();
    assert!(medium > 0);
    let (code2, v2, _) = scan_json(
        p,
        &[
            "--allow-partial",
            "--fail-on",
            "medium",
            "--min-severity",
            "high",
        ],
    );
    assert_eq!(code2, code);
    assert_eq!(v2["verdict"], v["verdict"]);
    let shown = v2["findings"].as_array().unwrap();
    assert_eq!(shown.len(), total - medium);
    assert!(shown
        .iter()
        .all(|f| f["severity"] == "high" || f["severity"] == "critical"));
    assert_eq!(v2["summary"]["findings"], total);
    assert_eq!(v2["summary"]["hidden"], medium);
    assert_eq!(v2["summary"]["min_severity"], "high");
    // Everything hidden, and the gate still fails on what is hidden.
    let (code3, out, _) = scan_out(
        p,
        &[
            "--allow-partial",
            "--fail-on",
            "medium",
            "--min-severity",
            "critical",
        ],
    );
    assert_eq!(code3, 1);
    assert!(
        out.contains(&format!("{total} below --min-severity critical not listed")),
        "{out}"
    );
    assert!(!out.contains("scan.logging_disabled"), "{out}");
    // The timeline obeys it too.
    let (_, out, _) = scan_out(
        p,
        &[
            "--allow-partial",
            "--view",
            "timeline",
            "--min-severity",
            "high",
            "--format",
            "json",
        ],
    );
    let t = json_of(&out);
    assert_eq!(t["timeline"].as_array().unwrap().len(), total - medium);
    assert_eq!(t["summary"]["hidden"], medium);
}

/// A CloudTrail JSON Lines file: one principal calling from `ips` addresses, one failed call.
fn one_principal_trail(dir: &Path, ips: usize, name: &str) -> PathBuf {
    let mut s = String::new();
    for i in 0..ips {
        let rec = serde_json::json!({
            "eventVersion": "1.08", "eventTime": format!("2026-03-01T10:{:02}:00Z", i % 60),
            "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
            "awsRegion": "us-east-1", "sourceIPAddress": format!("198.51.100.{}", i + 1),
            "userAgent": "aws-cli/2.15.0", "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{name}"),
                             "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLEKEY1", "userName": name}
        });
        s.push_str(&rec.to_string());
        s.push('\n');
    }
    let denied = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-03-01T11:00:00Z",
        "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.1",
        "errorCode": "AccessDenied", "errorMessage": "not authorized",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{name}"),
                         "accountId": "111122223333", "userName": name}
    });
    s.push_str(&denied.to_string());
    s.push('\n');
    let p = dir.join("trail.jsonl");
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn principals_view_summarises_activity_with_bounded_sets() {
    let (code, out, err) = scan_out(
        &[td("scan/cloudtrail")],
        &[
            "--allow-partial",
            "--view",
            "principals",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let v = json_of(&out);
    let ps = v["principals"].as_array().unwrap();
    let role = ps
        .iter()
        .find(|p| p["principal"] == "arn:aws:sts::494659789341:assumed-role/test-role/cli")
        .unwrap();
    assert_eq!(role["findings"], 2);
    assert_eq!(role["worst"], "high");
    assert_eq!(
        role["access_keys"]["values"][0]["value"],
        "ASIA6FTSFH98XNF7DFZB"
    );
    assert_eq!(role["source_ips"]["values"][0]["value"], "35.249.253.232");
    assert_eq!(role["first_seen"], "2024-10-17T20:09:50Z");
    // Principals with findings come first, worst first.
    assert!(ps[0]["worst"] == "high" || ps[0]["worst"] == "critical");
    let td_user = ps
        .iter()
        .find(|p| p["principal"] == "arn:aws:iam::192374575148:user/TrailDiscover")
        .unwrap();
    let failed: Vec<&str> = td_user["actions_failed"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["value"].as_str().unwrap())
        .collect();
    assert!(
        failed.contains(&"DeleteTrail") && failed.contains(&"StopLogging"),
        "{failed:?}"
    );
    assert_eq!(td_user["errors"]["values"][0]["value"], "AccessDenied");
    let sum: u64 = ps.iter().map(|p| p["events"].as_u64().unwrap()).sum();
    assert_eq!(sum, v["summary"]["events"]["cloudtrail"].as_u64().unwrap());

    // 60 distinct addresses: 50 kept, the other 10 events counted.
    let dir = tempfile::tempdir().unwrap();
    let f = one_principal_trail(dir.path(), 60, "carol");
    let (code, out, err) = scan_out(&[f], &["--view", "principals", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let p = &json_of(&out)["principals"][0];
    assert_eq!(p["events"], 61);
    assert_eq!(p["succeeded"], 60);
    assert_eq!(p["failed"], 1);
    assert_eq!(p["source_ips"]["values"].as_array().unwrap().len(), 50);
    assert_eq!(p["source_ips"]["other_events"], 10);
    assert_eq!(p["actions_failed"]["values"][0]["value"], "CreateAccessKey");
    assert_eq!(p["access_keys"]["values"][0]["events"], 60);
}

#[test]
fn actions_view_counts_every_event_once() {
    let (_, out, _) = scan_out(
        &[td("scan/cloudtrail")],
        &["--allow-partial", "--view", "actions", "--format", "csv"],
    );
    let mut rd = csv::Reader::from_reader(out.as_bytes());
    let recs: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    let total: u64 = recs.iter().map(|r| r[0].parse::<u64>().unwrap()).sum();
    // 270 records, of which 16 are repeated deliveries (two sample files are byte-identical
    // copies of others: 15 + 1 records), counted once.
    assert_eq!(total, 254);
    let avail = recs
        .iter()
        .find(|r| &r[7] == "GetFoundationModelAvailability")
        .unwrap();
    assert_eq!(&avail[0], "10");
    assert_eq!(
        &avail[4], "10",
        "every discovery call is behind the enumeration finding"
    );
    let counts: Vec<u64> = recs.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "most frequent first"
    );
}

#[test]
fn search_finds_events_by_regex_and_escapes_what_it_prints() {
    let (code, out, err) = scan_out(
        &[td("scan/cloudtrail")],
        &[
            "--allow-partial",
            "--search",
            "^(Stop|Delete)Logging|DeleteTrail$",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let v = json_of(&out);
    assert_eq!(v["view"], "search");
    let m = v["matches"].as_array().unwrap();
    let actions: BTreeSet<&str> = m.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["DeleteTrail", "StopLogging"].into_iter().collect()
    );
    assert_eq!(v["search"]["matched"], m.len());
    assert!(m
        .iter()
        .all(|r| r["matched"] == serde_json::json!(["action"])));
    assert!(m.iter().all(|r| r["location"]["file"].is_string()));
    // Time is a searched field; --raw adds the record.
    let (_, out, _) = scan_out(
        &[bedrock()],
        &[
            "--search",
            "^2024-10-17T20:11:24Z$",
            "--raw",
            "--format",
            "jsonl",
        ],
    );
    let rows: Vec<Value> = out.lines().map(json_of).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["raw"]["eventTime"], "2024-10-17T20:11:24Z");
    // A bad or oversized pattern is a usage error, never a hang.
    for bad in ["(", "(a{1000}){1000}"] {
        let (code, _, err) = scan_out(&[bedrock()], &["--search", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("--search"), "{err}");
    }
    // Control characters from the input are escaped in the table, kept in JSON.
    let dir = tempfile::tempdir().unwrap();
    let f = one_principal_trail(dir.path(), 1, "evil\u{1b}[2J\rverdict: PASS");
    let (_, out, _) = scan_out(std::slice::from_ref(&f), &["--search", "evil"]);
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    assert!(out.contains("evil\\u{1b}[2J\\rverdict: PASS"), "{out}");
    let (_, out, _) = scan_out(&[f], &["--search", "evil", "--format", "json"]);
    let v = json_of(&out);
    assert!(v["matches"][0]["principal"]
        .as_str()
        .unwrap()
        .contains('\u{1b}'));
}

#[test]
fn flags_that_do_not_apply_are_usage_errors() {
    let p = bedrock();
    let cases: &[(&[&str], &str)] = &[
        (&["--events"], "--events applies to --view timeline"),
        (&["--view", "summary", "--raw"], "--raw applies"),
        (&["--view", "search"], "--view search needs --search"),
        (&["--view", "timeline", "--search", "x"], "does not combine"),
        (
            &["--view", "principals", "--min-severity", "high"],
            "--min-severity applies",
        ),
        (
            &["--utc-offset", "+09:00"],
            "--utc-offset applies to the views",
        ),
        (&["--format", "csv"], "--format csv is for the views"),
        (
            &["--view", "timeline", "--format", "sarif"],
            "supports --format table, csv, json, jsonl",
        ),
        (
            &["--view", "timeline", "--utc-offset", "9"],
            "not a UTC offset",
        ),
    ];
    for (args, msg) in cases {
        let (code, out, err) = scan_out(std::slice::from_ref(&p), args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
    }
    // Inference logs: audit-log flags are refused, naming the flag.
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("requests.csv");
    std::fs::write(&q, "client_id,ts,endpoint\na,2026-01-01T00:00:00Z,/v1\n").unwrap();
    let baseline = dir.path().join("b.json");
    for (flag, val) in [
        ("--rules", Some(dir.path().to_str().unwrap())),
        ("--baseline-days", Some("7")),
        ("--baseline", Some(baseline.to_str().unwrap())),
        ("--save-baseline", Some(baseline.to_str().unwrap())),
        ("--view", Some("timeline")),
        ("--search", Some("x")),
        ("--events", None),
        ("--raw", None),
        ("--utc-offset", Some("+01:00")),
    ] {
        let mut args = vec!["--source", "inference", flag];
        args.extend(val);
        let (code, _, err) = scan_out(std::slice::from_ref(&q), &args);
        assert_eq!(code, 2, "{flag}: {err}");
        assert!(
            err.contains(&format!(
                "{flag} applies to audit logs, not --source inference"
            )),
            "{flag}: {err}"
        );
    }
}

#[test]
fn quiet_scan_prints_input_warnings_once_in_the_output_only() {
    let dir = td("scan/cloudtrail/traildiscover.cloud");
    let (code, out, err) = scan_out(std::slice::from_ref(&dir), &[]);
    assert_eq!(code, 2);
    assert!(err.is_empty(), "-q: nothing on stderr, got {err}");
    assert!(!out.contains("see stderr"), "{out}");
    assert_eq!(out.matches("CreateApiKey.json").count(), 1, "{out}");
    assert!(out.contains("not read (skipped):"), "{out}");
}

#[test]
fn geoip_adds_countries_to_the_principal_view_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::new();
    for (i, ip) in ["89.160.20.115", "89.160.20.115", "203.0.113.5"]
        .iter()
        .enumerate()
    {
        let rec = serde_json::json!({
            "eventVersion": "1.08", "eventTime": format!("2026-03-01T10:0{i}:00Z"),
            "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
            "awsRegion": "us-east-1", "sourceIPAddress": ip,
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/dave", "accountId": "1"}
        });
        s.push_str(&rec.to_string());
        s.push('\n');
    }
    let f = dir.path().join("trail.jsonl");
    std::fs::write(&f, s).unwrap();
    let country = td("geoip/GeoLite2-Country-Test.mmdb");
    let asn = td("geoip/GeoLite2-ASN-Test.mmdb");
    let geo = [
        "--geoip",
        country.to_str().unwrap(),
        "--geoip",
        asn.to_str().unwrap(),
    ];
    let mut args = vec!["--view", "principals", "--format", "json"];
    args.extend(geo);
    let (code, out, err) = scan_out(std::slice::from_ref(&f), &args);
    assert_eq!(code, 0, "{err}");
    let p = &json_of(&out)["principals"][0];
    let ips = p["source_ips"]["values"].as_array().unwrap();
    let se = ips.iter().find(|v| v["value"] == "89.160.20.115").unwrap();
    assert_eq!(se["country"], "SE");
    assert_eq!(se["asn"], 29518);
    assert_eq!(se["events"], 2);
    let test_net = ips.iter().find(|v| v["value"] == "203.0.113.5").unwrap();
    assert!(test_net.get("country").is_none());
    assert_eq!(
        p["countries"]["values"],
        serde_json::json!([{"value": "SE", "events": 2}])
    );
    let mut args = vec!["--view", "summary", "--format", "json"];
    args.extend(geo);
    let (_, out, _) = scan_out(std::slice::from_ref(&f), &args);
    assert_eq!(
        json_of(&out)["results"]["countries"],
        serde_json::json!([{"country": "SE", "events": 2, "events_with_hits": 0}])
    );
    // Table: the address with its count, country and AS.
    let mut args = vec!["--view", "principals"];
    args.extend(geo);
    let (_, out, _) = scan_out(std::slice::from_ref(&f), &args);
    assert!(out.contains("89.160.20.115 (2 SE AS29518)"), "{out}");
    // Without --geoip nothing is added.
    let (_, out, _) = scan_out(&[f], &["--view", "summary", "--format", "json"]);
    assert!(json_of(&out)["results"].get("countries").is_none());
}
