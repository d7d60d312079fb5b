//! Focused tests per modifier and condition form, positive and negative.

use super::*;
use serde_json::json;

/// A rule with the given detection block (indented YAML lines under `detection:`).
fn rule(detection: &str) -> RuleSet {
    rule_ls(detection, "aws", Some("cloudtrail"))
}

fn rule_ls(detection: &str, product: &str, service: Option<&str>) -> RuleSet {
    let svc = service
        .map(|s| format!("    service: {s}\n"))
        .unwrap_or_default();
    let text = format!(
        "title: Test rule\nid: 11111111-2222-3333-4444-555555555555\nlevel: high\ntags:\n    - attack.defense-evasion\n    - attack.t1562.008\nlogsource:\n    product: {product}\n{svc}detection:\n{detection}"
    );
    let mut set = RuleSet::default();
    if let Err(e) = set.add_yaml(&text, "test.yml") {
        panic!("rule did not compile: {e}\n{text}");
    }
    set
}

fn compile_err(detection: &str) -> String {
    let text = format!("title: T\nid: x\nlogsource:\n    product: aws\ndetection:\n{detection}");
    RuleSet::default().add_yaml(&text, "t.yml").unwrap_err()
}

fn hits(set: &RuleSet, rec: Value) -> bool {
    !set.evaluate(&rec, "aws", Some("cloudtrail")).is_empty()
}

#[test]
fn plain_value_is_case_insensitive_exact() {
    let s = rule("    sel:\n        eventName: StopLogging\n    condition: sel\n");
    assert!(hits(&s, json!({"eventName": "stoplogging"})));
    assert!(!hits(&s, json!({"eventName": "StopLoggingNow"})));
    assert!(!hits(&s, json!({"other": "StopLogging"})));
}

#[test]
fn wildcards_and_escapes_in_plain_values() {
    let s = rule("    sel:\n        eventName: 'Delete*Trail?'\n    condition: sel\n");
    assert!(hits(&s, json!({"eventName": "DeleteMyTrailX"})));
    assert!(!hits(&s, json!({"eventName": "DeleteTrail"})));
    let e = rule("    sel:\n        a: 'x\\*y'\n    condition: sel\n");
    assert!(hits(&e, json!({"a": "x*y"})));
    assert!(!hits(&e, json!({"a": "xzy"})));
}

#[test]
fn value_list_is_or_and_map_is_and() {
    let s = rule("    sel:\n        eventName:\n            - A\n            - B\n        eventSource: s\n    condition: sel\n");
    assert!(hits(&s, json!({"eventName": "b", "eventSource": "S"})));
    assert!(!hits(&s, json!({"eventName": "b"})));
    assert!(!hits(&s, json!({"eventName": "c", "eventSource": "s"})));
}

#[test]
fn list_of_maps_is_or() {
    let s = rule("    sel:\n        - a: 1\n          b: 2\n        - c: 3\n    condition: sel\n");
    assert!(hits(&s, json!({"a": 1, "b": "2"})));
    assert!(hits(&s, json!({"c": 3})));
    assert!(!hits(&s, json!({"a": 1})));
}

#[test]
fn contains_startswith_endswith() {
    let s = rule("    sel:\n        a|contains: mid\n        b|startswith: pre\n        c|endswith: suf\n    condition: sel\n");
    assert!(hits(
        &s,
        json!({"a": "xMIDx", "b": "PREfix", "c": "theSUF"})
    ));
    assert!(!hits(&s, json!({"a": "xMIDx", "b": "xpre", "c": "theSUF"})));
    assert!(!hits(&s, json!({"a": "xMIDx", "b": "pre", "c": "sufx"})));
    assert!(!hits(&s, json!({"a": "mi d", "b": "pre", "c": "suf"})));
}

#[test]
fn contains_all() {
    let s = rule("    sel:\n        a|contains|all:\n            - foo\n            - bar\n    condition: sel\n");
    assert!(hits(&s, json!({"a": "bar and foo"})));
    assert!(!hits(&s, json!({"a": "foo only"})));
    // With an array field, each value may match a different element.
    assert!(hits(&s, json!({"a": ["foo", "bar"]})));
}

