//! Built-in detections over the normalised [`Event`] stream, as a registry of families.
//!
//! Each family is one file implementing [`Detection`]: it may look at one event while its
//! raw record is still in memory (`record`, run per file in parallel: a trail stopped, a
//! bucket made public), observe every event in time order (`observe`), turn what it saw into
//! findings (`finish`), and say what input it needs (`coverage`). Adding a detection is one
//! file plus its line in [`families`] and its rows in [`rules::RULES`].
//!
//! Two kinds, and the difference matters for what a user can expect:
//! - *Stateless* detections look at one event or one principal-hour against an absolute
//!   threshold (mass deletion, invoke failures). They fire everywhere in the input.
//! - *Behavioural* detections compare a principal with its own history: new principal on an
//!   ML asset, new source IP / user agent, bulk download against its own hourly peak. The
//!   history is learned from the baseline (the first `baseline_days` of the input, or a saved
//!   baseline file) and then keeps growing as the scan walks forward in time. Inside the
//!   baseline window they stay silent (that is what "learning" means); bulk downloads of a
//!   principal with *no* history at all are judged against absolute thresholds, so a first
//!   burst is never silent.
//!
//! Every rule id, its default severity, its ATLAS / ATT&CK ids and a one-line description
//! are in [`rules::RULES`]; a test keeps docs/scan.md in step with it.

mod azureml;
mod behaviour;
mod burst;
pub mod chains;
pub mod errors;
mod export;
mod exposure;
pub mod factors;
mod iam;
mod k8s_configmap;
mod k8s_exec;
mod k8s_kube_system;
mod k8s_namespace;
mod k8s_pod;
mod k8s_rbac;
mod k8s_rbac_change;
mod k8s_secrets;
mod k8s_service;
mod lambda;
mod llm;
mod log_deletion;
mod logging;
mod ml_jobs;
mod off_hours;
mod registry;
pub mod rules;
mod sagemaker;
mod secrets;
mod shares;
mod signin;
mod vertex;
mod volume;
mod wandb;

use super::assets::{bucket_of, AssetKind, AssetMap};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Distinct secrets one principal reads in one burst before it is harvesting.
    pub secrets_per_burst: u64,
    /// A share revoked within this many minutes of its grant is reported one level lower.
    pub share_revoke_minutes: i64,
    /// A principal with no history reading this many times the no-history thresholds is
    /// `high` whatever the bucket (when it is a person, and not through a service).
    pub bulk_far_factor: f64,
    /// Buckets holding audit logs (globs on `s3://bucket`, `gs://bucket`,
    /// `azblob://account/container`), besides those the input names.
    pub audit_log_buckets: Vec<String>,
    /// Domains of the organisation: GCP IAM members of other domains are external.
    pub trusted_domains: Vec<String>,
    /// Entra ID tenants of the organisation: Azure role assignments to principals of
    /// other tenants are external.
    pub trusted_tenants: Vec<String>,
    /// Cross-environment chains: the longest gap (minutes) between two touches of one chain.
    pub chain_window_minutes: i64,
    /// Addresses / CIDRs never used as a chain's join key (NAT, VPN or proxy egress).
    pub chain_ignore_ips: Vec<String>,
    /// `[environments]` (its own section; `scan` sets it).
    #[serde(skip)]
    pub environments: chains::Environments,
    /// `[identities]` (its own section; `scan` sets it).
    #[serde(skip)]
    pub identities: chains::Identities,
    /// Hours after a W&B API key is created during which artifact reads from a new IP of
    /// the same actor are reported.
    pub wandb_key_window_hours: f64,
    /// W&B deletion calls (projects, runs, artifacts) by one actor in one burst (no gap
    /// over an hour) before they are a deletion burst.
    pub wandb_deletes_per_burst: u64,
    /// Kubernetes users (globs) whose namespace creations are routine, besides the
    /// bootstrap administrators of kubeadm / minikube / kops / EKS.
    pub k8s_admins: Vec<String>,
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
            secrets_per_burst: 10,
            share_revoke_minutes: 60,
            bulk_far_factor: 10.0,
            audit_log_buckets: Vec::new(),
            trusted_domains: Vec::new(),
            trusted_tenants: Vec::new(),
            chain_window_minutes: 60,
            chain_ignore_ips: Vec::new(),
            environments: Default::default(),
            identities: Default::default(),
            wandb_key_window_hours: 24.0,
            wandb_deletes_per_burst: 5,
            k8s_admins: Vec::new(),
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
    /// Things the principal did at least once ([`first_time`]): `sagemaker_role:<arn>`,
    /// `job:vertex`, `k8s_secret_read`, ... Absent in baselines saved before they existed.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub done: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub version: u32,
    pub principals: BTreeMap<String, PrincipalHistory>,
}

