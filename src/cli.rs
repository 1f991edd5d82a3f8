//! Command-line interface: argument parsing and dispatch to [`crate::cmd`].
//!
//! `main.rs` only calls [`main`]; every command lives in its own file under
//! `src/cmd/` and returns a typed result, so commands are testable as
//! library functions.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd;

/// logveil: desensitize logs that carry personal information, on Kafka.
#[derive(Debug, Parser)]
#[command(name = "logveil", version, about, long_about = None)]
pub struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `info` or `logveil=debug`.
    /// Default: `info`, `warn` for `demo` (its report goes to stdout).
    #[arg(long, global = true, env = "LOGVEIL_LOG")]
    pub log: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: consumer group on all pipelines' topics.
    Run(cmd::run::RunArgs),
    /// Zero-setup demo on an embedded Kafka-protocol broker.
    Demo(cmd::demo::DemoArgs),
    /// Run one pipeline over files or stdin, JSON lines to stdout.
    Process(cmd::process::ProcessArgs),
    /// Validate config, pipelines and key availability.
    Check(ConfigArg),
    /// Run the `[[tests]]` cases inside pipeline files.
    Test(cmd::test_cases::TestArgs),
    /// Print the record of processing (Markdown) from the real config.
    Explain(cmd::explain::ExplainArgs),
    /// Print a fresh random key (64 hex characters).
    Keygen(cmd::keygen::KeygenArgs),
    /// Print the seeded reference access-log workload (JSON lines).
    Generate(cmd::generate::GenerateArgs),
}

/// `--config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Service config file.
    #[arg(long, env = "LOGVEIL_CONFIG", default_value = crate::config::DEFAULT_CONFIG)]
    pub config: PathBuf,
}

/// Parses arguments, sets up logging, runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = if matches!(cli.command, Command::Demo(_)) { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_new(cli.log.as_deref().unwrap_or(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Process(a) => cmd::process::run(a),
        Command::Check(a) => cmd::check::run(&a.config),
        Command::Test(a) => cmd::test_cases::run(a),
        Command::Explain(a) => cmd::explain::run(a),
        Command::Keygen(a) => cmd::keygen::run(a),
        Command::Generate(a) => cmd::generate::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
