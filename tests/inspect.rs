//! `mlguard inspect` end to end: the real binary on picklescan's corpus (testdata/models,
//! MIT) and on malicious and benign artifacts built here, byte by byte (nothing is pickled by
//! Python and nothing is ever unpickled).

use crate::util as common;

use common::{bin, testdata};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

fn inspect(args: &[&str]) -> (i32, Value, String) {
    let out = bin()
        .arg("inspect")
        .args(args)
        .args(["--format", "json", "-q"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn worst(v: &Value) -> &str {
    let order = ["info", "low", "medium", "high", "critical"];
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .max_by_key(|s| order.iter().position(|o| o == s))
        .unwrap_or("none")
}

fn corpus(name: &str) -> String {
    testdata(&format!("models/picklescan/{name}"))
        .display()
        .to_string()
}

// ---- a small pickle writer (protocol 4 opcodes) ----

#[derive(Default, Clone)]
struct P(Vec<u8>);
impl P {
    fn new() -> P {
        P(b"\x80\x04".to_vec())
    }
    fn raw(mut self, b: &[u8]) -> P {
        self.0.extend_from_slice(b);
        self
    }
    fn s(mut self, s: &str) -> P {
        self.0.push(0x8c);
        self.0.push(s.len() as u8);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn global(self, m: &str, n: &str) -> P {
        self.s(m).s(n).raw(b"\x93")
    }
    /// `m.n(arg)`
    fn call1(self, m: &str, n: &str, arg: &str) -> P {
        self.global(m, n).s(arg).raw(b"\x85R")
    }
    fn stop(self) -> Vec<u8> {
        self.raw(b".").0
    }
}

fn payload() -> Vec<u8> {
    P::new().call1("os", "system", "id").stop()
}

/// A stored zip (what torch.save writes), with valid CRCs.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data) in entries {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let off = out.len() as u32;
        let hdr = |sig: &[u8], central: bool| {
            let mut h = sig.to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&[0, 0, 0, 0]); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                h.extend_from_slice(&[0; 10]); // comment len, disk, internal/external attrs
                h.extend_from_slice(&off.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(hdr(b"PK\x03\x04", false));
        out.extend_from_slice(data);
        cd.extend(hdr(b"PK\x01\x02", true));
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A benign state dict: OrderedDict of one float tensor with a persistent storage id.
fn state_dict() -> Vec<u8> {
    P(b"\x80\x02".to_vec())
        .raw(b"ccollections\nOrderedDict\nq\x00)Rq\x01")
        .s("weight")
        .raw(b"ctorch._utils\n_rebuild_tensor_v2\nq\x02((")
        .s("storage")
        .raw(b"ctorch\nFloatStorage\nq\x03")
        .s("0")
        .s("cpu")
        .raw(b"K\x04tq\x04QK\x00K\x04\x85K\x01\x85\x89h\x00)Rtq\x05Rq\x06s")
        .stop()
}

fn npy(descr: &str, body: &[u8]) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}");
    while (h.len() + 11) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    v.extend_from_slice(body);
    v
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

// ---- picklescan's corpus ----

#[test]
fn every_malicious_corpus_file_is_flagged_high_or_critical() {
    let dir = testdata("models/picklescan");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let malicious = name.starts_with("malicious")
            || name == "broken_model.pkl"
            || name == "pytorch_magic_bypass.pt"
            || name == "sys_module_override_sploit.pkl";
        if !malicious {
            continue;
        }
        let (code, v, err) = inspect(&[p.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}: {err}");
        let w = worst(&v);
        assert!(w == "critical" || w == "high", "{name}: worst {w}");
        checked += 1;
    }
    assert_eq!(checked, 38);
}

/// 7z: picklescan's `malicious1.7z` (LZMA2) is read and its pickle flagged in the member;
/// a stored 7z built here with a benign pickle passes and with a payload fails; a
/// truncated or unsupported 7z is incomplete, never a pass.
#[test]
fn sevenz_members_are_inspected() {
    let (code, v, err) = inspect(&[&corpus("malicious1.7z")]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["files"][0]["format"], "7z");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "inspect.pickle.dangerous_global")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(f["evidence"]["global"], "builtins.eval");
    assert_eq!(f["severity"], "critical");
    assert!(
        f["location"]["member"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{f}"
    );
    let t = tempfile::tempdir().unwrap();
    let good = write(
        t.path(),
        "good.7z",
        &stored_7z("w/model.pkl", &state_dict()),
    );
    let (code, v, err) = inspect(&[good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err} {v}");
    assert_eq!(v["files"][0]["format"], "7z");
    let bad = write(
        t.path(),
        "bad.bin",
        &stored_7z(
            "x/evil.pkl",
            b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.",
        ),
    );
    let (code, v, _) = inspect(&[bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(worst(&v), "critical");
    assert_eq!(v["findings"][0]["location"]["member"], "x/evil.pkl");
    // Truncated: the header is past the end.
    let all = std::fs::read(corpus("malicious1.7z")).unwrap();
    let cut = write(t.path(), "cut.7z", &all[..all.len() - 20]);
    let (code, v, _) = inspect(&[cut.to_str().unwrap()]);
    assert_eq!(code, 2, "{v}");
    assert!(
        v["skipped"][0]["reason"].as_str().unwrap().contains("7z"),
        "{v}"
    );
    // An unsupported coder (PPMd, id 030401) is a problem for its member.
    let mut ppmd = stored_7z("m.pkl", &state_dict());
    let at = ppmd.len() - 1;
    let pos = ppmd[..at]
        .windows(4)
        .rposition(|w| w == [0x01, 0x01, 0x00, 0x0c])
        .unwrap();
    ppmd[pos + 2] = 0x07; // coder id Copy -> unknown 07
    let p = write(t.path(), "odd.7z", &ppmd);
    let (code, v, _) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 2, "{v}");
    assert!(
        v["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not supported"),
        "{v}"
    );
}

/// A 7z archive with one stored (Copy) file, laid out as 7-Zip writes it.
fn stored_7z(name: &str, content: &[u8]) -> Vec<u8> {
    fn num(v: &mut Vec<u8>, n: u64) {
        // 7z numbers: small ones in one byte, else 0xff + 8 bytes (always valid).
        if n < 0x80 {
            v.push(n as u8);
        } else {
            v.push(0xff);
            v.extend(n.to_le_bytes());
        }
    }
    let mut h = vec![0x01, 0x04, 0x06, 0x00, 0x01, 0x09];
    num(&mut h, content.len() as u64);
    h.extend([0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x01, 0x00, 0x0c]);
    num(&mut h, content.len() as u64);
    h.extend([0x00, 0x00]);
    let mut names = vec![0u8];
    for u in name.encode_utf16().chain([0]) {
        names.extend(u.to_le_bytes());
    }
    h.extend([0x05, 0x01, 0x11]);
    num(&mut h, names.len() as u64);
    h.extend(&names);
    h.extend([0x00, 0x00]);
    let mut v = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    v.extend([0u8; 4]);
    v.extend((content.len() as u64).to_le_bytes());
    v.extend((h.len() as u64).to_le_bytes());
    v.extend([0u8; 4]);
    v.extend(content);
    v.extend(&h);
    v
}

#[test]
fn benign_corpus_files_pass_and_non_pickles_are_not_flagged() {
    for name in [
        "benign0_v0.pkl",
        "benign0_v3.pkl",
        "benign0_v4.pkl",
        "new_pytorch_model.bin",
        "pytorch_model.bin",
        "not_a_pickle.bin",
        "bad_pytorch.pt",
    ] {
        let (code, v, err) = inspect(&[&corpus(name)]);
        assert_eq!(code, 0, "{name}: {err}");
        assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{name}: {v}");
    }
    let (_, v, _) = inspect(&[&corpus("new_pytorch_model.bin")]);
    assert_eq!(v["files"][0]["format"], "pytorch-zip");
    let (_, v, _) = inspect(&[&corpus("pytorch_model.bin")]);
    assert_eq!(v["files"][0]["format"], "pytorch-legacy");
    let (_, v, _) = inspect(&[&corpus("not_a_pickle.bin")]);
    assert_eq!(v["files"][0]["format"], "other");
}

#[test]
fn findings_name_file_member_offset_global_and_tags() {
    let (code, v, _) = inspect(&[&corpus("malicious1_central_directory.zip")]);
    assert_eq!(code, 1);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "inspect.pickle.dangerous_global")
        .unwrap();
    assert_eq!(f["evidence"]["global"], "builtins.eval");
    assert_eq!(f["location"]["member"], "data.pkl");
    assert!(f["location"]["offset"].as_u64().is_some());
    assert!(f["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("malicious1_central_directory.zip"));
    let tags: Vec<&str> = f["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tags.contains(&"atlas:AML.T0010"), "{tags:?}");
    // the local header names the member differently: reported
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "inspect.zip.name_mismatch"));
}

#[test]
fn unreadable_content_is_incomplete_never_a_pass() {
    let (code, v, err) = inspect(&[&corpus("benign_password_protected.zip")]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(v["verdict"], "incomplete");
    assert!(v["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("encrypted"));
    assert_eq!(v["skipped"][0]["member"], "test.txt");
    assert_eq!(v["summary"]["skipped"], 1);
    // --allow-partial lets it pass, still listed
    let (code, v, _) = inspect(&[&corpus("benign_password_protected.zip"), "--allow-partial"]);
    assert_eq!(code, 0);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 1);
    // a truncated benign pickle
    let t = tempfile::tempdir().unwrap();
    let sd = state_dict();
    let p = write(t.path(), "cut.pkl", &sd[..sd.len() - 9]);
    // the malformed-pickle finding (medium) fails the default gate; above it, incomplete
    assert_eq!(inspect(&[p.to_str().unwrap()]).0, 1);
    let (code, v, _) = inspect(&[p.to_str().unwrap(), "--fail-on", "high"]);
    assert_eq!(code, 2);
    assert!(v["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("pickle stops before its end"));
    assert!(v["skipped"][0]["offset"].as_u64().is_some());
}

#[test]
fn directory_of_corpus_reports_every_file_and_fails() {
    let (code, v, _) = inspect(&[testdata("models/picklescan").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["files"], 48);
    assert_eq!(v["command"], "inspect");
    assert_eq!(v["verdict"], "fail");
}

// ---- artifacts built here ----

#[test]
fn pytorch_zip_under_any_directory_and_extension_is_inspected() {
    let t = tempfile::tempdir().unwrap();
    let z = zip(&[
        ("innocent_name/data.pkl", &payload()),
        ("innocent_name/data/0", &[0u8; 16]),
        ("innocent_name/version", b"3\n"),
    ]);
    let p = write(t.path(), "weights.safetensors", &z);
    let (code, v, _) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "pytorch-zip");
    assert_eq!(
        v["findings"][0]["location"]["member"],
        "innocent_name/data.pkl"
    );
    assert_eq!(v["findings"][0]["severity"], "critical");
    // the benign equivalent passes, storages are not read as pickles
    let z = zip(&[
        ("archive/data.pkl", &state_dict()),
        ("archive/data/0", &[0x80u8, 0x02, 0, 0, 0, 0, 0, 0]),
        ("archive/version", b"3\n"),
    ]);
    let p = write(t.path(), "model.pt", &z);
    let (code, v, err) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 0, "{v} {err}");
}

#[test]
fn npy_npz_object_arrays_and_compressed_joblib() {
    let t = tempfile::tempdir().unwrap();
    let bad = write(t.path(), "a.npy", &npy("|O", &payload()));
    let (code, v, _) = inspect(&[bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(worst(&v), "critical");
    let good = npy("<f8", &[0u8; 8]);
    let p = write(t.path(), "b.npy", &good);
    assert_eq!(inspect(&[p.to_str().unwrap()]).0, 0);
    let z = zip(&[("x.npy", &good), ("y.npy", &npy("|O", &payload()))]);
    let p = write(t.path(), "c.npz", &z);
    let (code, v, _) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "npz");
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["location"]["member"] == "y.npy!(object array)"));
    // joblib.dump(..., compress=3) is a zlib stream of the pickle
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&payload()).unwrap();
    let p = write(t.path(), "model.joblib", &enc.finish().unwrap());
    let (code, v, _) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["findings"][0]["location"]["member"], "(zlib)");
}

#[test]
fn fail_on_and_config_allowlist_decide_unknown_globals() {
    let t = tempfile::tempdir().unwrap();
    let p = write(
        t.path(),
        "custom.pkl",
        &P::new().global("mylab.models", "Net").raw(b")R").stop(),
    );
    let ps = p.to_str().unwrap();
    let (code, v, _) = inspect(&[ps]);
    assert_eq!(code, 1);
    assert_eq!(v["findings"][0]["id"], "inspect.pickle.unknown_global");
    assert_eq!(v["findings"][0]["severity"], "medium");
    assert_eq!(inspect(&[ps, "--fail-on", "high"]).0, 0);
    let cfg = write(
        t.path(),
        "mlguard.toml",
        b"[inspect]\nallow = [\"mylab.*\"]\n",
    );
    let (code, v, _) = inspect(&[ps, "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    let bad = write(t.path(), "bad.toml", b"[inspect]\nallw = []\n");
    let (code, _, err) = inspect(&[ps, "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("allw"), "{err}");
}

#[test]
fn sarif_and_table_outputs() {
    let out = bin()
        .args(["inspect", &corpus("malicious1.zip"), "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "inspect.pickle.dangerous_global");
    assert_eq!(r["level"], "error");
    assert!(r["locations"][0]["logicalLocations"][0]["name"]
        .as_str()
        .unwrap()
        .starts_with("data.pkl@"));
    let out = bin()
        .args(["inspect", &corpus("malicious2_v0.pkl")])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("critical") && s.contains("posix.system"), "{s}");
    assert!(s.contains("verdict: FAIL"), "{s}");
    let out = bin()
        .args(["inspect", &corpus("malicious2_v0.pkl"), "--format", "junit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

// ---- Keras, HDF5, GGUF, ONNX, SavedModel ----

fn pb(fields: &[(u32, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (n, b) in fields {
        v.push(((n << 3) | 2) as u8);
        let mut len = b.len();
        loop {
            let c = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                v.push(c);
                break;
            }
            v.push(c | 0x80);
        }
        v.extend_from_slice(b);
    }
    v
}

fn gguf(template: &str) -> Vec<u8> {
    let mut v = b"GGUF".to_vec();
    v.extend_from_slice(&3u32.to_le_bytes());
    v.extend_from_slice(&1u64.to_le_bytes());
    v.extend_from_slice(&2u64.to_le_bytes());
    let kv = |v: &mut Vec<u8>, k: &str, s: &str| {
        v.extend_from_slice(&(k.len() as u64).to_le_bytes());
        v.extend_from_slice(k.as_bytes());
        v.extend_from_slice(&8u32.to_le_bytes());
        v.extend_from_slice(&(s.len() as u64).to_le_bytes());
        v.extend_from_slice(s.as_bytes());
    };
    kv(&mut v, "general.architecture", "llama");
    kv(&mut v, "tokenizer.chat_template", template);
    v.extend_from_slice(&[0u8; 64]); // tensor infos and data are never read
    v
}

const KERAS_LAMBDA: &str = r#"{"module":"keras","class_name":"Sequential","config":{"layers":[{"module":"keras.layers","class_name":"InputLayer","config":{}},{"module":"keras.layers","class_name":"Lambda","config":{"function":{"class_name":"__lambda__","config":{"code":"4wEAAAAAAAAA"}}}}]}}"#;
const KERAS_DENSE: &str = r#"{"module":"keras","class_name":"Sequential","config":{"layers":[{"module":"keras.layers","class_name":"Dense","config":{"units":1}}]}}"#;

#[test]
fn keras_v3_and_h5_lambda_layers() {
    let t = tempfile::tempdir().unwrap();
    let bad = zip(&[
        ("metadata.json", b"{\"keras_version\": \"3.6.0\"}"),
        ("config.json", KERAS_LAMBDA.as_bytes()),
        ("model.weights.h5", b"\x89HDF\r\n\x1a\n"),
    ]);
    let p = write(t.path(), "m.keras", &bad);
    let (code, v, _) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "keras");
    assert_eq!(v["findings"][0]["id"], "inspect.keras.lambda");
    assert_eq!(v["findings"][0]["location"]["member"], "config.json");
    let good = zip(&[
        ("metadata.json", b"{}"),
        ("config.json", KERAS_DENSE.as_bytes()),
        ("model.weights.h5", b"\x89HDF\r\n\x1a\n"),
    ]);
    let p = write(t.path(), "ok.keras", &good);
    let (code, v, e) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 0, "{v} {e}");
    // legacy HDF5: the model_config attribute is a JSON string inside the file
    let mut h5 = b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00".to_vec();
    h5.extend_from_slice(&[0u8; 200]);
    h5.extend_from_slice(KERAS_LAMBDA.as_bytes());
    h5.extend_from_slice(&[0u8; 64]);
    let p = write(t.path(), "legacy.h5", &h5);
    let (code, v, _) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "keras-h5");
    assert_eq!(v["findings"][0]["location"]["offset"], 212);
}

#[test]
fn gguf_chat_template_escapes() {
    let t = tempfile::tempdir().unwrap();
    let bad = "{% for m in messages %}{{ m.content }}{% endfor %}{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}";
    let p = write(t.path(), "m.gguf", &gguf(bad));
    let (code, v, _) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "gguf");
    assert_eq!(v["findings"][0]["id"], "inspect.gguf.chat_template");
    assert_eq!(v["findings"][0]["severity"], "critical");
    let good = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}";
    let p = write(t.path(), "ok.gguf", &gguf(good));
    assert_eq!(inspect(&[p.to_str().unwrap()]).0, 0);
    // truncated metadata is never a pass
    let g = gguf(good);
    let p = write(t.path(), "cut.gguf", &g[..60]);
    assert_eq!(inspect(&[p.to_str().unwrap()]).0, 2);
}

#[test]
fn onnx_and_saved_model() {
    let t = tempfile::tempdir().unwrap();
    let entry = pb(&[(1, b"location"), (2, b"../../../home/user/.ssh/id_rsa")]);
    let tensor = pb(&[(13, &entry)]);
    let node = pb(&[(4, b"Relu")]);
    let graph = pb(&[(1, &node), (5, &tensor)]);
    let mut model = vec![0x08, 0x08];
    model.extend(pb(&[(7, &graph)]));
    let p = write(t.path(), "m.onnx", &model);
    let (code, v, _) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "onnx");
    assert_eq!(v["findings"][0]["id"], "inspect.onnx.external_data_escape");
    let mut ok = vec![0x08, 0x08];
    ok.extend(pb(&[(7, &pb(&[(1, &node)]))]));
    let p = write(t.path(), "ok.onnx", &ok);
    assert_eq!(inspect(&[p.to_str().unwrap()]).0, 0);
    // SavedModel: a PyFunc hidden in the function library, not the main graph
    let dir = t.path().join("sm");
    std::fs::create_dir(&dir).unwrap();
    let f = pb(&[(3, &pb(&[(1, b"f"), (2, b"PyFunc")]))]);
    let g = pb(&[(1, &pb(&[(1, b"c"), (2, b"Const")])), (2, &pb(&[(1, &f)]))]);
    write(&dir, "saved_model.pb", &pb(&[(2, &pb(&[(2, &g)]))]));
    let (code, v, _) = inspect(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "tf-savedmodel");
    assert_eq!(v["findings"][0]["severity"], "critical");
}

fn safetensors_file(header: &str, data: usize) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.resize(v.len() + data, 0);
    v
}

#[test]
fn safetensors_headers_are_validated() {
    let t = tempfile::tempdir().unwrap();
    let good = safetensors_file(
        r#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}}"#,
        36,
    );
    let p = write(t.path(), "model.safetensors", &good);
    let (code, v, err) = inspect(&[p.to_str().unwrap()]);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["files"][0]["format"], "safetensors");
    // overlapping tensors, a shape that does not fit its bytes, data past the end of the file:
    // each makes the verdict incomplete and names the problem
    for (name, header, data, says) in [
        (
            "overlap.safetensors",
            r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
            6,
            "invalid",
        ),
        (
            "shape.safetensors",
            r#"{"a":{"dtype":"F32","shape":[1000,1000],"data_offsets":[0,4]}}"#,
            4,
            "invalid",
        ),
        (
            "short.safetensors",
            r#"{"a":{"dtype":"U8","shape":[64],"data_offsets":[0,64]}}"#,
            8,
            "cover 64 bytes",
        ),
    ] {
        let p = write(t.path(), name, &safetensors_file(header, data));
        let (code, v, err) = inspect(&[p.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {v} {err}");
        assert!(v.to_string().contains(says), "{name}: {v}");
    }
}
