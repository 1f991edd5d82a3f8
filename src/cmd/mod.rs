//! One file per command; each exposes its clap arguments and a `run`.

pub mod check;
pub mod demo;
pub mod explain;
pub mod generate;
pub mod keygen;
pub mod process;
pub mod run;
pub mod schemas;
pub mod test_cases;
