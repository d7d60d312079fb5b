//! SageMaker control plane (CloudTrail, `sagemaker.amazonaws.com`): an execution role
//! passed to a job or notebook by a principal that never passed it before, a lifecycle
//! configuration whose script reaches the metadata service / opens a shell / mines / plants
//! SSH keys, a presigned notebook or Studio URL from a new IP, and training output written
//! to a bucket of another account.
//!
//! The role and output path are read from the raw record in `record` and kept for
//! `observe` in a [`Stash`]; bucket owners are learned from every CloudTrail record that
//! names one (`resources[]` of type `AWS::S3::Bucket` with its `accountId`), before
//! `observe` runs (all files are read first).

use super::burst::Stash;
use super::{first_time, needs_baseline, Baseline, Coverage, Cx, Detection, Seen, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op, Source};
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Base64 text of one lifecycle script examined at most (SageMaker allows 16,384
/// characters per script); longer content is examined up to here and marked truncated.
const MAX_SCRIPT_B64: usize = 256 * 1024;

/// What one job submission carried.
struct JobFacts {
    role: Option<String>,
    outputs: Vec<String>,
}

#[derive(Default)]
pub struct SageMaker {
    jobs: Stash<JobFacts>,
    /// Bucket → owner account, from records naming it.
    owners: Mutex<BTreeMap<String, String>>,
    found: Vec<Finding>,
    n_jobs: usize,
    n_scripts: usize,
    n_presigned: usize,
    n_outputs: usize,
    /// Output buckets whose owner the input does not name.
    unknown_owner: std::collections::BTreeSet<String>,
    /// (principal, IP) already reported.
    presigned_seen: std::collections::BTreeSet<(String, String)>,
}

fn is_sagemaker(e: &Event) -> bool {
    e.source == Source::CLOUDTRAIL && e.service == "sagemaker.amazonaws.com"
}

/// Values of keys named `key` (case-insensitive) anywhere in `v`, depth-bounded.
fn find_key<'a>(v: &'a Value, key: &str, depth: usize, out: &mut Vec<&'a Value>) {
    if depth == 0 || out.len() >= 16 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k.eq_ignore_ascii_case(key) {
                    out.push(x);
                } else {
                    find_key(x, key, depth - 1, out);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                find_key(x, key, depth - 1, out);
            }
        }
        _ => {}
    }
}

