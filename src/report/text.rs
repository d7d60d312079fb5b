//! Text from input, made safe to print on a terminal.
//!
//! File names, log values, column names and parser messages are attacker-controlled. Printed
//! raw, a carriage return lets a file name overwrite the start of its line (a name ending in
//! `\rverify: PASS` forges the verdict), a newline forges whole lines, and an ESC sequence
//! can clear the screen or hide what follows. So every human-readable output (tables,
//! summaries, notes, warnings, errors) passes input-derived text through [`clean`], which
//! shows control characters escaped. Machine formats (JSON, SARIF, JUnit, OCSF) keep exact
//! values, encoded by their serialisers; b3sum/sha256sum check lines use those tools' own
//! escaping (see `report/checksums.rs`).

use std::borrow::Cow;
use std::fmt;

/// Would `c` change what a terminal shows beyond printing a glyph? C0 and C1 controls and
/// DEL (`char::is_control`), plus the Unicode bidirectional overrides and isolates, which
/// reorder the text around them ("Trojan Source").
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character escaped: `\n`, `\r`, `\t` as those two-character
/// sequences, anything else as `\u{1b}` (Rust's escape syntax). Borrowed when there is
/// nothing to escape (the common case).
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`clean`] as a `Display` adapter, for `format!("{}", Clean(&name))`.
pub struct Clean<'a>(pub &'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clean(self.0))
    }
}

/// A path for human output: lossy UTF-8, then [`clean`].
pub fn path(p: &std::path::Path) -> String {
    clean(&p.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("plain/name.csv"), "plain/name.csv");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(clean("x\rverify: PASS"), "x\\rverify: PASS");
        assert_eq!(clean("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(clean("\u{1b}[2Jhidden"), "\\u{1b}[2Jhidden");
        assert_eq!(clean("del\u{7f}"), "del\\u{7f}");
        assert_eq!(clean("c1\u{9b}"), "c1\\u{9b}");
        assert_eq!(clean("rtl\u{202e}cod.exe"), "rtl\\u{202e}cod.exe");
        // Non-ASCII text that is not a control character is kept.
        assert_eq!(clean("données-ü.csv"), "données-ü.csv");
    }
}
