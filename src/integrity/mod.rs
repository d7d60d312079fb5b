//! Integrity core: hashing, Merkle trees, manifests, verification, DSSE envelopes, keys.

pub mod dsse;
pub mod hasher;
pub mod keys;
pub mod manifest;
pub mod merge;
pub mod merkle;
pub mod observed;
pub mod proof;
pub mod tree;
pub mod verify;
