//! The rows a view builds: columns with how each is shown, the rows as JSON objects, and
//! notes for the reader. Data only; `report::rows` renders them as table, CSV or JSON Lines
//! and `report::views` as the JSON document.

use serde_json::{Map, Value};

/// How a column's values are shown in the table and CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// RFC 3339 UTC in the row; shown in the display offset.
    Time,
    Number,
    /// An array of strings, or of `{value, events}` objects; with `other_events` when capped.
    List,
    /// A `{file, line, record}` object, shown as `file:line#record`.
    Location,
    /// The raw record: compact JSON in CSV, an indented line under the row in the table.
    Raw,
}

#[derive(Debug, Clone)]
pub struct Column {
    /// The key in the row (and the CSV header).
    pub key: &'static str,
    pub kind: Kind,
    /// Shown in the table (CSV and JSON always carry every column).
    pub in_table: bool,
}

impl Column {
    pub const fn new(key: &'static str, kind: Kind) -> Column {
        Column {
            key,
            kind,
            in_table: true,
        }
    }
    /// A column carried by CSV and JSON only (the table would be too wide).
    pub const fn machine(key: &'static str, kind: Kind) -> Column {
        Column {
            key,
            kind,
            in_table: false,
        }
    }
}

/// A list of rows with their columns, plus notes for the reader (caps reached, hidden
/// findings), printed under the table and on stderr for the other formats.
#[derive(Debug, Default)]
pub struct Rows {
    pub columns: Vec<Column>,
    pub rows: Vec<Map<String, Value>>,
    pub notes: Vec<String>,
    /// Table layout: one block per row (`header: value` lines) instead of aligned columns,
    /// for rows with many list-valued columns (the principal view).
    pub cards: bool,
    /// Keys added to the JSON document beside the rows (the search's pattern and counts).
    pub extra: Map<String, Value>,
}
