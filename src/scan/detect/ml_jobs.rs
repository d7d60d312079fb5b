//! ML jobs and interactive compute started by a principal that never started one on that
//! platform before (after the baseline): Vertex AI custom / tuning / pipeline jobs,
//! Workbench instances and Colab Enterprise runtimes; Kubeflow training jobs and notebooks
//! (`kubeflow.org`, `trainer.kubeflow.org`); Azure ML jobs and computes. One rule through
//! the operation kind (`job_submit`), the platform in `evidence.platform`. SageMaker jobs
//! are judged by the role they pass (`scan.sagemaker_role_passed_by_new_principal`); plain
//! Kubernetes pods / Deployments are not ML jobs by themselves.

use super::{first_time, needs_baseline, Baseline, Coverage, Cx, Detection, Seen, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::k8s::KUBEFLOW_RESOURCES;
use crate::input::logs::{Event, Op, Source};

#[derive(Default)]
pub struct MlJobs {
    n: usize,
    found: Vec<Finding>,
}

/// The ML platform of a job submission, or `None` when it is not one this rule judges.
fn platform(e: &Event) -> Option<&'static str> {
    if e.op != Op::JobSubmit {
        return None;
    }
    if e.source == Source::GCP {
        return Some(if e.service == "notebooks.googleapis.com" {
            "vertex_workbench"
        } else {
            "vertex_ai"
        });
    }
    if e.source == Source::K8S {
        let res = e.action.strip_prefix("create ")?;
        return KUBEFLOW_RESOURCES.contains(&res).then_some("kubeflow");
    }
    if e.source.name() == "azure"
        && e.action
            .to_ascii_lowercase()
            .starts_with("microsoft.machinelearningservices/")
    {
        return Some("azure_ml");
    }
    None
}

impl Detection for MlJobs {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.ml_job_by_new_principal"]
    }

    fn observe(&mut self, cx: &Cx, b: &mut Baseline, e: &Event) {
        let Some(p) = platform(e) else { return };
        self.n += 1;
        if first_time(cx, b, e, &format!("ml_job:{p}")) != Seen::New || !e.success {
            return;
        }
        self.found.push(
            cx.finding(
                "scan.ml_job_by_new_principal",
                Severity::Medium,
                e,
                format!(
                    "{} started its first {p} job after the baseline: {} ({})",
                    e.principal, e.action, e.resource
                ),
            )
            .with("platform", p),
        );
    }

    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        std::mem::take(&mut self.found)
    }

    fn coverage(&self, _input: &Stats, cx: &Cx) -> Vec<Coverage> {
        vec![needs_baseline(
            "scan.ml_job_by_new_principal",
            self.n,
            "Vertex AI / Kubeflow / Azure ML job submissions",
            cx,
        )]
    }
}
