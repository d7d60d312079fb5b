//! The report layer: every command hands a [`Report`] (verdict + findings) to [`render`],
//! which writes it in the requested [`Format`]. A new detector never writes its own format.

pub mod checksums;
pub mod drift;
pub mod html;
pub mod junit;
pub mod ocsf;
pub mod profile;
pub mod rows;
pub mod sarif;
pub mod table;
pub mod text;
pub mod verify;
pub mod views;

// The findings live in their own module (the cores build them without the renderers);
// re-exported here for the renderers and the commands.
pub use crate::finding::{Coverage, Finding, InputWarning, Location, Severity};

use crate::error::{Error, IoContext, Result};
use serde_json::{Map, Value};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Report formats: how a gate's [`Report`] is written. Each command accepts the subset it
/// renders, and its `--format` help lists exactly that subset (`cli::formats`); the
/// check-file lines of `hash` are not report formats (`cmd::hash::HashFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable table (the default).
    Table,
    /// One JSON document (stable, documented in docs/).
    Json,
    /// One JSON finding per line.
    Jsonl,
    /// SARIF 2.1.0 for code-scanning dashboards.
    Sarif,
    /// JUnit XML for CI test dashboards.
    Junit,
    /// OCSF Detection Finding (class 2004), one JSON object per line.
    Ocsf,
    /// Comma-separated values with a header line (scan views).
    Csv,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Table,
        Format::Json,
        Format::Jsonl,
        Format::Sarif,
        Format::Junit,
        Format::Ocsf,
        Format::Csv,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Ocsf => "ocsf",
            Format::Csv => "csv",
        }
    }
    /// One line for `--format` help.
    pub fn help(self) -> &'static str {
        match self {
            Format::Table => "human-readable table (the default)",
            Format::Json => "one JSON document (stable, docs/output.md)",
            Format::Jsonl => "one JSON finding per line",
            Format::Sarif => "SARIF 2.1.0 for code-scanning dashboards",
            Format::Junit => "JUnit XML for CI test dashboards",
            Format::Ocsf => "OCSF Detection Finding (class 2004), one per line",
            Format::Csv => "comma-separated rows with a header line (scan views)",
        }
    }
    /// Usage error unless `self` is one of `allowed`.
    pub fn check(self, command: &str, allowed: &[Format]) -> Result<Format> {
        if allowed.contains(&self) {
            Ok(self)
        } else {
            let names: Vec<_> = allowed.iter().map(|f| f.name()).collect();
            Err(Error::usage(format!(
                "'mlguard {command}' does not support --format {} (supported: {})",
                self.name(),
                names.join(", ")
            )))
        }
    }
}

/// A gate's answer. One rule for every command ([`Report::verdict`]):
/// a finding at or above `fail_on` → `Fail` (exit 1); otherwise anything in `skipped` →
/// `Incomplete` (exit 2, findings still reported) unless `--allow-partial`; else `Pass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Incomplete,
}

impl Verdict {
    /// `PASS`, `FAIL`, `INCOMPLETE`: the word on the human summary line.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Incomplete => "INCOMPLETE",
        }
    }
}

/// What kind of input a [`Skipped`] entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SkipKind {
    /// A whole file (unreadable, undecodable, empty when data was expected, not a regular file).
    File,
    /// Some records or lines of a file (malformed JSON line, record of no known shape).
    Record,
    /// Some rows of a table (`--skip-bad-rows`).
    Rows,
    /// A detection rule that could not be loaded (`scan --rules`).
    Rule,
}

/// Something a gate did not read, whole or in part: *what*, *where*, *why*. Any entry makes
/// the verdict `incomplete` (exit 2) unless findings already fail the gate or the user gave
/// `--allow-partial`. Listed in every format (docs/output.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub what: SkipKind,
    /// The file, with line (1-based) or record (0-based) when known.
    #[serde(flatten)]
    pub at: Location,
    /// How many records/rows this entry stands for (1 for a file or a rule).
    pub count: u64,
    pub reason: String,
}

