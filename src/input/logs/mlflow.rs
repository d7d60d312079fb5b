//! MLflow model-registry exports as events: one event per model version, carrying the
//! version's state (stage, aliases, run, source, who last changed it).
//!
//! Accepted documents:
//! - the mlflow-export-import layout `models/<name>/model.json`:
//!   `{"mlflow": {"registered_model": {"name", "versions" | "latest_versions": [...]}}}`;
//! - REST API responses: `registered-models/search` (`{"registered_models": [...]}`),
//!   `registered-models/get` (`{"registered_model": {...}}`), `model-versions/search`
//!   (`{"model_versions": [...]}`) and `model-versions/get` (`{"model_version": {...}}`).
//!
//! Version `tags` come as a map (export-import) or a list of `{key, value}` (REST): both
//! are normalised to a map, as are registered-model aliases (`[{alias, version}]`).

use super::fields::{parse_time, s};
use super::registry::{Doc, LogSource, Parsed};
use super::{Event, Op, RecordRef, Source};
use serde_json::{json, Map, Value};
use std::path::Path;

impl Source {
    pub const MLFLOW: Source = Source("mlflow");
}

pub struct Mlflow;

impl LogSource for Mlflow {
    fn source(&self) -> Source {
        Source::MLFLOW
    }
    /// Registry state comes as whole documents, never as loose records.
    fn sniff(&self, _rec: &Value) -> bool {
        false
    }
    fn parse(&self, _rec: Value, at: RecordRef) -> Parsed {
        Err((at, "not an MLflow registry export".into()))
    }
    fn document(&self, doc: &Value, path: &Path, forced: bool) -> Option<Doc> {
        if !forced && !is_document(doc) {
            return None;
        }
        Some(match events(doc, path) {
            Some((events, problems)) => Doc::Events { events, problems },
            None if is_other_export(doc) => Doc::Unused(UNUSED_EXPORT.into()),
            None if is_export_import(doc) => Doc::Bad(format!(
                "mlflow-export-import file of an unknown kind (mlflow keys: {}): not read",
                match doc.get("mlflow") {
                    Some(Value::Object(m)) => m.keys().cloned().collect::<Vec<_>>().join(", "),
                    Some(other) => format!("not an object: {}", short(other)),
                    None => String::new(),
                }
            )),
            None => Doc::Bad(
                "not an MLflow registry export (no registered_model / model_versions)".into(),
            ),
        })
    }
    fn keeps_raw(&self) -> bool {
        true
    }
    fn audit_trail(&self) -> bool {
        false
    }
}

/// Why an mlflow-export-import file of experiments/runs is listed as not used.
pub const UNUSED_EXPORT: &str =
    "MLflow export of experiments/runs/prompts: not registry state, not used";

/// Does this JSON document look like an MLflow registry export?
pub fn is_document(doc: &Value) -> bool {
    is_registry(doc) || is_export_import(doc)
}

/// Written by mlflow-export-import (its `system` block).
fn is_export_import(doc: &Value) -> bool {
    doc.pointer("/system/script").is_some() || doc.pointer("/system/mlflow_version").is_some()
}

/// `mlflow` keys of mlflow-export-import files that are not registry state.
const OTHER_EXPORT_KEYS: &[&str] = &[
    "experiment",
    "experiments",
    "runs",
    "info",
    "params",
    "metrics",
    "tags",
    "inputs",
    "outputs",
    "models",
    "prompt",
    "prompts",
    "total_prompts",
    "successful_exports",
    "failed_exports",
    "datasets",
    "total_datasets",
    "evaluation_dataset",
    "evaluation_datasets",
    "logged_model",
    "logged_models",
    "traces",
];

/// An mlflow-export-import file that is not a registered model (experiments, runs, prompts,
/// evaluation datasets): recognised by its `mlflow` keys, and listed as not used by the
/// scan. An export file of any other shape is a warning, never silently unused.
pub fn is_other_export(doc: &Value) -> bool {
    is_export_import(doc)
        && match doc.get("mlflow") {
            None => true,
            Some(Value::Object(m)) => m.keys().all(|k| OTHER_EXPORT_KEYS.contains(&k.as_str())),
            Some(_) => false,
        }
}

fn is_registry(doc: &Value) -> bool {
    doc.pointer("/mlflow/registered_model").is_some()
        || [
            "registered_models",
            "model_versions",
            "registered_model",
            "model_version",
        ]
        .iter()
        .any(|k| doc.get(*k).is_some())
}

/// `[{key, value}]` or `{k: v}` → map of strings.
fn tags(v: Option<&Value>) -> Map<String, Value> {
    let mut m = Map::new();
    match v {
        Some(Value::Object(o)) => {
            for (k, x) in o {
                m.insert(k.clone(), x.clone());
            }
        }
        Some(Value::Array(a)) => {
            for t in a {
                if let Some(k) = t.get("key").and_then(Value::as_str) {
                    m.insert(k.into(), t.get("value").cloned().unwrap_or(Value::Null));
                }
            }
        }
        _ => {}
    }
    m
}

