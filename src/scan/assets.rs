//! The ML asset map: which resources hold model artifacts, training data, feature stores
//! and registries. Findings say which kind of asset was touched, and severities rise when
//! it is an ML asset.
//!
//! Resources are matched in their normalised form (`s3://bucket/key`, `gs://bucket/o`,
//! `azblob://account/container/blob`, `models:/name/version`, ARNs) against globs where `*`
//! also crosses `/` (so `s3://ml-models/*` covers the whole bucket). User globs from
//! `[assets]` in mlguard.toml come first; built-in guesses apply unless `builtin = false`.
//! Bucket-level events (a policy change on `s3://ml-models`) count as touching an asset
//! when any glob names that bucket, or a key of it was classified as an asset in this scan.

use crate::error::{Error, Result};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    ModelArtifact,
    TrainingData,
    FeatureStore,
    Registry,
}

impl AssetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::ModelArtifact => "model_artifact",
            AssetKind::TrainingData => "training_data",
            AssetKind::FeatureStore => "feature_store",
            AssetKind::Registry => "registry",
        }
    }
}

/// `[assets]` in mlguard.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssetConfig {
    pub model_artifacts: Vec<String>,
    pub training_data: Vec<String>,
    pub feature_stores: Vec<String>,
    pub registries: Vec<String>,
    /// Use the built-in guesses as well (default true).
    pub builtin: bool,
}

impl Default for AssetConfig {
    fn default() -> Self {
        AssetConfig {
            model_artifacts: Vec::new(),
            training_data: Vec::new(),
            feature_stores: Vec::new(),
            registries: Vec::new(),
            builtin: true,
        }
    }
}

/// Built-in guesses, documented in docs/scan.md.
pub const BUILTIN_MODELS: &[&str] = &[
    "*.safetensors",
    "*.pt",
    "*.pth",
    "*.onnx",
    "*.gguf",
    "*.ggml",
    "*.ckpt",
    "*.h5",
    "*.keras",
    "*.joblib",
    "*.mlmodel",
    "*.tflite",
    "*/model.tar.gz",
    "*/saved_model.pb",
    "*/MLmodel",
    "*/mlruns/*/artifacts/*",
    "*/mlartifacts/*",
    "models:/*",
    "bedrock:*",
    "arn:aws:sagemaker:*:model/*",
    "arn:aws:sagemaker:*:model-package/*",
    "wandb://*:*",
    "wandb://*/artifacts/*",
];
pub const BUILTIN_TRAINING: &[&str] = &[
    "*/train*/*",
    "*/training*/*",
    "*/datasets/*",
    "*.tfrecord",
    "*.tfrecords",
];
pub const BUILTIN_FEATURES: &[&str] = &["*feature-store*", "*featurestore*", "*feature_store*"];
pub const BUILTIN_REGISTRIES: &[&str] = &[
    "models:/*",
    "arn:aws:sagemaker:*:model-package*",
    "*aiplatform*models*",
];

/// Compiled asset map.
#[derive(Debug, Clone)]
pub struct AssetMap {
    kinds: Vec<(AssetKind, GlobSet)>,
    /// Bucket/container prefixes (`s3://b`) named by a glob or seen holding an asset.
    buckets: BTreeMap<String, AssetKind>,
}

/// `place` names the key and entry (`[assets] registries[2]`); the caller adds the file.
fn glob(p: &str, place: &str) -> Result<Glob> {
    GlobBuilder::new(p)
        .literal_separator(false)
        .case_insensitive(true)
        .build()
        .map_err(|e| Error::usage(format!("{place}: bad glob '{p}': {e}")))
}

/// `s3://bucket/...` → `s3://bucket`; `azblob://acct/container/...` → `azblob://acct/container`.
pub fn bucket_of(resource: &str) -> Option<String> {
    let (scheme, rest) = resource.split_once("://")?;
    // Containers live in a storage account; W&B projects in an entity (team).
    let n = if scheme == "azblob" || scheme == "wandb" {
        2
    } else {
        1
    };
    let parts: Vec<&str> = rest.splitn(n + 1, '/').collect();
    if parts.len() < n
        || parts
            .iter()
            .take(n)
            .any(|p| p.is_empty() || p.contains('*'))
    {
        return None;
    }
    Some(format!("{scheme}://{}", parts[..n].join("/")))
}

