//! Shared pieces of the fuzz targets: the shipped pipelines (compiled with
//! the well-known test keys) and an oracle for their output that is written
//! from the pipeline files themselves, not from logveil's code: the output
//! parses under serde_json, holds only listed fields, and each action's
//! output has the shape that action promises.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use logveil::keys::KeyStore;
use logveil::pipeline::Pipeline;
use serde_json::Value;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One shipped pipeline: its file, the compiled pipeline, the rules as
/// written in its `[fields]` table (dotted path → action table).
pub struct Shipped {
    /// File name, e.g. `access_log.toml`.
    pub file: String,
    /// Compiled with [`test_keys`].
    pub pipeline: Pipeline,
    /// Rules as written.
    pub rules: Rules,
    /// `min_count` of each `[[stats]]` block as written (default 1), by name.
    pub min_counts: BTreeMap<String, u64>,
}

/// Field rules by path, as written in a pipeline file.
#[derive(Debug, Default)]
pub struct Rules {
    by_path: BTreeMap<Vec<String>, toml::Table>,
}

impl Rules {
    /// Reads the `[fields]` table of pipeline text (shorthand `"keep"`
    /// becomes `{ action = "keep" }`).
    pub fn from_pipeline_text(text: &str) -> Self {
        let doc: toml::Table = text.parse().expect("pipeline file is TOML");
        let mut by_path = BTreeMap::new();
        if let Some(fields) = doc.get("fields").and_then(toml::Value::as_table) {
            for (path, rule) in fields {
                let table = match rule {
                    toml::Value::String(action) => {
                        let mut t = toml::Table::new();
                        t.insert("action".into(), toml::Value::String(action.clone()));
                        t
                    }
                    toml::Value::Table(t) => t.clone(),
                    other => panic!("rule for {path} is {other:?}"),
                };
                by_path.insert(path.split('.').map(str::to_owned).collect(), table);
            }
        }
        Rules { by_path }
    }
}

/// Key store with the well-known test key for every ring the shipped
/// pipelines use (key id `test`).
pub fn test_keys() -> KeyStore {
    KeyStore::for_tests(&["ids".to_owned()])
}

/// Every pipeline under `pipelines/`, compiled once.
pub fn shipped() -> &'static [Shipped] {
    static SHIPPED: OnceLock<Vec<Shipped>> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let dir = repo_root().join("pipelines");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("pipelines folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let keys = test_keys();
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).expect("pipeline file");
                let pipeline = Pipeline::from_toml(&text, path, &keys).expect("shipped pipeline");
                Shipped {
                    file: path.file_name().unwrap().to_string_lossy().into_owned(),
                    pipeline,
                    rules: Rules::from_pipeline_text(&text),
                    min_counts: min_counts(&text),
                }
            })
            .collect()
    })
}

/// Checks one desensitized record against the rules it was made with.
///
/// # Errors
/// A description of the first violation.
pub fn check_output(rules: &Rules, out: &[u8]) -> Result<(), String> {
    let value: Value = serde_json::from_slice(out)
        .map_err(|e| format!("output is not JSON to serde_json: {e}"))?;
    let Value::Object(map) = &value else { return Err("output is not an object".into()) };
    let mut path = Vec::new();
    check_object(rules, map, &mut path)
}

fn check_object(
    rules: &Rules,
    map: &serde_json::Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<(), String> {
    for (key, v) in map {
        path.push(key.clone());
        if let Some(rule) = rules.by_path.get(path.as_slice()) {
            check_shape(rule, v).map_err(|e| format!("{}: {e}", path.join(".")))?;
        } else if rules.by_path.keys().any(|p| p.len() > path.len() && p.starts_with(path)) {
            let Value::Object(inner) = v else {
                return Err(format!(
                    "{}: a parent of listed fields is not an object",
                    path.join(".")
                ));
            };
            check_object(rules, inner, path)?;
        } else {
            return Err(format!("{}: not a listed field", path.join(".")));
        }
        path.pop();
    }
    Ok(())
}

fn str_opt<'a>(rule: &'a toml::Table, key: &str) -> Option<&'a str> {
    rule.get(key).and_then(toml::Value::as_str)
}

