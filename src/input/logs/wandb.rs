//! Weights & Biases audit logs: one JSON document per event (`timestamp`, `action`,
//! `actor_email`, `actor_ip`, `actor_user_id`, `response_code`, `entity_name`,
//! `project_name`, `artifact_qualified_name`, `user_email`, `cli_version`, the `*_asset`
//! ids...), in either delivery:
//! - the NDJSON files W&B syncs to the instance bucket (`wandb-audit-logs/`, one file a
//!   day), and the NDJSON stream of `/admin/audit_logs` without `limit` / `endDate`;
//! - the API's page shape `{"audit_logs": [...], "range_start_time", "range_end_time",
//!   "count", "next_cursor"}` (the container key `audit_logs`).
//!
//! Resources: `wandb://<entity>/<project>/<artifact>:<version>` for artifacts (from
//! `artifact_qualified_name`, or the entity / project names and the artifact id),
//! `wandb://<entity>/<project>` for projects and runs, `wandb-user:<email>` for the user
//! an action was taken on (member changes, keys), `wandb://<entity>` otherwise. The
//! principal is `actor_email`, else `actor_user_id`.
//!
//! Validated at the boundary: a record without a valid `timestamp`, without a
//! `noun:verb` action, or with a `response_code` that is not an HTTP status is skipped with
//! a warning naming its file and line.

use super::fields::{normalize_ip, num, parse_time, s};
use super::registry::{LogSource, Parsed};
use super::{Event, Op, RecordRef, Source};
use serde_json::Value;

impl Source {
    pub const WANDB: Source = Source("wandb");
}

pub struct Wandb;

/// Keys only a W&B audit record has (one of them is enough beside `action`).
const ACTOR_KEYS: &[&str] = &[
    "actor_email",
    "actor_ip",
    "actor_user_id",
    "response_code",
    "cli_version",
];

/// `artifact:read`, `organization:update_member`: a W&B action name.
fn is_action(a: &str) -> bool {
    let Some((noun, verb)) = a.split_once(':') else {
        return false;
    };
    let word = |w: &str| {
        !w.is_empty()
            && w.len() <= 64
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    word(noun) && word(verb)
}

impl LogSource for Wandb {
    fn source(&self) -> Source {
        Source::WANDB
    }
    /// `action` beside an actor or response field (the last source asked: a record with a
    /// broken `action` is still reported as a bad W&B record, not as an unknown one).
    fn sniff(&self, rec: &Value) -> bool {
        rec.get("action").is_some() && ACTOR_KEYS.iter().any(|k| rec.get(*k).is_some())
    }
    fn parse(&self, rec: Value, at: RecordRef) -> Parsed {
        parse(rec, at)
    }
    fn containers(&self) -> &'static [&'static str] {
        &["audit_logs"]
    }
    /// No Sigma product exists for W&B in SigmaHQ; rules written for `product: wandb`
    /// (`service: audit`) match the records' own field names.
    fn logsource(&self, _e: &Event) -> Option<(&'static str, Option<&'static str>)> {
        Some(("wandb", Some("audit")))
    }
}

/// The operation kind of a W&B action.
pub fn op(action: &str) -> Op {
    match action {
        "artifact:read" => Op::ObjectRead,
        "artifact:create" => Op::ObjectWrite,
        "artifact:delete" | "project:delete" | "run:delete" | "run:delete_many" => Op::ObjectDelete,
        "user:create_api_key" | "team:create_service_account" => Op::CredentialCreate,
        "user:login" => Op::Login,
        "sweep:create_agent" => Op::JobSubmit,
        a if is_member_change(a) => Op::PolicyChange,
        _ => Op::Other,
    }
}

/// Organisation / team membership and account changes: who may do what.
pub fn is_member_change(action: &str) -> bool {
    matches!(
        action,
        "organization:update_member"
            | "organization:add_member"
            | "organization:remove_member"
            | "team:invite_user"
            | "team:uninvite"
            | "team:update_member"
            | "team:remove_member"
            | "team:create"
            | "team:delete"
            | "user:create"
            | "user:deactivate"
            | "user:reactivate"
            | "user:permanently_delete"
    )
}

/// The deletions W&B's deletion-burst detection counts.
pub fn is_deletion(action: &str) -> bool {
    matches!(
        action,
        "project:delete" | "run:delete" | "run:delete_many" | "artifact:delete"
    )
}

/// `wandb://entity/project/name:version` and friends (see the module text).
fn resource(rec: &Value, action: &str) -> String {
    let entity = s(rec, "entity_name").or_else(|| s(rec, "entity_asset"));
    let project = s(rec, "project_name").or_else(|| s(rec, "project_asset"));
    let scoped = |tail: &str| -> String {
        let mut r = String::from("wandb://");
        r.push_str(entity.as_deref().unwrap_or("_"));
        r.push('/');
        r.push_str(project.as_deref().unwrap_or("_"));
        if !tail.is_empty() {
            r.push('/');
            r.push_str(tail);
        }
        r
    };
    let noun = action.split(':').next().unwrap_or("");
    if let Some(q) = s(rec, "artifact_qualified_name") {
        // `entity/project/name:version` as W&B writes it; a bare `name:version` is put
        // under the record's entity and project.
        return if q.matches('/').count() >= 2 {
            format!("wandb://{q}")
        } else {
            scoped(&q)
        };
    }
    if let Some(a) = s(rec, "artifact_asset").or_else(|| s(rec, "artifact_sequence_asset")) {
        return scoped(&format!("artifacts/{a}"));
    }
    if noun == "user" || noun == "organization" || noun == "team" {
        if let Some(u) = s(rec, "user_email").or_else(|| s(rec, "user_asset")) {
            return format!("wandb-user:{u}");
        }
    }
    if let Some(r) = s(rec, "report_name").or_else(|| s(rec, "report_asset")) {
        return scoped(&format!("reports/{r}"));
    }
    if project.is_some() {
        return scoped("");
    }
    match (
        entity,
        s(rec, "user_email").or_else(|| s(rec, "user_asset")),
    ) {
        (Some(e), _) => format!("wandb://{e}"),
        (None, Some(u)) => format!("wandb-user:{u}"),
        (None, None) => "wandb://".into(),
    }
}

