//! `bucket`: replace a number by the label of the configured range it falls in.
//!
//! An exact age, duration or size can single a person out; a range ("25-35")
//! keeps the value useful for statistics. This module owns building the ranges
//! once from a pipeline's boundaries (validated at start, so bad config never
//! fails on a message) and looking a value up with a binary search that returns
//! a borrowed label, so the hot path does not allocate.

use std::fmt;

use serde::Deserialize;

use super::{
    write_str, ActionConfig, ConfigError, Emit, JsonType, Number, Outcome, Transform, TypeSet,
};
use crate::keys::KeyStore;

/// Why a list of bucket boundaries or labels was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketError {
    /// No boundaries were given.
    Empty,
    /// The boundary at this position is NaN or infinite.
    NonFinite {
        /// Zero-based position in the boundary list.
        index: usize,
    },
    /// The boundary at this position is not greater than the one before it.
    NotAscending {
        /// Zero-based position in the boundary list.
        index: usize,
    },
    /// Explicit labels must number one more than the boundaries.
    LabelCount {
        /// Boundaries + 1.
        expected: usize,
        /// Labels given.
        found: usize,
    },
}

impl fmt::Display for BucketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("bucket boundaries are empty"),
            Self::NonFinite { index } => {
                write!(f, "bucket boundary #{index} is not a finite number")
            }
            Self::NotAscending { index } => write!(
                f,
                "bucket boundary #{index} is not greater than the previous one (boundaries must be strictly ascending)"
            ),
            Self::LabelCount { expected, found } => write!(
                f,
                "bucket labels: expected {expected} (one more than the boundaries), found {found}"
            ),
        }
    }
}

impl std::error::Error for BucketError {}

/// Ranges built once from ascending boundaries; each range is inclusive below and
/// exclusive above.
///
/// Boundaries `[0, 18, 25, 65]` give the ranges and default labels `<0`, `0-18`,
/// `18-25`, `25-65`, `65+`.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    bounds: Vec<f64>,
    /// One more than `bounds`: label `i` covers `[bounds[i-1], bounds[i])`.
    labels: Vec<String>,
}

impl Buckets {
    /// Builds the ranges from strictly ascending, finite boundaries and optional
    /// explicit labels (one more than the boundaries, lowest range first). Default
    /// labels write numbers without a trailing `.0` (`18`, `2.5`).
    ///
    /// # Errors
    ///
    /// [`BucketError::Empty`] without boundaries, [`BucketError::NonFinite`] for a NaN or
    /// infinite boundary, [`BucketError::NotAscending`] when a boundary is not greater
    /// than its predecessor, [`BucketError::LabelCount`] when explicit labels are not
    /// exactly one more than the boundaries.
    pub fn new(bounds: &[f64], labels: Option<&[String]>) -> Result<Self, BucketError> {
        if bounds.is_empty() {
            return Err(BucketError::Empty);
        }
        if let Some(index) = bounds.iter().position(|b| !b.is_finite()) {
            return Err(BucketError::NonFinite { index });
        }
        if let Some(index) = bounds.windows(2).position(|w| w[1] <= w[0]) {
            return Err(BucketError::NotAscending { index: index + 1 });
        }
        let labels = match labels {
            Some(labels) if labels.len() == bounds.len() + 1 => labels.to_vec(),
            Some(labels) => {
                return Err(BucketError::LabelCount {
                    expected: bounds.len() + 1,
                    found: labels.len(),
                })
            }
            None => default_labels(bounds),
        };
        Ok(Self { bounds: bounds.to_vec(), labels })
    }

    /// The label of the range containing `v`; `None` for NaN. Values on a boundary
    /// belong to the range above it; infinities fall in the outermost ranges.
    pub fn label(&self, v: f64) -> Option<&str> {
        if v.is_nan() {
            return None;
        }
        let index = self.bounds.partition_point(|&bound| bound <= v);
        self.labels.get(index).map(String::as_str)
    }
}

/// Formats a boundary for a label: shortest round-trip form, no trailing `.0`, no `-0`.
fn format_bound(v: f64) -> String {
    if v == 0.0 {
        "0".to_owned()
    } else {
        v.to_string()
    }
}

