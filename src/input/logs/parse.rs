//! Per-cloud record parsers. Every field is optional in practice, so each parser takes what
//! is there and never fails on a missing field except the few that make a record an event
//! at all (an action and a time or principal).

use super::{Event, RecordRef, Source};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

type Parsed = std::result::Result<Event, (RecordRef, String)>;

/// A string field at a `/`-separated path (numbers are turned into text).
pub(crate) fn s(v: &Value, path: &str) -> Option<String> {
    let mut cur = v;
    for k in path.split('/') {
        cur = cur.get(k)?;
    }
    match cur {
        Value::String(x) if !x.is_empty() => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number given as `0`, `2356.0` or `"2356"`.
pub(crate) fn num(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(x) => x.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

/// RFC 3339 text, `YYYY-MM-DD HH:MM:SS[.f]` (UTC), or epoch seconds/milliseconds.
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(t) => {
            let t = t.trim();
            if let Ok(d) = DateTime::parse_from_rfc3339(t) {
                return Some(d.with_timezone(&Utc));
            }
            for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
                if let Ok(n) = chrono::NaiveDateTime::parse_from_str(t, f) {
                    return Some(Utc.from_utc_datetime(&n));
                }
            }
            t.parse::<f64>().ok().and_then(epoch)
        }
        Value::Number(n) => n.as_f64().and_then(epoch),
        _ => None,
    }
}

fn epoch(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    let ms = if x > 1e11 { x } else { x * 1000.0 };
    Utc.timestamp_millis_opt(ms as i64).single()
}

/// `035.249.253.232` → `35.249.253.232`; `1.2.3.4:5678` → `1.2.3.4`; `[::1]:80` → `::1`.
/// Anything that is not an address (`AWS Internal`, a service host name) is kept as is.
pub fn normalize_ip(raw: &str) -> String {
    let t = raw.trim();
    if let Ok(ip) = t.parse::<std::net::IpAddr>() {
        return ip.to_string();
    }
    if let Ok(sa) = t.parse::<std::net::SocketAddr>() {
        return sa.ip().to_string();
    }
    let host = match t.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => t,
    };
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() == 4 {
        let octets: Option<Vec<u8>> = parts
            .iter()
            .map(|p| {
                if p.is_empty() || p.len() > 3 || !p.chars().all(|c| c.is_ascii_digit()) {
                    None
                } else {
                    p.parse::<u16>().ok().and_then(|n| u8::try_from(n).ok())
                }
            })
            .collect();
        if let Some(o) = octets {
            return format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]);
        }
    }
    host.to_string()
}

pub(crate) fn cloudtrail(rec: Value, at: RecordRef) -> Parsed {
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
    let time = rec.get("eventTime").and_then(parse_time);
    Ok(Event {
        time,
        source: Source::Cloudtrail,
        principal,
        principal_type,
        account,
        action,
        service,
        resource,
        region: s(&rec, "awsRegion"),
        source_ip: s(&rec, "sourceIPAddress").map(|x| normalize_ip(&x)),
        user_agent: s(&rec, "userAgent"),
        bytes_out: num(rec.pointer("/additionalEventData/bytesTransferredOut")),
        objects,
        success: error.is_none(),
        error,
        raw: rec,
        at,
    })
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

pub(crate) fn gcp(rec: Value, at: RecordRef) -> Parsed {
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
    Ok(Event {
        time: rec.get("timestamp").and_then(parse_time).or_else(|| {
            pp.pointer("/requestMetadata/requestAttributes/time")
                .and_then(parse_time)
        }),
        source: Source::Gcp,
        principal,
        principal_type,
        account: s(&rec, "resource/labels/project_id").unwrap_or_default(),
        action,
        service: s(pp, "serviceName").unwrap_or_default(),
        resource,
        region: s(&rec, "resource/labels/location"),
        source_ip: s(pp, "requestMetadata/callerIp").map(|x| normalize_ip(&x)),
        user_agent: s(pp, "requestMetadata/callerSuppliedUserAgent"),
        bytes_out: None,
        objects: 1,
        success: error.is_none(),
        error,
        raw: rec,
        at,
    })
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

pub(crate) fn azure(rec: Value, at: RecordRef) -> Parsed {
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
    Ok(Event {
        time: ["time", "eventTimestamp", "timeGenerated"]
            .iter()
            .find_map(|k| rec.get(*k).and_then(parse_time)),
        source: Source::Azure,
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
    fn ips_are_normalised() {
        assert_eq!(normalize_ip("035.249.253.232"), "35.249.253.232");
        assert_eq!(normalize_ip("10.0.0.1:443"), "10.0.0.1");
        assert_eq!(normalize_ip("[::1]:80"), "::1");
        assert_eq!(normalize_ip("AWS Internal"), "AWS Internal");
        assert_eq!(normalize_ip("300.1.1.1"), "300.1.1.1");
    }

    #[test]
    fn numbers_and_times_are_lenient() {
        assert_eq!(num(Some(&json!(2356.0))), Some(2356.0));
        assert_eq!(num(Some(&json!("12"))), Some(12.0));
        assert_eq!(num(Some(&json!("x"))), None);
        let t = parse_time(&json!("2024-10-17T20:09:52Z")).unwrap();
        assert_eq!(t.timestamp(), 1729195792);
        assert_eq!(parse_time(&json!(1729195792000u64)).unwrap(), t);
        assert_eq!(parse_time(&json!("2024-10-17 20:09:52")).unwrap(), t);
        assert!(parse_time(&json!("yesterday")).is_none());
    }

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
        let e = azure(rec, at).unwrap();
        assert_eq!(e.resource, "azblob://acct/models/prod/model.onnx");
        assert_eq!(e.principal, "bob@example.com");
        assert_eq!(e.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(e.bytes_out, Some(2356.0));
        assert!(e.success);
    }
}
