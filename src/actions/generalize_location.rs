//! `generalize_location`: keep only some levels of a location object
//! (`{"country": .., "region": .., "city": .., "lat": ..}` → country and
//! region).
//!
//! The record walk carries it out on the raw object, since it looks inside
//! one: listed levels are copied through (scalars only, each at most once:
//! a repeated level is `duplicate_field`, an object or array under a level
//! is `wrong_type`), every other member is skipped. This module owns the
//! config, its validation, the accepted types and the `explain` text.

use serde::Deserialize;

use super::{ActionConfig, ConfigError, JsonType, Transform, TypeSet};
use crate::keys::KeyStore;

/// Most levels a rule may keep (repeated levels are found with a 64-bit set).
pub const MAX_LEVELS: usize = 64;

/// `{ action = "generalize_location", keep = ["country", "region"] }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneralizeLocationConfig {
    /// Levels kept, e.g. `["country", "region"]` (1 to 64 distinct names).
    pub keep: Vec<String>,
}

/// Compiled `generalize_location`: the levels the walk keeps.
#[derive(Debug)]
pub struct GeneralizeLocation {
    levels: Vec<String>,
}

impl GeneralizeLocation {
    /// The kept levels, in configured order (at most [`MAX_LEVELS`], distinct).
    #[inline]
    pub fn levels(&self) -> &[String] {
        &self.levels
    }
}

impl ActionConfig for GeneralizeLocationConfig {
    const NAME: &'static str = "generalize_location";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::Object, JsonType::Null]);
    type Compiled = GeneralizeLocation;

    fn compile(&self, _keys: &KeyStore) -> Result<GeneralizeLocation, ConfigError> {
        let keep = &self.keep;
        if keep.is_empty() {
            return Err(ConfigError::new("keep", "list at least one level"));
        }
        if keep.len() > MAX_LEVELS {
            return Err(ConfigError::new("keep", format!("at most {MAX_LEVELS} levels")));
        }
        for (i, level) in keep.iter().enumerate() {
            if level.is_empty() {
                return Err(ConfigError::new("keep", "a level name cannot be empty"));
            }
            if keep[..i].contains(level) {
                return Err(ConfigError::new("keep", format!("level `{level}` is listed twice")));
            }
        }
        Ok(GeneralizeLocation { levels: keep.clone() })
    }

    fn explain(&self) -> String {
        format!("location generalized: only {} kept", self.keep.join(", "))
    }
}

/// The walk copies the kept levels itself; values of other types never
/// reach the action ([`GeneralizeLocationConfig::ACCEPTS`]).
impl Transform for GeneralizeLocation {}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(toml_text: &str) -> Result<GeneralizeLocation, ConfigError> {
        toml::from_str::<GeneralizeLocationConfig>(toml_text).unwrap().compile(&KeyStore::default())
    }

    #[test]
    fn levels_are_validated() {
        assert_eq!(compile("keep = []").unwrap_err().problem, "list at least one level");
        assert_eq!(compile("keep = [\"\"]").unwrap_err().problem, "a level name cannot be empty");
        let e = compile("keep = [\"city\", \"city\"]").unwrap_err();
        assert_eq!((e.field, e.problem.as_str()), ("keep", "level `city` is listed twice"));
        let many: Vec<String> = (0..=MAX_LEVELS).map(|i| format!("\"l{i}\"")).collect();
        let e = compile(&format!("keep = [{}]", many.join(","))).unwrap_err();
        assert_eq!(e.problem, "at most 64 levels");
        let ok = compile("keep = [\"country\", \"region\"]").unwrap();
        assert_eq!(ok.levels(), ["country".to_string(), "region".to_string()]);
        assert!(toml::from_str::<GeneralizeLocationConfig>("levels = [\"city\"]").is_err());
    }

    #[test]
    fn looks_into_objects_only_and_explains() {
        assert!(GeneralizeLocationConfig::ACCEPTS.contains(JsonType::Object));
        assert!(!GeneralizeLocationConfig::ACCEPTS.contains(JsonType::String));
        let c: GeneralizeLocationConfig = toml::from_str("keep = [\"country\"]").unwrap();
        assert_eq!(c.explain(), "location generalized: only country kept");
    }
}
