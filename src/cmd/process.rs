//! `logveil process`: one pipeline over files or stdin, JSON lines out.
//!
//! For backfills and for trying rules. Each input line is one record. A
//! record that fails goes to the dead-letter file (default: stderr) as a
//! dead-letter JSON object with its line number, and processing continues.
//! `--stats` also computes the pipeline's statistics and writes the rows.
//! Records go through the same engine seam as the Kafka service
//! ([`Anonymizer`]), so output, dead letters and statistics are built by
//! one code path. A summary goes to stderr at the end; a progress bar is shown on stderr
//! when it is a terminal and the input is a file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::anonymizer::{AnonWorker, Anonymizer};
use crate::config::Config;
use crate::dead_letter::{DeadLetter, DeadLetterSource};
use crate::error::ErrorCode;
use crate::keys::{KeyStore, ProcessEnv};
use crate::pipeline::compile::referenced_rings;
use crate::pipeline::{Pipeline, PipelineError, PipelineSet};
use crate::processor::{Disposition, OutputKind, OutputRecord, RecordProcessor, SourceRecord};

/// Arguments of `process`.
#[derive(Debug, clap::Args)]
pub struct ProcessArgs {
    /// Pipeline file (e.g. `pipelines/access_log.toml`).
    #[arg(long)]
    pub pipeline: PathBuf,
    /// Input files; `-` (default) is stdin.
    #[arg(long, default_values_t = vec!["-".to_string()])]
    pub input: Vec<String>,
    /// Output file; `-` (default) is stdout.
    #[arg(long, default_value = "-")]
    pub output: String,
    /// Dead-letter file (JSON lines); default: stderr.
    #[arg(long)]
    pub dead_letter: Option<PathBuf>,
    /// Also compute the pipeline's statistics and write the rows here.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Config file whose `[keys.*]` tables are used (keys also come from `LOGVEIL_KEY_*`).
    #[arg(long, env = "LOGVEIL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Use the well-known test keys (key id `test`): for trying rules only, never for real data.
    #[arg(long)]
    pub test_keys: bool,
}

/// Counts for the end-of-run summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Lines read.
    pub read: u64,
    /// Records written.
    pub written: u64,
    /// Dead letters by error code.
    pub dead_lettered: BTreeMap<ErrorCode, u64>,
    /// Fields dropped because their value could not be transformed, by field path.
    pub fields_dropped: BTreeMap<String, u64>,
    /// Statistics rows written.
    pub stats_rows: u64,
}

impl Summary {
    /// Total dead letters.
    pub fn dead_total(&self) -> u64 {
        self.dead_lettered.values().sum()
    }
}

/// Where the records go.
pub struct Sinks<'a> {
    /// Desensitized records.
    pub output: &'a mut dyn Write,
    /// Dead letters.
    pub dead: &'a mut dyn Write,
    /// Statistics rows, when computed.
    pub stats: Option<&'a mut dyn Write>,
}

/// One pipeline behind the same engine seam the Kafka service uses
/// ([`Anonymizer`]): a file's lines are records of the pipeline's first
/// input topic, partition 0, numbered from 0 across all inputs.
pub struct FileRun {
    anon: Anonymizer,
    worker: AnonWorker,
    topic: String,
    next_offset: i64,
    /// The first output error inside the engine's sink, reported after it returns.
    error: Option<io::Error>,
}

impl FileRun {
    /// Runs `pipeline`; its statistics only when `with_stats`.
    ///
    /// # Errors
    /// A pipeline without input topics cannot form a set.
    pub fn new(mut pipeline: Pipeline, with_stats: bool) -> Result<Self, PipelineError> {
        if !with_stats {
            pipeline.stats.clear();
        }
        let topic = pipeline.input_topics.first().cloned().unwrap_or_default();
        let anon = Anonymizer::new(PipelineSet::new(vec![pipeline])?);
        let worker = anon.new_worker();
        Ok(FileRun { anon, worker, topic, next_offset: 0, error: None })
    }

    fn rule_path(&self, rule: usize) -> Option<&str> {
        let p = self.anon.pipelines().pipelines().first()?;
        p.rules.get(rule).map(|r| r.path.as_str())
    }
}

/// Hands the engine's outputs to the sinks: anonymized records to `output`,
/// statistics rows to `stats`; the first write error is kept in `error`.
fn write_output(
    o: &OutputRecord<'_>,
    sinks: &mut Sinks<'_>,
    summary: &mut Summary,
    error: &mut Option<io::Error>,
) {
    let (w, count) = match o.kind {
        OutputKind::Anonymized => (&mut *sinks.output, &mut summary.written),
        OutputKind::Stats | OutputKind::StatsPartial => match sinks.stats.as_deref_mut() {
            Some(w) => (w, &mut summary.stats_rows),
            None => return,
        },
    };
    if error.is_none() {
        match w.write_all(o.payload).and_then(|()| w.write_all(b"\n")) {
            Ok(()) => *count += 1,
            Err(e) => *error = Some(e),
        }
    }
}

