//! Containing third-party decoder panics.
//!
//! arrow-rs and parquet are the one columnar engine, and they are not hardened against
//! hostile bytes: one-byte corruptions of Parquet and Arrow IPC files reach `panic!`,
//! `unwrap` and out-of-bounds indexing inside arrow-ipc, arrow-buffer and parquet
//! (docs/upstream-panics.md lists what was found, with reproducers). mlguard is a gate whose
//! inputs are hostile by assumption, so a panic there must be an input error naming the file
//! and the unit (row group, batch), exactly like a decode error, and never a crash (exit 101)
//! that a CI script could mistake for something else.
//!
//! [`decode`] runs one unit of decoding under [`std::panic::catch_unwind`]. While it runs, a
//! thread-local flag tells the process panic hook ([`install_hook`]) to stay quiet, so a
//! contained panic does not print Rust's "thread panicked at" noise on stderr; any other
//! panic (a bug of ours) still prints as usual.
//!
//! What this cannot contain: an allocation failure aborts the process instead of unwinding.
//! Allocations sized from the input are therefore bounded *before* the decoder sees the
//! bytes (declared lengths checked against the file size: [`check_ipc_file`],
//! [`check_ipc_stream`]). Only the closure's own decoding is contained: the caller's
//! per-batch work (sketches, detectors) runs outside it, so a bug of ours is never
//! disguised as bad input.

use crate::error::{Error, Result};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a contained decode: the hook then prints nothing.
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
    /// Where the last contained panic happened (`crate-version/src/file.rs:line`).
    static LOCATION: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// `…/registry/src/index.crates.io-…/arrow-ipc-60.0.0/src/reader.rs` → from the crate
/// directory on (what a bug report upstream needs, without the local home directory).
fn short_location(file: &str, line: u32) -> String {
    let f = match file.find("/registry/src/") {
        Some(i) => {
            let rest = &file[i + "/registry/src/".len()..];
            rest.split_once('/').map(|x| x.1).unwrap_or(rest)
        }
        None => file,
    };
    format!("{f}:{line}")
}

static HOOK: Once = Once::new();

/// Install (once per process) a panic hook that is silent for contained panics and defers
/// to the previous hook (Rust's default message) for every other panic.
pub fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CONTAINING.with(Cell::get) {
                let loc = info
                    .location()
                    .map(|l| short_location(l.file(), l.line()))
                    .unwrap_or_default();
                LOCATION.with(|l| *l.borrow_mut() = loc);
            } else {
                previous(info);
            }
        }));
    });
}

/// The message of a panic payload (`panic!("...")` gives a `&str` or a `String`).
fn payload_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Run `f` with its panics contained: `Err(message)` if it panicked (silently).
pub fn catch<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    install_hook();
    let was = CONTAINING.with(|c| c.replace(true));
    // AssertUnwindSafe: on a panic the decoder's state is dropped with the error (callers
    // never touch a reader again after it failed), so no broken invariant is observed.
    let r = catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(was));
    r.map_err(|p| {
        let msg: String = payload_message(p.as_ref())
            .trim()
            .chars()
            .take(300)
            .collect();
        let loc = LOCATION.with(|l| std::mem::take(&mut *l.borrow_mut()));
        if loc.is_empty() {
            msg
        } else {
            format!("{msg}, at {loc}")
        }
    })
}

/// The message for a decoder that panicked.
pub fn panicked(decoder: &str, msg: &str) -> String {
    format!(
        "{decoder} decoder failed on corrupt data (it panicked: {msg}); the file is not readable"
    )
}

/// Run `f`, one unit of decoding by `decoder` (e.g. `"Parquet"`) of `path` at `place`
/// (e.g. `"row group 3"`), turning a panic inside it into an input error naming them.
pub fn decode<T>(
    path: &Path,
    decoder: &str,
    place: &dyn std::fmt::Display,
    f: impl FnOnce() -> T,
) -> Result<T> {
    catch(f).map_err(|m| Error::input_at(path, place, panicked(decoder, &m)))
}

// ---------------------------------------------------------------------------------------
// Arrow IPC: declared lengths against the file size

use std::io::{Read, Seek, SeekFrom};

