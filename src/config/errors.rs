//! Config error text that names a place and a kind of problem, never a
//! value: [`SettingsError`] for settings that parse but cannot work,
//! [`problem_kind`] for serde's messages (which quote values), and
//! [`toml_error_field`] for TOML syntax errors (whose messages quote the
//! line). Shared by `config/logveil.toml` and the pipeline files.

/// A setting that cannot work, named by its path in `config/logveil.toml`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{field}`: {problem}")]
pub struct SettingsError {
    /// Dotted path of the setting, e.g. `kafka.group_id`.
    pub field: String,
    /// What is wrong with it (never a secret value).
    pub problem: String,
}

impl SettingsError {
    pub(crate) fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        SettingsError { field: field.into(), problem: problem.into() }
    }
}

/// Best-effort "line N" locator for a TOML syntax/type error, for the
/// pipeline files and `config/logveil.toml` alike: names the line, never
/// the text around it.
pub fn toml_error_field(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}")
        }
        None => "(top level)".into(),
    }
}

/// The kind of problem in a serde message, without the value it may quote.
///
/// serde words these as `invalid type: <what> <value>, expected <what>`,
/// `invalid value: ...`, `unknown variant <value>, expected ...`: the value
/// is dropped and the rest (which comes from logveil's own types) kept.
/// `unknown field`, `missing field` and `duplicate field` name a setting,
/// which comes from the file or a variable name, so they are kept whole.
/// Anything else becomes a generic "invalid value".
pub fn problem_kind(message: &str) -> String {
    let expected = |m: &str| m.rsplit_once(", expected ").map(|(_, e)| e.to_owned());
    // What was found: the words before its quoted value (`integer`, `string`, `floating point`).
    let found = |m: &str| {
        m.split(['`', '"', '\'']).next().unwrap_or("").trim().trim_end_matches(',').to_owned()
    };
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return match rest.rsplit_once(", expected ") {
                Some((unexpected, e)) => match found(unexpected) {
                    what if what.is_empty() => format!("{prefix}expected {e}"),
                    what => format!("{prefix}{what}, expected {e}"),
                },
                None => prefix.trim_end_matches([':', ' ']).to_owned(),
            };
        }
    }
    if message.starts_with("unknown variant ") {
        return match expected(message) {
            Some(e) => format!("unknown variant, expected {e}"),
            None => "unknown variant".into(),
        };
    }
    if message.starts_with("invalid length ") {
        return match expected(message) {
            Some(e) => format!("invalid length, expected {e}"),
            None => "invalid length".into(),
        };
    }
    let names_a_setting = ["unknown field `", "missing field `", "duplicate field `"];
    // Fixed texts of std's parsers (no value in them).
    let fixed =
        ["invalid socket address syntax", "invalid IP address syntax", super::stats::MERGED_ONLY];
    if names_a_setting.iter().any(|p| message.starts_with(p)) || fixed.contains(&message) {
        return message.to_owned();
    }
    "invalid value".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_kinds() {
        for (msg, want) in [
            (
                "invalid type: string \"a, expected b\", expected a number",
                "invalid type: string, expected a number",
            ),
            (
                "invalid type: floating point `1.5`, expected u64",
                "invalid type: floating point, expected u64",
            ),
            ("invalid value: string \"zz\"", "invalid value"),
            (
                "unknown variant `secret`, expected one of `a`, `b`",
                "unknown variant, expected one of `a`, `b`",
            ),
            ("invalid length 3, expected 2", "invalid length, expected 2"),
            (
                "unknown field `brokerz`, expected one of `a`",
                "unknown field `brokerz`, expected one of `a`",
            ),
            ("some message quoting `secret`", "invalid value"),
        ] {
            assert_eq!(problem_kind(msg), want);
        }
    }

    #[test]
    fn toml_errors_name_the_line() {
        let text = "a = 1\nb = = 98765432\n";
        let e = text.parse::<toml::Table>().unwrap_err();
        assert_eq!(toml_error_field(text, &e), "line 2");
    }
}
