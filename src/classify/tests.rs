//! Unit and property tests of the identifier classifier.

use super::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

#[test]
fn kinds_and_placeholders() {
    for (token, kind) in [
        ("alice.wang@example.com", IdKind::Email),
        ("alice@localhost", IdKind::Email),
        ("alice＠example.com", IdKind::Email),
        ("13800138000", IdKind::Phone),
        ("+8613800138000", IdKind::Phone),
        ("008613800138000", IdKind::Phone),
        ("+1-555-123-4567", IdKind::Phone),
        ("+44 20 7946 0958", IdKind::Phone),
        ("１３８００１３８０００", IdKind::Phone),
        ("11010519491231002X", IdKind::CnId),
        ("110105194912310021", IdKind::Id),
        ("11010519491231002Y", IdKind::Id),
        ("4111111111111111", IdKind::Card),
        ("4111-1111-1111-1111", IdKind::Card),
        ("4111111111111112", IdKind::Id),
        ("203.0.113.77", IdKind::Ip),
        ("2001:db8::1", IdKind::Ip),
        ("[2001:db8::1]", IdKind::Ip),
        ("4411023", IdKind::Id),
        ("44110", IdKind::Id),
        ("2024-05-14", IdKind::Id),
        ("123e4567-e89b-12d3-a456-426614174000", IdKind::Id),
        ("5f2b9c0e8a7d4e1f9b3c2a1d0e9f8a7b", IdKind::Id),
        ("deadbeef01", IdKind::Id),
        ("Dm9x2LqPzR4tW8vK", IdKind::Token),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", IdKind::Token),
        ("u_6113088066", IdKind::Id),
        ("13800138000.png", IdKind::Phone),
        ("order-20240514123456.pdf", IdKind::Id),
        ("main.3f2a9c1b.js", IdKind::Id),
        ("sess_aB3dE5fG7hJ9kL1mN3", IdKind::Token),
        ("٤٤١١٠٢٣", IdKind::Id),
        ("caf\u{e9}13800138000", IdKind::Phone),
    ] {
        assert_eq!(classify(token), Some(kind), "{token}");
    }
    assert_eq!(IdKind::Email.placeholder(), "{email}");
    assert_eq!(IdKind::Token.placeholder(), "{token}");
}

#[test]
fn ordinary_segments_are_not_identifiers() {
    for token in [
        "",
        "api",
        "v1",
        "v2",
        "users",
        "orders",
        "2024",
        "05",
        "page",
        "shop",
        "item",
        "checkout",
        "index.html",
        "favicon.ico",
        "getUserProfileSettings",
        "internationalization",
        "PasswordResetConfirm",
        "OrderConfirmationEmail",
        "customerserviceportal",
        "x86_64-unknown-linux-gnu",
        "how-to-reset-your-password",
        "caf\u{e9}",
        "{id}",
        "{email}",
        "@alice",
        "alice@",
        "de-DE",
        "created_at",
        "iso-8859-1",
        "deadbee",
        "1.2.3",
        "v1.2.3.4",
        "utf-8",
        "favicon-32x32.png",
        "schwarzkopfstr",
    ] {
        assert_eq!(classify(token), None, "{token}");
    }
}

#[test]
fn placeholders_are_not_identifiers_themselves() {
    for kind in [
        IdKind::Email,
        IdKind::Phone,
        IdKind::CnId,
        IdKind::Card,
        IdKind::Ip,
        IdKind::Id,
        IdKind::Token,
    ] {
        assert_eq!(classify(kind.placeholder()), None);
    }
}

/// Seeded random tokens of common alphabets: almost all are caught.
#[test]
fn random_tokens_are_caught() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (alphabet, len, least) in [
        (&b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[..], 16, 990),
        (&b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[..], 22, 990),
        (&b"abcdefghijklmnopqrstuvwxyz0123456789"[..], 24, 920),
        (&b"0123456789abcdef"[..], 16, 1000),
    ] {
        let hits = (0..1000)
            .filter(|_| {
                let t: String = (0..len)
                    .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
                    .collect();
                classify(&t).is_some()
            })
            .count();
        assert!(hits >= least, "{len} chars: {hits}/1000");
    }
}

proptest! {
    #[test]
    fn digit_runs_of_five_or_more_are_always_caught(
        prefix in "[a-z_./-]{0,6}",
        digits in "[0-9]{5,20}",
        suffix in "[a-z_./-]{0,6}",
    ) {
        let token = format!("{prefix}{digits}{suffix}");
        prop_assert!(classify(&token).is_some(), "{}", token);
    }

    #[test]
    fn emails_are_always_caught(local in "[a-z0-9._+-]{1,12}", domain in "[a-z0-9-]{1,12}(\\.[a-z]{2,6}){0,2}") {
        let token = format!("{local}@{domain}");
        prop_assert_eq!(classify(&token), Some(IdKind::Email));
    }

    /// The one-pass shortcut never hides what the full rules would flag.
    #[test]
    fn plain_word_shortcut_is_exact(
        token in "[ -~]{0,17}|[a-zA-Z0-9]{0,17}|[0-9a-f@.:_-]{0,17}",
    ) {
        if plain_word(token.as_bytes()) {
            prop_assert_eq!(classify_full(&token), None, "{}", token);
        }
    }

    /// Shortcuts of `classify` (the one-pass plain word, the plain run of
    /// digits) agree with the full rules: written here from the rules'
    /// text, not from the table the code uses.
    #[test]
    fn classify_shortcuts_agree_with_the_full_rules(
        token in "[0-9]{0,12}|[ -~]{0,17}|[a-zA-Z0-9]{0,17}|[0-9a-f@.:_-]{0,17}|\\PC{0,12}",
    ) {
        let b = token.as_bytes();
        let separator = |c: &u8| *c >= 0x80 || b"@._-~,:+=".contains(c);
        let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
        let plain = b.len() < MIN_TOKEN_LEN
            && !b.iter().any(separator)
            && digits < MIN_DIGITS
            && !(b.len() >= MIN_HEX_LEN && b.iter().all(u8::is_ascii_hexdigit));
        prop_assert_eq!(plain_word(b), plain, "{}", token);
        let expected = if plain { None } else { classify_full(&token) };
        prop_assert_eq!(classify(&token), expected, "{}", token);
    }

    /// `plain_segment` ends a segment at the next `/` and calls it plain
    /// only when `cut_segment` keeps it whole and `segment_kind` finds
    /// nothing; written against `str::split` and those two functions.
    #[test]
    fn plain_segment_agrees_with_cut_and_kind(
        path in "(/([a-z0-9]{0,6}|[0-9a-f]{8,10}|[a-zA-Z0-9;%@._=-]{0,18}|\\PC{0,6}|%3[bBfF]|%2[35]|[0-9]{4,12})){0,5}",
    ) {
        let b = path.as_bytes();
        let mut start = 0;
        for raw in path.split('/') {
            let (end, plain) = plain_segment(b, start);
            prop_assert_eq!(&path[start..end], raw, "{}", path);
            if plain {
                prop_assert_eq!(cut_segment(raw), (raw, false), "{}", path);
                prop_assert_eq!(segment_kind(raw), None, "{}", path);
            }
            start = end + 1;
        }
    }

    #[test]
    fn never_panics(token in "\\PC{0,40}") {
        let _ = classify(&token);
    }
}
