//! `url`: reduce a URL to its origin or path, keeping only listed query parameters.
//!
//! Query strings and fragments carry tokens, e-mail addresses, search terms and
//! session ids; the userinfo part (`user:pass@`) carries credentials; path
//! segments carry user ids, e-mail addresses and phone numbers
//! (`/users/alice.wang@example.com/orders`); matrix parameters carry session
//! ids (`;jsessionid=…`); an IP-literal host is a client address. This module
//! owns cutting all of that away while keeping what statistics need (which
//! site, which page, a few harmless parameters such as `page`). Identifiers are
//! recognized by the shared classifier [`crate::classify`] and replaced by its
//! placeholders (`{email}`, `{phone}`, `{cn_id}`, `{card}`, `{ip}`, `{id}`,
//! `{token}`). It validates before writing, so a rejected value appends
//! nothing and the caller drops the field.

use serde::{Deserialize, Serialize};

use self::authority::{push_origin, split_absolute};
use self::query::push_kept_params;
use super::{write_str, ActionConfig, ConfigError, Emit, JsonType, Outcome, Transform, TypeSet};
use crate::classify::{cut_segment, plain_segment, segment_kind};
use crate::keys::KeyStore;

mod authority;
mod query;

/// Which part of a URL survives (`keep = "path"` in a pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlKeep {
    /// Scheme, host and port only: `https://www.example.com:8443`.
    Origin,
    /// Origin (if any) plus path and the listed query parameters.
    Path,
}

/// Reduces a URL to its origin or path and appends the result to `out`.
///
/// Input is an absolute URL (`https://user:pw@www.example.com:8443/a/b?x=1&page=2#frag`)
/// with scheme http, https, ws, wss or ftp, or an origin-relative path
/// (`/api/v1/users/44?page=2&token=abc`).
///
/// - [`UrlKeep::Origin`]: `https://www.example.com:8443` (scheme and host lowercased,
///   port as written). A path-only input has no origin: returns false.
/// - [`UrlKeep::Path`]: `https://www.example.com:8443/a/b?page=2`, or `/api/v1/users/{id}?page=2`
///   for a relative input. An empty path of an absolute URL becomes `/`.
///
/// An IP-literal host is truncated as `truncate_ip` does by default (IPv4 /24,
/// IPv6 /48, embedded IPv4 by its IPv4 prefix): `http://203.0.113.77:8080` →
/// `http://203.0.113.0:8080`. A host name label the classifier flags is
/// replaced by its placeholder (`https://{phone}.blog.example`). A host that URL parsers read as an IPv4 address
/// in another spelling (`3405803853`, `0xcb.0.113.77`, `203.0.113.077`, full-width
/// digits) is rejected.
///
/// Path ([`UrlKeep::Path`]), segment by segment ([`push_path`]): matrix
/// parameters (`;jsessionid=…`, also percent-encoded `%3B`) are removed; a
/// percent-encoded `?`, `#` or `%` (an encoded query, fragment or a second
/// layer of encoding) ends the path there; a segment whose percent-decoded
/// text the classifier flags is replaced by its placeholder; other segments
/// are kept as written.
///
/// Only query parameters whose name, percent-decoded (`+` as space), is in
/// `keep_params` survive, in their original order and encoding; a kept
/// parameter whose decoded value the classifier flags keeps its name and gets
/// the placeholder as value (`page=alice@example.com` → `page={email}`). There
/// is no `?` when none survive. The fragment and userinfo are always dropped.
/// The referrer placeholder `-` and the empty string carry nothing and are
/// appended unchanged.
///
/// Returns false, appending nothing, for anything else: other schemes, missing
/// `//`, whitespace or control characters anywhere, an empty or malformed host,
/// a bad port, a backslash in the authority, or a relative path starting with
/// `//` whose first segment contains `@` (it would read as userinfo).
pub fn reduce_url(text: &str, keep: UrlKeep, keep_params: &[String], out: &mut String) -> bool {
    if text.is_empty() || text == "-" {
        out.push_str(text);
        return true;
    }
    if has_control_or_space(text) {
        return false;
    }
    // One pass to the first `?` or `#`: the fragment is cut, and a `?`
    // before it starts the query.
    let (before_query, query) = match find_either(text.as_bytes(), b'?', b'#') {
        Some(i) if text.as_bytes()[i] == b'?' => {
            let query = &text[i + 1..];
            let end = find_either(query.as_bytes(), b'#', b'#').unwrap_or(query.len());
            (&text[..i], Some(&query[..end]))
        }
        Some(i) => (&text[..i], None),
        None => (text, None),
    };

    if before_query.starts_with('/') {
        if keep == UrlKeep::Origin || looks_like_userinfo(before_query) {
            return false;
        }
        push_path(before_query, out);
        push_kept_params(query, keep_params, out);
        return true;
    }

    if at_sign_after_authority(text) {
        return false;
    }
    let Some((origin, path)) = split_absolute(before_query) else {
        return false;
    };
    push_origin(&origin, out);
    if keep == UrlKeep::Path {
        push_path(if path.is_empty() { "/" } else { path }, out);
        push_kept_params(query, keep_params, out);
    }
    true
}