impl Skipped {
    pub fn file(file: impl Into<String>, reason: impl Into<String>) -> Skipped {
        Skipped {
            what: SkipKind::File,
            at: Location {
                file: file.into(),
                ..Location::default()
            },
            count: 1,
            reason: reason.into(),
        }
    }
    pub fn new(what: SkipKind, at: Location, count: u64, reason: impl Into<String>) -> Skipped {
        Skipped {
            what,
            at,
            count,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.what {
            SkipKind::File => "file",
            SkipKind::Record => "record(s)",
            SkipKind::Rows => "row(s)",
            SkipKind::Rule => "rule",
        };
        // Human text: the place and the reason come from input (see [`text`]).
        let reason = text::Clean(&self.reason);
        if self.count > 1 {
            write!(f, "{} {what} in {}: {reason}", self.count, self.at)
        } else {
            write!(f, "{what} {}: {reason}", self.at)
        }
    }
}

/// What a command concluded, ready to render.
#[derive(Debug, Clone)]
pub struct Report {
    /// Subcommand name (`verify`, `drift`, `scan`...).
    pub command: String,
    /// Findings at or above this severity fail the gate (shown in SARIF/JUnit levels).
    pub fail_on: Severity,
    /// Counts and headline numbers, rendered as the summary line / `summary` object.
    pub summary: Map<String, Value>,
    pub findings: Vec<Finding>,
    /// Which detections could run (scan): JSON `coverage`; the table lists the ones that
    /// could not, the other formats note them on stderr ([`Report::coverage_notes`]).
    pub coverage: Option<Vec<Coverage>>,
    /// Input warnings (scan): JSON `warnings`.
    pub warnings: Option<Vec<InputWarning>>,
    /// Records read after replacing invalid UTF-8 (scan): JSON `repaired`, when any.
    pub repaired: Option<Vec<InputWarning>>,
    /// Command-specific top-level JSON keys (e.g. verify's `files`).
    pub extra: Map<String, Value>,
    /// Inputs not read, whole or in part (see [`Verdict`]).
    pub skipped: Vec<Skipped>,
    /// `--allow-partial`: skipped inputs are reported but do not make the verdict incomplete
    /// (forensic use on damaged exports).
    pub allow_partial: bool,
    /// Whether the command has a `--fail-on` option. `verify` and `diff` fail on every
    /// difference and have none, so their reports carry no `fail_on` (JSON key, summary
    /// line): an output must not name an option the command does not take.
    pub has_fail_on: bool,
    /// Display threshold (`scan --min-severity`): findings below it are not listed in any
    /// format, but the verdict and the counts still include them. `Info` lists everything.
    pub min_severity: Severity,
}

impl Report {
    /// A report whose verdict is decided by `fail_on`: fail if any finding is at or above it.
    pub fn gate(command: &str, findings: Vec<Finding>, fail_on: Severity) -> Report {
        Report {
            command: command.to_string(),
            fail_on,
            summary: Map::new(),
            findings,
            coverage: None,
            warnings: None,
            repaired: None,
            extra: Map::new(),
            skipped: Vec::new(),
            allow_partial: false,
            has_fail_on: true,
            min_severity: Severity::Info,
        }
    }
    /// How many findings there are of each severity, worst first, leaving out the
    /// severities with none: what every format's summary counts.
    pub fn severity_counts(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .iter()
            .rev()
            .map(|s| {
                (
                    *s,
                    self.findings.iter().filter(|f| f.severity == *s).count(),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
    /// The one verdict rule for every gate (see [`Verdict`]).
    pub fn verdict(&self) -> Verdict {
        if self.findings.iter().any(|f| f.severity >= self.fail_on) {
            Verdict::Fail
        } else if !self.skipped.is_empty() && !self.allow_partial {
            Verdict::Incomplete
        } else {
            Verdict::Pass
        }
    }
    pub fn outcome(&self) -> crate::Outcome {
        match self.verdict() {
            Verdict::Pass => crate::Outcome::Pass,
            Verdict::Fail => crate::Outcome::Fail,
            Verdict::Incomplete => crate::Outcome::Incomplete,
        }
    }
    /// Total records/rows/files/rules behind the `skipped` entries.
    pub fn skipped_count(&self) -> u64 {
        self.skipped.iter().map(|s| s.count).sum()
    }
    /// Findings below [`Report::min_severity`]: counted, not listed.
    pub fn hidden(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity < self.min_severity)
            .count()
    }
    /// Findings listed (at or above [`Report::min_severity`]), worst first, then by id and
    /// subject (stable output).
    pub fn sorted_findings(&self) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity >= self.min_severity)
            .collect();
        v.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.subject.cmp(&b.subject))
        });
        v
    }
    /// The detections that could not run (or only partly), for every format but JSON and
    /// the table (which list them): one stderr note each.
    pub fn coverage_notes(&self) -> Vec<String> {
        self.blind_spots()
            .map(|c| format!("coverage: {} {}: {}", c.detection, c.status, c.reason))
            .collect()
    }
    /// Coverage entries that are not `active`.
    pub fn blind_spots(&self) -> impl Iterator<Item = &Coverage> {
        self.coverage.iter().flatten().filter(|c| !c.is_active())
    }
    /// The stable JSON document (`--format json`) as a value (tests, embedding).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.json_doc()).unwrap_or(Value::Null)
    }
    /// The JSON document borrowing the report: written straight to the output, so a large
    /// report (verify on a big manifest) is not copied into a second tree of values.
    fn json_doc(&self) -> JsonDoc<'_> {
        JsonDoc {
            tool: "mlguard",
            version: env!("CARGO_PKG_VERSION"),
            command: &self.command,
            verdict: self.verdict(),
            fail_on: self.has_fail_on.then(|| self.fail_on.as_str()),
            summary: Summary {
                counts: &self.summary,
                skipped: self.skipped_count(),
            },
            coverage: self.coverage.as_deref(),
            warnings: self.warnings.as_deref(),
            repaired: self.repaired.as_deref(),
            extra: &self.extra,
            allow_partial: self.allow_partial,
            skipped: &self.skipped,
            findings: self.sorted_findings(),
        }
    }
}

