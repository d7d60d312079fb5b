//! OCSF Detection Finding (class 2004, OCSF 1.3), one JSON object per line, for SIEMs and
//! data lakes that ingest OCSF (Security Lake, Splunk, ...). Mapping in docs/scan.md.

use super::{Finding, Report, Severity};
use serde_json::{json, Value};
use std::io::{self, Write};

fn severity_id(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// One finding as an OCSF Detection Finding.
pub fn to_value(f: &Finding) -> Value {
    let time_ms = f.evidence_time("time").map(|t| t.timestamp_millis());
    let attacks: Vec<Value> = f
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack:"))
        .filter(|t| t.starts_with('T'))
        .map(|t| json!({"technique": {"uid": t}, "version": "15"}))
        .collect();
    let atlas: Vec<&str> = f
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("atlas:"))
        .collect();
    let mut v = json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "severity_id": severity_id(f.severity),
        "severity": match f.severity {
            Severity::Info => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        },
        "status_id": 1,
        "status": "New",
        "message": f.title,
        "finding_info": {
            "uid": f.fingerprint(),
            "title": f.title,
            "types": [f.id],
            "analytic": {"uid": f.id, "name": f.id, "type_id": 1, "type": "Rule"},
        },
        "metadata": {
            "version": "1.3.0",
            "product": {"name": "mlguard", "vendor_name": "mlguard", "version": env!("CARGO_PKG_VERSION")},
        },
        "actor": {"user": {"name": f.subject}},
        "unmapped": {"evidence": f.evidence, "tags": f.tags},
    });
    if let Some(ms) = time_ms {
        v["time"] = ms.into();
    } else {
        v["time"] = chrono::Utc::now().timestamp_millis().into();
    }
    if !attacks.is_empty() {
        v["attacks"] = attacks.into();
    }
    if !atlas.is_empty() {
        v["finding_info"]["related_analytics"] = atlas
            .iter()
            .map(|a| json!({"uid": a, "name": format!("MITRE ATLAS {a}"), "type_id": 99, "type": "Other"}))
            .collect::<Vec<_>>()
            .into();
    }
    if let Some(ip) = f.evidence.get("source_ip") {
        v["src_endpoint"] = json!({"ip": ip});
    }
    if let Some(r) = f.evidence.get("resource") {
        v["resources"] = json!([{"uid": r, "type": f.evidence.get("asset_kind").cloned().unwrap_or(Value::Null)}]);
    }
    if let Some(l) = &f.location {
        v["evidences"] = json!([{"data": {"file": l.file, "line": l.line, "record": l.record}}]);
    }
    v
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in report.sorted_findings() {
        serde_json::to_writer(&mut *out, &to_value(f)).map_err(io::Error::other)?;
        writeln!(out)?;
    }
    Ok(())
}
