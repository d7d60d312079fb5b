//! Secrets harvesting: one principal reading many secret values in a burst — Secrets
//! Manager `GetSecretValue` / `BatchGetSecretValue`, SSM `GetParameter(s)` /
//! `GetParametersByPath` *with decryption* — often after `ListSecrets` /
//! `DescribeParameters`. Applications read their own few secrets again and again; an
//! intruder with a foothold reads every secret it can list, once, within minutes
//! (Stratus Red Team `secretsmanager-retrieve-secrets`, `ssm-retrieve-securestring-parameters`).
//!
//! The unit is distinct secret names per burst (calls with no gap over [`GAP`]), so an
//! application re-reading one secret never adds up. CloudTrail does not log how many
//! secrets a filter- or path-based call returned: those are counted as bulk reads.

use super::burst::{self, Bursts, Stash};
use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use chrono::Duration;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A burst ends after this long without a secret read by the principal.
pub const GAP_MINUTES: i64 = 10;

/// What one call read.
#[derive(Default, Clone)]
struct Read {
    /// Secret ids / parameter names named in the call.
    names: Vec<String>,
    /// A filter or path whose matches CloudTrail does not list (`BatchGetSecretValue` by
    /// filter, `GetParametersByPath`): its description.
    bulk: Option<String>,
    /// `ListSecrets` / `DescribeParameters`.
    discovery: bool,
}

pub struct Secrets {
    stash: Stash<Read>,
    bursts: Bursts<Read>,
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets {
            stash: Stash::default(),
            bursts: Bursts::new(Duration::minutes(GAP_MINUTES)),
        }
    }
}

fn read_of(e: &Event) -> Option<Read> {
    if e.source != Source::CLOUDTRAIL {
        return None;
    }
    let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
    let decrypt = rp.get("withDecryption") == Some(&json!(true));
    let mut r = Read::default();
    match e.action.as_str() {
        "GetSecretValue" => r.names = burst::strings(rp.get("secretId")),
        "BatchGetSecretValue" => {
            r.names = burst::strings(rp.get("secretIdList"));
            if r.names.is_empty() {
                r.bulk = Some(format!(
                    "BatchGetSecretValue filters {}",
                    rp.get("filters").unwrap_or(&Value::Null)
                ));
            }
        }
        "ListSecrets" | "DescribeParameters" => r.discovery = true,
        "GetParameter" if decrypt => r.names = burst::strings(rp.get("name")),
        "GetParameters" if decrypt => r.names = burst::strings(rp.get("names")),
        "GetParametersByPath" if decrypt => {
            let path = rp.get("path").and_then(Value::as_str).unwrap_or("/");
            r.bulk = Some(format!("GetParametersByPath {path}"));
        }
        _ => return None,
    }
    Some(r)
}

impl Detection for Secrets {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.secrets_harvesting"]
    }

    fn record(&self, _cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if let Some(r) = read_of(e) {
            self.stash.put(&e.at, r);
        }
    }

    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, e: &Event) {
        self.bursts.push_stashed(&mut self.stash, e);
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let t = cx.s.secrets_per_burst.max(1) as usize;
        let mut out = Vec::new();
        for b in self.bursts.finish() {
            let mut ok = BTreeSet::new();
            let mut bad = BTreeSet::new();
            let mut bulk_ok = BTreeSet::new();
            let mut discovery = 0u64;
            for (e, r) in &b.items {
                discovery += r.discovery as u64;
                let set = if e.success { &mut ok } else { &mut bad };
                set.extend(r.names.iter().cloned());
                if let (true, Some(k)) = (e.success, &r.bulk) {
                    bulk_ok.insert(k.clone());
                }
            }
            for n in &ok {
                bad.remove(n);
            }
            // A whole-store path, or several filters/paths, is bulk retrieval; one path
            // read by an application loading its configuration is not.
            let bulk = bulk_ok
                .iter()
                .any(|k| k.starts_with("BatchGetSecretValue") || k == "GetParametersByPath /")
                || bulk_ok.len() >= 3;
            let minutes = match (b.first.time, b.last) {
                (Some(a), Some(z)) => (z - a).num_seconds() as f64 / 60.0,
                _ => 0.0,
            };
            let (errors, clause) = burst::failures(b.items.iter().map(|(e, _)| e));
            let (sev, title) = if ok.len() >= t {
                (
                    Severity::High,
                    format!(
                        "{} distinct secrets read in {}{}",
                        ok.len(),
                        if minutes < 1.0 {
                            "under a minute".to_string()
                        } else {
                            format!("{minutes:.0} min")
                        },
                        if discovery > 0 {
                            " after listing them"
                        } else {
                            ""
                        }
                    ),
                )
            } else if bulk {
                (
                    Severity::Medium,
                    format!(
                        "secrets retrieved in bulk by filter or path ({} call(s); CloudTrail does not record how many secrets matched)",
                        b.items.iter().filter(|(e, r)| e.success && r.bulk.is_some()).count()
                    ),
                )
            } else if ok.len() + bad.len() >= t && !bad.is_empty() {
                (
                    Severity::Medium,
                    format!(
                        "attempt to read {} distinct secrets; {} {}",
                        ok.len() + bad.len(),
                        bad.len(),
                        clause.clone().unwrap_or_else(|| "failed".into())
                    ),
                )
            } else {
                continue;
            };
            let mut f = burst::finding(cx, "scan.secrets_harvesting", sev, &b, title)
                .with("distinct_secrets", ok.len() as u64)
                .with("failed_secrets", bad.len() as u64)
                .with(
                    "secrets",
                    ok.iter()
                        .chain(bad.iter())
                        .take(burst::MAX_RECORDS)
                        .cloned()
                        .collect::<Vec<_>>(),
                )
                .with("bulk_reads", bulk_ok.into_iter().collect::<Vec<_>>())
                .with("discovery_calls", discovery)
                .with("threshold", t as u64)
                .with("duration_minutes", (minutes * 10.0).round() / 10.0);
            if !errors.is_empty() {
                f = f.with("errors", errors);
            }
            out.push(f);
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane(
            "scan.secrets_harvesting",
            input,
        )]
    }
}
