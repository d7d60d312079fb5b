//! The report layer: every command hands a [`Report`] (verdict + findings) to [`render`],
//! which writes it in the requested [`Format`]. A new detector never writes its own format.

pub mod finding;
pub mod junit;
pub mod ocsf;
pub mod sarif;
pub mod table;

pub use finding::{Finding, Location, Severity};

use crate::error::{Error, IoContext, Result};
use serde_json::{Map, Value};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Output formats. Each command documents which ones it accepts; asking for another is a
/// usage error (exit 2), never a silent fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
    /// b3sum check-file lines (hash only).
    B3sum,
    /// sha256sum check-file lines (hash only).
    Sha256sum,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Ocsf => "ocsf",
            Format::B3sum => "b3sum",
            Format::Sha256sum => "sha256sum",
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

/// What a command concluded, ready to render.
#[derive(Debug, Clone)]
pub struct Report {
    /// Subcommand name (`verify`, `drift`, `scan`...).
    pub command: String,
    pub verdict: Verdict,
    /// Findings at or above this severity fail the gate (shown in SARIF/JUnit levels).
    pub fail_on: Severity,
    /// Counts and headline numbers, rendered as the summary line / `summary` object.
    pub summary: Map<String, Value>,
    pub findings: Vec<Finding>,
    /// Command-specific top-level JSON keys (e.g. verify's `files`).
    pub extra: Map<String, Value>,
}

impl Report {
    /// A report whose verdict is decided by `fail_on`: fail if any finding is at or above it.
    pub fn gate(command: &str, findings: Vec<Finding>, fail_on: Severity) -> Report {
        let failed = findings.iter().any(|f| f.severity >= fail_on);
        Report {
            command: command.to_string(),
            verdict: if failed { Verdict::Fail } else { Verdict::Pass },
            fail_on,
            summary: Map::new(),
            findings,
            extra: Map::new(),
        }
    }
    pub fn outcome(&self) -> crate::Outcome {
        crate::Outcome::from_failed(self.verdict == Verdict::Fail)
    }
    /// Findings sorted worst first, then by id and subject (stable output).
    pub fn sorted_findings(&self) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self.findings.iter().collect();
        v.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.subject.cmp(&b.subject))
        });
        v
    }
    /// The stable JSON document (`--format json`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("tool".into(), "mlguard".into());
        m.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        m.insert("command".into(), self.command.clone().into());
        m.insert(
            "verdict".into(),
            serde_json::to_value(self.verdict).unwrap(),
        );
        m.insert("fail_on".into(), self.fail_on.as_str().into());
        m.insert("summary".into(), Value::Object(self.summary.clone()));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        let findings: Vec<Value> = self
            .sorted_findings()
            .into_iter()
            .map(|f| serde_json::to_value(f).expect("findings serialise"))
            .collect();
        m.insert("findings".into(), Value::Array(findings));
        Value::Object(m)
    }
}

/// Render `report` as `format` into `out`. Formats that are command-specific (b3sum lines,
/// OCSF) are rendered by their command; asking this function for them is a usage error.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> Result<()> {
    let res: io::Result<()> = match format {
        Format::Table => table::write(report, out),
        Format::Json => serde_json::to_writer_pretty(&mut *out, &report.to_json())
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
        other => {
            return Err(Error::usage(format!(
                "format {} is not available for '{}'",
                other.name(),
                report.command
            )))
        }
    };
    res.with_path("<output>")
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
    fn name(&self) -> PathBuf {
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
