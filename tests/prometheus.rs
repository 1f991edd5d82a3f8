//! The operations kit checked against what it claims: the Grafana dashboard
//! and the alert rules in `config/` read from the files themselves.
//!
//! - Always: the dashboard is importable (valid JSON, schema version, unique
//!   panel ids, a `${datasource}` variable, `instance` and `pipeline`
//!   variables, a PromQL target on every panel), every metric it and the
//!   alert rules name is in the README's metrics table with the labels they
//!   use, and every alert has a severity, a summary and a description.
//! - When `prometheus` and `promtool` are on `PATH` (Debian's `prometheus`
//!   package; `.ci/run` installs it): `promtool check rules` and
//!   `promtool test rules`, and a real Prometheus scraping a running
//!   `logveil demo --follow` evaluates every dashboard and alert expression
//!   through its HTTP API (each dashboard expression must return data) and
//!   shows every documented metric exported with its documented labels.
//!   Without the tools these two tests say SKIPPED on stderr and pass.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::Value;

const DASHBOARD: &str = "config/grafana/logveil.json";
const ALERTS: &str = "config/prometheus/logveil-alerts.yml";
const ALERT_TESTS: &str = "config/prometheus/logveil-alerts.test.yml";

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_file(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

/// Prints past the test harness's capture, so a skip is seen in `cargo test`.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

// ---------------------------------------------------------------- dashboard

/// Every panel, rows' nested panels included.
fn all_panels(dash: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for p in panels.as_array().into_iter().flatten() {
            out.push(p);
            if let Some(nested) = p.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dash["panels"], &mut out);
    out
}

/// (panel title, expression) of every target of every panel.
fn dashboard_targets(dash: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in all_panels(dash) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or_default().to_owned();
            out.push((title, t["expr"].as_str().unwrap_or_default().to_owned()));
        }
    }
    out
}

/// The template variables of the dashboard by name.
fn variables(dash: &Value) -> BTreeMap<String, &Value> {
    dash["templating"]["list"]
        .as_array()
        .expect("templating.list is an array")
        .iter()
        .map(|v| (v["name"].as_str().expect("every variable has a name").to_owned(), v))
        .collect()
}

/// A variable's query text (Grafana stores it as a string or as `{query}`).
fn variable_query(v: &Value) -> String {
    match &v["query"] {
        Value::String(s) => s.clone(),
        q => q["query"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The README's metrics table: metric name → (type, labels).
fn documented_metrics() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let readme = read("README.md");
    let row = Regex::new(r"^\| `(logveil_[a-z_]+)` \| ([^|]+) \| ([^|]*) \|").expect("regex");
    let label = Regex::new(r"`([a-z_]+)`").expect("regex");
    // A label's values may follow it in parentheses: "`kind` (`assign`, `revoke`)".
    let values = Regex::new(r"\([^)]*\)").expect("regex");
    let mut out = BTreeMap::new();
    for line in readme.lines() {
        if let Some(c) = row.captures(line) {
            let names = values.replace_all(&c[3], "");
            let labels = label.captures_iter(&names).map(|l| l[1].to_owned()).collect();
            out.insert(c[1].to_owned(), (c[2].trim().to_owned(), labels));
        }
    }
    assert!(out.len() >= 15, "README metrics table not found or too short: {out:?}");
    out
}

/// A metric as exported: histograms add `_bucket`, `_sum` and `_count`.
fn documented_name<'a>(
    name: &'a str,
    docs: &BTreeMap<String, (String, BTreeSet<String>)>,
) -> Option<&'a str> {
    if docs.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        matches!(docs.get(base), Some((kind, _)) if kind == "histogram").then_some(base)
    })
}

/// Every `logveil_*` selector in an expression: (metric, matcher text).
fn selectors(expr: &str) -> Vec<(String, String)> {
    let re = Regex::new(r"\b(logveil_[a-z_]+)(\{([^}]*)\})?").expect("regex");
    re.captures_iter(expr)
        .map(|c| (c[1].to_owned(), c.get(3).map_or("", |m| m.as_str()).to_owned()))
        .collect()
}

