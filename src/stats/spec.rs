//! The user-facing `[[stats]]` block of a pipeline: serde types with
//! defaults and a `///` doc per key. Validation into an immutable
//! [`CompiledStat`] lives in `compile`; see the `stats` module doc for the
//! semantics and the output format.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use super::compile::{compile_all, CompiledStat};

/// One `[[stats]]` block: a tumbling event-time window over anonymized records,
/// grouped by dimensions, with measures and privacy thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatSpec {
    /// Name of the statistic; letters, digits, `_`, `-`, `.` only.
    pub name: String,
    /// Kafka topic the rows of this statistic are written to.
    pub topic: String,
    /// Tumbling window length, `Ns`, `Nm`, `Nh` or `Nd` (1s ..= 31d), aligned to the epoch (UTC).
    pub window: String,
    /// Dotted path of the event time in the anonymized record.
    #[serde(default = "default_time_field")]
    pub time_field: String,
    /// How the time field is read: `auto` (RFC 3339 text, or an epoch number:
    /// milliseconds when >= 1e11, else seconds), `rfc3339`, `epoch_s`, `epoch_ms`.
    #[serde(default = "default_time_format")]
    pub time_format: TimeFormat,
    /// How long after a window's end records for it are still accepted (at most 100 windows).
    #[serde(default = "default_allowed_lateness")]
    pub allowed_lateness: String,
    /// Wall time after which an input partition that delivered no record
    /// stops holding the watermark back (`Ns`, `Nm`, ...; default: the
    /// window length). Also how long all inputs must be quiet before the
    /// watermark advances by wall time.
    #[serde(default)]
    pub idle_timeout: Option<String>,
    /// Dimensions: dotted paths into the anonymized record, or names from `derive`.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Most groups kept per window; records of further new groups fold into the overflow.
    #[serde(default = "default_max_groups")]
    pub max_groups: i64,
    /// Most windows held open at once; when more are open at a poll, the
    /// oldest are emitted early (as final rows) and their later records
    /// count as late. Bounds memory when partitions read far apart in
    /// event time hold the watermark back.
    #[serde(default = "default_max_open_windows")]
    pub max_open_windows: i64,
    /// k-anonymity: a group with fewer records is suppressed.
    #[serde(default = "default_min_count")]
    pub min_count: i64,
    /// A group whose estimate for any `distinct` measure is below this is suppressed (0 = off).
    #[serde(default)]
    pub min_distinct: i64,
    /// What happens to suppressed groups: fold into one `__other__` row per window, or drop.
    #[serde(default = "default_suppression")]
    pub suppression: Suppression,
    /// Optional two-sided geometric (discrete Laplace) noise with scale 1/epsilon,
    /// added to emitted `count` measures (sensitivity 1). Off when absent.
    #[serde(default)]
    pub epsilon: Option<f64>,
    /// Derived dimensions, by name.
    #[serde(default)]
    pub derive: BTreeMap<String, DeriveSpec>,
    /// What is computed per group.
    pub measures: Vec<MeasureSpec>,
}

/// Encoding of the time field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// RFC 3339 text, or an epoch number (ms when >= 1e11, else seconds).
    Auto,
    /// RFC 3339 text only.
    Rfc3339,
    /// Epoch seconds (integer or fractional) only.
    EpochS,
    /// Epoch milliseconds only.
    EpochMs,
}

/// Fate of a group that fails the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    /// Merge into one `__other__` row per window (itself thresholded).
    Other,
    /// Drop (still counted in the window summary).
    Drop,
}

/// A derived dimension computed from one field of the anonymized record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveSpec {
    /// Dotted path of the source field.
    pub from: String,
    /// The derivation.
    pub kind: DeriveKind,
}

/// Derivations available for derived dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeriveKind {
    /// URL path without query, fragment and matrix parameters; identifier-like segments (shared classifier, see `crate::classify`) and all-digit segments replaced by placeholders such as `{id}`.
    PathTemplate,
    /// HTTP status 100..=599 (number or 3-digit text) to `"1xx"` ..= `"5xx"`.
    StatusClass,
}

/// One measure computed per group.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureSpec {
    /// Name of the measure in the output row.
    pub name: String,
    /// What is computed.
    pub kind: MeasureKind,
    /// Source field (dotted path or derived name); required except for `count`,
    /// where it restricts the count to records with a non-null value.
    #[serde(default)]
    pub field: Option<String>,
    /// `distinct` only: HyperLogLog precision 4..=18 (default 12, std error 1.04/sqrt(2^p) ~ 1.6%).
    #[serde(default)]
    pub precision: Option<i64>,
    /// `quantiles` only: the quantiles in (0, 1) (default `[0.5, 0.9, 0.99]`), output as `p50`, `p99.9`, ...
    #[serde(default)]
    pub quantiles: Option<Vec<f64>>,
    /// `quantiles` only: relative accuracy of the sketch, 0.005..=0.1 (default 0.01).
    #[serde(default)]
    pub relative_accuracy: Option<f64>,
}

