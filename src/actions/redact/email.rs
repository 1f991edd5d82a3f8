//! `[EMAIL]`: email addresses, grown outwards from each `@` (or `%40`).
//!
//! Local parts and domain labels may be Unicode (`张三@例子.中国`,
//! `josé@bücher.de`). Chinese text has no spaces, so a part stops where the
//! script changes between CJK and other characters (`邮箱abc@qq.com谢谢`
//! finds `abc@qq.com`), and a CJK local part stops at the cue characters
//! that introduce an address (`邮箱是张三@…` finds `张三@…`). Validation:
//! a non-empty local part, two or more domain labels without edge hyphens,
//! and an alphabetic top-level domain of two or more letters.

use super::bounds::{char_at, char_before, is_cjk, next_byte};
use super::{Detector, Sink};

/// Longest CJK local part taken (names are 2–4 characters).
const MAX_CJK_LOCAL: usize = 6;

/// Characters that end a CJK local part when walking back from `@`.
const CUES: &[char] =
    &['是', '为', '箱', '址', '给', '到', '至', '发', '向', '用', '和', '或', '及', '在'];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Cjk,
    Other,
}

fn script(c: char) -> Script {
    if is_cjk(c) {
        Script::Cjk
    } else {
        Script::Other
    }
}

fn is_local_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'')
    } else {
        c.is_alphanumeric()
    }
}

fn is_label_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '-'
    } else {
        c.is_alphanumeric()
    }
}

/// Emails around every `@` (if `at`) and every `%40` (if `percent`).
pub(super) fn scan(b: &[u8], at: bool, percent: bool, sink: &mut Sink) {
    if at {
        let mut from = 0;
        while let Some(p) = next_byte(b, from, b'@') {
            email_at(b, p, p + 1, sink);
            from = p + 1;
        }
    }
    if percent {
        let mut from = 0;
        while let Some(p) = next_byte(b, from, b'%') {
            if b.get(p + 1..p + 3) == Some(b"40") {
                email_at(b, p, p + 3, sink);
            }
            from = p + 1;
        }
    }
}

/// An email whose `@` (or `%40`) spans `b[sep..domain]`.
fn email_at(b: &[u8], sep: usize, domain: usize, sink: &mut Sink) {
    let start = local_start(b, sep);
    if start == sep {
        return;
    }
    if let Some(end) = domain_end(b, domain) {
        sink.push(start, end, Detector::Email);
    }
}

/// Walks back from `sep` over one script's local-part characters.
fn local_start(b: &[u8], sep: usize) -> usize {
    let mut start = sep;
    let mut kind = None;
    let mut cjk = 0;
    while let Some((c, w)) = char_before(b, start) {
        if !is_local_char(c) {
            break;
        }
        let s = script(c);
        if *kind.get_or_insert(s) != s {
            break;
        }
        if s == Script::Cjk {
            if CUES.contains(&c) || cjk == MAX_CJK_LOCAL {
                break;
            }
            cjk += 1;
        }
        start -= w;
    }
    while start < sep && matches!(b.get(start), Some(b'.' | b'-' | b'+' | b'\'' | b'%')) {
        start += 1;
    }
    start
}

/// The end of a valid domain starting at `from`, if there is one.
fn domain_end(b: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    let mut labels = 0;
    let mut last_label = (from, from);
    let mut end = from;
    loop {
        let label_start = pos;
        let mut kind = None;
        while let Some((c, w)) = char_at(b, pos) {
            if !is_label_char(c) {
                break;
            }
            let s = script(c);
            if c != '-' && *kind.get_or_insert(s) != s {
                break;
            }
            pos += w;
        }
        let label = b.get(label_start..pos)?;
        if label.is_empty() || label.first() == Some(&b'-') || label.len() > 63 {
            break;
        }
        let mut label_end = pos;
        while label_end > label_start && b.get(label_end - 1) == Some(&b'-') {
            label_end -= 1;
        }
        labels += 1;
        last_label = (label_start, label_end);
        end = label_end;
        // Continue only through a dot that is followed by another label.
        if label_end == pos
            && b.get(pos) == Some(&b'.')
            && char_at(b, pos + 1).is_some_and(|(c, _)| is_label_char(c) && c != '-')
        {
            pos += 1;
        } else {
            break;
        }
    }
    let tld = std::str::from_utf8(b.get(last_label.0..last_label.1)?).ok()?;
    let tld_ok = tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic);
    (labels >= 2 && tld_ok && end - from <= 253).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all, only};
    use super::*;

    #[test]
    fn ascii_and_unicode_addresses() {
        for (text, expected) in [
            ("contact john.doe+tag@example.co.uk today", "contact [EMAIL] today"),
            ("邮箱abc_1@qq.com谢谢", "邮箱[EMAIL]谢谢"),
            ("<a@b-c.io>, x@y.org.", "<[EMAIL]>, [EMAIL]."),
            ("mailto:joe@mail.example.com", "mailto:[EMAIL]"),
            ("...joe@x.com", "...[EMAIL]"),
            ("张三@example.com", "[EMAIL]"),
            ("邮箱是张三@例子.中国 请查收", "邮箱是[EMAIL] 请查收"),
            ("josé.garcía@bücher.de!", "[EMAIL]!"),
            ("email=alice.3%40example.com&x=1", "email=[EMAIL]&x=1"),
            ("用户 li.wei＠example.cn 反馈", "用户 [EMAIL] 反馈"),
        ] {
            assert_eq!(only(Detector::Email, text), expected, "{text}");
        }
    }

    #[test]
    fn non_addresses_are_kept() {
        for text in [
            "john@localhost",
            "a@b",
            "@example.com",
            "john@.example.com",
            "john@example..com",
            "john@-example.com",
            "john@example.c",
            "john@example.c0m",
            "john@10.0.0.1",
            "email me @ home: soon",
            "100%40 discount",
            "@张三 你好",
        ] {
            assert_eq!(only(Detector::Email, text), text, "{text}");
        }
        assert_eq!(all("@张三 你好"), "@张三 你好");
    }
}
