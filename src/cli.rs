//! Top-level command line. Each subcommand's own flags and usage text live beside its code
//! in `src/cmd/<name>.rs`.

use crate::cmd;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "mlguard",
    version,
    about = "Security gates for the ML pipeline: dataset integrity, drift and poisoning, audit-log scanning",
    long_about = "Security gates for the ML pipeline.\n\n\
        Integrity:  hash a dataset into a Merkle manifest, sign it, verify it in CI.\n\
        Data:       profile training data, and gate on drift and poisoning against a baseline.\n\
        Forensics:  scan exported cloud audit logs, model-registry exports and inference logs.\n\
        Models:     inspect model files for code that runs when they are loaded.\n\n\
        Exit codes (every subcommand): 0 pass, 1 the gate failed, 2 usage or input error,\n\
        3 signature or trust failure.",
    after_help = "Run 'mlguard <command> --help' for a command's options and examples."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct Global {
    /// No progress bars or notes on stderr (errors are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Configuration file [default: ./mlguard.toml when present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Worker threads, 1 to 256 [default: number of CPUs].
    #[arg(short = 'j', long, global = true, value_name = "N")]
    pub threads: Option<usize>,
}

impl Global {
    pub fn load_config(&self) -> crate::Result<crate::config::Config> {
        crate::config::Config::load(self.config.as_deref())
    }
    /// The `--config` file, as an input that no output may overwrite.
    pub fn config_input(&self) -> Vec<crate::report::Input<'_>> {
        self.config
            .as_deref()
            .map(crate::report::Input::File)
            .into_iter()
            .collect()
    }
    /// Print a note on stderr unless `--quiet`. Notes name files and quote input, so
    /// control characters are escaped ([`crate::report::text`]).
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("mlguard: {}", crate::report::text::clean(&msg.to_string()));
        }
    }
}

/// The value parser of a flag that takes one of a library enum's values: library types carry
/// no clap derives, so each flag lists its values as `(value, name, help)` (`help` may be
/// empty). Only the listed names are accepted, and `--help` lists exactly them.
pub fn choice<T: Clone + Send + Sync + 'static>(
    values: &'static [(T, &'static str, &'static str)],
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(values.iter().map(|(_, name, help)| {
        let v = PossibleValue::new(*name);
        if help.is_empty() {
            v
        } else {
            v.help(*help)
        }
    }))
    .try_map(move |s: String| {
        values
            .iter()
            .find(|(_, name, _)| *name == s)
            .map(|(v, _, _)| v.clone())
            .ok_or_else(|| format!("unknown value '{s}'"))
    })
}

/// The value parser of a command's `--format`: accepts only `allowed` (the report formats
/// the command renders) and lists only them in `--help` and in the error for anything else,
/// so help never offers a format the command then refuses.
pub fn formats(
    allowed: &'static [crate::report::Format],
) -> impl clap::builder::TypedValueParser<Value = crate::report::Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        allowed
            .iter()
            .map(|f| PossibleValue::new(f.name()).help(f.help())),
    )
    .try_map(move |s: String| {
        allowed
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format '{s}'"))
    })
}

/// `--allow-partial`, accepted by every gate (verify, drift, scan).
#[derive(Debug, Clone, Copy, clap::Args, Default)]
pub struct Partial {
    /// Inputs that could not be read (listed under "skipped") are reported but do not make
    /// the verdict incomplete (exit 2): for forensic work on damaged exports, never for a gate.
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hash a dataset tree into a Merkle manifest (BLAKE3, parallel).
    Hash(cmd::hash::Args),
    /// Verify a tree against a manifest or a signed envelope (the CI gate).
    Verify(cmd::verify::Args),
    /// Compare two manifests without touching data.
    Diff(cmd::diff::Args),
    /// Work on manifests: `manifest merge` joins the parts of a sharded `hash --shard`.
    Manifest(cmd::manifest::Args),
    /// Generate a key pair: Ed25519, or ECDSA P-256/P-384 (PKCS#8 / SPKI PEM).
    Keygen(cmd::keygen::Args),
    /// Sign a manifest into a DSSE/in-toto envelope (or co-sign one), or a model into an OpenSSF model-signing bundle.
    Sign(cmd::sign::Args),
    /// Write an RFC 9162 inclusion proof for one file of a manifest.
    Prove(cmd::prove::Args),
    /// Check one file against a signed root with an inclusion proof.
    #[command(name = "verify-file")]
    VerifyFile(cmd::verify_file::Args),
    /// Compute a mergeable statistical profile of tabular data.
    Profile(cmd::profile::Args),
    /// Gate on drift and poisoning against a baseline profile.
    Drift(cmd::drift::Args),
    /// Scan exported audit logs, registry exports and inference logs for ML threats.
    Scan(cmd::scan::Args),
    /// Find code execution hidden in model files (pickle, PyTorch, joblib, numpy, Keras, GGUF, ONNX, TF) without loading them.
    Inspect(cmd::inspect::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(cmd::completions::Args),
    /// Print a man page (roff), or write them all with --dir.
    Man(cmd::man::Args),
}
