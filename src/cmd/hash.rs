//! `mlguard hash`: walk a dataset tree, hash every file (BLAKE3, parallel), write a Merkle
//! manifest — or check-file lines for `b3sum --check` / `sha256sum -c`, or a signed envelope.

use crate::cli::Global;
use crate::error::{Error, IoContext};
use crate::input::source::WalkOptions;
use crate::integrity::hasher::{self, HashOptions};
use crate::integrity::manifest::{Manifest, ManifestOptions, Skipped};
use crate::integrity::{dsse, tree};
use crate::report::checksums::{self, ChecksumFormat};
use crate::report::{Input, Output};
use crate::{progress, Outcome, Result};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlguard hash data/ -o data.manifest.json          Merkle manifest (JSON)
  mlguard hash data/ --sign owner.key -o data.dsse.json
                                                    manifest signed as a DSSE/in-toto envelope
  mlguard hash data/ --format b3sum > data.b3       then: cd data && b3sum --check ../data.b3
  mlguard hash data/ --format sha256sum > data.sha  then: cd data && sha256sum -c ../data.sha
  mlguard hash s3://bucket/data/ --shard 3/8 -o part-3.json
                                                    one part of eight (0-based), then:
                                                    mlguard manifest merge part-*.json -o M

Symlinks are recorded (not followed) unless --follow-symlinks. FIFOs, sockets and devices are
never opened: they are reported and listed under \"skipped\". A .mlguardignore file (gitignore
syntax) at the root excludes paths. The manifest format is documented in docs/manifest.md;
sharding in docs/scale.md.")]
pub struct Args {
    /// Dataset directory to hash.
    pub path: PathBuf,
    /// Write the result here instead of stdout (a file inside PATH is not hashed).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value = "json")]
    pub format: HashFormat,
    /// Also record SHA-256 per file (implied by --format sha256sum).
    #[arg(long)]
    pub sha256: bool,
    /// Files larger than this also record per-chunk hashes, so verify can say where a file
    /// changed. A power of two, at least 1K.
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = parse_chunk_size)]
    pub chunk_size: u64,
    /// Skip paths matching GLOB, matched against the relative path and every path component
    /// (repeatable): --exclude '*.tmp' --exclude .git
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Hash what symlinks point to instead of recording the links (loops are an error).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Record unreadable files under "skipped" (with the reason) instead of failing.
    #[arg(long)]
    pub allow_unreadable: bool,
    /// Sign the manifest with this Ed25519 private key (PKCS#8 PEM); the output is a DSSE
    /// envelope (docs/signing.md).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Hash only shard INDEX (0-based) of COUNT of the listed files, chosen by a hash of
    /// each relative path; the output is a part for `mlguard manifest merge` (docs/scale.md).
    #[arg(long, value_name = "INDEX/COUNT", value_parser = crate::input::shard::parse_arg)]
    pub shard: Option<crate::input::shard::Shard>,
}

fn parse_chunk_size(s: &str) -> std::result::Result<u64, String> {
    hasher::check_chunk_size(hasher::parse_size(s)?)
}

/// `hash --format`: the manifest, or checksum lists for the coreutils-style tools. These are
/// not report formats (there is no verdict to render), so they are their own type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HashFormat {
    /// The Merkle manifest (JSON, docs/manifest.md).
    Json,
    /// b3sum check-file lines (`b3sum --check`).
    B3sum,
    /// sha256sum check-file lines (`sha256sum -c`; implies --sha256).
    Sha256sum,
}

