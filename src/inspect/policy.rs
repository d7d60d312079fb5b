//! Which pickle globals are data, which are unknown, which are known-dangerous.
//!
//! The lists are data: the defaults are `globals.toml` beside this file (compiled in), and
//! `[inspect]` in mlguard.toml adds to them or replaces them. See docs/inspect.md.

use crate::error::{Error, Result};
use serde::Deserialize;

/// How a global is treated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// On the allowlist: ordinary ML data.
    Allowed,
    /// In neither list: a medium finding.
    Unknown,
    /// Known-dangerous: a critical finding, with the reason.
    Dangerous(String),
}

/// `[inspect]` in mlguard.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Extra allowlist patterns (`mypkg.models.*`).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Extra deny patterns (critical).
    #[serde(default)]
    pub deny: Vec<String>,
    /// Keep the built-in lists (default true); `false` starts from empty lists.
    #[serde(default = "yes")]
    pub default_policy: bool,
    /// Default for `--fail-on`.
    #[serde(default)]
    pub fail_on: Option<String>,
    /// Largest member decompressed from an archive, in bytes (default 4 GiB).
    #[serde(default)]
    pub max_member_bytes: Option<u64>,
}

fn yes() -> bool {
    true
}

impl Default for Section {
    fn default() -> Self {
        Section {
            allow: Vec::new(),
            deny: Vec::new(),
            default_policy: true,
            fail_on: None,
            max_member_bytes: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    allow: Vec<String>,
    deny: Vec<DenyGroup>,
    loaders: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyGroup {
    why: String,
    patterns: Vec<String>,
}

const DEFAULTS: &str = include_str!("globals.toml");

#[derive(Debug, Clone)]
struct Pat {
    text: String,
    prefix: bool,
}

impl Pat {
    fn parse(p: &str) -> std::result::Result<Pat, String> {
        let (body, prefix) = match p.strip_suffix('*') {
            Some(b) => (b, true),
            None => (p, false),
        };
        if body.contains('*') || body.is_empty() || body.contains(char::is_whitespace) {
            return Err(format!(
                "pattern {p:?}: expected module.name or a prefix ending in '*'"
            ));
        }
        Ok(Pat {
            text: body.to_string(),
            prefix,
        })
    }
    fn matches(&self, full: &str) -> bool {
        if self.prefix {
            full.starts_with(&self.text)
        } else {
            full == self.text
        }
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    allow: Vec<Pat>,
    deny: Vec<(Pat, String)>,
    loaders: Vec<Pat>,
}

/// Python 2 module names that `pickle` maps to Python 3 ones when loading (`_compat_pickle`).
fn py3_module(m: &str) -> &str {
    match m {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "UserDict" | "UserList" | "UserString" => "collections",
        "commands" => "subprocess",
        "httplib" => "http.client",
        "urllib2" => "urllib.request",
        "SocketServer" => "socketserver",
        "xmlrpclib" => "xmlrpc.client",
        "_winreg" => "winreg",
        other => other,
    }
}

impl Policy {
    /// The built-in policy plus `[inspect]` of the configuration.
    pub fn new(section: &Section, config_name: &std::path::Path) -> Result<Policy> {
        let d: Defaults = toml::from_str(DEFAULTS).expect("built-in globals.toml parses");
        let bad = |e: String| Error::input(config_name, format!("[inspect]: {e}"));
        let mut p = Policy {
            allow: Vec::new(),
            deny: Vec::new(),
            loaders: d
                .loaders
                .iter()
                .map(|s| Pat::parse(s).expect("built-in pattern"))
                .collect(),
        };
        if section.default_policy {
            for a in &d.allow {
                p.allow.push(Pat::parse(a).expect("built-in pattern"));
            }
            for g in &d.deny {
                for pat in &g.patterns {
                    p.deny
                        .push((Pat::parse(pat).expect("built-in pattern"), g.why.clone()));
                }
            }
        }
        for a in &section.allow {
            p.allow.push(Pat::parse(a).map_err(bad)?);
        }
        for a in &section.deny {
            p.deny.push((
                Pat::parse(a).map_err(bad)?,
                "denied by [inspect] deny in the configuration".into(),
            ));
        }
        Ok(p)
    }

    /// The built-in policy alone.
    pub fn builtin() -> Policy {
        Policy::new(&Section::default(), std::path::Path::new("mlguard.toml"))
            .expect("built-in policy")
    }

    /// Classify `module.name` as `find_class` would resolve it. A dotted `name` (protocol 4)
    /// is a getattr chain: every object it passes through is checked against the deny list
    /// (`torch.serialization` + `os.system` reaches `os.system`), and a chain through a
    /// dunder attribute (`__builtins__`, `__globals__`, `__class__`...) is dangerous.
    pub fn classify(&self, module: &str, name: &str) -> Class {
        let module = py3_module(module);
        let full = format!("{module}.{name}");
        if name.contains('.') {
            if let Some(d) = name
                .split('.')
                .find(|p| p.starts_with("__") && p.ends_with("__"))
            {
                return Class::Dangerous(format!(
                    "attribute chain through {d} (reaches arbitrary objects)"
                ));
            }
        }
        let parts: Vec<&str> = full.split('.').collect();
        let tails = if name.contains('.') {
            parts.len() - 1
        } else {
            1
        };
        for i in 0..tails {
            let cand = parts[i..].join(".");
            let cand = match cand.split_once('.') {
                Some((m, rest)) => format!("{}.{rest}", py3_module(m)),
                None => cand,
            };
            if let Some((_, why)) = self.deny.iter().find(|(p, _)| p.matches(&cand)) {
                return Class::Dangerous(why.clone());
            }
        }
        if self.allow.iter().any(|p| p.matches(&full)) {
            Class::Allowed
        } else {
            Class::Unknown
        }
    }

    /// Whether calling `full` unpickles its first argument.
    pub fn is_loader(&self, full: &str) -> bool {
        let (m, n) = full.rsplit_once('.').unwrap_or(("", full));
        let full = format!("{}.{n}", py3_module(m));
        self.loaders.iter().any(|p| p.matches(&full))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ml_globals_unknowns_and_dangerous_ones() {
        let p = Policy::builtin();
        assert_eq!(
            p.classify("torch._utils", "_rebuild_tensor_v2"),
            Class::Allowed
        );
        assert_eq!(p.classify("collections", "OrderedDict"), Class::Allowed);
        assert_eq!(
            p.classify("sklearn.ensemble._forest", "RandomForestClassifier"),
            Class::Allowed
        );
        assert_eq!(p.classify("__builtin__", "set"), Class::Allowed);
        assert_eq!(p.classify("mypkg", "Model"), Class::Unknown);
        assert!(matches!(p.classify("posix", "system"), Class::Dangerous(_)));
        assert!(matches!(
            p.classify("__builtin__", "eval"),
            Class::Dangerous(_)
        ));
        assert!(matches!(
            p.classify("cPickle", "loads"),
            Class::Dangerous(_)
        ));
        // getattr chains through a harmless module still reach the dangerous object
        assert!(matches!(
            p.classify("torch.serialization", "os.system"),
            Class::Dangerous(_)
        ));
        assert!(matches!(
            p.classify("torch", "_utils.__builtins__.eval"),
            Class::Dangerous(_)
        ));
        // deny wins over allow
        assert!(matches!(
            p.classify("sklearn.externals.joblib", "load"),
            Class::Dangerous(_)
        ));
        assert!(p.is_loader("cPickle.loads"));
    }

    #[test]
    fn config_adds_and_replaces() {
        let s = Section {
            allow: vec!["mypkg.*".into()],
            deny: vec!["torch.nn.modules.linear.Linear".into()],
            ..Section::default()
        };
        let p = Policy::new(&s, "m.toml".as_ref()).unwrap();
        assert_eq!(p.classify("mypkg.models", "Net"), Class::Allowed);
        assert!(matches!(
            p.classify("torch.nn.modules.linear", "Linear"),
            Class::Dangerous(_)
        ));
        let empty = Policy::new(
            &Section {
                default_policy: false,
                ..Section::default()
            },
            "m.toml".as_ref(),
        )
        .unwrap();
        assert_eq!(empty.classify("posix", "system"), Class::Unknown);
        let bad = Section {
            allow: vec!["a*b".into()],
            ..Section::default()
        };
        let e = Policy::new(&bad, "m.toml".as_ref())
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.toml") && e.contains("a*b"), "{e}");
    }
}
