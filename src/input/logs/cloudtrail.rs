//! AWS CloudTrail: `{"Records": [...]}` deliveries, arrays, single events, JSON Lines.
//! SageMaker and Bedrock control-plane calls are CloudTrail events too; their operation
//! kinds are set here.

use super::fields::{normalize_ip, num, parse_time, s};
use super::registry::{LogSource, Parsed};
use super::{Event, Op, RecordRef, Source};
use serde_json::{json, Value};

impl Source {
    pub const CLOUDTRAIL: Source = Source("cloudtrail");
}

pub struct CloudTrail;

impl LogSource for CloudTrail {
    fn source(&self) -> Source {
        Source::CLOUDTRAIL
    }
    fn sniff(&self, rec: &Value) -> bool {
        rec.get("eventSource").is_some() && rec.get("eventName").is_some()
    }
    fn parse(&self, rec: Value, at: RecordRef) -> Parsed {
        parse(rec, at)
    }
    fn containers(&self) -> &'static [&'static str] {
        &["Records"]
    }
    /// CloudTrail delivers some events more than once (its documentation says so: "events
    /// may be delivered more than once"); `eventID` is unique per event and account (an
    /// organisation trail holds many accounts), so the pair is the identity.
    fn event_key(&self, rec: &Value) -> Option<u128> {
        let id = rec.get("eventID")?.as_str()?;
        let acct = rec
            .get("recipientAccountId")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut h = blake3::Hasher::new();
        h.update(id.as_bytes());
        h.update(&[0]);
        h.update(acct.as_bytes());
        let d = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&d.as_bytes()[..16]);
        Some(u128::from_le_bytes(b))
    }
    fn logsource(&self, _e: &Event) -> Option<(&'static str, Option<&'static str>)> {
        Some(("aws", Some("cloudtrail")))
    }
    fn mapping_yaml(&self) -> &'static str {
        include_str!("mappings/aws.yml")
    }
}

/// SageMaker control-plane calls and their operation kinds, as data: the list the
/// SageMaker detections (`scan::detect::sagemaker`) and the generic ones (`model_deploy`,
/// `job_submit`...) rely on. Calls whose kind depends on a parameter are in
/// [`sagemaker_op`].
pub static SAGEMAKER_OPS: &[(&str, Op)] = &[
    // Jobs that run code with an execution role (`requestParameters.roleArn`).
    ("CreateTrainingJob", Op::JobSubmit),
    ("CreateProcessingJob", Op::JobSubmit),
    ("CreateAutoMLJob", Op::JobSubmit),
    ("CreateAutoMLJobV2", Op::JobSubmit),
    ("CreateHyperParameterTuningJob", Op::JobSubmit),
    ("CreateTransformJob", Op::JobSubmit),
    ("CreateCompilationJob", Op::JobSubmit),
    ("CreateLabelingJob", Op::JobSubmit),
    ("CreatePipeline", Op::JobSubmit),
    ("UpdatePipeline", Op::JobSubmit),
    ("StartPipelineExecution", Op::JobSubmit),
    ("CreateNotebookInstance", Op::JobSubmit),
    ("StartNotebookInstance", Op::JobSubmit),
    // Code run at notebook start / creation.
    (
        "CreateNotebookInstanceLifecycleConfig",
        Op::StartupScriptChange,
    ),
    (
        "UpdateNotebookInstanceLifecycleConfig",
        Op::StartupScriptChange,
    ),
    ("CreateStudioLifecycleConfig", Op::StartupScriptChange),
    // Browser sessions into a notebook instance / Studio domain (the URL is the login).
    ("CreatePresignedNotebookInstanceUrl", Op::Login),
    ("CreatePresignedDomainUrl", Op::Login),
    ("CreatePresignedMlflowTrackingServerUrl", Op::Login),
    // Serving.
    ("CreateEndpoint", Op::ModelDeploy),
    ("UpdateEndpoint", Op::ModelDeploy),
    ("UpdateEndpointWeightsAndCapacities", Op::ModelDeploy),
    ("DeleteEndpoint", Op::ModelDeploy),
    ("CreateEndpointConfig", Op::ModelDeploy),
    ("CreateInferenceComponent", Op::ModelDeploy),
    ("UpdateInferenceComponent", Op::ModelDeploy),
    // Registry.
    ("CreateModel", Op::ModelRegister),
    ("CreateModelPackageGroup", Op::ModelRegister),
];

