//! Built-in detections over the normalised [`Event`] stream.
//!
//! Two families, and the difference matters for what a user can expect:
//! - *Stateless* detections look at one event (a trail stopped, a bucket made public, a model
//!   promoted by someone outside the approvers) or one principal-hour against an absolute
//!   threshold (mass deletion, invoke failures). They fire everywhere in the input.
//! - *Behavioural* detections compare a principal with its own history: new principal on an
//!   ML asset, new source IP / user agent, bulk download against its own hourly peak. The
//!   history is learned from the baseline (the first `baseline_days` of the input, or a saved
//!   baseline file) and then keeps growing as the scan walks forward in time. Inside the
//!   baseline window they stay silent (that is what "learning" means); bulk downloads of a
//!   principal with *no* history at all are judged against absolute thresholds, so a first
//!   burst is never silent.
//!
//! Every rule id, its severity and its ATLAS / ATT&CK ids are listed in docs/scan.md.

use super::assets::{bucket_of, AssetKind, AssetMap};
use crate::input::logs::{Event, Source};
use crate::report::{Finding, Severity};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `[scan]` in mlguard.toml. Defaults are documented in docs/scan.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Days at the start of the input used only to learn behaviour (0 = no baseline window).
    pub baseline_days: f64,
    /// Identities allowed to promote / approve models (MLflow user ids, IAM ARNs; globs).
    pub approvers: Vec<String>,
    /// AWS account ids that may be granted access without a finding.
    pub trusted_accounts: Vec<String>,
    /// Working hours `HH:MM-HH:MM` (in `utc_offset`); unset = no off-hours detection.
    pub working_hours: Option<String>,
    pub working_days: Vec<String>,
    pub utc_offset: String,
    /// Principals (globs) exempt from the off-hours policy (batch jobs, services).
    pub off_hours_exempt: Vec<String>,
    /// No-history thresholds for a bulk download, per principal per hour.
    pub bulk_objects_per_hour: u64,
    pub bulk_bytes_per_hour: f64,
    /// With history: flag an hour above `bulk_ratio` × the principal's busiest prior hour,
    /// and above these minimums.
    pub bulk_ratio: f64,
    pub bulk_min_objects: u64,
    pub bulk_min_bytes: f64,
    pub mass_delete_per_hour: u64,
    pub invoke_failures_per_hour: u64,
    pub enum_regions: usize,
    pub enum_calls_per_hour: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            baseline_days: 0.0,
            approvers: Vec::new(),
            trusted_accounts: Vec::new(),
            working_hours: None,
            working_days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            utc_offset: "+00:00".into(),
            off_hours_exempt: Vec::new(),
            bulk_objects_per_hour: 100,
            bulk_bytes_per_hour: 1024.0 * 1024.0 * 1024.0,
            bulk_ratio: 5.0,
            bulk_min_objects: 20,
            bulk_min_bytes: 100.0 * 1024.0 * 1024.0,
            mass_delete_per_hour: 50,
            invoke_failures_per_hour: 20,
            enum_regions: 3,
            enum_calls_per_hour: 10,
        }
    }
}

/// What a principal did before: the behavioural baseline, savable to a file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PrincipalHistory {
    /// ML asset locations (bucket / container / registered model) it accessed.
    pub assets: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    pub user_agents: BTreeSet<String>,
    /// Busiest hour of object reads (objects, bytes).
    pub max_hourly_objects: u64,
    pub max_hourly_bytes: f64,
    pub active_hours: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub version: u32,
    pub principals: BTreeMap<String, PrincipalHistory>,
}

/// Which detections could run on this input.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Coverage {
    pub detection: String,
    /// `active`, `blind` (the input lacks what it needs) or `off` (not configured).
    pub status: String,
    pub reason: String,
}

pub fn is_object_read(e: &Event) -> bool {
    matches!(
        e.action.as_str(),
        "GetObject" | "storage.objects.get" | "GetBlob" | "ReadFile" | "GetObjectTorrent"
    )
}

fn is_object_delete(e: &Event) -> bool {
    matches!(
        e.action.as_str(),
        "DeleteObject" | "DeleteObjects" | "storage.objects.delete" | "DeleteBlob" | "DeleteFile"
    )
}

fn is_invoke(e: &Event) -> bool {
    e.service.starts_with("bedrock")
        && (e.action.starts_with("InvokeModel") || e.action.starts_with("Converse"))
}

fn is_model_enum(e: &Event) -> bool {
    e.service.starts_with("bedrock")
        && matches!(
            e.action.as_str(),
            "ListFoundationModels"
                | "GetFoundationModel"
                | "GetFoundationModelAvailability"
                | "ListFoundationModelAgreementOffers"
                | "ListInferenceProfiles"
                | "GetUseCaseForModelAccess"
        )
}