#[test]
fn regex_with_flags() {
    let s = rule("    sel:\n        arn|re: '.+:assumed-role/aws:.+'\n    condition: sel\n");
    assert!(hits(
        &s,
        json!({"arn": "arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1"})
    ));
    assert!(
        !hits(&s, json!({"arn": "arn:aws:sts::1:assumed-role/AWS:x"})),
        "re is case-sensitive"
    );
    let i = rule("    sel:\n        arn|re|i: '^ABC$'\n    condition: sel\n");
    assert!(hits(&i, json!({"arn": "abc"})));
    let m = rule("    sel:\n        t|re|m: '^b$'\n    condition: sel\n");
    assert!(hits(&m, json!({"t": "a\nb\nc"})));
    let no_m = rule("    sel:\n        t|re: '^b$'\n    condition: sel\n");
    assert!(!hits(&no_m, json!({"t": "a\nb\nc"})));
    let dot = rule("    sel:\n        t|re|s: 'a.b'\n    condition: sel\n");
    assert!(hits(&dot, json!({"t": "a\nb"})));
    assert!(compile_err("    sel:\n        t|re: '('\n    condition: sel\n").contains("bad regex"));
}

#[test]
fn cidr_accepts_zero_padded_ips() {
    let s = rule("    sel:\n        sourceIPAddress|cidr: 35.249.0.0/16\n    condition: sel\n");
    assert!(hits(&s, json!({"sourceIPAddress": "35.249.253.232"})));
    assert!(hits(&s, json!({"sourceIPAddress": "035.249.253.232"})));
    assert!(!hits(&s, json!({"sourceIPAddress": "35.250.0.1"})));
    assert!(!hits(&s, json!({"sourceIPAddress": "ec2.amazonaws.com"})));
    let v6 = rule("    sel:\n        ip|cidr: '2001:db8::/32'\n    condition: sel\n");
    assert!(hits(&v6, json!({"ip": "2001:db8::1"})));
}

#[test]
fn exists_true_and_false() {
    let t = rule("    sel:\n        errorCode|exists: true\n    condition: sel\n");
    assert!(hits(&t, json!({"errorCode": "AccessDenied"})));
    assert!(!hits(&t, json!({"eventName": "x"})));
    let f = rule("    sel:\n        errorCode|exists: false\n    condition: sel\n");
    assert!(hits(&f, json!({"eventName": "x"})));
    assert!(!hits(&f, json!({"errorCode": "x"})));
}

#[test]
fn numeric_comparisons() {
    let s = rule("    sel:\n        bytes|gt: 1000\n        n|lte: 5\n    condition: sel\n");
    assert!(hits(&s, json!({"bytes": 2356.0, "n": "5"})));
    assert!(!hits(&s, json!({"bytes": 1000, "n": 5})));
    assert!(!hits(&s, json!({"bytes": "lots", "n": 5})));
    let g = rule("    sel:\n        a|gte: 3\n        b|lt: 3\n    condition: sel\n");
    assert!(hits(&g, json!({"a": 3, "b": 2.9})));
    assert!(!hits(&g, json!({"a": 2, "b": 2})));
}

#[test]
fn numbers_and_strings_compare() {
    let s = rule("    sel:\n        code: 0\n    condition: sel\n");
    assert!(hits(&s, json!({"code": 0})));
    assert!(hits(&s, json!({"code": "0"})));
    assert!(hits(&s, json!({"code": 0.0})));
    assert!(!hits(&s, json!({"code": 1})));
    let q = rule("    sel:\n        code: '404'\n    condition: sel\n");
    assert!(hits(&q, json!({"code": 404})));
    let b = rule("    sel:\n        granted: true\n    condition: sel\n");
    assert!(hits(&b, json!({"granted": true})));
    assert!(hits(&b, json!({"granted": "True"})));
    assert!(!hits(&b, json!({"granted": false})));
}

