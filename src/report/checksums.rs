//! Checksum lists: `hash --format b3sum|sha256sum`, the check files of the coreutils-style
//! tools (`b3sum --check`, `sha256sum -c`). Not a report format: there is no verdict, only
//! the manifest's entries in those tools' own line syntax and escaping.

use crate::integrity::manifest::{decode_path, EntryKind, Manifest};
use crate::report::text::clean;
use std::io::{self, Write};

/// Which tool's check-file lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumFormat {
    /// `b3sum --check`: BLAKE3.
    B3sum,
    /// `sha256sum -c`: SHA-256 (the manifest must record it).
    Sha256sum,
}

impl ChecksumFormat {
    pub fn name(self) -> &'static str {
        match self {
            ChecksumFormat::B3sum => "b3sum",
            ChecksumFormat::Sha256sum => "sha256sum",
        }
    }
}

/// coreutils-style check lines: `<hex>  <path>`. A name containing `\` or a newline (or,
/// for b3sum, a carriage return) is escaped and the line prefixed with `\`, as both tools
/// expect. Symlink entries are left out (those tools follow links and would hash the
/// target's content), as are, for b3sum, names that are not valid UTF-8 (b3sum cannot open
/// them); each omission is passed to `note` (stderr) with the name escaped.
pub fn write(
    m: &Manifest,
    format: ChecksumFormat,
    out: &mut dyn Write,
    note: &mut dyn FnMut(String),
) -> io::Result<()> {
    for e in &m.files {
        if e.kind == EntryKind::Symlink {
            note(format!(
                "{}: symlink left out of the {} list",
                clean(&e.path),
                format.name()
            ));
            continue;
        }
        let raw = decode_path(&e.path).map_err(io::Error::other)?;
        let (digest, b3) = match format {
            ChecksumFormat::B3sum => (e.blake3.as_str(), true),
            ChecksumFormat::Sha256sum => (e.sha256.as_deref().unwrap_or_default(), false),
        };
        if b3 && std::str::from_utf8(&raw).is_err() {
            note(format!(
                "warning: {}: name is not valid UTF-8, which b3sum --check cannot open; left out (use the JSON manifest)",
                clean(&e.path)
            ));
            continue;
        }
        let needs = raw
            .iter()
            .any(|&c| c == b'\\' || c == b'\n' || (b3 && c == b'\r'));
        let mut name = Vec::with_capacity(raw.len() + 2);
        for &c in &raw {
            match c {
                b'\\' if needs => name.extend_from_slice(b"\\\\"),
                b'\n' => name.extend_from_slice(b"\\n"),
                b'\r' if b3 => name.extend_from_slice(b"\\r"),
                c => name.push(c),
            }
        }
        if needs {
            out.write_all(b"\\")?;
        }
        out.write_all(digest.as_bytes())?;
        out.write_all(b"  ")?;
        out.write_all(&name)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
