//! `keep_subtree`: copy a whole value, objects and arrays included,
//! unchanged and unchecked.
//!
//! An explicit, visibly "unprotected" choice: `explain` marks the rule.
//! The record walk copies the raw bytes after checking the nesting limit
//! and refusing what serde_json would refuse to decode (lone surrogates,
//! numbers beyond `f64`), so the output always parses.

use serde::Deserialize;

use super::{ActionConfig, ConfigError, Transform, TypeSet};
use crate::keys::KeyStore;

/// `keep_subtree` takes no parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepSubtreeConfig {}

/// Compiled `keep_subtree`: the walk copies the raw bytes.
#[derive(Debug)]
pub struct KeepSubtree;

impl ActionConfig for KeepSubtreeConfig {
    const NAME: &'static str = "keep_subtree";
    const ACCEPTS: TypeSet = TypeSet::ANY;
    const PARAMETERS: bool = false;
    const UNPROTECTED: bool = true;
    const TRANSFORMS: bool = false;
    type Compiled = KeepSubtree;

    fn compile(&self, _keys: &KeyStore) -> Result<KeepSubtree, ConfigError> {
        Ok(KeepSubtree)
    }

    fn explain(&self) -> String {
        "**unprotected**: the whole value, nested objects and arrays included, kept as is".into()
    }
}

impl Transform for KeepSubtree {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ActionSpec;

    #[test]
    fn takes_anything_and_is_marked_unprotected() {
        assert_eq!(KeepSubtreeConfig::ACCEPTS, TypeSet::ANY);
        assert!(ActionSpec::KeepSubtree(KeepSubtreeConfig {}).unprotected());
        assert!(KeepSubtreeConfig {}.explain().starts_with("**unprotected**"));
        assert!(toml::from_str::<KeepSubtreeConfig>("depth = 3").is_err());
    }
}
