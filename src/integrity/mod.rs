//! Integrity core: hashing, Merkle trees, manifests, DSSE envelopes, keys.

pub mod dsse;
pub mod manifest;
pub mod merkle;
