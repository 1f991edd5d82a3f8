//! The query string of `url`: listed parameters kept as written, matched
//! by their decoded name; a value the classifier flags replaced by its
//! placeholder.

use percent_encoding::percent_decode_str;

use super::{before_byte, find_byte, split_at_byte};
use crate::classify::{classify, could_be_identifier};

/// Appends `?a=1&b=2` made of the parameters whose decoded name is listed, as
/// written, except that a value the classifier flags (judged form-decoded)
/// is replaced by its placeholder.
pub(super) fn push_kept_params(query: Option<&str>, keep_params: &[String], out: &mut String) {
    let Some(mut rest) = query else {
        return;
    };
    let mut separator = '?';
    loop {
        let (pair, tail) = split_at_byte(rest, b'&').map_or((rest, None), |(p, t)| (p, Some(t)));
        if !pair.is_empty() {
            let name = before_byte(pair, b'=');
            if keep_params.iter().any(|kept| decoded_name_is(name, kept)) {
                out.push(separator);
                match split_at_byte(pair, b'=').and_then(|(_, value)| value_kind(value)) {
                    Some(placeholder) => {
                        out.push_str(name);
                        out.push('=');
                        out.push_str(placeholder);
                    }
                    None => out.push_str(pair),
                }
                separator = '&';
            }
        }
        match tail {
            Some(t) => rest = t,
            None => return,
        }
    }
}

/// The placeholder for a query value the classifier flags, judged on its
/// form-decoded text (`+` as space, then percent-decoding).
fn value_kind(value: &str) -> Option<&'static str> {
    if !could_be_identifier(value) {
        return None;
    }
    let spaced;
    let value = if find_byte(value, b'+').is_some() {
        spaced = value.replace('+', " ");
        spaced.as_str()
    } else {
        value
    };
    // Decoded up to three times, so a double-encoded value (`alice%2540…`)
    // is judged as what a lenient reader would finally see.
    let mut decoded: std::borrow::Cow<'_, str> = percent_decode_str(value).decode_utf8_lossy();
    for _ in 0..2 {
        if find_byte(&decoded, b'%').is_none() {
            break;
        }
        let again = percent_decode_str(&decoded).decode_utf8_lossy().into_owned();
        decoded = std::borrow::Cow::Owned(again);
    }
    classify(&decoded).map(|kind| kind.placeholder())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Compares a form-encoded name with `target` without allocating: `%XX` decodes to a
/// byte, `+` to a space; a `%` not followed by two hex digits stands for itself.
fn decoded_name_is(encoded: &str, target: &str) -> bool {
    let bytes = encoded.as_bytes();
    let mut expected = target.bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex_value(hi).zip(hex_value(lo)),
            _ => None,
        };
        let decoded = match (escaped, b) {
            (Some((hi, lo)), _) => {
                i += 3;
                hi << 4 | lo
            }
            (None, b'+') => {
                i += 1;
                b' '
            }
            (None, _) => {
                i += 1;
                b
            }
        };
        if expected.next() != Some(decoded) {
            return false;
        }
    }
    expected.next().is_none()
}
