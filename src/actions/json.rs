//! JSON value types and sets of them (what a field action accepts), and
//! writing JSON strings into a reused byte buffer.
//!
//! Every action declares the [`TypeSet`] it accepts
//! ([`super::ActionConfig::ACCEPTS`]); a value of a type outside its rule's
//! set sends the record to dead letters with `wrong_type` and is never
//! copied through. The record walk, its test oracle and `explain` read the
//! sets through the registry.

use std::fmt;

/// A JSON value's type, as the record walk sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `"..."`
    String,
    /// `12`, `-1.5e3`
    Number,
    /// `true`, `false`
    Boolean,
    /// `null`
    Null,
    /// `{...}`
    Object,
    /// `[...]`
    Array,
}

impl JsonType {
    /// Every type, in the order they are listed.
    pub const ALL: [JsonType; 6] = [
        JsonType::String,
        JsonType::Number,
        JsonType::Boolean,
        JsonType::Null,
        JsonType::Object,
        JsonType::Array,
    ];

    /// The type's name in messages and `explain` (`string`, `object`, ...).
    pub fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
            JsonType::Object => "object",
            JsonType::Array => "array",
        }
    }

    /// The type of the JSON value starting with `byte`, if it can start one.
    #[inline]
    pub fn of_first_byte(byte: u8) -> Option<JsonType> {
        Some(match byte {
            b'"' => JsonType::String,
            b'-' | b'0'..=b'9' => JsonType::Number,
            b't' | b'f' => JsonType::Boolean,
            b'n' => JsonType::Null,
            b'{' => JsonType::Object,
            b'[' => JsonType::Array,
            _ => return None,
        })
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of JSON types.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TypeSet(u8);

impl TypeSet {
    /// Strings, numbers, booleans and null: what `keep` and a
    /// `generalize_location` level accept.
    pub const SCALARS: TypeSet =
        TypeSet::of(&[JsonType::String, JsonType::Number, JsonType::Boolean, JsonType::Null]);
    /// Every type.
    pub const ANY: TypeSet = TypeSet::of(&JsonType::ALL);

    /// The set of `types`.
    pub const fn of(types: &[JsonType]) -> TypeSet {
        let mut bits = 0;
        let mut i = 0;
        while i < types.len() {
            bits |= types[i].bit();
            i += 1;
        }
        TypeSet(bits)
    }

    /// Whether `t` is in the set.
    #[inline]
    pub fn contains(self, t: JsonType) -> bool {
        self.0 & t.bit() != 0
    }

    /// Whether the set holds a container type (a value of it is copied or
    /// looked into as a whole).
    pub fn has_containers(self) -> bool {
        self.contains(JsonType::Object) || self.contains(JsonType::Array)
    }

    /// The types in the set, in [`JsonType::ALL`] order.
    pub fn types(self) -> impl Iterator<Item = JsonType> {
        JsonType::ALL.into_iter().filter(move |t| self.contains(*t))
    }
}

impl fmt::Display for TypeSet {
    /// `string, number or null`; `any` for every type.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == TypeSet::ANY {
            return f.write_str("any");
        }
        let names: Vec<&str> = self.types().map(JsonType::name).collect();
        match names.split_last() {
            None => f.write_str("nothing"),
            Some((last, [])) => f.write_str(last),
            Some((last, rest)) => write!(f, "{} or {last}", rest.join(", ")),
        }
    }
}

impl fmt::Debug for TypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypeSet({self})")
    }
}

/// Whether `bytes` has a byte JSON must escape: `"`, `\\` or a control
/// character below 0x20 (non-ASCII UTF-8 is written as is).
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // The top bit of a byte is set for the lowest escaped byte of the word
    // (higher ones may follow through borrows, which only start at a real
    // hit, so "any" is exact; a non-ASCII byte never flags by itself).
    let flags = |w: u64| {
        let quote = w ^ (LO * u64::from(b'"'));
        let backslash = w ^ (LO * u64::from(b'\\'));
        (w.wrapping_sub(LO * 0x20) & !w)
            | (quote.wrapping_sub(LO) & !quote)
            | (backslash.wrapping_sub(LO) & !backslash)
    };
    let word = |chunk: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        u64::from_le_bytes(w)
    };
    let mut acc = 0u64;
    if bytes.len() >= 8 {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            acc |= flags(word(chunk));
        }
        if !chunks.remainder().is_empty() {
            // The last eight bytes again: overlapping is harmless for "any".
            acc |= flags(word(&bytes[bytes.len() - 8..]));
        }
    } else {
        // Padded with a letter, which needs no escape.
        let mut padded = [b'a'; 8];
        padded[..bytes.len()].copy_from_slice(bytes);
        acc = flags(u64::from_le_bytes(padded));
    }
    acc & HI != 0
}

/// Appends `s` as a JSON string literal (with quotes), escaping as needed.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most values need no escaping: check eight bytes at a time.
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xf) as usize],
                ]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `s` quoted, for text known to need no JSON escaping (IP text,
/// digits, language tags, timestamps).
#[inline]
pub fn write_plain_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(s);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_types_in_order() {
        assert_eq!(TypeSet::SCALARS.to_string(), "string, number, boolean or null");
        assert_eq!(TypeSet::of(&[JsonType::Object]).to_string(), "object");
        assert_eq!(TypeSet::of(&[]).to_string(), "nothing");
        assert_eq!(TypeSet::ANY.to_string(), "any");
        assert!(TypeSet::ANY.has_containers());
        assert!(!TypeSet::SCALARS.has_containers());
    }

    #[test]
    fn first_bytes() {
        for (b, t) in [
            (b'"', JsonType::String),
            (b'-', JsonType::Number),
            (b'7', JsonType::Number),
            (b't', JsonType::Boolean),
            (b'f', JsonType::Boolean),
            (b'n', JsonType::Null),
            (b'{', JsonType::Object),
            (b'[', JsonType::Array),
        ] {
            assert_eq!(JsonType::of_first_byte(b), Some(t));
        }
        assert_eq!(JsonType::of_first_byte(b'x'), None);
    }

    proptest::proptest! {
        /// The word-at-a-time test against the byte-wise definition, and
        /// what is written against serde_json's escaping.
        #[test]
        fn escape_test_and_output_match_serde(
            s in "[ -~]{0,20}|\\PC{0,12}|[a-z\"\\\\\\x00-\\x1f\\x7f\\u{80}\\u{e9}\\u{2028}]{0,20}",
        ) {
            let b = s.as_bytes();
            let expected = b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
            proptest::prop_assert_eq!(needs_escape(b), expected, "{:?}", s);
            let mut out = Vec::new();
            write_str(&mut out, &s);
            let back: String = serde_json::from_slice(&out).map_err(|e| {
                proptest::test_runner::TestCaseError::fail(e.to_string())
            })?;
            proptest::prop_assert_eq!(back, s);
        }
    }
}
