//! logveil's reference pipeline against the equivalent VRL program, side by side.
//!
//! 1. Generates the reference records (`logveil::workload`, seed 42).
//! 2. Loads `pipelines/access_log.toml` into logveil and compiles
//!    `src/access_log.vrl` with VRL's stdlib, both with the well-known test key
//!    of ring `ids`.
//! 3. Checks on a sample that both produce equivalent output, field by field;
//!    exits with status 1 when a field that must match differs.
//! 4. Measures records/s for both on one thread over the same records, bytes
//!    in to bytes out: logveil `Pipeline::process`; VRL parses the JSON into a
//!    `Value`, runs the program and serializes the event back to JSON. Prints
//!    the medians and their ratio, per second of the thread's CPU time (what
//!    one core delivers, robust to other load on a shared machine) and per
//!    second of wall clock.
//!
//! Environment: `LOGVEIL_BENCH_RECORDS` (default 100000), `LOGVEIL_BENCH_RUNS`
//! (default 5), `LOGVEIL_BENCH_SAMPLE` (records checked, default 1000),
//! `LOGVEIL_BENCH_VRL` (path of a VRL program to run instead of the built-in
//! `src/access_log.vrl`, same `@IDS_KEY_HEX@` / `@IDS_KEY_ID@` placeholders).
//!
//! Run: `cargo run --release` in `benches/vrl-compare`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use logveil::keys::{KeyStore, SecretKey};
use logveil::pipeline::{Pipeline, Scratch};
use serde_json::Value as Json;
use vrl::compiler::runtime::Runtime;
use vrl::compiler::state::RuntimeState;
use vrl::compiler::{Program, TargetValue, TimeZone};
use vrl::value::{Secrets, Value};

/// The VRL program, with `@IDS_KEY_HEX@` / `@IDS_KEY_ID@` placeholders.
const VRL_SOURCE: &str = include_str!("access_log.vrl");

/// The reference pipeline, relative to this crate.
const PIPELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../pipelines/access_log.toml");

/// Seed of the generated records (the one `benches/throughput.rs` uses).
const SEED: u64 = 42;

/// The key ring both engines pseudonymize with, and the id
/// `KeyStore::for_tests` gives its key.
const RING: &str = "ids";
const KEY_ID: &str = "test";

/// Output fields that must be identical (as JSON values) in both outputs.
const MUST_MATCH: &[&str] = &[
    "ts",
    "client_ip",
    "user_id",
    "session_id",
    "method",
    "path",
    "status",
    "bytes",
    "duration_ms",
    "referrer",
    "accept_language",
    "app_version",
];

/// Input fields the pipeline drops: absent from both outputs.
const DROPPED: &[&str] = &["device_id", "device_model", "os_version", "carrier"];

/// Output fields allowed to differ, and why.
const MAY_DIFFER: &[(&str, &str)] = &[(
    "user_agent",
    "VRL classifies with its own parser (woothee, parse_user_agent \"fast\"), \
     mapped onto logveil's names; logveil uses its own rules (in-app browsers, \
     Android WebView, bots, HTTP libraries)",
)];

/// Sub-fields of `user_agent` whose agreement is reported.
const UA_PARTS: &[&str] = &["browser", "browser_major", "os", "device"];

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => {
            v.parse().unwrap_or_else(|_| panic!("{name} must be a non-negative integer, got {v:?}"))
        }
        Err(_) => default,
    }
}

/// The VRL side: a compiled program and a runtime reused across events, as
/// Vector's `remap` transform does.
struct Vrl {
    program: Program,
    runtime: Runtime,
    timezone: TimeZone,
}

