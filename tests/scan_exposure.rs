//! `scan.public_or_external_access` on parsed documents: S3 bucket policies (principal,
//! effect, whether a condition restricts who), ACL grants, the public access block, GCP IAM
//! grants outside the organisation's domains, Azure role assignments to other tenants.
//! Each case is a record built here (or the real GCP sample, changed), run through the
//! real binary; positive and negative.

use serde_json::{json, Value};
use std::path::PathBuf;

use crate::util as common;
use common::{bin, testdata};

/// Scan one record (written as a file) with an optional mlguard.toml: the exposure
/// findings and the exit code.
fn scan_one(rec: &Value, config: Option<&str>) -> (i32, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("rec.json");
    std::fs::write(&f, serde_json::to_vec(rec).unwrap()).unwrap();
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
    assert_eq!(
        v["summary"]["warnings"],
        0,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let fs = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "scan.public_or_external_access")
        .cloned()
        .collect();
    (o.status.code().unwrap(), fs)
}

fn ct(name: &str, params: Value) -> Value {
    json!({
        "eventVersion": "1.09", "eventTime": "2026-11-03T12:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/eve", "accountId": "111122223333"},
        "recipientAccountId": "111122223333", "requestParameters": params
    })
}

fn policy(stmt: Value) -> Value {
    ct(
        "PutBucketPolicy",
        json!({"bucketName": "acme-data", "bucketPolicy": {"Version": "2012-10-17", "Statement": [stmt]}}),
    )
}

fn grantees(f: &Value) -> Vec<String> {
    f["evidence"]["grantees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn bucket_policies_public_unless_a_condition_restricts_who() {
    let get = |principal: Value, cond: Option<Value>| {
        let mut st = json!({"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-data/*"});
        if let Some(c) = cond {
            st["Condition"] = c;
        }
        policy(st)
    };
    // Public: `*`, {"AWS": "*"}, {"AWS": ["*"]}, with no condition or one that does not
    // restrict who (transport, caller-chosen headers, an open network, ...IfExists).
    let public = [
        get(json!("*"), None),
        get(
            json!({"AWS": "*"}),
            Some(json!({"Bool": {"aws:SecureTransport": "true"}})),
        ),
        get(
            json!({"AWS": ["*"]}),
            Some(json!({"StringLike": {"aws:Referer": "https://acme.example/*"}})),
        ),
        get(
            json!("*"),
            Some(json!({"IpAddress": {"aws:SourceIp": ["0.0.0.0/0"]}})),
        ),
        get(
            json!("*"),
            Some(json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c"}})),
        ),
        get(
            json!("*"),
            Some(json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}})),
        ),
    ];
    for (i, rec) in public.iter().enumerate() {
        let (code, fs) = scan_one(rec, None);
        assert_eq!(code, 1, "case {i}");
        assert_eq!(fs.len(), 1, "case {i}");
        assert_eq!(fs[0]["severity"], "high", "case {i}");
        assert!(
            fs[0]["title"].as_str().unwrap().starts_with("made public"),
            "case {i}"
        );
        assert_eq!(grantees(&fs[0]), ["*"], "case {i}");
        if i > 0 {
            assert!(
                fs[0]["evidence"]["detail"]
                    .as_str()
                    .unwrap()
                    .contains("does not restrict"),
                "case {i}"
            );
        }
    }
    // Not public: conditions that restrict who, Deny statements, service principals.
    let private = [
        get(
            json!({"AWS": "*"}),
            Some(json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})),
        ),
        get(
            json!("*"),
            Some(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
        ),
        get(
            json!("*"),
            Some(json!({"StringEquals": {"AWS:SourceVpce": ["vpce-1a2b3c"]}})),
        ),
        get(json!({"Service": "cloudtrail.amazonaws.com"}), None),
        get(json!("arn:aws:iam::111122223333:role/reader"), None),
        policy(
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-data/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        ),
    ];
    for (i, rec) in private.iter().enumerate() {
        let (code, fs) = scan_one(rec, None);
        assert_eq!((code, fs.len()), (0, 0), "case {i}: {fs:?}");
    }
    // Another account: external; trusted accounts are not.
    let other = get(json!({"AWS": "arn:aws:iam::444455556666:root"}), None);
    let (_, fs) = scan_one(&other, None);
    assert_eq!(fs.len(), 1);
    assert!(fs[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("access granted to an external account"));
    assert_eq!(grantees(&fs[0]), ["arn:aws:iam::444455556666:root"]);
    let (code, fs) = scan_one(
        &other,
        Some("[scan]\ntrusted_accounts = [\"444455556666\"]\n"),
    );
    assert_eq!((code, fs.len()), (0, 0));
    // A policy given as a JSON string, on a configured ML bucket: critical.
    let mut rec = get(json!("*"), None);
    rec["requestParameters"]["bucketPolicy"] =
        rec["requestParameters"]["bucketPolicy"].to_string().into();
    let (_, fs) = scan_one(
        &rec,
        Some("[assets]\nmodel_artifacts = [\"s3://acme-data/*\"]\n"),
    );
    assert_eq!(fs[0]["severity"], "critical");
}

