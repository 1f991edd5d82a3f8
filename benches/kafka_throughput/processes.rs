//! The production-like mode of `kafka_throughput`: the broker, the copy
//! loop and `logveil run` (the real binary, configured through the
//! environment) each run in their own process, so each one's CPU time
//! (`utime + stime` from `/proc/<pid>/stat`) and peak RSS (`VmHWM` from
//! `/proc/<pid>/status`) are its own.
//!
//! With `LOGVEIL_BENCH_PROCESSOR=passthrough` the second contender is the
//! service with the pass-through processor instead of the real binary: the
//! bench binary re-executed with `LOGVEIL_BENCH_ROLE=service`, which runs
//! `logveil::service::run` with the same settings the copy loop loads, so
//! its own CPU is the service's machinery alone (consumer thread, workers,
//! offset tracking, provenance header, metrics, HTTP).
//!
//! The broker is either a child process of this bench hosting librdkafka's
//! mock cluster (the bench binary re-executed with
//! `LOGVEIL_BENCH_ROLE=broker`; it prints its bootstrap servers and creates
//! topics on request over stdin) or any broker named by
//! `LOGVEIL_BENCH_BROKERS` (topics created with the admin API). The copy
//! loop is the bench binary again (`LOGVEIL_BENCH_ROLE=copy`), with client
//! settings loaded from the same `config/logveil.toml` and the same
//! `LOGVEIL_*` overrides as the service, through the same
//! `consumer_config`/`producer_config`.
//!
//! Both contenders are watched the same way from outside: the bench polls
//! the output topic's high watermarks (one ListOffsets request for all
//! partitions every 20 ms); the run is timed from the first output record
//! to the n-th, and the contender's CPU and peak RSS are read at that
//! moment, before it is stopped. Its CPU therefore includes its start,
//! group join and pre-fetching, for both contenders alike.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use logveil::config::Config;
use logveil::service::{EmbeddedBroker, ServiceSettings};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::{copy_loop, env_or, median, produce_input};

/// A 64-hex-digit key for the `ids` ring: benchmark-only material.
const BENCH_KEY: &str = "6c6f677665696c2062656e6368206b65792c206e6f7420666f72207573652121";