/// `--format json`, key order as documented in docs/output.md: tool, version, command,
/// verdict, fail_on (commands with `--fail-on` only), summary, coverage/warnings/repaired
/// (scan), the command's own keys, allow_partial, skipped, findings.
#[derive(serde::Serialize)]
struct JsonDoc<'a> {
    tool: &'static str,
    version: &'static str,
    command: &'a str,
    verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    fail_on: Option<&'static str>,
    summary: Summary<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<&'a [Coverage]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<&'a [InputWarning]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repaired: Option<&'a [InputWarning]>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
    allow_partial: bool,
    skipped: &'a [Skipped],
    findings: Vec<&'a Finding>,
}

/// The command's summary counts, then `skipped` (replacing a `skipped` count of its own).
struct Summary<'a> {
    counts: &'a Map<String, Value>,
    skipped: u64,
}

impl serde::Serialize for Summary<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let own = self.counts.iter().filter(|(k, _)| *k != "skipped");
        let mut m = s.serialize_map(None)?;
        for (k, v) in own {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("skipped", &self.skipped)?;
        m.end()
    }
}

/// Render `report` as `format` into `out`.
pub fn render(report: &Report, format: Format, out: &mut Output) -> Result<()> {
    let name = out.name();
    let out: &mut dyn Write = out;
    let res: io::Result<()> = match format {
        Format::Table => table::write(report, out),
        Format::Json => serde_json::to_writer_pretty(&mut *out, &report.json_doc())
            .map_err(io::Error::other)
            .and_then(|_| writeln!(out)),
        Format::Jsonl => (|| {
            for f in report.sorted_findings() {
                serde_json::to_writer(&mut *out, f).map_err(io::Error::other)?;
                writeln!(out)?;
            }
            Ok(())
        })(),
        Format::Sarif => sarif::write(report, out),
        Format::Junit => junit::write(report, out),
        Format::Ocsf => ocsf::write(report, out),
        // Rows, not findings: only the scan views (`scan --view`) render CSV.
        Format::Csv => {
            return Err(Error::usage(format!(
                "'mlguard {}' writes CSV only for a --view",
                report.command
            )))
        }
    };
    res.with_path(name)
}