/// Which detections could run on this input (the report's `coverage`).
pub use crate::finding::Coverage;

/// What the input held, counted while observing: what the coverage report is made of.
#[derive(Debug, Default)]
pub struct Stats {
    pub events: usize,
    pub by_op: BTreeMap<Op, usize>,
    pub by_source: BTreeMap<&'static str, usize>,
    /// Events of audit-trail sources that are not object reads (control-plane input).
    pub control: usize,
    pub no_time: usize,
}

impl Stats {
    pub fn op(&self, op: Op) -> usize {
        self.by_op.get(&op).copied().unwrap_or(0)
    }
    pub fn source(&self, name: &str) -> usize {
        self.by_source.get(name).copied().unwrap_or(0)
    }
    fn add(&mut self, e: &Event) {
        self.events += 1;
        *self.by_op.entry(e.op).or_insert(0) += 1;
        *self.by_source.entry(e.source.name()).or_insert(0) += 1;
        if e.op != Op::ObjectRead && e.source.get().is_some_and(|s| s.audit_trail()) {
            self.control += 1;
        }
        if e.time.is_none() {
            self.no_time += 1;
        }
    }
}

/// What every family may consult: settings, the asset map, the baseline window.
pub struct Cx<'a> {
    pub s: &'a Settings,
    pub assets: &'a AssetMap,
    /// End of the learning window (first event time + `baseline_days`).
    pub baseline_end: Option<DateTime<Utc>>,
    /// A baseline file was given, or `baseline_days` > 0.
    pub has_baseline: bool,
}

impl Cx<'_> {
    pub fn in_baseline(&self, e: &Event) -> bool {
        match (self.baseline_end, e.time) {
            (Some(end), Some(t)) => t < end,
            _ => false,
        }
    }

    pub fn kind_of(&self, e: &Event) -> Option<AssetKind> {
        self.assets
            .classify(&e.resource)
            .or_else(|| self.assets.bucket_kind(&e.resource))
    }

    pub fn approved(&self, principal: &str) -> bool {
        self.s.approvers.iter().any(|p| glob_match(p, principal))
    }

    /// A finding about `e` for rule `id` at `sev`, with the rule's tags from [`rules::RULES`]
    /// and the event's common evidence.
    pub fn finding(&self, id: &str, sev: Severity, e: &Event, title: String) -> Finding {
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
        // A Kubernetes request made as another identity (`impersonatedUser`): who really
        // made it (while the raw record is in memory: per-record findings).
        if let Some(by) = e
            .raw
            .get("impersonatedUser")
            .and(e.raw.pointer("/user/username"))
            .and_then(serde_json::Value::as_str)
            .filter(|by| *by != e.principal)
        {
            f = f.with("impersonated_by", by);
        }
        for t in rules::rule(id).map(|r| r.tags).unwrap_or_default() {
            f = f.tag(*t);
        }
        f
    }
}

/// One family of detections.
pub trait Detection: Send + Sync {
    /// Rule ids this family raises (each a row of [`rules::RULES`]).
    fn ids(&self) -> &'static [&'static str];
    /// One event with its raw record (per file, in parallel; the asset map is the static one).
    fn record(&self, _cx: &Cx, _e: &Event, _out: &mut Vec<Finding>) {}
    /// Every event, in time order (raw records dropped unless the source keeps them).
    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, _e: &Event) {}
    /// Findings from what was observed.
    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        Vec::new()
    }
    /// Whether it could run on this input, and why not.
    fn coverage(&self, input: &Stats, cx: &Cx) -> Vec<Coverage>;
}