/// Measure kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// Number of records (with a non-null `field`, when given).
    Count,
    /// Exact sum of a numeric field (fractions kept to 2^-32).
    Sum,
    /// Approximate distinct count of a field (HyperLogLog).
    Distinct,
    /// Approximate quantiles of a numeric field (DDSketch).
    Quantiles,
}

fn default_time_field() -> String {
    "ts".to_owned()
}
fn default_time_format() -> TimeFormat {
    TimeFormat::Auto
}
fn default_allowed_lateness() -> String {
    "0s".to_owned()
}
fn default_max_groups() -> i64 {
    10_000
}
fn default_max_open_windows() -> i64 {
    // Generous on purpose: closing windows early changes results on a
    // backlog, and the 1M-record bench showed the statistics state is not
    // what grows (benches/PROFILE.md), so a tight default would trade
    // correctness for no measured memory gain.
    64
}
fn default_min_count() -> i64 {
    1
}
fn default_suppression() -> Suppression {
    Suppression::Other
}
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[derive(Deserialize)]
    pub(crate) struct Pipeline {
        pub(crate) stats: Vec<StatSpec>,
    }

    /// The example of the module documentation, in proper TOML.
    pub(crate) const EXAMPLE: &str = r#"
[[stats]]
name = "requests_per_minute"
topic = "stats.access"
window = "1m"
time_field = "ts"
allowed_lateness = "30s"
group_by = ["path_template", "status_class", "user_agent.browser", "user_agent.device"]
max_groups = 10000
min_count = 5
min_distinct = 3
suppression = "other"

[stats.derive]
path_template = { from = "path", kind = "path_template" }
status_class  = { from = "status", kind = "status_class" }

[[stats.measures]]
name = "requests"
kind = "count"

[[stats.measures]]
name = "users"
kind = "distinct"
field = "user_id"

[[stats.measures]]
name = "bytes"
kind = "sum"
field = "bytes"

[[stats.measures]]
name = "duration_ms"
kind = "quantiles"
field = "duration_ms"
quantiles = [0.5, 0.9, 0.99, 0.999]
"#;

    pub(crate) fn parse(text: &str) -> Vec<StatSpec> {
        toml::from_str::<Pipeline>(text).unwrap().stats
    }

    #[test]
    fn example_parses() {
        let s = parse(EXAMPLE).remove(0);
        assert_eq!(
            (s.name.as_str(), s.topic.as_str(), s.window.as_str()),
            ("requests_per_minute", "stats.access", "1m")
        );
        assert_eq!(s.group_by.len(), 4);
        assert_eq!((s.max_groups, s.min_count, s.min_distinct), (10_000, 5, 3));
        assert_eq!(s.suppression, Suppression::Other);
        assert_eq!(
            s.derive["status_class"],
            DeriveSpec { from: "status".into(), kind: DeriveKind::StatusClass }
        );
        let kinds: Vec<MeasureKind> = s.measures.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [MeasureKind::Count, MeasureKind::Distinct, MeasureKind::Sum, MeasureKind::Quantiles]
        );
        assert_eq!(s.measures[3].quantiles.as_deref(), Some(&[0.5, 0.9, 0.99, 0.999][..]));
    }

    #[test]
    fn defaults_apply() {
        let text = "[[stats]]\nname = \"a\"\ntopic = \"t\"\nwindow = \"10s\"\n[[stats.measures]]\nname = \"n\"\nkind = \"count\"\n";
        let s = parse(text).remove(0);
        assert_eq!((s.time_field.as_str(), s.allowed_lateness.as_str()), ("ts", "0s"));
        assert_eq!((s.min_count, s.min_distinct, s.max_groups), (1, 0, 10_000));
        assert_eq!(
            (s.suppression, s.time_format, s.epsilon),
            (Suppression::Other, TimeFormat::Auto, None)
        );
        assert!(s.group_by.is_empty() && s.derive.is_empty());
        assert_eq!((s.measures[0].field.as_ref(), s.measures[0].precision), (None, None));
    }

    #[test]
    fn unknown_keys_and_values_are_rejected() {
        for (from, to) in [
            ("min_count", "min_cnt"),
            ("\"status_class\" }", "\"nope\" }"),
            ("kind = \"sum\"", "kind = \"avg\""),
            ("\"other\"", "\"hide\""),
            ("field = \"bytes\"", "field = \"bytes\"\nunit = \"B\""),
            ("from = \"path\",", "from = \"path\", regex = \"x\","),
            ("max_groups = 10000", "max_groups = \"many\""),
        ] {
            let text = EXAMPLE.replace(from, to);
            assert_ne!(text, EXAMPLE, "{from}");
            assert!(toml::from_str::<Pipeline>(&text).is_err(), "{to}");
        }
        assert!(toml::from_str::<Pipeline>("[[stats]]\nname = \"a\"\n").is_err(), "required keys");
    }
}
