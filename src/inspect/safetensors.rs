//! safetensors: pure data, nothing executes when it is loaded — but a header whose offsets
//! overlap, leave gaps, disagree with dtype × shape or run past the file is what loaders have
//! read out of bounds on, so the header is validated with the reference `safetensors` crate
//! (the same checks `safetensors.safe_open` makes) rather than by hand.

use super::{read_at, ByteSource};

/// The largest header accepted: the reference implementation's own limit (100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// Checks the header of a safetensors file: its length field, the JSON (UTF-8, an object),
/// each tensor's dtype × shape against its `data_offsets`, offsets contiguous from 0 without
/// overlap, and the data section ending exactly at the end of the file. Only the header is
/// read. Returns the number of tensors.
pub fn check(src: &dyn ByteSource) -> Result<usize, String> {
    let len = src.len();
    let head = read_at(src, 0, 8.min(len)).map_err(|e| format!("cannot read: {e}"))?;
    if head.len() < 8 {
        return Err("safetensors header: file shorter than the 8-byte length field".into());
    }
    let n = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER {
        return Err(format!(
            "safetensors header: declared length {n} exceeds the {MAX_HEADER}-byte limit"
        ));
    }
    if n > len - 8 {
        return Err(format!(
            "safetensors header: declared length {n} runs past the end of the file ({len} bytes)"
        ));
    }
    let json = read_at(src, 8, n).map_err(|e| format!("cannot read: {e}"))?;
    if json.first() != Some(&b'{') {
        return Err("safetensors header: does not start with '{'".into());
    }
    let meta: safetensors::tensor::Metadata =
        serde_json::from_slice(&json).map_err(|e| format!("safetensors header invalid: {e}"))?;
    let data = len - 8 - n;
    if meta.data_len() as u64 != data {
        return Err(format!(
            "safetensors header: tensors cover {} bytes but the file holds {data} after the header",
            meta.data_len()
        ));
    }
    Ok(meta.tensors().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::Mem;

    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.resize(v.len() + data, 0);
        v
    }

    #[test]
    fn valid_header_passes() {
        let f = file(
            r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}}"#,
            19,
        );
        assert_eq!(check(&Mem(&f)), Ok(2));
    }

    #[test]
    fn overlapping_short_and_long_files_are_refused() {
        let overlap = file(
            r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
            6,
        );
        assert!(check(&Mem(&overlap)).is_err());
        let wrong_size = file(
            r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,4]}}"#,
            4,
        );
        assert!(check(&Mem(&wrong_size)).is_err());
        let short = file(
            r#"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#,
            4,
        );
        assert!(check(&Mem(&short)).unwrap_err().contains("cover 8 bytes"));
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert!(check(&Mem(&huge)).unwrap_err().contains("exceeds"));
        assert!(check(&Mem(b"\x05\0\0")).is_err());
    }
}
