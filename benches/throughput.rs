//! One command for the engine's throughput figures, each next to a baseline
//! measured in the same run (medians of several runs; a timing never decides
//! a test). `cargo bench --bench throughput`
//!
//! - floor: parse each record into `serde_json::Value` and serialize it back;
//! - logveil: the reference pipeline (`pipelines/access_log.toml`);
//! - logveil + stats: the same with its `[[stats]]` computed;
//! - scaling: the pipeline on 2 threads vs 1 (each thread its own records).
//!
//! Environment: `LOGVEIL_BENCH_RECORDS` (default 200000), `LOGVEIL_BENCH_RUNS` (default 5).

use std::path::Path;
use std::time::Instant;

use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, Scratch};
use logveil::stats::StatsEngine;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median records/s of `runs` runs of `f` over `n` records.
fn measure(runs: usize, n: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                n as f64 / t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn main() {
    let n = env_usize("LOGVEIL_BENCH_RECORDS", 200_000);
    let runs = env_usize("LOGVEIL_BENCH_RUNS", 5);
    let records = logveil::workload::generate(42, n);
    let mb = records.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let keys = KeyStore::for_tests(&["ids".into()]);
    let pipeline = Pipeline::load(Path::new("pipelines/access_log.toml"), &keys).expect("pipeline");

    let floor = measure(runs, n, || {
        let mut out = Vec::with_capacity(1024);
        for r in &records {
            out.clear();
            let v: serde_json::Value = serde_json::from_slice(r).expect("valid");
            serde_json::to_writer(&mut out, &v).expect("write");
            std::hint::black_box(&out);
        }
    });
    let mut scratch = Scratch::default();
    let one = measure(runs, n, || {
        for r in &records {
            pipeline.process(r, &mut scratch).expect("processed");
            std::hint::black_box(&scratch.out);
        }
    });
    let with_stats = measure(runs, n, || {
        let mut engine = StatsEngine::new(pipeline.stats.clone());
        let mut rows = Vec::new();
        for r in &records {
            pipeline.process(r, &mut scratch).expect("processed");
            engine.observe(&scratch.out);
        }
        engine.finish(&mut rows);
        std::hint::black_box(&rows);
    });
    let two = measure(runs, 2 * n, || {
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
    });
    let mbs = |rps: f64| rps * mb / n as f64;
    println!(
        "records: {n} reference access-log records ({:.0} B mean), median of {runs} runs",
        mb * 1e6 / n as f64
    );
    println!("{:<44} {:>12} {:>9} {:>8}", "measurement", "records/s", "MB/s", "ratio");
    println!(
        "{:<44} {:>12.0} {:>9.1} {:>8}",
        "floor: serde_json::Value parse + serialize",
        floor,
        mbs(floor),
        "1.00"
    );
    println!(
        "{:<44} {:>12.0} {:>9.1} {:>7.2}x",
        "logveil access_log (1 thread) vs floor",
        one,
        mbs(one),
        one / floor
    );
    println!(
        "{:<44} {:>12.0} {:>9.1} {:>7.2}x",
        "logveil access_log + stats vs no stats",
        with_stats,
        mbs(with_stats),
        with_stats / one
    );
    println!(
        "{:<44} {:>12.0} {:>9.1} {:>7.2}x",
        "logveil access_log, 2 threads vs 1",
        two,
        mbs(two),
        two / one
    );
}
