//! Unit tests of `pseudonymize`: determinism, scopes, an independent HMAC
//! oracle (the `hmac` crate), e-mail domains, dual writing.

use super::*;
use crate::keys::{KeyStore, LoadedKey, SecretKey};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use sha2::Sha256;

fn ring() -> KeyRing {
    KeyStore::for_tests(&["ids".into()]).ring("ids").unwrap().clone()
}

#[test]
fn deterministic_scoped_and_sized() {
    let r = ring();
    let user = Pseudonymizer::new(&r, "user", false, false);
    let session = Pseudonymizer::new(&r, "session", false, false);
    let a = user.pseudonym(b"u_1").unwrap();
    assert_eq!(a, user.pseudonym(b"u_1").unwrap());
    assert_ne!(a, user.pseudonym(b"u_2").unwrap());
    assert_ne!(a, session.pseudonym(b"u_1").unwrap());
    let (id, digest) = a.split_once(':').unwrap();
    assert_eq!(id, "test");
    assert_eq!(digest.len(), 22); // 128 bits in base64url without padding
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(digest).unwrap();
    assert_eq!(bytes.len(), 16);
}

#[test]
fn matches_reference_hmac() {
    // Independent computation of the documented construction.
    let r = ring();
    let p = Pseudonymizer::new(&r, "user", false, false);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(r.current.key.expose()).unwrap();
    mac.update(b"logveil/v1/user\0u_42");
    let d = mac.finalize().into_bytes();
    let expected =
        format!("test:{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d[..16]));
    assert_eq!(p.pseudonym(b"u_42").unwrap(), expected);
}

proptest! {
    #[test]
    fn precomputed_mac_equals_the_hmac_crate(
        key in prop::collection::vec(any::<u8>(), 32..150),
        scope in "[a-z]{1,140}",
        value in prop::collection::vec(any::<u8>(), 0..200),
        split in any::<prop::sample::Index>(),
    ) {
        let mac = ScopedMac::new("k", &key, &scope);
        let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        reference.update(b"logveil/v1/");
        reference.update(scope.as_bytes());
        reference.update(&[0]);
        reference.update(&value);
        let expected = reference.finalize().into_bytes();
        let at = split.index(value.len() + 1);
        prop_assert_eq!(&mac.mac(&[&value[..at], &value[at..]])[..], &expected[..16]);
        let mut out = Vec::new();
        base64url_16(&mac.mac(&[&value]), &mut out);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&expected[..16]);
        prop_assert_eq!(out, b64.into_bytes());
    }
}

#[test]
fn different_keys_differ() {
    let r1 = ring();
    let mut r2 = r1.clone();
    r2.current = LoadedKey { id: "test".into(), key: SecretKey::generate() };
    let a = Pseudonymizer::new(&r1, "user", false, false).pseudonym(b"x").unwrap();
    let b = Pseudonymizer::new(&r2, "user", false, false).pseudonym(b"x").unwrap();
    assert_ne!(a, b);
}

#[test]
fn normalize_and_keep_domain() {
    let r = ring();
    let p = Pseudonymizer::new(&r, "email", true, false)
        .with_kept_domains(&["Example.COM.".into()])
        .unwrap();
    let a = p.pseudonym(b" Alice@Example.COM ").unwrap();
    let b = p.pseudonym(b"alice@example.com").unwrap();
    assert_eq!(a, b);
    assert!(a.ends_with("@example.com") && !a.contains("alice"), "{a}");
    assert!(p.pseudonym(b"no-at-sign").is_none());
    assert!(p.pseudonym(b"@example.com").is_none());
    assert!(p.pseudonym(b"alice@").is_none());
}

#[test]
fn only_listed_domains_are_kept() {
    let r = ring();
    let plain = Pseudonymizer::new(&r, "email", true, false);
    let p = Pseudonymizer::new(&r, "email", true, true)
        .with_kept_domains(&["corp.example".into()])
        .unwrap();
    // Shipped public providers and the rule's own list keep the domain.
    for (email, domain) in [
        ("Bob@Gmail.com", "@gmail.com"),
        ("bob@qq.com", "@qq.com"),
        ("bob@corp.example", "@corp.example"),
    ] {
        let out = p.pseudonym(email.as_bytes()).unwrap();
        assert!(out.ends_with(domain) && !out.to_lowercase().contains("bob"), "{out}");
    }
    // Anything else, subdomains of listed domains included, is
    // pseudonymized whole: exactly the plain pseudonym, no `@`.
    for email in [
        "x@alice-wang-13800138000.example.com",
        "x@mail.corp.example",
        "x@gmail.com.evil.example",
        "x@bad\"domain",
        "x@corp.example.",
    ] {
        let out = p.pseudonym(email.as_bytes()).unwrap();
        assert!(!out.contains('@') && !out.contains("13800138000"), "{out}");
        assert_eq!(Some(out), plain.pseudonym(email.as_bytes()), "{email}");
    }
    // Without keep_domain, only the rule's list.
    let own = Pseudonymizer::new(&r, "email", true, false)
        .with_kept_domains(&["corp.example".into()])
        .unwrap();
    assert!(!own.pseudonym(b"bob@gmail.com").unwrap().contains('@'));
}

