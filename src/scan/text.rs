//! Decoded text of scanned strings (borrowed or unescaped) and byte
//! positions as serde_json's line and column.

use super::{hex_val, StrSpan};

/// The text of a string scanned by [`Cursor::string`] without escapes,
/// borrowed from the input, without checking its UTF-8 again (re-validating
/// cost ~5% of the record path).
///
/// # Safety
/// `span` must have been returned by [`Cursor::string`] on a cursor over
/// this same `bytes`. That scan checked every byte of the span: ASCII bytes
/// other than `"`, `\` and controls pass, and each non-ASCII byte must start
/// a complete, well-formed UTF-8 sequence (`utf8_len`, the table of RFC 3629
/// §4), which it then steps over as a whole; so the span is valid UTF-8 and
/// starts and ends on character boundaries. A span from any other input
/// could cut a character. Debug builds check.
#[inline]
pub(crate) unsafe fn span_str(bytes: &[u8], span: StrSpan) -> &str {
    let raw = &bytes[span.start..span.end];
    debug_assert!(std::str::from_utf8(raw).is_ok());
    // SAFETY: valid UTF-8 by the caller's contract above.
    unsafe { std::str::from_utf8_unchecked(raw) }
}

pub(super) fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let h = bytes.get(at..at + 4)?;
    Some(hex_val(h[0])? << 12 | hex_val(h[1])? << 8 | hex_val(h[2])? << 4 | hex_val(h[3])?)
}

/// Appends the decoded text of a string's raw contents (escapes resolved) to
/// `out`. The contents must have passed a strict [`Cursor::string`] scan,
/// so escapes are well-formed, surrogates paired and the rest valid UTF-8;
/// returns false if that is not so.
pub fn unescape(raw: &[u8], out: &mut String) -> bool {
    let mut i = 0;
    while i < raw.len() {
        let Some(rel) = raw[i..].iter().position(|&b| b == b'\\') else {
            return push_utf8(&raw[i..], out);
        };
        if !push_utf8(&raw[i..i + rel], out) {
            return false;
        }
        i += rel;
        let c = match raw.get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let Some(n) = hex4(raw, i + 2) else { return false };
                if (0xd800..=0xdbff).contains(&n) {
                    let Some(n2) = hex4(raw, i + 8) else { return false };
                    let c = 0x1_0000 + ((u32::from(n) - 0xd800) << 10 | (u32::from(n2) - 0xdc00));
                    let Some(c) = char::from_u32(c) else { return false };
                    out.push(c);
                    i += 12;
                    continue;
                }
                let Some(c) = char::from_u32(u32::from(n)) else { return false };
                out.push(c);
                i += 6;
                continue;
            }
            _ => return false,
        };
        out.push(c);
        i += 2;
    }
    true
}

fn push_utf8(bytes: &[u8], out: &mut String) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            out.push_str(s);
            true
        }
        Err(_) => false,
    }
}

/// The line and column serde_json reports for an error at byte `pos` (the
/// offending byte, or the end of input): lines from 1, the column counts
/// the bytes of its line up to and including the offending one.
pub fn line_column(bytes: &[u8], pos: usize) -> (usize, usize) {
    let end = (pos + 1).min(bytes.len());
    let line_start = bytes[..end].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = bytes[..line_start].iter().filter(|&&b| b == b'\n').count() + 1;
    (line, end - line_start)
}