/// `<b0`, `b0-b1`, ..., `bn+`.
fn default_labels(bounds: &[f64]) -> Vec<String> {
    let mut labels = Vec::with_capacity(bounds.len() + 1);
    let mut previous: Option<String> = None;
    for &bound in bounds {
        let current = format_bound(bound);
        labels.push(match &previous {
            None => format!("<{current}"),
            Some(lower) => format!("{lower}-{current}"),
        });
        previous = Some(current);
    }
    if let Some(last) = previous {
        labels.push(format!("{last}+"));
    }
    labels
}

/// `{ action = "bucket", bounds = [18, 25, 65], labels = [...] }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// Strictly ascending, finite boundaries.
    pub bounds: Vec<f64>,
    /// Optional labels, one more than the boundaries, lowest range first
    /// (default: `<18`, `18-25`, ..., `65+`).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

impl ActionConfig for BucketConfig {
    const NAME: &'static str = "bucket";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Number, JsonType::Null]);
    type Compiled = Buckets;

    fn compile(&self, _keys: &KeyStore) -> Result<Buckets, ConfigError> {
        Buckets::new(&self.bounds, self.labels.as_deref())
            .map_err(|e| ConfigError::new("bounds", e.to_string()))
    }

    fn explain(&self) -> String {
        let b: Vec<String> = self.bounds.iter().map(|b| b.to_string()).collect();
        format!("number replaced by its range (boundaries {})", b.join(", "))
    }
}

impl Buckets {
    fn write_label(&self, v: f64, emit: &mut Emit<'_>) -> Outcome {
        match self.label(v) {
            Some(label) => {
                write_str(emit.out, label);
                Outcome::Written
            }
            None => Outcome::Dropped,
        }
    }
}

