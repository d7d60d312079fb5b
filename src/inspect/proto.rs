//! A bounded protobuf wire-format walker, and the two protobuf model formats on top of it:
//! ONNX (`ModelProto`) and TensorFlow SavedModel (`saved_model.pb`). Only the fields that
//! decide whether loading runs code or touches files are read; no schema is compiled in.

/// One field: number and payload.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Iterate the top-level fields of a message. Malformed input ends with an error item.
pub fn fields(b: &[u8]) -> impl Iterator<Item = Result<(u32, Field<'_>), String>> + '_ {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= b.len() {
            return None;
        }
        let r = (|| {
            let key = varint(b, &mut pos)?;
            let num = (key >> 3) as u32;
            if num == 0 {
                return Err(format!("field number 0 at byte {pos}"));
            }
            let f = match key & 7 {
                0 => Field::Varint(varint(b, &mut pos)?),
                1 => {
                    skip(b, &mut pos, 8)?;
                    Field::Fixed
                }
                5 => {
                    skip(b, &mut pos, 4)?;
                    Field::Fixed
                }
                2 => {
                    let n = varint(b, &mut pos)?;
                    let start = pos;
                    skip(b, &mut pos, n)?;
                    Field::Bytes(&b[start..pos])
                }
                w => return Err(format!("wire type {w} at byte {pos}")),
            };
            Ok((num, f))
        })();
        if r.is_err() {
            failed = true;
        }
        Some(r)
    })
}

fn varint(b: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for i in 0..10 {
        let c = *b.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        v |= ((c & 0x7f) as u64) << (7 * i);
        if c & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint longer than 10 bytes".into())
}

fn skip(b: &[u8], pos: &mut usize, n: u64) -> Result<(), String> {
    if n > (b.len() - *pos) as u64 {
        return Err(format!("length {n} runs past the end"));
    }
    *pos += n as usize;
    Ok(())
}

/// All `Bytes` payloads of field `num`.
fn sub(b: &[u8], num: u32) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    for f in fields(b) {
        if let (n, Field::Bytes(x)) = f? {
            if n == num {
                out.push(x);
            }
        }
    }
    Ok(out)
}

fn string(b: &[u8], num: u32) -> Result<Option<String>, String> {
    Ok(sub(b, num)?
        .last()
        .map(|x| super::clean(&String::from_utf8_lossy(x))))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: &'static str,
    pub severity: crate::finding::Severity,
    pub why: String,
}

/// ONNX operator domains every runtime ships; others need a custom-op library loaded.
const ONNX_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "org.pytorch.aten",
];

