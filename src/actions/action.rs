//! What every field action provides, and the macro that turns the one list
//! in [`super::registry`] into the dispatch enums.
//!
//! An action is one module (`truncate_ip.rs`, `mask.rs`, ...) that owns:
//! - its **config** type: serde, `deny_unknown_fields`, a `///` doc on every
//!   field, defaults from named functions (phase one, as written);
//! - its **compile** step, [`ActionConfig::compile`]: config → immutable
//!   compiled action, failing with a [`ConfigError`] that names the
//!   sub-field and the problem, never a value (phase two);
//! - its **apply** functions, [`Transform`]: one value in, written or
//!   dropped; the record walk and its serde_json oracle both call them;
//! - the JSON types it accepts ([`ActionConfig::ACCEPTS`]);
//! - its `explain` text ([`ActionConfig::explain`]);
//! - its unit tests.
//!
//! [`define_registry!`] generates [`super::ActionSpec`] (config as written)
//! and [`super::Action`] (compiled) with one variant per registry line, and
//! every dispatching method as a plain `match`, so the record walk calls an
//! action through a static match, never a `dyn` call per field.

use crate::keys::{KeyRing, KeyStore};

use super::json::TypeSet;
use super::user_agent::UserAgentCache;

/// A pipeline-file mistake in one rule's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The parameter at fault (`ipv4_prefix`), or `""` for the rule as a whole.
    pub field: &'static str,
    /// What is wrong, naming no value.
    pub problem: String,
}

impl ConfigError {
    /// An error about parameter `field`.
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        ConfigError { field, problem: problem.into() }
    }
}

/// The key ring `name` (a rule's `key`), or the error saying how to load it.
///
/// # Errors
/// A [`ConfigError`] on `key` when the ring is not loaded.
pub fn key_ring<'k>(keys: &'k KeyStore, name: &str) -> Result<&'k KeyRing, ConfigError> {
    keys.ring(name).ok_or_else(|| {
        ConfigError::new(
            "key",
            format!(
                "key ring `{name}` is not loaded (set {} or configure [keys.{name}])",
                crate::keys::env_var_for(name)
            ),
        )
    })
}

/// A field action's configuration as written in a pipeline file.
pub trait ActionConfig {
    /// The name written in pipeline files (`action = "truncate_ip"`), also a
    /// metric label.
    const NAME: &'static str;
    /// The JSON types the action accepts; any other is `wrong_type`. `null`
    /// is in every set and written as `null` (it carries nothing personal).
    const ACCEPTS: TypeSet;
    /// Whether the rule has parameters (`false`: any key besides `action`
    /// is refused with "takes no parameters").
    const PARAMETERS: bool = true;
    /// Whether values under the rule leave the pipeline without any
    /// transformation or type check below the rule's own level (`explain`
    /// marks such a rule "unprotected").
    const UNPROTECTED: bool = false;
    /// Whether the action rewrites values, so that one it cannot rewrite is
    /// removed (`explain` says so); `keep`, `keep_subtree` and `drop` do not.
    const TRANSFORMS: bool = true;
    /// The compiled, immutable form the record walk uses.
    type Compiled: Transform;

    /// Validates the parameters and builds the compiled action once, at load.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the parameter and the problem.
    fn compile(&self, keys: &KeyStore) -> Result<Self::Compiled, ConfigError>;

    /// Plain-language treatment for the record of processing (`explain`).
    fn explain(&self) -> String;

    /// The key ring the rule needs, if any (keys are loaded before pipelines
    /// are compiled).
    fn key_ring(&self) -> Option<&str> {
        None
    }
}

/// Whether a transformed value was written or its field dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The output value was appended.
    Written,
    /// Nothing was appended; the field is removed and counted.
    Dropped,
}

/// A JSON number as serde_json types it, with the text actions see.
#[derive(Debug, Clone, Copy)]
pub enum Number<'a> {
    /// An integer that fits `i64`, with its decimal text.
    Int(i64, &'a str),
    /// An integer above `i64::MAX` (up to `u64::MAX`), as decimal text.
    BigInt(&'a str),
    /// Any other number (finite).
    Float(f64),
}

/// Where an action writes one value, and the per-worker state it may use.
/// Output is JSON: a string value is appended with its quotes.
pub struct Emit<'a> {
    /// The record being written.
    pub out: &'a mut Vec<u8>,
    /// Scratch text, reused across values (clear before use).
    pub tmp: &'a mut String,
    /// The worker's user-agent cache.
    pub ua: &'a mut UserAgentCache,
    /// The wall clock, read at most once per record.
    pub now_ms: &'a mut Option<i64>,
    /// Pre-escaped `"<field>_prev":` of the field, for dual-written pseudonyms.
    pub prev_key: &'a [u8],
}

/// A compiled action applied to one value. The walk calls a method only for
/// a type in the action's [`ActionConfig::ACCEPTS`]; the defaults drop the
/// field (fail closed). `keep`, `keep_subtree`, `drop` and the levels of
/// `generalize_location` copy or skip raw bytes, which only the record walk
/// can do: they keep these defaults.
pub trait Transform {
    /// Applies the action to a string value.
    #[inline]
    fn apply_str(&self, _value: &str, _emit: &mut Emit<'_>) -> Outcome {
        Outcome::Dropped
    }

    /// Applies the action to a number.
    #[inline]
    fn apply_number(&self, _value: Number<'_>, _emit: &mut Emit<'_>) -> Outcome {
        Outcome::Dropped
    }

    /// Id of the key this action uses (the provenance header's `key_id`).
    fn key_id(&self) -> Option<&str> {
        None
    }
}