impl Transform for Buckets {
    /// A number written as text (surrounding spaces ignored); anything
    /// else drops the field.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        match value.trim().parse::<f64>() {
            Ok(v) => self.write_label(v, emit),
            Err(_) => Outcome::Dropped,
        }
    }

    /// An integer beyond `i64` drops the field.
    #[inline]
    fn apply_number(&self, value: Number<'_>, emit: &mut Emit<'_>) -> Outcome {
        match value {
            Number::Int(v, _) => self.write_label(v as f64, emit),
            Number::BigInt(_) => Outcome::Dropped,
            Number::Float(v) => self.write_label(v, emit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::actions::action::testing;

    #[test]
    fn action_config_apply_and_explain() {
        let c: BucketConfig = toml::from_str("bounds = [18, 65]").unwrap();
        assert_eq!(c.explain(), "number replaced by its range (boundaries 18, 65)");
        let e = toml::from_str::<BucketConfig>("bounds = [65, 18]")
            .unwrap()
            .compile(&KeyStore::default())
            .unwrap_err();
        assert_eq!(e.field, "bounds");
        assert!(toml::from_str::<BucketConfig>("bound = [1]").is_err());
        let b = c.compile(&KeyStore::default()).unwrap();
        assert_eq!(testing::apply_str(&b, " 30 ").as_deref(), Some("\"18-65\""));
        assert_eq!(testing::apply_str(&b, "thirty"), None);
        assert_eq!(testing::apply_str(&b, "NaN"), None);
        assert_eq!(testing::apply_number(&b, Number::Int(70, "70")).as_deref(), Some("\"65+\""));
        assert_eq!(testing::apply_number(&b, Number::Float(17.9)).as_deref(), Some("\"<18\""));
        assert_eq!(testing::apply_number(&b, Number::BigInt("18446744073709551615")), None);
    }

    fn ages() -> Buckets {
        Buckets::new(&[0.0, 18.0, 25.0, 35.0, 50.0, 65.0], None).unwrap()
    }

    #[test]
    fn default_labels_for_ages() {
        let b = ages();
        assert_eq!(b.labels, ["<0", "0-18", "18-25", "25-35", "35-50", "50-65", "65+"]);
    }

    #[test]
    fn boundaries_are_inclusive_below_exclusive_above() {
        let b = ages();
        assert_eq!(b.label(-0.1), Some("<0"));
        assert_eq!(b.label(0.0), Some("0-18"));
        assert_eq!(b.label(-0.0), Some("0-18"));
        assert_eq!(b.label(17.999), Some("0-18"));
        assert_eq!(b.label(18.0), Some("18-25"));
        assert_eq!(b.label(24.9), Some("18-25"));
        assert_eq!(b.label(64.999_999), Some("50-65"));
        assert_eq!(b.label(65.0), Some("65+"));
        assert_eq!(b.label(1e300), Some("65+"));
    }

    #[test]
    fn special_values() {
        let b = ages();
        assert_eq!(b.label(f64::NAN), None);
        assert_eq!(b.label(f64::INFINITY), Some("65+"));
        assert_eq!(b.label(f64::NEG_INFINITY), Some("<0"));
    }

    #[test]
    fn single_boundary_and_fractional_labels() {
        let b = Buckets::new(&[10.0], None).unwrap();
        assert_eq!(b.label(9.0), Some("<10"));
        assert_eq!(b.label(10.0), Some("10+"));
        let b = Buckets::new(&[-0.0, 0.5, 1.25, 1e6], None).unwrap();
        assert_eq!(b.labels, ["<0", "0-0.5", "0.5-1.25", "1.25-1000000", "1000000+"]);
        let b = Buckets::new(&[-10.0, -2.5], None).unwrap();
        assert_eq!(b.labels, ["<-10", "-10--2.5", "-2.5+"]);
    }

    #[test]
    fn explicit_labels() {
        let labels: Vec<String> = ["child", "adult", "senior"].map(String::from).to_vec();
        let b = Buckets::new(&[18.0, 65.0], Some(&labels)).unwrap();
        assert_eq!(b.label(3.0), Some("child"));
        assert_eq!(b.label(18.0), Some("adult"));
        assert_eq!(b.label(90.0), Some("senior"));
    }

    #[test]
    fn invalid_configuration_is_a_typed_error() {
        assert_eq!(Buckets::new(&[], None), Err(BucketError::Empty));
        assert_eq!(Buckets::new(&[1.0, f64::NAN], None), Err(BucketError::NonFinite { index: 1 }));
        assert_eq!(
            Buckets::new(&[f64::NEG_INFINITY, 1.0], None),
            Err(BucketError::NonFinite { index: 0 })
        );
        assert_eq!(
            Buckets::new(&[1.0, 2.0, 2.0], None),
            Err(BucketError::NotAscending { index: 2 })
        );
        assert_eq!(Buckets::new(&[5.0, 1.0], None), Err(BucketError::NotAscending { index: 1 }));
        assert_eq!(Buckets::new(&[0.0, -0.0], None), Err(BucketError::NotAscending { index: 1 }));
        let two = ["a".to_owned(), "b".to_owned()];
        assert_eq!(
            Buckets::new(&[1.0, 2.0], Some(&two)),
            Err(BucketError::LabelCount { expected: 3, found: 2 })
        );
    }

    #[test]
    fn error_messages_name_the_problem_not_the_value() {
        let err = Buckets::new(&[1.0, f64::INFINITY], None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("#1") && text.contains("finite"));
        assert!(!text.contains("inf"));
        let err: Box<dyn std::error::Error> = Box::new(BucketError::Empty);
        assert_eq!(err.to_string(), "bucket boundaries are empty");
    }

    proptest! {
        #[test]
        fn value_lies_within_its_range(
            mut bounds in prop::collection::vec(-1e6f64..1e6, 1..8),
            v in -2e6f64..2e6,
        ) {
            bounds.sort_by(f64::total_cmp);
            bounds.dedup();
            let b = Buckets::new(&bounds, None).unwrap();
            let label = b.label(v).unwrap();
            let index = b.labels.iter().position(|l| l == label).unwrap();
            if index > 0 {
                prop_assert!(bounds[index - 1] <= v);
            }
            if index < bounds.len() {
                prop_assert!(v < bounds[index]);
            }
        }
    }
}
