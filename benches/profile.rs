//! A profiling harness, not a timing: runs one stage of the record path in a
//! loop so `perf record` or `valgrind --tool=callgrind` can attribute the cost
//! (see `benches/PROFILE.md` for the commands and the latest breakdown).
//!
//! `cargo bench --bench profile --no-run`, then run the binary with
//! `LOGVEIL_PROFILE` set to one of:
//! - `floor`: serde_json::Value parse + serialize;
//! - `pipeline` (default): the reference pipeline;
//! - `pipeline_prefetch`: the same, with the next record's cache lines
//!   requested before each record (what a caller holding a batch could do;
//!   measured in PROFILE.md "Round four", not used by the service);
//! - `stats`: the pipeline's output fed to its `StatsEngine` (outputs are
//!   precomputed, so only `observe` runs in the loop; the output is scanned);
//! - `anonymizer`: the pipeline with its statistics as the service runs
//!   them (one `Anonymizer` worker: fields located by the walk, its own
//!   statistics shard); minus `pipeline`, the statistics' cost;
//! - `scan`: only the JSON scan, every field skipped (an all-`drop` pipeline
//!   would drop everything; this uses `serde::de::IgnoredAny`).
//!
//! `LOGVEIL_BENCH_RECORDS` (default 20000) and `LOGVEIL_PROFILE_PASSES`
//! (default 1) set the work. Each stage runs in its own `#[inline(never)]`
//! function, so callgrind's `--toggle-collect='profile::stage_*'` counts only
//! the stage, not the record generator.

use std::path::Path;

use logveil::anonymizer::Anonymizer;
use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, PipelineSet, Scratch};
use logveil::processor::{OutputRecord, RecordProcessor, SourceRecord};
use logveil::stats::StatsEngine;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[inline(never)]
fn stage_floor(records: &[Vec<u8>], out: &mut Vec<u8>) {
    for r in records {
        out.clear();
        let v: serde_json::Value = serde_json::from_slice(r).expect("valid");
        serde_json::to_writer(&mut *out, &v).expect("write");
        std::hint::black_box(&out);
    }
}

#[inline(never)]
fn stage_scan(records: &[Vec<u8>]) {
    for r in records {
        let v: serde::de::IgnoredAny = serde_json::from_slice(r).expect("valid");
        std::hint::black_box(v);
    }
}

#[inline(never)]
fn stage_pipeline(pipeline: &Pipeline, records: &[Vec<u8>], scratch: &mut Scratch) {
    for r in records {
        pipeline.process(r, scratch).expect("processed");
        std::hint::black_box(&scratch.out);
    }
}

/// The pipeline with the next record's cache lines requested before the
/// current one is processed (what a caller holding a batch can do).
#[inline(never)]
fn stage_pipeline_prefetch(pipeline: &Pipeline, records: &[Vec<u8>], scratch: &mut Scratch) {
    for (i, r) in records.iter().enumerate() {
        if let Some(next) = records.get(i + 1) {
            prefetch_lines(next);
        }
        pipeline.process(r, scratch).expect("processed");
        std::hint::black_box(&scratch.out);
    }
}

#[inline]
fn prefetch_lines(input: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in input.chunks(64) {
        // SAFETY: a prefetch is a hint; it never faults.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
}

#[inline(never)]
fn stage_anonymizer(anon: &Anonymizer, records: &[Vec<u8>]) {
    let mut worker = anon.new_worker();
    let mut sink = |o: OutputRecord<'_>| {
        std::hint::black_box(o.payload);
    };
    for (offset, r) in records.iter().enumerate() {
        let record = SourceRecord {
            topic: "raw.access",
            partition: 0,
            offset: offset as i64,
            key: None,
            payload: Some(r),
            timestamp_ms: None,
        };
        std::hint::black_box(anon.process(&mut worker, &record, &mut sink));
    }
}

#[inline(never)]
fn stage_stats(engine: &mut StatsEngine, outputs: &[Vec<u8>]) {
    for o in outputs {
        engine.observe(o);
    }
}

fn main() {
    let n = env_usize("LOGVEIL_BENCH_RECORDS", 20_000);
    let passes = env_usize("LOGVEIL_PROFILE_PASSES", 1);
    let mode = std::env::var("LOGVEIL_PROFILE").unwrap_or_else(|_| "pipeline".into());
    let records = logveil::workload::generate(42, n);
    let keys = KeyStore::for_tests(&["ids".into()]);
    let pipeline = Pipeline::load(Path::new("pipelines/access_log.toml"), &keys).expect("pipeline");
    let mut scratch = Scratch::default();
    let mut elapsed = std::time::Duration::ZERO;
    let mut timed = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        f();
        elapsed += t.elapsed();
    };
    match mode.as_str() {
        "floor" => {
            let mut out = Vec::with_capacity(1024);
            for _ in 0..passes {
                timed(&mut || stage_floor(&records, &mut out));
            }
        }
        "scan" => {
            for _ in 0..passes {
                timed(&mut || stage_scan(&records));
            }
        }
        "pipeline" => {
            for _ in 0..passes {
                timed(&mut || stage_pipeline(&pipeline, &records, &mut scratch));
            }
        }
        "pipeline_prefetch" => {
            for _ in 0..passes {
                timed(&mut || stage_pipeline_prefetch(&pipeline, &records, &mut scratch));
            }
        }
        "stats" => {
            let outputs: Vec<Vec<u8>> = records
                .iter()
                .map(|r| {
                    pipeline.process(r, &mut scratch).expect("processed");
                    scratch.out.clone()
                })
                .collect();
            for _ in 0..passes {
                // A fresh engine per pass: event times restart.
                let mut engine = StatsEngine::new(pipeline.stats.clone());
                timed(&mut || stage_stats(&mut engine, &outputs));
                std::hint::black_box(engine.counters());
                // The state the records left open (for bytes per group with
                // a heap profiler: the `anonymizer` stage holds the same).
                eprintln!(
                    "stats: {} open windows, {} open groups",
                    engine.open_windows(),
                    engine.open_groups()
                );
            }
        }
        "anonymizer" => {
            for _ in 0..passes {
                // A fresh anonymizer per pass: its statistics remember offsets.
                let p = Pipeline::load(Path::new("pipelines/access_log.toml"), &keys)
                    .expect("pipeline");
                let anon = Anonymizer::new(PipelineSet::new(vec![p]).expect("set"));
                timed(&mut || stage_anonymizer(&anon, &records));
            }
        }
        other => panic!("unknown LOGVEIL_PROFILE {other:?}"),
    }
    // Wall time of the stage loops only; a rough figure, not a benchmark.
    let ns = elapsed.as_nanos() as f64 / (n * passes) as f64;
    println!("{mode}: {n} records x {passes} passes, {ns:.0} ns/record");
}
