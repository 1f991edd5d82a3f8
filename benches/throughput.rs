//! One command for the engine's throughput figures, each next to a baseline
//! measured in the same run (medians of several runs; a timing never decides
//! a test). `cargo bench --bench throughput`
//!
//! - floor: parse each record into `serde_json::Value` and serialize it back;
//! - logveil: the reference pipeline (`pipelines/access_log.toml`);
//! - logveil + stats: the same with its `[[stats]]` computed as the
//!   service computes them: through `Anonymizer` (fields located by the
//!   record walk, each worker its own statistics shard, windows merged when
//!   they close);
//! - scaling: the pipeline on 2 threads vs 1 (each thread its own scratch,
//!   both over the same records), and the same with statistics (each thread
//!   one worker of one `Anonymizer`, reading its own partition);
//! - the earlier statistics path, as a same-run baseline: the output scanned
//!   a second time and one engine behind a mutex shared by the threads
//!   (extraction outside the lock, aggregation inside).
//!
//! The variants run round-robin (one run of each per round), so a burst of
//! load from other processes on a shared machine hits all of them alike and
//! the ratios stay meaningful even when absolute figures drift.
//!
//! Environment: `LOGVEIL_BENCH_RECORDS` (default 200000), `LOGVEIL_BENCH_RUNS` (default 5).

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use logveil::anonymizer::Anonymizer;
use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, PipelineSet, Scratch};
use logveil::processor::{OutputRecord, RecordProcessor, SourceRecord};
use logveil::stats::{Observation, StatsEngine};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Records per run, the run, and the rates measured so far.
type Variant<'a> = (usize, &'a mut dyn FnMut(), Vec<f64>);

/// Records per second of one run of `f` over `n` records.
fn rate(n: usize, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let n = env_usize("LOGVEIL_BENCH_RECORDS", 200_000);
    let runs = env_usize("LOGVEIL_BENCH_RUNS", 5);
    let records = logveil::workload::generate(42, n);
    let mb = records.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let keys = KeyStore::for_tests(&["ids".into()]);
    let path = Path::new("pipelines/access_log.toml");
    let pipeline = Pipeline::load(path, &keys).expect("pipeline");
    let topic = pipeline.input_topics[0].clone();
    // A fresh anonymizer per run: its statistics remember which offsets they saw.
    let anonymizer = || {
        let p = Pipeline::load(path, &keys).expect("pipeline");
        Anonymizer::new(PipelineSet::new(vec![p]).expect("set"))
    };
    // One worker of `anon` reading all records from `partition`.
    let feed = |anon: &Anonymizer, partition: i32| {
        let mut worker = anon.new_worker();
        let mut sink = |o: OutputRecord<'_>| {
            std::hint::black_box(o.payload);
        };
        for (offset, r) in records.iter().enumerate() {
            let record = SourceRecord {
                topic: &topic,
                partition,
                offset: offset as i64,
                key: None,
                payload: Some(r),
                timestamp_ms: None,
            };
            std::hint::black_box(anon.process(&mut worker, &record, &mut sink));
        }
        worker
    };
    let finish = |anon: &Anonymizer, mut worker| {
        let mut rows = 0;
        anon.finish(&mut worker, &mut |_o: OutputRecord<'_>| rows += 1);
        std::hint::black_box(rows);
    };

    let mut floor = || {
        let mut out = Vec::with_capacity(1024);
        for r in &records {
            out.clear();
            let v: serde_json::Value = serde_json::from_slice(r).expect("valid");
            serde_json::to_writer(&mut out, &v).expect("write");
            std::hint::black_box(&out);
        }
    };
    let mut scratch = Scratch::default();
    let mut one = || {
        for r in &records {
            pipeline.process(r, &mut scratch).expect("processed");
            std::hint::black_box(&scratch.out);
        }
    };
    let mut with_stats = || {
        let anon = anonymizer();
        let worker = feed(&anon, 0);
        finish(&anon, worker);
    };
    let mut two_stats = || {
        let anon = anonymizer();
        let (anon, feed) = (&anon, &feed);
        let workers: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2).map(|p| s.spawn(move || feed(anon, p))).collect();
            handles.into_iter().map(|h| h.join().expect("worker")).collect()
        });
        workers.into_iter().for_each(|w| finish(anon, w));
    };
    let mut stats_scratch = Scratch::default();
    let mut old_stats = || {
        let mut engine = StatsEngine::new(pipeline.stats.clone());
        let mut rows = Vec::new();
        for r in &records {
            pipeline.process(r, &mut stats_scratch).expect("processed");
            engine.observe(&stats_scratch.out);
        }
        engine.finish(&mut rows);
        std::hint::black_box(&rows);
    };
    let mut two = || {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let mut scratch = Scratch::default();
                    for r in &records {
                        pipeline.process(r, &mut scratch).expect("processed");
                        std::hint::black_box(&scratch.out);
                    }
                });
            }
        })
    };
    let mut old_two_stats = || {
        let engine = StatsEngine::new(pipeline.stats.clone());
        let extractor = engine.extractor();
        let engine = Mutex::new(engine);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let mut scratch = Scratch::default();
                    let mut obs = Observation::default();
                    for r in &records {
                        pipeline.process(r, &mut scratch).expect("processed");
                        // As `Anonymizer` does: extract outside the lock.
                        extractor.extract(&scratch.out, &mut obs);
                        if let Ok(mut e) = engine.lock() {
                            e.observe_extracted(&obs);
                        }
                    }
                });
            }
        });
        let mut rows = Vec::new();
        if let Ok(mut e) = engine.lock() {
            e.finish(&mut rows);
        }
        std::hint::black_box(&rows);
    };

    let mut variants: Vec<Variant<'_>> = vec![
        (n, &mut floor, Vec::new()),
        (n, &mut one, Vec::new()),
        (n, &mut with_stats, Vec::new()),
        (2 * n, &mut two, Vec::new()),
        (2 * n, &mut two_stats, Vec::new()),
        (n, &mut old_stats, Vec::new()),
        (2 * n, &mut old_two_stats, Vec::new()),
    ];
    for round in 0..=runs {
        for (count, f, rates) in variants.iter_mut() {
            let r = rate(*count, *f);
            // Round 0 warms caches and the user-agent cache up.
            if round > 0 {
                rates.push(r);
            }
        }
    }
    let [floor, one, with_stats, two, two_stats, old_stats, old_two_stats] =
        [0, 1, 2, 3, 4, 5, 6].map(|i| median(std::mem::take(&mut variants[i].2)));

    let mbs = |rps: f64| rps * mb / n as f64;
    println!(
        "records: {n} reference access-log records ({:.0} B mean), median of {runs} round-robin runs",
        mb * 1e6 / n as f64
    );
    println!("{:<52} {:>12} {:>9} {:>8}", "measurement", "records/s", "MB/s", "ratio");
    let row = |name: &str, rps: f64, ratio: f64| {
        println!("{name:<52} {rps:>12.0} {:>9.1} {ratio:>7.2}x", mbs(rps));
    };
    row("floor: serde_json::Value parse + serialize", floor, 1.0);
    row("logveil access_log (1 thread) vs floor", one, one / floor);
    row("logveil access_log + stats vs no stats", with_stats, with_stats / one);
    row("logveil access_log, 2 threads vs 1", two, two / one);
    row("logveil + stats (per-worker shards), 2 threads vs 1", two_stats, two_stats / with_stats);
    row("baseline: + stats by output scan, vs no stats", old_stats, old_stats / one);
    row("baseline: scan + shared engine, 2 threads vs 1", old_two_stats, old_two_stats / old_stats);
}
