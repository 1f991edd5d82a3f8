//! `language`: reduce an `Accept-Language` header to one primary language subtag.
//!
//! A full `Accept-Language` header (its order, regions, scripts and q-values) is
//! distinctive enough to help fingerprint a browser; the primary language of the
//! preferred entry (`de`, `en`, `zh`) is what statistics need. This module owns
//! parsing the header per RFC 9110 §12.5.4 (language ranges from RFC 4647 §2.1,
//! weights from RFC 9110 §12.4.2) in one allocation-free pass.

use serde::Deserialize;

use super::{
    write_plain_quoted, ActionConfig, ConfigError, Emit, JsonType, Outcome, Transform, TypeSet,
};
use crate::keys::KeyStore;

/// Highest weight, in thousandths (`q=1`).
const Q_MAX: u16 = 1000;

/// Appends the lowercase primary language subtag of the most preferred entry of an
/// `Accept-Language` header to `out`.
///
/// `de-DE,de;q=0.9,en;q=0.6` → `de`; `zh-Hans-CN` → `zh`. The entry with the highest
/// q wins, the first one on ties; entries with `q=0` ("not acceptable"), an invalid
/// q, an invalid language range, `*`, or a primary subtag that is not 2–3 ASCII
/// letters (`i-klingon`, `x-private`, `en_US`) are skipped. Parameters other than q
/// are ignored; names are case-insensitive.
///
/// Returns false, appending nothing, when no entry is usable (empty, only `*`, garbage).
pub fn primary_language(header: &str, out: &mut String) -> bool {
    let mut best: Option<(&str, u16)> = None;
    for element in split(header, b',') {
        let mut parts = split(element, b';');
        let range = trim_ows(parts.next().unwrap_or(""));
        let Some(primary) = primary_subtag(range) else {
            continue;
        };
        let Some(q) = weight(parts) else {
            continue;
        };
        if q > 0 && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((primary, q));
            if q == Q_MAX {
                break; // nothing later can beat it
            }
        }
    }
    match best {
        Some((primary, _)) => {
            out.extend(primary.chars().map(|c| c.to_ascii_lowercase()));
            true
        }
        None => false,
    }
}

