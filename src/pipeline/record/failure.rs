//! Why a record is refused, in value-free words: the stop reasons of the
//! walk, their classification into error codes (UTF-8, emptiness, then
//! the walk's own reason, as documented) and the messages that name
//! configured paths, never record contents.

use crate::error::{ErrorCode, RecordError};
use crate::scan::{line_column, SyntaxError};

pub(super) fn invalid_utf8(e: &std::str::Utf8Error) -> RecordError {
    RecordError::new(ErrorCode::InvalidUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to()))
}

pub(super) fn empty_record() -> RecordError {
    RecordError::new(ErrorCode::EmptyRecord, "record is empty")
}

/// Why the walk over a record stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// Invalid JSON at this byte offset.
    Syntax(usize),
    /// A rule refused the record; the reason is in [`Ctx::err`].
    Refused,
}

impl From<SyntaxError> for Stop {
    fn from(e: SyntaxError) -> Self {
        Stop::Syntax(e.pos)
    }
}

/// The error of a record the walk stopped on, checked in the order the
/// checks are documented: UTF-8, emptiness, then the walk's own reason.
pub(super) fn classify_failure(
    input: &[u8],
    stop: Stop,
    refused: Option<RecordError>,
) -> RecordError {
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(e) => return invalid_utf8(&e),
    };
    if text.trim().is_empty() {
        return empty_record();
    }
    match (stop, refused) {
        (Stop::Refused, Some(e)) => e,
        (Stop::Syntax(pos), _) => {
            // The scanner reports positions where serde_json did.
            let (line, column) = line_column(input, pos);
            RecordError::new(
                ErrorCode::InvalidJson,
                format!("invalid JSON at line {line} column {column}"),
            )
        }
        (Stop::Refused, None) => RecordError::new(ErrorCode::InvalidJson, "record refused"),
    }
}

/// How messages name an object level: by its configured path, never by a
/// field name taken from the record.
fn object_at(node_path: &str) -> String {
    match node_path.strip_suffix('.') {
        Some(path) => format!("the object at `{path}`"),
        None => "the record".to_string(),
    }
}

/// The `unknown_field` message: the field is named by its position (1-based)
/// in its object, since a field name from a record can itself be personal
/// (IDs, phones and emails are used as keys).
pub(crate) fn unlisted_message(node_path: &str, position: usize) -> String {
    format!("field #{position} of {} is not listed", object_at(node_path))
}
