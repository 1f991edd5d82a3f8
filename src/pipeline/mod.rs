//! Pipelines: one per data category, from TOML file to fast compiled object.
//!
//! - [`spec`]: the file format as written (serde).
//! - [`compile`]: validation and compilation into an immutable [`Pipeline`]
//!   (each rule compiled by its action module through the registry).
//! - [`record`]: the per-record hot path ([`Pipeline::process`]).
//! - [`clf`]: `common`/`combined` web server log lines into JSON.
//! - [`json_out`]: JSON writing helpers.
//! - [`set`]: all pipelines of a folder, routed by topic.
//! - [`types`]: fail closed by type (the sets themselves are declared by each
//!   action in [`crate::actions`]).

pub mod clf;
pub mod compile;
pub mod json_out;
pub mod record;
// The test oracle; also built for the fuzz targets (`--cfg fuzzing`).
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod reference;
pub mod set;
pub mod spec;
pub mod types;

pub use compile::{Pipeline, PipelineError};
pub use record::Scratch;
pub use set::PipelineSet;
