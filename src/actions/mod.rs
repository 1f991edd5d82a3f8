//! Field actions: the vocabulary of pipeline rules.
//!
//! Each file owns one action (or a family) as pure functions or small
//! compiled objects with no knowledge of JSON or Kafka; the record path in
//! [`crate::pipeline`] calls them. Names match the user-facing action names.

pub mod bucket;
pub mod cryptopan;
pub mod ip;
pub mod language;
pub mod mask;
pub mod pseudonymize;
pub mod redact;
pub mod time;
pub mod url;
pub mod user_agent;
