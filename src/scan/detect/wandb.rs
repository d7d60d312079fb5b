//! Weights & Biases audit logs: an API key created and then artifacts read from an IP the
//! actor never used, bursts of project / run / artifact deletions, and organisation /
//! team member changes. (Bulk artifact reads are `scan.bulk_download`: `artifact:read`
//! is an `object_read`, so the volume family judges them per actor-hour against the
//! actor's own history.)
//!
//! Why these: a W&B API key is a bearer token for every artifact the user can see (model
//! weights, datasets); the pattern of a stolen session is "mint a key, pull the artifacts
//! from elsewhere". Deleting runs and projects destroys the lineage an investigation needs
//! (and can be the impact itself); member changes decide who can read everything.

use super::burst::{self, Bursts};
use super::{factors, Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::wandb::{is_deletion, is_member_change};
use crate::input::logs::{Event, Op, Source};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// IPs remembered per actor (beyond it, an actor's IPs are not all told apart).
const MAX_IPS: usize = 4096;
/// Key creations watched at once per actor (the oldest is dropped beyond it).
const MAX_KEYS: usize = 16;

/// An API key created by an actor, watched for reads from new IPs.
struct KeyWatch {
    created: Event,
    until: DateTime<Utc>,
    /// The actor's IPs before the key (and the key's own): reads from them are expected.
    known: BTreeSet<String>,
    /// The actor had IPs before the key was created (else "new" is weak evidence).
    history: bool,
    /// New IPs that read after the key: first read, reads, artifacts.
    reads: BTreeMap<String, (Event, u64, BTreeSet<String>, DateTime<Utc>)>,
}

#[derive(Default)]
struct Actor {
    ips: BTreeSet<String>,
    keys: Vec<KeyWatch>,
}

pub struct Wandb {
    actors: BTreeMap<String, Actor>,
    deletions: Bursts<()>,
    done: Vec<KeyWatch>,
}

impl Default for Wandb {
    fn default() -> Self {
        Wandb {
            actors: BTreeMap::new(),
            deletions: Bursts::new(Duration::hours(1)),
            done: Vec::new(),
        }
    }
}

/// Member-change severity: role changes and new service accounts (new identities with
/// keys) medium, invitations, removals and account life-cycle low.
fn member_severity(action: &str) -> Severity {
    match action {
        "organization:update_member"
        | "team:update_member"
        | "team:create_service_account"
        | "user:reactivate" => Severity::Medium,
        _ => Severity::Low,
    }
}

impl Detection for Wandb {
    fn ids(&self) -> &'static [&'static str] {
        &[
            "scan.wandb_key_then_new_ip",
            "scan.wandb_deletion_burst",
            "scan.wandb_member_change",
        ]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        let is_sa = e.action == "team:create_service_account";
        if e.source != Source::WANDB || !(is_member_change(&e.action) || is_sa) {
            return;
        }
        let fail = super::errors::Failure::of(e);
        let mut sev = member_severity(&e.action);
        if fail.is_some() {
            sev = factors::down(sev);
        }
        let target = e
            .raw
            .get("user_email")
            .or_else(|| e.raw.get("user_asset"))
            .and_then(|v| v.as_str());
        let mut title = match &fail {
            None => format!("W&B member change: {}", e.action),
            Some(x) => format!("W&B member change {}: {}", x.clause(), e.action),
        };
        if let Some(t) = target {
            title.push_str(&format!(" on {t}"));
        }
        if let Some(ent) = e.raw.get("entity_name").and_then(|v| v.as_str()) {
            title.push_str(&format!(" in {ent}"));
        }
        let mut f = cx.finding("scan.wandb_member_change", sev, e, title);
        if let Some(t) = target {
            f = f.with("target_user", t);
        }
        if let Some(x) = &fail {
            f = x.annotate(f);
        }
        out.push(f);
    }

    fn observe(&mut self, cx: &Cx, b: &mut Baseline, e: &Event) {
        if e.source != Source::WANDB {
            return;
        }
        if is_deletion(&e.action) {
            self.deletions.push(burst::principal_key(e), e, ());
        }
        let Some(t) = e.time else { return };
        let window = Duration::try_minutes((cx.s.wandb_key_window_hours * 60.0) as i64)
            .unwrap_or(Duration::hours(24));
        let learning = cx.in_baseline(e);
        let actor = self.actors.entry(e.principal.clone()).or_insert_with(|| {
            // A saved baseline's IPs of this principal count as known.
            let mut a = Actor::default();
            if let Some(h) = b.principals.get(&e.principal) {
                a.ips.extend(h.ips.iter().take(MAX_IPS).cloned());
            }
            a
        });
        // Keys past their window: done (with their findings, if any).
        let (gone, keep): (Vec<KeyWatch>, Vec<KeyWatch>) = std::mem::take(&mut actor.keys)
            .into_iter()
            .partition(|k| t > k.until);
        actor.keys = keep;
        self.done
            .extend(gone.into_iter().filter(|k| !k.reads.is_empty()));
        let ip = e.source_ip.clone();
        if e.op == Op::CredentialCreate && e.action == "user:create_api_key" && e.success {
            if !learning {
                let mut known = actor.ips.clone();
                let history = !known.is_empty();
                known.extend(ip.clone());
                if actor.keys.len() >= MAX_KEYS {
                    let k = actor.keys.remove(0);
                    if !k.reads.is_empty() {
                        self.done.push(k);
                    }
                }
                actor.keys.push(KeyWatch {
                    created: e.clone_without_raw(),
                    until: t
                        .checked_add_signed(window)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC),
                    known,
                    history,
                    reads: BTreeMap::new(),
                });
            }
        } else if e.op == Op::ObjectRead && e.success {
            if let Some(ip) = &ip {
                for k in actor.keys.iter_mut().filter(|k| !k.known.contains(ip)) {
                    let r = k
                        .reads
                        .entry(ip.clone())
                        .or_insert_with(|| (e.clone_without_raw(), 0, BTreeSet::new(), t));
                    r.1 += 1;
                    r.3 = t;
                    if r.2.len() < burst::MAX_ITEMS {
                        r.2.insert(e.resource.clone());
                    }
                }
            }
        }
        if let Some(ip) = ip {
            if actor.ips.len() < MAX_IPS {
                actor.ips.insert(ip);
            }
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut watched = std::mem::take(&mut self.done);
        for a in std::mem::take(&mut self.actors).into_values() {
            watched.extend(a.keys.into_iter().filter(|k| !k.reads.is_empty()));
        }
        for k in watched {
            for (ip, (first, n, artifacts, last)) in k.reads {
                let sev = if k.history {
                    Severity::High
                } else {
                    Severity::Medium
                };
                let created = k
                    .created
                    .time
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default();
                let f = cx
                    .finding(
                        "scan.wandb_key_then_new_ip",
                        sev,
                        &first,
                        format!(
                            "W&B API key created at {created}{}, then {n} artifact read(s) from new IP {ip}",
                            k.created
                                .source_ip
                                .as_deref()
                                .map(|x| format!(" from {x}"))
                                .unwrap_or_default()
                        ),
                    )
                    .with("key_created", created)
                    .with("key_record", k.created.at.to_string())
                    .with("key_ip", k.created.source_ip.clone().unwrap_or_default())
                    .with("known_ips", k.known.len() as u64)
                    .with(
                        "basis",
                        if k.history {
                            "IP not among the actor's earlier addresses"
                        } else {
                            "no earlier addresses of the actor: the IP differs from the key creation's"
                        },
                    )
                    .with(
                        "artifacts",
                        artifacts.iter().take(20).cloned().collect::<Vec<_>>(),
                    );
                out.push(super::spanned(f, Some(last), n));
            }
        }
        let min = cx.s.wandb_deletes_per_burst.max(1);
        for b in self.deletions.finish() {
            if b.events() < min {
                continue;
            }
            let ok = b.items.iter().filter(|(e, _)| e.success).count();
            let projects: BTreeSet<&str> = b
                .items
                .iter()
                .filter(|(e, _)| e.action == "project:delete")
                .map(|(e, _)| e.resource.as_str())
                .collect();
            let sev = if ok == 0 {
                Severity::Medium
            } else {
                Severity::High
            };
            let title = format!(
                "W&B deletion burst: {} deletion call(s) ({} succeeded, {} project(s))",
                b.events(),
                ok,
                projects.len()
            );
            let f = burst::finding(cx, "scan.wandb_deletion_burst", sev, &b, title).with(
                "projects",
                projects.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            );
            out.push(f);
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let n = input.source(Source::WANDB.name());
        let none = || "no W&B audit events in the input".to_string();
        vec![
            Coverage::new(
                "scan.wandb_key_then_new_ip",
                n > 0,
                "blind",
                if n > 0 {
                    format!("{n} W&B audit events")
                } else {
                    none()
                },
            ),
            Coverage::new(
                "scan.wandb_deletion_burst / scan.wandb_member_change",
                n > 0,
                "blind",
                if n > 0 {
                    format!("{n} W&B audit events")
                } else {
                    none()
                },
            ),
        ]
    }
}
