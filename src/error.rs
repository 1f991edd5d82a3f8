//! Error codes for records that cannot be processed.
//!
//! Every dead letter carries exactly one [`ErrorCode`]; its string form is a
//! stable, documented part of the output format and the only value allowed in
//! the `error_code` metric label. Messages that accompany a code name field
//! paths and the kind of problem, never a raw value.

use std::fmt;

/// Why a record went to the dead-letter topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    /// The record is empty or only whitespace.
    EmptyRecord,
    /// The bytes are not valid UTF-8.
    InvalidUtf8,
    /// The bytes are not valid JSON.
    InvalidJson,
    /// Valid JSON, but not an object at the top level.
    NotAnObject,
    /// Larger than the configured `max_record_bytes`.
    TooLarge,
    /// Nested deeper than the configured `max_depth`.
    TooDeep,
    /// A field has a JSON type its action cannot accept (an object where an IP was expected).
    WrongType,
    /// The same field appears twice in one object (ambiguous: refused).
    DuplicateField,
    /// A field not listed in a pipeline with `unknown_fields = "error"`.
    UnknownField,
    /// A web server log line that does not match the `combined`/`common` format.
    InvalidLogLine,
    /// The record came from a topic no pipeline owns.
    NoPipeline,
    /// A record on the statistics partials topic that no pipeline's statistics can merge.
    InvalidPartial,
}

impl ErrorCode {
    /// Every code, for documentation and metric pre-registration.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::EmptyRecord,
        ErrorCode::InvalidUtf8,
        ErrorCode::InvalidJson,
        ErrorCode::NotAnObject,
        ErrorCode::TooLarge,
        ErrorCode::TooDeep,
        ErrorCode::WrongType,
        ErrorCode::DuplicateField,
        ErrorCode::UnknownField,
        ErrorCode::InvalidLogLine,
        ErrorCode::NoPipeline,
        ErrorCode::InvalidPartial,
    ];

    /// The stable snake_case name used in dead letters and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::EmptyRecord => "empty_record",
            ErrorCode::InvalidUtf8 => "invalid_utf8",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::NotAnObject => "not_an_object",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::TooDeep => "too_deep",
            ErrorCode::WrongType => "wrong_type",
            ErrorCode::DuplicateField => "duplicate_field",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::InvalidLogLine => "invalid_log_line",
            ErrorCode::NoPipeline => "no_pipeline",
            ErrorCode::InvalidPartial => "invalid_partial",
        }
    }

    /// One-line description for docs and `explain`.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::EmptyRecord => "the record is empty",
            ErrorCode::InvalidUtf8 => "the record is not valid UTF-8",
            ErrorCode::InvalidJson => "the record is not valid JSON",
            ErrorCode::NotAnObject => "the record is JSON but not an object",
            ErrorCode::TooLarge => "the record exceeds max_record_bytes",
            ErrorCode::TooDeep => "the record is nested deeper than max_depth",
            ErrorCode::WrongType => "a field has a JSON type its action cannot handle",
            ErrorCode::DuplicateField => "a field appears twice in one object",
            ErrorCode::UnknownField => {
                "a field is not listed and the pipeline says unknown_fields = \"error\""
            }
            ErrorCode::InvalidLogLine => "the line does not match the combined/common log format",
            ErrorCode::NoPipeline => "no pipeline owns the record's topic",
            ErrorCode::InvalidPartial => "a statistics partial that no statistic can merge",
        }
    }
}

/// Serialized as its stable string form ([`ErrorCode::as_str`]): the only
/// place, with metric labels, where the code becomes a string.
impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record-level failure: a code plus a message free of raw values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RecordError {
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// Explanation naming field paths and the problem, never values.
    pub message: String,
}

impl RecordError {
    /// Builds an error from a code and a value-free message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RecordError { code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            let s = c.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{s}"
            );
            assert!(seen.insert(s), "duplicate {s}");
            assert!(!c.describe().is_empty());
        }
    }
}
