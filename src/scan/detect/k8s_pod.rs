//! Kubernetes workloads that escape their container: a pod (or a Job / Deployment /
//! StatefulSet / DaemonSet / CronJob pod template, or a Kubeflow PyTorchJob / TFJob /
//! MPIJob / Notebook / TrainJob replica template) created with a privileged container,
//! added kernel capabilities, the node's network / PID / IPC namespace or a hostPath volume
//! — in *any* container (init and ephemeral too) and any replica template. Training jobs run
//! on GPU nodes holding credentials, datasets and other tenants' checkpoints; a privileged
//! or host-mounted pod there reads all of it, so a GPU workload (`nvidia.com/gpu`,
//! `amd.com/gpu`... in `resources.limits` / `requests`) is critical. Needs the audit level
//! `Request` or above for those resources (the `requestObject`); without it nothing can be
//! seen.

use super::{logging::control_plane, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use serde_json::Value;

pub struct K8sPod;

/// Host paths whose mount hands the node (or its container runtime) to the pod: falco's
/// sensitive-mount list, plus the kubelet and cloud-credential directories.
const SENSITIVE_PATHS: &[&str] = &[
    "/",
    "/etc",
    "/root",
    "/home",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/var/run",
    "/run",
    "/var/run/docker.sock",
    "/run/containerd",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/var/lib/kubelet",
    "/var/lib/kubelet/pki",
    "/etc/kubernetes",
    "/etc/kubernetes/manifests",
    "/var/lib/docker",
    "/var/log",
];

/// Capabilities that break out of a container.
const ESCAPE_CAPS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "DAC_READ_SEARCH",
    "NET_ADMIN",
    "BPF",
];

/// Every pod spec in a created object (objects with a `containers` array), searched to
/// `depth` levels: `spec` of a Pod, `spec.template.spec` of a Job / Deployment,
/// `spec.jobTemplate.spec.template.spec` of a CronJob, each replica template of a Kubeflow
/// job (`spec.pytorchReplicaSpecs.Worker.template.spec`...).
pub(crate) fn pod_specs<'a>(v: &'a Value, depth: usize, out: &mut Vec<&'a Value>) {
    if depth == 0 || out.len() >= 32 {
        return;
    }
    match v {
        Value::Object(m) => {
            if m.get("containers").is_some_and(Value::is_array) {
                out.push(v);
                return;
            }
            for (k, x) in m {
                // Not into metadata / status: no pod specs there.
                if k != "metadata" && k != "status" {
                    pod_specs(x, depth - 1, out);
                }
            }
        }
        Value::Array(a) => {
            for x in a.iter().take(64) {
                pod_specs(x, depth - 1, out);
            }
        }
        _ => {}
    }
}

fn normalise(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/"
    } else {
        t
    }
}

/// What makes the spec dangerous: `privileged:<container>`, `capability:<c>:<container>`,
/// `hostNetwork`, `hostPID`, `hostIPC`, `hostPath:<path>` (`sensitive` when the path is
/// in [`SENSITIVE_PATHS`]).
fn dangers(spec: &Value, out: &mut Vec<String>, sensitive: &mut bool) {
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            if c.pointer("/securityContext/privileged") == Some(&Value::Bool(true)) {
                out.push(format!("privileged:{name}"));
            }
            for cap in c
                .pointer("/securityContext/capabilities/add")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let up = cap.to_ascii_uppercase();
                let up = up.strip_prefix("CAP_").unwrap_or(&up);
                if ESCAPE_CAPS.contains(&up) {
                    out.push(format!("capability:{up}:{name}"));
                }
            }
        }
    }
    for k in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec.get(k) == Some(&Value::Bool(true)) {
            out.push(k.to_string());
        }
    }
    for v in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = v.pointer("/hostPath/path") {
            let p = p.as_str().unwrap_or("?");
            if SENSITIVE_PATHS.contains(&normalise(p)) {
                *sensitive = true;
            }
            out.push(format!("hostPath:{p}"));
        }
    }
}

impl Detection for K8sPod {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_privileged_pod"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::K8S || !e.action.starts_with("create ") || e.action.contains('/') {
            return;
        }
        let Some(obj) = e.raw.get("requestObject") else {
            return;
        };
        let mut specs = Vec::new();
        if let Some(spec) = obj.get("spec") {
            pod_specs(spec, 8, &mut specs);
        }
        let mut d = Vec::new();
        let mut sensitive = false;
        for s in specs {
            dangers(s, &mut d, &mut sensitive);
        }
        let mut once = std::collections::BTreeSet::new();
        d.retain(|x| once.insert(x.clone()));
        if d.is_empty() {
            return;
        }
        let gpu = super::k8s_exec::wants_gpu(obj);
        // A failed attempt is still a signal, one step lower; the text says why it failed.
        let fail = super::errors::Failure::of(e);
        let sev = match (fail.is_none(), gpu) {
            (true, true) => Severity::Critical,
            (true, false) => Severity::High,
            (false, true) => Severity::High,
            (false, false) => Severity::Medium,
        };
        let what = match &fail {
            None => "workload created".to_string(),
            Some(x) => format!("attempt to create a workload {}", x.clause()),
        };
        let on = if gpu { " on GPUs" } else { "" };
        let mut f = cx
            .finding(
                "scan.k8s_privileged_pod",
                sev,
                e,
                format!("{what}{on} with {} ({})", d.join(", "), e.resource),
            )
            .with("escape", d.join(","))
            .with("gpu", gpu);
        if sensitive {
            f = f.with("sensitive_mount", true);
        }
        if let Some(x) = &fail {
            f = x
                .annotate(f)
                .with("error", e.error.clone().unwrap_or_default());
        }
        out.push(f);
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let mut c = control_plane("scan.k8s_privileged_pod", input);
        if input.source(Source::K8S.name()) == 0 {
            c.status = "blind".into();
            c.reason = "no Kubernetes audit events in the input".into();
        }
        vec![c]
    }
}