#[test]
fn acl_grants_are_read_from_the_grant_list_canned_acls_and_headers() {
    let owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
    let acl = |grants: Value| {
        ct(
            "PutBucketAcl",
            json!({"bucketName": "public-read-replica", "acl": [""], "AccessControlPolicy": {
                "Owner": {"ID": owner},
                "AccessControlList": {"Grant": grants}}}),
        )
    };
    let (code, fs) = scan_one(
        &acl(json!([
            {"Grantee": {"xsi:type": "CanonicalUser", "ID": owner}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}
        ])),
        None,
    );
    assert_eq!((code, fs.len()), (1, 1));
    assert_eq!(grantees(&fs[0]), ["AllUsers:READ"]);
    // One grant as an object, to any AWS account.
    let (_, fs) = scan_one(
        &acl(
            json!({"Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}, "Permission": "WRITE"}),
        ),
        None,
    );
    assert_eq!(grantees(&fs[0]), ["AuthenticatedUsers:WRITE"]);
    // Another canonical user: external, not public.
    let (_, fs) = scan_one(
        &acl(
            json!([{"Grantee": {"ID": "ffff00000000000000000000000000000000000000000000000000000000aaaa"}, "Permission": "READ"}]),
        ),
        None,
    );
    assert!(fs[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("access granted to an external account"));
    // Not public: the owner and the log-delivery group — although the bucket's name
    // contains "public-read" (the old text search flagged it).
    let (code, fs) = scan_one(
        &acl(json!([
            {"Grantee": {"ID": owner}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"}, "Permission": "WRITE"}
        ])),
        None,
    );
    assert_eq!((code, fs.len()), (0, 0), "{fs:?}");
    // Canned ACLs and grant headers.
    let canned = |v: Value| {
        ct(
            "PutObjectAcl",
            json!({"bucketName": "b", "key": "k", "x-amz-acl": v}),
        )
    };
    assert_eq!(
        grantees(&scan_one(&canned(json!(["public-read"])), None).1[0]),
        ["canned:public-read"]
    );
    assert_eq!(
        scan_one(&canned(json!("bucket-owner-full-control")), None)
            .1
            .len(),
        0
    );
    let hdr = ct(
        "PutBucketAcl",
        json!({"bucketName": "b", "x-amz-grant-read": "id=\"abc\", uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""}),
    );
    assert_eq!(grantees(&scan_one(&hdr, None).1[0]), ["AllUsers:read"]);
}

#[test]
fn public_access_block_turned_off_or_removed() {
    let pab = |v: Value| {
        ct(
            "PutBucketPublicAccessBlock",
            json!({"bucketName": "acme-data", "publicAccessBlock": "", "PublicAccessBlockConfiguration": v}),
        )
    };
    let (code, fs) = scan_one(
        &pab(
            json!({"BlockPublicAcls": false, "IgnorePublicAcls": "false", "BlockPublicPolicy": true, "RestrictPublicBuckets": true}),
        ),
        None,
    );
    assert_eq!((code, fs.len()), (1, 1));
    assert!(fs[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("public access block turned off"));
    assert_eq!(
        fs[0]["evidence"]["detail"],
        "settings off: BlockPublicAcls, IgnorePublicAcls"
    );
    let (code, fs) = scan_one(
        &pab(
            json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": "true", "RestrictPublicBuckets": true}),
        ),
        None,
    );
    assert_eq!((code, fs.len()), (0, 0));
    let (_, fs) = scan_one(
        &ct(
            "DeleteBucketPublicAccessBlock",
            json!({"bucketName": "acme-data"}),
        ),
        None,
    );
    assert!(fs[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("public access block removed"));
}

fn gcp_sample() -> Value {
    let p: PathBuf = testdata("scan/gcp/gcs-admin-set-iam-permissions.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn gcp_with(members: &[(&str, &str)]) -> Value {
    let mut v = gcp_sample();
    v["protoPayload"]["serviceData"]["policyDelta"]["bindingDeltas"] = members
        .iter()
        .map(|(action, m)| json!({"action": action, "role": "roles/storage.objectViewer", "member": m}))
        .collect();
    v
}

#[test]
fn gcp_iam_grants_outside_the_organisations_domains() {
    // The real sample: user@organization.com granted by user@organization.com. Without
    // trusted_domains the caller's domain is the organisation's: nothing.
    let (code, fs) = scan_one(&gcp_sample(), None);
    assert_eq!((code, fs.len()), (0, 0), "{fs:?}");
    // With a trusted list that does not hold it, the same grant is external.
    let (code, fs) = scan_one(
        &gcp_sample(),
        Some("[scan]\ntrusted_domains = [\"acme.example\"]\n"),
    );
    assert_eq!((code, fs.len()), (1, 1));
    assert_eq!(grantees(&fs[0]), ["user:user@organization.com"]);
    assert!(fs[0]["evidence"]["detail"]
        .as_str()
        .unwrap()
        .contains("acme.example"));
    // Another domain, added: external. The same member removed: nothing.
    let (_, fs) = scan_one(&gcp_with(&[("ADD", "user:eve@gmail.com")]), None);
    assert_eq!(grantees(&fs[0]), ["user:eve@gmail.com"]);
    assert!(fs[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("access granted outside the organisation's domains"));
    assert!(fs[0]["evidence"]["detail"]
        .as_str()
        .unwrap()
        .contains("organization.com"));
    assert_eq!(
        scan_one(&gcp_with(&[("REMOVE", "user:eve@gmail.com")]), None)
            .1
            .len(),
        0
    );
    // Public members.
    let (_, fs) = scan_one(
        &gcp_with(&[("ADD", "allUsers"), ("ADD", "allAuthenticatedUsers")]),
        None,
    );
    assert!(fs[0]["title"].as_str().unwrap().starts_with("made public"));
    assert_eq!(grantees(&fs[0]), ["allUsers", "allAuthenticatedUsers"]);
    // Subdomains of a trusted domain, this project's service accounts and Google's
    // service agents are inside; another project's service account is not.
    let cfg = "[scan]\ntrusted_domains = [\"organization.com\"]\n";
    let inside = gcp_with(&[
        ("ADD", "group:ml@eng.organization.com"),
        ("ADD", "domain:organization.com"),
        (
            "ADD",
            "serviceAccount:trainer@sample-logs-prod.iam.gserviceaccount.com",
        ),
        (
            "ADD",
            "serviceAccount:service-123@gcp-sa-aiplatform.iam.gserviceaccount.com",
        ),
    ]);
    assert_eq!(scan_one(&inside, Some(cfg)).1.len(), 0);
    let (_, fs) = scan_one(
        &gcp_with(&[
            (
                "ADD",
                "serviceAccount:x@attacker-proj.iam.gserviceaccount.com",
            ),
            ("ADD", "domain:organization.co"),
        ]),
        Some(cfg),
    );
    assert_eq!(
        grantees(&fs[0]),
        [
            "serviceAccount:x@attacker-proj.iam.gserviceaccount.com",
            "domain:organization.co"
        ]
    );
}

fn role_assignment(op: &str, tenant: &str, body: Value) -> Value {
    json!({
        "time": "2026-11-03T12:00:00Z", "tenantId": tenant,
        "resourceId": "/subscriptions/S/resourceGroups/ml/providers/Microsoft.Authorization/roleAssignments/ra1",
        "operationName": op, "category": "Administrative", "resultType": "Success",
        "callerIpAddress": "198.51.100.9",
        "identity": {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "ops@corp.example"}},
        "properties": {"requestbody": body.to_string()}
    })
}

#[test]
fn azure_role_assignments_to_other_tenants() {
    const OWN: &str = "11111111-1111-1111-1111-111111111111";
    const OTHER: &str = "99999999-9999-9999-9999-999999999999";
    let ra = |props: Value| {
        role_assignment(
            "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
            OWN,
            json!({"Id": "ra1", "Properties": props}),
        )
    };
    let to_other = ra(
        json!({"PrincipalId": "p-1", "PrincipalType": "User", "PrincipalTenantId": OTHER,
        "RoleDefinitionId": "/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/owner", "Scope": "/subscriptions/S"}),
    );
    let (code, fs) = scan_one(&to_other, None);
    assert_eq!((code, fs.len()), (1, 1));
    assert_eq!(grantees(&fs[0]), [format!("tenant:{OTHER}/principal:p-1")]);
    assert!(fs[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("access granted to another tenant"));
    assert!(fs[0]["evidence"]["detail"].as_str().unwrap().contains(OWN));
    // The same tenant, or a trusted one: nothing.
    let same = ra(json!({"PrincipalId": "p-1", "PrincipalType": "User", "PrincipalTenantId": OWN}));
    assert_eq!(scan_one(&same, None).1.len(), 0);
    let cfg = format!("[scan]\ntrusted_tenants = [\"{OTHER}\"]\n");
    assert_eq!(scan_one(&to_other, Some(&cfg)).1.len(), 0);
    // No tenant in the body: only a ForeignGroup is known to be external.
    assert_eq!(
        scan_one(
            &ra(json!({"PrincipalId": "p-2", "PrincipalType": "User"})),
            None
        )
        .1
        .len(),
        0
    );
    let (_, fs) = scan_one(
        &ra(json!({"PrincipalId": "g-1", "PrincipalType": "ForeignGroup"})),
        None,
    );
    assert_eq!(grantees(&fs[0]), ["foreign-group:g-1"]);
    // Lighthouse: a delegation to another tenant's principals.
    let lh = role_assignment(
        "Microsoft.ManagedServices/registrationDefinitions/write",
        OWN,
        json!({"properties": {"registrationDefinitionName": "msp", "managedByTenantId": OTHER,
            "authorizations": [{"principalId": "p-9", "roleDefinitionId": "b24988ac-6180-42a0-ab88-20f7382dd24c"}]}}),
    );
    let (_, fs) = scan_one(&lh, None);
    assert_eq!(fs.len(), 1);
    assert!(grantees(&fs[0])[0].starts_with(&format!("tenant:{OTHER}")));
    // A public container, and a private one.
    let container = |level: &str| {
        let mut r = role_assignment(
            "MICROSOFT.STORAGE/STORAGEACCOUNTS/BLOBSERVICES/CONTAINERS/WRITE",
            OWN,
            json!({"properties": {"publicAccess": level}}),
        );
        r["resourceId"] = "/subscriptions/S/resourceGroups/ml/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/models".into();
        r
    };
    assert_eq!(
        grantees(&scan_one(&container("Container"), None).1[0]),
        ["anonymous:Container"]
    );
    assert_eq!(scan_one(&container("None"), None).1.len(), 0);
}