/// What each action promises about its output.
fn check_shape(rule: &toml::Table, v: &Value) -> Result<(), String> {
    let action = str_opt(rule, "action").unwrap_or("keep");
    let text = || v.as_str().ok_or_else(|| format!("{action}: output is not a string: {v}"));
    match action {
        "keep" => Ok(()),
        "drop" => Err("a dropped field is present".into()),
        "truncate_ip" | "pseudonymize_ip" => {
            text()?.parse::<IpAddr>().map(|_| ()).map_err(|_| format!("{action}: not an IP"))
        }
        "pseudonymize" => {
            let s = text()?;
            let (pseudonym, domain) = match s.split_once('@') {
                Some((p, d))
                    if rule.get("keep_domain").and_then(toml::Value::as_bool) == Some(true) =>
                {
                    (p, Some(d))
                }
                _ => (s, None),
            };
            let ok_id = pseudonym.split_once(':').is_some_and(|(id, b64)| {
                !id.is_empty()
                    && b64.len() >= 22
                    && b64.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
            if !ok_id || domain.is_some_and(|d| d.is_empty() || d.chars().any(char::is_whitespace))
            {
                return Err("pseudonymize: not <key-id>:<base64url>".into());
            }
            Ok(())
        }
        "mask" => {
            let s = text()?;
            let keep =
                rule.get("keep_last").and_then(toml::Value::as_integer).unwrap_or(4) as usize;
            let mask_char =
                str_opt(rule, "mask_char").and_then(|m| m.chars().next()).unwrap_or('*');
            let n = s.chars().count();
            let shown = s.chars().skip(n.saturating_sub(keep));
            let hidden_ok = s.chars().take(n.saturating_sub(keep)).all(|c| c == mask_char);
            if !hidden_ok || !shown.clone().all(|c| c == mask_char || c.is_alphanumeric()) {
                return Err("mask: shows more than its last characters".into());
            }
            Ok(())
        }
        "coarsen_time" => match v {
            Value::String(_) | Value::Number(_) => Ok(()),
            _ => Err("coarsen_time: neither text nor a number".into()),
        },
        "url" | "redact" | "bucket" => text().map(|_| ()),
        "language" => {
            let s = text()?;
            // "" and "-" are "no header" markers and are kept as they are.
            let subtag = (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase());
            if subtag || s.is_empty() || s == "-" {
                Ok(())
            } else {
                Err("language: not a 2-3 letter primary subtag".into())
            }
        }
        "reduce_user_agent" => {
            let Value::Object(m) = v else { return Err("reduce_user_agent: not an object".into()) };
            for (k, x) in m {
                let known = matches!(k.as_str(), "browser" | "browser_major" | "os" | "device");
                // `browser_major` is null when the user-agent gives no version.
                if !known || !(x.is_string() || (k == "browser_major" && x.is_null())) {
                    return Err(format!("reduce_user_agent: unexpected member {k}"));
                }
            }
            Ok(())
        }
        "generalize_location" => {
            let levels: Vec<&str> = rule
                .get("keep")
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
                .unwrap_or_default();
            let Value::Object(m) = v else {
                return Err("generalize_location: not an object".into());
            };
            for k in m.keys() {
                if !levels.contains(&k.as_str()) {
                    return Err("generalize_location: a level that is not kept".into());
                }
            }
            Ok(())
        }
        other => Err(format!("no oracle for action {other}")),
    }
}

/// `min_count` of each `[[stats]]` block of pipeline text (default 1).
fn min_counts(text: &str) -> BTreeMap<String, u64> {
    let doc: toml::Table = text.parse().expect("pipeline file is TOML");
    let stats = doc.get("stats").and_then(toml::Value::as_array).cloned().unwrap_or_default();
    stats
        .iter()
        .filter_map(|s| {
            let name = s.get("name")?.as_str()?.to_owned();
            let n = s.get("min_count").and_then(toml::Value::as_integer).unwrap_or(1);
            Some((name, u64::try_from(n).unwrap_or(0)))
        })
        .collect()
}

/// Checks the final statistics rows of one engine run: each parses under
/// serde_json; within a window no two group rows have the same dimensions;
/// a summary never gives the record total of fewer than two suppressed
/// groups or a total under `min_count`.
///
/// # Errors
/// A description of the first violation.
pub fn check_stats_rows(
    min_counts: &BTreeMap<String, u64>,
    rows: &[logveil::stats::StatsRow],
) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for row in rows {
        let v: Value = serde_json::from_slice(&row.json)
            .map_err(|e| format!("stats row is not JSON to serde_json: {e}"))?;
        let stat = v["stat"].as_str().unwrap_or_default().to_owned();
        let window = v["window_start"].as_str().unwrap_or_default().to_owned();
        if v.get("summary").is_some() {
            let groups =
                v["groups_suppressed"].as_u64().ok_or("summary without groups_suppressed")?;
            let min_count = min_counts.get(&stat).copied().unwrap_or(1);
            if let Some(records) = v["records_suppressed"].as_u64() {
                if groups > 0 && (groups < 2 || records < min_count) {
                    return Err(format!(
                        "summary gives records_suppressed {records} of {groups} groups (min_count {min_count})"
                    ));
                }
            }
        } else {
            let dims = serde_json::to_string(&v["dimensions"]).unwrap_or_default();
            if !seen.insert((stat, window, v["partial"].as_bool(), dims)) {
                return Err("two rows of one window with the same dimensions".into());
            }
        }
    }
    Ok(())
}

/// The pipeline with every action once (`src/actions_pipeline.toml`).
pub const ACTIONS_PIPELINE: &str = include_str!("actions_pipeline.toml");

/// [`ACTIONS_PIPELINE`], compiled, and its rules.
pub fn actions_pipeline() -> &'static (Pipeline, Rules) {
    static P: OnceLock<(Pipeline, Rules)> = OnceLock::new();
    P.get_or_init(|| {
        let p =
            Pipeline::from_toml(ACTIONS_PIPELINE, Path::new("actions_pipeline.toml"), &test_keys())
                .expect("actions pipeline compiles");
        (p, Rules::from_pipeline_text(ACTIONS_PIPELINE))
    })
}

/// The field names of [`ACTIONS_PIPELINE`], in file order.
pub fn action_fields() -> Vec<String> {
    let doc: toml::Table = ACTIONS_PIPELINE.parse().expect("TOML");
    doc["fields"].as_table().expect("[fields]").keys().cloned().collect()
}
