//! `reduce_user_agent`: replace a User-Agent header by coarse classes
//! (browser family and major version, OS family, device class).
//!
//! The classification and its per-worker cache are
//! [`super::user_agent`]; every output string comes from a fixed set, so no
//! byte of the input reaches the output except the digits of the major
//! version.

use serde::Deserialize;

use super::{ActionConfig, ConfigError, Emit, JsonType, Outcome, Transform, TypeSet};
use crate::keys::KeyStore;

/// `reduce_user_agent` takes no parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceUserAgentConfig {}

/// Compiled `reduce_user_agent`.
#[derive(Debug)]
pub struct ReduceUserAgent;

impl ActionConfig for ReduceUserAgentConfig {
    const NAME: &'static str = "reduce_user_agent";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Null]);
    const PARAMETERS: bool = false;
    type Compiled = ReduceUserAgent;

    fn compile(&self, _keys: &KeyStore) -> Result<ReduceUserAgent, ConfigError> {
        Ok(ReduceUserAgent)
    }

    fn explain(&self) -> String {
        "user-agent replaced by browser family and major version, OS family and device class; \
         model, build and minor versions removed"
            .into()
    }
}

impl Transform for ReduceUserAgent {
    /// Every text has a class (`Other` at worst): always written, as a JSON
    /// object, through the worker's cache.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        emit.ua.write_reduced(value, emit.out);
        Outcome::Written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::action::testing::apply_str;
    use crate::actions::user_agent::classify;

    /// The oracle is the classifier called directly, without the cache.
    #[test]
    fn writes_the_classification_and_takes_no_parameters() {
        let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 \
                  (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        let mut direct = Vec::new();
        classify(ua).write_json(&mut direct);
        let a = ReduceUserAgentConfig {}.compile(&KeyStore::default()).unwrap();
        assert_eq!(apply_str(&a, ua), Some(String::from_utf8(direct).unwrap()));
        let out = apply_str(&a, ua).unwrap();
        assert!(!out.contains("17_4") && !out.contains("605"), "{out}");
        assert!(apply_str(&a, "").is_some());
        assert!(toml::from_str::<ReduceUserAgentConfig>("cache = 3").is_err());
        assert!(ReduceUserAgentConfig {}.explain().contains("major version"));
    }
}
