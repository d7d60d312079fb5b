//! Integrity core: hashing, Merkle trees, manifests, verification, DSSE envelopes, keys,
//! and OpenSSF model-signing bundles.

pub mod dsse;
pub mod hasher;
pub mod keys;
pub mod manifest;
pub mod mapped;
pub mod merge;
pub mod merkle;
pub mod model_signing;
pub mod observed;
pub mod proof;
pub mod tree;
pub mod verify;
pub mod x509;
