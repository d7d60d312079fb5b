//! Offline scanning of audit logs, registry exports and inference logs.

pub mod inference;
pub mod sigma;
