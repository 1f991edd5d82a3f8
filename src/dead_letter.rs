//! The dead-letter record format.
//!
//! A dead letter says where a record came from and why it was refused, and
//! never contains the record itself (the operator can opt in to
//! `include_raw`, e.g. on a locked-down topic used for debugging parsers).
//! The same format is used for the Kafka dead-letter topic and for the
//! `--dead-letter` file of `logveil process`.

use serde::Serialize;

use crate::error::ErrorCode;

/// Where the refused record came from.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DeadLetterSource<'a> {
    /// A Kafka record.
    Kafka {
        /// Source topic.
        topic: &'a str,
        /// Source partition.
        partition: i32,
        /// Source offset.
        offset: i64,
    },
    /// A line of a file (1-based) read by `logveil process`.
    File {
        /// Input file name, or `-` for stdin.
        file: &'a str,
        /// 1-based line number.
        line: u64,
    },
}

/// One dead letter, serialized as a single JSON object.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter<'a> {
    /// Format version of this object.
    pub schema: &'static str,
    /// Stable error code, serialized as its snake_case name.
    pub error_code: ErrorCode,
    /// Explanation naming field paths and the problem, never raw values.
    pub message: &'a str,
    /// Pipeline that refused the record, if one owned it.
    pub pipeline: Option<&'a str>,
    /// Where the record came from.
    pub source: DeadLetterSource<'a>,
    /// Length of the refused record in bytes.
    pub bytes: usize,
    /// The raw record, only when the operator opted in (`include_raw = true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

/// Schema identifier written into every dead letter.
pub const DEAD_LETTER_SCHEMA: &str = "logveil.dead_letter/1";

impl<'a> DeadLetter<'a> {
    /// Builds a dead letter without the raw record.
    pub fn new(
        error_code: ErrorCode,
        message: &'a str,
        pipeline: Option<&'a str>,
        source: DeadLetterSource<'a>,
        bytes: usize,
    ) -> Self {
        DeadLetter {
            schema: DEAD_LETTER_SCHEMA,
            error_code,
            message,
            pipeline,
            source,
            bytes,
            raw: None,
        }
    }

    /// Attaches the raw record (lossy UTF-8). Only call when `include_raw` is set.
    pub fn with_raw(mut self, raw: &[u8]) -> Self {
        self.raw = Some(String::from_utf8_lossy(raw).into_owned());
        self
    }

    /// Serializes to compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_dead_letter_shape() {
        let dl = DeadLetter::new(
            ErrorCode::InvalidJson,
            "expected value at line 1 column 1",
            Some("access_log"),
            DeadLetterSource::Kafka { topic: "raw.access", partition: 3, offset: 42 },
            17,
        );
        let v: serde_json::Value = serde_json::from_slice(&dl.to_json()).unwrap();
        assert_eq!(v["error_code"], "invalid_json");
        assert_eq!(v["source"]["partition"], 3);
        assert_eq!(v["source"]["offset"], 42);
        assert_eq!(v["schema"], DEAD_LETTER_SCHEMA);
        assert!(v.get("raw").is_none());
    }

    #[test]
    fn raw_only_when_opted_in() {
        let dl = DeadLetter::new(
            ErrorCode::TooLarge,
            "m",
            None,
            DeadLetterSource::File { file: "-", line: 2 },
            3,
        )
        .with_raw(b"abc");
        let v: serde_json::Value = serde_json::from_slice(&dl.to_json()).unwrap();
        assert_eq!(v["raw"], "abc");
        assert_eq!(v["error_code"], "too_large");
        assert_eq!(v["source"]["line"], 2);
    }
}
