//! The user-facing pipeline file format (`pipelines/*.toml`), as written.
//!
//! This is phase one of two: plain serde types that mirror the TOML, with
//! `deny_unknown_fields` so typos fail at load. [`super::compile`] turns them
//! into an immutable, fast [`super::Pipeline`]. Field rules are kept as raw
//! TOML values here and parsed one by one in [`parse_rule`], so an error can
//! name the exact field it belongs to.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::actions::redact::Detector;
use crate::actions::time::TimeUnit;
use crate::actions::url::UrlKeep;
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

/// A field rule as written, after the shorthand (`"drop"`) is expanded.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionSpec {
    /// Copy a scalar (string, number, boolean, null) unchanged; an object
    /// or array is refused (`wrong_type`).
    Keep,
    /// Copy a whole value, objects and arrays included, unchanged and
    /// unchecked: an explicit, "unprotected" choice shown by `explain`.
    KeepSubtree,
    /// Remove the field.
    Drop,
    /// Zero host bits of an IP address.
    TruncateIp {
        /// IPv4 prefix bits kept (default 24).
        #[serde(default = "default_v4_prefix")]
        ipv4_prefix: u8,
        /// IPv6 prefix bits kept (default 48).
        #[serde(default = "default_v6_prefix")]
        ipv6_prefix: u8,
    },
    /// Keyed prefix-preserving IP pseudonym (Crypto-PAn).
    PseudonymizeIp {
        /// Key ring name.
        key: String,
    },
    /// Keyed HMAC-SHA256 pseudonym `<key-id>:<base64url>`.
    Pseudonymize {
        /// Key ring name.
        key: String,
        /// Domain separator: the same value in different scopes gives unlinkable pseudonyms.
        scope: String,
        /// Lower-case and trim the value before hashing (emails, usernames).
        #[serde(default)]
        normalize: bool,
        /// For email addresses: pseudonymize the local part and keep `@domain`
        /// when the domain is a large public mail provider (the shipped list)
        /// or in `keep_domains`; other addresses are pseudonymized whole.
        #[serde(default)]
        keep_domain: bool,
        /// Domains kept after a pseudonymized local part (exact match); a
        /// non-empty list turns domain keeping on for these domains alone
        /// when `keep_domain` is false.
        #[serde(default)]
        keep_domains: Vec<String>,
    },
    /// Keep the last N characters.
    Mask {
        /// Characters kept at the end (default 4).
        #[serde(default = "default_keep_last")]
        keep_last: usize,
        /// Replacement character (default `*`).
        #[serde(default = "default_mask_char")]
        mask_char: char,
    },
    /// Truncate a timestamp, keeping its format.
    CoarsenTime {
        /// `second`, `minute`, `hour` or `day`.
        to: TimeUnit,
    },
    /// Reduce a URL to its origin or path, dropping query parameters.
    Url {
        /// `origin` or `path` (default).
        #[serde(default = "default_url_keep")]
        keep: UrlKeep,
        /// Query parameters that survive.
        #[serde(default)]
        keep_params: Vec<String>,
    },
    /// Replace a user-agent by coarse classes.
    ReduceUserAgent,
    /// Replace PII found in free text by labels.
    Redact {
        /// Detectors to run (default: all).
        #[serde(default = "default_detectors")]
        detectors: Vec<Detector>,
    },
    /// Put a number into a configured range.
    Bucket {
        /// Ascending boundaries.
        bounds: Vec<f64>,
        /// Optional labels (one more than bounds).
        #[serde(default)]
        labels: Option<Vec<String>>,
    },
    /// Keep only some levels of a location object.
    GeneralizeLocation {
        /// Levels kept, e.g. `["country", "region"]`.
        keep: Vec<String>,
    },
    /// Reduce an Accept-Language header to its primary language.
    Language,
}

fn default_v4_prefix() -> u8 {
    24
}
fn default_v6_prefix() -> u8 {
    48
}
fn default_keep_last() -> usize {
    4
}
fn default_mask_char() -> char {
    '*'
}
fn default_url_keep() -> UrlKeep {
    UrlKeep::Path
}
fn default_detectors() -> Vec<Detector> {
    Detector::ALL.to_vec()
}

impl ActionSpec {
    /// The action's name as written in pipeline files (also a metric label).
    pub fn name(&self) -> &'static str {
        match self {
            ActionSpec::Keep => "keep",
            ActionSpec::KeepSubtree => "keep_subtree",
            ActionSpec::Drop => "drop",
            ActionSpec::TruncateIp { .. } => "truncate_ip",
            ActionSpec::PseudonymizeIp { .. } => "pseudonymize_ip",
            ActionSpec::Pseudonymize { .. } => "pseudonymize",
            ActionSpec::Mask { .. } => "mask",
            ActionSpec::CoarsenTime { .. } => "coarsen_time",
            ActionSpec::Url { .. } => "url",
            ActionSpec::ReduceUserAgent => "reduce_user_agent",
            ActionSpec::Redact { .. } => "redact",
            ActionSpec::Bucket { .. } => "bucket",
            ActionSpec::GeneralizeLocation { .. } => "generalize_location",
            ActionSpec::Language => "language",
        }
    }

    /// Every action name, for docs and error messages.
    pub const NAMES: [&'static str; 14] = [
        "keep",
        "keep_subtree",
        "drop",
        "truncate_ip",
        "pseudonymize_ip",
        "pseudonymize",
        "mask",
        "coarsen_time",
        "url",
        "reduce_user_agent",
        "redact",
        "bucket",
        "generalize_location",
        "language",
    ];
}

/// Actions without parameters.
const UNIT_ACTIONS: [&str; 5] = ["keep", "keep_subtree", "drop", "reduce_user_agent", "language"];

