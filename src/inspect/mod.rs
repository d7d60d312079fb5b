//! `mlguard inspect`: find code execution hidden in model files *without loading them*.
//!
//! The pipeline for one file:
//!
//! ```text
//! bytes ─ sniff (magic, never the extension) ─┬─ pickle   → symbolic interpreter (pickle.rs)
//!                                              ├─ zip      → both directory views (zip.rs) → members ↺
//!                                              ├─ tar      → members ↺ (legacy PyTorch)
//!                                              ├─ npy      → header; object arrays → pickle ↺
//!                                              ├─ gzip/zlib→ bounded decompression ↺ (joblib)
//!                                              └─ other    → listed, nothing to execute
//! ```
//!
//! Each file yields findings (through the shared [`crate::report`] layer: file, member, byte
//! offset, global/op, why, severity, ATLAS/ATT&CK tags) and *problems*: anything that could not
//! be inspected completely (a truncated pickle, an encrypted member, a cap reached, a format not
//! supported yet). A problem makes the verdict incomplete (exit 2) unless findings already fail
//! the gate: a gate never passes a file it did not read.

pub mod gguf;
pub mod keras;
pub mod numpy;
pub mod pickle;
pub mod policy;
pub mod proto;
pub mod safetensors;
pub mod sevenz;
pub mod sniff;
pub mod tar;
pub mod zip;

use crate::finding::{Finding, Location, Severity};
use crate::input::source::{self, ByteSource, LocalFile};
use policy::Policy;
use serde::Serialize;
use sniff::Kind;
use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::Path;

/// Containers inside containers (a zip in a zip in a gzip...) are followed this deep.
pub const MAX_CONTAINER_DEPTH: u32 = 6;
/// How much of a GGUF or HDF5 file is read: their metadata sits at the front.
pub const HEAD_BYTES: u64 = 256 << 20;
/// Default cap on one decompressed member (`[inspect] max_member_bytes`).
pub const DEFAULT_MAX_MEMBER: u64 = 4 << 30;

/// Framework tags on every code-execution finding.
pub const TAGS: &[&str] = &["atlas:AML.T0010", "atlas:AML.T0011.000", "attack:T1195.002"];

/// A buffer (a decompressed member, test input) as a [`ByteSource`].
#[derive(Debug)]
pub struct Mem<'a>(pub &'a [u8]);

impl ByteSource for Mem<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn get_range(&self, r: std::ops::Range<u64>) -> io::Result<bytes::Bytes> {
        if r.start > r.end || r.end > self.0.len() as u64 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "past the end"));
        }
        Ok(bytes::Bytes::copy_from_slice(
            &self.0[r.start as usize..r.end as usize],
        ))
    }
    fn name(&self) -> &Path {
        Path::new("<member>")
    }
}

/// `len` bytes at `off` of a source, exactly.
pub fn read_at(src: &dyn ByteSource, off: u64, len: u64) -> io::Result<bytes::Bytes> {
    let end = off
        .checked_add(len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "range overflows"))?;
    src.get_range(off..end)
}

/// What to inspect with.
#[derive(Debug, Clone)]
pub struct Options {
    pub policy: Policy,
    /// Cap on one decompressed member; the total per file is four times this.
    pub max_member_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            policy: Policy::builtin(),
            max_member_bytes: DEFAULT_MAX_MEMBER,
        }
    }
}

/// Something that could not be inspected completely.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub message: String,
}

/// The result for one input file.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub path: String,
    /// What the file is: `pickle`, `pytorch-zip`, `pytorch-legacy`, `joblib`, `npy`, `npz`,
    /// `zip`, `tar`, `gzip`, `safetensors`, ..., or `other` (no model format: nothing runs).
    pub format: String,
    pub bytes: u64,
    /// Archive members looked at (0 for a plain file).
    pub members: u64,
    /// Pickle streams interpreted (nested ones included).
    pub pickles: u64,
    /// Every global the pickles import, allowlisted ones included.
    pub globals: Vec<String>,
    pub problems: Vec<Problem>,
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

/// Inspect one file on disk. Never fails: I/O errors become problems.
pub fn inspect_file(path: &Path, opts: &Options) -> FileResult {
    let display = path.display().to_string();
    let mut cx = Ctx::new(&display, opts);
    match LocalFile::open(path) {
        Ok(f) => {
            cx.res.bytes = f.len();
            cx.source(None, &f, path_name(path), 0);
        }
        Err(e) => cx.problem(None, None, e.to_string()),
    }
    cx.finish()
}

