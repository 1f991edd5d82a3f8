//! Tests of the redactor as a whole: API, precedence between detectors,
//! idempotence, scratch reuse and properties. Each detector's own cases
//! live beside it.

use super::*;
use proptest::prelude::*;
use serde::de::IntoDeserializer;
use serde::Deserialize;

pub(super) fn redact_with(detectors: &[Detector], text: &str) -> (String, usize) {
    let mut out = String::new();
    let hits = Redactor::new(detectors).redact(text, &mut out);
    (out, hits)
}

pub(super) fn all(text: &str) -> String {
    redact_with(&Detector::ALL, text).0
}

pub(super) fn only(detector: Detector, text: &str) -> String {
    redact_with(&[detector], text).0
}

/// Completes 17 digits into a China ID with the right check character.
pub(super) fn cn_id(body17: &str) -> String {
    assert_eq!(body17.len(), 17);
    format!("{body17}{}", cn_id_check_char(body17.as_bytes()) as char)
}

/// Appends the Luhn check digit to `payload`.
pub(super) fn luhn_complete(payload: &str) -> String {
    (0..10).map(|d| format!("{payload}{d}")).find(|s| luhn_valid(s.as_bytes())).unwrap()
}

pub(super) fn luhn_break(valid: &str) -> String {
    let mut s = valid.to_string();
    let last = s.pop().unwrap();
    s.push(if last == '9' { '0' } else { (last as u8 + 1) as char });
    assert!(!luhn_valid(s.as_bytes()));
    s
}

// ------------------------------------------------------------------ API

#[test]
fn names_labels_and_serde_agree() {
    for d in Detector::ALL {
        let parsed: Result<Detector, serde::de::value::Error> =
            Detector::deserialize(d.name().into_deserializer());
        assert_eq!(parsed.unwrap(), d);
        assert!(d.label().starts_with('[') && d.label().ends_with(']'));
    }
    assert_eq!(Detector::CnId.name(), "cn_id");
    assert_eq!(Detector::CnId.label(), "[CN_ID]");
    assert_eq!(Detector::Iban.label(), "[IBAN]");
    assert_eq!(Detector::Credentials.label(), "[CREDENTIALS]");
    let bad: Result<Detector, serde::de::value::Error> =
        Detector::deserialize("CnId".into_deserializer());
    assert!(bad.is_err());
}

#[test]
fn redactor_is_send_sync_and_remembers_detectors() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Redactor>();
    let r = Redactor::new(&[Detector::Email, Detector::Ip]);
    assert!(r.is_enabled(Detector::Email) && r.is_enabled(Detector::Ip));
    assert!(!r.is_enabled(Detector::Card));
}

#[test]
fn output_is_appended_not_replaced() {
    let mut out = String::from("prefix|");
    let n = Redactor::new(&Detector::ALL).redact("call 13800138000", &mut out);
    assert_eq!((out.as_str(), n), ("prefix|call [PHONE]", 1));
    let n = Redactor::new(&Detector::ALL).redact(" no pii", &mut out);
    assert_eq!((out.as_str(), n), ("prefix|call [PHONE] no pii", 0));
}

#[test]
fn empty_detector_set_copies_text() {
    let text = "mail a@b.com card 4111 1111 1111 1111 ip 10.0.0.1 password=x";
    assert_eq!(redact_with(&[], text), (text.to_string(), 0));
}

#[test]
fn text_without_triggers_is_copied() {
    for text in ["", "hello world", "你好。请问有什么可以帮您？", "a (c) [d] +", "password reset"]
    {
        assert_eq!(redact_with(&Detector::ALL, text), (text.to_string(), 0));
    }
}

