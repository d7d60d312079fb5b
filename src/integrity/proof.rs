//! Inclusion proofs: show that one file belongs to a signed dataset with `log2(n)` hashes
//! (RFC 9162 §2.1.3), so a data loader reading one shard can check it without the tree.

use super::manifest::{Entry, EntryKind, Manifest};
use super::merkle::{self, Hash};
use crate::error::{Error, IoContext, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const PROOF_TYPE: &str = "mlguard-inclusion-proof";
/// Largest proof file read.
const MAX_PROOF_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProofEntry {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: EntryKind,
    pub size: u64,
    pub blake3: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Proof {
    pub version: u32,
    #[serde(rename = "type")]
    pub proof_type: String,
    /// Hex Merkle root the proof leads to.
    pub root: String,
    pub tree_size: u64,
    pub leaf_index: u64,
    /// The manifest entry the leaf was made from (as recorded when the proof was written).
    pub entry: ProofEntry,
    /// Sibling hashes from the leaf upwards (hex).
    pub audit_path: Vec<String>,
}

impl Proof {
    /// Proof for the entry with manifest path `path`.
    pub fn for_path(m: &Manifest, path: &str, name: &Path) -> Result<Proof> {
        let index = m
            .files
            .iter()
            .position(|e| e.path == path)
            .ok_or_else(|| Error::input(name, format!("no entry '{path}' in the manifest")))?;
        let leaves = m.leaves()?;
        let path_hashes = merkle::inclusion_proof(&leaves, index)
            .ok_or_else(|| Error::input(name, "leaf index out of range"))?;
        let e = &m.files[index];
        Ok(Proof {
            version: 1,
            proof_type: PROOF_TYPE.into(),
            root: m.root.clone(),
            tree_size: leaves.len() as u64,
            leaf_index: index as u64,
            entry: ProofEntry {
                path: e.path.clone(),
                kind: e.kind,
                size: e.size,
                blake3: e.blake3.clone(),
            },
            audit_path: path_hashes.iter().map(hex::encode).collect(),
        })
    }

    pub fn read(path: &Path) -> Result<Proof> {
        use std::io::Read;
        // A proof is log2(n) hashes: 64 of them fit in a few KiB. Read at most 1 MiB.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_PROOF_BYTES + 1).read_to_end(&mut bytes))
            .with_path(path)?;
        if bytes.len() as u64 > MAX_PROOF_BYTES {
            return Err(Error::input(
                path,
                "larger than 1 MiB: not an inclusion proof",
            ));
        }
        let p: Proof = serde_json::from_slice(&bytes)
            .map_err(|e| Error::input(path, format!("not an mlguard inclusion proof: {e}")))?;
        if p.version != 1 || p.proof_type != PROOF_TYPE {
            return Err(Error::input(
                path,
                "not an mlguard inclusion proof (version 1)",
            ));
        }
        p.validate().map_err(|e| Error::input(path, e))?;
        Ok(p)
    }

    /// Structure only (the hashes are checked against the signed root by the caller).
    fn validate(&self) -> std::result::Result<(), String> {
        if super::manifest::parse_hash(&self.root).is_none() {
            return Err("root is not 64 hex digits".into());
        }
        if self.leaf_index >= self.tree_size {
            return Err(format!(
                "leaf_index {} is not below tree_size {}",
                self.leaf_index, self.tree_size
            ));
        }
        // An RFC 9162 audit path has at most ceil(log2(tree_size)) hashes.
        let max = 64 - (self.tree_size - 1).leading_zeros() as usize;
        if self.audit_path.len() > max {
            return Err(format!(
                "audit_path has {} hashes, a tree of {} leaves needs at most {max}",
                self.audit_path.len(),
                self.tree_size
            ));
        }
        if self.audit().is_none() {
            return Err("an audit_path hash is not 64 hex digits".into());
        }
        super::manifest::check_relative_path(&self.entry.path)
            .map_err(|e| format!("entry '{}': {e}", self.entry.path))?;
        if super::manifest::parse_hash(&self.entry.blake3).is_none() {
            return Err("entry blake3 is not 64 hex digits".into());
        }
        Ok(())
    }

    fn audit(&self) -> Option<Vec<Hash>> {
        self.audit_path
            .iter()
            .map(|h| super::manifest::parse_hash(h))
            .collect()
    }

    /// Does a leaf for `entry` lead to `root` through this proof?
    pub fn includes(&self, entry: &Entry, root: &str) -> bool {
        let (Some(path), Some(root), Ok(leaf)) = (
            self.audit(),
            super::manifest::parse_hash(root),
            entry.leaf_hash(),
        ) else {
            return false;
        };
        merkle::verify_inclusion(&leaf, self.leaf_index, self.tree_size, &path, &root)
    }

    /// The entry recorded in the proof, as a manifest entry.
    pub fn recorded_entry(&self) -> Entry {
        Entry {
            path: self.entry.path.clone(),
            kind: self.entry.kind,
            size: self.entry.size,
            blake3: self.entry.blake3.clone(),
            sha256: None,
            target: None,
            chunks: None,
            object: None,
        }
    }
}
