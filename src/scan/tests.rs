//! The scanner against serde_json as the oracle: a document is accepted
//! exactly when serde_json accepts it (strictly decoded as a `Value`, or
//! leniently read as a `RawValue`), and decoded strings are equal.

use proptest::prelude::*;
use serde_json::value::RawValue;

use super::*;

/// Strict scan of a whole document.
fn strict_ok(doc: &[u8]) -> bool {
    let mut cur = Cursor::new(doc);
    cur.skip_strict(1, usize::MAX).is_ok() && cur.at_end()
}

/// Lenient scan of a whole document.
fn lenient_ok(doc: &[u8]) -> bool {
    let mut cur = Cursor::new(doc);
    let mut stack = Vec::new();
    cur.skip_raw(&mut stack).is_ok() && cur.at_end()
}

fn serde_strict_ok(doc: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(doc).is_ok()
}

fn serde_lenient_ok(doc: &[u8]) -> bool {
    serde_json::from_slice::<&RawValue>(doc).is_ok()
}

fn check(doc: &[u8]) {
    assert_eq!(strict_ok(doc), serde_strict_ok(doc), "strict: {:?}", String::from_utf8_lossy(doc));
    assert_eq!(
        lenient_ok(doc),
        serde_lenient_ok(doc),
        "lenient: {:?}",
        String::from_utf8_lossy(doc)
    );
}

#[test]
fn known_cases() {
    for doc in [
        &br#"{"a":1}"#[..],
        b"{}",
        b"[]",
        b" [ ] ",
        b"{,}",
        b"[1,]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{\"a\":}",
        b"{1:2}",
        b"01",
        b"-0",
        b"-",
        b"1.",
        b"1.e5",
        b"1e",
        b"1e+",
        b"1E-7",
        b"-0.0e0",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"1.7976931348623157e308",
        b"1.7976931348623159e308",
        b"\"\\ud800\"",
        b"\"\\udc00\"",
        b"\"\\ud800\\udc00\"",
        b"\"\\ud800\\u0041\"",
        b"\"\\ud800\\n\"",
        b"\"\\u00e9\"",
        b"\"\\u00G9\"",
        b"\"\\x\"",
        b"\"tab\there\"",
        b"\"\x7f\"",
        b"\"\xc3\xa9\"",
        b"\"\xc3\"",
        b"\"\xed\xa0\x80\"",
        b"\"\xf4\x90\x80\x80\"",
        b"\"\xe0\x80\xaf\"",
        b"\"\xf0\x9f\x98\x80\"",
        b"\xef\xbb\xbf{}",
        b"tru",
        b"true",
        b"nul",
        b"null x",
        b"[true,false,null]",
        b"{\"a\":{\"b\":[1,{\"c\":\"d\"}]}}",
        b"\"unterminated",
        b"",
        b"   ",
        b"{\"\\ud800\":1}",
        b"[\"\\ud800\"]",
    ] {
        check(doc);
    }
    let long_int = "9".repeat(400);
    check(long_int.as_bytes());
    let long_frac = format!("0.{}", "9".repeat(400));
    check(long_frac.as_bytes());
}

#[test]
fn unescape_matches_serde() {
    for s in [
        r#""plain""#,
        r#""a\"b\\c\/d\be\ff\ng\rh\ti""#,
        r#""\u00e9\u4e2d\ud83d\ude00""#,
        "\"caf\u{e9} \\u0041\"",
    ] {
        let mut cur = Cursor::new(s.as_bytes());
        let span = cur.string(true).unwrap();
        let mut out = String::new();
        assert!(unescape(&s.as_bytes()[span.start..span.end], &mut out));
        assert_eq!(out, serde_json::from_str::<String>(s).unwrap());
    }
}

#[test]
fn find_special_is_exact() {
    for len in 0..70 {
        for at in 0..=len {
            for special in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xff] {
                let mut v = vec![b'a'; len];
                if at < len {
                    v[at] = special;
                }
                assert_eq!(find_special(&v), at.min(len));
                assert_eq!(find_special_swar(&v), at.min(len));
            }
        }
    }
    // Bytes right above the control range and around the specials.
    let v: Vec<u8> = (0x20u8..0x80).filter(|b| *b != b'"' && *b != b'\\').collect();
    assert_eq!(find_special(&v), v.len());
}

#[test]
fn line_column_counts_bytes() {
    assert_eq!(line_column(b"{\n  x", 4), (2, 3));
    assert_eq!(line_column(b"abc", 0), (1, 1));
    assert_eq!(line_column(b"abc", 3), (1, 3));
    assert_eq!(line_column(b"a\n", 1), (2, 0));
}

