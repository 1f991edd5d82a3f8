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