/// Parses one field rule: a bare action name (`"drop"`) or a table with `action`.
///
/// # Errors
/// A message (without the field path; the caller adds it) saying what is wrong.
pub fn parse_rule(value: &toml::Value) -> Result<ActionSpec, String> {
    let table = match value {
        toml::Value::String(s) => {
            let mut t = toml::map::Map::new();
            t.insert("action".into(), toml::Value::String(s.clone()));
            toml::Value::Table(t)
        }
        toml::Value::Table(_) => value.clone(),
        other => {
            return Err(format!(
                "expected an action name or a table with `action`, found a {}",
                other.type_str()
            ))
        }
    };
    if let Some(a) = table.get("action").and_then(|a| a.as_str()) {
        if !ActionSpec::NAMES.contains(&a) {
            return Err(format!(
                "unknown action `{a}`; expected one of: {}",
                ActionSpec::NAMES.join(", ")
            ));
        }
    } else {
        return Err("missing `action`".into());
    }
    // serde lets unit variants of an internally tagged enum ignore other
    // keys; a typo (or `subtree = true`) must fail instead.
    if let (Some(a), Some(t)) = (table.get("action").and_then(|a| a.as_str()), table.as_table()) {
        if UNIT_ACTIONS.contains(&a) {
            if let Some(extra) = t.keys().find(|k| k.as_str() != "action") {
                let hint = if a == "keep" && extra == "subtree" {
                    "; to keep a whole object or array, write `keep_subtree`"
                } else {
                    ""
                };
                return Err(format!("`{a}` takes no parameters, found `{extra}`{hint}"));
            }
        }
    }
    ActionSpec::deserialize(table).map_err(|e| e.message().to_string())
}

impl ActionSpec {
    /// Plain-language treatment for the record of processing (`explain`).
    pub fn describe(&self) -> String {
        match self {
            ActionSpec::Keep => "kept as is (scalars only)".into(),
            ActionSpec::KeepSubtree => {
                "**unprotected**: the whole value, nested objects and arrays included, kept as is"
                    .into()
            }
            ActionSpec::Drop => "removed".into(),
            ActionSpec::TruncateIp { ipv4_prefix, ipv6_prefix } => format!(
                "IP address truncated: IPv4 to /{ipv4_prefix}, IPv6 to /{ipv6_prefix} (host bits zeroed)"
            ),
            ActionSpec::PseudonymizeIp { key } => format!(
                "IP address pseudonymized, prefix-preserving (Crypto-PAn, AES-128), key ring `{key}`"
            ),
            ActionSpec::Pseudonymize { key, scope, normalize, keep_domain, keep_domains } => {
                let mut s = format!("pseudonymized (HMAC-SHA256, 128 bits), key ring `{key}`, scope `{scope}`");
                if *normalize {
                    s.push_str(", trimmed and lower-cased first");
                }
                match (*keep_domain, keep_domains.is_empty()) {
                    (true, true) => s.push_str(", email domain kept for large public mail providers, otherwise the whole address pseudonymized"),
                    (true, false) => s.push_str(&format!(", email domain kept for large public mail providers and {}, otherwise the whole address pseudonymized", keep_domains.join(", "))),
                    (false, false) => s.push_str(&format!(", email domain kept for {}, otherwise the whole address pseudonymized", keep_domains.join(", "))),
                    (false, true) => {}
                }
                s
            }
            ActionSpec::Mask { keep_last, .. } => {
                format!("masked: only the last {keep_last} characters kept; values not shaped like a card or account number (8-19 digits, or an IBAN) removed")
            }
            ActionSpec::CoarsenTime { to } => format!("time coarsened to the {}", match to {
                TimeUnit::Second => "second",
                TimeUnit::Minute => "minute",
                TimeUnit::Hour => "hour",
                TimeUnit::Day => "day",
            }),
            ActionSpec::Url { keep, keep_params } => {
                let base = match keep {
                    UrlKeep::Origin => "URL reduced to its origin (scheme, host, port); an IP-literal host truncated (/24, /48)".to_string(),
                    UrlKeep::Path => "URL reduced to its path; credentials, fragment and matrix parameters removed; path segments that look like identifiers (email, phone, ID, card, IP, long number, token) replaced by placeholders; an IP-literal host truncated (/24, /48)".to_string(),
                };
                if keep_params.is_empty() || *keep == UrlKeep::Origin {
                    format!("{base}; query string removed")
                } else {
                    format!("{base}; query parameters kept: {} (values that look like identifiers replaced by placeholders)", keep_params.join(", "))
                }
            }
            ActionSpec::ReduceUserAgent => {
                "user-agent replaced by browser family and major version, OS family and device class; model, build and minor versions removed".into()
            }
            ActionSpec::Redact { detectors } => {
                let names: Vec<&str> = detectors.iter().map(|d| d.name()).collect();
                format!("free text: detected {} replaced by labels", names.join(", "))
            }
            ActionSpec::Bucket { bounds, .. } => {
                let b: Vec<String> = bounds.iter().map(|b| b.to_string()).collect();
                format!("number replaced by its range (boundaries {})", b.join(", "))
            }
            ActionSpec::GeneralizeLocation { keep } => {
                format!("location generalized: only {} kept", keep.join(", "))
            }
            ActionSpec::Language => "reduced to the primary language".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand_and_table() {
        assert_eq!(parse_rule(&toml::Value::String("drop".into())).unwrap(), ActionSpec::Drop);
        let v: toml::Value = toml::from_str("action = \"truncate_ip\"\nipv4_prefix = 16").unwrap();
        assert_eq!(
            parse_rule(&v).unwrap(),
            ActionSpec::TruncateIp { ipv4_prefix: 16, ipv6_prefix: 48 }
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