/// Does this look like an ONNX ModelProto (ir_version varint first, a graph field)?
pub fn looks_like_onnx(b: &[u8]) -> bool {
    if b.first() != Some(&0x08) {
        return false;
    }
    let mut graph = false;
    for f in fields(b) {
        match f {
            Ok((7, Field::Bytes(_))) => graph = true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    graph
}

/// ONNX: custom operator domains (opset imports and nodes, in the graph and in functions),
/// and external-data locations that leave the model's directory.
pub fn onnx(b: &[u8]) -> Result<Vec<Hit>, String> {
    let mut hits = Vec::new();
    let mut domains = std::collections::BTreeSet::new();
    for opset in sub(b, 8)? {
        domains.insert(string(opset, 1)?.unwrap_or_default());
    }
    let mut graphs: Vec<&[u8]> = sub(b, 7)?;
    let functions = sub(b, 25)?;
    let mut nodes: Vec<&[u8]> = Vec::new();
    for f in &functions {
        nodes.extend(sub(f, 7)?);
    }
    let mut seen = 0usize;
    while let Some(g) = graphs.pop() {
        seen += 1;
        if seen > 10_000 {
            return Err("more than 10000 nested graphs".into());
        }
        for n in sub(g, 1)? {
            nodes.push(n);
            // subgraphs in attributes (If/Loop/Scan bodies): AttributeProto.g = 6, graphs = 11
            for a in sub(n, 5)? {
                graphs.extend(sub(a, 6)?);
                graphs.extend(sub(a, 11)?);
            }
        }
        for t in sub(g, 5)?.into_iter().chain(sub(g, 15)?) {
            for e in sub(t, 13)? {
                if string(e, 1)?.as_deref() == Some("location") {
                    let loc = string(e, 2)?.unwrap_or_default();
                    if escapes_dir(&loc) {
                        hits.push(Hit {
                            id: "inspect.onnx.external_data_escape",
                            severity: crate::finding::Severity::High,
                            why: format!("external data location {loc:?} leaves the model directory (reads any file the loader can)"),
                        });
                    }
                }
            }
        }
    }
    for n in nodes {
        if let Some(d) = string(n, 7)? {
            domains.insert(d);
        }
    }
    for d in domains {
        if !ONNX_DOMAINS.contains(&d.as_str()) {
            hits.push(Hit {
                id: "inspect.onnx.custom_domain",
                severity: crate::finding::Severity::Medium,
                why: format!("custom operator domain {d:?}: needs a custom-op library, native code the runtime loads"),
            });
        }
    }
    Ok(hits)
}

fn escapes_dir(loc: &str) -> bool {
    let p = std::path::Path::new(loc);
    p.is_absolute()
        || loc.starts_with('\\')
        || loc.contains(':')
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        || loc.split('\\').any(|c| c == "..")
}

/// TensorFlow ops that run Python or touch the filesystem when a graph executes.
const TF_OPS: &[(&str, crate::finding::Severity, &str)] = &[
    (
        "PyFunc",
        crate::finding::Severity::Critical,
        "runs a Python function",
    ),
    (
        "PyFuncStateless",
        crate::finding::Severity::Critical,
        "runs a Python function",
    ),
    (
        "EagerPyFunc",
        crate::finding::Severity::Critical,
        "runs a Python function",
    ),
    ("ReadFile", crate::finding::Severity::High, "reads a file"),
    ("WriteFile", crate::finding::Severity::High, "writes a file"),
    (
        "MatchingFiles",
        crate::finding::Severity::High,
        "lists files",
    ),
    (
        "DeleteFile",
        crate::finding::Severity::High,
        "deletes a file",
    ),
    (
        "PrintV2",
        crate::finding::Severity::Medium,
        "prints to a stream or file",
    ),
    (
        "ImmutableConst",
        crate::finding::Severity::Medium,
        "maps a file into memory",
    ),
    (
        "DebugIdentityV2",
        crate::finding::Severity::Medium,
        "writes debug dumps",
    ),
];

/// SavedModel: every NodeDef of every MetaGraph's GraphDef *and* its function library.
pub fn saved_model(b: &[u8]) -> Result<Vec<Hit>, String> {
    let mut hits = Vec::new();
    let mut ops = std::collections::BTreeMap::<String, u64>::new();
    for mg in sub(b, 2)? {
        for g in sub(mg, 2)? {
            let mut node_defs: Vec<&[u8]> = sub(g, 1)?;
            for lib in sub(g, 2)? {
                for f in sub(lib, 1)? {
                    node_defs.extend(sub(f, 3)?);
                }
            }
            for n in node_defs {
                if let Some(op) = string(n, 2)? {
                    *ops.entry(op).or_default() += 1;
                }
            }
        }
    }
    for (op, n) in ops {
        if let Some((_, sev, why)) = TF_OPS.iter().find(|(o, _, _)| *o == op) {
            hits.push(Hit {
                id: "inspect.tf.dangerous_op",
                severity: *sev,
                why: format!("graph op {op} {why} when the model runs ({n} node(s))"),
            });
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(fields: &[(u32, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for (n, b) in fields {
            v.push(((n << 3) | 2) as u8);
            v.push(b.len() as u8);
            v.extend_from_slice(b);
        }
        v
    }

    #[test]
    fn onnx_custom_domains_and_external_data() {
        let entry = msg(&[(1, b"location"), (2, b"../../etc/passwd")]);
        let tensor = msg(&[(13, &entry)]);
        let node = msg(&[(4, b"Evil"), (7, b"com.attacker")]);
        let graph = msg(&[(1, &node), (5, &tensor)]);
        let mut model = vec![0x08, 0x07];
        model.extend(msg(&[(7, &graph)]));
        assert!(looks_like_onnx(&model));
        let hits = onnx(&model).unwrap();
        let ids: Vec<&str> = hits.iter().map(|h| h.id).collect();
        assert!(ids.contains(&"inspect.onnx.custom_domain"));
        assert!(ids.contains(&"inspect.onnx.external_data_escape"));
        assert!(onnx(&model[..model.len() - 3]).is_err());
    }

    #[test]
    fn saved_model_function_library_is_read() {
        let node = msg(&[(1, b"n"), (2, b"ReadFile")]);
        let fdef = msg(&[(3, &node)]);
        let lib = msg(&[(1, &fdef)]);
        let graph = msg(&[(1, &msg(&[(1, b"c"), (2, b"Const")])), (2, &lib)]);
        let mg = msg(&[(2, &graph)]);
        let sm = msg(&[(2, &mg)]);
        let hits = saved_model(&sm).unwrap();
        assert_eq!(hits.len(), 1);
        assert!(hits[0].why.contains("ReadFile"));
    }
}
