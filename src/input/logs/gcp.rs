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

/// Vertex AI (`aiplatform.googleapis.com`), Workbench (`notebooks.googleapis.com`) and
/// Colab Enterprise methods by their last component (`google.cloud.aiplatform.v1.
/// JobService.CreateCustomJob` → `CreateCustomJob`; `v1beta1` alike), as data. Methods
/// whose kind depends on the request are in [`op`] (Workbench `UpdateInstance`).
pub static ML_METHODS: &[(&str, Op)] = &[
    ("ExportModel", Op::ModelExport),
    ("UploadModel", Op::ModelRegister),
    ("CopyModel", Op::ModelRegister),
    ("MergeVersionAliases", Op::ModelPromote),
    ("DeployModel", Op::ModelDeploy),
    ("UndeployModel", Op::ModelDeploy),
    ("MutateDeployedModel", Op::ModelDeploy),
    ("Predict", Op::ModelInvoke),
    ("RawPredict", Op::ModelInvoke),
    ("StreamRawPredict", Op::ModelInvoke),
    ("Explain", Op::ModelInvoke),
    ("GenerateContent", Op::ModelInvoke),
    ("StreamGenerateContent", Op::ModelInvoke),
    ("CreateCustomJob", Op::JobSubmit),
    ("CreateHyperparameterTuningJob", Op::JobSubmit),
    ("CreateNasJob", Op::JobSubmit),
    ("CreatePipelineJob", Op::JobSubmit),
    ("CreateTrainingPipeline", Op::JobSubmit),
    ("CreateBatchPredictionJob", Op::JobSubmit),
    ("AssignNotebookRuntime", Op::JobSubmit),
    ("StartNotebookRuntime", Op::JobSubmit),
    ("CreateNotebookExecutionJob", Op::JobSubmit),
];

/// Workbench instance methods: names other services use too (Cloud SQL, Redis...
/// `CreateInstance`), so they count only for [`ML_SERVICES`].
pub static WORKBENCH_METHODS: &[(&str, Op)] = &[
    ("CreateInstance", Op::JobSubmit),
    ("StartInstance", Op::JobSubmit),
];

/// Services whose methods [`ML_METHODS`] names.
pub const ML_SERVICES: &[&str] = &["aiplatform.googleapis.com", "notebooks.googleapis.com"];

/// The operation kind of one audited method (`google.cloud.aiplatform.v1.JobService.
/// CreateCustomJob`: the last component decides), given the service and the request.
fn op(method: &str, service: &str, request: Option<&Value>) -> Op {
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
        "SetIamPolicy" => return Op::PolicyChange,
        "AccessSecretVersion" => return Op::SecretRead,
        "CreateServiceAccountKey" | "CreateKey" => return Op::CredentialCreate,
        _ => {}
    }
    if ML_SERVICES.contains(&service) {
        // Workbench: an instance update that sets a (post-)startup script (Stratus
        // `gcp.execution.modify-vertex-notebook-startup`).
        if matches!(
            last,
            "UpdateInstance" | "UpdateInstanceMetadataItems" | "SetInstanceMetadata"
        ) {
            let text = request.map(Value::to_string).unwrap_or_default();
            return if text.contains("startup-script") || text.contains("startupScript") {
                Op::StartupScriptChange
            } else {
                Op::Other
            };
        }
        if let Some((_, op)) = WORKBENCH_METHODS.iter().find(|(m, _)| *m == last) {
            return *op;
        }
    }
    // Vertex AI's method names, whatever the service (exports sometimes drop
    // `serviceName`; Gemini's `GenerateContent` is also served by other APIs).
    if let Some((_, op)) = ML_METHODS.iter().find(|(m, _)| *m == last) {
        return *op;
    }
    Op::Other
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
    let service = s(pp, "serviceName").unwrap_or_default();
    let op = op(&action, &service, pp.get("request"));
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
        service,
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
