//! Lenient field helpers shared by the record parsers: every field is optional in
//! practice, numbers and times come in several spellings, and addresses are padded.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

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

/// RFC 3339 text, `YYYY-MM-DD HH:MM:SS[.f]` (UTC), or epoch seconds/milliseconds; a time
/// outside 1970..=9999 is no time ([`crate::limits::time`]: time arithmetic cannot overflow).
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    parse_time_any(v).and_then(crate::limits::time)
}

fn parse_time_any(v: &Value) -> Option<DateTime<Utc>> {
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
}
