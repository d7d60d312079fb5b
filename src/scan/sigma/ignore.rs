//! Rule hygiene: the `[sigma]` section of mlguard.toml and rule ignore lists.
//!
//! `[sigma] ignore = ["<rule id>", "path/glob/*.yml"]` and `ignore_files = ["list.txt"]`,
//! where a list file has Suzaku's format (`config/aws_ignore_rule_list.txt`): one rule id
//! per line, an optional `# reason` after it, blank lines and `#` comment lines skipped.

use crate::config::Config;
use crate::error::IoContext;
use crate::Result;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[sigma]` in mlguard.toml.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Rule ids, or globs over the rule file path relative to `--rules DIR` (an entry with
    /// `/`, `*`, `?`, `[` or a `.yml`/`.yaml` ending is a glob).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Ignore-list files (Suzaku's format), relative to the config file.
    #[serde(default)]
    pub ignore_files: Vec<PathBuf>,
    /// Most groups alive at once per correlation rule (default [`DEFAULT_MAX_GROUPS`]).
    pub max_groups: Option<usize>,
    /// Most base-rule matches kept for correlation per scan (default
    /// [`DEFAULT_MAX_BASE_MATCHES`]).
    pub max_base_matches: Option<usize>,
    /// Matches of one rule above which they become one aggregated finding (default
    /// [`super::aggregate::DEFAULT_AGGREGATE_ABOVE`]; at least 1).
    pub aggregate_above: Option<usize>,
}

/// Default cap on live groups per correlation.
pub const DEFAULT_MAX_GROUPS: usize = 100_000;
/// Default cap on base-rule matches kept for correlation (about 100 bytes each).
pub const DEFAULT_MAX_BASE_MATCHES: usize = 5_000_000;
/// Largest ignore-list file read.
const MAX_LIST_BYTES: u64 = 4 << 20;

/// Compiled ignore entries.
#[derive(Debug, Clone, Default)]
pub struct IgnoreList {
    /// id → (entry as written, reason).
    ids: BTreeMap<String, (String, String)>,
    globs: Vec<(globset::GlobMatcher, String)>,
}

fn is_glob(e: &str) -> bool {
    e.contains(['/', '*', '?', '['])
        || e.to_ascii_lowercase().ends_with(".yml")
        || e.to_ascii_lowercase().ends_with(".yaml")
}

impl IgnoreList {
    /// From `[sigma]` of `config` (files named there are read; an unreadable or malformed
    /// one is an error naming it and its line).
    pub fn from_config(config: &Config, s: &Settings) -> Result<IgnoreList> {
        let mut out = IgnoreList::default();
        for e in &s.ignore {
            out.add(e, "", "[sigma] ignore")
                .map_err(|m| config.invalid("sigma", m))?;
        }
        for f in &s.ignore_files {
            let p = config.resolve(f);
            out.add_file(&p)?;
        }
        Ok(out)
    }

    fn add(&mut self, entry: &str, reason: &str, from: &str) -> std::result::Result<(), String> {
        let e = entry.trim();
        if e.is_empty() {
            return Err(format!("{from}: empty entry"));
        }
        if is_glob(e) {
            let g =
                globset::Glob::new(e).map_err(|err| format!("{from}: bad glob '{e}': {err}"))?;
            self.globs.push((g.compile_matcher(), e.to_string()));
        } else {
            self.ids
                .insert(e.to_string(), (e.to_string(), reason.trim().to_string()));
        }
        Ok(())
    }

    /// Read a list file: `<id> # reason` per line.
    pub fn add_file(&mut self, p: &Path) -> Result<()> {
        use std::io::Read as _;
        let mut text = String::new();
        let f = std::fs::File::open(p).with_path(p)?;
        f.take(MAX_LIST_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| crate::Error::input(p, format!("not a text ignore list: {e}")))?;
        if text.len() as u64 > MAX_LIST_BYTES {
            return Err(crate::Error::input(
                p,
                format!("ignore list is larger than {MAX_LIST_BYTES} bytes"),
            ));
        }
        for (n, line) in text.lines().enumerate() {
            let (entry, reason) = line.split_once('#').unwrap_or((line, ""));
            if entry.trim().is_empty() {
                continue;
            }
            if entry.trim().contains(char::is_whitespace) {
                return Err(crate::Error::input_at_line(
                    p,
                    n as u64 + 1,
                    "expected one rule id or path glob per line (then an optional '# reason')",
                ));
            }
            self.add(entry, reason, &p.display().to_string())
                .map_err(|m| crate::Error::input_at_line(p, n as u64 + 1, m))?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.globs.is_empty()
    }

    /// The entry (and reason) that ignores rule `id`.
    pub fn id_entry(&self, id: &str) -> Option<(&str, &str)> {
        self.ids.get(id).map(|(e, r)| (e.as_str(), r.as_str()))
    }

    /// The glob that ignores the rule file at `rel` (relative to the rules directory).
    pub fn path_entry(&self, rel: &Path) -> Option<&str> {
        self.globs
            .iter()
            .find(|(g, _)| g.is_match(rel))
            .map(|(_, e)| e.as_str())
    }

    /// Every entry as written.
    pub fn entries(&self) -> impl Iterator<Item = &str> {
        self.ids
            .keys()
            .map(String::as_str)
            .chain(self.globs.iter().map(|(_, e)| e.as_str()))
    }
}
