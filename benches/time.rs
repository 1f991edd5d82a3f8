//! Why `src/time.rs` scans timestamps by hand: the cost of `coarsen_time` on
//! the reference workload's `ts` values with the hand-written scan, against
//! the same rewrite validated by `jiff`'s parser instead, and the statistics'
//! text → instant conversion against `jiff::Timestamp` parsing. Variants run
//! round-robin in one process; medians of the runs are printed with their
//! ratio. `cargo bench --bench time`
//!
//! Environment: `LOGVEIL_BENCH_RECORDS` (default 200000), `LOGVEIL_BENCH_RUNS` (default 7).

use std::hint::black_box;
use std::time::Instant;

use jiff::fmt::temporal::Pieces;
use logveil::actions::coarsen_time::{coarsen_rfc3339, TimeUnit};
use logveil::time::{rfc3339_to_epoch_ms, FRACTION_AT};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `coarsen_time` to the minute with `jiff` deciding validity; the rewrite is
/// the same positional one (jiff gives no field positions, so the fraction's
/// end is found by a second pass).
fn coarsen_with_jiff(text: &str, out: &mut String) -> bool {
    let Ok(pieces) = Pieces::parse(text) else {
        return false;
    };
    if pieces.time().is_none() {
        out.push_str(text);
        return true;
    }
    let b = text.as_bytes();
    let mut end = FRACTION_AT;
    if matches!(b.get(end), Some(b'.' | b',')) {
        end += 1 + b[end + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    out.push_str(&text[..17]);
    out.extend(text[17..end].bytes().map(|c| if c.is_ascii_digit() { '0' } else { char::from(c) }));
    out.push_str(&text[end..]);
    true
}

fn main() {
    let n = env_usize("LOGVEIL_BENCH_RECORDS", 200_000);
    let runs = env_usize("LOGVEIL_BENCH_RUNS", 7);
    let stamps: Vec<String> = logveil::workload::generate(42, n)
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(r).expect("json");
            v["ts"].as_str().expect("ts").to_owned()
        })
        .collect();
    let mut out = String::with_capacity(64);
    for ts in &stamps {
        out.clear();
        assert!(coarsen_with_jiff(ts, &mut out));
        let jiffed = out.clone();
        out.clear();
        assert!(coarsen_rfc3339(ts, TimeUnit::Minute, &mut out));
        assert_eq!(out, jiffed, "both variants write the same text");
    }
    type Run<'a> = Box<dyn FnMut() + 'a>;
    let mut buf = String::with_capacity(64);
    let mut buf2 = String::with_capacity(64);
    let mut variants: Vec<(&str, Run, Vec<f64>)> = vec![
        (
            "coarsen_time, hand scan",
            Box::new(|| {
                for ts in &stamps {
                    buf.clear();
                    black_box(coarsen_rfc3339(black_box(ts), TimeUnit::Minute, &mut buf));
                }
            }),
            Vec::new(),
        ),
        (
            "coarsen_time, jiff validates",
            Box::new(|| {
                for ts in &stamps {
                    buf2.clear();
                    black_box(coarsen_with_jiff(black_box(ts), &mut buf2));
                }
            }),
            Vec::new(),
        ),
        (
            "text -> epoch ms, hand scan",
            Box::new(|| {
                for ts in &stamps {
                    black_box(rfc3339_to_epoch_ms(black_box(ts)));
                }
            }),
            Vec::new(),
        ),
        (
            "text -> epoch ms, jiff::Timestamp",
            Box::new(|| {
                for ts in &stamps {
                    black_box(
                        black_box(ts).parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond()),
                    );
                }
            }),
            Vec::new(),
        ),
    ];
    for _ in 0..runs {
        for (_, f, ns) in &mut variants {
            let t = Instant::now();
            f();
            ns.push(t.elapsed().as_nanos() as f64 / n as f64);
        }
    }
    let medians: Vec<(&str, f64)> =
        variants.into_iter().map(|(name, _, ns)| (name, median(ns))).collect();
    println!("{n} timestamps, medians of {runs} round-robin runs:");
    for pair in medians.chunks(2) {
        let (hand, crate_) = (pair[0], pair[1]);
        println!("  {:<36} {:>7.1} ns/value", hand.0, hand.1);
        println!(
            "  {:<36} {:>7.1} ns/value  ({:.2}x the hand scan)",
            crate_.0,
            crate_.1,
            crate_.1 / hand.1
        );
    }
}