/// Inspect bytes already in memory (tests, fuzzing, remote objects).
pub fn inspect_bytes(name: &str, data: &[u8], opts: &Options) -> FileResult {
    let mut cx = Ctx::new(name, opts);
    cx.res.bytes = data.len() as u64;
    cx.source(None, &Mem(data), name.to_string(), 0);
    cx.finish()
}

fn path_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

struct Ctx<'a> {
    opts: &'a Options,
    res: FileResult,
    formats: BTreeSet<&'static str>,
    globals: BTreeSet<String>,
    /// Bytes decompressed so far for this file (bounded: zip bombs with many members).
    inflated: u64,
    /// The buffer being parsed is only the head of a larger file.
    truncated_head: bool,
}

fn join(member: Option<&str>, inner: &str) -> String {
    match member {
        Some(m) => format!("{m}!{inner}"),
        None => inner.to_string(),
    }
}

impl<'a> Ctx<'a> {
    fn new(path: &str, opts: &'a Options) -> Ctx<'a> {
        Ctx {
            opts,
            res: FileResult {
                path: path.to_string(),
                format: "other".into(),
                bytes: 0,
                members: 0,
                pickles: 0,
                globals: Vec::new(),
                problems: Vec::new(),
                findings: Vec::new(),
            },
            formats: BTreeSet::new(),
            globals: BTreeSet::new(),
            inflated: 0,
            truncated_head: false,
        }
    }

    fn finish(mut self) -> FileResult {
        self.res.format = self.format_name().to_string();
        self.res.globals = self.globals.into_iter().collect();
        self.res
    }

    fn format_name(&self) -> &'static str {
        let f = &self.formats;
        if f.contains("pytorch-zip") {
            "pytorch-zip"
        } else if f.contains("pytorch-legacy") {
            "pytorch-legacy"
        } else if f.contains("joblib") {
            "joblib"
        } else if f.contains("npz") {
            "npz"
        } else if f.contains("keras") {
            "keras"
        } else if f.contains("keras-h5") {
            "keras-h5"
        } else {
            f.iter().next().copied().unwrap_or("other")
        }
    }

    fn problem(&mut self, member: Option<&str>, offset: Option<u64>, message: impl Into<String>) {
        self.res.problems.push(Problem {
            member: member.map(str::to_string),
            offset,
            message: message.into(),
        });
    }

    fn location(&self, member: Option<&str>, offset: Option<u64>) -> Location {
        Location {
            file: self.res.path.clone(),
            member: member.map(str::to_string),
            offset,
            ..Location::default()
        }
    }

    fn subject(&self, member: Option<&str>) -> String {
        match member {
            Some(m) => format!("{}!{m}", self.res.path),
            None => self.res.path.clone(),
        }
    }

    fn finding(
        &mut self,
        id: &str,
        sev: Severity,
        member: Option<&str>,
        offset: Option<u64>,
        title: String,
    ) -> &mut Finding {
        let f =
            Finding::new(id, sev, self.subject(member), title).at(self.location(member, offset));
        let f = TAGS.iter().fold(f, |f, t| f.tag(*t));
        self.res.findings.push(f);
        self.res.findings.last_mut().unwrap()
    }

    /// Mark the top-level format once, at depth 0 (inner formats are recorded too, for the
    /// refinements `pytorch-zip`, `joblib`, `npz`).
    fn saw(&mut self, depth: u32, kind: &'static str) {
        if depth == 0
            || matches!(
                kind,
                "pytorch-zip" | "pytorch-legacy" | "joblib" | "npz" | "keras" | "keras-h5"
            )
        {
            self.formats.insert(kind);
        }
    }

