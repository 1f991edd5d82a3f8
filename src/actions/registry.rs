//! The registry: one line per field action. Everything that lists actions
//! (the names, parsing a rule, compiling it, the record walk's dispatch,
//! `explain`, the accepted JSON types) is generated from this list by
//! [`define_registry!`](super::action::define_registry).
//!
//! Adding an action: write its module (config, compile, apply, explain,
//! tests; see [`super::action`]), declare it in `actions/mod.rs`, and add
//! its line here.

use super::action::define_registry;
use super::*;

define_registry! {
    /// Copy a scalar unchanged; an object or array is `wrong_type`.
    Keep(keep::KeepConfig),
    /// Copy a whole value, containers included, unchecked ("unprotected").
    KeepSubtree(keep_subtree::KeepSubtreeConfig),
    /// Remove the field.
    Drop(drop::DropConfig),
    /// Zero the host bits of an IP address.
    TruncateIp(truncate_ip::TruncateIpConfig),
    /// Keyed prefix-preserving IP pseudonym (Crypto-PAn).
    PseudonymizeIp(pseudonymize_ip::PseudonymizeIpConfig),
    /// Keyed HMAC-SHA256 pseudonym.
    Pseudonymize(pseudonymize::PseudonymizeConfig),
    /// Keep the last characters of a card or account number.
    Mask(mask::MaskConfig),
    /// Truncate a timestamp, keeping its format.
    CoarsenTime(coarsen_time::CoarsenTimeConfig),
    /// Reduce a URL to its origin or path.
    Url(url::UrlConfig),
    /// Replace a user-agent by coarse classes.
    ReduceUserAgent(reduce_user_agent::ReduceUserAgentConfig),
    /// Replace personal data found in free text by labels.
    Redact(redact::action::RedactConfig),
    /// Put a number into a configured range.
    Bucket(bucket::BucketConfig),
    /// Keep only some levels of a location object.
    GeneralizeLocation(generalize_location::GeneralizeLocationConfig),
    /// Reduce an Accept-Language header to its primary language.
    Language(language::LanguageConfig),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::JsonType;

    /// A minimal valid rule for every registered action.
    fn minimal(name: &str) -> toml::Value {
        let extra = match name {
            "pseudonymize_ip" => "key = \"ids\"",
            "pseudonymize" => "key = \"ids\"\nscope = \"s\"",
            "coarsen_time" => "to = \"hour\"",
            "bucket" => "bounds = [1]",
            "generalize_location" => "keep = [\"city\"]",
            _ => "",
        };
        toml::from_str(extra).unwrap()
    }

    #[test]
    fn every_name_round_trips() {
        let mut seen = std::collections::BTreeSet::new();
        for name in ActionSpec::NAMES {
            assert!(seen.insert(name), "{name} registered twice");
            let spec = ActionSpec::parse(name, minimal(name)).unwrap().unwrap();
            assert_eq!(spec.name(), name);
            assert_eq!(ActionSpec::takes_parameters(name), Some(spec_has_params(&spec)));
            assert!(!spec.explain().is_empty(), "{name}");
        }
        assert!(ActionSpec::parse("hash", minimal("hash")).is_none());
        assert_eq!(ActionSpec::takes_parameters("hash"), None);
    }

    fn spec_has_params(spec: &ActionSpec) -> bool {
        !matches!(
            spec,
            ActionSpec::Keep(_)
                | ActionSpec::KeepSubtree(_)
                | ActionSpec::Drop(_)
                | ActionSpec::ReduceUserAgent(_)
                | ActionSpec::Language(_)
        )
    }

    /// Only `keep_subtree` and `drop` take containers as a whole; only
    /// `generalize_location` looks into an object; nothing but those and
    /// `keep` takes a boolean.
    #[test]
    fn scalar_rules_refuse_containers() {
        for name in ActionSpec::NAMES {
            let spec = ActionSpec::parse(name, minimal(name)).unwrap().unwrap();
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
            assert_eq!(spec.transforms(), !matches!(name, "keep" | "keep_subtree" | "drop"));
        }
    }
}
