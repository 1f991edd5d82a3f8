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

/// Appends `s` as a JSON string literal (with quotes), escaping as needed.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most values need no escaping: check without branching per byte.
    let needs_escape =
        bytes.iter().fold(false, |acc, &b| acc | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if !needs_escape {
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
}