    /// Inspect a whole source (a file, or a member already in memory).
    fn source(&mut self, member: Option<&str>, src: &dyn ByteSource, name: String, depth: u32) {
        if depth > MAX_CONTAINER_DEPTH {
            self.problem(
                member,
                None,
                format!("containers nested deeper than {MAX_CONTAINER_DEPTH}: not followed"),
            );
            return;
        }
        let len = src.len();
        let head = match read_at(src, 0, len.min(512)) {
            Ok(h) => h,
            Err(e) => return self.problem(member, None, format!("cannot read: {e}")),
        };
        let kind = sniff::kind_of(&head, &name);
        if kind == Kind::Zip {
            self.saw(depth, "zip");
            return self.zip(member, src, depth);
        }
        if kind == Kind::Safetensors {
            self.saw(depth, kind.name());
            if let Err(e) = safetensors::check(src) {
                self.problem(member, Some(0), e);
            }
            return;
        }
        if kind == Kind::Other {
            self.saw(depth, kind.name());
            return;
        }
        // GGUF and HDF5 keep what matters in their first bytes; tensors are never read.
        let want = match kind {
            Kind::Gguf | Kind::Hdf5 => len.min(HEAD_BYTES),
            _ => len,
        };
        // Everything else is interpreted in memory. A top-level file is as large as it is;
        // members were already bounded by the decompression cap.
        let data = match read_at(src, 0, want) {
            Ok(d) => d,
            Err(e) => return self.problem(member, None, format!("cannot read: {e}")),
        };
        if want < len && kind == Kind::Gguf {
            self.truncated_head = true;
        }
        self.buffer(member, &data, &name, depth, kind);
        self.truncated_head = false;
    }

    fn buffer(&mut self, member: Option<&str>, data: &[u8], name: &str, depth: u32, kind: Kind) {
        match kind {
            Kind::Pickle | Kind::MaybePickle => {
                if !self.pickle(member, data, name, kind == Kind::MaybePickle, depth) {
                    self.saw(depth, "other");
                }
            }
            Kind::Zip => {
                self.saw(depth, "zip");
                self.zip(member, &Mem(data), depth)
            }
            Kind::Npy => {
                self.saw(depth, "npy");
                self.npy(member, data, depth)
            }
            Kind::Tar => {
                self.saw(depth, "tar");
                self.tar(member, data, depth)
            }
            Kind::Gzip | Kind::Zlib => {
                let cap = self.cap();
                let out = if kind == Kind::Gzip {
                    source::decoder(data, source::Compression::Gzip)
                        .map_err(|e| e.to_string())
                        .and_then(|mut d| bounded(&mut d, cap))
                } else {
                    bounded(&mut flate2::read::ZlibDecoder::new(data), cap)
                };
                match out {
                    Ok(v) => {
                        self.saw(depth, kind.name());
                        self.inflated += v.len() as u64;
                        let inner = join(member, &format!("({})", kind.name()));
                        let head = &v[..v.len().min(512)];
                        let k = sniff::sniff(head);
                        self.buffer(Some(&inner), &v, name, depth + 1, k);
                    }
                    // Two bytes are a weak magic: data that merely starts like a zlib
                    // header and does not decompress is just data.
                    Err(_) if kind == Kind::Zlib => self.saw(depth, "other"),
                    Err(e) => {
                        self.saw(depth, kind.name());
                        self.problem(member, None, format!("{} stream: {e}", kind.name()))
                    }
                }
            }
            Kind::Gguf => {
                self.saw(depth, "gguf");
                self.gguf(member, data)
            }
            Kind::Hdf5 => {
                self.saw(depth, "hdf5");
                self.hdf5(member, data)
            }
            Kind::Onnx => {
                self.saw(depth, "onnx");
                let r = proto::onnx(data);
                self.proto_hits(member, r, "ONNX model")
            }
            Kind::SavedModel => {
                self.saw(depth, "tf-savedmodel");
                let r = proto::saved_model(data);
                self.proto_hits(member, r, "SavedModel")
            }
            Kind::SevenZip => {
                self.saw(depth, "7z");
                self.sevenz(member, data, depth)
            }
            Kind::Bzip2 | Kind::Xz | Kind::Lzma => {
                self.saw(depth, kind.name());
                self.problem(
                    member,
                    None,
                    format!(
                        "{} files are not inspected by this version: contents unchecked",
                        kind.name()
                    ),
                );
            }
            Kind::Safetensors => {
                self.saw(depth, kind.name());
                if let Err(e) = safetensors::check(&Mem(data)) {
                    self.problem(member, Some(0), e);
                }
            }
            Kind::Other => self.saw(depth, kind.name()),
        }
    }

    fn cap(&self) -> u64 {
        let total = self.opts.max_member_bytes.saturating_mul(4);
        self.opts
            .max_member_bytes
            .min(total.saturating_sub(self.inflated))
    }

