//! Cross-environment chains: one source IP, access key or mapped person touching ML assets
//! or secrets in two or more environments (dev, staging, prod: `[environments]`), or reading
//! secrets in two or more clouds, within a window (`[scan] chain_window_minutes`, 1 h by
//! default). A dev notebook exec, a secret read, then a prod training-data bulk read from the
//! same IP is one intrusion moving through the ML platform, however ordinary each step looks
//! on its own.
//!
//! What counts as a *touch* (successful events only: a refused call touched nothing):
//! secret reads and credential creation; exec / attach / port-forward into a workload;
//! object reads, writes and deletes of ML assets (`[assets]`, and every W&B artifact);
//! ML-platform operations (jobs, start-up scripts, model register / promote / export /
//! deploy / invoke / discovery / access grants).
//!
//! Join keys: the source IP (public addresses only: a private, loopback, link-local or
//! shared (CGNAT) address names different hosts in different networks, and
//! `chain_ignore_ips` lists NAT / VPN egress ranges not to join on); the access key
//! (CloudTrail `accessKeyId`, GCP service-account key); and the person `[identities]` maps
//! the principal to (an AWS ARN, a GCP email, an Azure object id, a Kubernetes user, a W&B
//! email: globs, case-insensitive).
//!
//! Environments come from `[environments.NAME]`: an input file matched by the
//! environment's `paths` globs belongs to it whatever its source (raw Kubernetes audit logs
//! name no cluster); else the event's account is looked up by source: CloudTrail account,
//! GCP project, Azure subscription, Kubernetes cluster (set by the managed wrappers), W&B
//! entity.
//!
//! A chain is a run of one key's touches with no gap longer than the window. It is reported
//! when its touches span two or more environments (base `high`), or, with fewer, when it
//! read secrets or created credentials in two or more clouds (Elastic's multi-cloud secrets
//! template; base `medium`: cross-cloud ML work from one office IP is daily routine, secret
//! reads in several clouds from one address are not). One level higher (up to `critical`)
//! when it holds both a credential step and a bulk read of ML assets (at least
//! `[scan] bulk_min_objects` objects or `bulk_min_bytes` bytes). A chain whose events are
//! all in another key's chain (the IP and the person of one intrusion) is reported once,
//! under the larger chain, with the other keys listed.
//!
//! Memory is bounded: at most [`MAX_KEYS`] keys with an open chain (stale ones are closed as
//! time passes; a touch of a new key beyond the cap is counted and reported in the coverage
//! entry), at most [`MAX_STEPS`] distinct steps per chain (an aggregate of its touches with
//! one environment, cloud, principal, operation and asset location: first and last time,
//! counts, bytes and the first [`STEP_RECORDS`] record references), at most
//! [`MAX_CHAINS`] reported chains.

use super::burst::Stash;
use super::{asset_location, Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op, RecordRef};
use chrono::{DateTime, Duration, Utc};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Keys with an open chain at once.
pub const MAX_KEYS: usize = 20_000;
/// Distinct steps kept per chain (further touches of new steps are counted only).
pub const MAX_STEPS: usize = 32;
/// Record references listed per step (the count is always complete).
pub const STEP_RECORDS: usize = 5;
/// Chains reported per scan.
pub const MAX_CHAINS: usize = 10_000;
/// Open chains are checked for staleness every this many touches.
const SWEEP_EVERY: u64 = 4096;

/// `[environments.NAME]` in mlguard.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Environment {
    pub aws_accounts: Vec<String>,
    pub gcp_projects: Vec<String>,
    pub azure_subscriptions: Vec<String>,
    /// Cluster names as the GKE / AKS / EKS wrappers give them (the event's account).
    pub k8s_clusters: Vec<String>,
    pub wandb_entities: Vec<String>,
    /// Input files (globs on the path as given to `scan`; `*` crosses `/`) whose events
    /// belong to this environment, whatever their source.
    pub paths: Vec<String>,
}

/// `[identities.NAME]` in mlguard.toml: one person's principals (globs, case-insensitive).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Identity {
    pub aws_arns: Vec<String>,
    pub gcp_emails: Vec<String>,
    pub azure_object_ids: Vec<String>,
    pub k8s_users: Vec<String>,
    pub wandb_emails: Vec<String>,
}

