//! The `verify` / `diff` table: one line per path that is not ok, then the summary line
//! `verify: FAIL (12 files: 1 modified, 11 ok)`.

use super::text::Clean;
use super::{table, Report};
use crate::integrity::verify::{FileResult, Status};
use serde_json::Value;
use std::io::{self, Write};

pub fn write_table(report: &Report, files: &[FileResult], out: &mut dyn Write) -> io::Result<()> {
    for f in files.iter().filter(|f| f.status != Status::Ok) {
        writeln!(
            out,
            "{:<13} {}  ({})",
            f.status.as_str().to_uppercase(),
            Clean(&f.path),
            Clean(&f.describe())
        )?;
    }
    let counts: Vec<String> = report
        .summary
        .iter()
        .filter(|(k, v)| *k != "total" && v.as_u64().unwrap_or(0) > 0)
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    table::write_skipped(report, out)?;
    let verdict = report.verdict().word();
    let skipped = table::skipped_note(report);
    let skipped = if skipped.is_empty() {
        skipped
    } else {
        format!("; {skipped}")
    };
    writeln!(
        out,
        "{}: {verdict} ({} files: {}{skipped})",
        report.command,
        report
            .summary
            .get("total")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        }
    )
}