#[test]
fn disabled_detectors_are_not_applied() {
    let text = "a@b.com 13800138000 4111111111111111 10.0.0.1 11010519491231002X";
    assert_eq!(
        only(Detector::Email, text),
        "[EMAIL] 13800138000 4111111111111111 10.0.0.1 11010519491231002X"
    );
    assert_eq!(
        only(Detector::Card, text),
        "a@b.com 13800138000 [CARD] 10.0.0.1 11010519491231002X"
    );
    assert_eq!(
        only(Detector::Ip, text),
        "a@b.com 13800138000 4111111111111111 [IP] 11010519491231002X"
    );
    assert_eq!(
        redact_with(&[Detector::Phone, Detector::CnId], text).0,
        "a@b.com [PHONE] 4111111111111111 10.0.0.1 [CN_ID]"
    );
}

#[test]
fn multiple_hits_in_one_text() {
    let card = luhn_complete("622202123456789012");
    let text = format!(
        "客户张三，电话13800138000，邮箱zhang.san@example.cn，身份证11010519491231002X，卡号{card}? \
         登录IP 203.0.113.7 和 2001:db8::7，回调 https://bot:s3cret@api.example.com/x password=hunter2"
    );
    let (out, n) = redact_with(&Detector::ALL, &text);
    assert_eq!(
        out,
        "客户张三，电话[PHONE]，邮箱[EMAIL]，身份证[CN_ID]，卡号[CARD]? \
         登录IP [IP] 和 [IP]，回调 https://[CREDENTIALS]@api.example.com/x password=[CREDENTIALS]"
    );
    assert_eq!(n, 8);
}

// ----------------------------------------------------------- precedence

#[test]
fn overlaps_resolve_by_precedence() {
    assert_eq!(all("https://john@example.com"), "https://[CREDENTIALS]@example.com");
    assert_eq!(all("https://u:pw@mail.example.com/"), "https://[CREDENTIALS]@mail.example.com/");
    assert_eq!(all("http://u:p@10.0.0.1:8080/"), "http://[CREDENTIALS]@[IP]:8080/");
    assert_eq!(redact_with(&Detector::ALL, "13800138000@qq.com"), ("[EMAIL]".into(), 1));
    assert_eq!(redact_with(&Detector::ALL, "+86 138 0013 8000"), ("[PHONE]".into(), 1));
    assert_eq!(all("token=a@b.com"), "token=[CREDENTIALS]");
}

#[test]
fn a_luhn_valid_china_id_is_an_id_never_a_card() {
    let id = (0..1000)
        .map(|n| cn_id(&format!("62030419900101{n:03}")))
        .find(|id| id.bytes().all(|c| c.is_ascii_digit()) && luhn_valid(id.as_bytes()))
        .unwrap();
    assert_eq!(redact_with(&Detector::ALL, &id), ("[CN_ID]".into(), 1));
    assert_eq!(redact_with(&[Detector::Card], &id), (id.clone(), 0));
}

// ---------------------------------------------------------- idempotence

#[test]
fn touching_hits_are_redacted_to_a_fixpoint() {
    // The reproducers of issue 15 (second pass used to find more).
    for text in ["+86180013+861380014", "8::138-0013-8000", "+8613800138000+8613900139000"] {
        let once = all(text);
        assert_eq!(all(&once), once, "{text} -> {once}");
        assert!(
            !once.chars().any(|c| c.is_ascii_digit()) || text == "+86180013+861380014",
            "{text} -> {once}"
        );
    }
    assert_eq!(all("8::138-0013-8000"), "[IP][PHONE]");
    assert_eq!(all("+8613800138000+8613900139000"), "[PHONE][PHONE]");
}

#[test]
fn labels_are_never_relabelled() {
    for text in [
        "password=[CREDENTIALS]",
        "https://[CREDENTIALS]@example.com",
        "[PHONE][PHONE]",
        "token: [EMAIL]",
        "Authorization: Bearer [CREDENTIALS]",
    ] {
        assert_eq!(redact_with(&Detector::ALL, text), (text.to_string(), 0), "{text}");
    }
}

