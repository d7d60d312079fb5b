//! `mlguard verify`: the CI gate. Re-hash a tree and classify every file against a manifest
//! or a signed envelope.

use crate::cli::{Global, Partial};
use crate::error::{Error, IoContext};
use crate::integrity::manifest::Manifest;
use crate::integrity::verify::{verify_tree, FileResult, Status, VerifyOptions};
use crate::integrity::{dsse, model_signing};
use crate::report::text::Clean;
use crate::report::{self, Finding, Format, Input, Output, Report, Severity, Skipped};
use crate::{progress, Outcome, Result};
use serde_json::{Map, Value};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(group(
    // Exactly one of the two: a missing one is reported as `<--manifest|--signature>`.
    clap::ArgGroup::new("against").required(true).multiple(false)
))]
#[command(after_help = "\
Give exactly one of --manifest MANIFEST (unsigned, from 'mlguard hash') or --signature
SIGNED (a signed envelope or model-signing bundle, checked before the tree).

Examples:
  mlguard verify data/ --manifest data.manifest.json
  mlguard verify data/ --signature data.dsse.json --pubkey owner.pub
  mlguard verify data/ --signature data.dsse.json      (trusted keys from mlguard.toml [trust])
  mlguard verify data/ --manifest m.json --format junit -o verify.xml
  mlguard verify s3://bucket/data/ --manifest m.json --shard 3/8
                                 (check one eighth; combine the parts' exit codes, docs/scale.md)
  mlguard verify model/ --signature model.sig --pubkey key.pub    (OpenSSF model_signing bundle)
  mlguard verify model/ --signature model.sig --certificate-chain ca.pem   (certificate mode)

--signature takes an mlguard DSSE envelope or a Sigstore bundle written by OpenSSF
`model_signing sign key` (--pubkey) or `model_signing sign certificate` (--certificate-chain:
the chain must end at a self-signed root given there); told apart by its mediaType.
Sigstore keyless bundles are refused (exit 3). A bundle's files are checked by SHA-256, leaving out what the
signature's ignore_paths name, the git paths model_signing ignores, and the signature.

Statuses: ok, modified (with the first differing byte range when chunk hashes exist),
missing, added (fails unless --allow-added), moved (same content, new path), type_changed
(file <-> symlink, or a retargeted symlink), unreadable.
Something in the tree that is never opened (FIFO, socket, device) is listed as \"not read\":
the verdict is INCOMPLETE (exit 2) unless a difference fails it, or --allow-partial.
Exit codes: 0 verified, 1 the dataset differs, 2 usage or input error (including a malformed
or tampered manifest) or an incomplete check, 3 signature or trust failure.")]
pub struct Args {
    /// Dataset directory to check.
    pub path: PathBuf,
    /// Manifest written by `mlguard hash` (untrusted: validated before use).
    #[arg(short, long, value_name = "MANIFEST", group = "against")]
    pub manifest: Option<PathBuf>,
    /// DSSE envelope written by `mlguard sign` / `hash --sign`, or an OpenSSF model-signing
    /// bundle: its signatures are checked first (exit 3 on failure), then the tree.
    #[arg(long, value_name = "SIGNED", group = "against")]
    pub signature: Option<PathBuf>,
    /// Trusted public key (SPKI PEM: Ed25519, or ECDSA P-256/P-384 for model-signing
    /// bundles), repeatable [default: [trust] keys in mlguard.toml].
    #[arg(long, value_name = "PUB", requires = "signature")]
    pub pubkey: Vec<PathBuf>,
    /// How many distinct trusted keys must have signed [default: [trust] threshold, else 1].
    #[arg(long, value_name = "N", requires = "signature")]
    pub threshold: Option<usize>,
    /// Trusted root certificate(s), PEM, for a certificate-mode model-signing bundle
    /// (`model_signing sign certificate`); may also hold intermediates; repeatable
    /// [default: [trust] certificate_chain in mlguard.toml].
    #[arg(
        long,
        value_name = "CA.pem",
        requires = "signature",
        conflicts_with_all = ["pubkey", "threshold"]
    )]
    pub certificate_chain: Vec<PathBuf>,
    /// Files not in the manifest are reported but do not fail the gate.
    #[arg(long)]
    pub allow_added: bool,
    #[command(flatten)]
    pub partial: Partial,
    /// Check only shard INDEX (0-based) of COUNT: the manifest's and the tree's paths of that
    /// shard (chosen by a hash of the path, as `hash --shard`). Combine the parts' exit
    /// codes as docs/scale.md says.
    #[arg(long, value_name = "INDEX/COUNT", value_parser = crate::input::shard::parse_arg)]
    pub shard: Option<crate::input::shard::Shard>,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = crate::cli::formats(FORMATS))]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What `verify --format` renders (also `diff`'s).
pub(crate) const FORMATS: &[Format] = &[Format::Table, Format::Json, Format::Junit];

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    let format = args.format.check("verify", FORMATS)?;
    // The report must not overwrite the manifest, envelope or a key (an output inside the
    // tree is fine: the walk leaves it out).
    let mut inputs = g.config_input();
    inputs.push(Input::File(&args.path));
    inputs.extend(
        args.manifest
            .iter()
            .chain(&args.signature)
            .map(|p| Input::File(p)),
    );
    inputs.extend(
        args.pubkey
            .iter()
            .chain(&args.certificate_chain)
            .map(|p| Input::File(p)),
    );
    report::check_outputs(&[("-o", args.output.as_deref())], &inputs)?;
    let config = g.load_config()?;
    let mut skip: Vec<PathBuf> = args.output.iter().cloned().collect();
    let pb = progress::bytes(0, g.quiet);
    let (result, root) = match (&args.manifest, &args.signature) {
        (Some(m), _) => {
            let manifest = Manifest::read(m)?;
            manifest.require_whole(m)?;
            skip.push(m.clone());
            let opts = VerifyOptions {
                skip_paths: skip,
                shard: args.shard,
            };
            (
                verify_tree(&args.path, &manifest, &opts, &pb)?,
                manifest.root,
            )
        }
        (None, Some(s)) => {
            let bytes = std::fs::read(s).with_path(s)?;
            skip.push(s.clone());
            if is_manifest(&bytes) {
                return Err(Error::usage(format!(
                    "{} is a manifest (written by 'mlguard hash'), not a signed envelope: verify against it with --manifest {}, or sign it first with 'mlguard sign {} --key KEY -o SIGNED'",
                    Clean(&s.display().to_string()),
                    Clean(&s.display().to_string()),
                    Clean(&s.display().to_string())
                )));
            }
            if model_signing::is_bundle(&bytes) {
                if args.shard.is_some() {
                    return Err(Error::usage(
                        "--shard works with mlguard manifests, not with OpenSSF model-signing bundles",
                    ));
                }
                let trust = model_signing::TrustArgs {
                    pubkeys: &args.pubkey,
                    threshold: args.threshold,
                    certificate_chain: &args.certificate_chain,
                };
                let (st, signer) = model_signing::open_verified(s, &bytes, &trust, &config)?;
                g.note(format!(
                    "signature OK: {} (OpenSSF model-signing, {} files, {})",
                    s.display(),
                    st.resources.len(),
                    Clean(&signer)
                ));
                let r = model_signing::verify_tree(&args.path, &st, skip, &pb)?;
                (r, st.subject_digest)
            } else {
                if !args.certificate_chain.is_empty() {
                    return Err(Error::usage(format!(
                        "{} is an mlguard DSSE envelope: --certificate-chain applies to certificate-mode model-signing bundles only",
                        s.display()
                    )));
                }
                let (keys, t) = dsse::trusted_keys(&args.pubkey, args.threshold, &config)?;
                let env = dsse::parse_envelope(&bytes, s)?;
                let payload = dsse::verify_signatures(&env, &keys, t, s)?;
                let manifest = dsse::parse_statement(&payload, s)?;
                g.note(format!("signature OK: {}", s.display()));
                manifest.require_whole(s)?;
                let opts = VerifyOptions {
                    skip_paths: skip,
                    shard: args.shard,
                };
                (
                    verify_tree(&args.path, &manifest, &opts, &pb)?,
                    manifest.root,
                )
            }
        }
        (None, None) => {
            return Err(Error::usage(
                "give --manifest MANIFEST or --signature SIGNED",
            ))
        }
    };
    pb.finish_and_clear();
    for (p, why) in &result.skipped {
        g.note(format!("skipped {}: {why}", args.path.join(p).display()));
    }
    let mut report = results_report(
        Compared::TreeWithManifest,
        &result.files,
        result.ok,
        args.allow_added,
        format,
    );
    report.extra.insert("root".into(), root.into());
    if let Some(s) = &result.shard {
        g.note(format!(
            "shard {}/{}: checked this part's share of {} listed paths (combine the parts' exit codes: docs/scale.md)",
            s.index, s.count, s.listed
        ));
        report.extra.insert(
            "shard".into(),
            serde_json::to_value(s).unwrap_or(Value::Null),
        );
    }
    report.skipped = result
        .skipped
        .iter()
        .map(|(p, why)| Skipped::file(p.clone(), why.clone()))
        .collect();
    report.allow_partial = args.partial.allow_partial;
    write_report(&report, &result.files, format, args.output.as_ref())?;
    Ok(report.outcome())
}

