//! "Never panics" on load, without the fuzz build: every shipped pipeline
//! file and `config/logveil.toml`, mutated (a value replaced by an awkward
//! one, text cut, spliced or duplicated), is loaded as `logveil check`
//! would; loading must return `Ok` or an error naming the file — never
//! panic. Environment overrides are mutated the same way. Plus the fuzzing
//! reproducers of issue 15 as fixed cases.

use std::path::{Path, PathBuf};

use logveil::config::Config;
use logveil::keys::KeyStore;
use logveil::pipeline::compile::referenced_rings_in;
use logveil::pipeline::Pipeline;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

/// Values that have broken parsers before, or are on an edge: multi-byte
/// characters where a unit is expected, signs, huge and fractional numbers,
/// empty text, escapes, TOML syntax.
const AWKWARD: &[&str] = &[
    "\"ψ\"",
    "\"5é\"",
    "\"1\u{10FFFF}\"",
    "\"\"",
    "\"s\"",
    "\"0s\"",
    "\"-1m\"",
    "\"99999999999999d\"",
    "0",
    "-1",
    "1.5",
    "1e400",
    "-9223372036854775808",
    "18446744073709551616",
    "true",
    "[]",
    "[\"\"]",
    "{}",
    "{ action = \"keep\" }",
    "\"\\ud800\"",
    "\"a.b..c\"",
    "\".\"",
    "\"__other__\"",
    "\"\\u0000\"",
    "[1, \"a\"]",
    "\"🙂🙂\"",
    "\"[PHONE]\"",
    "\"x\".y",
    "nan",
    "inf",
];

fn shipped(dir: &str, ext: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// One mutation of TOML text, chosen by the strategy's numbers.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the value of the n-th `key = value` line.
    Value(usize, usize),
    /// Cut `len` bytes at a position (snapped to characters).
    Cut(usize, usize),
    /// Insert an awkward value at a position.
    Insert(usize, usize),
    /// Duplicate the n-th line.
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0..AWKWARD.len()).prop_map(|(a, b)| Mutation::Value(a, b)),
        1 => (any::<usize>(), 1_usize..40).prop_map(|(a, b)| Mutation::Cut(a, b)),
        1 => (any::<usize>(), 0..AWKWARD.len()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn snap(text: &str, mut at: usize) -> usize {
    at %= text.len() + 1;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, m: &Mutation) -> String {
    match *m {
        Mutation::Value(n, v) => {
            let lines: Vec<&str> = text.lines().collect();
            let assignments: Vec<usize> =
                (0..lines.len()).filter(|&i| lines[i].contains(" = ")).collect();
            if assignments.is_empty() {
                return text.to_owned();
            }
            let i = assignments[n % assignments.len()];
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            let key = lines[i].split(" = ").next().unwrap_or("");
            out[i] = format!("{key} = {}", AWKWARD[v]);
            out.join("\n")
        }
        Mutation::Cut(at, len) => {
            let start = snap(text, at);
            let end = snap(text, start + len).max(start);
            format!("{}{}", &text[..start], &text[end..])
        }
        Mutation::Insert(at, v) => {
            let at = snap(text, at);
            format!("{}{}{}", &text[..at], AWKWARD[v], &text[at..])
        }
        Mutation::DuplicateLine(n) => {
            let lines: Vec<&str> = text.lines().collect();
            let i = n % lines.len().max(1);
            let mut out = lines.clone();
            if let Some(l) = lines.get(i) {
                out.insert(i, l);
            }
            out.join("\n")
        }
    }
}

fn load_pipeline(path: &Path, text: &str) {
    let keys = KeyStore::for_tests(&["ids".to_owned()]);
    let _ = referenced_rings_in(text, path);
    if let Err(e) = Pipeline::from_toml(text, path, &keys) {
        let msg = e.to_string();
        assert!(
            msg.starts_with(&path.display().to_string()),
            "error does not name the file: {msg}"
        );
    }
}

#[test]
fn mutated_pipeline_files_never_panic() {
    let files = shipped("pipelines", "toml");
    let mut runner = TestRunner::new(ProptestConfig { cases: 2048, ..ProptestConfig::default() });
    let strategy = (0..files.len(), prop::collection::vec(mutation(), 1..4));
    runner
        .run(&strategy, |(f, muts)| {
            let (path, text) = &files[f];
            let mutated = muts.iter().fold(text.clone(), |t, m| apply(&t, m));
            load_pipeline(path, &mutated);
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_config_files_and_overrides_never_panic() {
    let (path, text) = shipped("config", "toml").remove(0);
    let names = [
        "LOGVEIL_PIPELINES_DIR",
        "LOGVEIL_KAFKA__BROKERS",
        "LOGVEIL_KAFKA__AUTO_OFFSET_RESET",
        "LOGVEIL_KAFKA__CLIENT__SASL_PASSWORD",
        "LOGVEIL_KAFKA__CONSUMER__SESSION_TIMEOUT_MS",
        "LOGVEIL_SERVICE__WORKER_THREADS",
        "LOGVEIL_SERVICE__HTTP_LISTEN",
        "LOGVEIL_STATS__MODE",
        "LOGVEIL_KEYS__IDS__FILE",
        "LOGVEIL_KEYS",
        "LOGVEIL_SERVICE__WORKER_THREADS__X",
    ];
    let env = prop::collection::vec((0..names.len(), 0..AWKWARD.len(), any::<bool>()), 0..4);
    let mut runner = TestRunner::new(ProptestConfig { cases: 512, ..ProptestConfig::default() });
    let strategy = (prop::collection::vec(mutation(), 0..4), env);
    runner
        .run(&strategy, |(muts, env)| {
            let mutated = muts.iter().fold(text.clone(), |t, m| apply(&t, m));
            // A value as written, or the same text unquoted (as a shell gives it).
            let vars: Vec<(String, String)> = env
                .iter()
                .map(|&(n, v, raw)| {
                    let value = if raw { AWKWARD[v].trim_matches('"') } else { AWKWARD[v] };
                    (names[n].to_owned(), value.to_owned())
                })
                .collect();
            if let Err(e) = Config::from_text(&mutated, &path, Path::new("."), vars) {
                let msg = e.to_string();
                let named = msg.starts_with(&path.display().to_string())
                    || msg.starts_with("environment variable LOGVEIL_");
                prop_assert!(named, "error names neither file nor variable: {}", msg);
            }
            Ok(())
        })
        .unwrap();
}

/// Issue 15, finding 1: these panicked in `parse_duration_ms`.
#[test]
fn multibyte_durations_are_errors_naming_file_and_field() {
    let (path, text) = shipped("pipelines", "toml")
        .into_iter()
        .find(|(p, _)| p.ends_with("access_log.toml"))
        .unwrap();
    assert!(text.contains("window = \"1m\"") && text.contains("allowed_lateness = \"30s\""));
    let keys = KeyStore::for_tests(&["ids".to_owned()]);
    for (from, to, field) in [
        ("window = \"1m\"", "window = \"ψ\"", "window"),
        ("allowed_lateness = \"30s\"", "allowed_lateness = \"5é\"", "allowed_lateness"),
    ] {
        let bad = text.replacen(from, to, 1);
        let msg = Pipeline::from_toml(&bad, &path, &keys).unwrap_err().to_string();
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        assert!(msg.contains(&format!(".{field}: not a duration")), "{msg}");
    }
}