/// Pieces that JSON documents are made of, valid and not.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b",".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\"k\"".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\\u".to_vec()),
        Just(b"\\ud800".to_vec()),
        Just(b"\\udc00".to_vec()),
        Just(b"00e9".to_vec()),
        Just(b"true".to_vec()),
        Just(b"null".to_vec()),
        Just(b"fals".to_vec()),
        Just(b"-".to_vec()),
        Just(b"0".to_vec()),
        Just(b"12".to_vec()),
        Just(b".5".to_vec()),
        Just(b"e400".to_vec()),
        Just(b"E-3".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just("😀".as_bytes().to_vec()),
        Just(vec![0xc3]),
        Just(vec![0xed, 0xa0, 0x80]),
        Just(vec![0x01]),
        Just(vec![b'\t']),
        "[a-z]{1,3}".prop_map(String::into_bytes),
    ]
}

/// A valid JSON value, as text.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
        "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        "\"([a-z]|\\\\[nt\"/\\\\]|\\\\u00[0-9a-f]{2}|\\\\ud83d\\\\ude00|\\\\ud800|é)*\"",
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z\\\\\"]{0,4}", inner), 0..5).prop_map(|v| {
                let members: Vec<String> = v
                    .into_iter()
                    .map(|(k, v)| format!("{}: {v}", serde_json::to_string(&k).unwrap()))
                    .collect();
                format!("{{ {} }}", members.join(" ,"))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_token_soup_matches_serde(tokens in prop::collection::vec(token(), 0..12)) {
        let doc: Vec<u8> = tokens.concat();
        check(&doc);
    }

    #[test]
    fn valid_values_and_their_mutations_match_serde(
        v in value(), cut in any::<prop::sample::Index>(), byte in any::<u8>(),
        what in 0..4u8,
    ) {
        let mut doc = v.into_bytes();
        check(&doc);
        if !doc.is_empty() {
            let at = cut.index(doc.len());
            match what {
                0 => doc.truncate(at),
                1 => { doc.remove(at); }
                2 => doc.insert(at, byte),
                _ => doc[at] = byte,
            }
            check(&doc);
        }
    }

    #[test]
    fn strict_strings_unescape_like_serde(s in "\"([a-z]|\\\\[nt\"/\\\\bfr]|\\\\u[0-9a-fA-F]{4}|é|\\\\ud83d\\\\ude00)*\"") {
        let bytes = s.as_bytes();
        let mut cur = Cursor::new(bytes);
        let expected = serde_json::from_str::<String>(&s);
        match cur.string(true) {
            Ok(span) => {
                let mut out = String::new();
                prop_assert!(unescape(&bytes[span.start..span.end], &mut out));
                prop_assert_eq!(Some(out), expected.ok());
            }
            Err(_) => prop_assert!(expected.is_err()),
        }
    }
}

proptest! {
    #[test]
    fn probes_agree_however_they_are_read(
        prefix in prop::collection::vec(any::<u8>(), 0..4),
        name in prop::collection::vec(any::<u8>(), 0..24),
        suffix in prop::collection::vec(any::<u8>(), 0..20),
        other in prop::collection::vec(any::<u8>(), 0..24),
    ) {
        let bytes = [&prefix[..], &name, &suffix].concat();
        let read = NameProbe::at(&bytes, prefix.len(), name.len());
        prop_assert_eq!(read, NameProbe::new(&name));
        if name.len() <= 16 && other.len() <= 16 {
            prop_assert_eq!(NameProbe::new(&other) == read, other == name);
        }
    }
}

/// `KeyLiteral` against plain slice comparison: every length up to the
/// limit, at every position of a short input (so also within 32 bytes of
/// its end), with one byte changed anywhere.
#[test]
fn key_literal_matches_exactly_its_bytes() {
    let input: Vec<u8> = (0..80u8).map(|i| b'a' + i % 26).collect();
    for len in 0..=KeyLiteral::MAX + 1 {
        for at in 0..input.len() {
            let Some(want) = input.get(at..at + len) else { continue };
            let lit = KeyLiteral::new(want);
            for pos in 0..=input.len() {
                let expected =
                    len > 0 && len <= KeyLiteral::MAX && input.get(pos..pos + len) == Some(want);
                assert_eq!(lit.matches_at(&input, pos), expected, "len {len} at {at} pos {pos}");
            }
            if len > 0 && len <= KeyLiteral::MAX {
                for flip in 0..len {
                    let mut other = input.clone();
                    other[at + flip] ^= 0x20;
                    assert!(!lit.matches_at(&other, at), "len {len} flip {flip}");
                }
                let mut cur = Cursor::new(&input);
                for _ in 0..at {
                    cur.bump();
                }
                assert!(cur.eat_literal(&lit));
                assert_eq!(cur.pos(), at + len);
            }
        }
    }
}
