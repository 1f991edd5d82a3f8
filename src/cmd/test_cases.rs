//! `logveil test`: run the `[[tests]]` cases written inside pipeline files.
//!
//! Cases run with the well-known test keys (key id `test`), so expected
//! pseudonyms in pipeline files are stable and no real key is needed.
//! Outputs are compared as JSON values (key order ignored); a failure prints
//! the expected and actual records and the fields that differ.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::keys::KeyStore;
use crate::pipeline::compile::referenced_rings;
use crate::pipeline::set::pipeline_files;
use crate::pipeline::{Pipeline, Scratch};

/// Arguments of `test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Pipeline files (default: every file in `pipelines/`).
    pub files: Vec<PathBuf>,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseResult {
    /// Output matched.
    Passed,
    /// Output differed; the text explains how.
    Failed(String),
}

/// Runs every case of one compiled pipeline.
pub fn run_cases(pipeline: &Pipeline) -> Vec<(String, CaseResult)> {
    let mut scratch = Scratch::default();
    pipeline
        .tests
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let name = case.name.clone().unwrap_or_else(|| format!("tests[{i}]"));
            let outcome = pipeline.process(case.input.as_bytes(), &mut scratch);
            let result = match (outcome, &case.expect, &case.expect_error) {
                (Ok(()), Some(expect), _) => compare(expect, &scratch.out),
                (Err(e), Some(_), _) => CaseResult::Failed(format!(
                    "expected an output, got dead letter `{}`: {}",
                    e.code, e.message
                )),
                (Err(e), None, Some(code)) if e.code.as_str() == code => CaseResult::Passed,
                (Err(e), None, Some(code)) => CaseResult::Failed(format!(
                    "expected dead letter `{code}`, got `{}`: {}",
                    e.code, e.message
                )),
                (Ok(()), None, Some(code)) => CaseResult::Failed(format!(
                    "expected dead letter `{code}`, got output {}",
                    String::from_utf8_lossy(&scratch.out)
                )),
                (_, None, None) => {
                    CaseResult::Failed("case has neither expect nor expect_error".into())
                }
            };
            (name, result)
        })
        .collect()
}

fn compare(expect: &str, actual: &[u8]) -> CaseResult {
    let want: serde_json::Value = match serde_json::from_str(expect) {
        Ok(v) => v,
        Err(e) => return CaseResult::Failed(format!("`expect` is not valid JSON: {e}")),
    };
    let got: serde_json::Value = match serde_json::from_slice(actual) {
        Ok(v) => v,
        Err(e) => return CaseResult::Failed(format!("output is not valid JSON: {e}")),
    };
    if want == got {
        return CaseResult::Passed;
    }
    let mut diff = String::new();
    if let (Some(w), Some(g)) = (want.as_object(), got.as_object()) {
        for (k, wv) in w {
            match g.get(k) {
                None => diff.push_str(&format!("  - {k}: expected {wv}, missing in output\n")),
                Some(gv) if gv != wv => {
                    diff.push_str(&format!("  ~ {k}: expected {wv}, got {gv}\n"))
                }
                _ => {}
            }
        }
        for (k, gv) in g {
            if !w.contains_key(k) {
                diff.push_str(&format!("  + {k}: unexpected {gv}\n"));
            }
        }
    }
    CaseResult::Failed(format!("expected {want}\n     got {got}\n{diff}"))
}

/// Loads one file with test keys.
///
/// # Errors
/// The file's load error.
pub fn load_with_test_keys(file: &Path) -> anyhow::Result<Pipeline> {
    let rings: Vec<String> = referenced_rings(file)?.into_iter().collect();
    let keys = KeyStore::for_tests(&rings);
    Ok(Pipeline::load(file, &keys)?)
}

/// Runs the cases of the given files; exit code 1 if any fails.
///
/// # Errors
/// A pipeline file that does not load.
pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let files =
        if args.files.is_empty() { pipeline_files(Path::new("pipelines"))? } else { args.files };
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let pipeline = load_with_test_keys(file)?;
        for (name, result) in run_cases(&pipeline) {
            match result {
                CaseResult::Passed => {
                    passed += 1;
                    println!("ok      {} :: {name}", pipeline.name);
                }
                CaseResult::Failed(why) => {
                    failed += 1;
                    println!("FAILED  {} :: {name}\n  {why}", pipeline.name);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