#[test]
fn scratch_is_reused_and_trimmed() {
    let r = Redactor::new(&Detector::ALL);
    let big = "10.0.0.1 ".repeat(10_000);
    let mut out = String::new();
    assert_eq!(r.redact(&big, &mut out), 10_000);
    assert_eq!(out, "[IP] ".repeat(10_000));
    SCRATCH.with(|s| assert!(s.borrow().hits.capacity() <= RETAINED_CAPACITY));
    out.clear();
    assert_eq!(r.redact("x 10.0.0.2 y", &mut out), 1);
    assert_eq!(out, "x [IP] y");
}

#[test]
fn long_overlapping_card_chains_stay_linear_and_disjoint() {
    // Every window of three or four groups is a card candidate.
    let text = "6019 42424 ".repeat(20_000);
    assert!(luhn_valid(b"6019424246019"));
    let (out, n) = redact_with(&[Detector::Card, Detector::Phone], &text);
    assert!(n > 0);
    assert_eq!(redact_with(&[Detector::Card, Detector::Phone], &out), (out.clone(), 0));
    // A run of four-digit groups is one long number, never cards.
    let fours = "4242 ".repeat(20_000);
    assert!(luhn_valid(b"4242424242424242"));
    assert_eq!(redact_with(&[Detector::Card, Detector::Phone], &fours), (fours.clone(), 0));
}

// ----------------------------------------------------------- properties

fn arb_card() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            ("4", 16),
            ("4", 13),
            ("4", 19),
            ("52", 16),
            ("62", 19),
            ("62", 16),
            ("37", 15),
            ("35", 16),
        ]),
        prop::collection::vec(0u8..10, 17),
        prop::sample::select(vec!["", " ", "-", "."]),
    )
        .prop_map(|((prefix, len), rest, sep): ((&str, usize), Vec<u8>, &str)| {
            let body = rest.iter().take(len - 1 - prefix.len()).map(|d| (b'0' + d) as char);
            let payload: String = prefix.chars().chain(body).collect();
            let card = luhn_complete(&payload);
            if sep.is_empty() || card.len() != 16 {
                card
            } else {
                card.as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(sep)
            }
        })
}

fn arb_cn_id() -> impl Strategy<Value = String> {
    (110_000u32..660_000, 1900u32..2100, 1u32..13, 1u32..29, 0u32..1000).prop_map(
        |(region, year, month, day, seq)| {
            cn_id(&format!("{region}{year}{month:02}{day:02}{seq:03}"))
        },
    )
}

fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 .,:;@+()/=\\-\u{4e00}-\u{4e20}\u{ff10}-\u{ff19}]{0,40}"
}

/// Text built from the pieces detectors look at, so hits touch often.
fn arb_dense() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "+86",
            "138",
            "0013",
            "8000",
            "13800138000",
            "+",
            "::",
            ":",
            "8",
            "-",
            " ",
            ".",
            "@",
            "a",
            "x.com",
            "[",
            "]",
            "[PHONE]",
            "[IP]",
            "password",
            "=",
            "token",
            "%40",
            "4111",
            "1111",
            "10.0.0.1",
            "2001:db8::1",
            "身份证",
            "护照",
            "E12345678",
            "DE89370400440532013000",
            "Bearer",
            "eyJhbGciOiJIUzI1NiJ9",
            "ghp_",
            "0",
            "1",
            "６",
            "：",
            "\u{a0}",
            "https://",
            "u:p@h",
        ]),
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn inserted_cards_and_ids_never_survive(
        text in arb_text(),
        card in arb_card(),
        id in arb_cn_id(),
        at1 in any::<prop::sample::Index>(),
        at2 in any::<prop::sample::Index>(),
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        let i = at1.index(chars.len() + 1);
        chars.splice(i..i, format!(" {card} ").chars());
        let j = at2.index(chars.len() + 1);
        chars.splice(j..j, format!(" {id} ").chars());
        let input: String = chars.into_iter().collect();
        let (out, n) = redact_with(&Detector::ALL, &input);
        prop_assert!(n >= 1);
        prop_assert!(!out.contains(&card), "card survived: {input:?} -> {out:?}");
        prop_assert!(!out.contains(&id), "id survived: {input:?} -> {out:?}");
    }

    #[test]
    fn arbitrary_text_never_panics_and_hits_match_changes(text in "\\PC{0,80}") {
        let (out, n) = redact_with(&Detector::ALL, &text);
        prop_assert_eq!(n == 0, out == text);
        let (plain, none) = redact_with(&[], &text);
        prop_assert_eq!((plain, none), (text.clone(), 0));
    }

    /// Issue 15: `redact(redact(x)) == redact(x)`, and no detector (alone
    /// or in the full set) fires on the output.
    #[test]
    fn redaction_is_idempotent(text in prop_oneof![arb_text(), arb_dense(), "[0-9a-f:. @/+x=-]{0,60}", "\\PC{0,60}"]) {
        let (once, _) = redact_with(&Detector::ALL, &text);
        let (twice, again) = redact_with(&Detector::ALL, &once);
        prop_assert_eq!(&twice, &once, "input {:?}", text);
        prop_assert_eq!(again, 0);
        for d in Detector::ALL {
            let (alone, n) = redact_with(&[d], &once);
            prop_assert_eq!(n, 0, "{:?} fired on {:?} (input {:?}) -> {:?}", d, once, text, alone);
        }
    }
}

