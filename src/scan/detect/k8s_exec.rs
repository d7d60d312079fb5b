//! Interactive access into a running Kubernetes pod: `kubectl exec` / `attach` /
//! `port-forward` (`create`/`get` on `pods/exec|attach|portforward`), and `kubectl debug`'s
//! ephemeral containers (`update`/`patch` on `pods/ephemeralcontainers`: any image, any
//! command, inside the pod's namespaces and volumes). In a training cluster
//! a shell in a trainer pod reads the mounted datasets, credentials and checkpoints, or
//! changes the code mid-run, outside every pipeline control; such access should be rare
//! enough that each one is worth a look.
//!
//! Raised to critical on a *training or notebook workload*: a namespace named like one
//! (`kubeflow*`, `*train*`, `*notebook*`, `*jupyter*`), a namespace where the input shows
//! Kubeflow training jobs or notebooks created, or a pod the input shows created with
//! Kubeflow labels, a Kubeflow owner or GPU limits. Those facts are gathered from every
//! record (`record`, in parallel) and applied in `finish`, so the order of the files does
//! not matter.

use super::{Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::k8s::KUBEFLOW_RESOURCES;
use crate::input::logs::{Event, Op, RecordRef, Source};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Namespace-name patterns of training / notebook namespaces.
const TRAINING_NAMESPACES: &[&str] = &["kubeflow*", "*train*", "*notebook*", "*jupyter*"];

/// Labels Kubeflow's operators put on the pods they create.
const KUBEFLOW_LABELS: &[&str] = &[
    "training.kubeflow.org/",
    "trainer.kubeflow.org/",
    "notebook-name",
    "jobset.sigs.k8s.io/",
    "statefulset.kubernetes.io/pod-name",
];

#[derive(Default)]
struct Seen {
    /// (record, finding, namespace, pod) of each exec, judged in `finish`.
    execs: Vec<(RecordRef, Finding, String, String)>,
    /// Namespaces holding Kubeflow jobs / notebooks, with what showed it.
    namespaces: BTreeMap<String, String>,
    /// (namespace, pod name or name prefix) of training pods, with what showed it.
    pods: BTreeMap<(String, String), String>,
}

#[derive(Default)]
pub struct K8sExec {
    seen: Mutex<Seen>,
}

/// Does the object's pod template (or the pod) ask for a GPU?
pub(crate) fn wants_gpu(obj: &Value) -> bool {
    let mut specs = Vec::new();
    super::k8s_pod::pod_specs(obj, 8, &mut specs);
    specs.iter().any(|s| {
        ["initContainers", "containers"].iter().any(|k| {
            s.get(*k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| {
                    ["limits", "requests"].iter().any(|l| {
                        c.pointer(&format!("/resources/{l}"))
                            .and_then(Value::as_object)
                            .is_some_and(|m| m.keys().any(|k| k.ends_with("/gpu")))
                    })
                })
        })
    })
}

/// The `command=` parameters of an exec request URI, decoded.
fn command(uri: &str) -> Option<String> {
    let q = uri.split_once('?')?.1;
    let parts: Vec<String> = q
        .split('&')
        .filter_map(|kv| kv.strip_prefix("command="))
        .map(|v| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The ephemeral containers a `pods/ephemeralcontainers` update / patch adds (`name=image`,
/// at most 8; the Pod body's `spec.ephemeralContainers`, or the `EphemeralContainers` kind's
/// `ephemeralContainers` before Kubernetes 1.22), and the first one's command and args.
fn ephemeral(obj: &Value) -> (Vec<String>, Option<String>) {
    let list = obj
        .pointer("/spec/ephemeralContainers")
        .or_else(|| obj.get("ephemeralContainers"))
        .and_then(Value::as_array);
    let mut names = Vec::new();
    let mut cmd = None;
    for c in list.into_iter().flatten().take(8) {
        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("?");
        names.push(format!("{}={}", s("name"), s("image")));
        if cmd.is_none() {
            let words: Vec<&str> = ["command", "args"]
                .iter()
                .filter_map(|k| c.get(*k).and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .take(32)
                .collect();
            if !words.is_empty() {
                cmd = Some(words.join(" "));
            }
        }
    }
    (names, cmd)
}

impl K8sExec {
    /// Note what a create shows about training workloads.
    fn learn(&self, e: &Event) {
        let Some(resource) = e.action.strip_prefix("create ") else {
            return;
        };
        let ns = e
            .raw
            .pointer("/objectRef/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let obj = e.raw.get("requestObject").unwrap_or(&Value::Null);
        let name = e
            .raw
            .pointer("/objectRef/name")
            .and_then(Value::as_str)
            .or_else(|| obj.pointer("/metadata/name").and_then(Value::as_str))
            .or_else(|| {
                obj.pointer("/metadata/generateName")
                    .and_then(Value::as_str)
            })
            .unwrap_or("");
        let mut why = None;
        if KUBEFLOW_RESOURCES.contains(&resource) {
            why = Some(format!("Kubeflow {resource} created in the namespace"));
        } else if resource == "pods" || resource == "jobs" || resource == "statefulsets" {
            let labels = obj
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            let owner_kubeflow = obj
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|o| {
                    o.get("apiVersion")
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.contains("kubeflow.org"))
                });
            if owner_kubeflow
                || labels
                    .iter()
                    .any(|l| KUBEFLOW_LABELS.iter().any(|k| l.starts_with(k)))
            {
                why = Some("pod of a Kubeflow job or notebook".into());
            } else if wants_gpu(obj) {
                why = Some("pod with GPU limits".into());
            }
        }
        let Some(why) = why else { return };
        if let Ok(mut s) = self.seen.lock() {
            if KUBEFLOW_RESOURCES.contains(&resource) {
                s.namespaces.entry(ns.to_string()).or_insert(why.clone());
            }
            if !name.is_empty() {
                s.pods.insert((ns.to_string(), name.to_string()), why);
            }
        }
    }
}

impl Detection for K8sExec {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_exec_into_pod"]
    }

    fn record(&self, cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if e.source != Source::K8S {
            return;
        }
        if e.op != Op::ExecAttach {
            if e.success {
                self.learn(e);
            }
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
        let ns = e
            .raw
            .pointer("/objectRef/namespace")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let pod = e
            .raw
            .pointer("/objectRef/name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if !ns.is_empty() {
            f = f.with("namespace", ns.clone());
        }
        if let Some(c) = e
            .raw
            .get("requestURI")
            .and_then(Value::as_str)
            .and_then(command)
        {
            f = f.with("command", c);
        }
        if e.action.ends_with("/ephemeralcontainers") {
            let (names, cmd) = ephemeral(e.raw.get("requestObject").unwrap_or(&Value::Null));
            f = f.with("ephemeral_containers", names);
            if let Some(c) = cmd {
                f = f.with("command", c);
            }
        }
        if let Some(err) = &e.error {
            f = f.with("error", err.clone());
        }
        if let Ok(mut s) = self.seen.lock() {
            s.execs.push((e.at.clone(), f, ns, pod));
        }
    }

    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        let seen = std::mem::take(self.seen.get_mut().unwrap_or_else(|p| p.into_inner()));
        let mut execs = seen.execs;
        execs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        for (_, mut f, ns, pod) in execs {
            let by_pod = seen
                .pods
                .range((ns.clone(), String::new())..)
                .take_while(|((n, _), _)| *n == ns)
                .find(|((_, p), _)| {
                    !p.is_empty()
                        && (pod == *p
                            || (p.ends_with('-') && pod.starts_with(p.as_str()))
                            || pod.starts_with(&format!("{p}-")))
                })
                .map(|(_, why)| why.clone());
            let why = by_pod
                .or_else(|| seen.namespaces.get(&ns).cloned())
                .or_else(|| {
                    TRAINING_NAMESPACES
                        .iter()
                        .any(|g| super::glob_match(g, &ns))
                        .then(|| "namespace named like a training / notebook namespace".into())
                });
            if let Some(why) = why {
                f.severity = if f.severity == Severity::High {
                    Severity::Critical
                } else {
                    Severity::High
                };
                f = f.with("training_workload", why);
                f.title = f
                    .title
                    .replacen("into a pod", "into a training / notebook pod", 1);
            }
            out.push(f);
        }
        out
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
