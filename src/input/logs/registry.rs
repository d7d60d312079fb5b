//! The log-source registry: one module per source, each implementing [`LogSource`].
//!
//! Adding a source is one file (its sniffing, parsing into [`Event`], Sigma logsource, field
//! mapping and file patterns) plus one line in [`REGISTRY`]. The reader (`read_file`),
//! the directory walk, `--source` and the Sigma engine all iterate the registry; nothing
//! else names a source.

use super::{Event, RecordRef};
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;

/// A source's name, as in `--source`, `Event::source` and the summary counts. Each source
/// module declares its constant (`Source::CLOUDTRAIL` lives in `cloudtrail.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source(pub &'static str);

impl Source {
    pub fn name(self) -> &'static str {
        self.0
    }
    /// The registered source of this name.
    pub fn get(self) -> Option<&'static dyn LogSource> {
        by_name(self.0)
    }
}

/// What one record parser returns: the event, or why the record is not one.
pub type Parsed = std::result::Result<Event, (RecordRef, String)>;

/// A whole-document source's answer for one JSON document.
pub enum Doc {
    /// Its events, and what in the document could not be read (each a warning).
    Events {
        events: Vec<Event>,
        problems: Vec<String>,
    },
    /// Recognised, deliberately not used (listed in `ignored_files` with this reason).
    Unused(String),
    /// Forced with `--source` but not this source's document: a warning.
    Bad(String),
}

/// One log source.
pub trait LogSource: Sync + Send {
    fn source(&self) -> Source;
    /// Does this single record look like one of ours? Auto-detection asks the sources in
    /// registry order; the first that says yes parses the record.
    fn sniff(&self, rec: &Value) -> bool;
    /// Parse one record (already unwrapped from its container) into an event.
    fn parse(&self, rec: Value, at: RecordRef) -> Parsed;
    /// A record of this source that arrives inside another platform's envelope (a GKE
    /// Cloud Logging entry, an AKS diagnostic record, an EKS CloudWatch log event): the
    /// record inside, or why it cannot be read. Called once per record, after sniffing
    /// (or `--source`) and before [`LogSource::counted`] and [`LogSource::parse`], so
    /// the event's raw record is the inner one.
    fn unwrap(&self, rec: Value) -> std::result::Result<Value, String> {
        Ok(rec)
    }
    /// `false` for a record that was read but repeats another record of the same request
    /// (Kubernetes writes one record per stage of a call): not an event, and not a skip,
    /// since nothing in it goes unread — its request is counted from its counted stage.
    fn counted(&self, _rec: &Value) -> bool {
        true
    }
    /// Sources whose unit is a whole document rather than a record (registry exports):
    /// `Some` when `doc` is theirs, or always when `forced` (`--source` named them).
    fn document(&self, _doc: &Value, _path: &Path, _forced: bool) -> Option<Doc> {
        None
    }
    /// Sigma `logsource` (product, service) of one of its events; `None`: Sigma rules do
    /// not apply.
    fn logsource(&self, _e: &Event) -> Option<(&'static str, Option<&'static str>)> {
        None
    }
    /// Sigma field mapping (YAML in `src/input/logs/mappings/`), `""` for none.
    fn mapping_yaml(&self) -> &'static str {
        ""
    }
    /// Keys of the JSON objects that wrap this source's records in exports
    /// (`{"Records": [...]}`): the records are the array under the key.
    fn containers(&self) -> &'static [&'static str] {
        &[]
    }
    /// Lowercased name suffixes read when walking a directory (after `.gz` / `.zst`).
    fn file_patterns(&self) -> &'static [&'static str] {
        &[".json", ".jsonl", ".ndjson", ".log"]
    }
    /// The identity of a delivered record, for deduplication: two records with the same
    /// key are the same event delivered twice (CloudTrail: `eventID` + `recipientAccountId`).
    /// `None`: the source has no such identity, its records are never deduplicated.
    fn event_key(&self, _rec: &Value) -> Option<u128> {
        None
    }
    /// Keep the raw record after the per-file pass (detections read it later).
    fn keeps_raw(&self) -> bool {
        false
    }
    /// An audit trail of calls (every source so far but registry state exports, which are
    /// snapshots): counts as control-plane input in the coverage report.
    fn audit_trail(&self) -> bool {
        true
    }
}

