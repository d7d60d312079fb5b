//! One thin file per subcommand: flags + usage text, then a call into the library.

pub mod completions;
pub mod diff;
pub mod drift;
pub mod hash;
pub mod inspect;
pub mod keygen;
pub mod man;
pub mod manifest;
pub mod profile;
pub mod prove;
pub mod scan;
pub mod sign;
pub mod verify;
pub mod verify_file;

use crate::cli::{Cli, Command};
use crate::{Error, Outcome, Result};

/// Dispatch a parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    let g = cli.global;
    if let Some(n) = g.threads {
        let max = crate::limits::MAX_THREADS;
        if n == 0 || n > max {
            return Err(Error::usage(format!(
                "--threads must be from 1 to {max} (got {n})"
            )));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::usage(format!("cannot set up {n} threads: {e}")))?;
    }
    // The decompression caps of the source layer come from `[input]` in the configuration
    // (every command reads through it).
    if g.config.is_some() || std::path::Path::new("mlguard.toml").is_file() {
        let limits: crate::input::source::Limits = g.load_config()?.section("input")?;
        crate::input::source::set_limits(limits);
        let cfg = g.load_config()?;
        let mut storage: crate::input::remote::Storage = cfg.section("storage")?;
        if let Some(v) = &storage.part_size {
            use crate::input::remote::SizeValue;
            let n = match v {
                SizeValue::Bytes(n) => *n,
                SizeValue::Text(t) => crate::integrity::hasher::parse_size(t)
                    .map_err(|e| cfg.invalid("storage", format!("part_size {e}")))?,
            };
            if !((1 << 20)..=(1 << 30)).contains(&n) {
                return Err(cfg.invalid(
                    "storage",
                    format!("part_size {n} must be from 1M to 1G bytes"),
                ));
            }
            storage.part_bytes = Some(n);
        }
        crate::input::remote::set_storage(storage);
    }
    match cli.command {
        Command::Hash(a) => hash::run(a, &g),
        Command::Verify(a) => verify::run(a, &g),
        Command::Diff(a) => diff::run(a, &g),
        Command::Manifest(a) => manifest::run(a, &g),
        Command::Keygen(a) => keygen::run(a, &g),
        Command::Sign(a) => sign::run(a, &g),
        Command::Prove(a) => prove::run(a, &g),
        Command::VerifyFile(a) => verify_file::run(a, &g),
        Command::Profile(a) => profile::run(a, &g),
        Command::Drift(a) => drift::run(a, &g),
        Command::Scan(a) => scan::run(a, &g),
        Command::Inspect(a) => inspect::run(a, &g),
        Command::Completions(a) => completions::run(a, &g),
        Command::Man(a) => man::run(a, &g),
    }
}
