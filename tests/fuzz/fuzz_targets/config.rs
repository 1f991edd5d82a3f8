//! Loading configuration: pipeline TOML (`Pipeline::from_toml`, with the
//! rings it references), `logveil.toml` text with `LOGVEIL_*` environment
//! overrides (`Config::from_text`). Never panics, and no error message
//! contains an environment value (one of at least 8 characters is looked
//! for; to tell a value from the words of a message, the same load is
//! repeated with every letter and digit of the values rotated, and the
//! value must not appear only in the first message).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use logveil::config::Config;
use logveil::pipeline::compile::referenced_rings_in;
use logveil::pipeline::Pipeline;
use logveil_fuzz::test_keys;

/// Settings the fuzzer is steered towards (any other name is possible too).
const NAMES: &[&str] = &[
    "LOGVEIL_PIPELINES_DIR",
    "LOGVEIL_KAFKA__BROKERS",
    "LOGVEIL_KAFKA__GROUP_ID",
    "LOGVEIL_KAFKA__DEAD_LETTER_TOPIC",
    "LOGVEIL_KAFKA__CLIENT__SASL_PASSWORD",
    "LOGVEIL_KAFKA__CONSUMER__SESSION_TIMEOUT_MS",
    "LOGVEIL_KAFKA__PRODUCER__LINGER_MS",
    "LOGVEIL_SERVICE__WORKERS",
    "LOGVEIL_SERVICE__HTTP_ADDR",
    "LOGVEIL_SERVICE__SHUTDOWN_GRACE_MS",
    "LOGVEIL_STATS__MODE",
    "LOGVEIL_KEYS__IDS__ID",
    "LOGVEIL_KEYS__IDS__FILE",
];

fn rotate(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            '0'..='9' => char::from(b'0' + (c as u8 - b'0' + 5) % 10),
            'a'..='z' => char::from(b'a' + (c as u8 - b'a' + 13) % 26),
            'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + 13) % 26),
            _ => c,
        })
        .collect()
}

fn load(text: &str, vars: &[(String, String)]) -> Option<String> {
    Config::from_text(text, Path::new("c.toml"), Path::new("."), vars.to_vec())
        .err()
        .map(|e| e.to_string())
}

/// Input: a mode byte; odd: the rest is pipeline TOML. Even: config TOML,
/// then after a NUL byte `NAME=VALUE` lines of environment variables (a
/// line's first byte below 13 picks a name from [`NAMES`] instead).
fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 1 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        let _ = referenced_rings_in(text, Path::new("p.toml"));
        let _ = Pipeline::from_toml(text, Path::new("p.toml"), &test_keys());
        return;
    }
    let (text, env) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let (Ok(text), Ok(env)) = (std::str::from_utf8(text), std::str::from_utf8(env)) else { return };
    let vars: Vec<(String, String)> = env
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once('=')?;
            let name = match name.as_bytes() {
                [b] if usize::from(*b) < NAMES.len() => NAMES[usize::from(*b)].to_owned(),
                _ => format!("LOGVEIL_{name}"),
            };
            Some((name, value.to_owned()))
        })
        .collect();
    let Some(err) = load(text, &vars) else { return };
    let rotated: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.clone(), rotate(v))).collect();
    let err2 = load(text, &rotated).unwrap_or_default();
    for (name, value) in &vars {
        let from_config =
            text.contains(value.as_str()) || vars.iter().any(|(k, _)| k.contains(value.as_str()));
        if value.chars().count() >= 8
            && !from_config
            && err.contains(value.as_str())
            && !err2.contains(value.as_str())
        {
            panic!("a config error echoes the value of {name}");
        }
    }
}

fuzz_target!(|data: &[u8]| run(data));
