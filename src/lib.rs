//! mlguard: security gates for the ML pipeline.
//!
//! Every command is the same pipeline, visible in the module layout:
//!
//! ```text
//! input (walk / table / logs)  →  core (integrity / profile+drift / scan)  →  Finding  →  report
//! ```
//!
//! * [`input`]: reading the world: directory walks, Arrow record batches, audit-log events.
//! * [`integrity`], [`profile`], [`drift`], [`scan`], [`inspect`]: the cores.
//! * [`finding`]: the one [`finding::Finding`] type every core returns.
//! * [`report`]: the renderers (table, JSON, SARIF, JUnit, OCSF, rows) and the one escaper.
//! * [`error`]: the one error type and the exit-code contract.
//! * [`cmd`]: one thin file per subcommand, with its usage text beside its code.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod drift;
pub mod error;
pub mod finding;
pub mod input;
pub mod inspect;
pub mod integrity;
pub mod limits;
pub mod profile;
pub mod progress;
pub mod report;
pub mod scan;
pub mod stats;

pub use error::{Error, Outcome, Result};
