//! Value matching: Sigma wildcards, modifiers, and nested JSON field paths.

use ipnet::IpNet;
use regex::Regex;
use serde_json::Value;
use std::net::IpAddr;

/// One token of a compiled wildcard pattern. Literal characters are stored lowercased.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Lit(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, including none.
    Any,
}

/// A compiled Sigma string pattern (`*`, `?`, `\` escapes), matched case-insensitively
/// unless `cased`.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    toks: Vec<Tok>,
    cased: bool,
}

fn fold(c: char, cased: bool) -> char {
    if cased {
        return c;
    }
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    // Single-char lowercase mappings only; multi-char ones (rare) compare as-is.
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

impl Glob {
    /// Parse a Sigma value: `*` and `?` are wildcards, `\*`, `\?` and `\\` are literals, any
    /// other backslash is a literal backslash (Sigma spec, "Escaping").
    pub fn parse(s: &str, cased: bool) -> Glob {
        let mut toks = Vec::with_capacity(s.len());
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '\\' => match it.peek() {
                    Some(&n) if n == '*' || n == '?' || n == '\\' => {
                        toks.push(Tok::Lit(n));
                        it.next();
                    }
                    _ => toks.push(Tok::Lit('\\')),
                },
                '*' => {
                    if toks.last() != Some(&Tok::Any) {
                        toks.push(Tok::Any)
                    }
                }
                '?' => toks.push(Tok::One),
                c => toks.push(Tok::Lit(fold(c, cased))),
            }
        }
        Glob { toks, cased }
    }

    /// A pattern matching exactly `s` (no wildcard interpretation).
    pub fn literal(s: &str, cased: bool) -> Glob {
        Glob {
            toks: s.chars().map(|c| Tok::Lit(fold(c, cased))).collect(),
            cased,
        }
    }

    pub fn prefix_any(mut self) -> Glob {
        if self.toks.first() != Some(&Tok::Any) {
            self.toks.insert(0, Tok::Any);
        }
        self
    }

    pub fn suffix_any(mut self) -> Glob {
        if self.toks.last() != Some(&Tok::Any) {
            self.toks.push(Tok::Any);
        }
        self
    }

    /// Classic iterative wildcard matching with single-star backtracking: O(n·m) worst case,
    /// no allocation.
    pub fn is_match(&self, s: &str) -> bool {
        let t = &self.toks;
        let b = s.as_bytes();
        let (mut ti, mut si) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        loop {
            if si >= b.len() {
                while ti < t.len() && t[ti] == Tok::Any {
                    ti += 1;
                }
                return ti == t.len();
            }
            // Decode one char at si (s is valid UTF-8 and si is always on a boundary).
            let c = match s.get(si..).and_then(|r| r.chars().next()) {
                Some(c) => c,
                None => return false,
            };
            let clen = c.len_utf8();
            let ok = match t.get(ti) {
                Some(Tok::Lit(p)) => *p == fold(c, self.cased),
                Some(Tok::One) => true,
                Some(Tok::Any) => {
                    star = Some((ti, si));
                    ti += 1;
                    continue;
                }
                None => false,
            };
            if ok {
                ti += 1;
                si += clen;
            } else if let Some((st, ss)) = star {
                // Let the last `*` swallow one more char.
                let c0 = match s.get(ss..).and_then(|r| r.chars().next()) {
                    Some(c) => c,
                    None => return false,
                };
                let ns = ss + c0.len_utf8();
                star = Some((st, ns));
                ti = st + 1;
                si = ns;
            } else {
                return false;
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One compiled value of a detection item.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// Plain value or contains/startswith/endswith (as wildcards). `num` holds the value
    /// when the rule wrote a number, so that `0` matches `0`, `"0"` and `0.0`.
    Pattern {
        glob: Glob,
        num: Option<f64>,
    },
    Regex(Regex),
    Cidr(IpNet),
    Num(NumOp, f64),
    /// `null`: field absent or JSON null.
    Null,
    /// `|fieldref`: equal to the value of another field of the same record.
    FieldRef(String),
}

fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

impl Matcher {
    /// Does this matcher accept the scalar `v` (never an array: callers iterate)?
    /// `root` is the whole record (for `fieldref`), `aliases` the product's field mapping.
    pub fn matches_scalar(&self, v: &Value, root: &Value, aliases: &[(&str, &str)]) -> bool {
        // Azure REST API exports carry `LocalizableString`s (`{"value": .., "localizedValue":
        // ..}`) where diagnostic-settings exports carry the plain string: match its `value`.
        if let Value::Object(o) = v {
            if o.contains_key("localizedValue") {
                if let Some(inner) = o.get("value") {
                    if !inner.is_object() {
                        return self.matches_scalar(inner, root, aliases);
                    }
                }
            }
        }
        match self {
            Matcher::Null => v.is_null(),
            Matcher::Pattern { glob, num } => match v {
                Value::String(s) => {
                    glob.is_match(s)
                        || num.is_some_and(|n| s.trim().parse::<f64>().is_ok_and(|x| x == n))
                }
                Value::Number(n) => {
                    if let (Some(want), Some(have)) = (num, n.as_f64()) {
                        if *want == have {
                            return true;
                        }
                    }
                    glob.is_match(&n.to_string())
                }
                Value::Bool(b) => glob.is_match(if *b { "true" } else { "false" }),
                _ => false,
            },
            Matcher::Regex(re) => match v {
                Value::String(s) => re.is_match(s),
                Value::Number(n) => re.is_match(&n.to_string()),
                Value::Bool(b) => re.is_match(if *b { "true" } else { "false" }),
                _ => false,
            },
            Matcher::Cidr(net) => match v {
                Value::String(s) => parse_ip(s).is_some_and(|ip| net.contains(&ip)),
                _ => false,
            },
            Matcher::Num(op, want) => match num_of(v) {
                Some(have) => match op {
                    NumOp::Gt => have > *want,
                    NumOp::Gte => have >= *want,
                    NumOp::Lt => have < *want,
                    NumOp::Lte => have <= *want,
                },
                None => false,
            },
            Matcher::FieldRef(other) => {
                let mut hit = false;
                visit(root, other, aliases, &mut |o| {
                    hit = scalar_eq(v, o);
                    hit
                });
                hit
            }
        }
    }
}

/// Case-insensitive equality of two scalars (strings, numbers compared numerically).
fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            x.len() == y.len()
                && x.chars()
                    .zip(y.chars())
                    .all(|(p, q)| fold(p, false) == fold(q, false))
        }
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => match (num_of(a), num_of(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Parse an IP address leniently: zero-padded octets (`035.249.253.232`, as anonymised
/// CloudTrail has them) are read as decimal.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    let mut oct = [0u8; 4];
    let mut n = 0;
    for part in s.split('.') {
        if n == 4 || part.is_empty() || part.len() > 3 {
            return None;
        }
        oct[n] = part.parse::<u8>().ok()?;
        n += 1;
    }
    (n == 4).then(|| IpAddr::from(oct))
}

fn get_key<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        // Field names in exported logs vary in case (`Servicename` vs `serviceName`):
        // fall back to an ASCII case-insensitive key lookup.
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Call `f` on every scalar reachable by the dotted `path` from `v` (arrays are traversed
/// at every level, keys that themselves contain dots are tried whole first). Stops and
/// returns true as soon as `f` returns true. `f` never sees arrays; it sees objects only
/// when the path ends on one.
fn visit_path(v: &Value, path: &str, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|i| visit_path(i, path, f)),
        Value::Object(obj) => {
            if let Some(x) = get_key(obj, path) {
                if visit_leaf(x, f) {
                    return true;
                }
            }
            // Split at each dot: `a.b.c` → (`a`, `b.c`), (`a.b`, `c`).
            for (i, _) in path.match_indices('.') {
                let (head, rest) = (&path[..i], &path[i + 1..]);
                if let Some(x) = get_key(obj, head) {
                    if visit_path(x, rest, f) {
                        return true;
                    }
                }
            }
            false
        }
        _ => false,
    }
}

fn visit_leaf(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|i| visit_leaf(i, f)),
        other => f(other),
    }
}

