//! Keras models: the architecture JSON (`config.json` in a Keras v3 `.keras` zip, the
//! `model_config` attribute of a legacy HDF5 `.h5`). A `Lambda` layer carries Python bytecode
//! (marshal, base64) or a function reference that is run when the model is deserialised; a
//! layer whose `module` is outside Keras (Keras 3 custom objects) imports and calls it.

use super::policy::{Class, Policy};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: &'static str,
    pub severity: crate::finding::Severity,
    /// JSON path of the layer (`config.layers[3]`).
    pub path: String,
    pub why: String,
}

const MAX_DEPTH: usize = 256;

/// Walk a Keras config.
pub fn scan_config(v: &Value, policy: &Policy) -> Vec<Hit> {
    let mut out = Vec::new();
    walk(v, "$", 0, policy, &mut out);
    out
}

fn walk(v: &Value, path: &str, depth: usize, policy: &Policy, out: &mut Vec<Hit>) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            let class = m.get("class_name").and_then(Value::as_str);
            if class == Some("Lambda") {
                let code = m
                    .get("config")
                    .and_then(|c| c.get("function"))
                    .map(|f| {
                        if f.is_object() || f.is_array() {
                            "bytecode"
                        } else {
                            "reference"
                        }
                    })
                    .unwrap_or("function");
                out.push(Hit {
                    id: "inspect.keras.lambda",
                    severity: crate::finding::Severity::Critical,
                    path: path.to_string(),
                    why: format!(
                        "Lambda layer: its Python {code} runs when the model is loaded (legacy loaders, or safe_mode=False)"
                    ),
                });
            }
            if let (Some(module), Some(name)) = (m.get("module").and_then(Value::as_str), class) {
                let module = super::clean(module);
                let name = super::clean(name);
                match policy.classify(&module, &name) {
                    Class::Allowed => {}
                    Class::Unknown => out.push(Hit {
                        id: "inspect.keras.custom_object",
                        severity: crate::finding::Severity::Medium,
                        path: path.to_string(),
                        why: format!("custom object {module}.{name}: imported and called when the model is loaded"),
                    }),
                    Class::Dangerous(why) => out.push(Hit {
                        id: "inspect.keras.dangerous_object",
                        severity: crate::finding::Severity::Critical,
                        path: path.to_string(),
                        why: format!("config object {module}.{name}: {why}"),
                    }),
                }
            }
            for (k, c) in m {
                walk(c, &format!("{path}.{k}"), depth + 1, policy, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                walk(c, &format!("{path}[{i}]"), depth + 1, policy, out);
            }
        }
        _ => {}
    }
}

/// Legacy HDF5 Keras files keep the architecture as a JSON string attribute
/// (`model_config`), stored uncompressed in an attribute message or the global heap. This
/// finds each `{"class_name": ...}` JSON document in the bytes and parses it; it is not an
/// HDF5 reader (chunked, compressed datasets are never needed for it).
pub fn find_json_configs(b: &[u8]) -> Vec<(usize, Value)> {
    let mut out = Vec::new();
    let needle = b"\"class_name\"";
    let mut i = 0;
    while let Some(p) = find(&b[i..], needle) {
        // The attribute string starts where the printable run holding the key starts.
        let hit = i + p;
        let mut run = hit;
        while run > i && b[run - 1] >= 0x20 {
            run -= 1;
        }
        let Some(open) = b[run..hit].iter().position(|&c| c == b'{') else {
            i = hit + 1;
            continue;
        };
        let start = run + open;
        // the document ends where braces balance (strings respected)
        let (mut depth, mut in_str, mut esc) = (0i64, false, false);
        let mut end = None;
        for (j, &c) in b[start..].iter().enumerate().take(64 << 20) {
            if in_str {
                match (esc, c) {
                    (true, _) => esc = false,
                    (false, b'\\') => esc = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                b'"' => in_str = true,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(start + j + 1);
                        break;
                    }
                }
                0 => break,
                _ => {}
            }
        }
        match end.and_then(|e| {
            serde_json::from_slice::<Value>(&b[start..e])
                .ok()
                .map(|v| (e, v))
        }) {
            Some((e, v)) => {
                out.push((start, v));
                i = e;
            }
            None => i = hit + 1,
        }
        if out.len() > 64 {
            break;
        }
    }
    out
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_and_custom_objects_are_found() {
        let cfg: Value = serde_json::from_str(
            r#"{"class_name":"Sequential","config":{"layers":[
              {"module":"keras.layers","class_name":"Dense","config":{"units":2}},
              {"module":"keras.layers","class_name":"Lambda","config":{"function":{"class_name":"__lambda__","config":{"code":"4wEAAA=="}}}},
              {"module":"mylab.layers","class_name":"Fancy","config":{}},
              {"module":"os","class_name":"system","config":{}}]}}"#,
        )
        .unwrap();
        let hits = scan_config(&cfg, &Policy::builtin());
        let ids: Vec<&str> = hits.iter().map(|h| h.id).collect();
        assert!(ids.contains(&"inspect.keras.lambda"), "{ids:?}");
        assert!(ids.contains(&"inspect.keras.custom_object"));
        assert!(ids.contains(&"inspect.keras.dangerous_object"));
        assert_eq!(
            hits.iter()
                .filter(|h| h.id == "inspect.keras.lambda")
                .count(),
            1
        );
        let h5 = [
            b"\x89HDF\r\n\x1a\n\0\0garbage".as_slice(),
            cfg.to_string().as_bytes(),
            b"\0\0",
        ]
        .concat();
        let found = find_json_configs(&h5);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 17);
    }
}