fn strings(v: &Value, keys: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for k in keys {
        find_key(v, k, 6, &mut found);
    }
    let mut out: Vec<String> = found
        .into_iter()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One suspicious-content class and the lowercase needles that show it.
const SCRIPT_SIGNS: &[(&str, &[&str])] = &[
    (
        "metadata_service",
        &[
            "169.254.169.254",
            "fd00:ec2::254",
            "169.254.170.2",
            "instance-data.ec2.internal",
        ],
    ),
    (
        "reverse_shell",
        &[
            "/dev/tcp/",
            "/dev/udp/",
            "nc -e",
            "ncat -e",
            "nc -c ",
            "netcat -e",
            "socat ",
            "bash -i",
            "sh -i >",
            "mkfifo /tmp/",
            "pty.spawn",
            "socket.socket(",
        ],
    ),
    (
        "miner",
        &[
            "xmrig",
            "stratum+tcp",
            "stratum+ssl",
            "stratum2+",
            "minerd",
            "cpuminer",
            "nicehash",
            "cryptonight",
            "--donate-level",
        ],
    ),
    (
        "ssh_key",
        &["authorized_keys", "ssh-rsa aaaa", "ssh-ed25519 aaaa"],
    ),
];

/// The scripts of a lifecycle configuration call: `onCreate` / `onStart` `[{content}]`,
/// Studio `studioLifecycleConfigContent`.
fn scripts(rp: &Value) -> Vec<String> {
    strings(rp, &["content", "studioLifecycleConfigContent"])
}

/// Sign classes found, each with the lines that show it.
type Signs = Vec<(&'static str, Vec<String>)>;

/// What a decoded script shows: (class, the lines that show it), and whether it was cut.
fn examine(b64: &str) -> Option<(Signs, bool)> {
    let t = b64.trim();
    let cut = t.len() > MAX_SCRIPT_B64;
    let t = if cut {
        // A prefix of whole base64 quanta (ASCII, so the byte cut is a char boundary).
        &t[..MAX_SCRIPT_B64 - MAX_SCRIPT_B64 % 4]
    } else {
        t
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(t.as_bytes())
        .ok()?;
    let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
    let mut out = Vec::new();
    for (class, needles) in SCRIPT_SIGNS {
        let lines: Vec<String> = text
            .lines()
            .filter(|l| needles.iter().any(|n| l.contains(n)))
            .take(3)
            .map(|l| l.trim().chars().take(200).collect())
            .collect();
        if !lines.is_empty() {
            out.push((*class, lines));
        }
    }
    Some((out, cut))
}

/// `s3://bucket/...` or an access-point ARN → (bucket or access point, owner when the
/// ARN names it).
fn bucket(uri: &str) -> Option<(String, Option<String>)> {
    let rest = uri.strip_prefix("s3://")?;
    if let Some(arn) = rest.strip_prefix("arn:aws:s3:") {
        // arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/...
        let mut p = arn.splitn(3, ':');
        let _region = p.next()?;
        let acct = p.next()?.to_string();
        let ap = p.next()?.split('/').take(2).collect::<Vec<_>>().join("/");
        return Some((ap, Some(acct).filter(|a| !a.is_empty())));
    }
    let b = rest.split('/').next()?;
    (!b.is_empty()).then(|| (b.to_string(), None))
}

impl SageMaker {
    fn lifecycle(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
        let name = strings(
            rp,
            &[
                "notebookInstanceLifecycleConfigName",
                "studioLifecycleConfigName",
            ],
        )
        .join(", ");
        if e.action == "UpdateNotebookInstance" {
            let lc = strings(rp, &["lifecycleConfigName"]).join(", ");
            out.push(
                cx.finding(
                    "scan.sagemaker_lifecycle_script",
                    Severity::Low,
                    e,
                    format!(
                        "lifecycle configuration {lc} attached to notebook instance {} (its script runs at the next start)",
                        strings(rp, &["notebookInstanceName"]).join(", ")
                    ),
                )
                .with("lifecycle_config", lc),
            );
            return;
        }
        let texts = scripts(rp);
        let mut signs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut examined = 0;
        let mut truncated = false;
        for t in &texts {
            if let Some((found, cut)) = examine(t) {
                examined += 1;
                truncated |= cut;
                for (class, lines) in found {
                    signs.entry(class).or_default().extend(lines);
                }
            }
        }
        let f = if !signs.is_empty() {
            let classes: Vec<&str> = signs.keys().copied().collect();
            let sev = if signs.len() > 1 || signs.contains_key("reverse_shell") {
                Severity::Critical
            } else {
                Severity::High
            };
            let mut f = cx
                .finding(
                    "scan.sagemaker_lifecycle_script",
                    sev,
                    e,
                    format!(
                        "lifecycle configuration {name} runs a script that {}",
                        classes
                            .iter()
                            .map(|c| match *c {
                                "metadata_service" => "reaches the instance metadata service",
                                "reverse_shell" => "opens a reverse shell",
                                "miner" => "runs a cryptominer",
                                _ => "installs SSH keys",
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .with("signs", classes)
                .with("lifecycle_config", name.clone());
            for (c, lines) in &signs {
                f = f.with(&format!("lines_{c}"), lines.clone());
            }
            if truncated {
                f = f.with("truncated", true);
            }
            f
        } else if examined == 0 {
            cx.finding(
                "scan.sagemaker_lifecycle_script",
                Severity::Low,
                e,
                format!(
                    "lifecycle configuration {name} {}d; its script is {}",
                    if e.action.starts_with("Create") {
                        "create"
                    } else {
                        "update"
                    },
                    if texts.is_empty() {
                        "not in the record"
                    } else {
                        "not valid base64"
                    }
                ),
            )
            .with("lifecycle_config", name.clone())
        } else {
            return;
        };
        let f = match super::errors::Failure::of(e) {
            None => f,
            Some(x) => {
                let mut f = x.annotate(f);
                f.severity = Severity::Low.max(lower(f.severity));
                f
            }
        };
        out.push(f);
    }
}

/// One level lower (a failed call), never below low.
fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        _ => Severity::Low,
    }
}

impl Detection for SageMaker {
    fn ids(&self) -> &'static [&'static str] {
        &[
            "scan.sagemaker_role_passed_by_new_principal",
            "scan.sagemaker_lifecycle_script",
            "scan.sagemaker_presigned_url_new_ip",
            "scan.sagemaker_output_other_account",
        ]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.source != Source::CLOUDTRAIL {
            return;
        }
        // Bucket owners named by any record (S3 data events list the bucket's account).
        if let Some(rs) = e.raw.get("resources").and_then(Value::as_array) {
            for r in rs {
                let ty = r.get("type").and_then(Value::as_str).unwrap_or("");
                let arn = r.get("ARN").and_then(Value::as_str).unwrap_or("");
                let acct = r.get("accountId").and_then(Value::as_str).unwrap_or("");
                if let (true, Some(b), false) = (
                    ty == "AWS::S3::Bucket",
                    arn.strip_prefix("arn:aws:s3:::"),
                    acct.is_empty(),
                ) {
                    if let Ok(mut m) = self.owners.lock() {
                        m.insert(b.to_string(), acct.to_string());
                    }
                }
            }
        }
        if !is_sagemaker(e) {
            return;
        }
        match e.op {
            Op::StartupScriptChange => self.lifecycle(cx, e, out),
            Op::JobSubmit => {
                let rp = e.raw.get("requestParameters").unwrap_or(&Value::Null);
                let role = strings(rp, &["roleArn"]).into_iter().next();
                let mut outputs = strings(rp, &["s3OutputPath"]);
                // Processing jobs: processingOutputConfig.outputs[].s3Output.s3Uri.
                if let Some(po) = rp
                    .get("processingOutputConfig")
                    .or_else(|| rp.get("ProcessingOutputConfig"))
                {
                    outputs.extend(strings(po, &["s3Uri"]));
                }
                self.jobs.put(&e.at, JobFacts { role, outputs });
            }
            _ => {}
        }
    }

    fn observe(&mut self, cx: &Cx, b: &mut Baseline, e: &Event) {
        if !is_sagemaker(e) {
            return;
        }
        match e.op {
            Op::StartupScriptChange => self.n_scripts += 1,
            Op::Login if e.action.starts_with("CreatePresigned") => {
                self.n_presigned += 1;
                self.presigned(cx, b, e);
            }
            Op::JobSubmit => {
                let Some(facts) = self.jobs.take(&e.at) else {
                    return;
                };
                self.n_jobs += 1;
                if let Some(role) = &facts.role {
                    self.role(cx, b, e, role);
                }
                for o in &facts.outputs {
                    self.output(cx, e, o);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, _cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        std::mem::take(&mut self.found)
    }

    fn coverage(&self, _input: &Stats, cx: &Cx) -> Vec<Coverage> {
        let mut v = vec![
            needs_baseline(
                "scan.sagemaker_role_passed_by_new_principal",
                self.n_jobs,
                "SageMaker job / notebook submissions",
                cx,
            ),
            Coverage::new(
                "scan.sagemaker_lifecycle_script",
                self.n_scripts > 0,
                "blind",
                if self.n_scripts > 0 {
                    format!("{} lifecycle configuration changes", self.n_scripts)
                } else {
                    "no SageMaker lifecycle configuration events in the input".into()
                },
            ),
            needs_baseline(
                "scan.sagemaker_presigned_url_new_ip",
                self.n_presigned,
                "presigned notebook / Studio URL requests",
                cx,
            ),
        ];
        let out = if self.n_outputs == 0 {
            Coverage::new(
                "scan.sagemaker_output_other_account",
                false,
                "blind",
                "no SageMaker job with an S3 output path in the input".into(),
            )
        } else if !self.unknown_owner.is_empty() {
            Coverage {
                detection: "scan.sagemaker_output_other_account".into(),
                status: "partial".into(),
                reason: format!(
                    "{} output paths; owner account unknown for {} bucket(s) (no S3 event in the input names it): {}",
                    self.n_outputs,
                    self.unknown_owner.len(),
                    self.unknown_owner.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                ),
            }
        } else {
            Coverage::new(
                "scan.sagemaker_output_other_account",
                true,
                "",
                format!("{} output paths, every bucket owner known", self.n_outputs),
            )
        };
        v.push(out);
        v
    }
}

impl SageMaker {
    fn role(&mut self, cx: &Cx, b: &mut Baseline, e: &Event, role: &str) {
        let submitted_before = b
            .principals
            .get(&e.principal)
            .is_some_and(|h| h.done.iter().any(|d| d.starts_with("sagemaker_role:")));
        if first_time(cx, b, e, &format!("sagemaker_role:{role}")) != Seen::New || !e.success {
            return;
        }
        let (sev, why) = if submitted_before {
            (Severity::Medium, "a role it never passed before")
        } else {
            (Severity::High, "its first SageMaker job submission")
        };
        self.found.push(
            cx.finding(
                "scan.sagemaker_role_passed_by_new_principal",
                sev,
                e,
                format!(
                    "{} passed execution role {role} to {} ({why})",
                    e.principal, e.action
                ),
            )
            .with("role", role)
            .with("submitted_before", submitted_before),
        );
    }

    /// Must run before the behaviour family adds this event's IP to the history.
    fn presigned(&mut self, cx: &Cx, b: &mut Baseline, e: &Event) {
        let Some(ip) = &e.source_ip else { return };
        if !e.success || !cx.has_baseline || cx.in_baseline(e) {
            return;
        }
        let hist = b.principals.get(&e.principal);
        let known = hist.is_some_and(|h| h.ips.contains(ip));
        if known
            || !self
                .presigned_seen
                .insert((e.principal.clone(), ip.clone()))
        {
            return;
        }
        let (sev, why) = match hist {
            Some(h) if !h.ips.is_empty() => (
                Severity::Medium,
                format!("not among its {} known IPs", h.ips.len()),
            ),
            _ => (Severity::High, "a principal with no IP history".to_string()),
        };
        self.found.push(
            cx.finding(
                "scan.sagemaker_presigned_url_new_ip",
                sev,
                e,
                format!("{} from new IP {ip} ({why})", e.action),
            )
            .with("new_ip", ip.clone()),
        );
    }

    fn output(&mut self, cx: &Cx, e: &Event, uri: &str) {
        let Some((bkt, arn_owner)) = bucket(uri) else {
            return;
        };
        self.n_outputs += 1;
        let owner = arn_owner.or_else(|| {
            self.owners
                .get_mut()
                .ok()
                .and_then(|m| m.get(&bkt).cloned())
        });
        let Some(owner) = owner else {
            self.unknown_owner.insert(bkt);
            return;
        };
        if e.account.is_empty()
            || owner == e.account
            || cx.s.trusted_accounts.iter().any(|a| a == &owner)
            || !e.success
        {
            return;
        }
        self.found.push(
            cx.finding(
                "scan.sagemaker_output_other_account",
                Severity::High,
                e,
                format!(
                    "{} writes its output to {uri}, a bucket of account {owner} (job account {}, not in [scan] trusted_accounts)",
                    e.action, e.account
                ),
            )
            .with("output_path", uri)
            .with("bucket_owner", owner),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn scripts_are_decoded_bounded_and_classified() {
        let (signs, cut) = examine(&b64(
            "echo hi\ncurl http://[fd00:ec2::254]/latest/\nxmrig -o stratum+tcp://p:3333\n",
        ))
        .unwrap();
        let classes: Vec<&str> = signs.iter().map(|s| s.0).collect();
        assert_eq!(classes, ["metadata_service", "miner"]);
        assert!(!cut);
        // Clean, invalid and oversized content.
        assert!(examine(&b64("pip install torch\n")).unwrap().0.is_empty());
        assert!(examine("not base64 !!").is_none());
        let big = b64(&format!(
            "{}\ncat >> ~/.ssh/authorized_keys\n",
            "#".repeat(400_000)
        ));
        let (signs, cut) = examine(&big).unwrap();
        assert!(cut);
        // The line past the cut is not seen: bounded, and said so by `truncated`.
        assert!(signs.is_empty());
    }

    #[test]
    fn output_buckets_and_access_points() {
        assert_eq!(
            bucket("s3://my-bucket/out/"),
            Some(("my-bucket".into(), None))
        );
        assert_eq!(
            bucket("s3://arn:aws:s3:us-east-1:444455556666:accesspoint/drop/out"),
            Some(("accesspoint/drop".into(), Some("444455556666".into())))
        );
        assert_eq!(bucket("s3://"), None);
        assert_eq!(bucket("gs://x"), None);
        assert_eq!(bucket("s3://arn:aws:s3:"), None);
    }
}
