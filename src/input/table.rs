//! Tabular readers (Parquet, CSV, NDJSON, Arrow IPC) producing record batches (not implemented yet).
