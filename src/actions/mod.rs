//! Field actions: the vocabulary of pipeline rules.
//!
//! Each action is one module that owns its config type, its compile step,
//! its apply functions, the JSON types it accepts, its `explain` text and
//! its unit tests ([`action`] says what each provides). [`registry`] lists
//! them, one line per action, and generates the dispatch enums
//! [`ActionSpec`] (as written) and [`Action`] (compiled). Actions know no
//! Kafka and no record layout: the walk in [`crate::pipeline`] hands them
//! one decoded value at a time.
//!
//! Helpers shared by several actions: [`ip`] (IP text parsing and writing),
//! [`cryptopan`] (the Crypto-PAn cipher), [`user_agent`] (the classifier
//! and its cache), [`json`] (JSON types, sets of them, string writing).

pub mod action;
pub mod bucket;
pub mod coarsen_time;
pub mod cryptopan;
pub mod drop;
pub mod generalize_location;
pub mod ip;
pub mod json;
pub mod keep;
pub mod keep_subtree;
pub mod language;
pub mod mask;
pub mod pseudonymize;
pub mod pseudonymize_ip;
pub mod redact;
pub mod reduce_user_agent;
pub mod registry;
pub mod truncate_ip;
pub mod url;
pub mod user_agent;

pub use action::{key_ring, ActionConfig, ConfigError, Emit, Number, Outcome, Transform};
pub use json::{write_plain_quoted, write_str, JsonType, TypeSet};
pub use registry::{Action, ActionSpec};
