//! Azure activity logs (`{"records": [...]}` / `{"value": [...]}`), resource logs and Storage
//! logs; Azure ML (`Microsoft.MachineLearningServices/workspaces/...`) operations.

use super::fields::{normalize_ip, num, parse_time, s};
use super::registry::{LogSource, Parsed};
use super::{Event, Op, RecordRef, Source};
use serde_json::Value;

impl Source {
    pub const AZURE: Source = Source("azure");
}

pub struct Azure;

impl LogSource for Azure {
    fn source(&self) -> Source {
        Source::AZURE
    }
    fn sniff(&self, rec: &Value) -> bool {
        rec.get("operationName").is_some()
            && [
                "resourceId",
                "category",
                "callerIpAddress",
                "caller",
                "eventTimestamp",
            ]
            .iter()
            .any(|k| rec.get(*k).is_some())
    }
    fn parse(&self, rec: Value, at: RecordRef) -> Parsed {
        parse(rec, at)
    }
    fn containers(&self) -> &'static [&'static str] {
        &["records", "value"]
    }
    fn logsource(&self, e: &Event) -> Option<(&'static str, Option<&'static str>)> {
        let c = e.raw.get("category").and_then(|c| c.as_str()).unwrap_or("");
        let service = match c.to_ascii_lowercase().as_str() {
            "administrative" | "policy" | "security" | "servicehealth" | "alert"
            | "recommendation" | "autoscale" | "resourcehealth" => Some("activitylogs"),
            "signinlogs" | "noninteractiveusersigninlogs" => Some("signinlogs"),
            "auditlogs" => Some("auditlogs"),
            "riskyusers" | "userriskevents" => Some("riskdetection"),
            _ => None,
        };
        Some(("azure", service))
    }
    fn mapping_yaml(&self) -> &'static str {
        include_str!("mappings/azure.yml")
    }
}

const AZUREML_PREFIX: &str = "MICROSOFT.MACHINELEARNINGSERVICES/WORKSPACES/";

/// Azure ML operations after `Microsoft.MachineLearningServices/workspaces/` (upper case;
/// `*` is one path segment), as data. The first match decides.
pub static AZUREML_OPS: &[(&str, Op)] = &[
    // Workspace keys (storage account, container registry, Application Insights),
    // compute keys (SSH / admin), datastore and connection credentials.
    ("LISTKEYS/ACTION", Op::SecretRead),
    ("LISTNOTEBOOKKEYS/ACTION", Op::SecretRead),
    ("LISTSTORAGEACCOUNTKEYS/ACTION", Op::SecretRead),
    ("COMPUTES/LISTKEYS/ACTION", Op::SecretRead),
    ("DATASTORES/LISTSECRETS/ACTION", Op::SecretRead),
    ("CONNECTIONS/LISTSECRETS/ACTION", Op::SecretRead),
    ("ONLINEENDPOINTS/LISTKEYS/ACTION", Op::SecretRead),
    ("ONLINEENDPOINTS/TOKEN/ACTION", Op::SecretRead),
    ("SERVERLESSENDPOINTS/LISTKEYS/ACTION", Op::SecretRead),
    // Jobs and compute.
    ("JOBS/WRITE", Op::JobSubmit),
    ("COMPUTES/WRITE", Op::JobSubmit),
    ("COMPUTES/START/ACTION", Op::JobSubmit),
    ("SCHEDULES/WRITE", Op::JobSubmit),
    // Serving: online (and batch) endpoints and their deployments.
    ("ONLINEENDPOINTS/WRITE", Op::ModelDeploy),
    ("ONLINEENDPOINTS/DELETE", Op::ModelDeploy),
    ("ONLINEENDPOINTS/DEPLOYMENTS/WRITE", Op::ModelDeploy),
    ("ONLINEENDPOINTS/DEPLOYMENTS/DELETE", Op::ModelDeploy),
    ("BATCHENDPOINTS/WRITE", Op::ModelDeploy),
    ("BATCHENDPOINTS/DEPLOYMENTS/WRITE", Op::ModelDeploy),
    // Registry.
    ("MODELS/WRITE", Op::ModelRegister),
    ("MODELS/VERSIONS/WRITE", Op::ModelRegister),
];

/// `pattern` (upper case, `*` = one path segment) matches all of `s`.
fn glob_upper(pattern: &str, s: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let v: Vec<&str> = s.split('/').collect();
    p.len() == v.len() && p.iter().zip(&v).all(|(p, v)| *p == "*" || p == v)
}

/// The operation kind of one Azure operation (`GetBlob`,
/// `MICROSOFT.MACHINELEARNINGSERVICES/WORKSPACES/LISTKEYS/ACTION`, ...).
fn op(action: &str) -> Op {
    let a = action.to_ascii_uppercase();
    match a.as_str() {
        "GETBLOB" | "READFILE" => return Op::ObjectRead,
        "PUTBLOB" | "PUTBLOCKLIST" | "COPYBLOB" | "CREATEFILE" => return Op::ObjectWrite,
        "DELETEBLOB" | "DELETEFILE" => return Op::ObjectDelete,
        "LISTBLOBS" => return Op::ObjectList,
        "SECRETGET" | "KEYGET" => return Op::SecretRead,
        "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE" => return Op::LoggingDisable,
        "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE" => return Op::LoggingChange,
        _ => {}
    }
    if a.ends_with("/CONTAINERS/WRITE")
        || a.ends_with("/ROLEASSIGNMENTS/WRITE")
        || a.ends_with("/REGISTRATIONDEFINITIONS/WRITE")
    {
        return Op::PolicyChange;
    }
    if let Some(rest) = a.strip_prefix(AZUREML_PREFIX) {
        if let Some((_, op)) = AZUREML_OPS.iter().find(|(p, _)| glob_upper(p, rest)) {
            return *op;
        }
    }
    if a.ends_with("/LISTKEYS/ACTION")
        || a.ends_with("/LISTSECRETS/ACTION")
        || a.ends_with("/SECRETS/GETSECRET/ACTION")
    {
        return Op::SecretRead;
    }
    Op::Other
}

