//! `keep`: copy a scalar (string, number, boolean, null) unchanged.
//!
//! The value's bytes are copied through by the record walk (after the same
//! strict checks a decoded value gets, so the output always parses); an
//! object or array is refused (`wrong_type`): nested data is described by
//! nested rules, and keeping a whole subtree is the explicit
//! [`keep_subtree`](super::keep_subtree).

use serde::Deserialize;

use super::{ActionConfig, ConfigError, Transform, TypeSet};
use crate::keys::KeyStore;

/// `keep` takes no parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepConfig {}

/// Compiled `keep`: the walk copies the raw bytes.
#[derive(Debug)]
pub struct Keep;

impl ActionConfig for KeepConfig {
    const NAME: &'static str = "keep";
    const ACCEPTS: TypeSet = TypeSet::SCALARS;
    const PARAMETERS: bool = false;
    const TRANSFORMS: bool = false;
    type Compiled = Keep;

    fn compile(&self, _keys: &KeyStore) -> Result<Keep, ConfigError> {
        Ok(Keep)
    }

    fn explain(&self) -> String {
        "kept as is (scalars only)".into()
    }
}

impl Transform for Keep {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::JsonType;

    #[test]
    fn scalars_only_and_no_parameters() {
        assert!(KeepConfig::ACCEPTS.contains(JsonType::String));
        assert!(KeepConfig::ACCEPTS.contains(JsonType::Boolean));
        assert!(!KeepConfig::ACCEPTS.has_containers());
        let e = toml::from_str::<KeepConfig>("subtree = true").unwrap_err();
        assert!(e.message().contains("subtree"), "{e}");
    }
}
