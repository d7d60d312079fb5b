//! `--raw`: the raw records of the listed rows, read again from their files once the rows
//! are known, one file at a time. The scan itself keeps only normalised events (raw records
//! are released after the per-file detections), so `--raw` costs the memory of the listed
//! records, not of the whole input (measured in docs/scan.md: holding every record instead
//! multiplied the peak memory by four on a 150k-event month).
//!
//! A record is found again by its reference (line / record index in its file) and checked
//! against the row (same action): a file that changed since it was scanned gives a note
//! and no record, never a wrong one.

use super::rows::Rows;
use crate::input::logs::{self, Forced};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Fill `raw` of every row that names a location; notes for records not found again.
pub fn attach(rows: &mut Rows, source: Forced) {
    let mut by_file: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.rows.iter().enumerate() {
        if let Some(f) = r
            .get("location")
            .and_then(|l| l.get("file"))
            .and_then(Value::as_str)
        {
            by_file.entry(f.to_string()).or_default().push(i);
        }
    }
    let mut missing = 0usize;
    for (file, idx) in by_file {
        let pos = |i: usize| {
            let l = &rows.rows[i]["location"];
            (l["line"].as_u64(), l["record"].as_u64())
        };
        let mut want: HashMap<(Option<u64>, Option<u64>), Vec<usize>> = HashMap::new();
        for &i in &idx {
            want.entry(pos(i)).or_default().push(i);
        }
        let read = logs::read_file(Path::new(&file), source);
        let mut found = 0usize;
        for e in read.events {
            let Some(is) = want.get(&(e.at.line, e.at.index)) else {
                continue;
            };
            for &i in is {
                let same = match rows.rows[i].get("action").and_then(Value::as_str) {
                    Some(a) => a == e.action,
                    None => true,
                };
                if same {
                    rows.rows[i].insert("raw".into(), e.raw.clone());
                    found += 1;
                }
            }
        }
        missing += idx.len() - found;
    }
    if missing > 0 {
        rows.notes.push(format!(
            "{missing} raw record(s) not found again (the file changed or went away since it was scanned): raw is null"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::views::rows::{Column, Kind};
    use serde_json::{json, Map};

    fn row(file: &Path, record: u64, action: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("action".into(), action.into());
        m.insert(
            "location".into(),
            json!({"file": file.display().to_string(), "record": record}),
        );
        m.insert("raw".into(), Value::Null);
        m
    }

    #[test]
    fn records_are_found_again_by_reference_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("trail.json");
        let rec = |name: &str| {
            json!({"eventVersion": "1.08", "eventTime": "2026-03-01T10:00:00Z",
                   "eventSource": "s3.amazonaws.com", "eventName": name,
                   "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a"}})
        };
        std::fs::write(
            &f,
            json!({"Records": [rec("ListBuckets"), rec("GetObject")]}).to_string(),
        )
        .unwrap();
        let mut rows = Rows {
            columns: vec![Column::new("raw", Kind::Raw)],
            // Record 1 is GetObject; a row claiming DeleteBucket there (the file changed since
            // the scan) gets no record; record 7 does not exist.
            rows: vec![
                row(&f, 1, "GetObject"),
                row(&f, 1, "DeleteBucket"),
                row(&f, 7, "GetObject"),
            ],
            ..Rows::default()
        };
        attach(&mut rows, None);
        assert_eq!(rows.rows[0]["raw"]["eventName"], "GetObject");
        assert!(rows.rows[1]["raw"].is_null());
        assert!(rows.rows[2]["raw"].is_null());
        assert_eq!(rows.notes.len(), 1);
        assert!(rows.notes[0].starts_with("2 raw record(s) not found again"));
    }
}