/// Runs one input through the run's pipeline; `name` labels dead letters.
/// Library form of the command.
///
/// # Errors
/// I/O errors reading input or writing outputs.
pub fn process_stream(
    run: &mut FileRun,
    name: &str,
    input: &mut dyn BufRead,
    sinks: &mut Sinks<'_>,
    summary: &mut Summary,
    progress: Option<&indicatif::ProgressBar>,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        summary.read += 1;
        if let Some(p) = progress {
            p.inc(n as u64);
        }
        let mut record: &[u8] = &line;
        if let Some(r) = record.strip_suffix(b"\n") {
            record = r.strip_suffix(b"\r").unwrap_or(r);
        }
        let source = SourceRecord {
            topic: &run.topic,
            partition: 0,
            offset: run.next_offset,
            key: None,
            payload: Some(record),
            timestamp_ms: None,
        };
        run.next_offset += 1;
        let error = &mut run.error;
        let disposition = run
            .anon
            .process(&mut run.worker, &source, &mut |o| write_output(&o, sinks, summary, error));
        if let Some(e) = run.error.take() {
            return Err(e);
        }
        match disposition {
            Disposition::Failed(f) => {
                let dl = DeadLetter::new(
                    f.error_code,
                    &f.message,
                    f.pipeline.as_deref(),
                    DeadLetterSource::File { file: name, line: line_no },
                    record.len(),
                );
                sinks.dead.write_all(&dl.to_json())?;
                sinks.dead.write_all(b"\n")?;
                *summary.dead_lettered.entry(f.error_code).or_default() += 1;
            }
            Disposition::Emitted | Disposition::Filtered { .. } | Disposition::Absorbed { .. } => {}
        }
        for &ri in run.worker.failed_rules() {
            if let Some(path) = run.rule_path(ri) {
                *summary.fields_dropped.entry(path.to_owned()).or_default() += 1;
            }
        }
        if sinks.stats.is_some() && line_no % 4096 == 0 {
            let error = &mut run.error;
            run.anon.tick(&mut run.worker, crate::time::now_ms(), &mut |o| {
                write_output(&o, sinks, summary, error)
            });
            if let Some(e) = run.error.take() {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Ends statistics: windows still open at the end of input are emitted,
/// marked `"partial": true` (the input may have stopped mid-window).
///
/// # Errors
/// I/O errors writing rows.
pub fn finish_stats(
    run: &mut FileRun,
    sinks: &mut Sinks<'_>,
    summary: &mut Summary,
) -> io::Result<()> {
    let error = &mut run.error;
    run.anon.finish(&mut run.worker, &mut |o| write_output(&o, sinks, summary, error));
    if let Some(e) = run.error.take() {
        return Err(e);
    }
    if let Some(w) = sinks.stats.as_deref_mut() {
        w.flush()?;
    }
    Ok(())
}

fn open_out(path: &str) -> anyhow::Result<Box<dyn Write>> {
    Ok(if path == "-" {
        Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock()))
    } else {
        Box::new(BufWriter::with_capacity(
            1 << 16,
            File::create(path).with_context(|| format!("cannot create {path}"))?,
        ))
    })
}

fn load_keys(args: &ProcessArgs) -> anyhow::Result<KeyStore> {
    let rings: Vec<String> = referenced_rings(&args.pipeline)?.into_iter().collect();
    if args.test_keys {
        eprintln!(
            "warning: using the well-known test keys (key id `test`); pseudonyms are NOT secret"
        );
        return Ok(KeyStore::for_tests(&rings));
    }
    let config = Config::load_or_defaults(args.config.as_deref(), std::env::vars())?;
    Ok(config.load_keys(std::slice::from_ref(&args.pipeline), &ProcessEnv)?)
}

/// Runs the command.
///
/// # Errors
/// Config, key or pipeline errors, and I/O errors.
pub fn run(args: ProcessArgs) -> anyhow::Result<ExitCode> {
    let keys = load_keys(&args)?;
    let pipeline = Pipeline::load(&args.pipeline, &keys)?;
    let mut output = open_out(&args.output)?;
    let mut dead: Box<dyn Write> = match &args.dead_letter {
        Some(p) => open_out(&p.display().to_string())?,
        None => Box::new(io::stderr()),
    };
    let mut stats_out = match &args.stats {
        Some(p) => Some(open_out(&p.display().to_string())?),
        None => None,
    };
    let mut run = FileRun::new(pipeline, stats_out.is_some())?;
    let mut sinks = Sinks {
        output: &mut *output,
        dead: &mut *dead,
        stats: stats_out.as_mut().map(|w| &mut **w as &mut dyn Write),
    };
    let mut summary = Summary::default();
    for name in &args.input {
        if name == "-" {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            process_stream(&mut run, name, &mut input, &mut sinks, &mut summary, None)?;
        } else {
            let file = File::open(name).with_context(|| format!("cannot open {name}"))?;
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = (io::stderr().is_terminal() && len > 0).then(|| {
                let bar = indicatif::ProgressBar::new(len);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            });
            let mut input = BufReader::with_capacity(1 << 16, file.take(u64::MAX));
            process_stream(&mut run, name, &mut input, &mut sinks, &mut summary, bar.as_ref())?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        }
    }
    finish_stats(&mut run, &mut sinks, &mut summary)?;
    sinks.output.flush()?;
    sinks.dead.flush()?;
    eprintln!(
        "read {}, written {}, dead-lettered {}, fields dropped {}{}",
        summary.read,
        summary.written,
        summary.dead_total(),
        summary.fields_dropped.values().sum::<u64>(),
        if args.stats.is_some() {
            format!(", stats rows {}", summary.stats_rows)
        } else {
            String::new()
        }
    );
    for (code, n) in &summary.dead_lettered {
        eprintln!("  dead letters {code}: {n}");
    }
    for (path, n) in &summary.fields_dropped {
        eprintln!("  dropped field {path}: {n}");
    }
    Ok(ExitCode::SUCCESS)
}