pub type Environments = BTreeMap<String, Environment>;
pub type Identities = BTreeMap<String, Identity>;

/// The cloud (platform) of an event's source.
pub fn cloud_of(source: &str) -> &str {
    match source {
        "cloudtrail" => "aws",
        "gcp" => "gcp",
        "azure" => "azure",
        "k8s" | "gke" | "aks" | "eks" => "kubernetes",
        other => other,
    }
}

/// Which account list of an environment a source's `Event::account` is looked up in.
fn account_kind(source: &str) -> Option<usize> {
    Some(match cloud_of(source) {
        "aws" => 0,
        "gcp" => 1,
        "azure" => 2,
        "kubernetes" => 3,
        "wandb" => 4,
        _ => return None,
    })
}

const ACCOUNT_KEYS: [&str; 5] = [
    "aws_accounts",
    "gcp_projects",
    "azure_subscriptions",
    "k8s_clusters",
    "wandb_entities",
];

fn glob_set(list: &[String], place: &str) -> crate::Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for (i, p) in list.iter().enumerate() {
        b.add(
            GlobBuilder::new(p)
                .literal_separator(false)
                .case_insensitive(true)
                .build()
                .map_err(|e| crate::Error::usage(format!("{place}[{i}]: bad glob '{p}': {e}")))?,
        );
    }
    b.build()
        .map_err(|e| crate::Error::usage(format!("{place}: {e}")))
}

/// The compiled `[environments]`.
struct EnvMap {
    names: Vec<String>,
    /// Per environment: its `paths`.
    paths: Vec<GlobSet>,
    /// (account kind, lowercased account) → environment index.
    accounts: HashMap<(usize, String), usize>,
}

impl EnvMap {
    fn new(envs: &Environments) -> crate::Result<EnvMap> {
        let mut m = EnvMap {
            names: Vec::new(),
            paths: Vec::new(),
            accounts: HashMap::new(),
        };
        for (i, (name, e)) in envs.iter().enumerate() {
            m.names.push(name.clone());
            m.paths
                .push(glob_set(&e.paths, &format!("[environments.{name}] paths"))?);
            let lists = [
                &e.aws_accounts,
                &e.gcp_projects,
                &e.azure_subscriptions,
                &e.k8s_clusters,
                &e.wandb_entities,
            ];
            for (k, list) in lists.iter().enumerate() {
                for a in list.iter() {
                    let key = (k, a.trim().to_ascii_lowercase());
                    if let Some(&j) = m.accounts.get(&key) {
                        if j != i {
                            return Err(crate::Error::usage(format!(
                                "[environments] {} '{a}' is in both {} and {name}: an account belongs to one environment",
                                ACCOUNT_KEYS[k], m.names[j]
                            )));
                        }
                    }
                    m.accounts.insert(key, i);
                }
            }
        }
        Ok(m)
    }

    fn of(&self, e: &Event) -> Option<usize> {
        let file = e.at.file.to_string_lossy();
        if let Some(i) = self.paths.iter().position(|g| g.is_match(file.as_ref())) {
            return Some(i);
        }
        let k = account_kind(e.source.name())?;
        let mut account = e.account.trim().to_ascii_lowercase();
        if account.is_empty() && k == 2 {
            // Azure activity records without `subscriptionId`: the resource id names it.
            account = subscription_of(&e.resource).unwrap_or_default();
        }
        self.accounts.get(&(k, account)).copied()
    }
}

/// `/subscriptions/<id>/...` → the lowercased id.
fn subscription_of(resource_id: &str) -> Option<String> {
    let lower = resource_id.to_ascii_lowercase();
    let rest = lower.strip_prefix("/subscriptions/")?;
    Some(rest.split('/').next()?.to_string())
}