/// Compressed IPC buffers (lz4/zstd) declare their uncompressed length in an 8-byte prefix;
/// arrow-ipc allocates that many bytes before decompressing. Refuse lengths above this
/// ratio to the compressed length (past 16 MiB), the same rule as the `[input]`
/// decompression caps.
fn check_declared_decompressed(declared: i64, compressed: u64) -> std::result::Result<(), String> {
    if declared < 0 {
        return Ok(()); // -1: stored uncompressed
    }
    let l = super::source::limits();
    let allowed = compressed
        .saturating_mul(l.max_decompression_ratio)
        .max(16 << 20)
        .min(l.max_decompressed_bytes);
    if declared as u64 > allowed {
        return Err(format!(
            "a compressed buffer declares {declared} bytes uncompressed from {compressed} bytes (above the [input] decompression caps)"
        ));
    }
    Ok(())
}

/// Check one message (`meta` is its flatbuffer, the body starts at `body_start` and is
/// `body_len` bytes) of an IPC file of `file_len` bytes: the body fits in the file and no
/// compressed buffer declares more than the caps allow.
fn check_message<R: Read + Seek>(
    r: &mut R,
    meta: &[u8],
    body_start: u64,
    file_len: u64,
) -> std::result::Result<(), String> {
    let msg = arrow_ipc::root_as_message(meta).map_err(|e| format!("bad message header: {e}"))?;
    let body_len = msg.bodyLength();
    if body_len < 0 || body_start.saturating_add(body_len as u64) > file_len {
        return Err(format!(
            "a message declares a {body_len}-byte body at offset {body_start}, past the end of the {file_len}-byte file"
        ));
    }
    let batch = match msg.header_type() {
        arrow_ipc::MessageHeader::RecordBatch => msg.header_as_record_batch(),
        arrow_ipc::MessageHeader::DictionaryBatch => {
            msg.header_as_dictionary_batch().and_then(|d| d.data())
        }
        _ => None,
    };
    let Some(batch) = batch else { return Ok(()) };
    if batch.length() < 0 {
        return Err(format!("negative row count {}", batch.length()));
    }
    let Some(buffers) = batch.buffers() else {
        return Ok(());
    };
    for b in buffers.iter() {
        let (off, len) = (b.offset(), b.length());
        if off < 0 || len < 0 || (off as u64).saturating_add(len as u64) > body_len as u64 {
            return Err(format!(
                "a buffer at {off} of {len} bytes lies outside its {body_len}-byte message body"
            ));
        }
    }
    if batch.compression().is_none() {
        return Ok(());
    }
    for b in buffers.iter() {
        if b.length() < 8 {
            continue;
        }
        let mut prefix = [0u8; 8];
        r.seek(SeekFrom::Start(body_start + b.offset() as u64))
            .map_err(|e| e.to_string())?;
        r.read_exact(&mut prefix).map_err(|e| e.to_string())?;
        check_declared_decompressed(i64::from_le_bytes(prefix), b.length() as u64 - 8)?;
    }
    Ok(())
}

/// Read a 4-byte little-endian i32 message length (after an optional 0xFFFFFFFF
/// continuation marker) at the reader's position; `None` at the end-of-stream marker or
/// the end of the file.
fn read_meta_len<R: Read>(r: &mut R) -> std::result::Result<Option<(i32, u64)>, String> {
    let mut b = [0u8; 4];
    match r.read_exact(&mut b) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let mut used = 4;
    if b == [0xff; 4] {
        match r.read_exact(&mut b) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.to_string()),
        }
        used += 4;
    }
    let n = i32::from_le_bytes(b);
    if n == 0 {
        return Ok(None);
    }
    Ok(Some((n, used)))
}

