//! Exposure: a resource made public or shared outside the organisation — S3 bucket / access
//! point policies (statements parsed: principal, effect, and whether a condition restricts
//! who), ACL grants (canned ACLs, grant lists, grant headers), the public access block
//! removed or turned off, snapshot and image shares, GCP IAM grants to `allUsers`,
//! `allAuthenticatedUsers` and members of other domains, Azure role assignments to
//! principals of other tenants, Azure public containers. Decisions in docs/scan.md
//! ("Exposure"); only [`Op::PolicyChange`] events are looked at.

use super::burst::strings;
use super::{Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op};
use serde_json::Value;

pub struct Exposure;

impl Detection for Exposure {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.public_or_external_access"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if !e.success || e.op != Op::PolicyChange {
            return;
        }
        if let Some(x) = exposure(cx, e) {
            let (what, grantees) = (x.what, x.grantees);
            let sev = if cx.kind_of(e).is_some() {
                Severity::Critical
            } else {
                Severity::High
            };
            let f = cx
                .finding(
                    "scan.public_or_external_access",
                    sev,
                    e,
                    format!("{what} on {} ({})", e.resource, e.action),
                )
                .with("grantees", grantees);
            let f = match x.detail {
                Some(d) => f.with("detail", d),
                None => f,
            };
            out.push(f);
        }
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane(
            "scan.public_or_external_access",
            input,
        )]
    }
}

/// The policy document of a policy-setting call (a JSON string or an object in CloudTrail).
pub(super) fn policy_document(e: &Event) -> Option<Value> {
    let rp = e.raw.get("requestParameters")?;
    let doc = rp
        .get("bucketPolicy")
        .or_else(|| rp.get("policyDocument"))
        .or_else(|| rp.get("policy"))
        .or_else(|| rp.get("resourcePolicy"))?;
    match doc {
        Value::String(t) => serde_json::from_str(t).ok(),
        v => Some(v.clone()),
    }
}

/// A policy's statements (`Statement` is an object or an array).
pub(super) fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

fn external(cx: &Cx, account: &str, own: &str) -> bool {
    account != own && !cx.s.trusted_accounts.iter().any(|t| t == account)
}

/// What an exposing change did.
struct Exposed {
    what: String,
    grantees: Vec<Value>,
    /// Why, when the grantees alone do not say it (the conditions that did not restrict,
    /// the public-access-block settings turned off, the tenant compared with).
    detail: Option<String>,
}

/// Case-insensitive object lookup (`Principal` / `principal`, `PrincipalId` / `principalId`).
fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Condition keys that narrow *who* may use an `Allow` (network origin, organisation,
/// account, principal). Everything else (`aws:SecureTransport`, `aws:UserAgent`,
/// `aws:Referer` — both set by the caller —, encryption headers, `s3:prefix`, times)
/// leaves a `*` principal public.
const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:vpcsourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalservicename",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:userid",
    "aws:username",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
];

/// The condition key that restricts who an `Allow` statement applies to, if any. A key
/// restricts only under a positive operator (`StringEquals`, `ArnLike`, `IpAddress`,
/// `ForAnyValue:...`), not under `...IfExists` (a public request without the key passes),
/// `...Not...` (everyone but) or `Null`, and not with a wildcard value (`*`,
/// `0.0.0.0/0`, `::/0`).
fn restricting_condition(cond: Option<&Value>) -> Option<String> {
    let ops = cond?.as_object()?;
    for (op, kv) in ops {
        let o = op.to_ascii_lowercase();
        if o.ends_with("ifexists") || o.contains("not") || o == "null" {
            continue;
        }
        let Some(kv) = kv.as_object() else { continue };
        for (k, v) in kv {
            let key = k.to_ascii_lowercase();
            if !RESTRICTING_KEYS.contains(&key.as_str()) {
                continue;
            }
            let vals = match v {
                Value::Array(a) => a.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
                x => vec![x.to_string()],
            };
            let open = vals.iter().any(|x| {
                let x = x.trim_matches('"');
                x == "*" || x == "0.0.0.0/0" || x == "::/0"
            });
            if !open && !vals.is_empty() {
                return Some(format!("{op} {k}"));
            }
        }
    }
    None
}