/// Appends `path` (starting with `/`, without query or fragment) segment by
/// segment: matrix parameters cut, identifier-like segments replaced by their
/// placeholder, the rest kept as written. An encoded `?`, `#` or `%` ends the
/// path (see [`cut_segment`]). Plain words (`api`, `v1`, `orders`) are found
/// and copied in one pass over their bytes ([`plain_segment`]); only the
/// others go through [`cut_segment`] and [`segment_kind`].
fn push_path(path: &str, out: &mut String) {
    let bytes = path.as_bytes();
    // The leading `/` gives an empty first segment.
    let mut start = 0;
    loop {
        let (end, plain) = plain_segment(bytes, start);
        let raw = &path[start..end];
        if plain {
            out.push_str(raw);
        } else {
            let (segment, ends_path) = cut_segment(raw);
            match segment_kind(segment) {
                Some(kind) => out.push_str(kind.placeholder()),
                None => out.push_str(segment),
            }
            if ends_path {
                return;
            }
        }
        if end == bytes.len() {
            return;
        }
        out.push('/');
        start = end + 1;
    }
}

// Byte-level helpers for ASCII delimiters: an ASCII byte never occurs inside
// a multi-byte UTF-8 sequence, so its index is always a char boundary. They
// replace `str` char-pattern searches, whose setup cost dominated on short URLs.

/// Index of the first `b` in `s`.
#[inline]
fn find_byte(s: &str, b: u8) -> Option<usize> {
    // A plain loop: these strings are short, and `memchr`'s dispatch cost
    // more than it saved here (measured under callgrind).
    s.bytes().position(|c| c == b)
}

/// Index of the first `a` or `b` in `bytes`, eight bytes at a time (the
/// byte loop mispredicted once per URL byte; callgrind and perf both put
/// it at the top of `reduce_url`).
#[inline]
fn find_either(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let w = le_word(chunk);
        let (x, y) = (w ^ (LO * u64::from(a)), w ^ (LO * u64::from(b)));
        // The lowest flagged byte is exact: borrows only travel upwards.
        let hits = ((x.wrapping_sub(LO) & !x) | (y.wrapping_sub(LO) & !y)) & HI;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks.remainder().iter().position(|&c| c == a || c == b).map(|i| at + i)
}

/// `s` up to the first `b` (all of `s` without one).
#[inline]
fn before_byte(s: &str, b: u8) -> &str {
    find_byte(s, b).map_or(s, |i| &s[..i])
}

/// `split_once(b)` for an ASCII byte.
#[inline]
fn split_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    find_byte(s, b).map(|i| (&s[..i], &s[i + 1..]))
}

/// `rsplit_once(b)` for an ASCII byte.
#[inline]
fn rsplit_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    s.bytes().rposition(|c| c == b).map(|i| (&s[..i], &s[i + 1..]))
}

/// The pieces of `s` between `b`s, as `s.split(b)` for an ASCII byte.
#[inline]
fn split_byte(s: &str, b: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match find_byte(r, b) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Whether `text` has a control or whitespace character. For ASCII text
/// those are exactly the bytes up to 0x20 and 0x7f, checked eight bytes at a
/// time without decoding characters.
fn has_control_or_space(text: &str) -> bool {
    const HI: u64 = 0x8080_8080_8080_8080;
    let bytes = text.as_bytes();
    let (mut non_ascii, mut bad) = (0u64, 0u64);
    let mut add = |w: u64| {
        non_ascii |= w;
        bad |= ascii_control_or_space(w);
    };
    if bytes.len() >= 8 {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            add(le_word(chunk));
        }
        if !chunks.remainder().is_empty() {
            // The last eight bytes again: overlapping is harmless for "any".
            add(le_word(&bytes[bytes.len() - 8..]));
        }
    } else {
        // Padded with a letter, which is neither.
        let mut padded = [b'a'; 8];
        padded[..bytes.len()].copy_from_slice(bytes);
        add(u64::from_le_bytes(padded));
    }
    if non_ascii & HI == 0 {
        bad & HI != 0
    } else {
        text.chars().any(|c| c.is_control() || c.is_whitespace())
    }
}