    /// Returns false when a `MaybePickle` turned out not to be one.
    fn pickle(
        &mut self,
        member: Option<&str>,
        data: &[u8],
        name: &str,
        maybe: bool,
        depth: u32,
    ) -> bool {
        const LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e";
        let legacy = data.starts_with(LEGACY_MAGIC);
        let out =
            pickle::Interp::new(data, &self.opts.policy).run(if legacy { 5 } else { u32::MAX });
        if maybe && out.pickles == 0 {
            let ok_ops = out.ops - out.malformed.is_some() as u64;
            if ok_ops < 2 && !(sniff::pickle_extension(name) && ok_ops >= 1) {
                return false;
            }
        }
        self.saw(depth, "pickle");
        if legacy {
            self.saw(depth, "pytorch-legacy");
        }
        self.res.pickles += out.pickles.max(1) as u64;
        if out
            .globals
            .iter()
            .any(|g| g.ends_with("numpy_pickle.NumpyArrayWrapper"))
        {
            self.saw(depth, "joblib");
        }
        for g in &out.globals {
            self.globals.insert(g.clone());
        }
        for mut h in out.hits {
            h.why = clean(&h.why);
            let title = match (h.id, &h.global) {
                ("inspect.pickle.dangerous_global", Some(g)) => {
                    format!("imports {}: {}", clean(g), h.why)
                }
                ("inspect.pickle.unknown_global", Some(g)) => format!(
                    "imports {}, which is not on the allowlist of ordinary ML globals",
                    clean(g)
                ),
                (_, Some(g)) => format!("{}: {}", h.why, clean(g)),
                _ => h.why.clone(),
            };
            let nested = h.nested_at.is_some();
            let f = self.finding(h.id, h.severity, member, Some(h.offset), title);
            f.evidence.insert("op".into(), h.op.into());
            if let Some(g) = h.global {
                f.evidence.insert("global".into(), clean(&g).into());
            }
            f.evidence.insert("why".into(), h.why.into());
            if h.count > 1 {
                f.evidence.insert("count".into(), h.count.into());
            }
            if let Some(n) = h.nested_at {
                f.evidence.insert("nested_pickle_at".into(), n.into());
            }
            if nested {
                f.tags.push("nested-pickle".into());
            }
        }
        if let Some(m) = out.malformed {
            if out.pickles == 0 {
                let msg = format!("pickle stops before its end: {}", m.message);
                self.finding(
                    "inspect.pickle.malformed",
                    Severity::Medium,
                    member,
                    Some(m.offset),
                    format!("{msg} (opcodes before this point run when loaded)"),
                );
                self.problem(member, Some(m.offset), msg);
            } else {
                self.finding(
                    "inspect.pickle.trailing",
                    Severity::Low,
                    member,
                    Some(m.offset),
                    format!(
                        "data after pickle {} looks like another pickle but is malformed: {}",
                        out.pickles, m.message
                    ),
                );
            }
        }
        true
    }

    fn gguf(&mut self, member: Option<&str>, data: &[u8]) {
        match gguf::header(data) {
            Ok(h) => {
                for t in h.templates {
                    if t.escapes.is_empty() {
                        continue;
                    }
                    let dunder = t.escapes.iter().any(|(p, _)| p.starts_with("__"));
                    let what: Vec<String> = t
                        .escapes
                        .iter()
                        .map(|(p, w)| format!("{} ({w})", p.trim()))
                        .collect();
                    let f = self.finding(
                        "inspect.gguf.chat_template",
                        if dunder {
                            Severity::Critical
                        } else {
                            Severity::High
                        },
                        member,
                        Some(t.offset as u64),
                        format!("{} escapes the Jinja sandbox: {}", t.key, what.join(", ")),
                    );
                    f.evidence.insert("key".into(), t.key.into());
                }
            }
            Err(e) if self.truncated_head => self.problem(
                member,
                None,
                format!("GGUF metadata larger than the first {HEAD_BYTES} bytes or malformed: {e}"),
            ),
            Err(e) => self.problem(member, None, format!("GGUF metadata: {e}")),
        }
    }

    fn hdf5(&mut self, member: Option<&str>, data: &[u8]) {
        for (at, cfg) in keras::find_json_configs(data) {
            self.formats.insert("keras-h5");
            let hits = keras::scan_config(&cfg, &self.opts.policy);
            self.keras_hits(member, hits, Some(at as u64));
        }
    }