impl HashFormat {
    /// The checksum list this format is, if it is one.
    fn checksums(self) -> Option<ChecksumFormat> {
        match self {
            HashFormat::Json => None,
            HashFormat::B3sum => Some(ChecksumFormat::B3sum),
            HashFormat::Sha256sum => Some(ChecksumFormat::Sha256sum),
        }
    }
}

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let format = args.format;
    if args.sign.is_some() && format != HashFormat::Json {
        return Err(Error::usage(
            "--sign writes an envelope: it cannot be combined with --format b3sum/sha256sum",
        ));
    }
    // An output inside the tree is left out of the walk; the tree itself, the signing key
    // and the configuration are never overwritten.
    let mut inputs = g.config_input();
    inputs.push(Input::File(&args.path));
    inputs.extend(args.sign.iter().map(|p| Input::File(p)));
    crate::report::check_outputs(&[("-o", args.output.as_deref())], &inputs)?;
    if args.shard.is_some() && (args.sign.is_some() || format != HashFormat::Json) {
        return Err(Error::usage(
            "--shard writes a manifest part (JSON) for `mlguard manifest merge`: sign or convert the merged manifest instead of a part",
        ));
    }
    let options = ManifestOptions {
        hash: "blake3".into(),
        sha256: args.sha256 || format == HashFormat::Sha256sum,
        chunk_size: args.chunk_size,
        excludes: args.exclude.clone(),
        follow_symlinks: args.follow_symlinks,
    };
    let walk_opts = WalkOptions {
        follow_symlinks: options.follow_symlinks,
        excludes: options.excludes.clone(),
        skip_paths: args.output.iter().cloned().collect(),
        shard: args.shard,
        ..WalkOptions::default()
    };
    let hash_opts = HashOptions {
        sha256: options.sha256,
        chunk_size: options.chunk_size,
    };
    let pb = progress::bytes(0, g.quiet);
    let hashed = tree::hash_tree(&args.path, &walk_opts, &hash_opts, &pb)?;
    pb.finish_and_clear();

    let mut skipped: Vec<Skipped> = Vec::new();
    for (p, why) in &hashed.skipped {
        g.note(format!("skipped {}: {why}", args.path.join(p).display()));
        skipped.push(Skipped {
            path: p.clone(),
            reason: why.clone(),
        });
    }
    for (p, msg) in &hashed.unreadable {
        eprintln!(
            "mlguard: warning: {}: {}",
            crate::report::text::path(&args.path.join(p)),
            crate::report::text::clean(msg)
        );
        skipped.push(Skipped {
            path: p.clone(),
            reason: format!("unreadable: {msg}"),
        });
    }
    if let Some((p, msg)) = hashed.unreadable.first() {
        if !args.allow_unreadable {
            return Err(Error::input(
                args.path.join(p),
                format!(
                    "cannot read: {msg} ({} unreadable file(s); --allow-unreadable records them as skipped instead)",
                    hashed.unreadable.len()
                ),
            ));
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let mut manifest = Manifest::new(options, hashed.entries)?;
    manifest.skipped = skipped;
    manifest.shard = hashed.shard.clone();

    let mut out = Output::open(args.output.as_deref())?;
    let name = args.output.clone().unwrap_or_else(|| "<stdout>".into());
    match format.checksums() {
        Some(f) => checksums::write(&manifest, f, &mut out, &mut |n| {
            if n.starts_with("warning: ") {
                // Always shown: an entry is missing from the list.
                eprintln!("mlguard: {n}");
            } else {
                g.note(n);
            }
        })
        .with_path(&name)?,
        None => {
            let bytes = match &args.sign {
                Some(key) => dsse::sign_manifest(&manifest, key, &subject_name(&args.path))?,
                None => {
                    let mut v =
                        serde_json::to_vec_pretty(&manifest).map_err(|e| Error::input(&name, e))?;
                    v.push(b'\n');
                    v
                }
            };
            out.write_all(&bytes).with_path(&name)?;
        }
    }
    out.finish()?;
    g.note(format!(
        "{}{} files, {} bytes, root {}",
        match &manifest.shard {
            Some(s) => format!(
                "shard {}/{} of {} listed paths: ",
                s.index, s.count, s.listed
            ),
            None => String::new(),
        },
        manifest.files.len(),
        manifest.files.iter().map(|f| f.size).sum::<u64>(),
        manifest.root
    ));
    Ok(Outcome::Pass)
}

/// The in-toto subject name for a dataset directory: its final path component.
pub(crate) fn subject_name(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "dataset".into())
}
