//! Unit tests of `url` (its property tests are in `properties.rs`).

use super::*;
use serde::de::value::{Error as DeError, StrDeserializer};

pub(super) fn params(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

pub(super) fn reduce(text: &str, keep: UrlKeep, names: &[&str]) -> Option<String> {
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