impl AssetMap {
    pub fn new(cfg: &AssetConfig) -> Result<AssetMap> {
        let mut kinds = Vec::new();
        let mut buckets = BTreeMap::new();
        let groups: [(AssetKind, &Vec<String>, &[&str]); 4] = [
            (
                AssetKind::ModelArtifact,
                &cfg.model_artifacts,
                BUILTIN_MODELS,
            ),
            (
                AssetKind::TrainingData,
                &cfg.training_data,
                BUILTIN_TRAINING,
            ),
            (
                AssetKind::FeatureStore,
                &cfg.feature_stores,
                BUILTIN_FEATURES,
            ),
            (AssetKind::Registry, &cfg.registries, BUILTIN_REGISTRIES),
        ];
        // User globs of every kind first, so a configured kind wins over a built-in guess.
        for (kind, user, _) in &groups {
            let mut b = GlobSetBuilder::new();
            let key = match kind {
                AssetKind::ModelArtifact => "model_artifacts",
                AssetKind::TrainingData => "training_data",
                AssetKind::FeatureStore => "feature_stores",
                AssetKind::Registry => "registries",
            };
            for (i, p) in user.iter().enumerate() {
                b.add(glob(p, &format!("[assets] {key}[{i}]"))?);
                if let Some(bk) = bucket_of(p) {
                    buckets.entry(bk).or_insert(*kind);
                }
            }
            kinds.push((*kind, b.build().map_err(|e| Error::usage(e.to_string()))?));
        }
        if cfg.builtin {
            for (kind, _, builtin) in &groups {
                let mut b = GlobSetBuilder::new();
                for p in builtin.iter() {
                    b.add(glob(p, "built-in asset glob")?);
                }
                kinds.push((*kind, b.build().map_err(|e| Error::usage(e.to_string()))?));
            }
        }
        Ok(AssetMap { kinds, buckets })
    }

    /// Learn from registry exports: a model version's artifact `source` URI is a model
    /// artifact location.
    pub fn add_model_source(&mut self, source: &str) -> Result<()> {
        let s = source.trim_end_matches('/');
        if s.is_empty() || !s.contains("://") {
            return Ok(());
        }
        let mut b = GlobSetBuilder::new();
        b.add(glob(
            &format!("{s}*"),
            "model source from a registry export",
        )?);
        self.kinds.insert(
            0,
            (
                AssetKind::ModelArtifact,
                b.build().map_err(|e| Error::usage(e.to_string()))?,
            ),
        );
        if let Some(bk) = bucket_of(s) {
            self.buckets.entry(bk).or_insert(AssetKind::ModelArtifact);
        }
        Ok(())
    }

    /// Remember that this bucket holds an asset (seen in this scan).
    pub fn note_bucket(&mut self, resource: &str, kind: AssetKind) {
        if let Some(b) = bucket_of(resource) {
            self.buckets.entry(b).or_insert(kind);
        }
    }

    /// The kind of asset `resource` is, if any.
    pub fn classify(&self, resource: &str) -> Option<AssetKind> {
        if resource.is_empty() {
            return None;
        }
        for (kind, set) in &self.kinds {
            if set.is_match(resource) {
                return Some(*kind);
            }
        }
        // A bucket-level resource (no key) of a known asset bucket.
        if let Some(b) = bucket_of(resource) {
            if b == resource.trim_end_matches('/') {
                return self.buckets.get(&b).copied();
            }
        }
        None
    }

    /// Kind of the bucket holding `resource` (for bucket-level events).
    pub fn bucket_kind(&self, resource: &str) -> Option<AssetKind> {
        bucket_of(resource).and_then(|b| self.buckets.get(&b).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_and_user_globs() {
        let cfg = AssetConfig {
            training_data: vec!["s3://corp-data/features/*".into()],
            ..AssetConfig::default()
        };
        let m = AssetMap::new(&cfg).unwrap();
        assert_eq!(
            m.classify("s3://x/prod/model.safetensors"),
            Some(AssetKind::ModelArtifact)
        );
        assert_eq!(
            m.classify("s3://x/train-2024/part-0.parquet"),
            Some(AssetKind::TrainingData)
        );
        assert_eq!(
            m.classify("s3://corp-data/features/a.csv"),
            Some(AssetKind::TrainingData)
        );
        assert_eq!(m.classify("s3://corp-data"), Some(AssetKind::TrainingData));
        assert_eq!(m.classify("s3://logs/app.log"), None);
        assert_eq!(
            m.classify("models:/fraud/3"),
            Some(AssetKind::ModelArtifact)
        );
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket_of("s3://b/k/x").as_deref(), Some("s3://b"));
        assert_eq!(bucket_of("s3://b").as_deref(), Some("s3://b"));
        assert_eq!(
            bucket_of("azblob://acct/c/blob").as_deref(),
            Some("azblob://acct/c")
        );
        assert_eq!(bucket_of("s3://*/x"), None);
        let mut m = AssetMap::new(&AssetConfig::default()).unwrap();
        assert_eq!(m.classify("s3://ml-models"), None);
        m.add_model_source("s3://ml-models/1/abc/artifacts/model")
            .unwrap();
        assert_eq!(m.classify("s3://ml-models"), Some(AssetKind::ModelArtifact));
        assert_eq!(
            m.classify("s3://ml-models/1/abc/artifacts/model/weights.bin"),
            Some(AssetKind::ModelArtifact)
        );
    }
}
