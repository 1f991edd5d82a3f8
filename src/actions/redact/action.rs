//! `redact` as a field action: its config, compile step, apply function,
//! accepted types and `explain` text. The detectors and the [`Redactor`]
//! that runs them are the rest of this folder.

use serde::Deserialize;

use super::{Detector, Redactor};
use crate::actions::{
    write_str, ActionConfig, ConfigError, Emit, JsonType, Outcome, Transform, TypeSet,
};
use crate::keys::KeyStore;

/// `{ action = "redact", detectors = ["email", "phone"] }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactConfig {
    /// Detectors to run (default: all).
    #[serde(default = "default_detectors")]
    pub detectors: Vec<Detector>,
}

fn default_detectors() -> Vec<Detector> {
    Detector::ALL.to_vec()
}

/// Compiled `redact` (boxed: the action enum stays small).
#[derive(Debug)]
pub struct Redact(Box<Redactor>);

impl ActionConfig for RedactConfig {
    const NAME: &'static str = "redact";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Null]);
    type Compiled = Redact;

    fn compile(&self, _keys: &KeyStore) -> Result<Redact, ConfigError> {
        if self.detectors.is_empty() {
            return Err(ConfigError::new("detectors", "at least one detector is required"));
        }
        Ok(Redact(Box::new(Redactor::new(&self.detectors))))
    }

    fn explain(&self) -> String {
        let names: Vec<&str> = self.detectors.iter().map(|d| d.name()).collect();
        format!("free text: detected {} replaced by labels", names.join(", "))
    }
}

impl Transform for Redact {
    /// Free text is always written, with every hit replaced by its label.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        emit.tmp.clear();
        self.0.redact(value, emit.tmp);
        write_str(emit.out, emit.tmp);
        Outcome::Written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::action::testing::apply_str;

    #[test]
    fn config_compile_apply_and_explain() {
        let all: RedactConfig = toml::from_str("").unwrap();
        assert_eq!(all.detectors, Detector::ALL.to_vec());
        let none: RedactConfig = toml::from_str("detectors = []").unwrap();
        let e = none.compile(&KeyStore::default()).unwrap_err();
        assert_eq!(e.field, "detectors");
        assert!(toml::from_str::<RedactConfig>("detectors = [\"dna\"]").is_err());
        assert!(toml::from_str::<RedactConfig>("detector = [\"email\"]").is_err());
        let email: RedactConfig = toml::from_str("detectors = [\"email\"]").unwrap();
        assert_eq!(email.explain(), "free text: detected email replaced by labels");
        let a = email.compile(&KeyStore::default()).unwrap();
        let out = apply_str(&a, "write to \"bob\" at bob.li@example.com").unwrap();
        assert!(!out.contains("bob.li@example.com"), "{out}");
        assert!(out.starts_with("\"write to \\\"bob\\\" at "), "{out}");
        // The oracle: the redactor run directly.
        let mut direct = String::new();
        Redactor::new(&[Detector::Email])
            .redact("write to \"bob\" at bob.li@example.com", &mut direct);
        assert_eq!(serde_json::from_str::<String>(&out).unwrap(), direct);
    }
}