/// The eight bytes of `chunk` (exactly eight) as a little-endian word.
#[inline(always)]
fn le_word(chunk: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    u64::from_le_bytes(word)
}

/// For a word of ASCII bytes: the top bit of the lowest byte that is below
/// 0x21 or equal to 0x7f is set (higher ones may be too), and none is set
/// when there is no such byte. Borrows only travel up from a real hit, so
/// "any" is exact; with non-ASCII bytes the result means nothing.
#[inline(always)]
fn ascii_control_or_space(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let del = w ^ (LO * 0x7f);
    ((w.wrapping_sub(LO * 0x21) & !w) | (del.wrapping_sub(LO) & !del)) & HI
}

/// True for a relative `//segment...` whose first segment contains `@`: such a value
/// is a network-path reference with userinfo, which must not be passed on.
fn looks_like_userinfo(path: &str) -> bool {
    path.strip_prefix("//").is_some_and(|rest| find_byte(before_byte(rest, b'/'), b'@').is_some())
}

/// True when an `@` follows a `?` or `#` before the first `/` after `://`, as in
/// `https://alice:pa#ss@host/`: an unencoded `#` or `?` in a password would otherwise
/// turn the user name into the host. Such values are rejected rather than guessed.
fn at_sign_after_authority(text: &str) -> bool {
    let bytes = text.as_bytes();
    // The first `://`: the first `:` followed by `//`.
    let Some(at) = (0..bytes.len())
        .find(|&i| bytes[i] == b':' && bytes.get(i + 1..i + 3) == Some(b"//".as_slice()))
    else {
        return false;
    };
    let head = before_byte(&text[at + 3..], b'/');
    head.bytes()
        .position(|b| b == b'?' || b == b'#')
        .is_some_and(|i| find_byte(&head[i..], b'@').is_some())
}

/// `{ action = "url", keep = "path", keep_params = ["page"] }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlConfig {
    /// `origin` or `path` (default).
    #[serde(default = "default_url_keep")]
    pub keep: UrlKeep,
    /// Query parameters that survive (`keep = "path"` only).
    #[serde(default)]
    pub keep_params: Vec<String>,
}

fn default_url_keep() -> UrlKeep {
    UrlKeep::Path
}

/// Compiled `url`.
#[derive(Debug, Clone)]
pub struct Url {
    keep: UrlKeep,
    keep_params: Vec<String>,
}

impl ActionConfig for UrlConfig {
    const NAME: &'static str = "url";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Null]);
    type Compiled = Url;

    fn compile(&self, _keys: &KeyStore) -> Result<Url, ConfigError> {
        Ok(Url { keep: self.keep, keep_params: self.keep_params.clone() })
    }

    fn explain(&self) -> String {
        let base = match self.keep {
            UrlKeep::Origin => {
                "URL reduced to its origin (scheme, host, port); an IP-literal host truncated \
                 (/24, /48)"
            }
            UrlKeep::Path => {
                "URL reduced to its path; credentials, fragment and matrix parameters removed; \
                 path segments that look like identifiers (email, phone, ID, card, IP, long \
                 number, token) replaced by placeholders; an IP-literal host truncated (/24, /48)"
            }
        };
        if self.keep_params.is_empty() || self.keep == UrlKeep::Origin {
            format!("{base}; query string removed")
        } else {
            format!(
                "{base}; query parameters kept: {} (values that look like identifiers replaced \
                 by placeholders)",
                self.keep_params.join(", ")
            )
        }
    }
}

impl Transform for Url {
    /// Anything [`reduce_url`] refuses drops the field.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        emit.tmp.clear();
        if !reduce_url(value, self.keep, &self.keep_params, emit.tmp) {
            return Outcome::Dropped;
        }
        write_str(emit.out, emit.tmp);
        Outcome::Written
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