fn is_entitlement(e: &Event) -> bool {
    e.service.starts_with("bedrock")
        && matches!(
            e.action.as_str(),
            "PutFoundationModelEntitlement"
                | "CreateFoundationModelAgreement"
                | "PutUseCaseForModelAccess"
        )
}

fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

fn glob_match(pattern: &str, s: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher().is_match(s))
        .unwrap_or(pattern == s)
}

/// The scan's detection state and results.
pub struct Detector<'a> {
    s: &'a Settings,
    assets: &'a AssetMap,
    pub findings: Vec<Finding>,
    pub baseline: Baseline,
    baseline_end: Option<DateTime<Utc>>,
    working: Option<(NaiveTime, NaiveTime, FixedOffset)>,
    /// Principals present in the baseline (only they can have "new" IPs / user agents).
    known: BTreeSet<String>,
}

/// A behavioural finding waiting for the history borrow to end:
/// (id, severity, title, tags, detail).
type Pending = (String, Severity, String, Vec<&'static str>, Option<String>);

/// Aggregate of one principal-hour of object reads.
#[derive(Default)]
struct HourAgg {
    objects: u64,
    bytes: f64,
    ml_objects: u64,
    kinds: BTreeSet<AssetKind>,
    buckets: BTreeSet<String>,
    first: Option<usize>,
}

impl<'a> Detector<'a> {
    pub fn new(
        s: &'a Settings,
        assets: &'a AssetMap,
        prior: Option<Baseline>,
    ) -> crate::Result<Detector<'a>> {
        let working = match &s.working_hours {
            None => None,
            Some(w) => {
                let bad = || {
                    crate::Error::usage(format!(
                        "[scan] working_hours = '{w}': expected HH:MM-HH:MM"
                    ))
                };
                let (a, b) = w.split_once('-').ok_or_else(bad)?;
                let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| bad())?;
                let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").map_err(|_| bad())?;
                let off: FixedOffset = s.utc_offset.parse().map_err(|_| {
                    crate::Error::usage(format!(
                        "[scan] utc_offset = '{}': expected +HH:MM",
                        s.utc_offset
                    ))
                })?;
                Some((a, b, off))
            }
        };
        for d in &s.working_days {
            if d.parse::<chrono::Weekday>().is_err() {
                return Err(crate::Error::usage(format!(
                    "[scan] working_days: '{d}' is not a weekday"
                )));
            }
        }
        let baseline = prior.unwrap_or(Baseline {
            version: 1,
            principals: BTreeMap::new(),
        });
        let known = baseline.principals.keys().cloned().collect();
        Ok(Detector {
            s,
            assets,
            findings: Vec::new(),
            baseline,
            baseline_end: None,
            working,
            known,
        })
    }

    fn in_baseline(&self, e: &Event) -> bool {
        match (self.baseline_end, e.time) {
            (Some(end), Some(t)) => t < end,
            _ => false,
        }
    }

    fn finding(&self, id: &str, sev: Severity, e: &Event, title: String, tags: &[&str]) -> Finding {
        let mut f = Finding::new(id, sev, e.principal.clone(), title)
            .at(e.at.location())
            .with("source", e.source.name())
            .with("action", e.action.clone())
            .with("resource", e.resource.clone());
        if let Some(t) = e.time {
            f = f.with("time", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        if let Some(ip) = &e.source_ip {
            f = f.with("source_ip", ip.clone());
        }
        if !e.account.is_empty() {
            f = f.with("account", e.account.clone());
        }
        if let Some(k) = self.kind_of(e) {
            f = f.with("asset_kind", k.as_str());
        }
        for t in tags {
            f = f.tag(*t);
        }
        f
    }

    fn kind_of(&self, e: &Event) -> Option<AssetKind> {
        self.assets
            .classify(&e.resource)
            .or_else(|| self.assets.bucket_kind(&e.resource))
    }

    /// Run every detection over `events` (sorted by time).
    pub fn run(&mut self, events: &[Event]) {
        if self.s.baseline_days > 0.0 {
            if let Some(first) = events.iter().find_map(|e| e.time) {
                let secs = (self.s.baseline_days * 86400.0) as i64;
                self.baseline_end = Some(first + Duration::seconds(secs));
            }
        }
        self.behaviour(events);
        self.hourly_thresholds(events);
        self.llm(events);
        self.registry(events);
        self.off_hours(events);
    }

    /// One event on its own: logging, versioning, exposure, approvals, exports. Run while
    /// the raw record is in memory (see `input::logs::load_with`).
    pub fn stateless(&self, e: &Event) -> Vec<Finding> {
        let mut out = Vec::new();
        self.stateless_into(e, &mut out);
        out
    }

    fn stateless_into(&self, e: &Event, findings: &mut Vec<Finding>) {
        let ml = self.kind_of(e);
        let a = e.action.as_str();
        // Logging disabled or changed.
        let logging = match a {
            "StopLogging" | "DeleteTrail" | "DeleteModelInvocationLoggingConfiguration" => {
                Some(Severity::High)
            }
            "PutEventSelectors" => Some(
                if e.raw
                    .to_string()
                    .contains("\"includeManagementEvents\":false")
                {
                    Severity::High
                } else {
                    Severity::Medium
                },
            ),
            "UpdateTrail"
            | "DeleteFlowLogs"
            | "DeleteResolverQueryLogConfig"
            | "DisassociateResolverQueryLogConfig"
            | "PutBucketLogging" => Some(Severity::Medium),
            _ if a.ends_with("ConfigServiceV2.DeleteSink")
                || a.ends_with("ConfigServiceV2.UpdateSink") =>
            {
                Some(Severity::High)
            }
            _ if a.eq_ignore_ascii_case("MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE") => {
                Some(Severity::High)
            }
            _ => None,
        };
        if let Some(sev) = logging {
            // A denied attempt is still a defense-evasion signal, one step lower.
            let f = if e.success {
                self.finding(
                    "scan.logging_disabled",
                    sev,
                    e,
                    format!("audit logging disabled or changed: {a}"),
                    &["attack:T1562.008"],
                )
            } else {
                let err = e.error.clone().unwrap_or_default();
                self.finding(
                    "scan.logging_disabled",
                    Severity::Medium.min(sev),
                    e,
                    format!("attempt to disable or change audit logging was denied: {a}"),
                    &["attack:T1562.008"],
                )
                .with("error", err)
            };
            findings.push(f);
        }
        // Versioning suspended.
        if a == "PutBucketVersioning"
            && e.success
            && e.raw
                .pointer("/requestParameters/VersioningConfiguration/Status")
                == Some(&json!("Suspended"))
        {
            let sev = if ml.is_some() {
                Severity::High
            } else {
                Severity::Medium
            };
            let f = self.finding(
                "scan.versioning_disabled",
                sev,
                e,
                format!("bucket versioning suspended on {}", e.resource),
                &["attack:T1490", "atlas:AML.T0031"],
            );
            findings.push(f);
        }
        if e.success {
            if let Some((what, grantees)) = self.exposure(e) {
                let sev = if ml.is_some() {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let f = self
                    .finding(
                        "scan.public_or_external_access",
                        sev,
                        e,
                        format!("{what} on {} ({a})", e.resource),
                        &["attack:T1537", "attack:T1530", "atlas:AML.T0025"],
                    )
                    .with("grantees", grantees);
                findings.push(f);
            }
        }
        // SageMaker model package approvals.
        if matches!(a, "UpdateModelPackage" | "CreateModelPackage")
            && e.raw.pointer("/requestParameters/modelApprovalStatus") == Some(&json!("Approved"))
            && e.success
        {
            if self.s.approvers.is_empty() {
                let f = self.finding(
                    "scan.registry_approval",
                    Severity::Low,
                    e,
                    "model package approved (no [scan] approvers configured to check against)"
                        .into(),
                    &["atlas:AML.T0058"],
                );
                findings.push(f);
            } else if !self.approved(&e.principal) {
                let f = self.finding(
                    "scan.registry_unapproved_promotion",
                    Severity::High,
                    e,
                    format!(
                        "model package approved by {} (not in [scan] approvers)",
                        e.principal
                    ),
                    &["atlas:AML.T0058", "attack:T1078.004"],
                );
                findings.push(f);
            }
        }
        // Model exports / download URIs.
        if e.success
            && (a.ends_with("ExportModel")
                || a.eq_ignore_ascii_case("GetDownloadUri")
                || a.eq_ignore_ascii_case("get-download-uri")
                || a == "CreateModelCopyJob")
        {
            let f = self.finding(
                "scan.model_export",
                Severity::Medium,
                e,
                format!("model export / download: {a} on {}", e.resource),
                &["atlas:AML.T0044", "atlas:AML.T0025", "attack:T1530"],
            );
            findings.push(f);
        }
    }

    fn approved(&self, principal: &str) -> bool {
        self.s.approvers.iter().any(|p| glob_match(p, principal))
    }

    fn external(&self, account: &str, own: &str) -> bool {
        account != own && !self.s.trusted_accounts.iter().any(|t| t == account)
    }

    /// Did this event make a resource public or grant another account? Returns a description
    /// and the grantees.
    fn exposure(&self, e: &Event) -> Option<(String, Vec<Value>)> {
        let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
        let own = e.account.as_str();
        let mut grantees: Vec<Value> = Vec::new();
        let mut public = false;
        match e.action.as_str() {
            "PutBucketPolicy"
            | "PutAccessPointPolicy"
            | "UpdateAssumeRolePolicy"
            | "PutResourcePolicy" => {
                let doc = rp
                    .get("bucketPolicy")
                    .or_else(|| rp.get("policyDocument"))
                    .or_else(|| rp.get("policy"))
                    .or_else(|| rp.get("resourcePolicy"))?;
                let doc: Value = match doc {
                    Value::String(t) => serde_json::from_str(t).ok()?,
                    v => v.clone(),
                };
                let stmts = match doc.get("Statement") {
                    Some(Value::Array(a)) => a.clone(),
                    Some(v) => vec![v.clone()],
                    None => Vec::new(),
                };
                for st in stmts {
                    if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                        continue;
                    }
                    let conditioned = st.get("Condition").is_some();
                    let mut ps: Vec<String> = Vec::new();
                    match st.get("Principal") {
                        Some(Value::String(x)) => ps.push(x.clone()),
                        Some(Value::Object(o)) => {
                            for v in o.values() {
                                match v {
                                    Value::String(x) => ps.push(x.clone()),
                                    Value::Array(a) => ps.extend(
                                        a.iter().filter_map(Value::as_str).map(String::from),
                                    ),
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                    for p in ps {
                        if p == "*" {
                            if !conditioned {
                                public = true;
                                grantees.push("*".into());
                            }
                        } else if let Some(acct) = account_of(&p) {
                            if self.external(&acct, own) {
                                grantees.push(p.into());
                            }
                        }
                    }
                }
            }
            "PutBucketAcl" | "PutObjectAcl" => {
                let t = rp.to_string();
                if t.contains("AllUsers")
                    || t.contains("AuthenticatedUsers")
                    || t.contains("public-read")
                {
                    public = true;
                    grantees.push("AllUsers".into());
                }
            }
            "DeletePublicAccessBlock" | "DeleteBucketPublicAccessBlock" => {
                return Some(("public access block removed".into(), vec![]));
            }
            "ModifySnapshotAttribute" | "ModifyImageAttribute" => {
                let t = rp.to_string();
                let v: Value = rp.clone();
                let items = v
                    .pointer("/createVolumePermission/add/items")
                    .or_else(|| v.pointer("/launchPermission/add/items"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for it in items {
                    if let Some(u) = it.get("userId").and_then(Value::as_str) {
                        if self.external(u, own) {
                            grantees.push(u.into());
                        }
                    }
                    if it.get("group").and_then(Value::as_str) == Some("all") {
                        public = true;
                        grantees.push("all".into());
                    }
                }
                let _ = t;
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
                        grantees.push("all".into());
                    } else if self.external(v, own) {
                        grantees.push(v.into());
                    }
                }
            }
            a if a.ends_with("SetIamPolicy") || a == "storage.setIamPermissions" => {
                let deltas = e
                    .raw
                    .pointer("/protoPayload/serviceData/policyDelta/bindingDeltas")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for d in deltas {
                    let m = d.get("member").and_then(Value::as_str).unwrap_or("");
                    if d.get("action").and_then(Value::as_str) == Some("ADD")
                        && (m == "allUsers" || m == "allAuthenticatedUsers")
                    {
                        public = true;
                        grantees.push(m.into());
                    }
                }
                let bindings = e
                    .raw
                    .pointer("/protoPayload/request/policy/bindings")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for b in bindings {
                    for m in b
                        .get("members")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(m) = m
                            .as_str()
                            .filter(|m| *m == "allUsers" || *m == "allAuthenticatedUsers")
                        {
                            if !grantees.iter().any(|g| g == m) {
                                public = true;
                                grantees.push(m.into());
                            }
                        }
                    }
                }
            }
            a if a.to_ascii_uppercase().ends_with("/CONTAINERS/WRITE") => {
                let t = e.raw.to_string();
                if t.contains("\"publicAccess\":\"Container\"")
                    || t.contains("\"publicAccess\":\"Blob\"")
                {
                    public = true;
                    grantees.push("anonymous".into());
                }
            }
            _ => return None,
        }
        if grantees.is_empty() {
            return None;
        }
        let what = if public {
            "made public".to_string()
        } else {
            "access granted to an external account".to_string()
        };
        Some((what, grantees))
    }

    /// New principal on an ML asset, new IP / user agent, bulk download vs own history.
    fn behaviour(&mut self, events: &[Event]) {
        let mut new_asset_seen: BTreeSet<(String, String)> = BTreeSet::new();
        let mut new_ip_seen: BTreeSet<(String, String)> = BTreeSet::new();
        let mut new_ua_seen: BTreeSet<(String, String)> = BTreeSet::new();
        let has_baseline = self.baseline_end.is_some() || !self.known.is_empty();
        for e in events {
            if e.source == Source::Mlflow {
                continue;
            }
            let learning = self.in_baseline(e);
            if learning {
                self.known.insert(e.principal.clone());
            }
            let kind = self.kind_of(e);
            let loc = kind.map(|_| asset_location(&e.resource));
            let hist = self
                .baseline
                .principals
                .entry(e.principal.clone())
                .or_default();
            let known = self.known.contains(&e.principal);
            let mut out: Vec<Pending> = Vec::new();
            if let (Some(kind), Some(loc)) = (kind, &loc) {
                if !hist.assets.contains(loc)
                    && has_baseline
                    && !learning
                    && e.success
                    && new_asset_seen.insert((e.principal.clone(), loc.clone()))
                {
                    let sev = if kind == AssetKind::ModelArtifact {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    out.push((
                        "scan.new_principal_on_asset".into(),
                        sev,
                        format!(
                            "{} accessed {} ({}) for the first time",
                            e.principal,
                            loc,
                            kind.as_str()
                        ),
                        vec!["atlas:AML.T0035", "attack:T1530"],
                        None,
                    ));
                }
                if e.success {
                    hist.assets.insert(loc.clone());
                }
            }
            if let Some(ip) = &e.source_ip {
                if known
                    && !learning
                    && kind.is_some()
                    && !hist.ips.contains(ip)
                    && !hist.ips.is_empty()
                    && new_ip_seen.insert((e.principal.clone(), ip.clone()))
                {
                    out.push((
                        "scan.new_source_ip".into(),
                        Severity::Medium,
                        format!("{} used ML assets from a new source IP {ip}", e.principal),
                        vec!["attack:T1078.004"],
                        Some(format!("known IPs: {}", hist.ips.len())),
                    ));
                }
                hist.ips.insert(ip.clone());
            }
            if let Some(ua) = &e.user_agent {
                if known
                    && !learning
                    && kind.is_some()
                    && !hist.user_agents.contains(ua)
                    && !hist.user_agents.is_empty()
                    && new_ua_seen.insert((e.principal.clone(), ua.clone()))
                {
                    out.push((
                        "scan.new_user_agent".into(),
                        Severity::Low,
                        format!("{} used ML assets with a new user agent", e.principal),
                        vec!["attack:T1078.004"],
                        Some(ua.clone()),
                    ));
                }
                hist.user_agents.insert(ua.clone());
            }
            for (id, sev, title, tags, extra) in out {
                let mut f = self.finding(&id, sev, e, title, &tags);
                if let Some(x) = extra {
                    f = f.with("detail", x);
                }
                if let Some(ua) = &e.user_agent {
                    f = f.with("user_agent", ua.clone());
                }
                self.findings.push(f);
            }
        }
    }

    /// Per principal-hour thresholds: bulk download, mass deletion, invoke failures.
    fn hourly_thresholds(&mut self, events: &[Event]) {
        let mut reads: BTreeMap<(String, i64), HourAgg> = BTreeMap::new();
        let mut deletes: BTreeMap<(String, i64), (u64, usize, bool)> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            let Some(t) = e.time else { continue };
            let key = (e.principal.clone(), hour_of(t));
            if is_object_read(e) && e.success {
                let a = reads.entry(key).or_default();
                a.objects += e.objects;
                a.bytes += e.bytes_out.unwrap_or(0.0);
                if let Some(k) = self.kind_of(e) {
                    a.ml_objects += e.objects;
                    a.kinds.insert(k);
                }
                if let Some(b) = bucket_of(&e.resource) {
                    if a.buckets.len() < 10 {
                        a.buckets.insert(b);
                    }
                }
                a.first.get_or_insert(i);
            } else if is_object_delete(e) && e.success {
                let ml = self.kind_of(e).is_some();
                let d = deletes.entry(key).or_insert((0, i, false));
                d.0 += e.objects;
                d.2 |= ml;
            }
        }
        // Bulk download: walk each principal's hours in time order.
        for ((p, _hour), a) in &reads {
            let Some(i) = a.first else { continue };
            let e = &events[i];
            let learning = self.in_baseline(e);
            let hist = self.baseline.principals.entry(p.clone()).or_default();
            let (prior_objects, prior_bytes, prior_hours) = (
                hist.max_hourly_objects,
                hist.max_hourly_bytes,
                hist.active_hours,
            );
            hist.max_hourly_objects = hist.max_hourly_objects.max(a.objects);
            hist.max_hourly_bytes = hist.max_hourly_bytes.max(a.bytes);
            hist.active_hours += 1;
            if learning {
                continue;
            }
            let s = self.s;
            let (flag, basis) = if prior_hours == 0 {
                (
                    a.objects >= s.bulk_objects_per_hour || a.bytes >= s.bulk_bytes_per_hour,
                    "no history: absolute thresholds".to_string(),
                )
            } else {
                let by_count = a.objects >= s.bulk_min_objects
                    && a.objects as f64 > s.bulk_ratio * prior_objects as f64;
                let by_bytes = a.bytes >= s.bulk_min_bytes && a.bytes > s.bulk_ratio * prior_bytes;
                (
                    by_count || by_bytes,
                    format!(
                        "own history: busiest prior hour {prior_objects} objects / {} bytes over {prior_hours} active hours",
                        prior_bytes as u64
                    ),
                )
            };
            if !flag {
                continue;
            }
            let sev = if a.ml_objects > 0 {
                Severity::High
            } else {
                Severity::Medium
            };
            let kinds: Vec<&str> = a.kinds.iter().map(|k| k.as_str()).collect();
            let what = if kinds.is_empty() {
                "objects".to_string()
            } else {
                kinds.join(", ")
            };
            let f = self
                .finding(
                    "scan.bulk_download",
                    sev,
                    e,
                    format!(
                        "bulk download: {} objects ({} ML assets, {:.1} MiB) in one hour ({what})",
                        a.objects,
                        a.ml_objects,
                        a.bytes / 1048576.0
                    ),
                    &["atlas:AML.T0025", "atlas:AML.T0035", "attack:T1530"],
                )
                .with("objects", a.objects)
                .with("ml_objects", a.ml_objects)
                .with("bytes", a.bytes)
                .with("buckets", a.buckets.iter().cloned().collect::<Vec<_>>())
                .with("basis", basis);
            self.findings.push(f);
        }
        for ((_, _), (n, i, ml)) in deletes {
            if n < self.s.mass_delete_per_hour {
                continue;
            }
            let e = &events[i];
            let sev = if ml { Severity::High } else { Severity::Medium };
            let f = self
                .finding(
                    "scan.mass_deletion",
                    sev,
                    e,
                    format!("mass deletion: {n} objects deleted in one hour"),
                    &["attack:T1485", "atlas:AML.T0031"],
                )
                .with("objects", n);
            self.findings.push(f);
        }
    }

    /// LLM abuse visible in audit logs (Bedrock): enumeration, entitlement before first
    /// invoke (LLMjacking), bursts of invoke failures.
    fn llm(&mut self, events: &[Event]) {
        let mut regions: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        let mut enum_hour: BTreeMap<(&str, i64), (u64, usize)> = BTreeMap::new();
        let mut fail_hour: BTreeMap<(&str, i64), (u64, usize)> = BTreeMap::new();
        let mut entitled: HashMap<&str, (DateTime<Utc>, usize)> = HashMap::new();
        let mut invoked: BTreeSet<&str> = BTreeSet::new();
        let mut reported: BTreeSet<(&str, &str)> = BTreeSet::new();
        for (i, e) in events.iter().enumerate() {
            let p = e.principal.as_str();
            if is_model_enum(e) {
                if let Some(r) = &e.region {
                    regions.entry(p).or_default().insert(r.as_str());
                    if regions[p].len() == self.s.enum_regions && reported.insert((p, "regions")) {
                        let f = self
                            .finding(
                                "scan.llm_model_enumeration",
                                Severity::Medium,
                                e,
                                format!(
                                    "foundation models enumerated in {} regions",
                                    self.s.enum_regions
                                ),
                                &["atlas:AML.T0014", "attack:T1526"],
                            )
                            .with(
                                "regions",
                                regions[p].iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                            );
                        self.findings.push(f);
                    }
                }
                if let Some(t) = e.time {
                    let c = enum_hour.entry((p, hour_of(t))).or_insert((0, i));
                    c.0 += 1;
                }
            }
            if is_entitlement(e) && e.success {
                if let Some(t) = e.time {
                    entitled.entry(p).or_insert((t, i));
                }
            }
            if is_invoke(e) {
                if let Some(t) = e.time {
                    if !e.success {
                        let c = fail_hour.entry((p, hour_of(t))).or_insert((0, i));
                        c.0 += 1;
                    }
                    if !invoked.contains(p) {
                        if let Some((et, ei)) = entitled.get(p) {
                            if t >= *et && t - *et <= Duration::hours(24) {
                                let first = &events[*ei];
                                let f = self
                                    .finding(
                                        "scan.llm_entitlement_then_invoke",
                                        Severity::High,
                                        e,
                                        format!(
                                            "model access entitlement ({}) followed by a first model invocation ({}): LLMjacking pattern",
                                            first.action, e.action
                                        ),
                                        &["atlas:AML.T0034", "attack:T1496"],
                                    )
                                    .with("entitlement_record", first.at.to_string())
                                    .with("entitlement_time", et.to_rfc3339());
                                self.findings.push(f);
                            }
                        }
                    }
                }
                invoked.insert(p);
            }
        }
        for ((_, _), (n, i)) in enum_hour {
            if n >= self.s.enum_calls_per_hour {
                let e = &events[i];
                if reported.contains(&(e.principal.as_str(), "calls")) {
                    continue;
                }
                reported.insert((e.principal.as_str(), "calls"));
                let f = self
                    .finding(
                        "scan.llm_model_enumeration",
                        Severity::Medium,
                        e,
                        format!("{n} foundation-model discovery calls in one hour"),
                        &["atlas:AML.T0014", "attack:T1526"],
                    )
                    .with("calls", n);
                self.findings.push(f);
            }
        }
        for ((_, _), (n, i)) in fail_hour {
            if n >= self.s.invoke_failures_per_hour {
                let e = &events[i];
                let f = self
                    .finding(
                        "scan.llm_invoke_failures",
                        Severity::Medium,
                        e,
                        format!("{n} failed model invocations in one hour"),
                        &["atlas:AML.T0034", "atlas:AML.T0054"],
                    )
                    .with("failures", n);
                self.findings.push(f);
            }
        }
    }

    /// MLflow registry state: promotions by non-approvers or with no run; a version whose
    /// run or source differs between two exports.
    fn registry(&mut self, events: &[Event]) {
        let mut by_version: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
        for e in events.iter().filter(|e| e.source == Source::Mlflow) {
            // The same name/version on two tracking servers are two different versions.
            let server = e.raw["tracking_uri"].as_str().unwrap_or("");
            by_version
                .entry(format!("{server} {}", e.resource))
                .or_default()
                .push(e);
            let stage = e.raw["current_stage"].as_str().unwrap_or("None");
            let aliases: Vec<String> = e.raw["aliases"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let promoted = stage.eq_ignore_ascii_case("Production") || !aliases.is_empty();
            if !promoted {
                continue;
            }
            let to = if stage.eq_ignore_ascii_case("Production") {
                "Production".to_string()
            } else {
                format!("alias {}", aliases.join(", "))
            };
            let user = e.raw["user_id"].as_str().unwrap_or("");
            if e.raw["run_id"].as_str().unwrap_or("").is_empty() {
                let f = self
                    .finding(
                        "scan.registry_promotion_without_run",
                        Severity::High,
                        e,
                        format!("{} promoted to {to} with no linked run", e.resource),
                        &["atlas:AML.T0058", "atlas:AML.T0018"],
                    )
                    .with("stage", stage)
                    .with("aliases", aliases.clone());
                self.findings.push(f);
            }
            if !self.s.approvers.is_empty() && (user.is_empty() || !self.approved(user)) {
                let who = if user.is_empty() {
                    "an unrecorded user"
                } else {
                    user
                };
                let f = self
                    .finding(
                        "scan.registry_unapproved_promotion",
                        Severity::High,
                        e,
                        format!(
                            "{} promoted to {to} by {who}, not in [scan] approvers",
                            e.resource
                        ),
                        &["atlas:AML.T0058", "attack:T1078.004"],
                    )
                    .with("stage", stage)
                    .with("aliases", aliases);
                self.findings.push(f);
            }
        }
        for (_, evs) in by_version {
            let mut runs: BTreeSet<(&str, &str)> = BTreeSet::new();
            for e in &evs {
                runs.insert((
                    e.raw["run_id"].as_str().unwrap_or(""),
                    e.raw["source"].as_str().unwrap_or(""),
                ));
            }
            if runs.len() > 1 {
                let last = evs[evs.len() - 1];
                let f = self
                    .finding(
                        "scan.registry_version_source_changed",
                        Severity::High,
                        last,
                        format!(
                            "{}: run_id/source differ between exports (the artifact behind a version was swapped)",
                            last.resource
                        ),
                        &["atlas:AML.T0018", "atlas:AML.T0058"],
                    )
                    .with(
                        "variants",
                        runs.iter()
                            .map(|(r, s)| json!({"run_id": r, "source": s}))
                            .collect::<Vec<_>>(),
                    )
                    .with(
                        "records",
                        evs.iter().map(|e| e.at.to_string()).collect::<Vec<_>>(),
                    );
                self.findings.push(f);
            }
        }
    }

    fn off_hours(&mut self, events: &[Event]) {
        let Some((start, end, off)) = self.working else {
            return;
        };
        let days: Vec<chrono::Weekday> = self
            .s
            .working_days
            .iter()
            .filter_map(|d| d.parse().ok())
            .collect();
        let mut per_day: BTreeMap<(&str, chrono::NaiveDate), (u64, usize)> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            let Some(t) = e.time else { continue };
            if e.principal_type == "AWSService"
                || self.kind_of(e).is_none()
                || self
                    .s
                    .off_hours_exempt
                    .iter()
                    .any(|g| glob_match(g, &e.principal))
            {
                continue;
            }
            let local = t.with_timezone(&off);
            let tod = local.time();
            let inside = days.contains(&local.weekday())
                && if start <= end {
                    tod >= start && tod < end
                } else {
                    tod >= start || tod < end
                };
            if !inside {
                let c = per_day
                    .entry((e.principal.as_str(), local.date_naive()))
                    .or_insert((0, i));
                c.0 += 1;
            }
        }
        for ((_, day), (n, i)) in per_day {
            let e = &events[i];
            let hour = e.time.map(|t| t.with_timezone(&off).hour()).unwrap_or(0);
            let f = self
                .finding(
                    "scan.off_hours_access",
                    Severity::Medium,
                    e,
                    format!(
                        "{n} ML-asset events outside working hours on {day} (first at {hour:02}h)"
                    ),
                    &["attack:T1078.004"],
                )
                .with("events", n);
            self.findings.push(f);
        }
    }
}

/// The unit of "has this principal touched this asset before": the bucket / container for
/// object stores, the registered model for registries, else the resource itself.
pub fn asset_location(resource: &str) -> String {
    if let Some(rest) = resource.strip_prefix("models:/") {
        return format!("models:/{}", rest.split('/').next().unwrap_or(rest));
    }
    bucket_of(resource).unwrap_or_else(|| resource.to_string())
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

/// Which detections could run on these events with these settings.
pub fn coverage(
    events: &[Event],
    s: &Settings,
    has_baseline: bool,
    sigma: Option<usize>,
) -> Vec<Coverage> {
    let reads = events.iter().filter(|e| is_object_read(e)).count();
    let deletes = events.iter().filter(|e| is_object_delete(e)).count();
    let mgmt = events
        .iter()
        .filter(|e| {
            matches!(e.source, Source::Cloudtrail | Source::Gcp | Source::Azure)
                && !is_object_read(e)
        })
        .count();
    let registry = events.iter().filter(|e| e.source == Source::Mlflow).count()
        + events
            .iter()
            .filter(|e| e.action.contains("ModelPackage"))
            .count();
    let bedrock = events
        .iter()
        .filter(|e| e.service.starts_with("bedrock"))
        .count();
    let no_time = events.iter().filter(|e| e.time.is_none()).count();
    let c = |d: &str, active: bool, st: &str, why: String| Coverage {
        detection: d.into(),
        status: if active { "active".into() } else { st.into() },
        reason: why,
    };
    let data_why = if reads > 0 {
        format!("{reads} object-read events")
    } else {
        "no object-level data events (S3 data events, GCS data_access, Azure StorageRead) in the input".into()
    };
    let mut v = vec![
        c("scan.bulk_download", reads > 0, "blind", data_why.clone()),
        c(
            "scan.new_principal_on_asset",
            reads + mgmt > 0 && has_baseline,
            if has_baseline { "blind" } else { "off" },
            if has_baseline {
                format!("{} events after the baseline", reads + mgmt)
            } else {
                "no baseline: give --baseline-days N or --baseline FILE".into()
            },
        ),
        c(
            "scan.new_source_ip / scan.new_user_agent",
            has_baseline && reads + mgmt > 0,
            if has_baseline { "blind" } else { "off" },
            if has_baseline {
                "principals seen in the baseline".into()
            } else {
                "no baseline: give --baseline-days N or --baseline FILE".into()
            },
        ),
        c(
            "scan.off_hours_access",
            s.working_hours.is_some(),
            "off",
            match &s.working_hours {
                Some(w) => format!("working hours {w} {}", s.utc_offset),
                None => "no [scan] working_hours policy configured".into(),
            },
        ),
        c(
            "scan.mass_deletion",
            deletes > 0,
            "blind",
            if deletes > 0 {
                format!("{deletes} delete events")
            } else {
                "no object delete events in the input".into()
            },
        ),
        c(
            "scan.logging_disabled / scan.public_or_external_access / scan.versioning_disabled",
            mgmt > 0,
            "blind",
            if mgmt > 0 {
                format!("{mgmt} management events")
            } else {
                "no management (control-plane) events in the input".into()
            },
        ),
        c(
            "scan.registry_*",
            registry > 0,
            "blind",
            if registry == 0 {
                "no MLflow registry export or SageMaker model-package events in the input".into()
            } else if s.approvers.is_empty() {
                format!("{registry} registry records; no [scan] approvers configured, so unapproved promotions cannot be told apart")
            } else {
                format!("{registry} registry records")
            },
        ),
        c(
            "scan.llm_*",
            bedrock > 0,
            "blind",
            if bedrock > 0 {
                format!("{bedrock} Bedrock events")
            } else {
                "no Bedrock events in the input".into()
            },
        ),
    ];
    v.push(match sigma {
        Some(n) => c("sigma", true, "", format!("{n} rules loaded")),
        None => c("sigma", false, "off", "no --rules DIR given".into()),
    });
    if no_time > 0 {
        v.push(Coverage {
            detection: "(time-based detections)".into(),
            status: "partial".into(),
            reason: format!("{no_time} events have no parseable time and were left out of hourly and baseline detections"),
        });
    }
    v
}
