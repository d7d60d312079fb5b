//! `--search REGEX` (`--view search`): the events whose normalised fields match, in time
//! order, each with the fields that matched and its record reference (`--raw`: the
//! record). The regex is the user's, compiled by the `regex` crate (linear time, no
//! backtracking) under size limits ([`compile`]), so no pattern can hang the scan.

use super::rows::{Column, Kind, Rows};
use super::{event_row, Options, MAX_ROWS};
use crate::input::logs::Event;

/// Compiled-program and lazy-DFA cache limits: generous for any pattern a person types,
/// small enough that `(a{1000}){1000}` is refused instead of eating memory.
const SIZE_LIMIT: usize = 1 << 20;
const DFA_LIMIT: usize = 8 << 20;

pub fn compile(pattern: &str) -> crate::Result<regex::Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_LIMIT)
        .build()
        .map_err(|e| crate::Error::usage(format!("--search: {e}")))
}

/// The normalised fields searched, by name.
pub const FIELDS: &[&str] = &[
    "time",
    "source",
    "principal",
    "principal_type",
    "account",
    "action",
    "service",
    "resource",
    "region",
    "source_ip",
    "user_agent",
    "access_key",
    "error",
];

/// The searched fields of `e` (borrowed; `time` is the RFC 3339 text in `t`).
fn fields<'a>(e: &'a Event, t: &'a str) -> [(&'static str, Option<&'a str>); 13] {
    [
        ("time", Some(t).filter(|t| !t.is_empty())),
        ("source", Some(e.source.name())),
        ("principal", Some(&e.principal)),
        ("principal_type", Some(&e.principal_type)),
        ("account", Some(&e.account)),
        ("action", Some(&e.action)),
        ("service", Some(&e.service)),
        ("resource", Some(&e.resource)),
        ("region", e.region.as_deref()),
        ("source_ip", e.source_ip.as_deref()),
        ("user_agent", e.user_agent.as_deref()),
        ("access_key", e.access_key.as_deref()),
        ("error", e.error.as_deref()),
    ]
}

pub fn columns(raw: bool) -> Vec<Column> {
    let mut c = vec![
        Column::new("time", Kind::Time),
        Column::new("source", Kind::Text),
        Column::new("principal", Kind::Text),
        Column::new("action", Kind::Text),
        Column::new("resource", Kind::Text),
        Column::machine("region", Kind::Text),
        Column::new("source_ip", Kind::Text),
        Column::machine("user_agent", Kind::Text),
        Column::new("outcome", Kind::Text),
        Column::machine("error", Kind::Text),
        Column::new("matched", Kind::List),
        Column::new("location", Kind::Location),
    ];
    if raw {
        c.push(Column::new("raw", Kind::Raw));
    }
    c
}

pub fn build(events: &[Event], opts: &Options) -> Rows {
    let mut rows = Rows {
        columns: columns(opts.raw),
        ..Rows::default()
    };
    let Some(re) = &opts.search else {
        return rows;
    };
    let mut total = 0usize;
    for e in events {
        let t = e
            .time
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let hit: Vec<&str> = fields(e, &t)
            .iter()
            .filter(|(_, v)| v.is_some_and(|v| re.is_match(v)))
            .map(|(k, _)| *k)
            .collect();
        if hit.is_empty() {
            continue;
        }
        total += 1;
        if rows.rows.len() >= MAX_ROWS {
            continue;
        }
        let mut r = event_row(e, opts.raw);
        r.insert("matched".into(), hit.into());
        rows.rows.push(r);
    }
    rows.extra.insert(
        "search".into(),
        serde_json::json!({"regex": re.as_str(), "fields": FIELDS, "matched": total,
                           "listed": rows.rows.len()}),
    );
    if total > rows.rows.len() {
        rows.notes.push(format!(
            "{total} events match; the first {} listed",
            rows.rows.len()
        ));
    }
    rows
}
