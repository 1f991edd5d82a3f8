//! Property tests of `url`: planted identifiers never survive in any
//! spelling; dropped values and userinfo never appear; and the path, query
//! and IP-literal host `url` sees agree with the `url` crate (the WHATWG
//! parser), an independent implementation.

use super::tests::{params, reduce};
use super::*;
use crate::classify::classify;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

/// Identifier-like values planted as path segments and kept parameter
/// values, in several spellings.
fn planted_identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{3,8}\\.[a-z]{2,6}@[a-z]{3,8}\\.(com|cn|org)",
        "1[3-9][0-9]{9}",
        "\\+[1-9][0-9]{7,12}",
        "[0-9]{5,12}",
        "[a-z]{1,4}_[0-9]{6,10}",
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        "[0-9a-f]{16,32}",
        "[A-Za-z0-9]{10}[A-Z][0-9][a-z][A-Z][0-9][a-z][A-Z][0-9]",
        "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}",
    ]
}

/// Percent-encodes every byte of `s` (or only `@`, `+` and `.`).
fn encode(s: &str, all: bool) -> String {
    s.bytes()
        .map(|b| {
            if all || matches!(b, b'@' | b'+' | b'.') {
                format!("%{b:02X}")
            } else {
                char::from(b).to_string()
            }
        })
        .collect()
}

