//! numpy `.npy` headers (`.npz` is a zip of them). Only object arrays carry a pickle: the
//! data after the header is `pickle.dump(array)`, which `numpy.load(allow_pickle=True)` runs.

/// What the header says.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub descr: String,
    /// The dtype contains Python objects (`|O`, or a structured dtype with an `O` field).
    pub object: bool,
    pub data_offset: usize,
}

pub fn header(data: &[u8]) -> Result<Header, String> {
    if data.len() < 10 || !data.starts_with(b"\x93NUMPY") {
        return Err("missing \\x93NUMPY magic".into());
    }
    let major = data[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([data[8], data[9]]) as usize, 10usize),
        2 | 3 => {
            if data.len() < 12 {
                return Err("truncated header".into());
            }
            (
                u32::from_le_bytes(data[8..12].try_into().unwrap()) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported format version {v}")),
    };
    let end = start
        .checked_add(hlen)
        .filter(|&e| e <= data.len())
        .ok_or("header runs past the end of the file")?;
    let text = std::str::from_utf8(&data[start..end]).map_err(|_| "header is not text")?;
    let at = text
        .find("'descr'")
        .or_else(|| text.find("\"descr\""))
        .ok_or("header has no 'descr'")?;
    let rest = text[at + 7..]
        .trim_start()
        .strip_prefix(':')
        .ok_or("malformed 'descr'")?
        .trim_start();
    // The value is a quoted dtype string or a list of (name, dtype[, shape]) tuples.
    let descr = if rest.starts_with('[') {
        let mut depth = 0i32;
        let mut endi = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '[' | '(' => depth += 1,
                ']' | ')' => {
                    depth -= 1;
                    if depth == 0 {
                        endi = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest[..endi].to_string()
    } else {
        let q = rest.chars().next().ok_or("empty 'descr'")?;
        let body = &rest[1..];
        let close = body.find(q).ok_or("unterminated 'descr'")?;
        body[..close].to_string()
    };
    let object = descr
        .trim_start_matches(['<', '>', '|', '='])
        .starts_with('O')
        || ["'O", "'|O", "\"O", "\"|O"]
            .iter()
            .any(|p| descr.starts_with('[') && descr.contains(p));
    Ok(Header {
        descr,
        object,
        data_offset: end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(h: &str) -> Vec<u8> {
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v
    }

    #[test]
    fn object_dtypes_are_recognised() {
        let h = header(&npy(
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n",
        ))
        .unwrap();
        assert!(h.object);
        let h = header(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n",
        ))
        .unwrap();
        assert!(!h.object && h.descr == "<f8");
        let h = header(&npy(
            "{'descr': [('a', '<i4'), ('b', '|O')], 'shape': (1,)}",
        ))
        .unwrap();
        assert!(h.object);
        assert!(header(b"\x93NUMPY\x01\x00\xff\xff{").is_err());
    }
}
