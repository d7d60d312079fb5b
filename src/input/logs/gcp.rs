//! GCP Cloud Audit Logs (LogEntry with `protoPayload`): Cloud Storage, IAM, Logging,
//! Secret Manager and Vertex AI (`aiplatform.googleapis.com`) methods.

use super::fields::{normalize_ip, num, parse_time, s};
use super::registry::{LogSource, Parsed};
use super::{Event, Op, RecordRef, Source};
use serde_json::Value;

impl Source {
    pub const GCP: Source = Source("gcp");
}

pub struct Gcp;

impl LogSource for Gcp {
    fn source(&self) -> Source {
        Source::GCP
    }
    fn sniff(&self, rec: &Value) -> bool {
        rec.get("protoPayload").is_some()
    }
    fn parse(&self, rec: Value, at: RecordRef) -> Parsed {
        parse(rec, at)
    }
    fn containers(&self) -> &'static [&'static str] {
        &["entries"]
    }
    fn logsource(&self, _e: &Event) -> Option<(&'static str, Option<&'static str>)> {
        Some(("gcp", Some("gcp.audit")))
    }
    fn mapping_yaml(&self) -> &'static str {
        include_str!("mappings/gcp.yml")
    }
}

/// The operation kind of one audited method (`google.cloud.aiplatform.v1.JobService.
/// CreateCustomJob`: the last two components decide).
fn op(method: &str) -> Op {
    let last = method.rsplit('.').next().unwrap_or(method);
    match method {
        "storage.objects.get" => return Op::ObjectRead,
        "storage.objects.create" | "storage.objects.update" => return Op::ObjectWrite,
        "storage.objects.delete" => return Op::ObjectDelete,
        "storage.objects.list" => return Op::ObjectList,
        "storage.setIamPermissions" => return Op::PolicyChange,
        _ => {}
    }
    if method.ends_with("ConfigServiceV2.DeleteSink")
        || method.ends_with("ConfigServiceV2.UpdateSink")
    {
        return Op::LoggingDisable;
    }
    match last {
        "SetIamPolicy" => Op::PolicyChange,
        "AccessSecretVersion" => Op::SecretRead,
        "CreateServiceAccountKey" | "CreateKey" => Op::CredentialCreate,
        "ExportModel" => Op::ModelExport,
        "UploadModel" | "CopyModel" => Op::ModelRegister,
        "DeployModel" | "UndeployModel" | "MutateDeployedModel" => Op::ModelDeploy,
        "Predict"
        | "RawPredict"
        | "StreamRawPredict"
        | "Explain"
        | "GenerateContent"
        | "StreamGenerateContent" => Op::ModelInvoke,
        "CreateCustomJob"
        | "CreateHyperparameterTuningJob"
        | "CreatePipelineJob"
        | "CreateTrainingPipeline"
        | "CreateBatchPredictionJob" => Op::JobSubmit,
        _ => Op::Other,
    }
}

/// `projects/_/buckets/B/objects/O` → `gs://B/O`.
fn gcp_resource(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("projects/_/buckets/") {
        return match rest.split_once("/objects/") {
            Some((b, o)) => format!("gs://{b}/{o}"),
            None => format!("gs://{rest}"),
        };
    }
    name.to_string()
}

fn parse(rec: Value, at: RecordRef) -> Parsed {
    let Some(pp) = rec.get("protoPayload") else {
        return Err((at, "GCP log entry without protoPayload".into()));
    };
    let Some(action) = s(pp, "methodName") else {
        return Err((at, "GCP audit entry without protoPayload.methodName".into()));
    };
    let principal = s(pp, "authenticationInfo/principalEmail")
        .or_else(|| s(pp, "authenticationInfo/principalSubject"))
        .unwrap_or_else(|| "(unknown)".into());
    let principal_type = if principal.ends_with(".gserviceaccount.com") {
        "serviceAccount"
    } else if principal == "(unknown)" {
        ""
    } else {
        "user"
    }
    .to_string();
    let code = pp
        .pointer("/status/code")
        .and_then(|c| num(Some(c)))
        .unwrap_or(0.0);
    let error = (code != 0.0).then(|| {
        format!(
            "status {code}: {}",
            s(pp, "status/message").unwrap_or_default()
        )
    });
    let resource = s(pp, "resourceName")
        .map(|r| gcp_resource(&r))
        .unwrap_or_default();
    let op = op(&action);
    Ok(Event {
        op,
        time: rec.get("timestamp").and_then(parse_time).or_else(|| {
            pp.pointer("/requestMetadata/requestAttributes/time")
                .and_then(parse_time)
        }),
        source: Source::GCP,
        principal,
        principal_type,
        account: s(&rec, "resource/labels/project_id").unwrap_or_default(),
        action,
        service: s(pp, "serviceName").unwrap_or_default(),
        resource,
        region: s(&rec, "resource/labels/location"),
        source_ip: s(pp, "requestMetadata/callerIp").map(|x| normalize_ip(&x)),
        user_agent: s(pp, "requestMetadata/callerSuppliedUserAgent"),
        access_key: s(pp, "authenticationInfo/serviceAccountKeyName"),
        bytes_out: None,
        objects: 1,
        success: error.is_none(),
        error,
        raw: rec,
        at,
    })
}
