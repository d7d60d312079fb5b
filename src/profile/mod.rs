//! Streaming, mergeable statistical profiles (not implemented yet).