proptest! {
    /// Oracle: the `url` crate parses the output; no path segment and no
    /// kept parameter value it decodes is flagged by the classifier, and
    /// the planted identifiers appear nowhere.
    #[test]
    fn no_decoded_segment_or_value_is_an_identifier(
        words in prop::collection::vec("[a-z]{1,8}|v[0-9]", 1..4),
        ids in prop::collection::vec((planted_identifier(), 0u8..3), 1..3),
        matrix in "[A-Z0-9]{6,12}",
        absolute in any::<bool>(),
        value in planted_identifier(),
    ) {
        let mut segments: Vec<String> = words.clone();
        for (id, spelling) in &ids {
            segments.push(match spelling {
                0 => id.clone(),
                1 => encode(id, false),
                _ => encode(id, true),
            });
        }
        segments.push(format!("{};jsessionid={matrix}", words[0]));
        let path = format!("/{}", segments.join("/"));
        let input = format!(
            "{}{path}?page={}&token={matrix}",
            if absolute { "https://shop.example" } else { "" },
            encode(&value, false)
        );
        let out = reduce(&input, UrlKeep::Path, &["page"]).unwrap();
        let parsed = url::Url::parse(&out)
            .or_else(|_| url::Url::parse("https://base.example").and_then(|b| b.join(&out)))
            .unwrap();
        for segment in parsed.path_segments().unwrap() {
            let decoded = percent_decode_str(segment).decode_utf8_lossy();
            let placeholder = decoded.starts_with('{') && decoded.ends_with('}');
            prop_assert!(placeholder || classify(&decoded).is_none(), "{} -> {}", input, out);
        }
        for (name, v) in parsed.query_pairs() {
            prop_assert_eq!(&name, "page");
            prop_assert!(v.starts_with('{') || classify(&v).is_none(), "{} -> {}", input, out);
        }
        prop_assert!(!out.contains(&matrix));
        for (id, _) in &ids {
            prop_assert!(!out.contains(id.as_str()), "{} -> {}", input, out);
        }
    }

    /// Oracle: on URLs without identifiers, matrix parameters or encoded
    /// delimiters, the path and the kept parameters are exactly what the
    /// `url` crate reads.
    #[test]
    fn path_and_query_split_agree_with_the_url_crate(
        host in "[a-z]{1,8}\\.(com|example|org)",
        segments in prop::collection::vec("[a-z]{0,6}|[0-9]{1,4}|[a-z]{2}-[a-z]{2,5}", 0..5),
        pairs in prop::collection::vec(("page|lang|sort|q|x", "[a-z0-9]{0,4}"), 0..5),
        fragment in prop::option::of("[a-z?&=/]{0,8}"),
        trailing_slash in any::<bool>(),
    ) {
        let mut input = format!("https://{host}/{}", segments.join("/"));
        if trailing_slash {
            input.push('/');
        }
        if !pairs.is_empty() {
            let q: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
            input.push('?');
            input.push_str(&q.join("&"));
        }
        if let Some(f) = &fragment {
            input.push('#');
            input.push_str(f);
        }
        let names = ["page", "lang", "sort"];
        let kept = params(&names);
        let out = reduce(&input, UrlKeep::Path, &names).unwrap();
        let oracle = url::Url::parse(&input).unwrap();
        let ours = url::Url::parse(&out).unwrap();
        prop_assert_eq!(ours.path(), oracle.path());
        prop_assert_eq!(ours.host_str(), oracle.host_str());
        let expected: Vec<(String, String)> = oracle
            .query_pairs()
            .filter(|(n, _)| kept.iter().any(|k| k == n))
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        let got: Vec<(String, String)> =
            ours.query_pairs().map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(ours.fragment(), None);
        let origin = reduce(&input, UrlKeep::Origin, &names).unwrap();
        prop_assert_eq!(origin, oracle.origin().ascii_serialization());
    }

    /// Oracle: whatever IPv4 address the `url` crate reads in a host
    /// (any WHATWG spelling), we either refuse the URL or write exactly
    /// that address truncated to /24; never anything else.
    #[test]
    fn ip_hosts_agree_with_the_url_crate(
        octets in any::<[u8; 4]>(),
        spelling in 0u8..5,
    ) {
        let [a, b, c, d] = octets;
        let n = u32::from_be_bytes(octets);
        let host = match spelling {
            0 => format!("{a}.{b}.{c}.{d}"),
            1 => format!("{n}"),
            2 => format!("0x{n:x}"),
            3 => format!("{a}.{b}.{}", u32::from(c) << 8 | u32::from(d)),
            _ => format!("0{a:o}.{b}.{c}.{d}"),
        };
        let input = format!("http://{host}:8080/p");
        let oracle = url::Url::parse(&input).unwrap();
        let Some(url::Host::Ipv4(ip)) = oracle.host() else {
            return Err(TestCaseError::fail(format!("url crate: not IPv4: {input}")));
        };
        match reduce(&input, UrlKeep::Origin, &[]) {
            None => prop_assert!(spelling != 0),
            Some(out) => {
                let o = ip.octets();
                prop_assert_eq!(out, format!("http://{}.{}.{}.0:8080", o[0], o[1], o[2]));
            }
        }
    }
}

const NAMES: [&str; 5] = ["page", "lang", "sort", "token", "q"];

