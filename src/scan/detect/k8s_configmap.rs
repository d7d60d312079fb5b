//! Credentials written into a Kubernetes ConfigMap (falco's "Create/Modify Configmap With
//! Private Credentials", WARNING → `medium`). ConfigMaps are readable by every workload and
//! user with `get configmaps` in the namespace, are not encrypted at rest and are printed
//! by `kubectl describe`: a training job's cloud keys or a tracking server's password in one
//! are a leak waiting for a reader.
//!
//! Read from the `requestObject` of `create` / `update` / `patch` calls on `configmaps`
//! (audit level `Request` or above for ConfigMaps). Each `data` entry is searched for an
//! entry or an assignment (`name = value`, `name: value`, `"name": "value"`) whose name
//! *ends* with a credential word (`password`, `passwd`, `passphrase`, `access_key_id`,
//! `secret_access_key`, `secret_key`, `private_key`, `api_key`, `apikey`, `client_secret`,
//! `auth_token`, `access_token`; `-` and `.` read as `_`) and whose value is not empty or a
//! reference (`$VAR`, `${...}`, `{{...}}`, a path), a PEM private key, or an AWS access key
//! id (`AKIA` / `ASIA` + 16). Evidence names the entries and the names matched, never a
//! value. One finding per ConfigMap and principal, with the number of writes.

use super::burst::Stash;
use super::{spanned, Baseline, Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Source};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

const WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "access_key_id",
    "secret_access_key",
    "secret_key",
    "private_key",
    "api_key",
    "apikey",
    "client_secret",
    "auth_token",
    "access_token",
];

/// Bytes of one ConfigMap's data searched (the API server caps an object at ~1.5 MiB).
const MAX_BYTES: usize = 1 << 20;

fn credential_name(name: &str) -> bool {
    let n: String = name
        .trim()
        .trim_start_matches("export ")
        .trim_matches(|c| c == '"' || c == '\'')
        .trim()
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    WORDS.iter().any(|w| n.ends_with(w))
}

fn real_value(v: &str) -> bool {
    let v = v
        .trim()
        .trim_end_matches(',')
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .trim();
    !(v.is_empty()
        || v.starts_with('$')
        || v.starts_with("{{")
        || v.starts_with('/')
        || v == "null"
        || v == "~")
}

fn aws_key_id(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(20).any(|w| {
        (w.starts_with(b"AKIA") || w.starts_with(b"ASIA"))
            && w[4..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

/// What in a ConfigMap's `data` looks like a credential: `entry` or `entry: name`.
fn credentials(obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut budget = MAX_BYTES;
    let Some(data) = obj.get("data").and_then(Value::as_object) else {
        return out;
    };
    for (k, v) in data.iter().take(1024) {
        let Some(v) = v.as_str() else { continue };
        let mut end = v.len().min(budget);
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        let v = &v[..end];
        budget -= v.len();
        if credential_name(k) && real_value(v) {
            out.push(k.clone());
        }
        for line in v.lines().take(10_000) {
            let Some(i) = line.find(['=', ':']) else {
                continue;
            };
            let (name, value) = (&line[..i], &line[i + 1..]);
            if credential_name(name) && real_value(value) {
                out.push(format!("{k}: {}", name.trim().trim_matches('"')));
            }
        }
        if v.contains("PRIVATE KEY-----") {
            out.push(format!("{k}: private key"));
        }
        if aws_key_id(v) {
            out.push(format!("{k}: AWS access key id"));
        }
        if budget == 0 {
            break;
        }
    }
    out.truncate(32);
    out
}

struct Group {
    first: Event,
    last: Option<DateTime<Utc>>,
    writes: u64,
    found: Vec<String>,
}

#[derive(Default)]
pub struct K8sConfigmap {
    hits: Stash<Vec<String>>,
    /// (ConfigMap resource, principal) → its writes with credentials.
    groups: BTreeMap<(String, String), Group>,
}

impl Detection for K8sConfigmap {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.k8s_configmap_credentials"]
    }

    fn record(&self, _cx: &Cx, e: &Event, _out: &mut Vec<Finding>) {
        if e.source != Source::K8S || !e.success {
            return;
        }
        if !matches!(
            e.action.as_str(),
            "create configmaps" | "update configmaps" | "patch configmaps"
        ) {
            return;
        }
        let Some(obj) = e.raw.get("requestObject") else {
            return;
        };
        let c = credentials(obj);
        if !c.is_empty() {
            self.hits.put(&e.at, c);
        }
    }

    fn observe(&mut self, _cx: &Cx, _b: &mut Baseline, e: &Event) {
        if e.source != Source::K8S {
            return;
        }
        let Some(c) = self.hits.take(&e.at) else {
            return;
        };
        let g = self
            .groups
            .entry((e.resource.clone(), e.principal.clone()))
            .or_insert_with(|| Group {
                first: e.clone(),
                last: e.time,
                writes: 0,
                found: Vec::new(),
            });
        g.writes += 1;
        g.last = e.time.or(g.last);
        for x in c {
            if g.found.len() < 32 && !g.found.contains(&x) {
                g.found.push(x);
            }
        }
    }

    fn finish(&mut self, cx: &Cx, _b: &mut Baseline) -> Vec<Finding> {
        std::mem::take(&mut self.groups)
            .into_values()
            .map(|g| {
                let writes = if g.writes > 1 {
                    format!(", {} writes", g.writes)
                } else {
                    String::new()
                };
                let f = cx
                    .finding(
                        "scan.k8s_configmap_credentials",
                        Severity::Medium,
                        &g.first,
                        format!(
                            "ConfigMap {} written with credentials in its data ({}{writes})",
                            g.first.resource,
                            g.found.join("; ")
                        ),
                    )
                    .with("credentials", g.found);
                spanned(f, g.last, g.writes)
            })
            .collect()
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        let n = input.source(Source::K8S.name());
        vec![Coverage::new(
            "scan.k8s_configmap_credentials",
            n > 0,
            "blind",
            if n == 0 {
                "no Kubernetes audit events in the input".into()
            } else {
                format!("{n} Kubernetes audit events (ConfigMap contents need audit level Request for configmaps)")
            },
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credential_entries() {
        let mut c = credentials(&json!({"data": {
            "access.properties": "aws_access_key_id = MY-ID\naws_secret_access_key = MY-KEY\n",
            "ui.properties": "color.good=purple\ncolor.bad=yellow\nallow.textmode=true\n",
            "DB_PASSWORD": "hunter2",
            "PASSWORD_FILE": "/run/secrets/db",
            "app.yaml": "password_min_length: 8\nredis.password: ${REDIS_PASSWORD}\n",
            "key.pem": "-----BEGIN RSA PRIVATE KEY-----\nMII\n",
            "env": "X=AKIAABCDEFGHIJKLMNOP\n"}}));
        c.sort();
        assert_eq!(
            c,
            [
                "DB_PASSWORD",
                "access.properties: aws_access_key_id",
                "access.properties: aws_secret_access_key",
                "env: AWS access key id",
                "key.pem: private key"
            ]
        );
        assert!(credentials(&json!({"data": "x"})).is_empty());
        assert!(credentials(&json!({"data": {"ui": "color=1", "n": 3}})).is_empty());
    }
}
