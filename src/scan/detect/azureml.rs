//! Azure ML (`Microsoft.MachineLearningServices/workspaces/...` in the activity log):
//! workspace / compute / endpoint keys listed and datastore / connection secrets listed
//! (the workspace's `listKeys` returns the storage account key, the container registry
//! password and the Application Insights key), and online endpoint or deployment changes
//! by an identity that never changed one before.
//!
//! Without a baseline every successful key / secret listing is reported (medium); with one,
//! only a principal's first listing after it (high): `az ml` and the studio list keys
//! routinely for the identities that work in the workspace.

use super::{first_time, needs_baseline, Baseline, Coverage, Cx, Detection, Seen, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op};

#[derive(Default)]
pub struct AzureMl {
    n_secret: usize,
    n_deploy: usize,
    found: Vec<Finding>,
}

fn is_azureml(e: &Event) -> bool {
    e.source.name() == "azure"
        && e.action
            .to_ascii_lowercase()
            .starts_with("microsoft.machinelearningservices/workspaces/")
}

/// `Microsoft.MachineLearningServices/workspaces/datastores/listSecrets/action` →
/// `datastores/listSecrets`.
fn short(action: &str) -> String {
    let a = action
        .get("Microsoft.MachineLearningServices/workspaces/".len()..)
        .unwrap_or(action);
    match a.len().checked_sub("/action".len()) {
        Some(n) if a.is_char_boundary(n) && a[n..].eq_ignore_ascii_case("/action") => {
            a[..n].to_string()
        }
        _ => a.to_string(),
    }
}

impl Detection for AzureMl {
    fn ids(&self) -> &'static [&'static str] {
        &[
            "scan.azureml_keys_listed",
            "scan.azureml_endpoint_change_by_new_identity",
        ]
    }

    fn observe(&mut self, cx: &Cx, b: &mut Baseline, e: &Event) {
        if !is_azureml(e) {
            return;
        }
        let what = short(&e.action);
        match e.op {
            Op::SecretRead => {
                self.n_secret += 1;
                let seen = first_time(cx, b, e, &format!("azureml:{}", what.to_ascii_lowercase()));
                let sev = match seen {
                    _ if !e.success => return,
                    Seen::NoBaseline => Severity::Medium,
                    Seen::New => Severity::High,
                    Seen::Learning | Seen::Known => return,
                };
                let first = if seen == Seen::New {
                    " for the first time after the baseline"
                } else {
                    ""
                };
                self.found.push(
                    cx.finding(
                        "scan.azureml_keys_listed",
                        sev,
                        e,
                        format!("{} called {what}{first} on {}", e.principal, e.resource),
                    )
                    .with("operation", what),
                );
            }
            Op::ModelDeploy => {
                self.n_deploy += 1;
                if first_time(cx, b, e, "azureml:endpoint_change") != Seen::New || !e.success {
                    return;
                }
                self.found.push(
                    cx.finding(
                        "scan.azureml_endpoint_change_by_new_identity",
                        Severity::High,
                        e,
                        format!(
                            "{} changed an online endpoint for the first time ({what} on {})",
                            e.principal, e.resource
                        ),
                    )
                    .with("operation", what),
                );
            }
            _ => {}
        }
    }

    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        std::mem::take(&mut self.found)
    }

    fn coverage(&self, _input: &Stats, cx: &Cx) -> Vec<Coverage> {
        vec![
            Coverage::new(
                "scan.azureml_keys_listed",
                self.n_secret > 0,
                "blind",
                if self.n_secret > 0 {
                    format!("{} Azure ML key / secret listings", self.n_secret)
                } else {
                    "no Azure ML listKeys / listSecrets events in the input".into()
                },
            ),
            needs_baseline(
                "scan.azureml_endpoint_change_by_new_identity",
                self.n_deploy,
                "Azure ML endpoint / deployment changes",
                cx,
            ),
        ]
    }
}
