//! `logveil generate`: print the seeded reference access-log workload as
//! JSON lines (for benchmarks and trying pipelines; see `fixtures/workload.rs`).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use crate::workload::AccessLogGenerator;

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Number of records.
    #[arg(long, default_value_t = 1000)]
    pub records: u64,
    /// Seed: the same seed gives byte-identical records.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Writes the records to stdout.
///
/// # Errors
/// I/O errors other than a closed pipe.
pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut g = AccessLogGenerator::new(args.seed);
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buf = Vec::with_capacity(1024);
    for _ in 0..args.records {
        buf.clear();
        g.write_record(&mut buf);
        buf.push(b'\n');
        if let Err(e) = out.write_all(&buf) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