// ------------------------------------------------------------- anchors

/// The literal prefilter plus anchored shapes find exactly what one
/// unanchored search of the shapes finds (the oracle: the shapes as one
/// regex, as the anchors were searched before the prefilter).
fn anchors_agree(text: &str) -> Result<(), TestCaseError> {
    let oracle = regex::bytes::Regex::new(&ANCHOR_SHAPES.join("|")).unwrap();
    let expected: Vec<(usize, usize)> =
        oracle.find_iter(text.as_bytes()).map(|m| (m.start(), m.end())).collect();
    let mut found = Vec::new();
    for_each_anchor(text.as_bytes(), |s, e| found.push((s, e)));
    prop_assert_eq!(found, expected, "{:?}", text);
    Ok(())
}

fn arb_anchor_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "AKIA",
            "IOSFODNN7EXAMPLE",
            "ghp_",
            "github_pat_",
            "glpat-",
            "xoxb-",
            "sk_live_",
            "rk_test_",
            "sk-",
            "proj-",
            "eyJ",
            "hbGciOiJIUzI1NiJ9",
            ".",
            "Bearer ",
            "basic ",
            "BASIC",
            " ",
            "-----BEGIN ",
            "RSA ",
            "PRIVATE KEY",
            "-----",
            "密码",
            "验证码",
            "是",
            "password ",
            "is ",
            "Pin code ",
            "护照",
            "passport",
            "PASSPORT",
            "abcdefghij",
            "0123456789",
            "_",
            "-",
            "=",
            "a",
            "A",
            "Z2",
        ]),
        0..16,
    )
    .prop_map(|parts| parts.concat())
}

#[test]
fn anchor_prefilter_matches_the_plain_search_on_known_shapes() {
    for text in [
        "key id AKIAIOSFODNN7EXAMPLE in log",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345 leaked",
        "github_pat_0123456789abcdefghijklmn",
        "glpat-abcdefghij0123456789 slack xoxb-1234567890-abcdefghij",
        "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc. sk-proj-abcdefghijklmnopqrstu",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r",
        "authorization: Basic dXNlcjpwYXNz",
        "k=-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY----- done",
        "------BEGIN PRIVATE KEY-----",
        "新密码是qwe123 验证码 837261 my password is hunter22 Pin code was 1234",
        "护照号码：E12345678 passport no. EA1234567 PASSPORT",
        "AKIAAKIAIOSFODNN7EXAMPLEX sk-sk-abcdefghijklmnopqrstuvwxyz",
        "",
    ] {
        anchors_agree(text).unwrap();
    }
}

proptest! {
    #[test]
    fn anchor_prefilter_matches_the_plain_search(text in arb_anchor_text()) {
        anchors_agree(&text)?;
    }
}