fn url_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("https://".to_string()),
        Just("HTTP://".to_string()),
        Just("ftp://".to_string()),
        Just("javascript:".to_string()),
        Just("//".to_string()),
        Just("/".to_string()),
        Just("?".to_string()),
        Just("#".to_string()),
        Just("@".to_string()),
        Just(":".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("&".to_string()),
        Just("=".to_string()),
        Just("\\".to_string()),
        Just("%70age".to_string()),
        Just("page=2".to_string()),
        Just(":8443".to_string()),
        Just("[2001:db8::1]".to_string()),
        Just("Ex.COM".to_string()),
        Just("é".to_string()),
        Just(" ".to_string()),
        "[a-z0-9.~_-]{1,6}",
        "\\PC{0,3}",
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn dropped_values_and_userinfo_never_appear(
        absolute in any::<bool>(),
        user in "USR[A-Z]{6}",
        path in "(/[a-z0-9]{0,6}){1,3}",
        pairs in prop::collection::vec((0usize..5, "[A-Z0-9]{4}"), 0..8),
        kept in prop::collection::vec(0usize..5, 0..3),
        fragment in "~frag~[a-z]{4}",
        keep in prop_oneof![Just(UrlKeep::Origin), Just(UrlKeep::Path)],
    ) {
        let query: Vec<String> = pairs
            .iter()
            .enumerate()
            .map(|(i, (name, value))| format!("{}=VAL{i}X{value}", NAMES[*name]))
            .collect();
        let prefix = if absolute { format!("https://{user}:PWSECRET@h.example") } else { String::new() };
        let url = format!("{prefix}{path}?{}#{fragment}", query.join("&"));
        let keep_params: Vec<String> = kept.iter().map(|k| NAMES[*k].to_owned()).collect();
        let mut out = String::new();
        let ok = reduce_url(&url, keep, &keep_params, &mut out);
        prop_assert_eq!(ok, absolute || keep == UrlKeep::Path);
        prop_assert!(!out.contains(&user) && !out.contains("~frag") && !out.contains("PWSECRET"));
        for (i, (name, _)) in pairs.iter().enumerate() {
            let marker = format!("VAL{i}X");
            let listed = keep_params.iter().any(|k| k == NAMES[*name]);
            let present = out.contains(&marker);
            prop_assert_eq!(present, listed && ok && keep == UrlKeep::Path);
        }
    }

    #[test]
    fn url_like_text_is_reduced_or_refused_whole(
        text in url_text(),
        keep in prop_oneof![Just(UrlKeep::Origin), Just(UrlKeep::Path)],
    ) {
        let mut out = String::from("x");
        if !reduce_url(&text, keep, &params(&["page", "q"]), &mut out) {
            prop_assert_eq!(out, "x");
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}", keep in prop_oneof![Just(UrlKeep::Origin), Just(UrlKeep::Path)]) {
        let mut out = String::new();
        if !reduce_url(&text, keep, &params(&["page"]), &mut out) {
            prop_assert!(out.is_empty());
        }
    }

    /// `push_path`'s one pass writes what splitting on `/` and judging
    /// every segment with `cut_segment` and `segment_kind` writes (the
    /// path handling as first written, kept here as the oracle).
    #[test]
    fn push_path_matches_segment_by_segment(
        path in "(/([a-z0-9]{0,6}|[0-9]{4,12}|[0-9a-f]{8,32}|[a-zA-Z0-9;%@._=-]{0,18}|\\PC{0,6}|%3[bBfF]|%2[35]|[a-z]{1,5}%40[a-z]{1,5}\\.com)){0,6}",
    ) {
        let mut expected = String::new();
        for (i, raw) in path.split('/').enumerate() {
            if i > 0 {
                expected.push('/');
            }
            let (segment, ends_path) = cut_segment(raw);
            match segment_kind(segment) {
                Some(kind) => expected.push_str(kind.placeholder()),
                None => expected.push_str(segment),
            }
            if ends_path {
                break;
            }
        }
        let mut out = String::from("x");
        push_path(&path, &mut out);
        prop_assert_eq!(&out[1..], expected.as_str(), "{}", path);
    }

    /// The word-at-a-time control/space test against the character-wise
    /// definition.
    #[test]
    fn control_or_space_test_matches_chars(text in "[ -~]{0,40}|\\PC{0,20}|[\\x00-\\x7f]{0,20}|\\PC{0,9}[\\x00-\\x20\\x7f\\u{85}\\u{a0}\\u{2028}\\u{3000}]\\PC{0,9}") {
        let expected = text.chars().any(|c| c.is_control() || c.is_whitespace());
        prop_assert_eq!(has_control_or_space(&text), expected, "{:?}", text);
    }

    #[test]
    fn find_either_is_the_first_of_two_bytes(text in "[a-z?#/]{0,40}|\\PC{0,20}") {
        let expected = text.bytes().position(|c| c == b'?' || c == b'#');
        prop_assert_eq!(find_either(text.as_bytes(), b'?', b'#'), expected, "{:?}", text);
    }
}