/// A SageMaker call's operation kind: [`SAGEMAKER_OPS`], plus the calls whose kind
/// depends on a parameter. `None`: not a SageMaker call of interest.
fn sagemaker_op(action: &str, rp: &Value) -> Option<Op> {
    let get = |k: &str| rp.get(k).or_else(|| rp.get(pascal(k).as_str()));
    match action {
        "CreateModelPackage" | "UpdateModelPackage" => Some(
            if get("modelApprovalStatus").and_then(Value::as_str) == Some("Approved") {
                Op::ModelPromote
            } else {
                Op::ModelRegister
            },
        ),
        // Stratus `aws.execution.sagemaker-update-lifecycle-config`: stop, attach a new
        // lifecycle configuration, start.
        "UpdateNotebookInstance" if get("lifecycleConfigName").is_some() => {
            Some(Op::StartupScriptChange)
        }
        _ => SAGEMAKER_OPS
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, op)| *op),
    }
}

/// `roleArn` → `RoleArn`: CloudTrail writes request parameters in lower camel case, some
/// exports keep the API's Pascal case.
pub(crate) fn pascal(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// The operation kind of one CloudTrail call.
fn op(service: &str, action: &str, rp: &Value) -> Op {
    let svc = service.split('.').next().unwrap_or("");
    let bedrock = service.starts_with("bedrock");
    if svc == "sagemaker" {
        if let Some(op) = sagemaker_op(action, rp) {
            return op;
        }
    }
    match action {
        "GetObject" | "GetObjectTorrent" => Op::ObjectRead,
        "PutObject" | "CopyObject" | "CompleteMultipartUpload" => Op::ObjectWrite,
        "DeleteObject" | "DeleteObjects" => Op::ObjectDelete,
        "ListObjects" | "ListObjectsV2" | "ListObjectVersions" => Op::ObjectList,
        "StopLogging"
        | "DeleteTrail"
        | "DeleteModelInvocationLoggingConfiguration"
        | "DeleteFlowLogs" => Op::LoggingDisable,
        "DeleteLogGroup" | "DeleteLogStream" if svc == "logs" => Op::LogDelete,
        "PutEventSelectors" => {
            if rp.to_string().contains("\"includeManagementEvents\":false") {
                Op::LoggingDisable
            } else {
                Op::LoggingChange
            }
        }
        "UpdateTrail"
        | "DeleteResolverQueryLogConfig"
        | "DisassociateResolverQueryLogConfig"
        | "PutBucketLogging" => Op::LoggingChange,
        "PutBucketVersioning" => Op::VersioningChange,
        "PutBucketPolicy"
        | "PutAccessPointPolicy"
        | "UpdateAssumeRolePolicy"
        | "PutResourcePolicy"
        | "PutBucketAcl"
        | "PutObjectAcl"
        | "DeletePublicAccessBlock"
        | "DeleteBucketPublicAccessBlock"
        | "DeleteAccountPublicAccessBlock"
        | "PutPublicAccessBlock"
        | "PutBucketPublicAccessBlock"
        | "PutAccountPublicAccessBlock"
        | "AttachUserPolicy"
        | "AttachRolePolicy"
        | "AttachGroupPolicy"
        | "PutUserPolicy"
        | "PutRolePolicy"
        | "PutGroupPolicy"
        | "CreatePolicyVersion" => Op::PolicyChange,
        "ModifySnapshotAttribute"
        | "ModifyImageAttribute"
        | "ModifyDBSnapshotAttribute"
        | "ModifyDBClusterSnapshotAttribute" => Op::Share,
        "GetSecretValue" | "BatchGetSecretValue" => Op::SecretRead,
        // SSM parameters are configuration unless read decrypted (SecureString values).
        "GetParameter" | "GetParameters" | "GetParametersByPath"
            if rp.get("withDecryption") == Some(&json!(true)) =>
        {
            Op::SecretRead
        }
        "CreateAccessKey" | "CreateLoginProfile" | "UpdateLoginProfile" => Op::CredentialCreate,
        "ConsoleLogin" => Op::Login,
        _ if bedrock && (action.starts_with("InvokeModel") || action.starts_with("Converse")) => {
            Op::ModelInvoke
        }
        "ListFoundationModels"
        | "GetFoundationModel"
        | "GetFoundationModelAvailability"
        | "ListFoundationModelAgreementOffers"
        | "ListInferenceProfiles"
        | "GetUseCaseForModelAccess"
            if bedrock =>
        {
            Op::ModelDiscover
        }
        "PutFoundationModelEntitlement"
        | "CreateFoundationModelAgreement"
        | "PutUseCaseForModelAccess"
            if bedrock =>
        {
            Op::ModelAccessGrant
        }
        "CreateModelCopyJob" => Op::ModelExport,
        _ if action.ends_with("ExportModel") || action.eq_ignore_ascii_case("GetDownloadUri") => {
            Op::ModelExport
        }
        _ => Op::Other,
    }
}

fn parse(rec: Value, at: RecordRef) -> Parsed {
    let Some(action) = s(&rec, "eventName") else {
        return Err((at, "CloudTrail record without eventName".into()));
    };
    let service = s(&rec, "eventSource").unwrap_or_default();
    let uid = rec.get("userIdentity").cloned().unwrap_or(Value::Null);
    let principal_type = s(&uid, "type").unwrap_or_default();
    let account = s(&rec, "recipientAccountId")
        .or_else(|| s(&uid, "accountId"))
        .unwrap_or_default();
    let principal = s(&uid, "arn")
        .or_else(|| {
            (principal_type == "Root").then(|| {
                format!(
                    "arn:aws:iam::{}:root",
                    s(&uid, "accountId").unwrap_or_default()
                )
            })
        })
        .or_else(|| s(&uid, "userName"))
        .or_else(|| s(&uid, "principalId"))
        .or_else(|| s(&uid, "invokedBy"))
        .unwrap_or_else(|| "(unknown)".into());
    let rp = rec.get("requestParameters").cloned().unwrap_or(Value::Null);
    let resource = if let Some(b) = s(&rp, "bucketName") {
        match s(&rp, "key") {
            Some(k) => format!("s3://{b}/{k}"),
            None => format!("s3://{b}"),
        }
    } else if let Some(m) = s(&rp, "modelId") {
        format!("bedrock:{m}")
    } else if let Some(arn) = rec
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find_map(|r| s(r, "ARN")))
    {
        arn
    } else {
        [
            "modelPackageName",
            "modelPackageArn",
            "modelName",
            "imageId",
            "snapshotId",
            "dBSnapshotIdentifier",
            "dBClusterSnapshotIdentifier",
            "groupId",
            "secretId",
            "trailName",
            "logGroupName",
            "roleName",
            "userName",
            "name",
        ]
        .iter()
        .find_map(|k| s(&rp, k))
        .unwrap_or_else(|| service.clone())
    };
    // DeleteObjects carries the list of keys.
    let objects = rp
        .get("delete")
        .and_then(|d| d.get("Object").or_else(|| d.get("objects")))
        .map(|o| match o {
            Value::Array(a) => a.len() as u64,
            _ => 1,
        })
        .unwrap_or(1)
        .max(1);
    let error = s(&rec, "errorCode").map(|c| match s(&rec, "errorMessage") {
        Some(m) => format!("{c}: {m}"),
        None => c,
    });
    // A failed console sign-in has no errorCode: `responseElements.ConsoleLogin` is
    // `Failure` and `errorMessage` says why ("Failed authentication").
    let error = error.or_else(|| {
        (rec.pointer("/responseElements/ConsoleLogin") == Some(&json!("Failure")))
            .then(|| s(&rec, "errorMessage").unwrap_or_else(|| "Failed authentication".into()))
    });
    let time = rec.get("eventTime").and_then(parse_time);
    let op = op(&service, &action, &rp);
    Ok(Event {
        time,
        source: Source::CLOUDTRAIL,
        op,
        principal,
        principal_type,
        account,
        action,
        service,
        resource,
        region: s(&rec, "awsRegion"),
        source_ip: s(&rec, "sourceIPAddress").map(|x| normalize_ip(&x)),
        user_agent: s(&rec, "userAgent"),
        access_key: s(&uid, "accessKeyId").filter(|k| !k.is_empty()),
        bytes_out: num(rec.pointer("/additionalEventData/bytesTransferredOut")),
        objects,
        success: error.is_none(),
        error,
        raw: rec,
        at,
    })
}
