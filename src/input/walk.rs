//! Directory walking for `hash`/`verify` (not implemented yet).
