//! Seeded data generators for mlguard's tests, `examples/` and `benches/` (a dev-dependency
//! only: nothing here is compiled into the `mlguard` binary or library).
//!
//! - [`cases`]: drift/poisoning proof cases from a real dataset (`tests/drift.rs`,
//!   `examples/drift_cases.rs`, `benches/drift_bench.sh`);
//! - [`scenario`]: a month of CloudTrail with an insider (`tests/scan.rs`,
//!   `examples/scan_scenario.rs`, `benches/scan_bench.sh`);
//! - [`inference`]: inference logs with benign clients and model-extraction attackers
//!   (`tests/inference.rs`, `examples/inference_log.rs`, `benches/inference.rs`);
//! - [`Rng`]: the one seeded RNG they (and the in-process fuzzer, `tests/fuzz.rs`) share.

pub mod cases;
pub mod inference;
pub mod scenario;

mod rng;
pub use rng::Rng;

use std::fmt;
use std::path::Path;

/// A generator error: the file and what went wrong.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Error {
    pub(crate) fn at(path: &Path, what: impl fmt::Display) -> Error {
        Error(format!("{}: {what}", path.display()))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
