//! Interactive access into a running Kubernetes pod: `kubectl exec` / `attach` /
//! `port-forward` (`create`/`get` on `pods/exec|attach|portforward`). In a training cluster
//! a shell in a trainer pod reads the mounted datasets, credentials and checkpoints, or
//! changes the code mid-run, outside every pipeline control; such access should be rare
//! enough that each one is worth a look.

use super::{Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op, Source};

pub struct K8sExec;

impl Detection for K8sExec {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_exec_into_pod"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::K8S || e.op != Op::ExecAttach {
            return;
        }
        // A failed attempt is still a signal, one step lower; the text says why it failed.
        let fail = super::errors::Failure::of(e);
        let (sev, what) = match &fail {
            None => (Severity::High, "interactive access into a pod".to_string()),
            Some(x) => (
                Severity::Medium,
                format!("attempt at interactive access into a pod {}", x.clause()),
            ),
        };
        let mut f = cx.finding(
            "scan.k8s_exec_into_pod",
            sev,
            e,
            format!("{what}: {} ({})", e.action, e.resource),
        );
        if let Some(x) = &fail {
            f = x.annotate(f);
        }
        if let Some(ns) = e
            .raw
            .pointer("/objectRef/namespace")
            .and_then(|v| v.as_str())
        {
            f = f.with("namespace", ns);
        }
        if let Some(err) = &e.error {
            f = f.with("error", err.clone());
        }
        out.push(f);
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let n = input.source(Source::K8S.name());
        vec![Coverage::new(
            "scan.k8s_exec_into_pod",
            n > 0,
            "blind",
            if n > 0 {
                format!("{n} Kubernetes audit events")
            } else {
                "no Kubernetes audit events in the input".into()
            },
        )]
    }
}
