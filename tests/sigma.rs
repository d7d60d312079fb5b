//! Sigma engine on the real SigmaHQ cloud rules and real CloudTrail / GCP audit records
//! (library-level: `mlguard::scan::sigma::RuleSet`).

use mlguard::scan::sigma::RuleSet;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

const RULES: &str = "testdata/sigma/rules/cloud";
const EVENTS: &str = "testdata/sigma/events";

fn rules() -> RuleSet {
    let (set, _) = RuleSet::load_dir(Path::new(RULES)).unwrap();
    set
}

fn records(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(EVENTS).join(path)).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Array(a) => a,
        one => vec![one],
    }
}

/// Rule file names (without directory) matched by any record of the file.
fn matched(set: &RuleSet, path: &str, product: &str, service: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in records(path) {
        for f in set.evaluate(&r, product, Some(service)) {
            assert!(f.id.starts_with("sigma."), "{}", f.id);
            assert_eq!(f.evidence["rule_id"].as_str(), f.id.strip_prefix("sigma."));
            let file = f.evidence["rule_file"].as_str().unwrap().to_string();
            let name = Path::new(&file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(name);
        }
    }
    out
}

fn set_of(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_sigmahq_cloud_rule_loads_or_is_reported() {
    let (set, rep) = RuleSet::load_dir(Path::new(RULES)).unwrap();
    // 57 AWS + 26 GCP + 123 Azure rule files; none needs a construct we cannot evaluate.
    assert_eq!(rep.loaded.len() + rep.skipped.len(), 206);
    assert_eq!(rep.loaded.len(), 206, "skipped: {:?}", rep.skipped);
    assert!(rep.skipped.is_empty());
    assert_eq!(set.len(), 206);
    // Ids are the rule UUIDs, unique.
    let ids: BTreeSet<&String> = rep.loaded.iter().collect();
    assert_eq!(ids.len(), 206);
    assert!(rep
        .loaded
        .iter()
        .any(|i| i == "4db60cc0-36fb-42b7-9b58-a5b53019fb74"));
    let counts: Vec<(String, String, usize)> = set
        .logsource_counts()
        .into_iter()
        .map(|((p, s), n)| (p, s, n))
        .collect();
    let want: Vec<(String, String, usize)> = [
        ("aws", "cloudtrail", 57),
        ("azure", "activitylogs", 35),
        ("azure", "auditlogs", 44),
        ("azure", "pim", 7),
        ("azure", "riskdetection", 19),
        ("azure", "signinlogs", 18),
        ("gcp", "gcp.audit", 16),
        ("gcp", "google_workspace.admin", 7),
        ("gcp", "google_workspace.login", 3),
    ]
    .iter()
    .map(|(p, s, n)| (p.to_string(), s.to_string(), *n))
    .collect();
    assert_eq!(counts, want);
    for (product, n) in [("aws", 57), ("gcp", 26), ("azure", 123)] {
        let (_, r) = RuleSet::load_dir(&Path::new(RULES).join(product)).unwrap();
        assert_eq!(r.loaded.len(), n, "{product}");
    }
}

#[test]
fn unsupported_and_broken_rules_are_reported_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(
        Path::new(RULES).join("aws/cloudtrail/aws_cloudtrail_disable_logging.yml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("good.yml"), &good).unwrap();
    std::fs::write(
        dir.path().join("agg.yml"),
        good.replace(
            "condition: selection",
            "condition: selection | count() by userIdentity.arn > 5",
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/broken.yaml"), "title: [unterminated\n").unwrap();
    std::fs::write(
        dir.path().join("sub/mod.yml"),
        good.replace("eventName:", "eventName|utf16le:"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
    std::fs::write(dir.path().join("sub/zcopy.yml"), &good).unwrap();
    let (set, rep) = RuleSet::load_dir(dir.path()).unwrap();
    assert_eq!(
        rep.loaded,
        vec!["4db60cc0-36fb-42b7-9b58-a5b53019fb74".to_string()]
    );
    assert_eq!(set.len(), 1);
    assert_eq!(rep.skipped.len(), 4, "{:?}", rep.skipped);
    let reason = |name: &str| {
        rep.skipped
            .iter()
            .find(|(f, _)| f.ends_with(name))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{name} not reported: {:?}", rep.skipped))
    };
    assert!(reason("agg.yml").contains("aggregation"));
    assert!(reason("broken.yaml").contains("YAML error"));
    assert!(reason("mod.yml").contains("unsupported modifier 'utf16le'"));
    assert!(reason("zcopy.yml").contains("duplicate rule id 4db60cc0-36fb-42b7-9b58-a5b53019fb74"));
    assert!(reason("zcopy.yml").contains("good.yml"));
}

#[test]
fn missing_rules_dir_is_an_error_naming_it() {
    let err = RuleSet::load_dir(Path::new("testdata/sigma/no-such-dir")).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

#[test]
fn cloudtrail_logging_tampering_matches_disable_logging_rule() {
    let set = rules();
    for file in [
        "cloudtrail/traildiscover-StopLogging.json",
        "cloudtrail/traildiscover-DeleteTrail.json",
        "cloudtrail/traildiscover-UpdateTrail.json",
        "cloudtrail/stratus-StopCloudtrailTrail.json",
        "cloudtrail/stratus-DeleteCloudtrailTrail.json",
    ] {
        assert_eq!(
            matched(&set, file, "aws", "cloudtrail"),
            set_of(&["aws_cloudtrail_disable_logging.yml"]),
            "{file}"
        );
    }
    let rec = &records("cloudtrail/traildiscover-StopLogging.json")[0];
    let f = set.evaluate(rec, "aws", Some("cloudtrail"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74");
    assert_eq!(f[0].title, "AWS CloudTrail Important Change");
    assert_eq!(f[0].severity.as_str(), "medium");
    // Rule tags `attack.defense-impairment`, `attack.t1685.002`.
    assert_eq!(
        f[0].tags,
        vec!["attack:defense-impairment", "attack:T1685.002"]
    );
    assert_eq!(
        f[0].evidence["matched_selections"],
        json!(["selection_source"])
    );
}

#[test]
fn stratus_recordings_match_their_rules() {
    let set = rules();
    let cases: &[(&str, &[&str])] = &[
        (
            "cloudtrail/stratus-RemoveVPCFlowLogs.json",
            &["aws_cloudtrail_vpc_flow_logs_deleted.yml"],
        ),
        (
            "cloudtrail/stratus-ConsoleLoginWithoutMFA.json",
            &["aws_cloudtrail_console_login_success_without_mfa.yml"],
        ),
        (
            "cloudtrail/stratus-OpenIngressPort22OnSecurityGroup.json",
            &["aws_cloudtrail_security_group_change_ingress_egress.yml"],
        ),
        (
            "cloudtrail/stratus-ExfiltrateEBSSnapshotBySharingIt.json",
            &["aws_snapshot_backup_exfiltration.yml"],
        ),
        (
            "cloudtrail/stratus-UsageOfSSM-SendCommandOnMultipleInstances.json",
            &["aws_cloudtrail_ssm_malicious_usage.yml"],
        ),
        // No SigmaHQ rule covers PutEventSelectors: the built-in detection has to.
        (
            "cloudtrail/stratus-DisableCloudtrailLoggingThroughEventSelectors.json",
            &[],
        ),
    ];
    for (file, want) in cases {
        assert_eq!(
            matched(&set, file, "aws", "cloudtrail"),
            set_of(want),
            "{file}"
        );
    }
}

#[test]
fn cloudtrail_records_do_not_match_other_products() {
    let set = rules();
    let rec = &records("cloudtrail/traildiscover-StopLogging.json")[0];
    assert!(set.evaluate(rec, "gcp", Some("gcp.audit")).is_empty());
    assert!(set.evaluate(rec, "azure", None).is_empty());
    assert!(set.evaluate(rec, "aws", Some("s3")).is_empty());
    assert_eq!(set.evaluate(rec, "aws", None).len(), 1);
}

#[test]
fn gcp_audit_samples_evaluate_without_false_positives() {
    let set = rules();
    // None of the three GCS samples (object get/list, setIamPermissions) is covered by a
    // SigmaHQ GCP rule.
    for file in [
        "gcp-audit/gcs-admin-set-iam-permissions.json",
        "gcp-audit/gcs-data-access-object-get.json",
        "gcp-audit/gcs-data-access-object-list.json",
    ] {
        assert!(matched(&set, file, "gcp", "gcp.audit").is_empty(), "{file}");
    }
    // The same record with the method the bucket rule lists does match it, through the
    // ECS `gcp.audit.method_name` → `protoPayload.methodName` mapping.
    let mut rec = records("gcp-audit/gcs-admin-set-iam-permissions.json").remove(0);
    rec["protoPayload"]["methodName"] = json!("storage.buckets.delete");
    let f = set.evaluate(&rec, "gcp", Some("gcp.audit"));
    let files: Vec<&str> = f
        .iter()
        .map(|f| f.evidence["rule_file"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("gcp_bucket_modified_or_deleted.yml"));
}

#[test]
fn custom_rule_reaches_into_gcp_arrays() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("iam.yml"),
        "title: GCS bucket IAM grant\nid: 0a6b1d0e-0000-4000-8000-000000000001\nlevel: high\n\
         logsource:\n    product: gcp\n    service: gcp.audit\ndetection:\n\
         \x20   selection:\n        protoPayload.authorizationInfo.permission: storage.buckets.setIamPolicy\n\
         \x20       protoPayload.authorizationInfo.granted: true\n\
         \x20       protoPayload.serviceData.policyDelta.bindingDeltas.role|endswith: '.admin'\n\
         \x20   condition: selection\n",
    )
    .unwrap();
    let (set, rep) = RuleSet::load_dir(dir.path()).unwrap();
    assert_eq!(rep.loaded.len(), 1, "{:?}", rep.skipped);
    let iam = &records("gcp-audit/gcs-admin-set-iam-permissions.json")[0];
    assert_eq!(set.evaluate(iam, "gcp", Some("gcp.audit")).len(), 1);
    let get = &records("gcp-audit/gcs-data-access-object-get.json")[0];
    assert!(set.evaluate(get, "gcp", Some("gcp.audit")).is_empty());
}

/// Azure records written by hand after Microsoft's documented schemas (no public sample in
/// shared data): activity log (diagnostic settings export) and Entra ID sign-in log.
#[test]
fn azure_activity_and_signin_records() {
    let set = rules();
    let activity = json!({
        "time": "2024-05-01T10:00:00Z",
        "resourceId": "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV",
        "operationName": "MICROSOFT.KEYVAULT/VAULTS/KEYS/DELETE",
        "category": "Administrative",
        "resultType": "Success",
        "callerIpAddress": "10.0.0.1",
        "properties": {"message": "Microsoft.KeyVault/vaults/keys/delete"}
    });
    let ids: BTreeSet<String> = set
        .evaluate(&activity, "azure", Some("activitylogs"))
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert!(
        ids.contains("sigma.80eeab92-0979-4152-942d-96749e11df40"),
        "{ids:?}"
    );
    // The REST API form (`{"value": [...]}` export) has LocalizableString objects.
    let mut rest = activity.clone();
    rest["operationName"] = json!({
        "value": "Microsoft.KeyVault/vaults/keys/delete",
        "localizedValue": "Delete Key"
    });
    assert!(set
        .evaluate(&rest, "azure", Some("activitylogs"))
        .iter()
        .any(|f| f.id == "sigma.80eeab92-0979-4152-942d-96749e11df40"));
    // Not a sign-in record: the signinlogs rules never run on it.
    assert!(set
        .evaluate(&activity, "azure", Some("signinlogs"))
        .iter()
        .all(|f| f.id != "sigma.80eeab92-0979-4152-942d-96749e11df40"));

    // MFA interrupted: ResultType is a string in exports, a number in the rule.
    let signin = json!({
        "ResultType": "50074",
        "ResultDescription": "Strong Auth required.",
        "Status": "Failure",
        "userAgent": "Mozilla/5.0"
    });
    let f = set.evaluate(&signin, "azure", Some("signinlogs"));
    assert!(
        f.iter()
            .any(|f| f.id == "sigma.5496ff55-42ec-4369-81cb-00f417029e25"
                && f.evidence["matched_selections"] == json!(["selection_50074"])),
        "{f:?}"
    );
    let mut other = signin.clone();
    other["ResultType"] = json!(0);
    assert!(set
        .evaluate(&other, "azure", Some("signinlogs"))
        .iter()
        .all(|f| f.id != "sigma.5496ff55-42ec-4369-81cb-00f417029e25"));
}

#[test]
fn empty_and_odd_records_match_nothing() {
    let set = rules();
    for rec in [
        json!({}),
        json!(null),
        json!([]),
        json!("StopLogging"),
        json!({"eventName": null, "eventSource": 12, "requestParameters": [[], {}]}),
    ] {
        for (p, s) in [
            ("aws", Some("cloudtrail")),
            ("gcp", None),
            ("azure", None),
            ("", None),
        ] {
            let f = set.evaluate(&rec, p, s);
            assert!(
                f.is_empty(),
                "{rec} as {p}: {:?}",
                f.iter().map(|f| &f.id).collect::<Vec<_>>()
            );
        }
    }
}
