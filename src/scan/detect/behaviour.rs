//! Behaviour against a principal's own history: first access to an ML asset location, a
//! new source IP, a new user agent. Silent inside the baseline window.

use super::{asset_location, Baseline, Coverage, Cx, Detection, Stats, NO_BASELINE};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use crate::scan::assets::AssetKind;
use std::collections::BTreeSet;

#[derive(Default)]
pub struct Behaviour {
    started: bool,
    /// Principals present in the baseline (only they can have "new" IPs / user agents).
    known: BTreeSet<String>,
    /// A baseline file had principals (then everything is after the baseline).
    prior: bool,
    new_asset_seen: BTreeSet<(String, String)>,
    new_ip_seen: BTreeSet<(String, String)>,
    new_ua_seen: BTreeSet<(String, String)>,
    found: Vec<Finding>,
}

/// (id, severity, title, detail) of a finding waiting for the history borrow to end.
type Pending = (&'static str, Severity, String, Option<String>);

impl Detection for Behaviour {
    fn ids(&self) -> &'static [&'static str] {
        &[
            "scan.new_principal_on_asset",
            "scan.new_source_ip",
            "scan.new_user_agent",
        ]
    }

    fn observe(&mut self, cx: &Cx, b: &mut Baseline, e: &Event) {
        if !self.started {
            self.started = true;
            self.known = b.principals.keys().cloned().collect();
            self.prior = !self.known.is_empty();
        }
        if e.source == Source::MLFLOW {
            return;
        }
        let has_baseline = cx.baseline_end.is_some() || self.prior;
        let learning = cx.in_baseline(e);
        if learning {
            self.known.insert(e.principal.clone());
        }
        let kind = cx.kind_of(e);
        let loc = kind.map(|_| asset_location(&e.resource));
        let hist = b.principals.entry(e.principal.clone()).or_default();
        let known = self.known.contains(&e.principal);
        let mut out: Vec<Pending> = Vec::new();
        if let (Some(kind), Some(loc)) = (kind, &loc) {
            if !hist.assets.contains(loc)
                && has_baseline
                && !learning
                && e.success
                && self
                    .new_asset_seen
                    .insert((e.principal.clone(), loc.clone()))
            {
                let sev = if kind == AssetKind::ModelArtifact {
                    Severity::High
                } else {
                    Severity::Medium
                };
                out.push((
                    "scan.new_principal_on_asset",
                    sev,
                    format!(
                        "{} accessed {} ({}) for the first time",
                        e.principal,
                        loc,
                        kind.as_str()
                    ),
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
                && self.new_ip_seen.insert((e.principal.clone(), ip.clone()))
            {
                out.push((
                    "scan.new_source_ip",
                    Severity::Medium,
                    format!("{} used ML assets from a new source IP {ip}", e.principal),
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
                && self.new_ua_seen.insert((e.principal.clone(), ua.clone()))
            {
                out.push((
                    "scan.new_user_agent",
                    Severity::Low,
                    format!("{} used ML assets with a new user agent", e.principal),
                    Some(ua.clone()),
                ));
            }
            hist.user_agents.insert(ua.clone());
        }
        for (id, sev, title, extra) in out {
            let mut f = cx.finding(id, sev, e, title);
            if let Some(x) = extra {
                f = f.with("detail", x);
            }
            if let Some(ua) = &e.user_agent {
                f = f.with("user_agent", ua.clone());
            }
            self.found.push(f);
        }
    }

    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        std::mem::take(&mut self.found)
    }

    fn coverage(&self, input: &Stats, cx: &Cx) -> Vec<Coverage> {
        let n = input.events - input.source(Source::MLFLOW.name());
        let st = if cx.has_baseline { "blind" } else { "off" };
        vec![
            Coverage::new(
                "scan.new_principal_on_asset",
                n > 0 && cx.has_baseline,
                st,
                if cx.has_baseline {
                    format!("{n} events after the baseline")
                } else {
                    NO_BASELINE.into()
                },
            ),
            Coverage::new(
                "scan.new_source_ip / scan.new_user_agent",
                n > 0 && cx.has_baseline,
                st,
                if cx.has_baseline {
                    "principals seen in the baseline".into()
                } else {
                    NO_BASELINE.into()
                },
            ),
        ]
    }
}
