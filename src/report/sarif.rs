//! SARIF 2.1.0: one run, one rule per distinct finding id, one result per finding, with a
//! stable `partialFingerprints` entry so dashboards track a finding across runs.

use super::{Report, Severity};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

pub fn to_value(report: &Report) -> Value {
    let findings = report.sorted_findings();
    // Rules sorted by id so the document is deterministic.
    let mut rules: BTreeMap<&str, &str> = BTreeMap::new();
    for f in &findings {
        rules.entry(f.id.as_str()).or_insert(f.title.as_str());
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|(id, title)| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": {"text": title},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut r = Map::new();
            r.insert("ruleId".into(), f.id.clone().into());
            r.insert("ruleIndex".into(), index[f.id.as_str()].into());
            r.insert("level".into(), level(f.severity).into());
            r.insert(
                "message".into(),
                json!({"text": format!("{}: {}", f.subject, f.title)}),
            );
            let uri = f
                .location
                .as_ref()
                .map(|l| l.file.clone())
                .unwrap_or_else(|| f.subject.clone());
            let mut phys = json!({"artifactLocation": {"uri": uri}});
            if let Some(line) = f.location.as_ref().and_then(|l| l.line) {
                phys["region"] = json!({"startLine": line});
            } else if let Some(off) = f.location.as_ref().and_then(|l| l.offset) {
                if f.location.as_ref().is_some_and(|l| l.member.is_none()) {
                    phys["region"] = json!({"byteOffset": off});
                }
            }
            let mut loc = json!({"physicalLocation": phys});
            if let Some(rec) = f.location.as_ref().and_then(|l| l.record) {
                loc["logicalLocations"] =
                    json!([{"name": format!("record {rec}"), "kind": "element"}]);
            }
            if let Some(m) = f.location.as_ref().and_then(|l| l.member.as_ref()) {
                let off = f.location.as_ref().and_then(|l| l.offset);
                let name = match off {
                    Some(o) => format!("{m}@{o}"),
                    None => m.clone(),
                };
                loc["logicalLocations"] = json!([{"name": name, "kind": "member"}]);
            }
            r.insert("locations".into(), json!([loc]));
            r.insert(
                "partialFingerprints".into(),
                json!({"mlguardFinding/v1": f.fingerprint()}),
            );
            let mut props = Map::new();
            props.insert("severity".into(), f.severity.as_str().into());
            props.insert("subject".into(), f.subject.clone().into());
            if !f.tags.is_empty() {
                props.insert("tags".into(), json!(f.tags));
            }
            if !f.evidence.is_empty() {
                props.insert("evidence".into(), Value::Object(f.evidence.clone()));
            }
            r.insert("properties".into(), Value::Object(props));
            Value::Object(r)
        })
        .collect();
    let notifications: Vec<Value> = report
        .skipped
        .iter()
        .map(|s| {
            let mut phys = json!({"artifactLocation": {"uri": s.at.file}});
            if let Some(line) = s.at.line {
                phys["region"] = json!({"startLine": line});
            }
            json!({
                "level": if report.allow_partial { "warning" } else { "error" },
                "message": {"text": s.to_string()},
                "locations": [{"physicalLocation": phys}],
                "properties": {"what": s.what, "count": s.count},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mlguard",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/mlguard/mlguard",
                "rules": rules_json,
            }},
            "properties": {"command": report.command, "verdict": report.verdict(),
                           "skipped": report.skipped_count()},
            // Inputs not read are tool execution notifications (SARIF §3.58), and an
            // incomplete verdict is an unsuccessful execution.
            "invocations": [{
                "executionSuccessful": report.verdict() != super::Verdict::Incomplete,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report)).map_err(io::Error::other)?;
    writeln!(out)
}