/// Walk the messages of an IPC stream (`start` bytes into the file: 0 for a stream, 8 for
/// the stream inside an IPC file) and check every declared length against `file_len`.
fn walk_stream<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
    file_len: u64,
) -> std::result::Result<(), String> {
    let mut pos = start;
    r.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
    while pos < end {
        let Some((meta_len, used)) = read_meta_len(r)? else {
            return Ok(());
        };
        if meta_len < 0 || pos + used + meta_len as u64 > file_len {
            return Err(format!(
                "a message at offset {pos} declares {meta_len} bytes of metadata, past the end of the {file_len}-byte file"
            ));
        }
        let mut meta = vec![0u8; meta_len as usize];
        r.read_exact(&mut meta).map_err(|e| e.to_string())?;
        let body_start = pos + used + meta_len as u64;
        let body_len = arrow_ipc::root_as_message(&meta)
            .map_err(|e| format!("bad message header at offset {pos}: {e}"))?
            .bodyLength();
        check_message(r, &meta, body_start, file_len)?;
        pos = body_start + body_len as u64;
        r.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Check an Arrow IPC *stream* file before arrow-ipc reads it: every message's metadata and
/// body lie inside the file, and compressed buffers declare sane sizes. arrow-ipc allocates
/// the declared sizes before reading (a 1 TB allocation aborts the process; see
/// docs/upstream-panics.md).
pub fn check_ipc_stream<R: Read + Seek>(path: &Path, file: &mut R, len: u64) -> Result<()> {
    let r = walk_stream(file, 0, len, len);
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    r.map_err(|m| Error::input(path, format!("Arrow IPC stream: {m}")))
}

/// Check an Arrow IPC *file* before arrow-ipc reads it: the footer length, every block
/// listed in the footer, and the messages they point at, against the file size.
pub fn check_ipc_file<R: Read + Seek>(path: &Path, file: &mut R, len: u64) -> Result<()> {
    let r = check_ipc_file_inner(file, len);
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    r.map_err(|m| Error::input(path, format!("Arrow IPC file: {m}")))
}

fn check_ipc_file_inner<R: Read + Seek>(file: &mut R, len: u64) -> std::result::Result<(), String> {
    // "ARROW1" + 2 padding bytes, ..., footer, i32 footer length, "ARROW1".
    if len < 8 + 10 {
        return Err(format!("{len} bytes is too short for an Arrow IPC file"));
    }
    let mut tail = [0u8; 10];
    file.seek(SeekFrom::Start(len - 10))
        .map_err(|e| e.to_string())?;
    file.read_exact(&mut tail).map_err(|e| e.to_string())?;
    if &tail[4..] != b"ARROW1" {
        return Err("no ARROW1 magic at the end (truncated?)".into());
    }
    let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if footer_len < 0 || footer_len as u64 > len - 18 {
        return Err(format!(
            "footer length {footer_len} does not fit in the {len}-byte file"
        ));
    }
    let footer_start = len - 10 - footer_len as u64;
    let mut footer = vec![0u8; footer_len as usize];
    file.seek(SeekFrom::Start(footer_start))
        .map_err(|e| e.to_string())?;
    file.read_exact(&mut footer).map_err(|e| e.to_string())?;
    let f = arrow_ipc::root_as_footer(&footer).map_err(|e| format!("bad footer: {e}"))?;
    let blocks = f
        .recordBatches()
        .into_iter()
        .flatten()
        .chain(f.dictionaries().into_iter().flatten());
    for b in blocks {
        let (off, meta, body) = (b.offset(), b.metaDataLength(), b.bodyLength());
        if off < 0
            || meta < 0
            || body < 0
            || (off as u64)
                .saturating_add(meta as u64)
                .saturating_add(body as u64)
                > footer_start
        {
            return Err(format!(
                "a block at offset {off} ({meta} + {body} bytes) lies outside the file's data"
            ));
        }
        // The block's own message: metadata length prefix, flatbuffer, body.
        file.seek(SeekFrom::Start(off as u64))
            .map_err(|e| e.to_string())?;
        let Some((meta_len, used)) = read_meta_len(file)? else {
            return Err(format!("an empty message at offset {off}"));
        };
        if meta_len < 0 || used + meta_len as u64 > meta as u64 {
            return Err(format!(
                "the message at offset {off} declares {meta_len} bytes of metadata, more than its block's {meta}"
            ));
        }
        let mut m = vec![0u8; meta_len as usize];
        file.read_exact(&mut m).map_err(|e| e.to_string())?;
        check_message(file, &m, off as u64 + meta as u64, footer_start)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_input_error_naming_the_place() {
        let err = decode(Path::new("x.parquet"), "Parquet", &"row group 2", || {
            let v: Vec<u8> = Vec::new();
            #[allow(clippy::unnecessary_operation)]
            let _ = v[3];
        })
        .unwrap_err();
        let s = err.to_string();
        assert!(
            s.starts_with("x.parquet (row group 2): Parquet decoder"),
            "{s}"
        );
        assert!(s.contains("index out of bounds"), "{s}");
        assert_eq!(err.exit_code(), 2);
        // The flag is reset: later panics are not contained silently.
        assert!(!CONTAINING.with(Cell::get));
        assert_eq!(decode(Path::new("y"), "CSV", &"batch 0", || 7).unwrap(), 7);
    }

    #[test]
    fn declared_decompressed_sizes_are_capped() {
        assert!(check_declared_decompressed(-1, 10).is_ok());
        assert!(check_declared_decompressed(1 << 20, 10).is_ok());
        assert!(check_declared_decompressed(1 << 40, 10).is_err());
    }
}
