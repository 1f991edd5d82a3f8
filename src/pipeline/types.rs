//! Fail closed by type: what a rule may see, and the `wrong_type` message.
//!
//! Every action declares a small [`TypeSet`] in its own module
//! ([`crate::actions::ActionConfig::ACCEPTS`]). A value of a type outside its
//! rule's set sends the record to dead letters with `wrong_type`; it is
//! never copied through. Scalar rules (every action but `keep_subtree`,
//! `drop` and `generalize_location`) refuse objects and arrays, `keep`
//! included: nested data is described by nested rules (dotted paths), and
//! keeping a whole subtree is the explicit, visibly "unprotected"
//! `keep_subtree`. The record walk (`record.rs`), its test oracle
//! (`reference.rs`) and `explain` all read the sets through the registry.

pub use crate::actions::{JsonType, TypeSet};

/// The `wrong_type` message for the rule at configured `path`: it names the
/// path, the action and the types, never a value or a record's field name.
pub fn wrong_type_message(path: &str, action: &str, accepts: TypeSet, found: JsonType) -> String {
    format!("field `{path}`: {action} accepts {accepts}, not a JSON {}", found.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_path_action_and_types_only() {
        let m = wrong_type_message("user.ip", "truncate_ip", TypeSet::SCALARS, JsonType::Object);
        assert_eq!(m, "field `user.ip`: truncate_ip accepts string, number, boolean or null, not a JSON object");
    }
}