/// Where results go: `-o FILE` or stdout. Progress and diagnostics never go here.
pub struct Output {
    path: Option<PathBuf>,
    inner: Box<dyn Write>,
}

impl Output {
    pub fn open(path: Option<&Path>) -> Result<Output> {
        let inner: Box<dyn Write> = match path {
            Some(p) if p.as_os_str() != "-" => {
                Box::new(io::BufWriter::new(std::fs::File::create(p).with_path(p)?))
            }
            _ => Box::new(io::BufWriter::new(io::stdout().lock())),
        };
        Ok(Output {
            path: path.map(Path::to_path_buf),
            inner,
        })
    }
    /// Flush, naming the file on failure (a full disk must not pass silently).
    pub fn finish(mut self) -> Result<()> {
        let name = self.name();
        match self.inner.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r.with_path(name),
        }
    }
    /// The `-o` path, or `<stdout>`: what an error writing the output names.
    pub fn name(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from("<stdout>"))
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The canonical form of a path that may not exist yet (an output about to be created):
/// its directory canonicalised, plus its name.
fn canonical_or_planned(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = std::fs::canonicalize(p) {
        return Some(c);
    }
    let name = p.file_name()?;
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = std::fs::canonicalize(dir.unwrap_or(Path::new("."))).ok()?;
    Some(dir.join(name))
}

/// What [`check_outputs`] compares an output against.
pub enum Input<'a> {
    /// A file that is read (a manifest, a profile, a log): the output may not be it.
    File(&'a Path),
    /// A path read recursively when it is a directory (profile, drift, scan and inspect
    /// inputs): the output may not be it, nor lie inside it, where it would be read back
    /// as input. `hash`/`verify` trees are not listed here: they leave an output inside the
    /// tree out of the walk on purpose.
    Tree(&'a Path),
}

/// Refuse, before anything is written, an output (`-o`, `--html`, ...) that is also an
/// input: creating it would truncate the manifest being verified or the data being
/// profiled. Paths are compared canonicalised, so `./m.json`, `dir/../m.json` and a
/// symlink to it are the same file. `outputs` are `(flag, path)`; `-` (stdout) and URLs are
/// never the same as a local input.
pub fn check_outputs(outputs: &[(&str, Option<&Path>)], inputs: &[Input]) -> Result<()> {
    // A local path (a `file://` URL is one); `-` is stdout, other URLs are object storage.
    let local = |p: &Path| -> Option<PathBuf> {
        let p = crate::input::remote::local_path(p);
        (p.as_os_str() != "-" && !crate::input::remote::is_url(&p)).then_some(p)
    };
    let inputs: Vec<(bool, &Path, PathBuf)> = inputs
        .iter()
        .filter_map(|i| {
            let (tree, given) = match i {
                Input::File(p) => (false, *p),
                Input::Tree(p) => (true, *p),
            };
            let canon = std::fs::canonicalize(local(given)?).ok()?;
            Some((tree && canon.is_dir(), given, canon))
        })
        .collect();
    let mut seen: Vec<(&str, PathBuf)> = Vec::new();
    for (flag, out) in outputs {
        let Some(out) = *out else { continue };
        let Some(canon) = local(out).and_then(|p| canonical_or_planned(&p)) else {
            continue;
        };
        for (tree, given, input) in &inputs {
            if canon == *input {
                return Err(Error::usage(format!(
                    "{flag} {} is also an input ({}): writing it would destroy what is read; write to another file",
                    text::path(out),
                    text::path(given)
                )));
            }
            if *tree && canon.starts_with(input) {
                return Err(Error::usage(format!(
                    "{flag} {} is inside the input directory {}, where it would be read as input; write it elsewhere",
                    text::path(out),
                    text::path(given)
                )));
            }
        }
        if let Some((other, _)) = seen.iter().find(|(_, c)| *c == canon) {
            return Err(Error::usage(format!(
                "{flag} and {other} name the same file {}",
                text::path(out)
            )));
        }
        seen.push((flag, canon));
    }
    Ok(())
}