/// The compiled `[identities]`: per source cloud, (globs, identity index).
struct IdMap {
    names: Vec<String>,
    by_cloud: Vec<(&'static str, GlobSet, Vec<usize>)>,
}

impl IdMap {
    fn new(ids: &Identities) -> crate::Result<IdMap> {
        let clouds: [(&str, &str); 5] = [
            ("aws", "aws_arns"),
            ("gcp", "gcp_emails"),
            ("azure", "azure_object_ids"),
            ("kubernetes", "k8s_users"),
            ("wandb", "wandb_emails"),
        ];
        let mut names = Vec::new();
        let mut pats: Vec<(Vec<String>, Vec<usize>)> = vec![Default::default(); clouds.len()];
        for (i, (name, id)) in ids.iter().enumerate() {
            names.push(name.clone());
            let lists = [
                &id.aws_arns,
                &id.gcp_emails,
                &id.azure_object_ids,
                &id.k8s_users,
                &id.wandb_emails,
            ];
            for (k, list) in lists.iter().enumerate() {
                for p in list.iter() {
                    pats[k].0.push(p.clone());
                    pats[k].1.push(i);
                }
            }
        }
        let mut by_cloud = Vec::new();
        for ((cloud, key), (p, owners)) in clouds.iter().zip(pats) {
            // The glob's place names the key; its index is into the merged list, so name
            // the identities too.
            let set = glob_set(&p, &format!("[identities] {key}")).map_err(|e| {
                crate::Error::usage(format!(
                    "{e} (identities: {})",
                    owners
                        .iter()
                        .map(|&o| names[o].as_str())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            by_cloud.push((*cloud, set, owners));
        }
        Ok(IdMap { names, by_cloud })
    }

    /// The person behind `principal` (and, for Azure, the object id from the record).
    fn of(&self, e: &Event, oid: Option<&str>) -> Option<usize> {
        let cloud = cloud_of(e.source.name());
        let (_, set, owners) = self.by_cloud.iter().find(|(c, _, _)| *c == cloud)?;
        if set.is_empty() {
            return None;
        }
        for cand in std::iter::once(e.principal.as_str()).chain(oid) {
            if let Some(&m) = set.matches(cand).first() {
                return owners.get(m).copied();
            }
        }
        None
    }
}

/// What kind of touch an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Touch {
    Credential,
    Exec,
    Asset,
    Platform,
}

impl Touch {
    fn of(cx: &Cx, e: &Event) -> Option<Touch> {
        if !e.success || e.time.is_none() {
            return None;
        }
        Some(match e.op {
            Op::SecretRead | Op::CredentialCreate => Touch::Credential,
            Op::ExecAttach => Touch::Exec,
            Op::ObjectRead | Op::ObjectWrite | Op::ObjectDelete => {
                if cx.kind_of(e).is_none() && cloud_of(e.source.name()) != "wandb" {
                    return None;
                }
                Touch::Asset
            }
            Op::JobSubmit
            | Op::StartupScriptChange
            | Op::ModelRegister
            | Op::ModelPromote
            | Op::ModelExport
            | Op::ModelDeploy
            | Op::ModelInvoke
            | Op::ModelDiscover
            | Op::ModelAccessGrant => Touch::Platform,
            _ => return None,
        })
    }
}

/// A public (globally routed or documentation-range) address: a join key.
fn joinable_ip(ip: &str, ignore: &[ipnet::IpNet]) -> bool {
    let Ok(a) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    if ignore.iter().any(|n| n.contains(&a)) {
        return false;
    }
    match a {
        std::net::IpAddr::V4(v) => {
            let o = v.octets();
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        std::net::IpAddr::V6(v) => {
            let s = v.segments();
            if let Some(m) = v.to_ipv4_mapped() {
                return joinable_ip(&m.to_string(), ignore);
            }
            !(v.is_loopback()
                || v.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// One aggregated step of a chain.
struct Step {
    env: Option<usize>,
    cloud: String,
    source: &'static str,
    principal: String,
    op: Op,
    touch: Touch,
    location: String,
    /// First action name seen (a step may hold several of one operation kind).
    action: String,
    asset_kind: Option<&'static str>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    events: u64,
    objects: u64,
    bytes: f64,
    records: Vec<RecordRef>,
}

/// One key's open or closed chain.
struct Chain {
    key_kind: &'static str,
    key: String,
    first: Event,
    last: DateTime<Utc>,
    steps: Vec<Step>,
    /// Touches of steps beyond [`MAX_STEPS`] (counted in `events`, not listed).
    more: u64,
    events: u64,
    envs: BTreeSet<usize>,
    clouds: BTreeSet<String>,
    /// Clouds in which this chain read secrets or created credentials.
    credential_clouds: BTreeSet<String>,
    credential: bool,
    asset_objects: u64,
    asset_bytes: f64,
}

impl Chain {
    fn qualifies(&self) -> bool {
        self.envs.len() >= 2 || self.credential_clouds.len() >= 2
    }
    /// Every record reference listed in the chain (for the subset test between keys).
    fn record_set(&self) -> BTreeSet<&RecordRef> {
        self.steps.iter().flat_map(|s| s.records.iter()).collect()
    }
}

pub struct Chains {
    envs: EnvMap,
    ids: IdMap,
    window: Duration,
    ignore: Vec<ipnet::IpNet>,
    configured: bool,
    /// Azure object ids from the per-file pass.
    oids: Stash<String>,
    open: HashMap<String, Chain>,
    done: Vec<Chain>,
    now: Option<DateTime<Utc>>,
    touches: u64,
    /// Touches that had an environment / an identity.
    with_env: u64,
    with_identity: u64,
    /// Touches of a new key refused at [`MAX_KEYS`]; chains past [`MAX_CHAINS`].
    refused: u64,
    chains_dropped: u64,
    clouds_seen: BTreeSet<String>,
    envs_seen: BTreeSet<usize>,
}

impl Chains {
    pub fn new(s: &super::Settings) -> crate::Result<Chains> {
        if !(1..=7 * 24 * 60).contains(&s.chain_window_minutes) {
            return Err(crate::Error::usage(format!(
                "[scan] chain_window_minutes {} must be between 1 and 10080 (a week)",
                s.chain_window_minutes
            )));
        }
        let ignore = s
            .chain_ignore_ips
            .iter()
            .enumerate()
            .map(|(i, c)| {
                c.parse::<ipnet::IpNet>()
                    .or_else(|_| c.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|e| {
                        crate::Error::usage(format!(
                            "[scan] chain_ignore_ips[{i}]: '{c}' is not an address or CIDR: {e}"
                        ))
                    })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(Chains {
            envs: EnvMap::new(&s.environments)?,
            ids: IdMap::new(&s.identities)?,
            window: Duration::minutes(s.chain_window_minutes),
            ignore,
            configured: !s.environments.is_empty() || !s.identities.is_empty(),
            oids: Stash::default(),
            open: HashMap::new(),
            done: Vec::new(),
            now: None,
            touches: 0,
            with_env: 0,
            with_identity: 0,
            refused: 0,
            chains_dropped: 0,
            clouds_seen: BTreeSet::new(),
            envs_seen: BTreeSet::new(),
        })
    }

    fn close(&mut self, c: Chain) {
        if !c.qualifies() {
            return;
        }
        if self.done.len() >= MAX_CHAINS {
            self.chains_dropped += 1;
            return;
        }
        self.done.push(c);
    }

    /// Close every open chain idle for longer than the window.
    fn sweep(&mut self, now: DateTime<Utc>) {
        let w = self.window;
        let stale: Vec<String> = self
            .open
            .iter()
            .filter(|(_, c)| now - c.last > w)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(c) = self.open.remove(&k) {
                self.close(c);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        cx: &Cx,
        key_kind: &'static str,
        key: String,
        e: &Event,
        t: DateTime<Utc>,
        touch: Touch,
        env: Option<usize>,
    ) {
        let full = format!("{key_kind}\u{0}{key}");
        if let Some(c) = self.open.get(&full) {
            if t - c.last > self.window {
                if let Some(c) = self.open.remove(&full) {
                    self.close(c);
                }
            }
        }
        if !self.open.contains_key(&full) && self.open.len() >= MAX_KEYS {
            self.refused += 1;
            return;
        }
        let c = self.open.entry(full).or_insert_with(|| Chain {
            key_kind,
            key,
            first: e.clone_without_raw(),
            last: t,
            steps: Vec::new(),
            more: 0,
            events: 0,
            envs: BTreeSet::new(),
            clouds: BTreeSet::new(),
            credential_clouds: BTreeSet::new(),
            credential: false,
            asset_objects: 0,
            asset_bytes: 0.0,
        });
        let cloud = cloud_of(e.source.name()).to_string();
        c.last = c.last.max(t);
        c.events += 1;
        if let Some(i) = env {
            c.envs.insert(i);
        }
        c.clouds.insert(cloud.clone());
        if touch == Touch::Credential {
            c.credential = true;
            c.credential_clouds.insert(cloud.clone());
        }
        if touch == Touch::Asset && e.op == Op::ObjectRead {
            c.asset_objects += e.objects.max(1);
            c.asset_bytes += e.bytes_out.unwrap_or(0.0);
        }
        let location = asset_location(&e.resource);
        let found = c.steps.iter().position(|s| {
            s.env == env
                && s.cloud == cloud
                && s.op == e.op
                && s.principal == e.principal
                && s.location == location
        });
        let room = c.steps.len() < MAX_STEPS;
        match found.and_then(|i| c.steps.get_mut(i)) {
            Some(s) => {
                s.last = s.last.max(t);
                s.events += 1;
                s.objects += e.objects.max(1);
                s.bytes += e.bytes_out.unwrap_or(0.0);
                if s.records.len() < STEP_RECORDS {
                    s.records.push(e.at.clone());
                }
            }
            None if room => c.steps.push(Step {
                env,
                cloud,
                source: e.source.name(),
                principal: e.principal.clone(),
                op: e.op,
                touch,
                location,
                action: e.action.clone(),
                asset_kind: cx.kind_of(e).map(|k| k.as_str()),
                first: t,
                last: t,
                events: 1,
                objects: e.objects.max(1),
                bytes: e.bytes_out.unwrap_or(0.0),
                records: vec![e.at.clone()],
            }),
            None => c.more += 1,
        }
    }

    fn finding(&self, cx: &Cx, c: &Chain, also: &[String]) -> Finding {
        let env_names: Vec<&str> = c
            .envs
            .iter()
            .map(|&i| self.envs.names[i].as_str())
            .collect();
        let bulk = c.asset_objects >= cx.s.bulk_min_objects.max(1)
            || (cx.s.bulk_min_bytes > 0.0 && c.asset_bytes >= cx.s.bulk_min_bytes);
        let base = if c.envs.len() >= 2 {
            Severity::High
        } else {
            Severity::Medium
        };
        let sev = if c.credential && bulk {
            match base {
                Severity::Medium => Severity::High,
                _ => Severity::Critical,
            }
        } else {
            base
        };
        let mut steps: Vec<&Step> = c.steps.iter().collect();
        steps.sort_by(|a, b| {
            a.first
                .cmp(&b.first)
                .then_with(|| a.records.cmp(&b.records))
        });
        let minutes = (c.last - steps.first().map(|s| s.first).unwrap_or(c.last)).num_minutes();
        let ops: Vec<String> = steps
            .iter()
            .map(|s| {
                let mut t = format!("{} {}", s.cloud, s.op.as_str());
                if s.events > 1 {
                    t.push_str(&format!(" x{}", s.events));
                }
                if let Some(i) = s.env {
                    t.push_str(&format!(" ({})", self.envs.names[i]));
                }
                t
            })
            .collect();
        let spread = if c.envs.len() >= 2 {
            format!("environments {}", env_names.join(", "))
        } else {
            format!(
                "clouds {} (secrets read in each)",
                c.credential_clouds
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let title = format!(
            "{} {} touched ML assets or secrets in {spread} within {minutes} min: {}{}",
            c.key_kind.replace('_', " "),
            c.key,
            ops.iter().take(8).cloned().collect::<Vec<_>>().join(", "),
            if ops.len() > 8 { ", ..." } else { "" }
        );
        let mut f = cx.finding("scan.cross_environment_chain", sev, &c.first, title);
        f.subject = c.key.clone();
        let step_json: Vec<Value> = steps
            .iter()
            .map(|s| {
                let mut v = json!({
                    "time": s.first.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "last_seen": s.last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "environment": s.env.map(|i| self.envs.names[i].clone()),
                    "cloud": s.cloud,
                    "source": s.source,
                    "principal": s.principal,
                    "op": s.op.as_str(),
                    "action": s.action,
                    "resource": s.location,
                    "events": s.events,
                    "records": s.records.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                });
                if s.touch == Touch::Asset {
                    v["objects"] = s.objects.into();
                    v["bytes"] = s.bytes.into();
                }
                if let Some(k) = s.asset_kind {
                    v["asset_kind"] = k.into();
                }
                v
            })
            .collect();
        let records: Vec<String> = steps
            .iter()
            .flat_map(|s| s.records.iter().map(|r| r.to_string()))
            .take(super::burst::MAX_RECORDS)
            .collect();
        f = f
            .with("key_kind", c.key_kind)
            .with("key", c.key.clone())
            .with("environments", env_names)
            .with("clouds", c.clouds.iter().cloned().collect::<Vec<_>>())
            .with("credential_step", c.credential)
            .with("bulk_read", bulk)
            .with("asset_objects_read", c.asset_objects)
            .with("asset_bytes_read", c.asset_bytes)
            .with("window_minutes", self.window.num_minutes())
            .with("steps", step_json)
            .with("steps_not_listed", c.more)
            .with("records", records);
        if !also.is_empty() {
            f = f.with("also_keys", also.to_vec());
        }
        super::spanned(f, Some(c.last), c.events)
    }
}

impl Detection for Chains {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.cross_environment_chain"]
    }

    fn record(&self, _cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if !self.configured || cloud_of(e.source.name()) != "azure" {
            return;
        }
        let oid = e
            .raw
            .pointer("/identity/requester/objectId")
            .or_else(|| {
                e.raw.pointer("/identity/claims").and_then(|c| {
                    c.get("http://schemas.microsoft.com/identity/claims/objectidentifier")
                })
            })
            .or_else(|| e.raw.pointer("/properties/principalOid"))
            .and_then(Value::as_str);
        if let Some(o) = oid {
            self.oids.put(&e.at, o.to_string());
        }
    }

    fn observe(&mut self, cx: &Cx, _b: &mut Baseline, e: &Event) {
        if !self.configured {
            return;
        }
        let oid = if cloud_of(e.source.name()) == "azure" {
            self.oids.take(&e.at)
        } else {
            None
        };
        let (Some(touch), Some(t)) = (Touch::of(cx, e), e.time) else {
            return;
        };
        self.touches += 1;
        if self.touches % SWEEP_EVERY == 0 {
            self.sweep(t);
        }
        self.now = Some(self.now.map_or(t, |n| n.max(t)));
        let env = self.envs.of(e);
        if let Some(i) = env {
            self.with_env += 1;
            self.envs_seen.insert(i);
        }
        self.clouds_seen
            .insert(cloud_of(e.source.name()).to_string());
        if let Some(ip) = e.source_ip.as_deref() {
            if joinable_ip(ip, &self.ignore) {
                self.push(cx, "source_ip", ip.to_string(), e, t, touch, env);
            }
        }
        if let Some(k) = e.access_key.as_deref().filter(|k| !k.is_empty()) {
            self.push(cx, "access_key", k.to_string(), e, t, touch, env);
        }
        if let Some(i) = self.ids.of(e, oid.as_deref()) {
            self.with_identity += 1;
            let name = self.ids.names[i].clone();
            self.push(cx, "identity", name, e, t, touch, env);
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let open: Vec<Chain> = std::mem::take(&mut self.open).into_values().collect();
        for c in open {
            self.close(c);
        }
        let mut chains = std::mem::take(&mut self.done);
        // Larger chains first, so a chain contained in another is folded into it; on a
        // tie the source IP hosts (the intrusion's address), then the access key.
        let rank = |k: &str| match k {
            "source_ip" => 0,
            "access_key" => 1,
            _ => 2,
        };
        chains.sort_by(|a, b| {
            b.events
                .cmp(&a.events)
                .then_with(|| a.first.time.cmp(&b.first.time))
                .then_with(|| rank(a.key_kind).cmp(&rank(b.key_kind)))
                .then_with(|| a.key.cmp(&b.key))
        });
        let mut kept: Vec<(usize, Vec<String>)> = Vec::new();
        for i in 0..chains.len() {
            let mine = chains[i].record_set();
            let host = kept
                .iter()
                .position(|(j, _)| mine.is_subset(&chains[*j].record_set()));
            match host {
                Some(h) => {
                    let c = &chains[i];
                    kept[h].1.push(format!("{} {}", c.key_kind, c.key));
                }
                None => kept.push((i, Vec::new())),
            }
        }
        let mut out: Vec<Finding> = kept
            .iter()
            .map(|(i, also)| self.finding(cx, &chains[*i], also))
            .collect();
        out.sort_by(|a, b| {
            a.evidence
                .get("time")
                .map(|v| v.to_string())
                .cmp(&b.evidence.get("time").map(|v| v.to_string()))
                .then_with(|| a.subject.cmp(&b.subject))
        });
        out
    }

    fn coverage(&self, _input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let id = "scan.cross_environment_chain";
        if !self.configured {
            return vec![Coverage::new(
                id,
                false,
                "off",
                "no [environments] or [identities] in mlguard.toml: events cannot be placed in dev / staging / prod or linked across clouds".into(),
            )];
        }
        let mut v = Vec::new();
        if self.touches == 0 {
            v.push(Coverage::new(
                id,
                false,
                "blind",
                "no successful secret, exec, ML-asset or ML-platform events in the input".into(),
            ));
        } else if self.envs_seen.len() < 2 && self.clouds_seen.len() < 2 {
            v.push(Coverage::new(
                id,
                false,
                "blind",
                format!(
                    "{} ML-asset / secret events, all in {} and {}: nothing to correlate across",
                    self.touches,
                    match self.envs_seen.iter().next() {
                        Some(&i) => format!("environment {}", self.envs.names[i]),
                        None => "no configured environment".into(),
                    },
                    self.clouds_seen.iter().next().cloned().unwrap_or_default()
                ),
            ));
        } else {
            let status = if self.refused > 0 || self.chains_dropped > 0 {
                "partial"
            } else {
                "active"
            };
            let mut reason = format!(
                "{} ML-asset / secret events ({} in a configured environment, {} of a mapped identity) in {} environment(s) and cloud(s) {}; window {} min",
                self.touches,
                self.with_env,
                self.with_identity,
                self.envs_seen.len(),
                self.clouds_seen.iter().cloned().collect::<Vec<_>>().join(", "),
                self.window.num_minutes()
            );
            if self.refused > 0 {
                reason.push_str(&format!(
                    "; {} events of new keys not followed (over {MAX_KEYS} keys with an open chain)",
                    self.refused
                ));
            }
            if self.chains_dropped > 0 {
                reason.push_str(&format!(
                    "; {} chains not reported (over {MAX_CHAINS})",
                    self.chains_dropped
                ));
            }
            v.push(Coverage {
                detection: id.into(),
                status: status.into(),
                reason,
            });
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keys_are_public_addresses_only() {
        let none: Vec<ipnet::IpNet> = Vec::new();
        for ip in [
            "203.0.113.7",
            "8.8.8.8",
            "2001:db8::1",
            "::ffff:198.51.100.2",
        ] {
            assert!(joinable_ip(ip, &none), "{ip}");
        }
        for ip in [
            "10.0.0.1",
            "192.168.99.1",
            "172.16.5.4",
            "127.0.0.1",
            "::1",
            "100.64.1.1",
            "169.254.169.254",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "sagemaker.amazonaws.com",
            "",
        ] {
            assert!(!joinable_ip(ip, &none), "{ip}");
        }
        let nat = vec!["203.0.113.0/24".parse().unwrap()];
        assert!(!joinable_ip("203.0.113.7", &nat));
    }

    #[test]
    fn an_account_in_two_environments_is_an_error() {
        let mut envs = Environments::new();
        envs.insert(
            "dev".into(),
            Environment {
                aws_accounts: vec!["111122223333".into()],
                ..Default::default()
            },
        );
        envs.insert(
            "prod".into(),
            Environment {
                aws_accounts: vec!["111122223333".into()],
                ..Default::default()
            },
        );
        let err = EnvMap::new(&envs).err().unwrap().to_string();
        assert!(
            err.contains("aws_accounts '111122223333' is in both dev and prod"),
            "{err}"
        );
        assert_eq!(
            subscription_of("/SUBSCRIPTIONS/AbC/resourceGroups/x").as_deref(),
            Some("abc")
        );
    }
}
