//! Reading the world. Nothing here decides anything; it turns bytes into typed items for
//! the cores. `source` owns where bytes come from (listing, opening, byte ranges,
//! decompression caps); `table` turns them into Arrow record batches, `logs` into
//! normalised audit events; `contain` turns a third-party decoder's panic on corrupt bytes
//! into an input error; `shard` splits a listing for `--shard`.

pub mod contain;
pub mod logs;
pub mod remote;
pub mod shard;
pub mod source;
pub mod table;