    fn keras_hits(&mut self, member: Option<&str>, hits: Vec<keras::Hit>, at: Option<u64>) {
        for h in hits {
            let f = self.finding(h.id, h.severity, member, at, h.why.clone());
            f.evidence.insert("config_path".into(), h.path.into());
        }
    }

    fn proto_hits(&mut self, member: Option<&str>, r: Result<Vec<proto::Hit>, String>, what: &str) {
        match r {
            Ok(hits) => {
                for h in hits {
                    self.finding(h.id, h.severity, member, None, h.why);
                }
            }
            Err(e) => self.problem(member, None, format!("{what}: {e}")),
        }
    }

    fn npy(&mut self, member: Option<&str>, data: &[u8], depth: u32) {
        match numpy::header(data) {
            Ok(h) => {
                if h.object {
                    let inner = join(member, "(object array)");
                    self.finding(
                        "inspect.numpy.object_array",
                        Severity::Low,
                        member,
                        Some(h.data_offset as u64),
                        format!(
                            "object array (dtype {}): numpy.load unpickles it when allow_pickle=True",
                            h.descr
                        ),
                    );
                    let body = &data[h.data_offset..];
                    self.pickle(Some(&inner), body, "x.pkl", false, depth + 1);
                }
            }
            Err(e) => self.problem(member, None, format!("npy header: {e}")),
        }
    }

    fn tar(&mut self, member: Option<&str>, data: &[u8], depth: u32) {
        let entries = match tar::list(data) {
            Ok(e) => e,
            Err(e) => return self.problem(member, None, format!("tar: {e}")),
        };
        let torch = entries.iter().any(|e| e.name == "pickle")
            && entries.iter().any(|e| e.name == "storages");
        if torch {
            self.saw(depth, "pytorch-legacy");
        }
        for e in entries {
            self.res.members += 1;
            let inner = join(member, &e.name);
            let body = &data[e.offset..e.offset + e.size];
            // `storages`/`tensors` are a count pickle, then records: pickles (interpreted in
            // turn) and raw bytes (where the consecutive-pickle walk stops).
            let k = sniff::kind_of(&body[..body.len().min(512)], &e.name);
            self.buffer(Some(&inner), body, &e.name, depth + 1, k);
        }
    }

    /// 7z members: each folder is decoded once (within the decompression caps) and its
    /// files inspected like zip members; what cannot be decoded is a problem per file.
    fn sevenz(&mut self, member: Option<&str>, data: &[u8], depth: u32) {
        if depth > MAX_CONTAINER_DEPTH {
            return self.problem(
                member,
                None,
                format!("containers nested deeper than {MAX_CONTAINER_DEPTH}: not followed"),
            );
        }
        let listing = match sevenz::list(data) {
            Ok(l) => l,
            Err(e) => return self.problem(member, None, format!("7z: {e}")),
        };
        for (i, _) in listing.streams.folders.iter().enumerate() {
            let files: Vec<&sevenz::File> =
                listing.files.iter().filter(|f| f.folder == i).collect();
            if files.is_empty() {
                continue;
            }
            let cap = self.cap();
            let out = sevenz::unpack(data, &listing.streams, i, cap);
            for f in files {
                self.res.members += 1;
                let inner = join(member, &f.name);
                match &out {
                    Ok(v) => {
                        let body = usize::try_from(f.offset)
                            .ok()
                            .zip(usize::try_from(f.offset.saturating_add(f.size)).ok())
                            .and_then(|(a, b)| v.get(a..b));
                        let Some(body) = body else {
                            self.problem(Some(&inner), None, "7z: file lies outside its folder");
                            continue;
                        };
                        let k = sniff::kind_of(&body[..body.len().min(512)], &f.name);
                        self.buffer(Some(&inner), body, &f.name, depth + 1, k);
                    }
                    Err(e) => self.problem(Some(&inner), None, format!("7z: {e}")),
                }
            }
            if let Ok(v) = &out {
                self.inflated += v.len() as u64;
            }
        }
    }