/// Labels named in `by (...)` / `without (...)` / `on (...)` clauses.
fn grouping_labels(expr: &str) -> Vec<String> {
    let re = Regex::new(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)").expect("regex");
    re.captures_iter(expr)
        .flat_map(|c| {
            c[1].split(',')
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Labels every scraped series has, plus the histogram's `le`.
const TARGET_LABELS: [&str; 3] = ["instance", "job", "le"];

#[test]
fn dashboard_is_importable_and_uses_documented_metrics() {
    let dash = dashboard();
    assert!(
        dash["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion missing or old"
    );
    assert!(dash["uid"].as_str().is_some_and(|s| !s.is_empty()), "uid");
    assert!(dash["title"].as_str().is_some_and(|s| !s.is_empty()), "title");
    assert!(dash.get("__inputs").is_none(), "no import-time inputs: provisioning cannot fill them");

    let vars = variables(&dash);
    let ds = vars.get("datasource").expect("a datasource variable");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    for name in ["instance", "pipeline"] {
        let v = vars.get(name).unwrap_or_else(|| panic!("a {name} variable"));
        assert_eq!(v["type"], "query", "{name}");
        assert_eq!(v["datasource"]["uid"], "${datasource}", "{name}");
        assert!(variable_query(v).starts_with("label_values("), "{name}");
        assert_eq!(v["includeAll"], true, "{name}: an All option");
        assert_eq!(v["allValue"], ".*", "{name}: All matches every value");
    }

    let docs = documented_metrics();
    let mut ids = HashSet::new();
    let mut boxes: Vec<(String, [u64; 4])> = Vec::new();
    let var_ref = Regex::new(r"\$\{?(\w+)").expect("regex");
    let mut targets = 0;
    for p in all_panels(&dash) {
        let title = p["title"].as_str().expect("every panel has a title").to_owned();
        let id = p["id"].as_u64().unwrap_or_else(|| panic!("{title}: integer id"));
        assert!(ids.insert(id), "{title}: panel id {id} used twice");
        let g = &p["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"]
            .map(|k| g[k].as_u64().unwrap_or_else(|| panic!("{title}: gridPos.{k}")));
        assert!(w > 0 && h > 0 && x + w <= 24, "{title}: gridPos outside the 24 columns");
        for (other, [ox, oy, ow, oh]) in &boxes {
            let overlap = x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h;
            assert!(!overlap, "{title} overlaps {other}");
        }
        boxes.push((title.clone(), [x, y, w, h]));
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}: panel datasource");
        assert!(
            p["description"].as_str().is_some_and(|d| d.len() > 20),
            "{title}: a description saying how to read it"
        );
        let ts = p["targets"].as_array().filter(|t| !t.is_empty());
        let ts = ts.unwrap_or_else(|| panic!("{title}: no targets"));
        let mut refs = HashSet::new();
        for t in ts {
            targets += 1;
            let expr = t["expr"].as_str().filter(|e| !e.trim().is_empty());
            let expr = expr.unwrap_or_else(|| panic!("{title}: a target without expr"));
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{title}: target datasource");
            let r = t["refId"].as_str().unwrap_or_else(|| panic!("{title}: refId"));
            assert!(refs.insert(r.to_owned()), "{title}: refId {r} twice");
            for v in var_ref.captures_iter(expr) {
                let known = vars.contains_key(&v[1]) || &v[1] == "__rate_interval";
                assert!(known, "{title}: unknown variable ${} in {expr}", &v[1]);
            }
            let sels = selectors(expr);
            assert!(!sels.is_empty(), "{title}: no logveil metric in {expr}");
            let mut labels: BTreeSet<&str> = TARGET_LABELS.into_iter().collect();
            for (metric, matchers) in &sels {
                let base = documented_name(metric, &docs).unwrap_or_else(|| {
                    panic!("{title}: {metric} is not in the README metrics table")
                });
                let documented = &docs[base].1;
                labels.extend(documented.iter().map(String::as_str));
                assert!(
                    matchers.contains(r#"instance=~"$instance""#),
                    "{title}: {metric} not filtered by $instance"
                );
                // `$pipeline(:merge)?` also matches the merging side's
                // statistics counters (`pipeline="<name>:merge"`).
                assert_eq!(
                    matchers.contains(r#"pipeline=~"$pipeline"#),
                    documented.contains("pipeline"),
                    "{title}: {metric} must be filtered by $pipeline exactly when it has that label"
                );
            }
            for l in grouping_labels(expr) {
                assert!(labels.contains(l.as_str()), "{title}: grouping by {l}, no metric has it");
            }
        }
    }
    assert!(targets >= 20, "only {targets} targets");

    // The panels the operations issue asks for, by the metric they show.
    let exprs: Vec<String> = dashboard_targets(&dash).into_iter().map(|(_, e)| e).collect();
    for metric in [
        "logveil_records_in_total",
        "logveil_records_out_total",
        "logveil_records_dead_lettered_total",
        "logveil_fields_dropped_total",
        "logveil_processing_duration_seconds_bucket",
        "logveil_consumer_lag_records",
        "logveil_producer_queue_messages",
        "logveil_delivery_errors_total",
        "logveil_commit_failures_total",
        "logveil_ready",
        "logveil_stats_records_out_total",
        "logveil_stats_suppressed_groups_total",
        "logveil_stats_late_records_total",
        "logveil_key_info",
    ] {
        assert!(exprs.iter().any(|e| e.contains(metric)), "no panel shows {metric}");
    }
    assert!(
        exprs.iter().any(|e| e.contains("by (error_code)")),
        "no panel of dead letters by error_code"
    );
}

/// The alert rules, as `(name, block text)` in file order, split on `- alert:`.
fn alert_blocks(text: &str) -> Vec<(String, String)> {
    let start = Regex::new(r"(?m)^\s*- alert:\s*(\S+)\s*$").expect("regex");
    let starts: Vec<_> = start.captures_iter(text).collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let from = c.get(0).expect("match").start();
            let to = starts.get(i + 1).map_or(text.len(), |n| n.get(0).expect("match").start());
            (c[1].to_owned(), text[from..to].to_owned())
        })
        .collect()
}

#[test]
fn alert_rules_use_documented_metrics_and_say_what_to_check() {
    let text = read(ALERTS);
    let docs = documented_metrics();
    let blocks = alert_blocks(&text);
    assert!(blocks.len() >= 9, "{} alerts", blocks.len());
    let names: BTreeSet<_> = blocks.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names.len(), blocks.len(), "alert names are unique");
    for (name, block) in &blocks {
        for key in ["expr:", "severity:", "summary:", "description:"] {
            assert!(block.contains(key), "{name}: no {key}");
        }
        let description = block.split("description:").nth(1).unwrap_or_default();
        assert!(description.contains("Check"), "{name}: the description says what to check");
        for (metric, _) in selectors(block) {
            assert!(
                documented_name(&metric, &docs).is_some(),
                "{name}: {metric} is not in the README metrics table"
            );
        }
    }
    // Each alert is exercised by the promtool unit tests, firing and not.
    let tests = read(ALERT_TESTS);
    for name in &names {
        let uses = tests.matches(&format!("alertname: {name}\n")).count();
        assert!(uses >= 2, "{name}: {uses} promtool test cases (want firing and silent)");
    }
    // Their input series look like what logveil exports: the documented
    // labels plus the target's job and instance.
    let series = Regex::new(r"series: '(logveil_[a-z_]+)\{([^}]*)\}'").expect("regex");
    let label = Regex::new(r"(\w+)\s*=").expect("regex");
    let mut seen = 0;
    for c in series.captures_iter(&tests) {
        seen += 1;
        let metric = &c[1];
        let base = documented_name(metric, &docs)
            .unwrap_or_else(|| panic!("test series {metric} is not in the README metrics table"));
        let got: BTreeSet<String> = label.captures_iter(&c[2]).map(|l| l[1].to_owned()).collect();
        let mut want = docs[base].1.clone();
        want.extend(["job".to_owned(), "instance".to_owned()]);
        assert_eq!(got, want, "labels of the test series {metric}{{{}}}", &c[2]);
    }
    assert!(seen >= 20, "only {seen} input series found in {ALERT_TESTS}");
}

// ---------------------------------------------------------------- tools

/// The executable `name` on `PATH`, if any.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// `prometheus` and `promtool`, or why the test is skipped.
fn prometheus_tools(test: &str) -> Option<(PathBuf, PathBuf)> {
    match (on_path("prometheus"), on_path("promtool")) {
        (Some(server), Some(tool)) => Some((server, tool)),
        (server, tool) => {
            let missing: Vec<&str> =
                [("prometheus", server.is_none()), ("promtool", tool.is_none())]
                    .into_iter()
                    .filter_map(|(n, m)| m.then_some(n))
                    .collect();
            say(&format!(
                "SKIPPED {test}: {} not on PATH (install Debian's `prometheus` package; .ci/run does)",
                missing.join(" and ")
            ));
            None
        }
    }
}

#[test]
fn promtool_checks_and_unit_tests_the_alert_rules() {
    let Some((_, promtool)) = prometheus_tools("promtool_checks_and_unit_tests_the_alert_rules")
    else {
        return;
    };
    for args in [["check", "rules", ALERTS], ["test", "rules", ALERT_TESTS]] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------- real Prometheus

/// Child processes that are killed however the test ends; on a failure the
/// tail of their logs is printed.
#[derive(Default)]
struct Children {
    running: Vec<(&'static str, Child, PathBuf)>,
}

impl Children {
    fn spawn(&mut self, name: &'static str, mut cmd: Command, log: PathBuf) -> &mut Child {
        let file = File::create(&log).expect("log file");
        cmd.stderr(file);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.running.push((name, child, log));
        &mut self.running.last_mut().expect("just pushed").1
    }

    /// Fails the test if a child has exited.
    fn assert_alive(&mut self) {
        for (name, child, log) in &mut self.running {
            if let Ok(Some(status)) = child.try_wait() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("{name} exited early ({status}):\n{}", tail(&text, 30));
            }
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (name, child, log) in &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                let text = std::fs::read_to_string(&*log).unwrap_or_default();
                say(&format!("--- last lines of {name}'s log:\n{}", tail(&text, 30)));
            }
        }
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A plain HTTP/1.0 GET (no chunking, the server closes): status and body.
fn http_get(addr: &str, target: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((status, body.to_owned()))
}

/// `/api/v1/query` at the current time; panics unless it is a well-formed success.
fn query(prom: &str, expr: &str) -> Value {
    let (status, body) = http_get(prom, &format!("/api/v1/query?query={}", percent_encode(expr)))
        .unwrap_or_else(|e| panic!("query {expr}: {e}"));
    let v: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("query {expr}: HTTP {status}, not JSON ({e}): {body}"));
    assert_eq!(v["status"], "success", "query {expr}: HTTP {status}: {body}");
    let data = &v["data"];
    match data["resultType"].as_str() {
        Some("vector") => {
            for sample in data["result"].as_array().expect("vector result is an array") {
                assert!(sample["metric"].is_object(), "query {expr}: sample without labels");
                let value = sample["value"][1].as_str().unwrap_or_default();
                assert!(value.parse::<f64>().is_ok(), "query {expr}: value {value:?}");
            }
        }
        Some("scalar") => {
            let value = data["result"][1].as_str().unwrap_or_default();
            assert!(value.parse::<f64>().is_ok(), "query {expr}: scalar {value:?}");
        }
        other => panic!("query {expr}: unexpected result type {other:?}: {body}"),
    }
    data.clone()
}

fn series(data: &Value) -> Vec<Value> {
    data["result"].as_array().cloned().unwrap_or_default()
}

/// Polls `check` every 250 ms until it returns `Some` or `secs` pass.
fn wait_for<T>(
    children: &mut Children,
    what: &str,
    secs: u64,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(t) = check() {
            return t;
        }
        children.assert_alive();
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn every_dashboard_and_alert_expression_evaluates_on_a_real_prometheus() {
    let test = "every_dashboard_and_alert_expression_evaluates_on_a_real_prometheus";
    let Some((prometheus, _)) = prometheus_tools(test) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut children = Children::default();

    // logveil demo --follow: embedded broker, every pipeline, a trickle of
    // access-log records, /metrics on a free port it prints.
    let mut demo = Command::new(env!("CARGO_BIN_EXE_logveil"));
    demo.args(["demo", "--follow", "--records", "20", "--http-listen", "127.0.0.1:0"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LOGVEIL_KEY_IDS")
        .env_remove("LOGVEIL_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let child = children.spawn("logveil demo", demo, dir.path().join("demo.log"));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let re = Regex::new(r"metrics: http://([0-9.]+:[0-9]+)/metrics").expect("regex");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(c) = re.captures(&line) {
                let _ = tx.send(c[1].to_owned());
            }
        }
    });
    let target = wait_for(&mut children, "the demo's metrics address", 120, || rx.try_recv().ok());

    // Prometheus scraping it every second, with the alert rules loaded.
    let prom = format!("127.0.0.1:{}", free_port());
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {alerts:?}\n\
             scrape_configs:\n  - job_name: logveil\n    static_configs:\n      - targets: [{target:?}]\n",
            alerts = repo_file(ALERTS).display().to_string(),
        ),
    )
    .expect("write prometheus.yml");
    let mut server = Command::new(prometheus);
    server
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address={prom}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    children.spawn("prometheus", server, dir.path().join("prometheus.log"));
    wait_for(&mut children, "prometheus /-/ready", 60, || {
        matches!(http_get(&prom, "/-/ready"), Ok((200, _))).then_some(())
    });

    // At least two scrapes after the first, so every rate() has two samples.
    let up = format!(r#"count_over_time(logveil_ready{{job="logveil", instance="{target}"}}[1m])"#);
    wait_for(&mut children, "three scrapes of the demo", 30, || {
        let data = query(&prom, &up);
        let n = series(&data).first()?["value"][1].as_str()?.parse::<f64>().ok()?;
        (n >= 3.0).then_some(())
    });

    // The alert rules as Prometheus loaded them from the file: all of them,
    // each evaluated at least once without error.
    let file_alerts: BTreeSet<String> =
        alert_blocks(&read(ALERTS)).into_iter().map(|(n, _)| n).collect();
    let rules = wait_for(&mut children, "every alert rule evaluated", 30, || {
        let (_, body) = http_get(&prom, "/api/v1/rules?type=alert").ok()?;
        let v: Value = serde_json::from_str(&body).ok()?;
        let rules: Vec<Value> = v["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        rules.iter().all(|r| r["health"] != "unknown").then_some(rules)
    });
    let loaded: BTreeSet<String> =
        rules.iter().filter_map(|r| r["name"].as_str().map(str::to_owned)).collect();
    assert_eq!(loaded, file_alerts, "Prometheus loaded other alerts than {ALERTS} names");
    for r in &rules {
        assert_eq!(r["health"], "ok", "rule {}: {}", r["name"], r["lastError"]);
        // A healthy demo fires nothing (rules with `for` cannot fire yet;
        // the others would only on a failure or a key rotation).
        let state = r["state"].as_str();
        assert!(
            matches!(state, Some("inactive" | "pending")),
            "rule {} is {state:?} on a healthy demo",
            r["name"]
        );
    }

    // The README's metrics table against what the demo exports: every
    // documented metric, from the first scrapes (counters start at 0, so
    // alerts on them work before the first event), with exactly its
    // documented labels.
    for (metric, (kind, labels)) in documented_metrics() {
        let name = if kind == "histogram" { format!("{metric}_count") } else { metric.clone() };
        let got = series(&query(&prom, &name));
        assert!(!got.is_empty(), "{metric} is documented but not exported");
        for s in got {
            let names: BTreeSet<String> = s["metric"]
                .as_object()
                .expect("labels")
                .keys()
                .filter(|k| !["__name__", "job", "instance"].contains(&k.as_str()))
                .cloned()
                .collect();
            assert_eq!(names, labels, "{metric}: exported labels differ from the README table");
        }
    }

    // Every alert expression, evaluated through the query API.
    let mut evaluated = 0;
    for r in &rules {
        let expr = r["query"].as_str().expect("every rule has a query");
        query(&prom, expr);
        evaluated += 1;
    }

    // Every dashboard expression with the variables set to this demo.
    let dash = dashboard();
    let vars = [
        ("$__rate_interval", "30s".to_owned()),
        ("$instance", target.clone()),
        ("$pipeline", "access_log".to_owned()),
    ];
    let substitute = |expr: &str| {
        let mut e = expr.to_owned();
        for (name, value) in &vars {
            e = e.replace(name, value);
        }
        assert!(!e.contains('$'), "an unsubstituted variable in {e}");
        e
    };
    // Each returns data: every metric exists from the start, so an empty
    // result means a wrong metric name, label or label value.
    for (title, expr) in dashboard_targets(&dash) {
        let data = query(&prom, &substitute(&expr));
        evaluated += 1;
        assert!(!series(&data).is_empty(), "panel {title:?}: no data for {expr}");
    }

    // The variables' label_values(selector, label) queries.
    let label_values = Regex::new(r"^label_values\((.+),\s*(\w+)\)$").expect("regex");
    let expected = [("instance", target.as_str()), ("pipeline", "access_log")];
    for (name, v) in variables(&dash) {
        if v["type"] != "query" {
            continue;
        }
        let q = variable_query(v);
        let c = label_values.captures(&q).unwrap_or_else(|| panic!("${name}: {q}"));
        let data = query(&prom, &substitute(&c[1]));
        evaluated += 1;
        let values: BTreeSet<String> = series(&data)
            .iter()
            .map(|s| s["metric"][&c[2]].as_str().unwrap_or_else(|| panic!("${name}: no {}", &c[2])))
            .map(str::to_owned)
            .collect();
        if let Some((_, want)) = expected.iter().find(|(n, _)| *n == name) {
            assert!(values.contains(*want), "${name} offers {values:?}, not {want}");
        }
    }
    say(&format!(
        "{test}: {evaluated} expressions evaluated on Prometheus ({} alert rules, every \
         dashboard expression with data)",
        rules.len()
    ));
}