impl Vrl {
    /// Compiles `src/access_log.vrl`, or the file named by `LOGVEIL_BENCH_VRL`
    /// (to try a variant without rebuilding).
    fn compile(key: &[u8]) -> Self {
        let template = match std::env::var("LOGVEIL_BENCH_VRL") {
            Ok(path) => std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading LOGVEIL_BENCH_VRL={path}: {e}")),
            Err(_) => VRL_SOURCE.to_string(),
        };
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let source = template.replace("@IDS_KEY_HEX@", &hex).replace("@IDS_KEY_ID@", KEY_ID);
        let fns = vrl::stdlib::all();
        let compiled = match vrl::compiler::compile(&source, &fns) {
            Ok(compiled) => compiled,
            Err(diagnostics) => {
                let report = vrl::diagnostic::Formatter::new(&source, diagnostics);
                panic!("the VRL program does not compile:\n{report}");
            }
        };
        if !compiled.warnings.is_empty() {
            let report = vrl::diagnostic::Formatter::new(&source, compiled.warnings);
            eprintln!("VRL warnings:\n{report}");
        }
        Vrl {
            program: compiled.program,
            runtime: Runtime::new(RuntimeState::default()),
            timezone: TimeZone::parse("UTC").expect("UTC is a time zone"),
        }
    }

    /// Parses `record`, runs the program on it and writes the event as JSON
    /// to `out`. With `run` false only parses and serializes (pass-through).
    fn process(&mut self, record: &[u8], run: bool, out: &mut Vec<u8>) -> Result<(), String> {
        let value: Value = serde_json::from_slice(record).map_err(|e| format!("parse: {e}"))?;
        let mut target = TargetValue {
            value,
            metadata: Value::Object(BTreeMap::new()),
            secrets: Secrets::default(),
        };
        if run {
            let result = self.runtime.resolve(&mut target, &self.program, &self.timezone);
            self.runtime.clear();
            result.map_err(|e| format!("VRL: {e}"))?;
        }
        out.clear();
        serde_json::to_writer(&mut *out, &target.value).map_err(|e| format!("serialize: {e}"))
    }
}