/// Every source, in sniffing order (wrappers before the formats they wrap).
pub static REGISTRY: &[&dyn LogSource] = &[
    &super::cloudtrail::CloudTrail,
    // Before GCP and Azure: GKE and AKS wrap Kubernetes audit events in their records.
    &super::k8s::K8s,
    &super::gcp::Gcp,
    &super::azure::Azure,
    &super::mlflow::Mlflow,
    // Loosest sniff (`action` + an actor field): after the others.
    &super::wandb::Wandb,
];

pub fn by_name(name: &str) -> Option<&'static dyn LogSource> {
    REGISTRY
        .iter()
        .copied()
        .find(|s| s.source().name().eq_ignore_ascii_case(name))
}

/// The registered source names (for `--source` and help).
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.source().name()).collect()
}

/// Which registered source a single record looks like.
pub fn sniff(rec: &Value) -> Option<&'static dyn LogSource> {
    REGISTRY.iter().copied().find(|s| s.sniff(rec))
}

/// A Sigma field mapping: rule field → record path (`""` = the record itself, for
/// wrappers like Pub/Sub's `data.`), tried when the rule's own field does not resolve; and
/// fields that cannot be mapped for this source, with the reason.
#[derive(Debug, Default)]
pub struct Mapping {
    pub fields: Vec<(&'static str, &'static str)>,
    pub unmappable: Vec<(&'static str, &'static str)>,
    /// (field, value, reason): a value this source's records never hold in that field (a
    /// rule selecting only it can never match: skipped with the reason).
    pub unmatchable: Vec<(&'static str, &'static str, &'static str)>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[allow(dead_code)]
    product: String,
    #[serde(default)]
    fields: Vec<FieldMap>,
    #[serde(default)]
    unmappable: Vec<Unmappable>,
    #[serde(default)]
    unmatchable: Vec<Unmatchable>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Unmatchable {
    field: String,
    value: String,
    reason: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldMap {
    from: String,
    to: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Unmappable {
    field: String,
    reason: String,
}

fn leak(s: String) -> &'static str {
    // Built once per process from the bundled mapping files (OnceLock below): a few dozen
    // short strings, so leaking them is bounded.
    Box::leak(s.into_boxed_str())
}

/// Parse a mapping file's text.
pub fn parse_mapping(text: &str) -> std::result::Result<Mapping, String> {
    if text.trim().is_empty() {
        return Ok(Mapping::default());
    }
    let f: MappingFile = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    Ok(Mapping {
        fields: f
            .fields
            .into_iter()
            .map(|m| (leak(m.from), leak(m.to)))
            .collect(),
        unmappable: f
            .unmappable
            .into_iter()
            .map(|u| (leak(u.field), leak(u.reason)))
            .collect(),
        unmatchable: f
            .unmatchable
            .into_iter()
            .map(|u| (leak(u.field), leak(u.value), leak(u.reason)))
            .collect(),
    })
}

/// The Sigma field mapping for a logsource product (the first source whose mapping file
/// names it), parsed once.
pub fn mapping_for(product: &str) -> &'static Mapping {
    static MAPS: OnceLock<Vec<(String, Mapping)>> = OnceLock::new();
    static EMPTY: Mapping = Mapping {
        fields: Vec::new(),
        unmappable: Vec::new(),
        unmatchable: Vec::new(),
    };
    let maps = MAPS.get_or_init(|| {
        REGISTRY
            .iter()
            .filter_map(|s| {
                let text = s.mapping_yaml();
                let product = serde_norway::from_str::<MappingFile>(text).ok()?.product;
                // The bundled files are checked by a unit test; a broken one maps nothing.
                Some((product.to_ascii_lowercase(), parse_mapping(text).ok()?))
            })
            .collect()
    });
    maps.iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(product))
        .map(|(_, m)| m)
        .unwrap_or(&EMPTY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_mappings_parse_and_names_are_unique() {
        for s in REGISTRY {
            parse_mapping(s.mapping_yaml()).unwrap();
        }
        let mut n = names();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), REGISTRY.len());
        assert!(!n.contains(&"auto") && !n.contains(&"inference"));
        assert_eq!(mapping_for("GCP").fields[0].1, "protoPayload.methodName");
    }
}