/// `https://acct.blob.core.windows.net/container/blob?sv=...` → `azblob://acct/container/blob`.
fn azure_blob(uri: &str) -> Option<String> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let account = host.split('.').next()?;
    let path = path.split('?').next().unwrap_or(path);
    Some(format!("azblob://{account}/{path}"))
}

fn parse(rec: Value, at: RecordRef) -> Parsed {
    let action = match rec.get("operationName") {
        Some(Value::Object(o)) => o.get("value").and_then(Value::as_str).map(String::from),
        Some(Value::String(x)) => Some(x.clone()),
        _ => None,
    };
    let Some(action) = action else {
        return Err((at, "Azure record without operationName".into()));
    };
    let category = s(&rec, "category")
        .or_else(|| s(&rec, "category/value"))
        .unwrap_or_default();
    let principal = s(&rec, "identity/requester/upn")
        .or_else(|| s(&rec, "identity/requester/objectId"))
        .or_else(|| {
            rec.pointer("/identity/claims")
                .and_then(|c| c.get("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"))
                .and_then(Value::as_str)
                .map(String::from)
        })
        .or_else(|| s(&rec, "caller"))
        .or_else(|| s(&rec, "identity/requester/appId"))
        .or_else(|| s(&rec, "identity/tokenHash").map(|h| format!("token:{h}")))
        .or_else(|| s(&rec, "properties/userPrincipalName"))
        .unwrap_or_else(|| "(unknown)".into());
    let principal_type = s(&rec, "identity/type")
        .or_else(|| s(&rec, "identity/authorization/evidence/principalType"))
        .unwrap_or_default();
    let resource = s(&rec, "uri")
        .and_then(|u| azure_blob(&u))
        .or_else(|| s(&rec, "properties/objectKey").map(|k| format!("azblob:/{}", k)))
        .or_else(|| s(&rec, "resourceId"))
        .unwrap_or_default();
    let status = s(&rec, "resultType")
        .or_else(|| s(&rec, "status/value"))
        .or_else(|| s(&rec, "statusText"))
        .unwrap_or_default();
    let code = num(rec.get("statusCode")).unwrap_or(0.0);
    let failed = code >= 400.0
        || ["failed", "failure", "error"]
            .iter()
            .any(|w| status.eq_ignore_ascii_case(w))
        || (category.starts_with("Storage")
            && !status.is_empty()
            && !status.starts_with("Success"));
    let service = if category.starts_with("Storage") {
        "Microsoft.Storage".to_string()
    } else {
        action.split('/').next().unwrap_or_default().to_string()
    };
    let op = op(&action);
    Ok(Event {
        op,
        time: ["time", "eventTimestamp", "timeGenerated"]
            .iter()
            .find_map(|k| rec.get(*k).and_then(parse_time)),
        source: Source::AZURE,
        principal,
        principal_type,
        account: s(&rec, "subscriptionId").unwrap_or_default(),
        action,
        service,
        resource,
        region: s(&rec, "location"),
        source_ip: s(&rec, "callerIpAddress")
            .or_else(|| s(&rec, "httpRequest/clientIpAddress"))
            .map(|x| normalize_ip(&x)),
        user_agent: s(&rec, "properties/userAgentHeader"),
        access_key: None,
        bytes_out: num(rec.pointer("/properties/responseBodySize")),
        objects: 1,
        success: !failed,
        error: failed.then(|| {
            format!(
                "{status} {}",
                if code > 0.0 {
                    code.to_string()
                } else {
                    String::new()
                }
            )
            .trim()
            .to_string()
        }),
        raw: rec,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn azure_storage_read() {
        let rec = json!({
            "time": "2024-01-02T03:04:05Z", "category": "StorageRead",
            "operationName": "GetBlob", "callerIpAddress": "10.1.2.3:5555",
            "statusCode": 200, "statusText": "Success",
            "uri": "https://acct.blob.core.windows.net/models/prod/model.onnx?sv=1",
            "identity": {"type": "OAuth", "requester": {"upn": "bob@example.com"}},
            "properties": {"responseBodySize": 2356.0, "userAgentHeader": "azcopy"}
        });
        let at = RecordRef {
            file: std::sync::Arc::from(std::path::Path::new("x")),
            index: Some(0),
            line: None,
        };
        let e = parse(rec, at).unwrap();
        assert_eq!(e.op, Op::ObjectRead);
        assert_eq!(e.resource, "azblob://acct/models/prod/model.onnx");
        assert_eq!(e.principal, "bob@example.com");
        assert_eq!(e.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(e.bytes_out, Some(2356.0));
        assert!(e.success);
    }
}