/// CPU time (user + system) and peak resident set of one process, read
/// from `/proc` (Linux only).
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub cpu: Duration,
    pub peak_rss_kib: u64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status` (`pid` may be `self`).
pub fn usage(pid: &str) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let peak_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some(Usage { cpu: Duration::from_millis((utime + stime) * 10), peak_rss_kib })
}

/// The broker the contenders talk to.
enum Broker {
    /// The mock cluster in a child process, driven over its stdin/stdout.
    Child { child: Child, stdin: ChildStdin, stdout: BufReader<ChildStdout>, servers: String },
    /// Any broker, named by `LOGVEIL_BENCH_BROKERS`.
    External { servers: String },
}

impl Broker {
    fn start(rt: &tokio::runtime::Runtime) -> Broker {
        if let Ok(servers) = std::env::var("LOGVEIL_BENCH_BROKERS") {
            let _ = rt;
            return Broker::External { servers };
        }
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .env("LOGVEIL_BENCH_ROLE", "broker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("broker process");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("broker announces itself");
        let servers = line.trim().strip_prefix("bootstrap ").expect("bootstrap line").to_owned();
        Broker::Child { child, stdin, stdout, servers }
    }

    fn servers(&self) -> &str {
        match self {
            Broker::Child { servers, .. } | Broker::External { servers } => servers,
        }
    }

    fn pid(&self) -> Option<String> {
        match self {
            Broker::Child { child, .. } => Some(child.id().to_string()),
            Broker::External { .. } => None,
        }
    }

    fn create_topic(&mut self, rt: &tokio::runtime::Runtime, name: &str, partitions: i32) {
        match self {
            Broker::Child { stdin, stdout, .. } => {
                writeln!(stdin, "topic {name} {partitions}").expect("broker stdin");
                let mut line = String::new();
                stdout.read_line(&mut line).expect("broker reply");
                assert_eq!(line.trim(), "ok", "creating topic {name}");
            }
            Broker::External { servers } => {
                let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                    .set("bootstrap.servers", servers.as_str())
                    .create()
                    .expect("admin client");
                let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
                let out = rt
                    .block_on(admin.create_topics([&topic], &AdminOptions::new()))
                    .expect("create topics");
                for r in out {
                    r.map_err(|(t, e)| format!("{t}: {e}")).expect("topic created");
                }
            }
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Broker::Child { child, stdin, .. } = self {
            let _ = writeln!(stdin, "quit");
            let _ = child.wait();
        }
    }
}

/// `LOGVEIL_BENCH_ROLE=broker`: host a mock cluster until stdin closes.
pub fn broker_role() {
    let broker = EmbeddedBroker::start(1).expect("mock cluster");
    let mut out = std::io::stdout().lock();
    writeln!(out, "bootstrap {}", broker.bootstrap_servers()).expect("stdout");
    out.flush().expect("stdout");
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next().and_then(|p| p.parse().ok())) {
            (Some("topic"), Some(name), Some(partitions)) => {
                let reply = match broker.create_topic(name, partitions) {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => format!("error {e}"),
                };
                writeln!(out, "{reply}").expect("stdout");
                out.flush().expect("stdout");
            }
            _ => break,
        }
    }
}

/// The service settings both contenders use: `config/logveil.toml` plus
/// the overrides in `vars`, loaded the way `logveil run` loads them.
fn settings_from(vars: &[(String, String)]) -> ServiceSettings {
    Config::load(Path::new("config/logveil.toml"), vars.iter().cloned())
        .expect("config/logveil.toml with the bench overrides")
        .service_settings()
}

/// `LOGVEIL_BENCH_ROLE=copy`: a plain consume → produce loop with the
/// service's client settings (from the `LOGVEIL_*` overrides in the
/// environment) copying `LOGVEIL_BENCH_COPY_RECORDS` records from
/// `LOGVEIL_BENCH_COPY_IN` to `LOGVEIL_BENCH_COPY_OUT`, then flush, final
/// commit, and wait for stdin to close (so its `/proc` entry can be read).
pub fn copy_role() {
    let vars: Vec<(String, String)> =
        std::env::vars().filter(|(k, _)| !k.starts_with("LOGVEIL_BENCH_")).collect();
    let s = settings_from(&vars);
    let input = std::env::var("LOGVEIL_BENCH_COPY_IN").expect("input topic");
    let output = std::env::var("LOGVEIL_BENCH_COPY_OUT").expect("output topic");
    let n = env_or("LOGVEIL_BENCH_COPY_RECORDS", 0);
    // The same loop as the in-process baseline; its timing is not used here
    // (the parent measures from the output topic and this process's /proc).
    let _ = copy_loop(&s, &input, &output, n);
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
}

/// `LOGVEIL_BENCH_ROLE=service`: the service with the pass-through
/// processor, settings loaded like the copy loop's, reading
/// `LOGVEIL_BENCH_COPY_IN` and writing `LOGVEIL_BENCH_COPY_OUT` until stdin
/// closes; then a graceful shutdown.
pub fn service_role() {
    let vars: Vec<(String, String)> =
        std::env::vars().filter(|(k, _)| !k.starts_with("LOGVEIL_BENCH_")).collect();
    let s = settings_from(&vars);
    let input = std::env::var("LOGVEIL_BENCH_COPY_IN").expect("input topic");
    let output = std::env::var("LOGVEIL_BENCH_COPY_OUT").expect("output topic");
    let processor = crate::processor("passthrough", &input, &output, false);
    // The runtime `logveil run` builds (`src/cmd/run.rs`): one async worker
    // for the HTTP server. A default runtime (one worker per core, each
    // spinning briefly before it parks) cost the service role CPU the real
    // binary does not spend (`benches/PROFILE.md`, round four).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let shutdown = logveil::service::Shutdown::new();
    let stop = shutdown.clone();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::stdin().read_line(&mut rest);
        stop.trigger();
    });
    let summary = rt.block_on(logveil::service::run(&s, processor, shutdown)).expect("service");
    assert_eq!(summary.dead_lettered, 0);
}

/// Sums the high watermarks of `topic`'s partitions with one ListOffsets
/// request (timestamp -1: latest).
struct Watcher {
    consumer: BaseConsumer,
}

impl Watcher {
    fn new(servers: &str) -> Watcher {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", servers)
            .set("group.id", "logveil-bench-watcher")
            .create()
            .expect("watcher consumer");
        Watcher { consumer }
    }

    fn records(&self, topic: &str, partitions: i32) -> u64 {
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::End).expect("partition");
        }
        let out = self.consumer.offsets_for_times(tpl, Duration::from_secs(10)).expect("offsets");
        let sum = out
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o.max(0) as u64,
                _ => 0,
            })
            .sum();
        drop(out);
        sum
    }
}

/// What one contender did in one run.
struct Outcome {
    wall: Duration,
    usage: Usage,
    broker_cpu: Option<Duration>,
}

/// Waits until `topic` holds `n` records (from `base`), timing from the
/// first, then reads the contender's and the broker's usage.
fn watch(
    w: &Watcher,
    child: &mut Child,
    broker: &Broker,
    topic: &str,
    partitions: i32,
    n: u64,
    broker_before: Option<Usage>,
) -> Outcome {
    let pid = child.id().to_string();
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let got = w.records(topic, partitions);
        if got > 0 {
            first.get_or_insert_with(Instant::now);
        }
        if got >= n {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("contender exited early ({status}) with {got} of {n} records out");
        }
        assert!(Instant::now() < deadline, "{got} of {n} records after 15 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = first.map_or(Duration::ZERO, |f| f.elapsed());
    let own = usage(&pid).expect("/proc of the contender");
    let broker_cpu = match (broker.pid().and_then(|p| usage(&p)), broker_before) {
        (Some(a), Some(b)) => Some(a.cpu.saturating_sub(b.cpu)),
        _ => None,
    };
    Outcome { wall, usage: own, broker_cpu }
}

/// Environment of both contenders: config overrides the way an operator
/// would set them for `logveil run`.
fn contender_env(servers: &str, group: &str, pipelines: &Path, dlq: &str) -> Vec<(String, String)> {
    let mut v = vec![
        ("LOGVEIL_PIPELINES_DIR".into(), pipelines.display().to_string()),
        ("LOGVEIL_KAFKA__BROKERS".into(), servers.into()),
        ("LOGVEIL_KAFKA__GROUP_ID".into(), group.into()),
        ("LOGVEIL_KAFKA__DEAD_LETTER_TOPIC".into(), dlq.into()),
        ("LOGVEIL_SERVICE__HTTP_LISTEN".into(), "\"127.0.0.1:0\"".into()),
        ("LOGVEIL_KAFKA__CONSUMER__SESSION_TIMEOUT_MS".into(), "6000".into()),
    ];
    if let Ok(w) = std::env::var("LOGVEIL_BENCH_WORKERS") {
        v.push(("LOGVEIL_SERVICE__WORKER_THREADS".into(), w));
    }
    // Further overrides for both contenders alike, `NAME=value` separated
    // by spaces, e.g. `LOGVEIL_KAFKA__CONSUMER__MAX_PARTITION_FETCH_BYTES=65536`.
    if let Ok(extra) = std::env::var("LOGVEIL_BENCH_ENV") {
        for pair in extra.split_whitespace() {
            let (k, val) = pair.split_once('=').expect("LOGVEIL_BENCH_ENV: NAME=value pairs");
            v.push((k.to_owned(), val.to_owned()));
        }
    }
    v
}

/// Starts a process with the parent's environment minus every `LOGVEIL_*`
/// variable (the bench's own knobs would be read as config overrides),
/// plus `vars`.
fn command(program: &Path, vars: &[(String, String)]) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("LOGVEIL_") {
            c.env_remove(k);
        }
    }
    c.envs(vars.iter().map(|(k, v)| (k, v)));
    c
}

/// Writes the reference pipeline reading `input` and writing `output` (and
/// its stats to `stats`; without `[[stats]]` when `with_stats` is false)
/// into a fresh directory.
fn pipeline_dir(input: &str, output: &str, stats: &str, with_stats: bool) -> tempfile::TempDir {
    let mut text = std::fs::read_to_string("pipelines/access_log.toml")
        .expect("pipelines/access_log.toml")
        .replace(r#"topics = ["raw.access"]"#, &format!("topics = [{input:?}]"))
        .replace(r#"topic = "anon.access""#, &format!("topic = {output:?}"))
        .replace(r#"topic = "stats.access""#, &format!("topic = {stats:?}"));
    if !with_stats {
        text.truncate(text.find("[[stats]]").expect("the reference pipeline has stats"));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("access_log.toml"), text).expect("write pipeline");
    dir
}

fn logveil_binary() -> PathBuf {
    std::env::var_os("LOGVEIL_BENCH_LOGVEIL_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_logveil")), PathBuf::from)
}

fn kill_term(child: &mut Child) -> std::process::ExitStatus {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    child.wait().expect("wait for the contender")
}

fn us_per_record(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

/// The bench in this mode; see the module note.
pub fn main(rt: &tokio::runtime::Runtime) {
    let n = env_or("LOGVEIL_BENCH_RECORDS", 200_000);
    let partitions = env_or("LOGVEIL_BENCH_PARTITIONS", 16) as i32;
    let runs = env_or("LOGVEIL_BENCH_RUNS", 3);
    let only = std::env::var("LOGVEIL_BENCH_ONLY").unwrap_or_default();
    let kind = std::env::var("LOGVEIL_BENCH_PROCESSOR").unwrap_or_else(|_| "reference".into());
    assert!(
        ["reference", "nostats", "passthrough"].contains(&kind.as_str()),
        "LOGVEIL_BENCH_PROCESSOR={kind}: reference, nostats or passthrough"
    );
    let mut broker = Broker::start(rt);
    let bs = broker.servers().to_owned();
    let tag = format!("lvb{}", std::process::id());
    let input = format!("{tag}.in");
    broker.create_topic(rt, &input, partitions);
    let bytes = produce_input(&bs, &input, partitions, n);
    crate::check_retention(&bs, &input, partitions);
    let w = Watcher::new(&bs);
    println!(
        "{n} records, {:.0} B average, {partitions} partitions, broker {}, processes: \
         broker | copy loop | logveil run ({kind})",
        bytes as f64 / n as f64,
        if broker.pid().is_some() { "in a child process (mock cluster)" } else { "external" }
    );
    let mut rows: [Vec<(f64, f64, f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for run in 0..runs {
        for (i, who) in ["copy", "logveil"].into_iter().enumerate() {
            if only == "copy" && who != "copy" || only == "service" && who != "logveil" {
                continue;
            }
            let out = format!("{tag}.{who}.{run}");
            let stats = format!("{tag}.stats.{who}.{run}");
            let dlq = format!("{tag}.dlq.{who}.{run}");
            for t in [&out, &stats, &dlq] {
                let p = if *t == out { partitions } else { 1 };
                broker.create_topic(rt, t, p);
            }
            let dir = pipeline_dir(&input, &out, &stats, kind == "reference");
            let mut vars = contender_env(&bs, &format!("{tag}-{who}-{run}"), dir.path(), &dlq);
            let broker_before = broker.pid().and_then(|p| usage(&p));
            let role = if who == "copy" { "copy" } else { "service" };
            let mut child = if who == "copy" || kind == "passthrough" {
                vars.extend([
                    ("LOGVEIL_BENCH_ROLE".into(), role.into()),
                    ("LOGVEIL_BENCH_COPY_IN".into(), input.clone()),
                    ("LOGVEIL_BENCH_COPY_OUT".into(), out.clone()),
                    ("LOGVEIL_BENCH_COPY_RECORDS".into(), n.to_string()),
                ]);
                command(&std::env::current_exe().expect("own path"), &vars)
                    .stdin(Stdio::piped())
                    .spawn()
                    .expect("bench child process")
            } else {
                vars.extend([
                    ("LOGVEIL_CONFIG".into(), "config/logveil.toml".into()),
                    ("LOGVEIL_KEY_IDS".into(), BENCH_KEY.into()),
                    ("LOGVEIL_LOG".into(), "warn".into()),
                ]);
                command(&logveil_binary(), &vars)
                    .arg("run")
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("logveil run")
            };
            let o = watch(&w, &mut child, &broker, &out, partitions, n as u64, broker_before);
            // Statistics rows already delivered when the last record landed:
            // windows closed during the run (not only at shutdown).
            let stats_rows = w.records(&stats, 1);
            if who == "copy" || kind == "passthrough" {
                drop(child.stdin.take());
                let status = child.wait().expect("bench child exit");
                assert!(status.success(), "{who} failed: {status}");
            } else {
                let status = kill_term(&mut child);
                assert!(status.success(), "logveil run failed: {status}");
                assert_eq!(w.records(&dlq, 1), 0, "dead letters in a clean run");
            }
            let rate = n as f64 / o.wall.as_secs_f64();
            let cpu = us_per_record(o.usage.cpu, n);
            let rss = o.usage.peak_rss_kib as f64 / 1024.0;
            let bcpu = o.broker_cpu.map_or(f64::NAN, |d| us_per_record(d, n));
            println!(
                "run {run}: {who:<8} {rate:>9.0} rec/s  own CPU {cpu:>5.2} µs/record  \
                 peak RSS {rss:>6.1} MiB  broker CPU {bcpu:>5.2} µs/record  \
                 stats rows out during the run {stats_rows}"
            );
            rows[i].push((rate, cpu, rss, bcpu));
        }
    }
    let med = |v: &[(f64, f64, f64, f64)], f: fn(&(f64, f64, f64, f64)) -> f64| {
        median(v.iter().map(f).collect())
    };
    let per_rec = bytes as f64 / 1e6 / n as f64;
    for (i, who) in ["copy loop (baseline)", "logveil run"].into_iter().enumerate() {
        if rows[i].is_empty() {
            continue;
        }
        let r = &rows[i];
        let (rate, cpu, rss, bcpu) =
            (med(r, |x| x.0), med(r, |x| x.1), med(r, |x| x.2), med(r, |x| x.3));
        let max_rss = r.iter().map(|x| x.2).fold(0.0, f64::max);
        println!(
            "median {who:<21} {rate:>9.0} records/s {:>6.1} MB/s  own CPU {cpu:.2} µs/record  \
             peak RSS {rss:.1} MiB (max {max_rss:.1})  broker CPU {bcpu:.2} µs/record",
            rate * per_rec
        );
    }
    if rows.iter().all(|r| !r.is_empty()) {
        let ratio = |f: fn(&(f64, f64, f64, f64)) -> f64| med(&rows[1], f) / med(&rows[0], f);
        println!(
            "ratio logveil/copy loop: throughput {:.2}, own CPU per record {:.2}",
            ratio(|x| x.0),
            ratio(|x| x.1)
        );
    }
}
