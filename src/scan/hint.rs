//! Hints for a scan that read nothing: the most common cause is an inference request log
//! given to the audit-log scan (`mlguard scan queries.csv` instead of `mlguard scan --source
//! inference queries.csv`). The hint is added to the error; it never changes what is read.

use std::io::{BufRead, Read};
use std::path::Path;

/// Table extensions the audit-log scan never reads, but `--source inference` does.
const TABLES: [&str; 5] = [".csv", ".tsv", ".parquet", ".arrow", ".feather"];

/// `" (... use --source inference)"` when `file` looks like an inference request log: a
/// table (CSV/TSV/Parquet/Arrow, also `.gz`/`.zst`), or JSON Lines whose first record has
/// the default inference columns (`client_id` and `timestamp`, docs/inference.md). Empty
/// otherwise. Reads at most the first 64 KiB of the file.
pub fn inference(file: &Path) -> String {
    let name = file.to_string_lossy().to_ascii_lowercase();
    let base = name
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .to_string();
    let table = TABLES.iter().any(|e| base.ends_with(e));
    if table || first_record_is_a_query(file) {
        " (this looks like an inference request log: scan it with 'mlguard scan --source inference')"
            .into()
    } else {
        String::new()
    }
}

fn first_record_is_a_query(p: &Path) -> bool {
    let Ok(f) = std::fs::File::open(p) else {
        return false;
    };
    let mut line = String::new();
    if std::io::BufReader::new(f.take(64 << 10))
        .read_line(&mut line)
        .is_err()
    {
        return false;
    }
    match serde_json::from_str::<serde_json::Value>(line.trim()) {
        Ok(serde_json::Value::Object(o)) => {
            o.contains_key("client_id") && o.contains_key("timestamp")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_query_lines_get_the_hint_audit_logs_do_not() {
        assert!(inference(Path::new("logs/queries.csv")).contains("--source inference"));
        assert!(inference(Path::new("q.parquet")).contains("--source inference"));
        assert!(inference(Path::new("q.CSV.GZ")).contains("--source inference"));
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q.jsonl");
        std::fs::write(
            &q,
            "{\"timestamp\": 1, \"client_id\": \"a\", \"features\": [1]}\n",
        )
        .unwrap();
        assert!(inference(&q).contains("--source inference"));
        let ct = dir.path().join("trail.json");
        std::fs::write(&ct, "{\"Records\": []}\n").unwrap();
        assert_eq!(inference(&ct), "");
        assert_eq!(inference(&dir.path().join("missing.json")), "");
    }
}
