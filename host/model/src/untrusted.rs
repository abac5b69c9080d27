//! Showing text a plugin chose (a name, a URI, a version) to people: in log lines,
//! refusal messages and `berth plugins list`, where a line break, an escape sequence or a
//! right-to-left override could forge a line or hide what is there. Pure functions, no
//! I/O; `logging` escapes every log field with the same rule.

use std::fmt::{self, Write as _};

/// Whether `c` is escaped when shown: control characters (C0, DEL, C1) and the
/// formatting characters that are invisible or reorder text: zero-width and directional
/// marks, embeddings, overrides and isolates, line and paragraph separators, and the
/// byte-order mark.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Writes `text` to `out` with every character [`needs_escape`] names escaped: `\n`,
/// `\r`, `\t`, and `\u{…}` for the rest.
pub fn write_escaped(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    let mut clean = 0;
    for (at, c) in text.char_indices() {
        if !needs_escape(c) {
            continue;
        }
        out.write_str(&text[clean..at])?;
        match c {
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            _ => write!(out, "\\u{{{:x}}}", c as u32)?,
        }
        clean = at + c.len_utf8();
    }
    out.write_str(&text[clean..])
}

/// `text` with every character [`needs_escape`] names escaped, whatever its length: for
/// host-written text that may quote a plugin's (a schema's complaint).
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = write_escaped(&mut out, text);
    out
}

/// Longest plugin-chosen text a message quotes whole; longer text is cut with a mark.
pub const SHOWN_CHARS: usize = 128;

/// `text` as a message may quote it: escaped ([`write_escaped`]) and cut to
/// [`SHOWN_CHARS`] characters, saying how many more there were.
pub fn shown(text: &str) -> String {
    let mut out = String::new();
    let cut = text.char_indices().nth(SHOWN_CHARS).map(|(at, _)| at);
    let head = &text[..cut.unwrap_or(text.len())];
    // Writing to a String cannot fail.
    let _ = write_escaped(&mut out, head);
    if let Some(at) = cut {
        let more = text[at..].chars().count();
        let _ = write!(out, "… [{more} more characters]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_forge_or_hide_and_cuts_long_text() {
        assert_eq!(shown("text"), "text");
        assert_eq!(
            shown("a\nb\r\tc\u{1b}[2J\u{0}\u{202e}d"),
            "a\\nb\\r\\tc\\u{1b}[2J\\u{0}\\u{202e}d"
        );
        let long = "é".repeat(SHOWN_CHARS + 5);
        assert_eq!(
            shown(&long),
            format!("{}… [5 more characters]", "é".repeat(SHOWN_CHARS))
        );
    }
}
