//! The commands as a user runs them: the real binary, real files.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn logveil(args: &[&str], stdin: Option<&[u8]>, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logveil"));
    cmd.args(args)
        .env_remove("LOGVEIL_KEY_IDS")
        .env_remove("LOGVEIL_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary runs");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("binary finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[test]
fn process_writes_outputs_dead_letters_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.jsonl");
    let input = b"{\"client_ip\":\"203.0.113.77\",\"user_id\":\"u_SECRET1\",\"method\":\"GET\"}\n\
                  not json SECRET2\n\
                  \n\
                  {\"client_ip\":\"nope\",\"method\":\"PUT\"}\n\
                  [1]\n";
    let out = logveil(
        &[
            "process",
            "--pipeline",
            "pipelines/access_log.toml",
            "--dead-letter",
            dl.to_str().unwrap(),
        ],
        Some(input),
        &[("LOGVEIL_KEY_IDS", KEY)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["client_ip"], "203.0.113.0");
    assert!(!stdout.contains("SECRET"));
    assert_eq!(lines[1], serde_json::json!({"method":"PUT"}));
    let dead = std::fs::read_to_string(&dl).unwrap();
    let dead: Vec<serde_json::Value> =
        dead.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let codes: Vec<(&str, u64)> = dead
        .iter()
        .map(|d| (d["error_code"].as_str().unwrap(), d["source"]["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(codes, vec![("invalid_json", 2), ("empty_record", 3), ("not_an_object", 5)]);
    assert!(!std::fs::read_to_string(&dl).unwrap().contains("SECRET"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("read 5, written 2, dead-lettered 3, fields dropped 1"), "{stderr}");
    assert!(stderr.contains("dropped field client_ip: 1"), "{stderr}");
    assert!(!stderr.contains("SECRET"));
}

#[test]
fn process_refuses_to_start_without_a_key() {
    let out = logveil(&["process", "--pipeline", "pipelines/access_log.toml"], Some(b""), &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("LOGVEIL_KEY_IDS"), "{err}");
}

#[test]
fn process_refuses_short_keys_without_printing_them() {
    let out = logveil(
        &["process", "--pipeline", "pipelines/access_log.toml"],
        Some(b""),
        &[("LOGVEIL_KEY_IDS", "c0ffee")],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("exactly 64 hex characters") && !err.contains("c0ffee"), "{err}");
    // A declared base64 key that decodes to fewer than 32 bytes: refused by length.
    let short_b64 = "base64:c2hvcnRrZXlzaG9ydGtleQ==";
    let out = logveil(
        &["process", "--pipeline", "pipelines/access_log.toml"],
        Some(b""),
        &[("LOGVEIL_KEY_IDS", short_b64)],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("at least 32") && !err.contains("c2hvcnRrZXlzaG9ydGtleQ"), "{err}");
}

/// Runs `process --stats` with the access-log pipeline over `n` generated
/// records; returns the parsed statistics rows.
fn stats_rows_for(dir: &std::path::Path, seed: u64, n: usize) -> Vec<serde_json::Value> {
    let input = dir.join("in.jsonl");
    let stats = dir.join("stats.jsonl");
    std::fs::write(&input, logveil::workload::AccessLogGenerator::new(seed).lines(n)).unwrap();
    let out = logveil(
        &[
            "process",
            "--pipeline",
            "pipelines/access_log.toml",
            "--input",
            input.to_str().unwrap(),
            "--output",
            dir.join("out.jsonl").to_str().unwrap(),
            "--stats",
            stats.to_str().unwrap(),
        ],
        None,
        &[("LOGVEIL_KEY_IDS", KEY)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::read_to_string(&stats)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn process_emits_stats_for_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let rows = stats_rows_for(dir.path(), 1, 3000);
    assert!(!rows.is_empty());
    let mut total = 0;
    for r in &rows {
        assert_eq!(r["stat"], "requests_per_minute");
        if r.get("summary").is_some() {
            // `null` when withheld (a lone suppressed group, or under min_count).
            let suppressed = &r["records_suppressed"];
            assert!(suppressed.is_null() || suppressed.as_u64().unwrap() >= 5, "{r}");
            total += suppressed.as_u64().unwrap_or(0);
            continue;
        }
        let n = r["measures"]["requests"].as_u64().unwrap();
        if r["dimensions"]["path_template"] != "__other__" {
            assert!(n >= 5, "group below min_count published: {r}");
            assert!(r["measures"]["users"].as_u64().unwrap() >= 3, "{r}");
        }
        total += n;
    }
    assert!(total > 0);
}

#[test]
fn test_command_passes_shipped_pipelines_and_fails_a_wrong_case() {
    let out = logveil(&["test"], None, &[]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains(" passed, 0 failed"));

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "name = \"t\"\ncategory = \"payment\"\n[input]\ntopics = [\"i\"]\n[output]\ntopic = \"o\"\n[fields]\nip = \"truncate_ip\"\n\
         [[tests]]\ninput = '{\"ip\":\"1.2.3.4\"}'\nexpect = '{\"ip\":\"1.2.3.4\"}'\n",
    )
    .unwrap();
    let out = logveil(&["test", f.to_str().unwrap()], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAILED") && stdout.contains("~ ip: expected \"1.2.3.4\", got \"1.2.3.0\""),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"));
}

#[test]
fn check_reports_ok_and_precise_errors() {
    let out = logveil(&["check"], None, &[("LOGVEIL_KEY_IDS", KEY)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("pipeline access_log (log_information)")
            && stdout.contains("all checks passed")
    );
    assert!(!stdout.contains(KEY));

    let out = logveil(&["check"], None, &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("LOGVEIL_KEY_IDS"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("p")).unwrap();
    std::fs::write(
        dir.path().join("p/x.toml"),
        "name = \"x\"\ncategory = \"payment\"\n[input]\ntopics = [\"i\"]\n[output]\ntopic = \"o\"\n[fields]\nip = { action = \"truncate_ip\", ipv4_prefix = 40 }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.toml"), "pipelines_dir = \"p\"\n").unwrap();
    let out =
        logveil(&["check", "--config", dir.path().join("c.toml").to_str().unwrap()], None, &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("x.toml: fields.ip.ipv4_prefix: must be between 0 and 32"), "{err}");

    let out = logveil(
        &["check"],
        None,
        &[("LOGVEIL_KEY_IDS", KEY), ("LOGVEIL_KAFKA__LINGER_MS", "soon")],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("LOGVEIL_KAFKA__LINGER_MS"), "{}", text(&out.stderr));
}

#[test]
fn explain_covers_every_category_and_never_prints_keys() {
    let out = logveil(&["explain"], None, &[("LOGVEIL_KEY_IDS", KEY)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    for title in [
        "Log information",
        "Account information",
        "Real-name authentication",
        "Customer service",
        "Operational activities",
        "Payment",
        "Phishing simulation",
    ] {
        assert!(md.contains(&format!("## {title}")), "missing {title}");
    }
    assert!(md.contains("| `client_ip` | IP address truncated: IPv4 to /24, IPv6 to /48"));
    assert!(md.contains("at least 5 distinct values"));
    assert!(md.contains("`invalid_json`"));
    let fingerprint = logveil::keys::SecretKey::parse(KEY).unwrap().fingerprint();
    assert!(md.contains(&fingerprint));
    assert!(!md.contains(KEY));
}

#[test]
fn keygen_prints_an_accepted_key() {
    let out = logveil(&["keygen"], None, &[]);
    assert!(out.status.success());
    let k = text(&out.stdout).trim().to_string();
    assert_eq!(k.len(), 64);
    assert!(logveil::keys::SecretKey::parse(&k).is_ok());
    let out2 = logveil(&["keygen", "--base64"], None, &[]);
    assert!(logveil::keys::SecretKey::parse(text(&out2.stdout).trim()).is_ok());
    assert_ne!(text(&out.stdout), text(&out2.stdout));
}

#[test]
fn explain_writes_a_json_schema_per_stats_topic_that_rows_follow() {
    let dir = tempfile::tempdir().unwrap();
    let out = logveil(
        &["explain", "--schemas", dir.path().to_str().unwrap()],
        None,
        &[("LOGVEIL_KEY_IDS", KEY)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("stats.access.schema.json")).unwrap(),
    )
    .unwrap();
    let group = &schema["oneOf"][0]["properties"];
    let summary = &schema["oneOf"][1]["properties"];
    // Rows really produced by `process --stats` use exactly the declared keys.
    let rows = stats_rows_for(dir.path(), 3, 2000);
    let mut checked = 0;
    for row in &rows {
        let props = if row.get("summary").is_some() { summary } else { group };
        for k in row.as_object().unwrap().keys() {
            assert!(props.get(k).is_some(), "{k} not in the schema");
        }
        if let Some(d) = row.get("dimensions") {
            for k in d.as_object().unwrap().keys() {
                assert!(props["dimensions"]["properties"].get(k).is_some(), "dimension {k}");
            }
            for k in row["measures"].as_object().unwrap().keys() {
                assert!(props["measures"]["properties"].get(k).is_some(), "measure {k}");
            }
        }
        checked += 1;
    }
    assert!(checked > 0);
}