#[test]
fn kept_domain_list_entries_are_validated() {
    let r = ring();
    for (list, bad) in [
        (vec!["ok.example", "bad domain"], 1),
        (vec![""], 0),
        (vec!["a..b"], 0),
        (vec!["ok.example", "x", "-x.example"], 2),
        (vec!["caf\u{e9}.example"], 0),
    ] {
        let list: Vec<String> = list.into_iter().map(String::from).collect();
        let err = Pseudonymizer::new(&r, "e", false, true).with_kept_domains(&list).unwrap_err();
        assert_eq!(err, InvalidDomain { index: bad });
        assert!(!err.to_string().contains("bad domain"));
    }
}

proptest! {
    /// A canary in an unlisted domain never reaches the output.
    #[test]
    fn unlisted_domains_never_appear(
        local in "[a-z0-9._]{1,12}",
        canary in "[a-z]{3,8}-[0-9]{6,11}",
        tld in "com|cn|org|net",
    ) {
        let r = ring();
        let p = Pseudonymizer::new(&r, "email", true, true);
        let email = format!("{local}@{canary}.{tld}");
        let out = p.pseudonym(email.as_bytes()).unwrap();
        prop_assert!(!out.contains(&canary) && !out.contains('@'));
    }
}

#[test]
fn dual_write_window() {
    let mut r = ring();
    r.previous = Some((
        LoadedKey { id: "old".into(), key: SecretKey::well_known_test_key("old") },
        Some(1_000),
    ));
    let p = Pseudonymizer::new(&r, "user", false, false);
    assert!(p.dual_write_active(999));
    assert!(!p.dual_write_active(1_000));
    let mut out = Vec::new();
    let mut tmp = String::new();
    p.write_json(b"u", true, &mut tmp, &mut out);
    assert!(out.starts_with(b"\"old:"));
}

fn config(toml_text: &str) -> PseudonymizeConfig {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn action_config_errors_name_the_parameter() {
    let keys = KeyStore::for_tests(&["ids".into()]);
    let e = config("key = \"ids\"\nscope = \"\"").compile(&keys).unwrap_err();
    assert_eq!((e.field, e.problem.as_str()), ("scope", "must not be empty"));
    let e = config("key = \"other\"\nscope = \"s\"").compile(&keys).unwrap_err();
    assert_eq!(e.field, "key");
    let e = config("key = \"ids\"\nscope = \"s\"\nkeep_domains = [\"a b\"]").compile(&keys);
    let e = e.unwrap_err();
    assert_eq!(e.field, "keep_domains");
    assert!(!e.problem.contains("a b"), "{}", e.problem);
    let missing = toml::from_str::<PseudonymizeConfig>("key = \"ids\"").unwrap_err();
    assert!(missing.message().contains("scope"), "{missing}");
    assert!(toml::from_str::<PseudonymizeConfig>("key = \"ids\"\nscope = \"s\"\nsalt = 1").is_err());
}

#[test]
fn action_explain_says_what_is_kept() {
    let plain = config("key = \"ids\"\nscope = \"user\"");
    assert_eq!(
        plain.explain(),
        "pseudonymized (HMAC-SHA256, 128 bits), key ring `ids`, scope `user`"
    );
    assert_eq!(plain.key_ring(), Some("ids"));
    let listed =
        config("key = \"ids\"\nscope = \"u\"\nnormalize = true\nkeep_domains = [\"corp.example\"]");
    assert!(listed.explain().ends_with(
        ", trimmed and lower-cased first, email domain kept for corp.example, otherwise the whole address pseudonymized"
    ));
}

/// Strings and numbers pseudonymize their text, as [`Pseudonymizer::pseudonym`]
/// does; in a rotation overlap `<field>_prev` follows with the previous key.
#[test]
fn action_applies_to_text_and_numbers_and_dual_writes() {
    use crate::actions::action::testing;
    let keys = KeyStore::for_tests(&["ids".into()]);
    let a = config("key = \"ids\"\nscope = \"user\"").compile(&keys).unwrap();
    assert_eq!(a.key_id(), Some("test"));
    let direct = |v: &[u8]| format!("\"{}\"", a.0.pseudonym(v).unwrap());
    assert_eq!(testing::apply_str(&a, "u_42"), Some(direct(b"u_42")));
    assert_eq!(testing::apply_number(&a, Number::Int(42, "42")), Some(direct(b"42")));
    assert_eq!(testing::apply_number(&a, Number::Float(0.5)), Some(direct(b"0.5")));
    let domains =
        config("key = \"ids\"\nscope = \"e\"\nkeep_domain = true").compile(&keys).unwrap();
    assert_eq!(testing::apply_str(&domains, "no at sign"), None);

    let mut r = ring();
    let far_future = i64::MAX;
    r.previous = Some((
        LoadedKey { id: "old".into(), key: SecretKey::well_known_test_key("old") },
        Some(far_future),
    ));
    let rotating = Pseudonymize(Box::new(Pseudonymizer::new(&r, "user", false, false)));
    let (mut out, mut tmp, mut now) = (Vec::new(), String::new(), None);
    let mut ua = crate::actions::user_agent::UserAgentCache::new(1);
    let mut emit = Emit {
        out: &mut out,
        tmp: &mut tmp,
        ua: &mut ua,
        now_ms: &mut now,
        prev_key: b"\"id_prev\":",
    };
    assert_eq!(rotating.apply_str("u_1", &mut emit), Outcome::Written);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("\"test:") && text.contains(",\"id_prev\":\"old:"), "{text}");
    assert!(now.is_some(), "the clock is read once for a ring in an overlap");
}