/// Events for every model version in `doc`, with what in it could not be read (a model or
/// version of the wrong shape: a damaged export must not pass as "nothing to check");
/// `None` when it is not a registry document.
pub fn events(doc: &Value, path: &Path) -> Option<(Vec<Event>, Vec<String>)> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut models: Vec<&Value> = Vec::new();
    if let Some(rm) = doc.pointer("/mlflow/registered_model") {
        models.push(rm);
        if rm.get("versions").is_none() && rm.get("latest_versions").is_none() && rm.is_object() {
            problems.push(format!(
                "registered model {:?} has no \"versions\" / \"latest_versions\" list: its versions were not read",
                s(rm, "name").unwrap_or_default()
            ));
        }
    }
    if let Some(rm) = doc.get("registered_model") {
        models.push(rm);
    }
    match doc.get("registered_models") {
        Some(Value::Array(a)) => models.extend(a.iter()),
        Some(other) if !other.is_null() => {
            problems.push("\"registered_models\" is not a list: not read".into())
        }
        _ => {}
    }
    let mut idx = 0u64;
    for m in &models {
        if !m.is_object() {
            problems.push(format!(
                "registered model entry is not an object: {}",
                short(m)
            ));
            continue;
        }
        let name = s(m, "name").unwrap_or_default();
        // Model-level aliases: [{alias, version}] → version → [alias].
        let mut alias_of: Map<String, Value> = Map::new();
        if let Some(a) = m.get("aliases").and_then(Value::as_array) {
            for x in a {
                if let (Some(al), Some(v)) = (s(x, "alias"), s(x, "version")) {
                    let e = alias_of.entry(v).or_insert_with(|| json!([]));
                    if let Some(arr) = e.as_array_mut() {
                        arr.push(al.into());
                    }
                }
            }
        }
        let versions = match m.get("versions").or_else(|| m.get("latest_versions")) {
            Some(Value::Array(a)) => a.as_slice(),
            None | Some(Value::Null) => &[],
            Some(other) => {
                problems.push(format!(
                    "registered model {name:?}: versions is not a list ({}): not read",
                    short(other)
                ));
                &[]
            }
        };
        for v in versions {
            if !v.is_object() {
                problems.push(format!(
                    "registered model {name:?}: version entry is not an object: {}",
                    short(v)
                ));
                continue;
            }
            out.push(version_event(v, &name, &alias_of, path, idx));
            idx += 1;
        }
    }
    if let Some(v) = doc.get("model_version") {
        if v.is_object() {
            out.push(version_event(v, "", &Map::new(), path, idx));
            idx += 1;
        } else {
            problems.push(format!("model_version is not an object: {}", short(v)));
        }
    }
    match doc.get("model_versions") {
        Some(Value::Array(a)) => {
            for v in a {
                if !v.is_object() {
                    problems.push(format!(
                        "model_versions entry is not an object: {}",
                        short(v)
                    ));
                    continue;
                }
                out.push(version_event(v, "", &Map::new(), path, idx));
                idx += 1;
            }
        }
        Some(other) if !other.is_null() => {
            problems.push("\"model_versions\" is not a list: not read".into())
        }
        _ => {}
    }
    if models.is_empty() && idx == 0 && !is_registry(doc) {
        return None;
    }
    let server = s(doc, "system/mlflow_tracking_uri").unwrap_or_default();
    for e in &mut out {
        e.raw["tracking_uri"] = server.clone().into();
    }
    Some((out, problems))
}

/// The first characters of a value, for messages.
fn short(v: &Value) -> String {
    let t = v.to_string();
    match t.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t,
    }
}

fn version_event(
    v: &Value,
    model: &str,
    alias_of: &Map<String, Value>,
    path: &Path,
    idx: u64,
) -> Event {
    let name = s(v, "name").unwrap_or_else(|| model.to_string());
    let version = s(v, "version").unwrap_or_default();
    let mut aliases: Vec<Value> = v
        .get("aliases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Array(extra)) = alias_of.get(&version) {
        for a in extra {
            if !aliases.contains(a) {
                aliases.push(a.clone());
            }
        }
    }
    let user = s(v, "user_id").unwrap_or_default();
    let raw = json!({
        "model": name,
        "version": version,
        "current_stage": s(v, "current_stage").unwrap_or_else(|| "None".into()),
        "aliases": aliases,
        "run_id": s(v, "run_id").unwrap_or_default(),
        "run_link": s(v, "run_link").unwrap_or_default(),
        "source": s(v, "source").unwrap_or_default(),
        "status": s(v, "status").unwrap_or_default(),
        "user_id": user,
        "tags": tags(v.get("tags")),
        "creation_timestamp": v.get("creation_timestamp").cloned().unwrap_or(Value::Null),
        "last_updated_timestamp": v.get("last_updated_timestamp").cloned().unwrap_or(Value::Null),
    });
    Event {
        time: v
            .get("last_updated_timestamp")
            .and_then(parse_time)
            .or_else(|| v.get("creation_timestamp").and_then(parse_time)),
        source: Source::MLFLOW,
        op: Op::ModelRegister,
        principal: if user.is_empty() {
            "(unknown)".into()
        } else {
            user
        },
        principal_type: "mlflow_user".into(),
        account: String::new(),
        action: "ModelVersion".into(),
        service: "mlflow".into(),
        resource: format!("models:/{name}/{version}"),
        region: None,
        source_ip: None,
        user_agent: None,
        access_key: None,
        bytes_out: None,
        objects: 1,
        success: true,
        error: None,
        raw,
        at: RecordRef {
            file: std::sync::Arc::from(path),
            index: Some(idx),
            line: None,
        },
    }
}
