//! Which JSON types each field action accepts: the one table that decides
//! what a rule may see ("fail closed by type").
//!
//! Every action has a small [`TypeSet`]. A value of a type outside its
//! rule's set sends the record to dead letters with `wrong_type`; it is
//! never copied through. Scalar rules (every action but `keep_subtree`,
//! `drop` and `generalize_location`) refuse objects and arrays, `keep`
//! included: nested data is described by nested rules (dotted paths), and
//! keeping a whole subtree is the explicit, visibly "unprotected"
//! `keep_subtree`. The record walk (`record.rs`), its test oracle
//! (`reference.rs`) and `explain` all read this table.

use std::fmt;

use super::spec::ActionSpec;

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

impl ActionSpec {
    /// The JSON types this action accepts; any other type is `wrong_type`.
    /// `null` is accepted everywhere and written as `null` (it carries
    /// nothing personal).
    pub fn accepts(&self) -> TypeSet {
        use JsonType::{Null, Number, Object, String};
        match self {
            ActionSpec::Keep => TypeSet::SCALARS,
            ActionSpec::KeepSubtree | ActionSpec::Drop => TypeSet::ANY,
            ActionSpec::TruncateIp { .. }
            | ActionSpec::PseudonymizeIp { .. }
            | ActionSpec::Url { .. }
            | ActionSpec::ReduceUserAgent
            | ActionSpec::Redact { .. }
            | ActionSpec::Language => TypeSet::of(&[String, Null]),
            ActionSpec::Pseudonymize { .. }
            | ActionSpec::Mask { .. }
            | ActionSpec::CoarsenTime { .. }
            | ActionSpec::Bucket { .. } => TypeSet::of(&[String, Number, Null]),
            ActionSpec::GeneralizeLocation { .. } => TypeSet::of(&[Object, Null]),
        }
    }

    /// Whether values under this rule leave the pipeline without any
    /// transformation or type check below the rule's own level (`explain`
    /// marks such a rule "unprotected").
    pub fn unprotected(&self) -> bool {
        matches!(self, ActionSpec::KeepSubtree)
    }
}

/// The `wrong_type` message for the rule at configured `path`: it names the
/// path, the action and the types, never a value or a record's field name.
pub fn wrong_type_message(path: &str, action: &str, accepts: TypeSet, found: JsonType) -> String {
    format!("field `{path}`: {action} accepts {accepts}, not a JSON {}", found.name())
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

    /// Only `keep_subtree` and `drop` take containers as a whole; only
    /// `generalize_location` looks into an object; nothing but those and
    /// `keep` takes a boolean.
    #[test]
    fn scalar_rules_refuse_containers() {
        for name in ActionSpec::NAMES {
            let table = match name {
                "truncate_ip" | "reduce_user_agent" | "language" | "keep" | "drop"
                | "keep_subtree" => toml::Value::String(name.into()),
                other => {
                    let extra = match other {
                        "pseudonymize_ip" => "key = \"ids\"",
                        "pseudonymize" => "key = \"ids\"\nscope = \"s\"",
                        "coarsen_time" => "to = \"hour\"",
                        "bucket" => "bounds = [1]",
                        "generalize_location" => "keep = [\"city\"]",
                        _ => "",
                    };
                    toml::from_str(&format!("action = \"{other}\"\n{extra}")).unwrap()
                }
            };
            let spec = super::super::spec::parse_rule(&table).unwrap();
            let accepts = spec.accepts();
            assert!(accepts.contains(JsonType::Null), "{name}");
            let containers = matches!(name, "keep_subtree" | "drop");
            assert_eq!(accepts.contains(JsonType::Array), containers, "{name}");
            assert_eq!(
                accepts.contains(JsonType::Object),
                containers || name == "generalize_location",
                "{name}"
            );
            assert_eq!(accepts.contains(JsonType::Boolean), containers || name == "keep", "{name}");
            assert_eq!(spec.unprotected(), name == "keep_subtree", "{name}");
        }
    }
}
