//! Small JSON writing helpers for the record path: escaped strings into a
//! reused byte buffer, without building any JSON tree.

pub use crate::actions::json::write_str;

/// Appends `"key":` with `key` escaped.
pub fn key_prefix(key: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(key.len() + 3);
    write_str(&mut v, key);
    v.push(b':');
    v
}

/// Appends the first `len` bytes of `window` (all of it when `len` is
/// larger) with one fixed-size copy instead of a `memcpy` call: the whole
/// window is appended, then the excess cut off again. For short keys and
/// values, where the call costs more than the copy.
#[inline(always)]
pub fn push_prefix<const N: usize>(out: &mut Vec<u8>, window: &[u8; N], len: usize) {
    let at = out.len();
    out.extend_from_slice(window);
    out.truncate(at + len.min(N));
}

/// Appends `bytes[start..end]`, with [`push_prefix`] of a 16-byte window
/// when the value is that short and the input has 16 bytes from `start`
/// (a kept scalar is followed at least by the record's closing brace).
///
/// # Panics
/// When `start..end` is not a range of `bytes` (as slicing would).
#[inline(always)]
pub fn push_range(out: &mut Vec<u8>, bytes: &[u8], start: usize, end: usize) {
    match bytes.get(start..).and_then(<[u8]>::first_chunk::<16>) {
        Some(window) if end >= start && end - start <= 16 => push_prefix(out, window, end - start),
        _ => out.extend_from_slice(&bytes[start..end]),
    }
}

/// Whether a raw JSON value nests containers deeper than `remaining` levels
/// (a scalar is depth 0, `[]` depth 1). Strings are skipped correctly.
pub fn nesting_exceeds(raw: &[u8], remaining: usize) -> bool {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for &b in raw {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > remaining {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        for s in ["plain", "quo\"te", "back\\slash", "nl\n tab\t cr\r", "\u{1}\u{1f}", "中文 ✓", ""]
        {
            let mut out = Vec::new();
            write_str(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }

    proptest::proptest! {
        /// The fixed-size copies append exactly what a plain slice copy does.
        #[test]
        fn short_copies_equal_slice_copies(
            before in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            a in 0usize..64,
            b in 0usize..64,
            len in 0usize..40,
        ) {
            let (start, end) = (a.min(b).min(bytes.len()), a.max(b).min(bytes.len()));
            let mut fast = before.clone();
            push_range(&mut fast, &bytes, start, end);
            let mut plain = before.clone();
            plain.extend_from_slice(&bytes[start..end]);
            proptest::prop_assert_eq!(&fast, &plain);

            let mut window = [0u8; 32];
            for (w, b) in window.iter_mut().zip(&bytes) {
                *w = *b;
            }
            let mut fast = before.clone();
            push_prefix(&mut fast, &window, len);
            let mut plain = before;
            plain.extend_from_slice(&window[..len.min(32)]);
            proptest::prop_assert_eq!(fast, plain);
        }
    }

    #[test]
    fn nesting() {
        assert!(!nesting_exceeds(b"1", 0));
        assert!(nesting_exceeds(b"[]", 0));
        assert!(!nesting_exceeds(b"[[1]]", 2));
        assert!(nesting_exceeds(b"[[[1]]]", 2));
        assert!(!nesting_exceeds(br#"{"a":"[[[[["}"#, 1));
        assert!(!nesting_exceeds(br#"["\"[[[["]"#, 1));
    }
}
