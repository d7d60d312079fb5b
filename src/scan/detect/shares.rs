//! Snapshot, AMI and RDS snapshot shares — and their revocation.
//!
//! `ModifySnapshotAttribute` (`createVolumePermission`), `ModifyImageAttribute`
//! (`launchPermission`), `ModifyDBSnapshotAttribute` / `ModifyDBClusterSnapshotAttribute`
//! (`restore`, `valuesToAdd`) give another account — or everyone (`all`) — a full copy of a
//! disk, machine image or database (Stratus Red Team `ec2-share-ebs-snapshot`,
//! `ec2-share-ami`, `rds-share-snapshot`). The finding id is the exposure one,
//! `scan.public_or_external_access`, with the grantees in `evidence.grantees`.
//!
//! Why revocation matters: the same calls remove a share (`remove`, `valuesToRemove`). A
//! share removed minutes later was most likely a mistake noticed or a test — or a copy
//! taken in those minutes, which the log cannot show. It is still reported (a copy may have
//! been made), one level lower, and the finding says when it was revoked. A principal's
//! shares with no gap over [`GAP_MINUTES`] are one finding.

use super::burst::{self, Bursts, Stash};
use super::iam::lower;
use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op, Source};
use chrono::Duration;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const GAP_MINUTES: i64 = 60;

/// What one call added and removed.
#[derive(Clone, Default)]
struct Change {
    /// Snapshot / image id.
    id: String,
    kind: &'static str,
    /// External accounts or `all`, added.
    adds: Vec<String>,
    /// Accounts or `all`, removed.
    removes: Vec<String>,
}

struct Grant {
    e: Event,
    id: String,
    kind: &'static str,
    grantee: String,
    /// Minutes after the grant at which the same principal or another removed it.
    revoked_after: Option<i64>,
}

#[derive(Default)]
pub struct Shares {
    stash: Stash<Change>,
    grants: Vec<Grant>,
    /// (account, resource id, grantee) → index of its latest successful grant.
    open: BTreeMap<(String, String, String), usize>,
}