fn parse(rec: Value, at: RecordRef) -> Parsed {
    if !rec.is_object() {
        return Err((at, "W&B audit record is not a JSON object".into()));
    }
    let Some(action) = rec.get("action").and_then(Value::as_str).map(str::trim) else {
        return Err((at, "W&B audit record without action".into()));
    };
    if !is_action(action) {
        return Err((
            at,
            format!(
                "W&B audit record with an action that is not noun:verb: {:?}",
                action.chars().take(80).collect::<String>()
            ),
        ));
    }
    let action = action.to_string();
    let Some(time) = rec.get("timestamp").and_then(parse_time) else {
        return Err((at, "W&B audit record without a valid timestamp".into()));
    };
    let code = match rec.get("response_code") {
        None | Some(Value::Null) => None,
        Some(v) => match num(Some(v)) {
            Some(c) if (100.0..600.0).contains(&c) && c.fract() == 0.0 => Some(c as u16),
            _ => {
                return Err((
                    at,
                    format!(
                        "W&B audit record with a response_code that is not an HTTP status: {}",
                        v.to_string().chars().take(40).collect::<String>()
                    ),
                ))
            }
        },
    };
    let (principal, principal_type) = match (s(&rec, "actor_email"), s(&rec, "actor_user_id")) {
        (Some(e), _) => (e, "user"),
        (None, Some(id)) => (id, "userId"),
        (None, None) => ("(unknown)".to_string(), ""),
    };
    let error = code
        .filter(|c| *c >= 400)
        .map(|c| format!("status {c}: {action}"));
    Ok(Event {
        op: op(&action),
        time: Some(time),
        source: Source::WANDB,
        principal,
        principal_type: principal_type.into(),
        account: s(&rec, "entity_name").unwrap_or_default(),
        resource: resource(&rec, &action),
        action,
        service: "wandb".into(),
        region: None,
        source_ip: s(&rec, "actor_ip").map(|x| normalize_ip(&x)),
        user_agent: s(&rec, "cli_version").map(|v| format!("wandb-sdk/{v}")),
        access_key: None,
        bytes_out: None,
        objects: 1,
        success: error.is_none(),
        error,
        raw: rec,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;
    use std::sync::Arc;

    fn at() -> RecordRef {
        RecordRef {
            file: Arc::from(Path::new("w.ndjson")),
            index: None,
            line: Some(3),
        }
    }

    #[test]
    fn records_are_sniffed_mapped_and_validated() {
        let r = json!({"timestamp": "2026-03-02T10:00:00Z", "action": "artifact:read",
            "actor_email": "ana@example.com", "actor_ip": "010.0.0.1", "response_code": 200,
            "entity_name": "acme", "project_name": "llm",
            "artifact_qualified_name": "acme/llm/weights:v3", "cli_version": "0.19.1"});
        assert!(Wandb.sniff(&r));
        assert!(!Wandb.sniff(&json!({"action": "x:y", "timestamp": 1})));
        let e = parse(r.clone(), at()).unwrap();
        assert_eq!(e.op, Op::ObjectRead);
        assert_eq!(e.resource, "wandb://acme/llm/weights:v3");
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(e.principal, "ana@example.com");
        assert_eq!(e.account, "acme");
        assert!(e.success);
        let mut bare = r.clone();
        bare["artifact_qualified_name"] = json!("weights:v3");
        assert_eq!(
            parse(bare, at()).unwrap().resource,
            "wandb://acme/llm/weights:v3"
        );
        let mut denied = r.clone();
        denied["response_code"] = json!("403");
        let e = parse(denied, at()).unwrap();
        assert!(!e.success && e.error.as_deref().unwrap().starts_with("status 403"));
        for (k, v, want) in [
            ("response_code", json!("ok"), "response_code"),
            ("response_code", json!(99), "response_code"),
            ("timestamp", json!("yesterday"), "timestamp"),
            ("action", json!("delete everything"), "noun:verb"),
            ("action", json!(7), "without action"),
        ] {
            let mut bad = r.clone();
            bad[k] = v;
            let (loc, msg) = parse(bad, at()).unwrap_err();
            assert!(msg.contains(want), "{msg}");
            assert_eq!(loc.to_string(), "w.ndjson:3");
        }
    }

    #[test]
    fn actions_map_to_operation_kinds() {
        assert_eq!(op("user:create_api_key"), Op::CredentialCreate);
        assert_eq!(op("project:delete"), Op::ObjectDelete);
        assert_eq!(op("run:delete_many"), Op::ObjectDelete);
        assert_eq!(op("organization:update_member"), Op::PolicyChange);
        assert_eq!(op("team:invite_user"), Op::PolicyChange);
        assert_eq!(op("user:login"), Op::Login);
        assert_eq!(op("report:read"), Op::Other);
        let m = json!({"timestamp": "2026-03-02T10:00:00Z", "action": "organization:update_member",
            "actor_email": "root@example.com", "user_email": "eve@example.com"});
        assert_eq!(
            parse(m, at()).unwrap().resource,
            "wandb-user:eve@example.com"
        );
    }
}