    fn zip(&mut self, member: Option<&str>, src: &dyn ByteSource, depth: u32) {
        let listing = match zip::list(src) {
            Ok(l) => l,
            Err(e) => return self.problem(member, None, format!("zip: {e}")),
        };
        for n in &listing.notes {
            let m = n.member.as_deref().map(|x| join(member, x));
            let m = m.as_deref().or(member);
            let f = self.finding(n.id, n.severity, m, None, n.why.clone());
            f.tags.retain(|t| t.starts_with("atlas:AML.T0010"));
        }
        // PyTorch: <prefix>/data.pkl plus raw storages <prefix>/data/<key>, which torch never
        // unpickles; they are counted, not read.
        let torch_prefixes: Vec<String> = listing
            .entries
            .iter()
            .filter_map(|e| e.name.strip_suffix("data.pkl").map(str::to_string))
            .filter(|p| p.is_empty() || p.ends_with('/'))
            .collect();
        if !torch_prefixes.is_empty() {
            self.saw(depth, "pytorch-zip");
        }
        let keras = listing.entries.iter().any(|e| e.name == "config.json")
            && listing
                .entries
                .iter()
                .any(|e| e.name == "metadata.json" || e.name == "model.weights.h5");
        if keras {
            self.saw(depth, "keras");
        }
        if listing.entries.iter().any(|e| e.name.ends_with(".npy")) && torch_prefixes.is_empty() {
            self.saw(depth, "npz");
        }
        for e in &listing.entries {
            if e.name.ends_with('/') && e.csize == 0 {
                continue;
            }
            self.res.members += 1;
            let inner = join(member, &e.name);
            let storage = torch_prefixes.iter().any(|p| {
                e.name
                    .strip_prefix(p.as_str())
                    .and_then(|r| r.strip_prefix("data/"))
                    .is_some_and(|k| !k.is_empty() && !k.contains('/'))
            });
            if storage {
                continue;
            }
            if keras && e.name == "config.json" {
                let cap = self.cap();
                match zip::read_member(src, e, cap.min(64 << 20)) {
                    Ok(data) => match serde_json::from_slice::<serde_json::Value>(&data) {
                        Ok(cfg) => {
                            let hits = keras::scan_config(&cfg, &self.opts.policy);
                            self.keras_hits(Some(&inner), hits, None);
                        }
                        Err(x) => {
                            self.problem(Some(&inner), None, format!("Keras config.json: {x}"))
                        }
                    },
                    Err(x) => self.problem(Some(&inner), None, x),
                }
                continue;
            }
            let encrypted = e.flags & 1 != 0;
            if e.method == 0 {
                // Stored: sniff the head first, read the rest only when it can carry code.
                let head = match read_at(src, e.data_start, e.csize.min(512)) {
                    Ok(h) => h,
                    Err(x) => {
                        self.problem(Some(&inner), None, format!("cannot read member: {x}"));
                        continue;
                    }
                };
                let k = sniff::kind_of(&head, &e.name);
                if encrypted {
                    if k == Kind::Other || k == Kind::MaybePickle {
                        self.problem(
                            Some(&inner),
                            None,
                            "encrypted member: contents cannot be inspected",
                        );
                        continue;
                    }
                    self.finding(
                        "inspect.zip.fake_encryption",
                        Severity::Medium,
                        Some(&inner),
                        None,
                        "member is flagged encrypted but stored in clear: zipfile asks for a password, other readers load it".into(),
                    );
                }
                if k == Kind::Other || k == Kind::Safetensors {
                    continue;
                }
            } else if encrypted {
                self.problem(
                    Some(&inner),
                    None,
                    "encrypted member: contents cannot be inspected",
                );
                continue;
            }
            let cap = self.cap();
            match zip::read_member(src, e, cap) {
                Ok(data) => {
                    if e.method != 0 {
                        self.inflated += data.len() as u64;
                    }
                    let k = sniff::kind_of(&data[..data.len().min(512)], &e.name);
                    self.buffer(Some(&inner), &data, &e.name, depth + 1, k);
                }
                Err(x) => self.problem(Some(&inner), None, x),
            }
        }
    }
}

/// Names from hostile files (zip members, pickle strings) with control characters escaped,
/// so that no output can be made to rewrite a terminal (the shared rule of
/// [`crate::report::text::clean`]).
pub fn clean(s: &str) -> String {
    crate::report::text::clean(s).into_owned()
}

