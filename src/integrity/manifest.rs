//! The dataset manifest (`"version": 1`), documented field by field in `docs/manifest.md`.
//!
//! A manifest is *untrusted input* when read back: [`Manifest::validate`] rejects absolute
//! paths, `..`/`.`/empty components, NUL bytes, duplicates, unsorted entries, bad hex and a
//! `root` that does not match the entries, naming the offending entry. Nothing reads a file
//! named by a manifest before it has passed validation.

use super::merkle::{self, Hash};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    #[default]
    File,
    Symlink,
}

impl EntryKind {
    fn tag(self) -> u8 {
        match self {
            EntryKind::File => 0x01,
            EntryKind::Symlink => 0x02,
        }
    }
}

/// Options recorded so that `verify` re-hashes the tree exactly as `hash` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestOptions {
    /// Always `"blake3"` in version 1.
    pub hash: String,
    /// Whether per-file SHA-256 was recorded.
    pub sha256: bool,
    /// Files larger than this record per-chunk BLAKE3 hashes.
    pub chunk_size: u64,
    /// `--exclude` globs, in the order given.
    pub excludes: Vec<String>,
    /// Whether symlinks were followed (`--follow-symlinks`).
    pub follow_symlinks: bool,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            hash: "blake3".into(),
            sha256: false,
            chunk_size: 8 << 20,
            excludes: Vec::new(),
            follow_symlinks: false,
        }
    }
}