fn ec2_items(rp: &Value, attr: &str, dir: &str) -> Vec<String> {
    rp.pointer(&format!("/{attr}/{dir}/items"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|it| {
            it.get("userId")
                .or_else(|| it.get("group"))
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect()
}

fn change_of(cx: &Cx, e: &Event) -> Option<Change> {
    if e.source != Source::CLOUDTRAIL || e.op != Op::Share {
        return None;
    }
    let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
    let get = |k: &str| rp.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut c = match e.action.as_str() {
        "ModifySnapshotAttribute" => Change {
            id: get("snapshotId"),
            kind: "EBS snapshot",
            adds: ec2_items(rp, "createVolumePermission", "add"),
            removes: ec2_items(rp, "createVolumePermission", "remove"),
        },
        "ModifyImageAttribute" => Change {
            id: get("imageId"),
            kind: "AMI",
            adds: ec2_items(rp, "launchPermission", "add"),
            removes: ec2_items(rp, "launchPermission", "remove"),
        },
        "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => Change {
            id: if e.action == "ModifyDBSnapshotAttribute" {
                get("dBSnapshotIdentifier")
            } else {
                get("dBClusterSnapshotIdentifier")
            },
            kind: if e.action == "ModifyDBSnapshotAttribute" {
                "RDS snapshot"
            } else {
                "RDS cluster snapshot"
            },
            adds: burst::strings(rp.get("valuesToAdd")),
            removes: burst::strings(rp.get("valuesToRemove")),
        },
        _ => return None,
    };
    let own = e.account.clone();
    c.adds
        .retain(|g| g == "all" || burst::external(cx, g, &own));
    (!c.adds.is_empty() || !c.removes.is_empty()).then_some(c)
}

impl Detection for Shares {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.public_or_external_access"]
    }

    fn record(&self, cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if let Some(c) = change_of(cx, e) {
            self.stash.put(&e.at, c);
        }
    }

    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, e: &Event) {
        if e.source != Source::CLOUDTRAIL || e.op != Op::Share {
            return;
        }
        let Some(c) = self.stash.take(&e.at) else {
            return;
        };
        if e.success {
            for g in &c.removes {
                let k = (e.account.clone(), c.id.clone(), g.clone());
                if let Some(i) = self.open.remove(&k) {
                    let gr = &mut self.grants[i];
                    if let (Some(a), Some(z)) = (gr.e.time, e.time) {
                        gr.revoked_after = Some((z - a).num_minutes());
                    }
                }
            }
        }
        for g in &c.adds {
            if e.success {
                self.open.insert(
                    (e.account.clone(), c.id.clone(), g.clone()),
                    self.grants.len(),
                );
            }
            self.grants.push(Grant {
                e: e.clone_without_raw(),
                id: c.id.clone(),
                kind: c.kind,
                grantee: g.clone(),
                revoked_after: None,
            });
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let window = cx.s.share_revoke_minutes;
        let grants = std::mem::take(&mut self.grants);
        let mut bursts: Bursts<usize> = Bursts::new(Duration::minutes(GAP_MINUTES));
        for (i, g) in grants.iter().enumerate() {
            bursts.push(burst::principal_key(&g.e), &g.e, i);
        }
        let mut out = Vec::new();
        for b in bursts.finish() {
            let mut sev = Severity::Info;
            let mut public = false;
            let mut grantees = BTreeSet::new();
            let mut shares = Vec::new();
            let mut whats: Vec<String> = Vec::new();
            let mut all_revoked = true;
            for (_, i) in &b.items {
                let g = &grants[*i];
                let fail = super::errors::Failure::of(&g.e);
                let mut v = if g.grantee == "all" {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let soon = g.revoked_after.filter(|m| *m <= window);
                if fail.is_some() || soon.is_some() {
                    v = lower(v);
                }
                if fail.is_none() {
                    all_revoked &= soon.is_some();
                    grantees.insert(g.grantee.clone());
                    public |= g.grantee == "all";
                }
                sev = sev.max(v);
                let to = if g.grantee == "all" {
                    "everyone (public)".to_string()
                } else {
                    format!("account {}", g.grantee)
                };
                let mut w = format!("{} {} shared with {to}", g.kind, g.id);
                match (&fail, g.revoked_after) {
                    (Some(f), _) => w.push_str(&format!(" ({})", f.clause())),
                    (None, Some(m)) if m <= window => {
                        w.push_str(&format!(", revoked {m} min later"))
                    }
                    (None, Some(m)) => w.push_str(&format!(
                        ", revoked {m} min later (after the {window}-min window)"
                    )),
                    (None, None) => {}
                }
                whats.push(w);
                shares.push(json!({
                    "resource": g.id, "kind": g.kind, "grantee": g.grantee,
                    "revoked_after_minutes": g.revoked_after,
                    "severity": v.as_str(),
                    "outcome": fail.as_ref().map(|f| f.kind.as_str()).unwrap_or("succeeded"),
                    "record": g.e.at.to_string(),
                }));
            }
            if grantees.is_empty() {
                all_revoked = false;
            }
            let shown = whats.len().min(3);
            let mut title = format!(
                "{}: {}",
                if public {
                    "made public"
                } else {
                    "access granted to an external account"
                },
                whats[..shown].join("; ")
            );
            if whats.len() > shown {
                title.push_str(&format!(" (+{} more)", whats.len() - shown));
            }
            let (errors, _) = burst::failures(b.items.iter().map(|(e, _)| e));
            let mut f = burst::finding(cx, "scan.public_or_external_access", sev, &b, title)
                .with("grantees", grantees.into_iter().collect::<Vec<_>>())
                .with("shares", shares)
                .with("revoked", all_revoked)
                .with("revoke_window_minutes", window);
            if !errors.is_empty() {
                f = f.with("errors", errors);
            }
            out.push(f);
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane(
            "scan.public_or_external_access (snapshot / AMI / RDS shares)",
            input,
        )]
    }
}