/// Every family, in report order. Fails on invalid `[scan]` settings.
pub fn families(s: &Settings) -> crate::Result<Vec<Box<dyn Detection>>> {
    Ok(vec![
        Box::new(logging::Logging),
        Box::new(exposure::Exposure),
        Box::new(shares::Shares::default()),
        Box::new(log_deletion::LogDeletion::default()),
        Box::new(secrets::Secrets::default()),
        Box::new(iam::Iam::default()),
        Box::new(lambda::Lambda::default()),
        Box::new(signin::Signin::default()),
        Box::new(k8s_pod::K8sPod),
        Box::new(k8s_exec::K8sExec::default()),
        Box::new(k8s_rbac::K8sRbac),
        Box::new(k8s_secrets::K8sSecrets::default()),
        Box::new(k8s_rbac_change::K8sRbacChange),
        Box::new(k8s_kube_system::K8sKubeSystem::default()),
        Box::new(k8s_configmap::K8sConfigmap::default()),
        Box::new(k8s_service::K8sService),
        Box::new(k8s_namespace::K8sNamespace::default()),
        Box::new(wandb::Wandb::default()),
        Box::new(registry::Registry::default()),
        Box::new(export::Export),
        // Before `behaviour`: it judges a presigned URL's IP against the principal's IPs
        // before `behaviour` adds the event's own.
        Box::new(sagemaker::SageMaker::default()),
        Box::new(vertex::Vertex::default()),
        Box::new(azureml::AzureMl::default()),
        Box::new(ml_jobs::MlJobs::default()),
        Box::new(behaviour::Behaviour::default()),
        Box::new(volume::Volume::default()),
        Box::new(llm::Llm::default()),
        Box::new(off_hours::OffHours::new(s)?),
        Box::new(chains::Chains::new(s)?),
    ])
}

/// The scan's detection state: the families and the baseline they share.
pub struct Detector<'a> {
    pub families: Vec<Box<dyn Detection>>,
    pub baseline: Baseline,
    s: &'a Settings,
    has_baseline: bool,
    baseline_end: Option<DateTime<Utc>>,
    pub stats: Stats,
}

impl<'a> Detector<'a> {
    pub fn new(s: &'a Settings, prior: Option<Baseline>) -> crate::Result<Detector<'a>> {
        let has_baseline = s.baseline_days > 0.0 || prior.is_some();
        Ok(Detector {
            families: families(s)?,
            baseline: prior.unwrap_or(Baseline {
                version: 1,
                principals: BTreeMap::new(),
            }),
            s,
            has_baseline,
            baseline_end: None,
            stats: Stats::default(),
        })
    }

    fn cx<'b>(&self, assets: &'b AssetMap) -> Cx<'b>
    where
        'a: 'b,
    {
        Cx {
            s: self.s,
            assets,
            baseline_end: self.baseline_end,
            has_baseline: self.has_baseline,
        }
    }

    /// Per-record detections of every family (run while the raw record is in memory).
    pub fn record(&self, assets: &AssetMap, e: &Event) -> Vec<Finding> {
        let cx = self.cx(assets);
        let mut out = Vec::new();
        for f in &self.families {
            f.record(&cx, e, &mut out);
        }
        out
    }

    /// Observe `events` (sorted by time) and finish every family into findings.
    pub fn run(&mut self, assets: &AssetMap, events: &[Event]) -> Vec<Finding> {
        // Events without a time sort first: the window starts at the first timed one.
        if let Some(t) = events.iter().find_map(|e| e.time) {
            self.start(t);
        }
        for e in events {
            self.observe(assets, e);
        }
        self.finish(assets)
    }

    /// Start the baseline window at `first` (the input's first event time).
    pub fn start(&mut self, first: DateTime<Utc>) {
        if self.baseline_end.is_none() && self.s.baseline_days > 0.0 {
            // Checked (crate::limits): an out-of-range end means the window never ends.
            let secs = (self.s.baseline_days * 86400.0) as i64;
            let end = Duration::try_seconds(secs).and_then(|d| first.checked_add_signed(d));
            self.baseline_end = Some(end.unwrap_or(DateTime::<Utc>::MAX_UTC));
        }
    }

    /// One event, in time order (the window starts at the first timed event unless
    /// [`Detector::start`] was called).
    pub fn observe(&mut self, assets: &AssetMap, e: &Event) {
        if let Some(t) = e.time {
            self.start(t);
        }
        self.stats.add(e);
        let cx = self.cx(assets);
        for f in &mut self.families {
            f.observe(&cx, &mut self.baseline, e);
        }
    }

    pub fn finish(&mut self, assets: &AssetMap) -> Vec<Finding> {
        let cx = self.cx(assets);
        let mut out = Vec::new();
        for f in &mut self.families {
            out.extend(f.finish(&cx, &mut self.baseline));
        }
        out
    }

    /// Which detections could run on what was observed (`sigma`: rules loaded, if any).
    pub fn coverage(&self, assets: &AssetMap, sigma: Option<usize>) -> Vec<Coverage> {
        let cx = self.cx(assets);
        let mut v: Vec<Coverage> = self
            .families
            .iter()
            .flat_map(|f| f.coverage(&self.stats, &cx))
            .collect();
        v.push(match sigma {
            Some(n) => Coverage::new("sigma", true, "", format!("{n} rules loaded")),
            None => Coverage::new("sigma", false, "off", "no --rules DIR given".into()),
        });
        if self.stats.no_time > 0 {
            v.push(Coverage {
                detection: "(time-based detections)".into(),
                status: "partial".into(),
                reason: format!(
                    "{} events have no parseable time and were left out of hourly and baseline detections",
                    self.stats.no_time
                ),
            });
        }
        v
    }
}

