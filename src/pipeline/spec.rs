//! The user-facing pipeline file format (`pipelines/*.toml`), as written.
//!
//! This is phase one of two: plain serde types that mirror the TOML, with
//! `deny_unknown_fields` so typos fail at load. [`super::compile`] turns them
//! into an immutable, fast [`super::Pipeline`]. Field rules are kept as raw
//! TOML values here and parsed one by one in [`parse_rule`], so an error can
//! name the exact field it belongs to.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::stats::spec::StatSpec;

/// Data categories of the privacy policy; each has a shipped pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Access logs: IPs, IDs, browser and device details, pages, durations.
    LogInformation,
    /// Account information: enterprise email, name, position, employer.
    AccountInformation,
    /// Real-name authentication: name, ID card/passport, bank card, location.
    RealNameAuthentication,
    /// Customer service: UID, username, phone, chat text, orders.
    CustomerService,
    /// Operational activities: phone, contact address, campaign.
    OperationalActivities,
    /// Payment: method, card/account number, VAT or tax ID.
    Payment,
    /// Phishing simulation: email account, read and click records.
    PhishingSimulation,
}

impl Category {
    /// Human title used by `explain`.
    pub fn title(self) -> &'static str {
        match self {
            Category::LogInformation => "Log information (access logs)",
            Category::AccountInformation => "Account information",
            Category::RealNameAuthentication => "Real-name authentication",
            Category::CustomerService => "Customer service",
            Category::OperationalActivities => "Operational activities",
            Category::Payment => "Payment",
            Category::PhishingSimulation => "Phishing simulation",
        }
    }
}

/// Input record format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One JSON object per record.
    #[default]
    Json,
    /// Apache/nginx combined log format line.
    Combined,
    /// Apache common log format line.
    Common,
}

/// What to do with a field no rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownFields {
    /// Drop it silently (default deny).
    #[default]
    Drop,
    /// Send the record to dead letters with `unknown_field`.
    Error,
}

/// A whole pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Unique pipeline name (metric label, header, `process --pipeline`).
    pub name: String,
    /// Data category this pipeline handles.
    pub category: Category,
    /// One-line description for `explain`.
    #[serde(default)]
    pub description: String,
    /// Input record format.
    #[serde(default)]
    pub format: Format,
    /// Treatment of fields no rule names.
    #[serde(default)]
    pub unknown_fields: UnknownFields,
    /// Records larger than this many bytes are dead-lettered (`too_large`).
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// Records nested deeper than this are dead-lettered (`too_deep`).
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
    /// Where records come from.
    pub input: InputSpec,
    /// Where desensitized records go.
    pub output: OutputSpec,
    /// One rule per field path; unlisted fields are dropped.
    #[serde(default)]
    pub fields: IndexMap<String, toml::Value>,
    /// Aggregated statistics computed from the desensitized records.
    #[serde(default)]
    pub stats: Vec<StatSpec>,
    /// Example records with their expected output, run by `logveil test`.
    #[serde(default)]
    pub tests: Vec<TestCase>,
}

/// Default `max_record_bytes`: 1 MiB.
pub fn default_max_record_bytes() -> usize {
    1 << 20
}

/// Default `max_depth`.
pub fn default_max_depth() -> usize {
    32
}

/// `[input]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Raw topics this pipeline owns. A topic may belong to one pipeline only.
    pub topics: Vec<String>,
}

/// `[output]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Anonymized topic analysts read.
    pub topic: String,
    /// What happens to the Kafka record key: `"drop"` (default), `"keep"`,
    /// or `{ action = "pseudonymize", key = "ids", scope = "user" }` when the key is an ID.
    #[serde(default)]
    pub key: Option<toml::Value>,
}

/// One `[[tests]]` case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// Optional name shown in results.
    #[serde(default)]
    pub name: Option<String>,
    /// The raw record (a JSON object, or a log line for combined/common).
    pub input: String,
    /// Expected desensitized output (compared as JSON, key order ignored).
    #[serde(default)]
    pub expect: Option<String>,
    /// Expected dead-letter `error_code` instead of an output.
    #[serde(default)]
    pub expect_error: Option<String>,
}

pub use crate::actions::ActionSpec;

/// Parses one field rule: a bare action name (`"drop"`) or a table with
/// `action`; the rest of the table is the action's own config type
/// (`deny_unknown_fields`), looked up in the registry.
///
/// # Errors
/// A message (without the field path; the caller adds it) saying what is wrong.
pub fn parse_rule(value: &toml::Value) -> Result<ActionSpec, String> {
    let mut params = match value {
        toml::Value::String(s) => {
            let mut t = toml::map::Map::new();
            t.insert("action".into(), toml::Value::String(s.clone()));
            t
        }
        toml::Value::Table(t) => t.clone(),
        other => {
            return Err(format!(
                "expected an action name or a table with `action`, found a {}",
                other.type_str()
            ))
        }
    };
    let name = match params.remove("action") {
        Some(toml::Value::String(name)) => name,
        _ => return Err("missing `action`".into()),
    };
    let unknown =
        || format!("unknown action `{name}`; expected one of: {}", ActionSpec::NAMES.join(", "));
    let takes_parameters = ActionSpec::takes_parameters(&name).ok_or_else(unknown)?;
    if !takes_parameters {
        if let Some(extra) = params.keys().next() {
            let hint = if name == "keep" && extra == "subtree" {
                "; to keep a whole object or array, write `keep_subtree`"
            } else {
                ""
            };
            return Err(format!("`{name}` takes no parameters, found `{extra}`{hint}"));
        }
    }
    ActionSpec::parse(&name, toml::Value::Table(params)).ok_or_else(unknown)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand_and_table() {
        let drop = parse_rule(&toml::Value::String("drop".into())).unwrap();
        assert_eq!(drop, ActionSpec::Drop(crate::actions::drop::DropConfig {}));
        let v: toml::Value = toml::from_str("action = \"truncate_ip\"\nipv4_prefix = 16").unwrap();
        assert_eq!(
            parse_rule(&v).unwrap(),
            ActionSpec::TruncateIp(crate::actions::truncate_ip::TruncateIpConfig {
                ipv4_prefix: 16,
                ipv6_prefix: 48
            })
        );
    }

    #[test]
    fn errors_are_specific() {
        let e = parse_rule(&toml::Value::String("hash".into())).unwrap_err();
        assert!(e.contains("unknown action `hash`"), "{e}");
        let v: toml::Value = toml::from_str("action = \"truncate_ip\"\nipv4_prefx = 16").unwrap();
        let e = parse_rule(&v).unwrap_err();
        assert!(e.contains("ipv4_prefx"), "{e}");
        let v: toml::Value = toml::from_str("action = \"pseudonymize\"\nkey = \"ids\"").unwrap();
        let e = parse_rule(&v).unwrap_err();
        assert!(e.contains("scope"), "{e}");
        let e = parse_rule(&toml::Value::Integer(3)).unwrap_err();
        assert!(e.contains("integer"), "{e}");
        let v: toml::Value = toml::from_str("action = \"keep\"\nsubtree = true").unwrap();
        let e = parse_rule(&v).unwrap_err();
        assert!(e.contains("`keep` takes no parameters") && e.contains("keep_subtree"), "{e}");
        let v: toml::Value = toml::from_str("action = \"drop\"\nwhy = 1").unwrap();
        assert!(parse_rule(&v).unwrap_err().contains("found `why`"));
    }
}
