//! Helpers shared by the integration tests (each test file is its own crate and includes
//! this module with `mod common;`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The real `mlguard` binary built by cargo for this test run.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mlguard"))
}

/// A path under the repository's `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}
