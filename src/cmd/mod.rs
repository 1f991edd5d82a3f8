//! One file per command; each exposes its clap arguments and a `run`.
//! [`load`] is the shared second phase of loading the config (keys and
//! pipelines).

pub mod check;
pub mod demo;
pub mod explain;
pub mod generate;
pub mod keygen;
pub mod load;
pub mod process;
pub mod run;
pub mod schemas;
pub mod test_cases;