#[test]
fn null_matches_missing_or_null() {
    let s = rule("    sel:\n        eventName: x\n        errorCode: null\n    condition: sel\n");
    assert!(hits(&s, json!({"eventName": "x"})));
    assert!(hits(&s, json!({"eventName": "x", "errorCode": null})));
    assert!(!hits(&s, json!({"eventName": "x", "errorCode": "Denied"})));
}

#[test]
fn fieldref_compares_two_fields() {
    let s = rule("    sel:\n        a|fieldref: b.c\n    condition: sel\n");
    assert!(hits(&s, json!({"a": "Bob", "b": {"c": "bob"}})));
    assert!(!hits(&s, json!({"a": "Bob", "b": {"c": "alice"}})));
    assert!(!hits(&s, json!({"a": "Bob"})));
}

#[test]
fn windash_and_base64() {
    let w = rule("    sel:\n        cmd|windash|contains: ' -enc '\n    condition: sel\n");
    assert!(hits(&w, json!({"cmd": "powershell /enc abc"})));
    assert!(hits(&w, json!({"cmd": "powershell -enc abc"})));
    assert!(!hits(&w, json!({"cmd": "powershell +enc abc"})));
    let b = rule("    sel:\n        d|base64: 'hello'\n    condition: sel\n");
    assert!(hits(&b, json!({"d": "aGVsbG8="})));
    assert!(
        !hits(&b, json!({"d": "AGVSBG8="})),
        "base64 is case-sensitive"
    );
    // base64offset finds the value at any alignment inside a larger encoded blob.
    let o = rule("    sel:\n        d|base64offset|contains: 'http'\n    condition: sel\n");
    for prefix in ["", "a", "ab", "abc"] {
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{prefix}http://x"));
        assert!(hits(&o, json!({ "d": enc })), "offset {prefix:?}");
    }
    assert!(!hits(&o, json!({"d": "aGVsbG8="})));
}

#[test]
fn cased_modifier() {
    let s = rule("    sel:\n        a|cased: AbC\n    condition: sel\n");
    assert!(hits(&s, json!({"a": "AbC"})));
    assert!(!hits(&s, json!({"a": "abc"})));
}

