//! The one thing every gate reports: a [`Finding`], its [`Severity`] and [`Location`].
//!
//! Verify statuses, drift results and scan detections are all findings, so that one report
//! layer renders them (table, JSON, SARIF, JUnit, ...) and one rule maps them to an exit code.
//! The cores (integrity, profile, drift, scan, inspect) build findings from this module and
//! never depend on `report`'s renderers; the only thing used from `report` here is the one
//! escaper ([`crate::report::text`]) for `Location`'s human form.

use crate::report::text::Clean;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// One ordered severity scale, and one set of words, for every command and every output
/// format (table, JSON, SARIF, JUnit, HTML): `info`, `low`, `medium`, `high`, `critical`.
///
/// Drift used to say `warn` and `alert`; `--fail-on` and config thresholds still accept
/// them as input spellings of `medium` and `high`, but nothing prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" | "warn" | "warning" => Ok(Severity::Medium),
            "high" | "alert" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity '{other}' (expected info, low, medium|warn, high|alert, critical)"
            )),
        }
    }
}

/// Where in an input a finding comes from: a file, and optionally a line (text formats,
/// 1-based) or a record index (0-based position in a JSON array / row group), or, for
/// binary containers (`inspect`), the member inside the archive and a byte offset in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Location {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// Path of the member inside an archive (`archive/data.pkl`), nested members joined by `!`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Byte offset inside the member (or the file when there is no member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Human text (tables, notes, errors): names from input are escaped; JSON and the
        // other machine formats serialise the fields themselves, exactly.
        write!(f, "{}", Clean(&self.file))?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(r) = self.record {
            write!(f, "#{r}")?;
        }
        if let Some(m) = &self.member {
            write!(f, "!{}", Clean(m))?;
        }
        if let Some(o) = self.offset {
            write!(f, "@{o}")?;
        }
        Ok(())
    }
}

/// A single result of a gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, dotted: `integrity.modified`, `drift.ks`, `scan.bulk_download`,
    /// `sigma.<rule-uuid>`. Never reworded once released: SARIF and suppressions key on it.
    pub id: String,
    /// One human sentence.
    pub title: String,
    pub severity: Severity,
    /// What the finding is about: a file path, a column, a principal, a client.
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Numbers and references backing the finding (statistic values, thresholds, byte
    /// ranges, event counts...). Free-form per rule, documented per command in `docs/`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub evidence: Map<String, Value>,
    /// Framework ids: `atlas:AML.T0024`, `attack:T1530`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl Finding {
    pub fn new(
        id: impl Into<String>,
        severity: Severity,
        subject: impl Into<String>,
        title: impl Into<String>,
    ) -> Finding {
        Finding {
            id: id.into(),
            title: title.into(),
            severity,
            subject: subject.into(),
            location: None,
            evidence: Map::new(),
            tags: Vec::new(),
        }
    }
    /// An RFC 3339 time in the evidence (`time`, `first_seen`, `last_seen`...), as UTC.
    pub fn evidence_time(&self, key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.evidence
            .get(key)
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    }
    /// Builder: add one evidence field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Finding {
        self.evidence.insert(key.to_string(), value.into());
        self
    }
    pub fn at(mut self, location: Location) -> Finding {
        self.location = Some(location);
        self
    }
    pub fn tag(mut self, tag: impl Into<String>) -> Finding {
        self.tags.push(tag.into());
        self
    }
    /// A stable fingerprint (BLAKE3 of id, subject and location) for SARIF
    /// `partialFingerprints` and de-duplication across runs.
    pub fn fingerprint(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(self.id.as_bytes());
        h.update(&[0]);
        h.update(self.subject.as_bytes());
        h.update(&[0]);
        if let Some(l) = &self.location {
            h.update(l.to_string().as_bytes());
        }
        h.finalize().to_hex()[..32].to_string()
    }
}

/// Which detections could run on the input (scan): listed with every report, so a blind
/// spot is never silent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Coverage {
    pub detection: String,
    /// `active`, `blind` (the input lacks what it needs), `off` (not configured) or
    /// `partial`.
    pub status: String,
    pub reason: String,
}

impl Coverage {
    /// `active` when `active`, else `status`.
    pub fn new(detection: &str, active: bool, status: &str, reason: String) -> Coverage {
        Coverage {
            detection: detection.into(),
            status: if active { "active" } else { status }.into(),
            reason,
        }
    }
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// A problem with one input file or record that did not stop the command (scan's input
/// warnings and repaired records): the file, line (1-based) or record (0-based) when known.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputWarning {
    pub file: String,
    pub line: Option<u64>,
    pub record: Option<u64>,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses_aliases() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Medium > Severity::Low);
        assert_eq!("warn".parse::<Severity>().unwrap(), Severity::Medium);
        assert_eq!("ALERT".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn fingerprint_depends_on_subject() {
        let a = Finding::new("x.y", Severity::Low, "a", "t");
        let b = Finding::new("x.y", Severity::Low, "b", "t");
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().with("n", 1).fingerprint());
    }
}
