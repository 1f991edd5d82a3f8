//! `drop`: remove the field. The record walk skips the value (still
//! validating it and enforcing the nesting limit) and writes nothing.

use serde::Deserialize;

use super::{ActionConfig, ConfigError, Transform, TypeSet};
use crate::keys::KeyStore;

/// `drop` takes no parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropConfig {}

/// Compiled `drop`: the walk skips the value.
#[derive(Debug)]
pub struct Drop;

impl ActionConfig for DropConfig {
    const NAME: &'static str = "drop";
    const ACCEPTS: TypeSet = TypeSet::ANY;
    const PARAMETERS: bool = false;
    const TRANSFORMS: bool = false;
    type Compiled = Drop;

    fn compile(&self, _keys: &KeyStore) -> Result<Drop, ConfigError> {
        Ok(Drop)
    }

    fn explain(&self) -> String {
        "removed".into()
    }
}

impl Transform for Drop {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ActionSpec;

    #[test]
    fn takes_anything_and_no_parameters() {
        assert_eq!(DropConfig::ACCEPTS, TypeSet::ANY);
        assert!(!ActionSpec::Drop(DropConfig {}).unprotected());
        assert!(toml::from_str::<DropConfig>("why = 1").is_err());
        assert_eq!(DropConfig {}.explain(), "removed");
    }
}
