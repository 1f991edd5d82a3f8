//! Canaries through the real binary (`logveil check`): values planted in
//! environment overrides, in the config file and in key material never
//! appear on stdout or stderr, whether the value is accepted or refused;
//! librdkafka properties that look like numbers or booleans are accepted.

use std::process::{Command, Output, Stdio};

/// A valid key (hex, 32 distinct bytes).
const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00123456789abcdeffedcba9876543210";

fn check(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logveil"));
    cmd.arg("check")
        .args(args)
        .env_remove("LOGVEIL_KEY_IDS")
        .env_remove("LOGVEIL_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs")
}

/// Both output channels, for grepping.
fn all_output(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn assert_absent(out: &Output, canary: &str) {
    let text = all_output(out);
    assert!(!text.contains(canary), "`{canary}` printed:\n{text}");
}

#[test]
fn librdkafka_values_from_the_environment_are_strings_and_never_printed() {
    let out = check(
        &[],
        &[
            ("LOGVEIL_KEY_IDS", KEY),
            ("LOGVEIL_KAFKA__CLIENT__SASL_PASSWORD", "98765432"),
            ("LOGVEIL_KAFKA__CLIENT__SSL_KEY_PASSWORD", "true"),
            ("LOGVEIL_KAFKA__CONSUMER__SESSION_TIMEOUT_MS", "6000"),
            ("LOGVEIL_KAFKA__PRODUCER__ENABLE_IDEMPOTENCE", "false"),
        ],
    );
    assert!(out.status.success(), "{}", all_output(&out));
    assert_absent(&out, "98765432");
    assert!(all_output(&out).contains("all checks passed"));
}

#[test]
fn refused_overrides_name_the_variable_never_the_value() {
    for (var, value) in [
        ("LOGVEIL_SERVICE__HTTP_LISTEN", "98765432"),
        ("LOGVEIL_SERVICE__HTTP_LISTEN", "canary-98765432:80"),
        ("LOGVEIL_SERVICE__WORKER_THREADS", "canary98765432"),
        ("LOGVEIL_SERVICE__WORKER_THREADS", "-98765432"),
        ("LOGVEIL_KAFKA__AUTO_OFFSET_RESET", "canary98765432"),
        ("LOGVEIL_KAFKA__COMPRESSION", "\"canary98765432\""),
        ("LOGVEIL_KAFKA__BROKERS", "98765432"),
        ("LOGVEIL_KAFKA__BROKERS", "[\"canary98765432\"]"),
        ("LOGVEIL_STATS__MODE", "canary98765432"),
        ("LOGVEIL_KAFKA__INCLUDE_RAW_IN_DEAD_LETTERS", "canary98765432"),
    ] {
        let out = check(&[], &[("LOGVEIL_KEY_IDS", KEY), (var, value)]);
        assert!(!out.status.success(), "{var}={value} accepted");
        assert_absent(&out, "98765432");
        assert!(all_output(&out).contains(var), "{var} not named:\n{}", all_output(&out));
    }
}

#[test]
fn refused_config_file_values_name_file_and_setting_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let pipelines = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    for (body, setting) in [
        ("[kafka]\nbrokers = 98765432\n", "kafka.brokers"),
        ("[kafka]\nauto_offset_reset = \"canary98765432\"\n", "kafka.auto_offset_reset"),
        ("[kafka.client]\n\"sasl.password\" = [\"canary98765432\"]\n", "kafka.client"),
        ("[service]\nhttp_listen = \"canary98765432\"\n", "service.http_listen"),
        ("[service]\nworker_threads = 98765432.5\n", "service.worker_threads"),
        ("[keys.ids]\nid = \"canary98765432:x\"\n", "keys.ids.id"),
    ] {
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            format!("pipelines_dir = {:?}\n{body}", pipelines.display().to_string()),
        )
        .unwrap();
        let out = check(&["--config", path.to_str().unwrap()], &[("LOGVEIL_KEY_IDS", KEY)]);
        assert!(!out.status.success(), "{body} accepted");
        assert_absent(&out, "98765432");
        let text = all_output(&out);
        assert!(text.contains("c.toml") && text.contains(setting), "{body}:\n{text}");
    }
}

#[test]
fn refused_keys_are_never_printed() {
    let typo = format!("{}x{}", &KEY[..40], &KEY[41..]);
    let weak_hex = "98765432".repeat(8);
    for (key, problem) in [
        (typo.as_str(), "typo"),
        (weak_hex.as_str(), "not a random key"),
        ("base64:OTg3NjU0MzI5ODc2NTQzMjk4NzY1NDMyOTg3NjU0MzI5ODc2NTQzMg==", "not a random key"),
        ("98765432", "64 hex characters"),
    ] {
        let out = check(&[], &[("LOGVEIL_KEY_IDS", key)]);
        assert!(!out.status.success(), "key accepted");
        let text = all_output(&out);
        assert!(text.contains("LOGVEIL_KEY_IDS") && text.contains(problem), "{text}");
        assert_absent(&out, "98765432");
        let n = key.len().min(12);
        assert_absent(&out, &key[..n]);
        assert_absent(&out, &key[key.len() - n..]);
    }
}
