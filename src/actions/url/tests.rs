//! Unit tests of `url`, and property tests against the `url` crate (WHATWG parser) as an independent oracle.

use super::*;
use crate::classify::classify;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use serde::de::value::{Error as DeError, StrDeserializer};

fn params(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn reduce(text: &str, keep: UrlKeep, names: &[&str]) -> Option<String> {
    let mut out = String::new();
    reduce_url(text, keep, &params(names), &mut out).then_some(out)
}

#[test]
fn query_without_path_keeps_listed_params() {
    assert_eq!(
        reduce("https://a.example?page=2&to=b", UrlKeep::Path, &["page"]).as_deref(),
        Some("https://a.example/?page=2")
    );
}

const FULL: &str = "https://user:pw@www.example.com:8443/a/b?x=1&page=2#frag";

#[test]
fn origin_of_absolute_url() {
    assert_eq!(
        reduce(FULL, UrlKeep::Origin, &["page"]).as_deref(),
        Some("https://www.example.com:8443")
    );
    assert_eq!(
        reduce("HTTP://WWW.Example.COM/Path", UrlKeep::Origin, &[]).as_deref(),
        Some("http://www.example.com")
    );
    assert_eq!(
        reduce("wss://[2001:DB8::1]:443/socket", UrlKeep::Origin, &[]).as_deref(),
        Some("wss://[2001:db8::]:443")
    );
    assert_eq!(
        reduce("ftp://files.example.org:/pub", UrlKeep::Origin, &[]).as_deref(),
        Some("ftp://files.example.org")
    );
}

#[test]
fn origin_of_relative_path_is_rejected() {
    let mut out = String::from("keep");
    assert!(!reduce_url("/api/v1?page=2", UrlKeep::Origin, &[], &mut out));
    assert_eq!(out, "keep");
}

#[test]
fn path_of_absolute_url() {
    assert_eq!(
        reduce(FULL, UrlKeep::Path, &["page"]).as_deref(),
        Some("https://www.example.com:8443/a/b?page=2")
    );
    assert_eq!(
        reduce("https://example.com", UrlKeep::Path, &[]).as_deref(),
        Some("https://example.com/")
    );
    assert_eq!(
        reduce("https://example.com?page=3&q=secret", UrlKeep::Path, &["page"]).as_deref(),
        Some("https://example.com/?page=3")
    );
    assert_eq!(
        reduce("https://Example.com/CaseKept/%7Euser", UrlKeep::Path, &[]).as_deref(),
        Some("https://example.com/CaseKept/%7Euser")
    );
}

#[test]
fn path_of_relative_url() {
    assert_eq!(
        reduce("/api/v1/users/44?page=2&token=abc", UrlKeep::Path, &["page"]).as_deref(),
        Some("/api/v1/users/44?page=2")
    );
    assert_eq!(
        reduce("/search?q=alice+smith", UrlKeep::Path, &["page"]).as_deref(),
        Some("/search")
    );
    assert_eq!(reduce("/", UrlKeep::Path, &[]).as_deref(), Some("/"));
    assert_eq!(reduce("//wp-admin/x", UrlKeep::Path, &[]).as_deref(), Some("//wp-admin/x"));
}

#[test]
fn params_keep_order_and_encoding() {
    let url = "/p?sort=desc&token=t0k&lang=de%2DDE&page=2&sort=asc&x";
    assert_eq!(
        reduce(url, UrlKeep::Path, &["page", "lang", "sort"]).as_deref(),
        Some("/p?sort=desc&lang=de%2DDE&page=2&sort=asc")
    );
    // Encoded names match their decoded form; the original spelling is kept.
    assert_eq!(
        reduce("/p?%70age=2&my+key=v&my%20key=w", UrlKeep::Path, &["page", "my key"]).as_deref(),
        Some("/p?%70age=2&my+key=v&my%20key=w")
    );
    // Names without a value, empty pairs and a bare `?`.
    assert_eq!(
        reduce("/p?&&debug&&page=&", UrlKeep::Path, &["debug", "page"]).as_deref(),
        Some("/p?debug&page=")
    );
    assert_eq!(reduce("/p?", UrlKeep::Path, &["page"]).as_deref(), Some("/p"));
    // A malformed escape stands for itself; prefix matches are not matches.
    assert_eq!(
        reduce("/p?a%zz=1&pag=1&pages=1&page%=1", UrlKeep::Path, &["a%zz", "page"]).as_deref(),
        Some("/p?a%zz=1")
    );
}

#[test]
fn fragment_is_always_dropped() {
    assert_eq!(reduce("/p#page=2", UrlKeep::Path, &["page"]).as_deref(), Some("/p"));
    // A `?` inside the fragment is not a query.
    assert_eq!(
        reduce("https://a.example/p#x?page=2", UrlKeep::Path, &["page"]).as_deref(),
        Some("https://a.example/p")
    );
    assert_eq!(
        reduce("https://a.example/p?page=1#top", UrlKeep::Path, &["page"]).as_deref(),
        Some("https://a.example/p?page=1")
    );
}

#[test]
fn userinfo_never_leaks() {
    for url in [
        "https://alice:s3cret@a.example/p",
        "https://alice@a.example/p",
        "https://alice:s3cret@evil@a.example/p",
        "http://alice:s3cret@a.example",
        "https://alice:s3cret@a.example?x=1",
    ] {
        for keep in [UrlKeep::Origin, UrlKeep::Path] {
            let out = reduce(url, keep, &["x"]).unwrap();
            assert!(!out.contains("alice") && !out.contains("s3cret"), "{url}");
            assert!(out.starts_with("http") && out.contains("a.example"), "{url}");
        }
    }
    // Malformed credentials make the URL invalid rather than leaking.
    assert_eq!(reduce("https://alice:s3#cret@a.example/", UrlKeep::Path, &[]), None);
    assert_eq!(reduce("https://alice:123#x@a.example/", UrlKeep::Origin, &[]), None);
    assert_eq!(reduce("https://alice:123?x@a.example", UrlKeep::Origin, &[]), None);
    // An `@` after the first `/` is path or query text, not userinfo.
    assert_eq!(
        reduce("https://a.example/@alice?to=b@c.example", UrlKeep::Path, &[]).as_deref(),
        Some("https://a.example/@alice")
    );
    assert_eq!(reduce("//alice:s3cret@a.example/p", UrlKeep::Path, &[]), None);
    assert_eq!(reduce("https://alice\\@a.example/", UrlKeep::Path, &[]), None);
}

#[test]
fn placeholders_pass_through() {
    assert_eq!(reduce("-", UrlKeep::Origin, &[]).as_deref(), Some("-"));
    assert_eq!(reduce("-", UrlKeep::Path, &[]).as_deref(), Some("-"));
    let mut out = String::from("a");
    assert!(reduce_url("", UrlKeep::Path, &[], &mut out));
    assert_eq!(out, "a");
}

#[test]
fn rejects_other_inputs_and_appends_nothing() {
    let bad = [
        "javascript:alert(1)",
        "mailto:alice@example.com",
        "data:text/html,hi",
        "file:///etc/passwd",
        "http:/a.example/",
        "http:a.example",
        "https://",
        "https:///path",
        "https://:443/",
        "https://user@/",
        "https://a.example:99999/",
        "https://a.example:8x/",
        "https://a.example:443:443/",
        "https://[::1/",
        "https://[::1]x/",
        "https://[zz]/",
        "https://a example/",
        "https://a.example/p q",
        "https://a.example/p\tq",
        "/p\u{7}",
        "/p\u{a0}q",
        "/p\nq",
        "relative/path",
        "?page=2",
        "a.example/path",
        "www.example.com:8443/path",
        "-x",
        "https://a%2eexample/",
    ];
    for url in bad {
        for keep in [UrlKeep::Origin, UrlKeep::Path] {
            let mut out = String::from("before");
            assert!(!reduce_url(url, keep, &params(&["page"]), &mut out), "{url:?}");
            assert_eq!(out, "before");
        }
    }
}

#[test]
fn allowed_schemes_and_hosts() {
    for scheme in ["http", "https", "ws", "wss", "ftp", "HTTPS"] {
        let url = format!("{scheme}://h.example/");
        assert!(reduce(&url, UrlKeep::Origin, &[]).is_some(), "{scheme}");
    }
    assert_eq!(
        reduce("https://B\u{fc}cher.example/", UrlKeep::Origin, &[]).as_deref(),
        Some("https://b\u{fc}cher.example")
    );
    assert_eq!(
        reduce("http://192.0.2.1:8080/x?y=1", UrlKeep::Path, &[]).as_deref(),
        Some("http://192.0.2.0:8080/x")
    );
}

#[test]
fn appends_to_existing_output() {
    let mut out = String::from("ref=");
    assert!(reduce_url(FULL, UrlKeep::Origin, &[], &mut out));
    assert_eq!(out, "ref=https://www.example.com:8443");
}

#[test]
fn keep_deserializes_from_snake_case() {
    let keep = UrlKeep::deserialize(StrDeserializer::<DeError>::new("path"));
    assert_eq!(keep, Ok(UrlKeep::Path));
    let keep = UrlKeep::deserialize(StrDeserializer::<DeError>::new("query"));
    assert!(keep.is_err());
}

#[test]
fn identifier_segments_are_replaced() {
    for (input, expected) in [
        ("/api/v1/users/alice.wang@example.com/orders", "/api/v1/users/{email}/orders"),
        ("/api/v1/users/alice.wang%40example.com/orders", "/api/v1/users/{email}/orders"),
        ("/u/alice%EF%BC%A0example.com", "/u/{email}"),
        ("/contact/13800138000", "/contact/{phone}"),
        ("/contact/+86-138-0013-8000/x", "/contact/{phone}/x"),
        ("/contact/%2B8613800138000", "/contact/{phone}"),
        ("/kyc/11010519491231002X", "/kyc/{cn_id}"),
        ("/cards/4111-1111-1111-1111", "/cards/{card}"),
        ("/peers/203.0.113.77/stats", "/peers/{ip}/stats"),
        ("/api/v1/users/4411023/orders", "/api/v1/users/{id}/orders"),
        ("/o/123e4567-e89b-12d3-a456-426614174000", "/o/{id}"),
        ("/s/5f2b9c0e8a7d4e1f9b3c2a1d0e9f8a7b/", "/s/{id}/"),
        ("/reset/Dm9x2LqPzR4tW8vKa7Qe", "/reset/{token}"),
        ("/avatar/13800138000.png", "/avatar/{phone}"),
        ("/api/v1/items/42/page/2", "/api/v1/items/42/page/2"),
        ("/2024/05/how-to-reset-your-password", "/2024/05/how-to-reset-your-password"),
    ] {
        assert_eq!(reduce(input, UrlKeep::Path, &[]).as_deref(), Some(expected), "{input}");
    }
    assert_eq!(
        reduce("https://shop.example/u/bob@example.org?page=2", UrlKeep::Path, &["page"])
            .as_deref(),
        Some("https://shop.example/u/{email}?page=2")
    );
}

#[test]
fn matrix_parameters_and_encoded_queries_are_removed() {
    for (input, expected) in [
        ("/shop;jsessionid=0A1B2C3D4E5F/cart", "/shop/cart"),
        ("/shop;JSESSIONID=abc;x=1", "/shop"),
        ("/shop%3Bjsessionid=SECRET1/cart", "/shop/cart"),
        ("/shop%3bjsessionid=SECRET1", "/shop"),
        ("/a%3Ftoken=secret&page=2", "/a"),
        ("/a%3ftoken=secret/b/c", "/a"),
        ("/a/b%23frag-secret", "/a/b"),
        ("/a/%253Ftoken%253Dsecret", "/a/"),
        ("/a/alice%2540example.com/b", "/a/alice"),
        ("/;jsessionid=SECRET1", "/"),
    ] {
        let out = reduce(input, UrlKeep::Path, &["page"]).unwrap();
        assert_eq!(out, expected, "{input}");
        assert!(!out.contains("secret") && !out.contains("SECRET"), "{input}");
    }
}

#[test]
fn kept_parameter_values_that_identify_are_replaced() {
    for (input, expected) in [
        ("/p?page=alice@example.com", "/p?page={email}"),
        ("/p?page=alice%40example.com&sort=asc", "/p?page={email}&sort=asc"),
        ("/p?page=alice%2540example.com", "/p?page={email}"),
        ("/p?sort=13800138000", "/p?sort={phone}"),
        ("/p?sort=%2B86+138+0013+8000", "/p?sort={phone}"),
        ("/p?lang=de-DE&page=2&sort=name", "/p?lang=de-DE&page=2&sort=name"),
        ("/p?page=Dm9x2LqPzR4tW8vKa7Qe", "/p?page={token}"),
        ("/p?%70age=4411023", "/p?%70age={id}"),
    ] {
        assert_eq!(
            reduce(input, UrlKeep::Path, &["page", "sort", "lang"]).as_deref(),
            Some(expected),
            "{input}"
        );
    }
}

#[test]
fn ip_literal_hosts_are_truncated() {
    for (input, keep, expected) in [
        ("http://203.0.113.77:8080/internal", UrlKeep::Origin, "http://203.0.113.0:8080"),
        ("http://203.0.113.77./x", UrlKeep::Origin, "http://203.0.113.0"),
        ("https://[2001:db8:1:2::7]/x", UrlKeep::Origin, "https://[2001:db8:1::]"),
        ("https://[2002:cb00:714d::1]:8443/", UrlKeep::Origin, "https://[2002:cb00:7100::]:8443"),
        ("https://[::ffff:203.0.113.77]/", UrlKeep::Origin, "https://[::ffff:203.0.113.0]"),
        ("http://203.0.113.77/u/1?page=2", UrlKeep::Path, "http://203.0.113.0/u/1?page=2"),
    ] {
        assert_eq!(reduce(input, keep, &["page"]).as_deref(), Some(expected), "{input}");
    }
    for input in [
        "http://3405803853/",
        "http://0xcb.0.113.77/",
        "http://0xCB00714D/",
        "http://203.0.113.077/",
        "http://203.0.29517/",
        "http://203.0.113.77.8/",
        "http://host.0x/",
        "http://\u{ff10}x\u{ff43}\u{ff42}.0.113.77/",
        "http://[203.0.113.77]/",
    ] {
        assert_eq!(reduce(input, UrlKeep::Origin, &[]), None, "{input}");
    }
    // Full-width digits and ideographic full stops are folded as URL
    // parsers do, so the address is found and truncated.
    for input in [
        "http://\u{ff12}\u{ff10}\u{ff13}\u{ff0e}\u{ff10}\u{ff0e}\u{ff11}\u{ff11}\u{ff13}\u{ff0e}\u{ff17}\u{ff17}/",
        "http://\u{ff12}\u{ff10}\u{ff13}\u{3002}0.113.77/",
    ] {
        assert_eq!(reduce(input, UrlKeep::Origin, &[]).as_deref(), Some("http://203.0.113.0"), "{input}");
    }
    assert_eq!(
        reduce("https://www.example.com.:443/", UrlKeep::Origin, &[]).as_deref(),
        Some("https://www.example.com.:443")
    );
}

#[test]
fn identifier_host_labels_are_replaced() {
    for (input, expected) in [
        ("https://alice-wang-13800138000.blog.example/p", "https://{phone}.blog.example"),
        ("https://13912345678.Example.COM", "https://{phone}.example.com"),
        ("https://u4411023.shop.example:8443/x", "https://{id}.shop.example:8443"),
        ("https://www.bing.com/search?q=x", "https://www.bing.com"),
        ("https://d2x9k7.cloudfront.net/", "https://d2x9k7.cloudfront.net"),
    ] {
        assert_eq!(reduce(input, UrlKeep::Origin, &[]).as_deref(), Some(expected), "{input}");
    }
}

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
}
use crate::actions::action::testing;

#[test]
fn action_config_apply_and_explain() {
    let c: UrlConfig = toml::from_str("keep_params = [\"page\"]").unwrap();
    assert_eq!(c.keep, UrlKeep::Path);
    assert!(c.explain().ends_with(
        "query parameters kept: page (values that look like identifiers replaced by placeholders)"
    ));
    let origin: UrlConfig = toml::from_str("keep = \"origin\"\nkeep_params = [\"page\"]").unwrap();
    assert!(origin.explain().ends_with("; query string removed"));
    assert!(toml::from_str::<UrlConfig>("keep = \"host\"").is_err());
    assert!(toml::from_str::<UrlConfig>("keep_param = [\"page\"]").is_err());
    let a = c.compile(&KeyStore::default()).unwrap();
    let out = testing::apply_str(&a, "https://u:pw@shop.example.com/a/b?page=2&token=x#f");
    assert_eq!(out.as_deref(), Some("\"https://shop.example.com/a/b?page=2\""));
    assert_eq!(testing::apply_str(&a, "javascript:alert(1)"), None);
}
