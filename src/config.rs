//! `mlguard.toml`: thresholds, asset map, trust keys, inference schema.
//!
//! Found with `--config FILE`, else `./mlguard.toml` if it exists, else built-in defaults.
//! Each module owns its own section type (`[trust]`, `[drift]`, `[assets]`, `[inference]`,
//! ...) and asks for it with [`Config::section`]; an unknown key inside a section is an error
//! (a typo in a threshold must not silently fall back to a default).

use crate::error::{Error, IoContext, Result};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// Every section mlguard.toml may have (add yours here when a module reads a new one).
pub const SECTIONS: &[&str] = &[
    "assets",
    "drift",
    "environments",
    "identities",
    "inference",
    "input",
    "inspect",
    "scan",
    "sigma",
    "storage",
    "trust",
];

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from, if any (for error messages and relative paths).
    pub path: Option<PathBuf>,
    table: toml::Table,
}

impl Config {
    /// Load `explicit`, or `./mlguard.toml` when present, or defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = PathBuf::from("mlguard.toml");
                if !p.is_file() {
                    return Ok(Config::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).with_path(&path)?;
        Config::parse(&text, Some(path))
    }

    pub fn parse(text: &str, path: Option<PathBuf>) -> Result<Config> {
        let name = path
            .clone()
            .unwrap_or_else(|| PathBuf::from("mlguard.toml"));
        // One line, `file:line:column: message` (toml's own rendering is a multi-line
        // snippet of the file, which error output would show with escaped newlines).
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| match e.span() {
            Some(span) => {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                Error::input_at_line(
                    &name,
                    line,
                    format!("column {col}: {}", e.message().trim_end()),
                )
            }
            None => Error::input(&name, e.message().trim_end()),
        })?;
        // An unknown section is a typo ([drfit], [trsut]) that would otherwise silently leave
        // every threshold at its default: an error, like an unknown key inside a section.
        for (k, v) in &table {
            if !SECTIONS.contains(&k.as_str()) {
                let near = SECTIONS
                    .iter()
                    .min_by_key(|s| strsim::levenshtein(s, k))
                    .filter(|s| strsim::levenshtein(s, k) <= 2)
                    .map(|s| format!(" (did you mean [{s}]?)"))
                    .unwrap_or_default();
                return Err(Error::input(
                    &name,
                    format!(
                        "unknown section [{k}]{near}; known sections: {}",
                        SECTIONS.join(", ")
                    ),
                ));
            }
            if !v.is_table() {
                return Err(Error::input(
                    &name,
                    format!("'{k}' must be a section ([{k}]), not a value"),
                ));
            }
        }
        Ok(Config { path, table })
    }

    /// An error about a value of section `[name]`, located at the config file.
    pub fn invalid(&self, name: &str, msg: impl std::fmt::Display) -> Error {
        Error::input(self.display_path(), format!("[{name}] {msg}"))
    }

    /// Relocate a usage error raised while validating config values (a bad glob in
    /// `[assets]`, a bad `[scan] working_hours`) to the config file it came from.
    pub fn blame(&self, e: Error) -> Error {
        match (&self.path, e) {
            (Some(p), Error::Usage(msg)) => Error::input(p, msg),
            (_, e) => e,
        }
    }

    /// Deserialize section `name` (e.g. `"trust"`), or `T::default()` if absent.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        match self.table.get(name) {
            None => Ok(T::default()),
            Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| {
                Error::input(
                    self.display_path(),
                    format!("[{name}]: {}", e.to_string().trim_end()),
                )
            }),
        }
    }

    /// Resolve a path written in the config relative to the config file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        match self.path.as_ref().and_then(|c| c.parent()) {
            Some(dir) if p.is_relative() && !dir.as_os_str().is_empty() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }

    pub fn display_path(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from("mlguard.toml"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Default, Debug)]
    #[serde(deny_unknown_fields)]
    struct Trust {
        keys: Vec<String>,
        threshold: Option<usize>,
    }

    #[test]
    fn sections_default_and_reject_typos() {
        let c = Config::parse("[trust]\nkeys = [\"a.pub\"]\nthreshold = 2\n", None).unwrap();
        let t: Trust = c.section("trust").unwrap();
        assert_eq!(t.keys, vec!["a.pub"]);
        assert_eq!(t.threshold, Some(2));
        let absent: Trust = Config::default().section("trust").unwrap();
        assert!(absent.keys.is_empty());
        let bad = Config::parse("[trust]\nthreshhold = 2\n", None).unwrap();
        let err = bad.section::<Trust>("trust").unwrap_err().to_string();
        assert!(
            err.contains("mlguard.toml") && err.contains("threshhold"),
            "{err}"
        );
    }

    #[test]
    fn unknown_sections_are_errors_naming_the_file() {
        for (text, want) in [
            (
                "[drfit]\nks = 1\n",
                "unknown section [drfit] (did you mean [drift]?)",
            ),
            (
                "[trsut]\nkeys = []\n",
                "unknown section [trsut] (did you mean [trust]?)",
            ),
            ("[whatever]\n", "unknown section [whatever]; known sections"),
            ("drift = 3\n", "'drift' must be a section"),
        ] {
            let err = Config::parse(text, Some("c/ml.toml".into()))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("c/ml.toml: ") && err.contains(want),
                "{err}"
            );
        }
        for s in SECTIONS {
            assert!(Config::parse(&format!("[{s}]\n"), None).is_ok());
        }
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = Config::parse("[trust\n", Some("x/mlguard.toml".into())).unwrap_err();
        assert!(err.to_string().starts_with("x/mlguard.toml"), "{err}");
    }
}