/// Generates [`super::ActionSpec`] and [`super::Action`] from the registry
/// list (`Variant(ConfigType),` one per action) and their dispatch.
macro_rules! define_registry {
    ($( $(#[$doc:meta])* $variant:ident($config:ty), )+) => {
        /// A field rule as written: one variant per registered action,
        /// holding that action's config type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ActionSpec {
            $( $(#[$doc])* $variant($config), )+
        }

        /// A compiled field action: one variant per registered action.
        #[derive(Debug)]
        pub enum Action {
            $( $(#[$doc])* $variant(<$config as $crate::actions::ActionConfig>::Compiled), )+
        }

        impl ActionSpec {
            /// Every action name, in registry order.
            pub const NAMES: [&'static str; [$(stringify!($variant)),+].len()] =
                [$(<$config as $crate::actions::ActionConfig>::NAME),+];

            /// The action's name as written in pipeline files (also a metric label).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => <$config as $crate::actions::ActionConfig>::NAME, )+
                }
            }

            /// Parses the parameters of action `name` (the rule without its
            /// `action` key); `None` for an unknown name.
            pub fn parse(name: &str, params: toml::Value) -> Option<Result<ActionSpec, String>> {
                use serde::Deserialize as _;
                $(
                    if name == <$config as $crate::actions::ActionConfig>::NAME {
                        return Some(<$config>::deserialize(params)
                            .map(Self::$variant)
                            .map_err(|e| e.message().to_string()));
                    }
                )+
                None
            }

            /// Whether action `name` takes parameters (`None`: unknown name).
            pub fn takes_parameters(name: &str) -> Option<bool> {
                $(
                    if name == <$config as $crate::actions::ActionConfig>::NAME {
                        return Some(<$config as $crate::actions::ActionConfig>::PARAMETERS);
                    }
                )+
                None
            }

            /// The JSON types this action accepts; any other type is `wrong_type`.
            pub fn accepts(&self) -> $crate::actions::TypeSet {
                match self {
                    $( Self::$variant(_) => <$config as $crate::actions::ActionConfig>::ACCEPTS, )+
                }
            }

            /// Whether values under this rule leave unchecked ("unprotected").
            pub fn unprotected(&self) -> bool {
                match self {
                    $( Self::$variant(_) => <$config as $crate::actions::ActionConfig>::UNPROTECTED, )+
                }
            }

            /// Whether the action rewrites values (one it cannot rewrite is removed).
            pub fn transforms(&self) -> bool {
                match self {
                    $( Self::$variant(_) => <$config as $crate::actions::ActionConfig>::TRANSFORMS, )+
                }
            }

            /// Plain-language treatment for the record of processing (`explain`).
            pub fn explain(&self) -> String {
                match self {
                    $( Self::$variant(c) => $crate::actions::ActionConfig::explain(c), )+
                }
            }

            /// The key ring the rule needs, if any.
            pub fn key_ring(&self) -> Option<&str> {
                match self {
                    $( Self::$variant(c) => $crate::actions::ActionConfig::key_ring(c), )+
                }
            }

            /// Compiles the rule.
            ///
            /// # Errors
            /// A [`ConfigError`]($crate::actions::ConfigError) naming the
            /// parameter and the problem.
            pub fn compile(
                &self,
                keys: &$crate::keys::KeyStore,
            ) -> Result<Action, $crate::actions::ConfigError> {
                Ok(match self {
                    $( Self::$variant(c) => Action::$variant($crate::actions::ActionConfig::compile(c, keys)?), )+
                })
            }
        }

        impl Action {
            /// Applies the action to a string value.
            #[inline]
            pub fn apply_str(
                &self,
                value: &str,
                emit: &mut $crate::actions::Emit<'_>,
            ) -> $crate::actions::Outcome {
                match self {
                    $( Self::$variant(a) => $crate::actions::Transform::apply_str(a, value, emit), )+
                }
            }

            /// Applies the action to a number.
            #[inline]
            pub fn apply_number(
                &self,
                value: $crate::actions::Number<'_>,
                emit: &mut $crate::actions::Emit<'_>,
            ) -> $crate::actions::Outcome {
                match self {
                    $( Self::$variant(a) => $crate::actions::Transform::apply_number(a, value, emit), )+
                }
            }

            /// Id of the key the action uses, if any.
            pub fn key_id(&self) -> Option<&str> {
                match self {
                    $( Self::$variant(a) => $crate::actions::Transform::key_id(a), )+
                }
            }
        }
    };
}

pub(crate) use define_registry;

/// Running one compiled action on one value, for the actions' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Emit, Number, Outcome, Transform};
    use crate::actions::user_agent::UserAgentCache;

    fn run(f: impl FnOnce(&mut Emit<'_>) -> Outcome) -> Option<String> {
        let (mut out, mut tmp, mut ua, mut now) =
            (Vec::new(), String::new(), UserAgentCache::new(4), None);
        let mut emit =
            Emit { out: &mut out, tmp: &mut tmp, ua: &mut ua, now_ms: &mut now, prev_key: b"" };
        match f(&mut emit) {
            Outcome::Written => Some(String::from_utf8(out).expect("actions write UTF-8")),
            Outcome::Dropped => {
                assert!(out.is_empty(), "a dropped value appended output");
                None
            }
        }
    }

    /// The JSON an action writes for string `value`, `None` when dropped.
    pub fn apply_str(action: &impl Transform, value: &str) -> Option<String> {
        run(|emit| action.apply_str(value, emit))
    }

    /// The JSON an action writes for a number, `None` when dropped.
    pub fn apply_number(action: &impl Transform, value: Number<'_>) -> Option<String> {
        run(|emit| action.apply_number(value, emit))
    }
}
