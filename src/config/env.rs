//! Environment overrides for `config/logveil.toml`.
//!
//! Every setting can be overridden by an environment variable named
//! `LOGVEIL_` + the setting's path in upper case, with `__` between levels:
//! `LOGVEIL_PIPELINES_DIR`, `LOGVEIL_KAFKA__BROKERS`,
//! `LOGVEIL_KAFKA__CONSUMER__SECURITY_PROTOCOL`. Inside the librdkafka
//! pass-through tables (`kafka.client`, `kafka.consumer`, `kafka.producer`)
//! single underscores in the last segment become dots, because librdkafka
//! property names use dots (`security.protocol`), and values there are taken
//! verbatim as strings whatever they look like (librdkafka properties are
//! strings: `LOGVEIL_KAFKA__CONSUMER__SESSION_TIMEOUT_MS=6000` sets
//! `session.timeout.ms` to `"6000"`, and a password is never parsed). Other
//! values are read as TOML literals when they parse as one (numbers,
//! booleans, arrays, quoted strings) and as plain strings otherwise.
//!
//! Values are never logged or put into an error: errors name the variable.
//!
//! Not overrides: `LOGVEIL_KEY_*` (key material: [`crate::keys`] reads it
//! from the process environment itself; the copies handed to this overlay
//! are zeroed here), `LOGVEIL_CONFIG`, `LOGVEIL_LOG` (log filter).

use zeroize::Zeroize as _;

/// Tables whose keys are librdkafka property names.
const PASSTHROUGH: [&str; 3] = ["client", "consumer", "producer"];

/// Variables with a `LOGVEIL_` prefix that are not config overrides.
fn reserved(name: &str) -> bool {
    name.starts_with("LOGVEIL_KEY_") || name == "LOGVEIL_CONFIG" || name == "LOGVEIL_LOG"
}

/// An override that could not be applied.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {var}: {problem}")]
pub struct EnvOverrideError {
    /// Variable name.
    pub var: String,
    /// What is wrong.
    pub problem: String,
}

/// Applies every `LOGVEIL_*` override in `vars` to `doc`; returns the
/// variable names applied (for a startup log line; values are never logged).
///
/// # Errors
/// [`EnvOverrideError`] when a path crosses a non-table setting.
pub fn apply_overrides(
    doc: &mut toml::Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<String>, EnvOverrideError> {
    let mut applied = Vec::new();
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter_map(|(k, mut v)| {
            if k.starts_with("LOGVEIL_KEY_") {
                // Key text: not ours to keep; zero this copy before dropping it.
                v.zeroize();
                return None;
            }
            (k.starts_with("LOGVEIL_") && !reserved(&k)).then_some((k, v))
        })
        .collect();
    vars.sort();
    for (var, value) in vars {
        let path: Vec<String> =
            var["LOGVEIL_".len()..].split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(|s| s.is_empty()) {
            return Err(EnvOverrideError { var, problem: "empty path segment".into() });
        }
        let mut table = &mut *doc;
        let (last, parents) = match path.split_last() {
            Some(x) => x,
            None => continue,
        };
        for seg in parents {
            let entry =
                table.entry(seg.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = match entry {
                toml::Value::Table(t) => t,
                _ => {
                    return Err(EnvOverrideError {
                        var,
                        problem: format!("`{seg}` is not a table in the config"),
                    })
                }
            };
        }
        let passthrough = parents.len() == 2
            && parents[0] == "kafka"
            && PASSTHROUGH.contains(&parents[1].as_str());
        if passthrough {
            table.insert(last.replace('_', "."), toml::Value::String(value));
        } else {
            table.insert(last.clone(), parse_value(&value));
        }
        applied.push(var);
    }
    Ok(applied)
}

/// A TOML literal if the text is one, else the text as a string.
fn parse_value(text: &str) -> toml::Value {
    let doc = format!("v = {text}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(text.into())),
        Err(_) => toml::Value::String(text.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn overrides_nested_and_typed() {
        let mut doc: toml::Table =
            "pipelines_dir = \"p\"\n[kafka]\nbrokers = \"a:1\"\n".parse().unwrap();
        let applied = apply_overrides(
            &mut doc,
            vars(&[
                ("LOGVEIL_KAFKA__BROKERS", "b:2,c:3"),
                ("LOGVEIL_KAFKA__WORKERS", "4"),
                ("LOGVEIL_KAFKA__CONSUMER__SECURITY_PROTOCOL", "SASL_SSL"),
                ("LOGVEIL_PIPELINES_DIR", "/etc/logveil/pipelines"),
                ("LOGVEIL_KEY_IDS", "secret"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(applied.len(), 4);
        assert_eq!(doc["kafka"]["brokers"].as_str(), Some("b:2,c:3"));
        assert_eq!(doc["kafka"]["workers"].as_integer(), Some(4));
        assert_eq!(doc["kafka"]["consumer"]["security.protocol"].as_str(), Some("SASL_SSL"));
        assert_eq!(doc["pipelines_dir"].as_str(), Some("/etc/logveil/pipelines"));
        assert!(doc.get("key_ids").is_none());
    }

    /// Issue 9: librdkafka values are strings whatever they look like.
    #[test]
    fn passthrough_values_are_verbatim_strings() {
        let mut doc = toml::Table::new();
        apply_overrides(
            &mut doc,
            vars(&[
                ("LOGVEIL_KAFKA__CONSUMER__SESSION_TIMEOUT_MS", "6000"),
                ("LOGVEIL_KAFKA__CLIENT__SASL_PASSWORD", "98765432"),
                ("LOGVEIL_KAFKA__PRODUCER__ENABLE_IDEMPOTENCE", "true"),
                ("LOGVEIL_KAFKA__CLIENT__SSL_KEY_PASSWORD", "\"quoted\" = [1"),
            ]),
        )
        .unwrap();
        let k = &doc["kafka"];
        assert_eq!(k["consumer"]["session.timeout.ms"].as_str(), Some("6000"));
        assert_eq!(k["client"]["sasl.password"].as_str(), Some("98765432"));
        assert_eq!(k["producer"]["enable.idempotence"].as_str(), Some("true"));
        assert_eq!(k["client"]["ssl.key.password"].as_str(), Some("\"quoted\" = [1"));
    }

    #[test]
    fn crossing_a_scalar_is_an_error() {
        let mut doc: toml::Table = "pipelines_dir = \"p\"\n".parse().unwrap();
        let err =
            apply_overrides(&mut doc, vars(&[("LOGVEIL_PIPELINES_DIR__X", "1")])).unwrap_err();
        assert!(err.to_string().contains("LOGVEIL_PIPELINES_DIR__X"));
    }
}
