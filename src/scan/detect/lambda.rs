//! Lambda backdoors: a function made invocable by anyone or by another account
//! (`AddPermission`, a function URL with `AuthType: NONE`, a layer shared with `*`), and
//! function code or configuration changed (`CreateFunction`, `UpdateFunctionCode`,
//! `UpdateFunctionConfiguration`; Stratus Red Team `lambda-backdoor-function`,
//! `lambda-overwrite-code`, `lambda-layer-extension`).
//!
//! Deployments change code every day, so a code or configuration change alone is `low`
//! (visible, never failing the default gate); a layer from another account is `medium`;
//! what opens the function to the outside is `high`. A principal's Lambda calls with no gap
//! over [`GAP_MINUTES`] are one finding; failed calls count one level lower. CloudTrail
//! names these calls with an API version suffix (`AddPermission20150331v2`): it is stripped.

use super::burst::{self, Bursts, Stash};
use super::iam::lower;
use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use chrono::Duration;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub const GAP_MINUTES: i64 = 60;

#[derive(Clone)]
struct Change {
    function: String,
    what: String,
    sev: Severity,
    /// Who may now invoke it: `*`, account ids.
    grantees: Vec<String>,
}

pub struct Lambda {
    stash: Stash<Change>,
    bursts: Bursts<Change>,
}

impl Default for Lambda {
    fn default() -> Self {
        Lambda {
            stash: Stash::default(),
            bursts: Bursts::new(Duration::minutes(GAP_MINUTES)),
        }
    }
}

/// `AddPermission20150331v2` → `AddPermission`.
pub(super) fn api_name(action: &str) -> &str {
    match action.find(|c: char| c.is_ascii_digit()) {
        Some(i) if i > 0 => &action[..i],
        _ => action,
    }
}

fn change_of(cx: &Cx, e: &Event) -> Option<Change> {
    if e.source != Source::CLOUDTRAIL || e.service != "lambda.amazonaws.com" {
        return None;
    }
    let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
    let get = |k: &str| rp.get(k).and_then(Value::as_str).map(String::from);
    let function = get("functionName")
        .or_else(|| get("layerName"))
        .unwrap_or_else(|| e.resource.clone());
    // The function's short name for titles (ARNs are long).
    let short = function.rsplit(':').next().unwrap_or(&function).to_string();
    let own = e.account.as_str();
    let mut c = Change {
        function: function.clone(),
        what: String::new(),
        sev: Severity::Low,
        grantees: Vec::new(),
    };
    match api_name(&e.action) {
        "CreateFunction" => c.what = format!("function {short} created"),
        "UpdateFunctionCode" => c.what = format!("code of function {short} replaced"),
        "UpdateFunctionConfiguration" => {
            let layers = burst::strings(rp.get("layers"));
            let foreign: Vec<String> = layers
                .iter()
                .filter(|l| {
                    burst::account_of(l).is_some_and(|a| a != "aws" && burst::external(cx, &a, own))
                })
                .cloned()
                .collect();
            if foreign.is_empty() {
                c.what = format!("configuration of function {short} changed");
            } else {
                c.what = format!(
                    "function {short} given a layer from another account ({})",
                    foreign.join(", ")
                );
                c.sev = Severity::Medium;
            }
        }
        "AddPermission" | "AddLayerVersionPermission" => {
            let p = get("principal").unwrap_or_default();
            let scoped = [
                "sourceAccount",
                "sourceArn",
                "principalOrgID",
                "organizationId",
            ]
            .iter()
            .any(|k| get(k).is_some());
            let url_public = get("functionUrlAuthType").as_deref() == Some("NONE");
            if p == "*" && !scoped {
                c.grantees.push("*".into());
                c.what = if url_public {
                    format!("function {short} made callable by anyone through a public URL")
                } else {
                    format!("{short} made usable by any AWS account (principal *)")
                };
                c.sev = Severity::High;
            } else if let Some(a) = burst::account_of(&p).filter(|a| burst::external(cx, a, own)) {
                c.grantees.push(a.clone());
                c.what = format!("{short} made usable by another account ({a})");
                c.sev = Severity::High;
            } else {
                // A service or the own account: routine wiring (S3, API Gateway triggers).
                return None;
            }
        }
        "CreateFunctionUrlConfig" | "UpdateFunctionUrlConfig" => {
            if get("authType").as_deref() != Some("NONE") {
                return None;
            }
            c.grantees.push("*".into());
            c.what = format!("public URL without authentication for function {short}");
            c.sev = Severity::High;
        }
        _ => return None,
    }
    Some(c)
}

impl Detection for Lambda {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.lambda_backdoor"]
    }

    fn record(&self, cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if let Some(c) = change_of(cx, e) {
            self.stash.put(&e.at, c);
        }
    }

    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, e: &Event) {
        self.bursts.push_stashed(&mut self.stash, e);
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let mut out = Vec::new();
        for b in self.bursts.finish() {
            let mut sev = Severity::Info;
            let mut whats: Vec<String> = Vec::new();
            let mut grantees = BTreeSet::new();
            let mut changes = Vec::new();
            for (e, c) in &b.items {
                let fail = super::errors::Failure::of(e);
                let v = if fail.is_some() { lower(c.sev) } else { c.sev };
                sev = sev.max(v);
                if fail.is_none() {
                    grantees.extend(c.grantees.iter().cloned());
                }
                let w = match &fail {
                    None => c.what.clone(),
                    Some(f) => format!("{} ({})", c.what, f.clause()),
                };
                if !whats.contains(&w) {
                    whats.push(w);
                }
                changes.push(json!({
                    "action": e.action, "function": c.function, "what": c.what,
                    "severity": v.as_str(),
                    "outcome": fail.as_ref().map(|f| f.kind.as_str()).unwrap_or("succeeded"),
                    "record": e.at.to_string(),
                }));
            }
            if sev == Severity::Info {
                continue;
            }
            // The worst first in the title.
            whats.sort_by_key(|w| {
                !(w.contains("anyone") || w.contains("any AWS") || w.contains("another account"))
            });
            let shown = whats.len().min(3);
            let mut title = format!("Lambda: {}", whats[..shown].join("; "));
            if whats.len() > shown {
                title.push_str(&format!(" (+{} more)", whats.len() - shown));
            }
            let (errors, _) = burst::failures(b.items.iter().map(|(e, _)| e));
            let mut f = burst::finding(cx, "scan.lambda_backdoor", sev, &b, title)
                .with("changes", changes)
                .with("grantees", grantees.into_iter().collect::<Vec<_>>())
                .with(
                    "functions",
                    b.items
                        .iter()
                        .map(|(_, c)| c.function.clone())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>(),
                );
            if !errors.is_empty() {
                f = f.with("errors", errors);
            }
            out.push(f);
        }
        out
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane("scan.lambda_backdoor", input)]
    }
}