/// An unsigned mlguard manifest (`hash` output: a `tool` of `mlguard ...`, a `root` and
/// `files`), given where a signed envelope was expected: a hint, not a signature failure.
fn is_manifest(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        tool: Option<String>,
        root: Option<serde::de::IgnoredAny>,
        files: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(bytes).is_ok_and(|p| {
        p.tool.is_some_and(|t| t.starts_with("mlguard")) && p.root.is_some() && p.files.is_some()
    })
}

/// Build the report shared by `verify` and `diff`: one finding per non-ok path, summary
/// counts per status, and the `files` list of every non-ok path. `files` are the non-ok
/// paths, `ok` the count of the others. The table prints neither the findings' evidence
/// nor the `files` list, so for `Format::Table` they are left out: on a manifest of a
/// million changed paths they would be most of the memory.
/// What a results report compared: a tree with a manifest (`verify`) or two manifests
/// (`diff`), which decides the statuses that cannot occur and are left out of the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compared {
    TreeWithManifest,
    TwoManifests,
}

pub(crate) fn results_report(
    compared: Compared,
    files: &[FileResult],
    ok: usize,
    allow_added: bool,
    format: Format,
) -> Report {
    let detailed = format != Format::Table;
    let findings: Vec<Finding> = files
        .iter()
        .filter(|f| f.status != Status::Ok)
        .map(|f| f.to_finding(allow_added, detailed))
        .collect();
    let command = match compared {
        Compared::TreeWithManifest => "verify",
        Compared::TwoManifests => "diff",
    };
    let mut report = Report::gate(command, findings, Severity::High);
    // Every difference fails (no --fail-on), so the outputs name no fail-on level.
    report.has_fail_on = false;
    let mut summary = Map::new();
    summary.insert("total".into(), (files.len() + ok).into());
    // `verify` never reports `removed`; `diff` compares two manifests, so nothing can be
    // `missing` from disk or `unreadable` there.
    let not_applicable: &[Status] = match compared {
        Compared::TwoManifests => &[Status::Missing, Status::Unreadable],
        Compared::TreeWithManifest => &[Status::Removed],
    };
    for s in Status::ALL {
        if not_applicable.contains(&s) {
            continue;
        }
        let n = match s {
            Status::Ok => ok,
            _ => files.iter().filter(|f| f.status == s).count(),
        };
        summary.insert(s.as_str().into(), n.into());
    }
    report.summary = summary;
    if !detailed {
        return report;
    }
    let listed: Vec<Value> = files
        .iter()
        .filter(|f| f.status != Status::Ok)
        .map(|f| serde_json::to_value(f).unwrap_or(Value::Null))
        .collect();
    report.extra.insert("files".into(), Value::Array(listed));
    report
}

/// The verify/diff table (`report::verify`) or the report layer's formats.
pub(crate) fn write_report(
    report: &Report,
    files: &[FileResult],
    format: Format,
    output: Option<&PathBuf>,
) -> Result<()> {
    let mut out = Output::open(output.map(|p| p.as_path()))?;
    match format {
        Format::Table => {
            let name = out.name();
            report::verify::write_table(report, files, &mut out).with_path(&name)?;
        }
        other => report::render(report, other, &mut out)?,
    }
    out.finish()
}