/// Equal as JSON values; numbers compare by value (`46.2` and `46.20`, or
/// `5` and `5.0`, are the same number).
fn json_eq(a: Option<&Json>, b: Option<&Json>) -> bool {
    match (a, b) {
        (Some(Json::Number(x)), Some(Json::Number(y))) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

fn show(v: Option<&Json>) -> String {
    v.map_or_else(|| "(absent)".to_string(), Json::to_string)
}

/// Agreement counts of one compared field.
#[derive(Default)]
struct Tally {
    differ: usize,
    example: Option<String>,
}

impl Tally {
    fn record(&mut self, index: usize, logveil: Option<&Json>, vrl: Option<&Json>) {
        if !json_eq(logveil, vrl) {
            self.differ += 1;
            if self.example.is_none() {
                self.example =
                    Some(format!("record {index}: logveil {} / VRL {}", show(logveil), show(vrl)));
            }
        }
    }
}

/// Compares both outputs on `sample`; prints the report and returns whether
/// every field that must match does.
fn check_equivalence(
    sample: &[Vec<u8>],
    pipeline: &Pipeline,
    scratch: &mut Scratch,
    vrl: &mut Vrl,
) -> bool {
    let mut must: BTreeMap<&str, Tally> =
        MUST_MATCH.iter().map(|f| (*f, Tally::default())).collect();
    let mut dropped: BTreeMap<&str, Tally> =
        DROPPED.iter().map(|f| (*f, Tally::default())).collect();
    let mut ua: BTreeMap<&str, Tally> = UA_PARTS.iter().map(|f| (*f, Tally::default())).collect();
    let mut unexpected: BTreeSet<String> = BTreeSet::new();
    let mut failures: Vec<String> = Vec::new();
    // Input User-Agent -> (records, logveil's reduction, VRL's reduction).
    let mut ua_differences: BTreeMap<String, (usize, String, String)> = BTreeMap::new();
    let mut vrl_out = Vec::new();
    let parse = |bytes: &[u8]| -> Result<serde_json::Map<String, Json>, String> {
        match serde_json::from_slice(bytes) {
            Ok(Json::Object(map)) => Ok(map),
            Ok(other) => Err(format!("not an object: {other}")),
            Err(e) => Err(e.to_string()),
        }
    };

    for (i, record) in sample.iter().enumerate() {
        let logveil = pipeline
            .process(record, scratch)
            .map_err(|e| format!("logveil: {e}"))
            .and_then(|()| parse(&scratch.out));
        let from_vrl = vrl.process(record, true, &mut vrl_out).and_then(|()| parse(&vrl_out));
        let (logveil, from_vrl) = match (logveil, from_vrl) {
            (Ok(l), Ok(v)) => (l, v),
            (l, v) => {
                failures.push(format!("record {i}: {:?} / {:?}", l.err(), v.err()));
                continue;
            }
        };
        for (field, tally) in &mut must {
            tally.record(i, logveil.get(*field), from_vrl.get(*field));
        }
        for (field, tally) in &mut dropped {
            let left_by: Vec<&str> = [("logveil", &logveil), ("VRL", &from_vrl)]
                .into_iter()
                .filter(|(_, out)| out.contains_key(*field))
                .map(|(engine, _)| engine)
                .collect();
            if !left_by.is_empty() {
                tally.differ += 1;
                tally.example.get_or_insert_with(|| format!("record {i}: kept by {left_by:?}"));
            }
        }
        let ua_l = logveil.get("user_agent");
        let ua_v = from_vrl.get("user_agent");
        for (part, tally) in &mut ua {
            tally.record(i, ua_l.and_then(|u| u.get(*part)), ua_v.and_then(|u| u.get(*part)));
        }
        if ua_l != ua_v {
            let input = parse(record).ok().and_then(|r| r.get("user_agent").cloned());
            let entry = ua_differences
                .entry(show(input.as_ref()))
                .or_insert_with(|| (0, show(ua_l), show(ua_v)));
            entry.0 += 1;
        }
        let known = |k: &String| {
            MUST_MATCH.contains(&k.as_str())
                || DROPPED.contains(&k.as_str())
                || MAY_DIFFER.iter().any(|(f, _)| f == k)
        };
        unexpected.extend(logveil.keys().chain(from_vrl.keys()).filter(|k| !known(k)).cloned());
    }

    let n = sample.len();
    println!("Equivalence on {n} records (compared as JSON values, field by field):");
    let mut ok = failures.is_empty() && unexpected.is_empty();
    for (field, tally) in &must {
        ok &= tally.differ == 0;
        print_tally("must match", field, tally, n);
    }
    for (field, tally) in &dropped {
        ok &= tally.differ == 0;
        print_tally("dropped   ", field, tally, n);
    }
    for (field, why) in MAY_DIFFER {
        println!("  may differ  {field}: {why}");
    }
    for (part, tally) in &ua {
        print_tally("  agreement", &format!("user_agent.{part}"), tally, n);
    }
    let mut differences: Vec<_> = ua_differences.into_iter().collect();
    differences.sort_by_key(|(_, (count, _, _))| std::cmp::Reverse(*count));
    if !differences.is_empty() {
        println!("  user_agent reductions that differ (records, input, logveil, VRL):");
    }
    for (input, (count, logveil, vrl)) in &differences {
        println!(
            "    {count:>6}  {input}\n            logveil {logveil}\n            VRL     {vrl}"
        );
    }
    for f in &failures {
        println!("  FAILED {f}");
    }
    for field in &unexpected {
        println!("  FAILED unexpected output field {field}");
    }
    println!("  => {}", if ok { "equivalent" } else { "NOT equivalent on fields that must match" });
    ok
}

fn print_tally(kind: &str, field: &str, tally: &Tally, n: usize) {
    let same = n - tally.differ;
    let pct = 100.0 * same as f64 / n.max(1) as f64;
    match &tally.example {
        None => println!("  {kind}  {field:<24} {same}/{n} (100%)"),
        Some(example) => println!("  {kind}  {field:<24} {same}/{n} ({pct:.1}%)  e.g. {example}"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU time the calling thread has used so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable `timespec` for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(
        u64::try_from(ts.tv_sec).expect("CPU time is not negative"),
        u32::try_from(ts.tv_nsec).expect("nanoseconds below one second"),
    )
}

/// Records/s of one pass over the records, by the thread's CPU time and by
/// the wall clock.
#[derive(Default)]
struct Rates {
    cpu: Vec<f64>,
    wall: Vec<f64>,
}

impl Rates {
    /// Runs `f` on every record once and adds the pass's rates.
    fn pass(&mut self, records: &[Vec<u8>], mut f: impl FnMut(&[u8])) {
        let (cpu, wall) = (thread_cpu_time(), Instant::now());
        for r in records {
            f(r);
        }
        let n = records.len() as f64;
        self.cpu.push(n / (thread_cpu_time() - cpu).as_secs_f64());
        self.wall.push(n / wall.elapsed().as_secs_f64());
    }

    /// Medians (CPU, wall).
    fn medians(self) -> (f64, f64) {
        (median(self.cpu), median(self.wall))
    }
}

fn main() -> ExitCode {
    let n = env_usize("LOGVEIL_BENCH_RECORDS", 100_000).max(1);
    let runs = env_usize("LOGVEIL_BENCH_RUNS", 5).max(1);
    let sample_len = env_usize("LOGVEIL_BENCH_SAMPLE", 1000);

    let records = logveil::workload::generate(SEED, n.max(sample_len));
    let keys = KeyStore::for_tests(&[RING.into()]);
    let pipeline = Pipeline::load(Path::new(PIPELINE), &keys)
        .unwrap_or_else(|e| panic!("loading {PIPELINE}: {e}"));
    let mut scratch = Scratch::default();
    let mut vrl = Vrl::compile(SecretKey::well_known_test_key(RING).expose());

    if !check_equivalence(&records[..sample_len], &pipeline, &mut scratch, &mut vrl) {
        return ExitCode::FAILURE;
    }

    let records = &records[..n];
    let mb = records.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let mut out = Vec::with_capacity(1024);
    let (mut logveil_rates, mut vrl_rates, mut pass_rates) =
        (Rates::default(), Rates::default(), Rates::default());
    let mut run_logveil = |rates: &mut Rates| {
        rates.pass(records, |r| {
            pipeline.process(r, &mut scratch).expect("logveil processes every reference record");
            std::hint::black_box(&scratch.out);
        });
    };
    let mut run_vrl = |rates: &mut Rates, run: bool| {
        rates.pass(records, |r| {
            vrl.process(r, run, &mut out).expect("VRL processes every reference record");
            std::hint::black_box(&out);
        });
    };
    // One warm-up pass each (not counted), then the runs interleaved so that
    // all three see the same machine noise.
    run_logveil(&mut Rates::default());
    run_vrl(&mut Rates::default(), true);
    for _ in 0..runs {
        run_logveil(&mut logveil_rates);
        run_vrl(&mut vrl_rates, true);
        run_vrl(&mut pass_rates, false);
    }
    let (logveil_cpu, logveil_wall) = logveil_rates.medians();
    let (vrl_cpu, vrl_wall) = vrl_rates.medians();
    let (pass_cpu, pass_wall) = pass_rates.medians();

    println!(
        "\nThroughput: {n} records ({:.0} bytes/record), one thread each, median of {runs} runs",
        mb * 1e6 / n as f64
    );
    println!("  (per second of the thread's CPU time; wall-clock figures in brackets)");
    let mb_per_record = mb / n as f64;
    let line = |name: &str, cpu: f64, wall: f64| {
        println!(
            "  {name:<35} {cpu:>9.0} records/s {:>7.1} MB/s   [{wall:>9.0} records/s]",
            cpu * mb_per_record
        );
    };
    line("logveil (access_log.toml)", logveil_cpu, logveil_wall);
    line("VRL (access_log.vrl)", vrl_cpu, vrl_wall);
    line("VRL pass-through (parse + serialize)", pass_cpu, pass_wall);
    println!(
        "  ratio logveil / VRL: {:.1}x   [{:.1}x]",
        logveil_cpu / vrl_cpu,
        logveil_wall / vrl_wall
    );
    ExitCode::SUCCESS
}