fn bounded(r: &mut dyn Read, cap: u64) -> Result<Vec<u8>, String> {
    let mut v = Vec::new();
    r.take(cap + 1)
        .read_to_end(&mut v)
        .map_err(|e| e.to_string())?;
    if v.len() as u64 > cap {
        return Err(format!("decompresses to more than the {cap}-byte cap"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_zip(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        v.extend_from_slice(data);
        let cd_off = v.len() as u32;
        let mut cd =
            b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        cd.extend_from_slice(&(data.len() as u32).to_le_bytes());
        cd.extend_from_slice(&(data.len() as u32).to_le_bytes());
        cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
        cd.extend_from_slice(&[0; 16]);
        cd.extend_from_slice(name.as_bytes());
        v.extend_from_slice(&cd);
        v.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\x00\x01\x00");
        v.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        v.extend_from_slice(&cd_off.to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v
    }

    #[test]
    fn zip_members_are_found_by_content() {
        let z = stored_zip("x/data.pkl", b"\x80\x02cposix\nsystem\n.");
        let r = inspect_bytes("m.bin", &z, &Options::default());
        assert_eq!(r.format, "pytorch-zip");
        assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
        assert_eq!(
            r.findings[0].location.as_ref().unwrap().member.as_deref(),
            Some("x/data.pkl")
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    #[test]
    fn the_member_cap_bounds_decompression() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &vec![0u8; 1 << 20]).unwrap();
        let gz = enc.finish().unwrap();
        let opts = Options {
            max_member_bytes: 1000,
            ..Options::default()
        };
        let r = inspect_bytes("bomb.gz", &gz, &opts);
        assert!(r.problems[0].message.contains("cap"), "{:?}", r.problems);
    }

    /// Seeded mutations of every container format: never a panic, always an answer.
    #[test]
    fn seeded_container_mutations_never_panic() {
        let pk = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85R.".to_vec();
        let mut npy = b"\x93NUMPY\x01\x00\x20\x00{'descr': '|O', 'shape': (1,), }\n".to_vec();
        npy.extend_from_slice(&pk);
        let mut tar = vec![0u8; 512];
        tar[..6].copy_from_slice(b"pickle");
        tar[124..135].copy_from_slice(format!("{:011o}", pk.len()).as_bytes());
        tar[156] = b'0';
        tar[257..262].copy_from_slice(b"ustar");
        tar.extend_from_slice(&pk);
        tar.resize(2048, 0);
        let seeds = [
            stored_zip("a/data.pkl", &pk),
            npy,
            tar,
            stored_zip("n.npz", &stored_zip("x.npy", &pk)),
        ];
        let mut x: u64 = 0x2545F4914F6CDD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let opts = Options {
            max_member_bytes: 1 << 20,
            ..Options::default()
        };
        for i in 0..3000 {
            let mut b = seeds[i % seeds.len()].clone();
            for _ in 0..(1 + next() % 3) {
                let r = next();
                let pos = (r >> 8) as usize % b.len();
                match r % 3 {
                    0 => b[pos] = (r >> 32) as u8,
                    1 => b[pos] ^= 0xff,
                    _ => b.truncate(pos.max(1)),
                }
            }
            let r = inspect_bytes("fuzz", &b, &opts);
            assert!(r.bytes == b.len() as u64);
        }
    }

    /// The same for the metadata parsers (GGUF, protobuf, embedded Keras JSON).
    #[test]
    fn seeded_metadata_mutations_never_panic() {
        let mut g = b"GGUF\x03\0\0\0\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0".to_vec();
        g.extend_from_slice(&23u64.to_le_bytes());
        g.extend_from_slice(b"tokenizer.chat_template");
        g.extend_from_slice(&8u32.to_le_bytes());
        g.extend_from_slice(&9u64.to_le_bytes());
        g.extend_from_slice(b"{{ x }}ab");
        let onnx = b"\x08\x07\x3a\x0c\x0a\x04\x22\x02op\x2a\x04\x6a\x02\x0a\x00".to_vec();
        let h5 = b"\x89HDF\r\n\x1a\n\0{\"class_name\": \"Lambda\", \"config\": {\"a\": [1, {}]}}\0"
            .to_vec();
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let p = Policy::builtin();
        for i in 0..6000 {
            let mut b = [&g, &onnx, &h5][i % 3].clone();
            for _ in 0..(1 + next() % 3) {
                let r = next();
                let pos = (r >> 8) as usize % b.len();
                match r % 3 {
                    0 => b[pos] = (r >> 32) as u8,
                    1 => b.insert(pos, (r >> 32) as u8),
                    _ => b.truncate(pos.max(1)),
                }
            }
            let _ = gguf::header(&b);
            let _ = proto::onnx(&b);
            let _ = proto::saved_model(&b);
            for (_, v) in keras::find_json_configs(&b) {
                keras::scan_config(&v, &p);
            }
        }
    }
}
