//! `mlguard.toml`: thresholds, asset map, trust keys, inference schema.
//!
//! Found with `--config FILE`, else `./mlguard.toml` if it exists, else built-in defaults.
//! Each module owns its own section type (`[trust]`, `[drift]`, `[assets]`, `[inference]`,
//! ...) and asks for it with [`Config::section`]; an unknown key inside a section is an error
//! (a typo in a threshold must not silently fall back to a default).

use crate::error::{Error, IoContext, Result};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

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
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Error::input(&name, e.to_string().trim_end()))?;
        Ok(Config { path, table })
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
    fn syntax_errors_name_the_file() {
        let err = Config::parse("[trust\n", Some("x/mlguard.toml".into())).unwrap_err();
        assert!(err.to_string().starts_with("x/mlguard.toml"), "{err}");
    }
}
