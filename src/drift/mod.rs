//! Drift and poisoning detection between two profiles (not implemented yet).