#[test]
fn keywords_search_every_value() {
    let s = rule("    keywords:\n        - 'Microsoft.Authorization/roleAssignments/write'\n        - 'other'\n    condition: keywords\n");
    assert!(hits(
        &s,
        json!({"operationName": {"value": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"}})
    ));
    assert!(hits(&s, json!({"list": [1, "xx other xx"]})));
    assert!(!hits(
        &s,
        json!({"operationName": "Microsoft.Compute/virtualMachines/write"})
    ));
}

#[test]
fn nested_paths_and_arrays() {
    let s = rule("    sel:\n        protoPayload.authorizationInfo.permission: storage.buckets.setIamPolicy\n    condition: sel\n");
    let rec = json!({"protoPayload": {"authorizationInfo": [
        {"permission": "storage.objects.get"},
        {"permission": "storage.buckets.setIamPolicy"}
    ]}});
    assert!(hits(&s, rec));
    assert!(!hits(
        &s,
        json!({"protoPayload": {"authorizationInfo": [{"permission": "x"}]}})
    ));
    // A key that itself contains dots.
    assert!(hits(
        &s,
        json!({"protoPayload.authorizationInfo.permission": "storage.buckets.setIamPolicy"})
    ));
}

#[test]
fn conditions_and_or_not_parens() {
    let s = rule("    a:\n        x: 1\n    b:\n        y: 1\n    c:\n        z: 1\n    condition: (a or b) and not c\n");
    assert!(hits(&s, json!({"x": 1})));
    assert!(hits(&s, json!({"y": 1})));
    assert!(!hits(&s, json!({"y": 1, "z": 1})));
    assert!(!hits(&s, json!({"z": 1})));
}

#[test]
fn one_of_all_of_them() {
    let one =
        rule("    sel_a:\n        x: 1\n    sel_b:\n        y: 1\n    condition: 1 of sel_*\n");
    assert!(hits(&one, json!({"y": 1})));
    assert!(!hits(&one, json!({"z": 1})));
    let all =
        rule("    sel_a:\n        x: 1\n    sel_b:\n        y: 1\n    condition: all of sel_*\n");
    assert!(!hits(&all, json!({"y": 1})));
    assert!(hits(&all, json!({"x": 1, "y": 1})));
    let them =
        rule("    sel_a:\n        x: 1\n    sel_b:\n        y: 1\n    condition: 1 of them\n");
    assert!(hits(&them, json!({"x": 1})));
    let allthem =
        rule("    sel_a:\n        x: 1\n    sel_b:\n        y: 1\n    condition: all of them\n");
    assert!(!hits(&allthem, json!({"x": 1})));
    assert!(hits(&allthem, json!({"x": 1, "y": "1"})));
}

#[test]
fn condition_list_is_or() {
    let s = rule(
        "    a:\n        x: 1\n    b:\n        y: 1\n    condition:\n        - a\n        - b\n",
    );
    assert!(hits(&s, json!({"y": 1})));
    assert!(!hits(&s, json!({"z": 1})));
}

#[test]
fn unsupported_constructs_give_precise_reasons() {
    assert!(
        compile_err("    sel:\n        a: 1\n    condition: sel | count() by b > 5\n")
            .contains("aggregation")
    );
    assert!(compile_err(
        "    sel:\n        a: 1\n    b:\n        c: 1\n    condition: sel near b\n"
    )
    .contains("near"));
    assert!(
        compile_err("    sel:\n        a|utf16le: x\n    condition: sel\n")
            .contains("unsupported modifier 'utf16le'")
    );
    assert!(
        compile_err("    sel:\n        a: 1\n    condition: sel and missing\n")
            .contains("unknown selection 'missing'")
    );
    assert!(compile_err("    sel:\n        a: 1\n").contains("no 'condition'"));
    let corr = "title: c\nid: c\ncorrelation:\n    type: event_count\n    rules: [a]\n";
    assert!(RuleSet::default()
        .add_yaml(corr, "c.yml")
        .unwrap_err()
        .contains("correlation"));
    let multi = "action: global\ntitle: t\n---\nlogsource:\n    product: aws\n";
    assert!(RuleSet::default()
        .add_yaml(multi, "m.yml")
        .unwrap_err()
        .contains("multi-document"));
    assert!(RuleSet::default()
        .add_yaml("a: [", "bad.yml")
        .unwrap_err()
        .contains("YAML error"));
}

#[test]
fn logsource_filters_rules() {
    let s = rule_ls(
        "    sel:\n        a: 1\n    condition: sel\n",
        "azure",
        Some("signinlogs"),
    );
    let rec = json!({"a": 1});
    assert_eq!(s.evaluate(&rec, "azure", Some("signinlogs")).len(), 1);
    assert_eq!(s.evaluate(&rec, "AZURE", Some("SigninLogs")).len(), 1);
    assert!(s.evaluate(&rec, "azure", Some("auditlogs")).is_empty());
    assert!(s.evaluate(&rec, "aws", Some("signinlogs")).is_empty());
    // Caller does not know the service: every rule of the product runs.
    assert_eq!(s.evaluate(&rec, "azure", None).len(), 1);
    // A rule without a service runs for every service of its product.
    let any = rule_ls(
        "    sel:\n        a: 1\n    condition: sel\n",
        "azure",
        None,
    );
    assert_eq!(any.evaluate(&rec, "azure", Some("auditlogs")).len(), 1);
}

#[test]
fn gcp_field_aliases() {
    let s = rule_ls(
        "    sel:\n        gcp.audit.method_name: storage.buckets.delete\n    condition: sel\n",
        "gcp",
        Some("gcp.audit"),
    );
    let rec = json!({"protoPayload": {"methodName": "storage.buckets.delete"}});
    assert_eq!(s.evaluate(&rec, "gcp", Some("gcp.audit")).len(), 1);
    let ecs = json!({"gcp": {"audit": {"method_name": "storage.buckets.delete"}}});
    assert_eq!(s.evaluate(&ecs, "gcp", Some("gcp.audit")).len(), 1);
    let d = rule_ls(
        "    sel:\n        data.protoPayload.methodName: m\n    condition: sel\n",
        "gcp",
        None,
    );
    assert_eq!(
        d.evaluate(&json!({"protoPayload": {"methodName": "m"}}), "gcp", None)
            .len(),
        1
    );
    assert_eq!(
        d.evaluate(
            &json!({"data": {"protoPayload": {"methodName": "m"}}}),
            "gcp",
            None
        )
        .len(),
        1
    );
    assert!(d
        .evaluate(&json!({"protoPayload": {"methodName": "n"}}), "gcp", None)
        .is_empty());
}

#[test]
fn finding_fields() {
    let s = rule("    selection:\n        eventName: StopLogging\n    filter:\n        errorCode: x\n    condition: selection and not filter\n");
    let f = s.evaluate(
        &json!({"eventName": "StopLogging"}),
        "aws",
        Some("cloudtrail"),
    );
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.id, "sigma.11111111-2222-3333-4444-555555555555");
    assert_eq!(f.title, "Test rule");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.tags, vec!["attack:defense-evasion", "attack:T1562.008"]);
    assert_eq!(f.evidence["rule_file"], json!("test.yml"));
    assert_eq!(
        f.evidence["rule_id"],
        json!("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(f.evidence["matched_selections"], json!(["selection"]));
}

#[test]
fn tag_conversion() {
    assert_eq!(convert_tag("attack.t1562.008"), "attack:T1562.008");
    assert_eq!(
        convert_tag("attack.initial-access"),
        "attack:initial-access"
    );
    assert_eq!(convert_tag("attack.g0016"), "attack:G0016");
    assert_eq!(convert_tag("attack.s0002"), "attack:S0002");
    assert_eq!(convert_tag("cve.2021-44228"), "cve:2021-44228");
    assert_eq!(
        convert_tag("detection.threat-hunting"),
        "detection:threat-hunting"
    );
    assert_eq!(convert_tag("plain"), "plain");
}

#[test]
fn levels_map_to_severities() {
    for (lvl, sev) in [
        ("informational", Severity::Info),
        ("low", Severity::Low),
        ("medium", Severity::Medium),
        ("high", Severity::High),
        ("critical", Severity::Critical),
    ] {
        let text = format!("title: t\nid: i\nlevel: {lvl}\nlogsource:\n    product: aws\ndetection:\n    s:\n        a: 1\n    condition: s\n");
        let mut set = RuleSet::default();
        set.add_yaml(&text, "t.yml").unwrap();
        assert_eq!(set.evaluate(&json!({"a": 1}), "aws", None)[0].severity, sev);
    }
}

// ---------------------------------------------------------------------------------------
// Correlation rules (the Suzaku ones are driven through the binary in
// tests/sigma_correlation.rs; these pin the window semantics of the other conditions).

fn corr_set(body: &str) -> RuleSet {
    let text = format!(
        "title: C\nid: c\ncorrelation:\n{body}---\ntitle: B\nid: b\nname: b\nlogsource:\n    product: aws\ndetection:\n    s:\n        eventName: X\n    condition: s\n"
    );
    let mut set = RuleSet::default();
    set.add_yaml(&text, "c.yml")
        .unwrap_or_else(|e| panic!("{e}"));
    set
}

/// Findings of the correlation over events of group `k` at the given seconds.
fn run_corr(set: &RuleSet, events: &[(i64, &str)]) -> Vec<Finding> {
    let mut hits = Vec::new();
    for (t, k) in events {
        let rec = json!({"eventName": "X", "k": k});
        let before = hits.len();
        assert!(set
            .evaluate_with_hits(&rec, "aws", None, &mut hits)
            .is_empty());
        for h in &mut hits[before..] {
            h.time_ms = Some(t * 1000);
        }
    }
    set.correlate(hits, 100).0
}

#[test]
fn timespans_parse_and_refuse() {
    use super::correlation::parse_timespan;
    assert_eq!(parse_timespan("30s"), Ok(30_000));
    assert_eq!(parse_timespan("5m"), Ok(300_000));
    assert_eq!(parse_timespan("2h"), Ok(7_200_000));
    assert_eq!(parse_timespan("1d"), Ok(86_400_000));
    for bad in [
        "",
        "m",
        "5",
        "5 m",
        "5M",
        "-5m",
        "0s",
        "367d",
        "99999999999999999d",
    ] {
        assert!(parse_timespan(bad).is_err(), "{bad}");
    }
}

#[test]
fn eq_and_lt_are_judged_on_each_trailing_window() {
    let eq = corr_set("    type: event_count\n    rules: [b]\n    group-by: [k]\n    timespan: 1m\n    condition: {eq: 2}\n");
    // Windows: 1, 2, 3 → eq 2 only at the second event: one finding of 2.
    let f = run_corr(&eq, &[(0, "a"), (10, "a"), (20, "a")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence["count"], 2);
    // The first event leaves the window: 1, 2, 2 → one run of two events (count 3).
    let f = run_corr(&eq, &[(0, "a"), (30, "a"), (70, "a")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence["count"], 3);
    let lt = corr_set("    type: event_count\n    rules: [b]\n    group-by: [k]\n    timespan: 1m\n    condition: {lt: 2}\n");
    // Sparse: each isolated event is a window of one (and the group closes between them,
    // quiet for more than the timespan) → one finding each; a dense group satisfies it only
    // at its first event.
    let f = run_corr(
        &lt,
        &[
            (0, "a"),
            (100, "a"),
            (200, "a"),
            (0, "b"),
            (1, "b"),
            (2, "b"),
        ],
    );
    let mut by: Vec<(&str, u64)> = f
        .iter()
        .map(|x| (x.subject.as_str(), x.evidence["count"].as_u64().unwrap()))
        .collect();
    by.sort();
    assert_eq!(by, [("k=a", 1), ("k=a", 1), ("k=a", 1), ("k=b", 1)]);
}

#[test]
fn missing_group_field_is_its_own_group() {
    let set = corr_set("    type: event_count\n    rules: [b]\n    group-by: [nope]\n    timespan: 1m\n    condition: {gte: 2}\n");
    let f = run_corr(&set, &[(0, "a"), (1, "b")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].subject, "nope=(none)");
    assert_eq!(f[0].evidence["group"], json!({"nope": null}));
}

#[test]
fn correlation_sections_are_validated() {
    let bad = |body: &str| -> String {
        let text = format!("title: C\nid: c\ncorrelation:\n{body}");
        RuleSet::default().add_yaml(&text, "c.yml").unwrap_err()
    };
    assert!(bad("    type: count\n").contains("unknown type 'count'"));
    assert!(
        bad("    type: event_count\n    rules: [a]\n    timespan: 5m\n")
            .contains("needs a condition")
    );
    assert!(bad(
        "    type: event_count\n    rules: [a]\n    timespan: 5m\n    condition: {gte: -1}\n"
    )
    .contains("whole number"));
    assert!(bad(
        "    type: event_count\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 2000000}\n"
    )
    .contains("above the limit"));
    assert!(bad("    type: event_count\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 2, field: x}\n").contains("only applies to value_count"));
    assert!(bad("    type: temporal_ordered\n    rules: [a, b]\n    timespan: 5m\n    condition: {gte: 3}\n").contains("temporal_ordered"));
    assert!(bad("    type: event_count\n    rules: [a]\n    timespan: 5m\n    condition: {gte: 2}\n    window: 3\n").contains("unknown attribute 'window'"));
    assert!(bad(
        "    type: event_count\n    rules: [c]\n    timespan: 5m\n    condition: {gte: 2}\n"
    )
    .contains("names itself"));
}