/// Does the path resolve to anything at all (for `|exists` and `null`)?
pub(crate) fn resolves(root: &Value, path: &str, aliases: &[(&str, &str)]) -> bool {
    visit(root, path, aliases, &mut |_| true)
}

/// [`visit_path`] plus the product's field aliases, tried when the rule's own name does not
/// resolve in the record.
pub(crate) fn visit(
    root: &Value,
    path: &str,
    aliases: &[(&str, &str)],
    f: &mut dyn FnMut(&Value) -> bool,
) -> bool {
    let mut found = false;
    let hit = visit_path(root, path, &mut |x| {
        found = true;
        f(x)
    });
    if hit || found {
        return hit;
    }
    for (from, to) in aliases {
        if let Some(rest) = path.strip_prefix(from) {
            if rest.is_empty() {
                return visit_path(root, to, f);
            }
            if let Some(rest) = rest.strip_prefix('.') {
                if to.is_empty() {
                    return visit_path(root, rest, f);
                }
                // Rare (alias of a prefix): build the mapped path.
                let mapped = format!("{to}.{rest}");
                return visit_path(root, &mapped, f);
            }
        }
    }
    false
}

/// Every scalar string/number/bool in the record, for keyword (full-text) detections.
pub(crate) fn any_scalar(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|i| any_scalar(i, f)),
        Value::Object(obj) => obj.values().any(|i| any_scalar(i, f)),
        other => f(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn glob_wildcards_and_case() {
        let g = Glob::parse("Stop*ing", false);
        assert!(g.is_match("stoplogging"));
        assert!(g.is_match("STOPING"));
        assert!(!g.is_match("StopLoggingX"));
        let q = Glob::parse("a?c", false);
        assert!(q.is_match("abc"));
        assert!(q.is_match("aéc"));
        assert!(!q.is_match("ac"));
        assert!(!q.is_match("abbc"));
        assert!(Glob::parse("*", false).is_match(""));
        assert!(Glob::parse("*a*b*", false).is_match("xxAyyBzz"));
        assert!(!Glob::parse("*a*b*", false).is_match("xxbyya"));
        assert!(Glob::parse("ÄBC", false).is_match("äbc"));
    }

    #[test]
    fn glob_escapes() {
        let g = Glob::parse(r"a\*b", false);
        assert!(g.is_match("a*b"));
        assert!(!g.is_match("axb"));
        assert!(Glob::parse(r"a\?", false).is_match("a?"));
        assert!(!Glob::parse(r"a\?", false).is_match("ab"));
        assert!(Glob::parse(r"C:\\Windows\x", false).is_match(r"c:\windows\x"));
        assert!(Glob::parse(r"C:\Windows", false).is_match(r"C:\Windows"));
    }

    #[test]
    fn cased_glob() {
        assert!(!Glob::parse("Abc", true).is_match("abc"));
        assert!(Glob::parse("Abc", true).is_match("Abc"));
    }

    #[test]
    fn numbers_match_strings() {
        let m = Matcher::Pattern {
            glob: Glob::literal("0", false),
            num: Some(0.0),
        };
        let r = json!({});
        assert!(m.matches_scalar(&json!(0), &r, &[]));
        assert!(m.matches_scalar(&json!("0"), &r, &[]));
        assert!(m.matches_scalar(&json!(0.0), &r, &[]));
        assert!(!m.matches_scalar(&json!(1), &r, &[]));
        let s = Matcher::Pattern {
            glob: Glob::literal("2356", false),
            num: None,
        };
        assert!(s.matches_scalar(&json!(2356), &r, &[]));
    }

    #[test]
    fn ip_parsing_is_lenient() {
        assert_eq!(
            parse_ip("035.249.253.232"),
            Some("35.249.253.232".parse().unwrap())
        );
        assert!(parse_ip("1.2.3").is_none());
        assert!(parse_ip("::1").is_some());
    }

    #[test]
    fn paths_traverse_objects_arrays_and_dotted_keys() {
        let r = json!({
            "a": {"b": [{"c": "x"}, {"c": "y"}]},
            "k.with.dots": "z",
            "P": {"ServiceName": "s"}
        });
        let mut seen = Vec::new();
        visit(&r, "a.b.c", &[], &mut |v| {
            seen.push(v.clone());
            false
        });
        assert_eq!(seen, vec![json!("x"), json!("y")]);
        assert!(resolves(&r, "k.with.dots", &[]));
        assert!(resolves(&r, "p.servicename", &[]));
        assert!(!resolves(&r, "a.b.d", &[]));
        assert!(resolves(&r, "alias.c", &[("alias", "a.b")]));
        assert!(resolves(&r, "data.a.b.c", &[("data", "")]));
    }
}