/// One file or symlink. `path` is relative, `/`-separated and escaped with [`encode_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    #[serde(rename = "type", default)]
    pub kind: EntryKind,
    /// File size in bytes; for a symlink, the length of its target in bytes.
    pub size: u64,
    /// BLAKE3 of the content (hex); for a symlink, BLAKE3 of the raw target bytes.
    pub blake3: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Symlink target, escaped like `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Per-chunk BLAKE3 (hex) of `chunk_size` byte ranges, for files larger than one chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Vec<String>>,
    /// For an object hashed from a store: what the store said about the version that was
    /// read. Information only, **outside the root** (the leaf binds path, size and content),
    /// so a prefix and a local copy of it have the same root.
    /// Boxed: three optional strings are 72 bytes inline, paid by every entry of a local
    /// tree (500k entries: 32 MB) though only objects from a store carry them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Box<ObjectMeta>>,
}

/// Store metadata of the object version that was hashed (`hash` of a URL). Not covered by
/// the root or the signature's meaning: it says *which* version was read (to find it
/// again in a versioned bucket), not what its content is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ObjectMeta {
    /// The ETag the reads were pinned to (`If-Match`), as the store gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The version id, when the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Last-modified time from the listing, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// Longest `object` string accepted from a manifest (real ETags and version ids are < 100).
const MAX_OBJECT_FIELD: usize = 1024;

impl Entry {
    /// The canonical leaf data: `kind ‖ le64(len(path)) ‖ path ‖ le64(size) ‖ blake3[32]`,
    /// with `path` the raw (unescaped) bytes.
    pub fn leaf_data(&self) -> std::result::Result<Vec<u8>, String> {
        let path = decode_path(&self.path)?;
        let digest = parse_hash(&self.blake3).ok_or("blake3 is not 64 hex digits")?;
        let mut d = Vec::with_capacity(1 + 8 + path.len() + 8 + 32);
        d.push(self.kind.tag());
        d.extend_from_slice(&(path.len() as u64).to_le_bytes());
        d.extend_from_slice(&path);
        d.extend_from_slice(&self.size.to_le_bytes());
        d.extend_from_slice(&digest);
        Ok(d)
    }
    pub fn leaf_hash(&self) -> std::result::Result<Hash, String> {
        Ok(merkle::leaf_hash(&self.leaf_data()?))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// `mlguard <version>` that wrote it.
    pub tool: String,
    /// RFC 3339 creation time; the only field allowed to differ between runs on one tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub options: ManifestOptions,
    /// A part written with `--shard INDEX/COUNT`: `files`, `skipped` and `root` cover only
    /// this shard's share of the listing; `mlguard manifest merge` joins the parts into the
    /// manifest of the whole tree. Absent in a whole manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::input::shard::ShardInfo>,
    /// Hex Merkle root over `files` in order (see `merkle`).
    pub root: String,
    pub files: Vec<Entry>,
    /// Paths seen in the tree but not hashed (FIFOs, sockets, devices; unreadable files with
    /// `--allow-unreadable`), with the reason. Not part of the root: listed so that nothing
    /// is skipped silently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

impl Manifest {
    /// Build a manifest from entries (sorted here by raw path bytes) and compute its root.
    pub fn new(options: ManifestOptions, mut files: Vec<Entry>) -> Result<Manifest> {
        files.sort_by_cached_key(|e| sort_key(&e.path));
        let leaves = leaves(&files).map_err(|(p, e)| Error::input(p, e))?;
        Ok(Manifest {
            version: MANIFEST_VERSION,
            tool: format!("mlguard {}", env!("CARGO_PKG_VERSION")),
            created: Some(now_rfc3339()),
            options,
            shard: None,
            root: hex::encode(merkle::root(&leaves)),
            files,
            skipped: Vec::new(),
        })
    }

    /// Parse and validate an untrusted manifest. `name` is used in error messages.
    pub fn from_slice(bytes: &[u8], name: &Path) -> Result<Manifest> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Error::input(name, format!("not a valid mlguard manifest: {e}")))?;
        m.validate(name)?;
        Ok(m)
    }

    /// Read and validate a manifest file, parsed as it is read: the file's bytes are never
    /// held beside the parsed entries (an 87 MB manifest was 87 MB of a 490 MB peak).
    pub fn read(path: &Path) -> Result<Manifest> {
        use crate::error::IoContext;
        let f = std::fs::File::open(path).with_path(path)?;
        let m: Manifest = serde_json::from_reader(std::io::BufReader::with_capacity(1 << 16, f))
            .map_err(|e| {
                if e.is_io() {
                    Error::io(path, std::io::Error::other(e.to_string()))
                } else {
                    Error::input(path, format!("not a valid mlguard manifest: {e}"))
                }
            })?;
        m.validate(path)?;
        Ok(m)
    }

    /// Leaf hashes in order (validated manifests only).
    pub fn leaves(&self) -> Result<Vec<Hash>> {
        leaves(&self.files).map_err(|(p, e)| Error::input(p, e))
    }

    /// Refuse a shard part where the manifest of the whole tree is needed (verify, sign,
    /// prove): a part lists only its share, so everything else would look added.
    pub fn require_whole(&self, name: &Path) -> Result<()> {
        match &self.shard {
            None => Ok(()),
            Some(s) => Err(Error::input(
                name,
                format!(
                    "this is shard part {}/{} of a manifest, not the manifest of the whole tree: join the parts first with `mlguard manifest merge PART... -o MANIFEST`",
                    s.index, s.count
                ),
            )),
        }
    }

    /// Reject everything a hostile manifest could use to escape the tree or confuse verify.
    pub fn validate(&self, name: &Path) -> Result<()> {
        if self.version != MANIFEST_VERSION {
            return Err(Error::input(
                name,
                format!(
                    "unsupported manifest version {} (this mlguard reads version 1)",
                    self.version
                ),
            ));
        }
        if self.options.hash != "blake3" {
            return Err(Error::input(
                name,
                format!("unsupported hash '{}'", self.options.hash),
            ));
        }
        // Options are not covered by the root (nor, in an envelope, re-checked after the
        // signature): they steer the hasher and the walk, so they are validated here.
        super::hasher::check_chunk_size(self.options.chunk_size)
            .map_err(|e| Error::input_at(name, "options.chunk_size", e))?;
        for (i, g) in self.options.excludes.iter().enumerate() {
            globset::Glob::new(g).map_err(|e| {
                Error::input_at(name, format!("options.excludes[{i}] '{g}'"), e.to_string())
            })?;
        }
        if let Some(s) = &self.shard {
            s.validate().map_err(|e| Error::input(name, e))?;
        }
        let shard = self.shard.as_ref().map(|s| s.shard());
        let mut prev: Option<Vec<u8>> = None;
        for e in &self.files {
            let at = |msg: String| Error::input_at(name, format!("entry '{}'", e.path), msg);
            let raw = check_relative_path(&e.path).map_err(at)?;
            if let Some(s) = shard {
                if !s.owns(&raw) {
                    return Err(at(format!(
                        "belongs to shard {}/{}, not to this part {s}",
                        crate::input::shard::shard_of(&raw, s.count),
                        s.count
                    )));
                }
            }
            if let Some(p) = &prev {
                if *p == raw {
                    return Err(at("duplicate path".into()));
                }
                if *p > raw {
                    return Err(at("entries are not sorted by path".into()));
                }
            }
            if parse_hash(&e.blake3).is_none() {
                return Err(at("blake3 is not 64 hex digits".into()));
            }
            if let Some(s) = &e.sha256 {
                if parse_hash(s).is_none() {
                    return Err(at("sha256 is not 64 hex digits".into()));
                }
            }
            match (e.kind, &e.target) {
                (EntryKind::Symlink, None) => {
                    return Err(at("symlink entry without target".into()))
                }
                (EntryKind::File, Some(_)) => {
                    return Err(at("file entry with a symlink target".into()))
                }
                (EntryKind::Symlink, Some(t)) => {
                    let t = decode_path(t).map_err(at)?;
                    if t.contains(&0) {
                        return Err(at("symlink target contains a NUL byte".into()));
                    }
                }
                _ => {}
            }
            if let Some(o) = &e.object {
                for (field, v) in [
                    ("etag", &o.etag),
                    ("version", &o.version),
                    ("last_modified", &o.last_modified),
                ] {
                    if v.as_ref().is_some_and(|v| {
                        v.len() > MAX_OBJECT_FIELD || v.chars().any(char::is_control)
                    }) {
                        return Err(at(format!(
                            "object.{field} is longer than {MAX_OBJECT_FIELD} bytes or has control characters"
                        )));
                    }
                }
            }
            if let Some(chunks) = &e.chunks {
                let cs = self.options.chunk_size;
                if cs == 0 {
                    return Err(at("chunks recorded but chunk_size is 0".into()));
                }
                let want = e.size.div_ceil(cs);
                if chunks.len() as u64 != want {
                    return Err(at(format!(
                        "{} chunks recorded, {} expected for size {} and chunk_size {}",
                        chunks.len(),
                        want,
                        e.size,
                        cs
                    )));
                }
                if chunks.iter().any(|c| parse_hash(c).is_none()) {
                    return Err(at("a chunk hash is not 64 hex digits".into()));
                }
            }
            prev = Some(raw);
        }
        let leaves = self.leaves()?;
        let computed = hex::encode(merkle::root(&leaves));
        if !computed.eq_ignore_ascii_case(&self.root) {
            return Err(Error::input(
                name,
                format!(
                    "root {} does not match its own entries (computed {computed}): the manifest was altered",
                    self.root
                ),
            ));
        }
        Ok(())
    }
}

fn leaves(files: &[Entry]) -> std::result::Result<Vec<Hash>, (String, String)> {
    files
        .iter()
        .map(|e| e.leaf_hash().map_err(|m| (e.path.clone(), m)))
        .collect()
}

fn sort_key(p: &str) -> Vec<u8> {
    decode_path(p).unwrap_or_else(|_| p.as_bytes().to_vec())
}

/// Parse 64 hex digits.
pub fn parse_hash(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Validate a manifest path and return its raw bytes: relative, `/`-separated, no empty,
/// `.` or `..` components, no NUL, valid escapes.
pub fn check_relative_path(p: &str) -> std::result::Result<Vec<u8>, String> {
    if p.is_empty() {
        return Err("empty path".into());
    }
    let raw = decode_path(p)?;
    if raw.contains(&0) {
        return Err("path contains a NUL byte".into());
    }
    if raw.starts_with(b"/") {
        return Err("absolute path".into());
    }
    for comp in raw.split(|b| *b == b'/') {
        match comp {
            b"" => return Err("empty path component (leading, trailing or double '/')".into()),
            b"." => return Err("'.' component".into()),
            b".." => return Err("'..' component: path escapes the dataset root".into()),
            _ => {}
        }
    }
    Ok(raw)
}

/// Escape raw path bytes into a JSON-safe string, losslessly: valid UTF-8 is kept as is,
/// `\` becomes `\\`, and every byte that is not valid UTF-8 becomes `\xHH` (lower-case hex).
pub fn encode_path(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Inverse of [`encode_path`]; rejects any other escape.
pub fn decode_path(s: &str) -> std::result::Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hx = b.get(i + 2..i + 4).ok_or("truncated \\x escape")?;
                let mut v = [0u8; 1];
                hex::decode_to_slice(hx, &mut v).map_err(|_| "bad \\x escape")?;
                out.push(v[0]);
                i += 4;
            }
            _ => return Err("bad escape (only \\\\ and \\xHH are allowed)".into()),
        }
    }
    Ok(out)
}

/// Current UTC time as RFC 3339 with second precision.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, data: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File,
            size: data.len() as u64,
            blake3: blake3::hash(data).to_hex().to_string(),
            sha256: None,
            target: None,
            chunks: None,
            object: None,
        }
    }

    #[test]
    fn object_metadata_is_outside_the_root_and_validated() {
        let plain = Manifest::new(ManifestOptions::default(), vec![entry("a", b"x")]).unwrap();
        let mut e = entry("a", b"x");
        e.object = Some(Box::new(ObjectMeta {
            etag: Some("\"abc\"".into()),
            version: None,
            last_modified: Some("2026-12-02T17:00:00Z".into()),
        }));
        let with = Manifest::new(ManifestOptions::default(), vec![e.clone()]).unwrap();
        assert_eq!(with.root, plain.root);
        with.validate(Path::new("m")).unwrap();
        let json = serde_json::to_vec(&with).unwrap();
        assert_eq!(Manifest::from_slice(&json, Path::new("m")).unwrap(), with);
        let mut bad = with.clone();
        bad.files[0].object.as_mut().unwrap().etag = Some("a\u{1b}[2J".into());
        let err = bad.validate(Path::new("m")).unwrap_err().to_string();
        assert!(err.contains("object.etag"), "{err}");
        let unknown = String::from_utf8(json)
            .unwrap()
            .replace("\"etag\"", "\"colour\"");
        assert!(Manifest::from_slice(unknown.as_bytes(), Path::new("m")).is_err());
    }

    #[test]
    fn path_escaping_roundtrips_and_is_injective() {
        for raw in [
            &b"plain/a.csv"[..],
            b"back\\slash",
            b"bad\xffbyte",
            b"\\xff",
            "caf\u{e9}".as_bytes(),
        ] {
            let e = encode_path(raw);
            assert_eq!(decode_path(&e).unwrap(), raw, "{e}");
        }
        assert_ne!(encode_path(b"\\xff"), encode_path(b"\xff"));
        assert_eq!(encode_path(b"a\xffb"), "a\\xffb");
        assert!(decode_path("a\\nb").is_err());
    }

    #[test]
    fn hostile_paths_are_rejected() {
        for p in [
            "",
            "/etc/passwd",
            "a/../../b",
            "..",
            "./a",
            "a//b",
            "a/",
            "a\\x00b",
        ] {
            assert!(check_relative_path(p).is_err(), "{p:?} accepted");
        }
        assert!(check_relative_path("a/..b/c..").is_ok());
    }

    #[test]
    fn validate_checks_root_and_order() {
        let m = Manifest::new(
            ManifestOptions::default(),
            vec![entry("b", b"2"), entry("a", b"1")],
        )
        .unwrap();
        assert_eq!(m.files[0].path, "a");
        m.validate(Path::new("m.json")).unwrap();
        let mut bad = m.clone();
        bad.files[1].size += 1;
        let err = bad.validate(Path::new("m.json")).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
        let mut dup = m.clone();
        dup.files[1].path = "a".into();
        assert!(dup
            .validate(Path::new("m.json"))
            .unwrap_err()
            .to_string()
            .contains("duplicate"));
        let mut unsorted = m.clone();
        unsorted.files.swap(0, 1);
        assert!(unsorted
            .validate(Path::new("m.json"))
            .unwrap_err()
            .to_string()
            .contains("sorted"));
    }

    #[test]
    fn rename_changes_the_root() {
        let a = Manifest::new(ManifestOptions::default(), vec![entry("a", b"x")]).unwrap();
        let b = Manifest::new(ManifestOptions::default(), vec![entry("b", b"x")]).unwrap();
        assert_ne!(a.root, b.root);
    }
}