/// Grants in an IAM-style resource policy (S3 bucket / access point, role trust, Lambda,
/// Secrets Manager...): `*` principals not restricted by a condition, `NotPrincipal` with
/// `Allow`, and AWS accounts other than the event's and `trusted_accounts`.
fn policy_grants(cx: &Cx, doc: &Value, own: &str, x: &mut Exposed) -> bool {
    let mut public = false;
    let mut notes: Vec<String> = Vec::new();
    for st in statements(doc) {
        let effect = get_ci(&st, "Effect").and_then(Value::as_str).unwrap_or("");
        if !effect.eq_ignore_ascii_case("Allow") {
            continue;
        }
        let restricted = restricting_condition(get_ci(&st, "Condition"));
        let mut ps: Vec<String> = Vec::new();
        match get_ci(&st, "Principal") {
            Some(Value::String(p)) => ps.push(p.clone()),
            Some(Value::Object(o)) => {
                for (kind, v) in o {
                    // Services and identity providers are not accounts.
                    if kind.eq_ignore_ascii_case("AWS")
                        || kind.eq_ignore_ascii_case("CanonicalUser")
                    {
                        ps.extend(strings(Some(v)));
                    }
                }
            }
            _ => {}
        }
        if get_ci(&st, "NotPrincipal").is_some() {
            // Allow everyone except the listed principals.
            ps.push("*".into());
            notes.push("Allow with NotPrincipal (everyone but the listed principals)".into());
        }
        for p in ps {
            if p == "*" {
                if restricted.is_some() {
                    continue;
                }
                public = true;
                if !x.grantees.iter().any(|g| g == "*") {
                    x.grantees.push("*".into());
                }
                if get_ci(&st, "Condition").is_some() {
                    notes.push(
                        "a condition is set but does not restrict who (no source network, organisation, account or principal key)"
                            .into(),
                    );
                }
            } else if let Some(acct) = account_of(&p) {
                if external(cx, &acct, own) {
                    x.grantees.push(p.into());
                }
            }
        }
    }
    if !notes.is_empty() {
        notes.dedup();
        x.detail = Some(notes.join("; "));
    }
    public
}

/// The public groups of S3 ACLs.
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// Public or cross-account grants in an S3 ACL change: a canned ACL (`x-amz-acl`:
/// `public-read`, `public-read-write`, `authenticated-read`), the grant list of an
/// `AccessControlPolicy` (a group URI, or a canonical user that is not the owner), or a
/// grant header (`x-amz-grant-read: uri="..."`).
fn acl_grants(rp: &Value, x: &mut Exposed) -> bool {
    let mut public = false;
    for canned in strings(get_ci(rp, "x-amz-acl")) {
        if matches!(
            canned.as_str(),
            "public-read" | "public-read-write" | "authenticated-read"
        ) {
            public = true;
            x.grantees.push(format!("canned:{canned}").into());
        }
    }
    let acp = get_ci(rp, "AccessControlPolicy");
    let owner = acp
        .and_then(|a| get_ci(a, "Owner"))
        .and_then(|o| get_ci(o, "ID"))
        .and_then(Value::as_str);
    let grants = acp
        .and_then(|a| get_ci(a, "AccessControlList"))
        .and_then(|l| get_ci(l, "Grant"));
    let grants: Vec<&Value> = match grants {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(g @ Value::Object(_)) => vec![g],
        _ => Vec::new(),
    };
    for g in grants {
        let perm = get_ci(g, "Permission")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let Some(grantee) = get_ci(g, "Grantee") else {
            continue;
        };
        if let Some(uri) = get_ci(grantee, "URI").and_then(Value::as_str) {
            let group = if uri == ALL_USERS {
                "AllUsers"
            } else if uri == AUTHENTICATED_USERS {
                "AuthenticatedUsers"
            } else {
                continue; // LogDelivery and other service groups
            };
            public = true;
            x.grantees.push(format!("{group}:{perm}").into());
        } else if let (Some(id), Some(owner)) =
            (get_ci(grantee, "ID").and_then(Value::as_str), owner)
        {
            if id != owner {
                x.grantees
                    .push(format!("canonical-user:{id}:{perm}").into());
            }
        }
    }
    for (k, v) in rp.as_object().into_iter().flatten() {
        let k = k.to_ascii_lowercase();
        let Some(perm) = k.strip_prefix("x-amz-grant-") else {
            continue;
        };
        for h in strings(Some(v)) {
            for part in h.split(',') {
                let val = part
                    .trim()
                    .strip_prefix("uri=")
                    .map(|u| u.trim_matches('"'));
                let group = match val {
                    Some(ALL_USERS) => "AllUsers",
                    Some(AUTHENTICATED_USERS) => "AuthenticatedUsers",
                    _ => continue,
                };
                public = true;
                x.grantees.push(format!("{group}:{perm}").into());
            }
        }
    }
    public
}