/// Evidence of an aggregating finding (one principal-hour, one principal-day...): the time of
/// its last event (`last_seen`; `time` is the first) and how many events it stands for
/// (`event_count`). The timeline view (`scan::views`) shows first/last seen and the count
/// from these, and lists the events behind the finding between the two times.
pub(crate) fn spanned(f: Finding, last: Option<DateTime<Utc>>, events: u64) -> Finding {
    let f = f.with("event_count", events);
    match last {
        Some(t) => f.with(
            "last_seen",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        None => f,
    }
}

pub(crate) fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

pub(crate) fn glob_match(pattern: &str, s: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher().is_match(s))
        .unwrap_or(pattern == s)
}

/// The unit of "has this principal touched this asset before": the bucket / container for
/// object stores, the registered model for registries, else the resource itself.
pub fn asset_location(resource: &str) -> String {
    if let Some(rest) = resource.strip_prefix("models:/") {
        return format!("models:/{}", rest.split('/').next().unwrap_or(rest));
    }
    bucket_of(resource).unwrap_or_else(|| resource.to_string())
}

/// Has the principal of `e` done `what` before? The answer of [`first_time`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// No baseline (no `--baseline-days`, no `--baseline` file): nothing can be "new".
    NoBaseline,
    /// Inside the baseline window: learned, never reported.
    Learning,
    /// Done before (in the baseline or earlier after it).
    Known,
    /// First time after the baseline.
    New,
}

/// Record that `e`'s principal did `what` (when `e` succeeded) and say whether it had done
/// it before. The facts live in the baseline (`PrincipalHistory::done`), so a saved
/// baseline carries them into the next scan.
pub(crate) fn first_time(cx: &Cx, b: &mut Baseline, e: &Event, what: &str) -> Seen {
    let hist = b.principals.entry(e.principal.clone()).or_default();
    let had = hist.done.contains(what);
    if e.success && !had {
        hist.done.insert(what.to_string());
    }
    if !cx.has_baseline {
        Seen::NoBaseline
    } else if cx.in_baseline(e) {
        Seen::Learning
    } else if had {
        Seen::Known
    } else {
        Seen::New
    }
}

/// Coverage of a behavioural detection that needs `n` events of its kind and a baseline.
pub(crate) fn needs_baseline(id: &str, n: usize, what: &str, cx: &Cx) -> Coverage {
    if n == 0 {
        Coverage::new(id, false, "blind", format!("no {what} in the input"))
    } else if !cx.has_baseline {
        Coverage::new(id, false, "off", NO_BASELINE.into())
    } else {
        Coverage::new(id, true, "", format!("{n} {what}"))
    }
}

/// "no baseline" coverage reason, shared by the behavioural families.
pub(crate) const NO_BASELINE: &str = "no baseline: give --baseline-days N or --baseline FILE";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule of every family is in the table, and the table matches docs/scan.md.
    #[test]
    fn rule_table_matches_families_and_docs() {
        let s = Settings::default();
        let mut raised = BTreeSet::new();
        for f in families(&s).unwrap() {
            for id in f.ids() {
                assert!(rules::rule(id).is_some(), "{id} raised but not in RULES");
                raised.insert(*id);
            }
        }
        for r in rules::RULES {
            assert!(
                raised.contains(r.id),
                "{} in RULES but no family raises it",
                r.id
            );
        }
        let doc = include_str!("../../../docs/scan.md");
        let rows = rules::doc_rows(doc);
        for r in rules::RULES {
            let Some((sev, tags)) = rows.get(r.id) else {
                panic!("{} missing from the docs/scan.md rule table", r.id);
            };
            assert!(
                sev.starts_with(r.severity.as_str()),
                "{}: docs severity '{sev}' does not start with {}",
                r.id,
                r.severity.as_str()
            );
            for t in r.tags {
                assert!(tags.contains(t), "{}: tag {t} not in docs ({tags})", r.id);
            }
            assert!(!r.description.is_empty());
        }
        for id in rows.keys() {
            assert!(
                rules::rule(id).is_some(),
                "docs/scan.md lists {id}, RULES does not"
            );
        }
    }
}
