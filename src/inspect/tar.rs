//! ustar/GNU tar members, in memory (legacy PyTorch `torch.save` tar files: `sys_info`,
//! `pickle`, `storages`, `tensors`).

#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub offset: usize,
    pub size: usize,
}

const MAX_ENTRIES: usize = 1 << 16;

fn octal(b: &[u8]) -> Option<usize> {
    // GNU base-256 for large sizes
    if b.first().is_some_and(|c| c & 0x80 != 0) {
        let mut v: usize = 0;
        for &c in &b[1..] {
            v = v.checked_mul(256)?.checked_add(c as usize)?;
        }
        return Some(v);
    }
    let s = std::str::from_utf8(b).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    usize::from_str_radix(s, 8).ok()
}

/// Regular-file members. Long names (GNU `L` records) are honoured.
pub fn list(data: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut off = 0usize;
    let mut long_name: Option<String> = None;
    while off + 512 <= data.len() && out.len() < MAX_ENTRIES {
        let h = &data[off..off + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size =
            octal(&h[124..136]).ok_or_else(|| format!("bad size field in the header at {off}"))?;
        let body = off + 512;
        if body.checked_add(size).is_none_or(|e| e > data.len()) {
            return Err(format!("member at {off} runs past the end of the archive"));
        }
        let raw_name = &h[..100];
        let mut name = String::from_utf8_lossy(
            &raw_name[..raw_name.iter().position(|&b| b == 0).unwrap_or(100)],
        )
        .into_owned();
        if &h[257..262] == b"ustar" && h[345] != 0 {
            let p = &h[345..500];
            let prefix =
                String::from_utf8_lossy(&p[..p.iter().position(|&b| b == 0).unwrap_or(p.len())])
                    .into_owned();
            name = format!("{prefix}/{name}");
        }
        match h[156] {
            b'L' => {
                let n = &data[body..body + size];
                long_name = Some(
                    String::from_utf8_lossy(
                        &n[..n.iter().position(|&b| b == 0).unwrap_or(n.len())],
                    )
                    .into_owned(),
                );
            }
            b'0' | 0 | b'7' => {
                out.push(Entry {
                    name: super::clean(&long_name.take().unwrap_or(name)),
                    offset: body,
                    size,
                });
            }
            _ => {
                long_name = None;
            }
        }
        off = body + size.div_ceil(512) * 512;
    }
    Ok(out)
}
