//! Sigma rule engine for cloud audit logs (issue 6). Interface fixed here so `scan` can call
//! it; bodies are filled in by the Sigma work.

use crate::report::Finding;
use crate::Result;
use std::path::Path;

/// What happened to each rule file under `--rules DIR`.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Rule ids (or file names when a rule has no id) that loaded.
    pub loaded: Vec<String>,
    /// `(file, reason)` for every rule that could not be used.
    pub skipped: Vec<(String, String)>,
}

/// A compiled set of Sigma rules.
#[derive(Debug, Default)]
pub struct RuleSet {}

impl RuleSet {
    /// Load every `*.yml`/`*.yaml` under `dir` (recursively). A rule that cannot be compiled
    /// is reported in `LoadReport::skipped` with a reason, never silently dropped.
    pub fn load_dir(dir: &Path) -> Result<(RuleSet, LoadReport)> {
        let _ = dir;
        Err(crate::Error::usage("Sigma rules are not implemented yet"))
    }

    /// Evaluate one raw record (the original JSON of a CloudTrail/GCP/Azure event).
    /// `product` is the Sigma logsource product of the record: `"aws"`, `"gcp"` or `"azure"`;
    /// `service` its logsource service when known (`"cloudtrail"`, `"gcp.audit"`,
    /// `"activitylogs"`...). Returns one finding per matching rule (subject/location are
    /// filled in by the caller).
    pub fn evaluate(
        &self,
        record: &serde_json::Value,
        product: &str,
        service: Option<&str>,
    ) -> Vec<Finding> {
        let _ = (record, product, service);
        Vec::new()
    }
}