/// A boolean that CloudTrail may record as `false` or `"false"`.
fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The public-access-block settings a `Put*PublicAccessBlock` turns off (a setting that
/// is absent is off: S3 treats it as `false`).
fn access_block_off(rp: &Value) -> Option<Vec<String>> {
    let cfg = get_ci(rp, "PublicAccessBlockConfiguration")?;
    let off: Vec<String> = [
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ]
    .iter()
    .filter(|k| truthy(get_ci(cfg, k)) != Some(true))
    .map(|k| k.to_string())
    .collect();
    (!off.is_empty()).then_some(off)
}

/// The domain of a GCP IAM member (`user:a@corp.com`, `group:g@corp.com`,
/// `domain:corp.com`), or `None` for members that are not people of a domain.
fn member_domain(m: &str) -> Option<&str> {
    let (kind, id) = m.split_once(':')?;
    match kind {
        "user" | "group" => id.rsplit_once('@').map(|(_, d)| d),
        "domain" => Some(id),
        _ => None,
    }
}

/// `d` is `trusted` or a subdomain of it.
fn domain_in(d: &str, trusted: &str) -> bool {
    let (d, t) = (d.to_ascii_lowercase(), trusted.to_ascii_lowercase());
    d == t || d.ends_with(&format!(".{t}"))
}

/// Is a GCP IAM member outside the organisation? `allUsers` / `allAuthenticatedUsers`
/// always (public); users, groups and domains when their domain is not trusted; service
/// accounts `NAME@PROJECT.iam.gserviceaccount.com` of another project (Google-managed
/// service agents never). `trusted` = `[scan] trusted_domains`, or the caller's own
/// domain when none are configured (`None`: neither, so only public members count).
fn gcp_external(m: &str, trusted: Option<&[String]>, project: &str) -> Option<bool> {
    if m == "allUsers" || m == "allAuthenticatedUsers" {
        return Some(true); // public
    }
    let trusted = trusted?;
    if let Some(sa) = m.strip_prefix("serviceAccount:") {
        let dom = sa.rsplit_once('@').map(|(_, d)| d)?;
        let proj = dom.strip_suffix(".iam.gserviceaccount.com")?;
        if proj.starts_with("gcp-sa-") || proj == "gs-project-accounts" {
            return None;
        }
        let ok = proj == project || trusted.iter().any(|t| t == proj || domain_in(dom, t));
        return (!ok).then_some(false);
    }
    let d = member_domain(m)?;
    let ok = trusted.iter().any(|t| domain_in(d, t));
    (!ok).then_some(false)
}

/// GCP IAM grants (`SetIamPolicy`, `storage.setIamPermissions`): the policy delta's
/// `ADD`s, else the bindings of the new policy.
fn gcp_grants(cx: &Cx, e: &Event, x: &mut Exposed) -> bool {
    let pp = e.raw.get("protoPayload").unwrap_or(&Value::Null);
    let mut members: Vec<String> = Vec::new();
    let deltas = pp
        .pointer("/serviceData/policyDelta/bindingDeltas")
        .or_else(|| pp.pointer("/metadata/datasetChange/bindingDeltas"))
        .and_then(Value::as_array);
    if let Some(ds) = deltas {
        for d in ds {
            if d.get("action").and_then(Value::as_str) == Some("ADD") {
                members.extend(strings(d.get("member")));
            }
        }
    } else {
        for b in pp
            .pointer("/request/policy/bindings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            members.extend(strings(b.get("members")));
        }
    }
    let caller_domain: Vec<String> = (!e.principal.ends_with(".gserviceaccount.com"))
        .then(|| e.principal.rsplit_once('@').map(|(_, d)| d.to_string()))
        .flatten()
        .into_iter()
        .collect();
    let trusted: Option<&[String]> = if !cx.s.trusted_domains.is_empty() {
        Some(&cx.s.trusted_domains)
    } else if !caller_domain.is_empty() {
        Some(&caller_domain)
    } else {
        None
    };
    let mut public = false;
    let mut external = false;
    for m in members {
        if x.grantees.iter().any(|g| g == m.as_str()) {
            continue;
        }
        match gcp_external(&m, trusted, &e.account) {
            Some(true) => public = true,
            Some(false) => external = true,
            None => continue,
        }
        x.grantees.push(m.into());
    }
    if external {
        x.what = "access granted outside the organisation's domains".into();
        x.detail = Some(match trusted {
            Some(t) if !cx.s.trusted_domains.is_empty() => {
                format!("trusted domains: {}", t.join(", "))
            }
            Some(t) => format!(
                "no [scan] trusted_domains: the caller's domain {} taken as the organisation's",
                t.join(", ")
            ),
            None => String::new(),
        });
    }
    public
}

/// The request / response body of an Azure activity-log record, parsed (it is a JSON
/// string in `properties.requestbody` / `responseBody`).
fn azure_bodies(raw: &Value) -> Vec<Value> {
    let props = get_ci(raw, "properties").unwrap_or(&Value::Null);
    ["requestbody", "responseBody"]
        .iter()
        .filter_map(|k| get_ci(props, k))
        .filter_map(|v| match v {
            Value::String(s) => serde_json::from_str(s).ok(),
            Value::Object(_) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

/// The tenant the event was recorded in: the record's `tenantId`, else the caller's
/// token claim.
fn azure_own_tenant(raw: &Value) -> Option<String> {
    get_ci(raw, "tenantId")
        .and_then(Value::as_str)
        .or_else(|| {
            raw.pointer(
                "/identity/claims/http:~1~1schemas.microsoft.com~1identity~1claims~1tenantid",
            )
            .and_then(Value::as_str)
        })
        .or_else(|| raw.pointer("/identity/claims/tid").and_then(Value::as_str))
        .map(|t| t.to_ascii_lowercase())
}

/// Azure role assignments (`roleAssignments/write`) and Lighthouse delegations
/// (`registrationDefinitions/write`) to a principal of another tenant: the body names the
/// principal's tenant (`principalTenantId`, `tenantId` of the assignment, Lighthouse's
/// `managedByTenantId`) and it is neither the event's tenant nor in `trusted_tenants`, or
/// the principal type is `ForeignGroup` (a group of another tenant).
fn azure_grants(cx: &Cx, e: &Event, x: &mut Exposed) -> bool {
    let own = azure_own_tenant(&e.raw);
    let trusted = |t: &str| {
        let t = t.to_ascii_lowercase();
        own.as_deref() == Some(t.as_str())
            || cx
                .s
                .trusted_tenants
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&t))
    };
    for body in azure_bodies(&e.raw) {
        let props = get_ci(&body, "properties").unwrap_or(&body);
        let principal = get_ci(props, "principalId")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let ptype = get_ci(props, "principalType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let tenant = get_ci(props, "principalTenantId")
            .or_else(|| get_ci(props, "managedByTenantId"))
            .or_else(|| get_ci(props, "tenantId"))
            .and_then(Value::as_str);
        let g = if let Some(t) = tenant.filter(|t| !trusted(t)) {
            format!("tenant:{t}/principal:{principal}")
        } else if ptype.eq_ignore_ascii_case("ForeignGroup") {
            format!("foreign-group:{principal}")
        } else {
            continue;
        };
        if !x.grantees.iter().any(|v| v == g.as_str()) {
            x.grantees.push(g.into());
        }
    }
    if !x.grantees.is_empty() {
        x.what = "access granted to another tenant".into();
        x.detail = Some(format!(
            "own tenant: {}; trusted tenants: {}",
            own.as_deref().unwrap_or("unknown"),
            if cx.s.trusted_tenants.is_empty() {
                "none configured".to_string()
            } else {
                cx.s.trusted_tenants.join(", ")
            }
        ));
    }
    false
}

/// Did this event make a resource public or grant someone outside the organisation?
fn exposure(cx: &Cx, e: &Event) -> Option<Exposed> {
    let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
    let own = e.account.as_str();
    let mut x = Exposed {
        what: String::new(),
        grantees: Vec::new(),
        detail: None,
    };
    let mut public = false;
    let up = e.action.to_ascii_uppercase();
    match e.action.as_str() {
        "PutBucketPolicy"
        | "PutAccessPointPolicy"
        | "UpdateAssumeRolePolicy"
        | "PutResourcePolicy" => {
            let doc = policy_document(e)?;
            public = policy_grants(cx, &doc, own, &mut x);
        }
        "PutBucketAcl" | "PutObjectAcl" => {
            public = acl_grants(rp, &mut x);
        }
        "DeletePublicAccessBlock"
        | "DeleteBucketPublicAccessBlock"
        | "DeleteAccountPublicAccessBlock" => {
            return Some(Exposed {
                what: "public access block removed".into(),
                grantees: vec![],
                detail: None,
            });
        }
        "PutPublicAccessBlock" | "PutBucketPublicAccessBlock" | "PutAccountPublicAccessBlock" => {
            let off = access_block_off(rp)?;
            return Some(Exposed {
                what: "public access block turned off".into(),
                detail: Some(format!("settings off: {}", off.join(", "))),
                grantees: vec![],
            });
        }
        "ModifySnapshotAttribute" | "ModifyImageAttribute" => {
            let items = rp
                .pointer("/createVolumePermission/add/items")
                .or_else(|| rp.pointer("/launchPermission/add/items"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for it in items {
                if let Some(u) = it.get("userId").and_then(Value::as_str) {
                    if external(cx, u, own) {
                        x.grantees.push(u.into());
                    }
                }
                if it.get("group").and_then(Value::as_str) == Some("all") {
                    public = true;
                    x.grantees.push("all".into());
                }
            }
        }
        "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => {
            for v in rp
                .get("valuesToAdd")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if v == "all" {
                    public = true;
                    x.grantees.push("all".into());
                } else if external(cx, v, own) {
                    x.grantees.push(v.into());
                }
            }
        }
        a if a.ends_with("SetIamPolicy") || a == "storage.setIamPermissions" => {
            public = gcp_grants(cx, e, &mut x);
        }
        _ if up.ends_with("/ROLEASSIGNMENTS/WRITE")
            || up.ends_with("/REGISTRATIONDEFINITIONS/WRITE") =>
        {
            azure_grants(cx, e, &mut x);
        }
        _ if up.ends_with("/CONTAINERS/WRITE") => {
            let level = azure_bodies(&e.raw)
                .iter()
                .chain(std::iter::once(&e.raw))
                .find_map(|b| {
                    let props = get_ci(b, "properties").unwrap_or(b);
                    get_ci(props, "publicAccess")
                        .and_then(Value::as_str)
                        .map(String::from)
                });
            if matches!(level.as_deref(), Some("Container" | "Blob")) {
                public = true;
                x.grantees
                    .push(format!("anonymous:{}", level.unwrap_or_default()).into());
            }
        }
        _ => return None,
    }
    if x.grantees.is_empty() {
        return None;
    }
    x.what = if public {
        "made public".to_string()
    } else if x.what.is_empty() {
        "access granted to an external account".to_string()
    } else {
        x.what
    };
    Some(x)
}

/// The account id in an AWS principal (`arn:aws:iam::123456789012:root`, `123456789012`).
fn account_of(p: &str) -> Option<String> {
    if p.len() == 12 && p.chars().all(|c| c.is_ascii_digit()) {
        return Some(p.to_string());
    }
    let parts: Vec<&str> = p.split(':').collect();
    if parts.len() >= 5 && parts[0] == "arn" {
        let a = parts[4];
        if a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()) {
            return Some(a.to_string());
        }
    }
    None
}