/// `str::split` on an ASCII byte: the same pieces, without the set-up of a
/// char-pattern searcher, which dominated on these short headers.
fn split(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.bytes().position(|b| b == sep) {
            // An ASCII byte's index is a char boundary.
            Some(i) => {
                rest = Some(&current[i + 1..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// `s` without leading and trailing optional whitespace (RFC 9110 OWS:
/// space or horizontal tab), trimmed byte-wise (both are
/// ASCII, so the cuts are char boundaries); `trim_matches` with a char
/// predicate decoded every character.
fn trim_ows(s: &str) -> &str {
    let b = s.as_bytes();
    let ows = |c: &u8| *c == b' ' || *c == b'\t';
    let start = b.iter().position(|c| !ows(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ows(c)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// The primary subtag of a basic language range `1*8ALPHA *("-" 1*8alphanum)` if the
/// range is valid and the subtag is 2–3 letters; `None` for `*` and anything else.
fn primary_subtag(range: &str) -> Option<&str> {
    let mut subtags = split(range, b'-');
    let primary = subtags.next()?;
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok =
        subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    (primary_ok && rest_ok).then_some(primary)
}

/// The q of an entry's parameters in thousandths: 1000 when absent, `None` when a
/// q parameter is malformed. Other parameters are ignored.
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = Q_MAX;
    for param in params {
        let param = trim_ows(param);
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if trim_ows(name).eq_ignore_ascii_case("q") {
            q = parse_qvalue(trim_ows(value))?;
        }
    }
    Some(q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (int, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths = 0u16;
    for i in 0..3 {
        let digit = fraction.as_bytes().get(i).map_or(0, |b| u16::from(b - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(Q_MAX),
        _ => None,
    }
}

/// `language` takes no parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {}

/// Compiled `language`.
#[derive(Debug)]
pub struct Language;

impl ActionConfig for LanguageConfig {
    const NAME: &'static str = "language";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Null]);
    const PARAMETERS: bool = false;
    type Compiled = Language;

    fn compile(&self, _keys: &KeyStore) -> Result<Language, ConfigError> {
        Ok(Language)
    }

    fn explain(&self) -> String {
        "reduced to the primary language".into()
    }
}

impl Transform for Language {
    /// `""` and `"-"` ("no header" markers) carry nothing and are kept; a
    /// header without a usable entry drops the field.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        if value.is_empty() || value == "-" {
            write_plain_quoted(emit.out, value.as_bytes());
            return Outcome::Written;
        }
        emit.tmp.clear();
        if !primary_language(value, emit.tmp) {
            return Outcome::Dropped;
        }
        // Two or three ASCII letters.
        write_plain_quoted(emit.out, emit.tmp.as_bytes());
        Outcome::Written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::actions::action::testing;

    #[test]
    fn action_apply_markers_and_no_parameters() {
        let a = LanguageConfig {}.compile(&KeyStore::default()).unwrap();
        assert_eq!(testing::apply_str(&a, "de-DE,de;q=0.9,en;q=0.6").as_deref(), Some("\"de\""));
        assert_eq!(testing::apply_str(&a, "-").as_deref(), Some("\"-\""));
        assert_eq!(testing::apply_str(&a, "").as_deref(), Some("\"\""));
        assert_eq!(testing::apply_str(&a, "*"), None);
        assert!(toml::from_str::<LanguageConfig>("region = true").is_err());
        assert_eq!(LanguageConfig {}.explain(), "reduced to the primary language");
    }

    fn lang(header: &str) -> Option<String> {
        let mut out = String::new();
        primary_language(header, &mut out).then_some(out)
    }

    proptest! {
        #[test]
        fn byte_split_is_str_split(s in "[a-z,;é-]{0,12}") {
            for sep in [',', ';', '-'] {
                let ours: Vec<&str> = split(&s, sep as u8).collect();
                let std: Vec<&str> = s.split(sep).collect();
                prop_assert_eq!(ours, std);
            }
        }

        #[test]
        fn byte_trim_is_str_trim(s in "[ \t a\u{a0}\u{3000}é]{0,10}") {
            prop_assert_eq!(trim_ows(&s), s.trim_matches([' ', '\t']));
        }
    }

    #[test]
    fn examples_from_the_design() {
        assert_eq!(lang("de-DE,de;q=0.9,en;q=0.6").as_deref(), Some("de"));
        assert_eq!(lang("zh-Hans-CN").as_deref(), Some("zh"));
        assert_eq!(lang("en-US,en;q=0.5").as_deref(), Some("en"));
        assert_eq!(lang("EN-gb").as_deref(), Some("en"));
        assert_eq!(lang("tlh").as_deref(), Some("tlh"));
    }

    #[test]
    fn highest_q_wins_first_on_ties() {
        assert_eq!(lang("en;q=0.5, fr;q=0.8, de;q=0.7").as_deref(), Some("fr"));
        assert_eq!(lang("en;q=0.8,fr;q=0.8").as_deref(), Some("en"));
        assert_eq!(lang("en;q=0.8,fr").as_deref(), Some("fr"));
        assert_eq!(lang("en,fr").as_deref(), Some("en"));
        assert_eq!(lang("en;q=0.001,fr;q=0").as_deref(), Some("en"));
        assert_eq!(lang("en;q=0.1,fr;q=0.10,de;q=0.100").as_deref(), Some("en"));
        assert_eq!(lang("en;q=0.09,fr;q=0.1").as_deref(), Some("fr"));
    }

    #[test]
    fn q_zero_means_not_acceptable() {
        assert_eq!(lang("de;q=0, en;q=0.1").as_deref(), Some("en"));
        assert_eq!(lang("de;q=0.000").as_deref(), None);
        assert_eq!(lang("de;q=0,en;q=0.0").as_deref(), None);
    }

    #[test]
    fn q_syntax_per_rfc_9110() {
        for (header, expected) in [
            ("en;q=1.0", Some("en")),
            ("en;q=1.000", Some("en")),
            ("en;q=1.", Some("en")),
            ("en;q=0.", None),
            ("en;Q=0.5", Some("en")),
            ("en ; q=0.5", Some("en")),
            ("en;level=1;q=0.5", Some("en")),
        ] {
            assert_eq!(lang(header).as_deref(), expected, "{header}");
        }
        // Malformed weights skip the entry.
        for q in ["1.5", "1.001", "2", "0.1234", "-0.5", ".5", "", "0.5x", "abc", "0,5"] {
            let header = format!("en;q={q},fr;q=0.2");
            assert_eq!(lang(&header).as_deref(), Some("fr"), "{header}");
        }
    }

    #[test]
    fn wildcard_and_garbage_give_none() {
        let mut out = String::from("x");
        for header in [
            "",
            "*",
            " , ,",
            "*;q=1",
            "i-klingon",
            "x-private",
            "en_US",
            "e",
            "engl",
            "123",
            "en--US",
            "en-",
            "-en",
            "en-toolongsubtag",
            "ñe",
            "d\u{e9}",
            "de DE",
            ";q=1",
        ] {
            assert!(!primary_language(header, &mut out), "{header:?}");
        }
        assert_eq!(out, "x");
    }

    #[test]
    fn unusable_entries_are_skipped() {
        assert_eq!(lang("*, en;q=0.5").as_deref(), Some("en"));
        assert_eq!(lang("x-klingon, garbage!!, fr-CA;q=0.3").as_deref(), Some("fr"));
        assert_eq!(lang(",\t de-AT ,").as_deref(), Some("de"));
    }

    #[test]
    fn appends_to_existing_output() {
        let mut out = String::from("lang=");
        assert!(primary_language("pt-BR", &mut out));
        assert_eq!(out, "lang=pt");
    }

    proptest! {
        #[test]
        fn result_is_a_short_lowercase_tag_from_the_header(header in "[a-zA-Z*;=.,0-9 -]{0,40}") {
            let mut out = String::new();
            if primary_language(&header, &mut out) {
                prop_assert!((2..=3).contains(&out.len()));
                prop_assert!(out.bytes().all(|b| b.is_ascii_lowercase()));
                prop_assert!(header.to_ascii_lowercase().contains(&out));
            } else {
                prop_assert!(out.is_empty());
            }
        }

        #[test]
        fn arbitrary_text_never_panics(header in "\\PC{0,60}") {
            let mut out = String::new();
            let _ = primary_language(&header, &mut out);
        }
    }
}
