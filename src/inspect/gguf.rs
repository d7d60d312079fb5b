//! GGUF (llama.cpp) metadata: the key/value header is parsed and every
//! `tokenizer.chat_template*` string is checked for Jinja sandbox escapes. The template is
//! rendered by `jinja2` (Python front ends) or minja/llama.cpp when the model is used for chat,
//! so a template that reaches `__class__`/`__globals__`/`__subclasses__` runs code there
//! (CVE-2024-34359, llama-cpp-python).

/// A chat template with what it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub key: String,
    pub offset: usize,
    /// `(pattern, why)` pairs found in the template.
    pub escapes: Vec<(&'static str, &'static str)>,
}

#[derive(Debug, Default)]
pub struct Header {
    pub version: u32,
    pub tensors: u64,
    pub kvs: u64,
    pub templates: Vec<Template>,
    /// Bytes of header parsed.
    pub end: usize,
}

const MAX_KV: u64 = 1 << 20;
const MAX_ARRAY: u64 = 1 << 28;

/// Jinja constructs that leave the template sandbox or reach Python objects.
const ESCAPES: &[(&str, &str)] = &[
    ("__class__", "reaches the Python class of a value"),
    ("__globals__", "reaches a function's module globals"),
    (
        "__subclasses__",
        "enumerates every loaded class (sandbox escape)",
    ),
    ("__mro__", "walks the class hierarchy (sandbox escape)"),
    ("__base__", "walks the class hierarchy (sandbox escape)"),
    (
        "__builtins__",
        "reaches the builtins (eval, exec, __import__)",
    ),
    ("__import__", "imports modules"),
    ("__init__", "reaches a constructor's globals"),
    ("__getattribute__", "dynamic attribute access"),
    ("import ", "imports a module or template"),
    ("os.", "uses the os module"),
    ("subprocess", "runs processes"),
    ("popen", "runs a shell command"),
    ("eval(", "evaluates code"),
    ("exec(", "executes code"),
    (
        "self._TemplateReference__context",
        "reaches the template context internals",
    ),
    (
        "cycler",
        "jinja2 global whose __init__ reaches Python globals",
    ),
    (
        "joiner",
        "jinja2 global whose __init__ reaches Python globals",
    ),
    ("namespace.__", "jinja2 namespace internals"),
    (
        "lipsum",
        "jinja2 global function whose __globals__ reach os",
    ),
    ("request.application", "Flask request globals"),
    ("config.items", "application configuration access"),
];

/// Patterns in `template` that escape the sandbox.
pub fn scan_template(t: &str) -> Vec<(&'static str, &'static str)> {
    let lower = t.to_ascii_lowercase();
    ESCAPES
        .iter()
        .filter(|(p, _)| lower.contains(&p.to_ascii_lowercase()))
        .copied()
        .collect()
}

struct R<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> R<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let left = (self.b.len() - self.pos) as u64;
        if n > left {
            return Err(format!(
                "truncated metadata at byte {} ({n} bytes wanted)",
                self.pos
            ));
        }
        let s = &self.b[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn string(&mut self) -> Result<&'a [u8], String> {
        let n = self.u64()?;
        self.take(n)
    }
    fn skip_value(&mut self, ty: u32, depth: u32) -> Result<(), String> {
        match ty {
            0 | 1 | 7 => {
                self.take(1)?;
            }
            2 | 3 => {
                self.take(2)?;
            }
            4..=6 => {
                self.take(4)?;
            }
            10..=12 => {
                self.take(8)?;
            }
            8 => {
                self.string()?;
            }
            9 => {
                if depth > 2 {
                    return Err("arrays nested too deep".into());
                }
                let et = self.u32()?;
                let n = self.u64()?;
                if n > MAX_ARRAY {
                    return Err(format!("array of {n} elements"));
                }
                let fixed = match et {
                    0 | 1 | 7 => Some(1),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    _ => None,
                };
                match fixed {
                    Some(w) => {
                        self.take(n.checked_mul(w).ok_or("array size overflows")?)?;
                    }
                    None => {
                        for _ in 0..n {
                            self.skip_value(et, depth + 1)?;
                        }
                    }
                }
            }
            t => return Err(format!("unknown value type {t}")),
        }
        Ok(())
    }
}

/// Parse the header from the first bytes of a GGUF file.
pub fn header(b: &[u8]) -> Result<Header, String> {
    let mut r = R { b, pos: 0 };
    if r.take(4)? != b"GGUF" {
        return Err("missing GGUF magic".into());
    }
    let mut h = Header {
        version: r.u32()?,
        ..Header::default()
    };
    match h.version {
        1 => return Err("GGUF version 1 is not supported".into()),
        2 | 3 => {}
        v => return Err(format!("unknown GGUF version {v}")),
    }
    h.tensors = r.u64()?;
    h.kvs = r.u64()?;
    if h.kvs > MAX_KV {
        return Err(format!("{} metadata entries", h.kvs));
    }
    for _ in 0..h.kvs {
        let key = String::from_utf8_lossy(r.string()?).into_owned();
        let ty = r.u32()?;
        if ty == 8 && key.starts_with("tokenizer.chat_template") {
            let at = r.pos;
            let v = r.string()?;
            let t = String::from_utf8_lossy(v);
            h.templates.push(Template {
                key: super::clean(&key),
                offset: at,
                escapes: scan_template(&t),
            });
        } else {
            r.skip_value(ty, 0)?;
        }
    }
    h.end = r.pos;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gguf(kvs: &[(&str, &str)]) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&0u64.to_le_bytes());
        v.extend_from_slice(&((kvs.len() + 1) as u64).to_le_bytes());
        // an array of strings first, as tokenizer.ggml.tokens is
        v.extend_from_slice(&(5u64).to_le_bytes());
        v.extend_from_slice(b"toks!");
        v.extend_from_slice(&9u32.to_le_bytes());
        v.extend_from_slice(&8u32.to_le_bytes());
        v.extend_from_slice(&2u64.to_le_bytes());
        for t in ["a", "b"] {
            v.extend_from_slice(&(t.len() as u64).to_le_bytes());
            v.extend_from_slice(t.as_bytes());
        }
        for (k, s) in kvs {
            v.extend_from_slice(&(k.len() as u64).to_le_bytes());
            v.extend_from_slice(k.as_bytes());
            v.extend_from_slice(&8u32.to_le_bytes());
            v.extend_from_slice(&(s.len() as u64).to_le_bytes());
            v.extend_from_slice(s.as_bytes());
        }
        v
    }

    #[test]
    fn chat_templates_are_checked() {
        let ok = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}";
        let bad = "{{ ''.__class__.__mro__[1].__subclasses__() }}";
        let h = header(&gguf(&[
            ("tokenizer.chat_template", ok),
            ("tokenizer.chat_template.tool_use", bad),
        ]))
        .unwrap();
        assert_eq!(h.templates.len(), 2);
        assert!(h.templates[0].escapes.is_empty());
        assert!(h.templates[1]
            .escapes
            .iter()
            .any(|(p, _)| *p == "__subclasses__"));
        let mut cut = gguf(&[("tokenizer.chat_template", ok)]);
        cut.truncate(cut.len() - 3);
        assert!(header(&cut).unwrap_err().contains("truncated"));
    }
}
