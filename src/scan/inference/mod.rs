//! Inference-log monitoring: model extraction and adversarial probing (issue 7). Interface
//! fixed here so `scan --source inference` can call it; bodies are filled in by that work.

use crate::config::Config;
use crate::report::Finding;
use crate::Result;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Deterministic per-client sampling rate in (0, 1]; `None` = every query.
    pub sample_rate: Option<f64>,
}

/// Result of scanning inference logs.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub findings: Vec<Finding>,
    /// Notes for the summary/coverage report (sampling applied, detectors that could not run
    /// because a column is absent, rows skipped with reasons...).
    pub notes: Vec<String>,
    /// Queries read.
    pub queries: u64,
}

/// Scan inference-log files (JSONL, CSV or Parquet) with the `[inference]` schema of `config`.
pub fn scan(files: &[PathBuf], config: &Config, opts: &Options) -> Result<Output> {
    let _ = (files, config, opts);
    Err(crate::Error::usage(
        "inference-log scanning is not implemented yet",
    ))
}
