//! Reading the values the record walk located (see `super::super::capture`)
//! without the validating scanner.
//!
//! The walk notes each captured value's exact span in its output: the
//! bytes it just wrote, which are valid JSON (the pipeline's output always
//! parses; the walk copies only values the strict scanner accepted, and
//! actions write their own JSON). So a located value needs no grammar
//! check, only typing: a string is its bytes between the quotes (unescaped
//! only when it holds a `\`), a number is classified and valued by
//! [`super::number_val`] as the scanner path does, and an object (a
//! `reduce_user_agent` result, a kept subtree) is read member by member,
//! finding each key's end with a short loop.
//!
//! Anything this reader does not recognise at once (a key with an escape,
//! a nested container under a captured key, whitespace where the walk
//! writes none, an unexpected byte) makes it return `None`, and the caller
//! reads the same span with the strict scanner ([`PathTrie::value`]), so
//! the result never depends on which reader ran: the tests compare both
//! with serde_json.

use super::{number_val, PathTrie, Record, Val};
use crate::scan::unescape;

/// `true` for the bytes JSON allows between tokens.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(v: &[u8], mut i: usize) -> usize {
    while v.get(i).copied().is_some_and(is_ws) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string whose opening quote is at `open`.
/// Values here are short: a plain loop costs less than `memchr`'s setup.
fn string_end(v: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    while let Some(&b) = v.get(i) {
        match b {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// The end of a number or literal starting at `i` (the next structural
/// byte or whitespace).
fn scalar_end(v: &[u8], i: usize) -> usize {
    let rest = &v[i..];
    i + rest.iter().position(|&b| matches!(b, b',' | b'}' | b']') || is_ws(b)).unwrap_or(rest.len())
}

/// The text of a string body that is plain ASCII without escapes (the
/// common case, copied as is); `None` otherwise. One branch-free pass that
/// the compiler vectorizes.
fn plain_ascii(body: &[u8]) -> Option<&str> {
    let flags = body.iter().fold(0_u8, |acc, &b| acc | (b & 0x80) | u8::from(b == b'\\'));
    if flags != 0 {
        return None;
    }
    // SAFETY: every byte was just checked to be below 0x80, and a sequence
    // of ASCII bytes is valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(body) })
}

/// A number as written by the walk: plain digits (the common case) are
/// read directly, anything else by [`number_val`] after a grammar check.
fn located_number(v: &[u8]) -> Option<Val> {
    let (negative, digits) = match v.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, v),
    };
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        if digits.len() > 1 && digits[0] == b'0' {
            return None;
        }
        let n = digits.iter().fold(0_u64, |n, &d| n * 10 + u64::from(d - b'0'));
        return Some(match (negative, n) {
            (false, n) => Val::UInt(n),
            (true, 0) => Val::Float(-0.0),
            // At most 18 digits: fits an i64.
            (true, n) => Val::Int(-(n as i64)),
        });
    }
    // A plain decimal fraction (`46.26`): what `number_val` computes for
    // it, in one pass, dividing by an exact power of ten from a table.
    if let Some(point) = digits.iter().position(|&b| b == b'.') {
        let (int, frac) = (&digits[..point], &digits[point + 1..]);
        let plain = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
        if plain(int)
            && plain(frac)
            && int.len() + frac.len() <= 19
            && (int.len() == 1 || int[0] != b'0')
        {
            let s = int.iter().chain(frac).fold(0_u64, |n, &d| n * 10 + u64::from(d - b'0'));
            let f = s as f64 / POW10[frac.len()];
            return Some(Val::Float(if negative { -f } else { f }));
        }
    }
    if !v.iter().all(|&b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) {
        return None;
    }
    let float = v.iter().any(|&b| matches!(b, b'.' | b'e' | b'E'));
    number_val(v, float)
}

/// Exact powers of ten (every one up to 10^22 is an `f64`), as
/// `10f64.powi(i)` computes them.
const POW10: [f64; 20] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19,
];

impl PathTrie {
    /// Reads the located value `v` (one complete JSON value, as written by
    /// the walk) at trie node `node`; `None` when the strict scanner must
    /// read it instead (see the module doc). May have stored some slots
    /// before returning `None`; the scanner then stores the same values
    /// again.
    pub(super) fn located_value(&self, v: &[u8], node: usize, rec: &mut Record) -> Option<()> {
        let n = &self.nodes[node];
        let val = match *v.first()? {
            b'"' => {
                let Some(_) = n.slot else { return Some(()) };
                if v.len() < 2 || v[v.len() - 1] != b'"' {
                    return None;
                }
                let body = &v[1..v.len() - 1];
                let start = rec.strings.len();
                match plain_ascii(body) {
                    Some(text) => rec.strings.push_str(text),
                    None => {
                        if !unescape(body, &mut rec.strings) {
                            rec.strings.truncate(start);
                            return None;
                        }
                    }
                }
                Val::Str(start, rec.strings.len())
            }
            b'{' if !n.children.is_empty() => return self.located_object(v, node, rec),
            b'{' | b'[' => Val::Composite,
            b'-' | b'0'..=b'9' => {
                let Some(_) = n.slot else { return Some(()) };
                located_number(v)?
            }
            _ => match v {
                b"true" => Val::Bool(true),
                b"false" => Val::Bool(false),
                b"null" => Val::Null,
                _ => return None,
            },
        };
        if let Some(slot) = n.slot {
            rec.vals[slot] = val;
        }
        Some(())
    }

    /// The members of the object `v` at a node with children.
    fn located_object(&self, v: &[u8], node: usize, rec: &mut Record) -> Option<()> {
        let n = &self.nodes[node];
        if let Some(slot) = n.slot {
            rec.vals[slot] = Val::Composite;
        }
        let mut i = skip_ws(v, 1);
        if v.get(i) == Some(&b'}') {
            return (skip_ws(v, i + 1) == v.len()).then_some(());
        }
        loop {
            if v.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = i + 1 + v.get(i + 1..)?.iter().position(|&b| b == b'"' || b == b'\\')?;
            if v[key_end] != b'"' {
                return None;
            }
            let key = &v[i + 1..key_end];
            i = skip_ws(v, key_end + 1);
            if v.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(v, i + 1);
            let end = match *v.get(i)? {
                b'"' => string_end(v, i)?,
                b'{' | b'[' => return None,
                _ => scalar_end(v, i),
            };
            if let Some(&(_, child)) = n.children.iter().find(|(k, _)| k.as_bytes() == key) {
                self.located_value(&v[i..end], child, rec)?;
            }
            i = skip_ws(v, end);
            match v.get(i) {
                Some(b',') => i = skip_ws(v, i + 1),
                Some(b'}') => return (skip_ws(v, i + 1) == v.len()).then_some(()),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The reader of located values against two independent readings of
    //! the same output: the strict scanner over the same spans, and the
    //! scanner over the whole record (itself checked against serde_json's
    //! visitors in `super::super::tests`).
    use proptest::prelude::*;

    use super::super::tests::json_doc;
    use super::super::LocatedObjects;
    use super::*;

    /// A trie like a pipeline's: leaves, an object read by two of its
    /// keys, and one key below a nested object.
    fn trie() -> (PathTrie, Vec<(&'static str, usize)>) {
        let mut t = PathTrie::new();
        for p in ["ua", "o.browser", "o.device", "o.a.b", "n", "s"] {
            t.insert(&p.split('.').map(String::from).collect::<Vec<_>>());
        }
        let names = ["ua", "o", "n", "s"];
        let top = names
            .iter()
            .map(|name| {
                let node = t.children(0).iter().find(|(k, _)| &**k == *name).unwrap().1;
                (*name, node)
            })
            .collect();
        (t, top)
    }

    /// Writes `{"ua":..,"o":..,..}` noting each value's span, as the walk does.
    fn record(t: &[(&str, usize)], values: &[String]) -> (Vec<u8>, Vec<(u32, u32, u32)>) {
        let mut out = b"{".to_vec();
        let mut located = Vec::new();
        for (i, ((name, node), v)) in t.iter().zip(values).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(format!("\"{name}\":").as_bytes());
            let start = out.len() as u32;
            out.extend_from_slice(v.as_bytes());
            located.push((*node as u32, start, out.len() as u32));
        }
        out.push(b'}');
        (out, located)
    }

    fn same(a: &Record, b: &Record) -> Result<(), TestCaseError> {
        prop_assert_eq!(a.vals.len(), b.vals.len());
        for (x, y) in a.vals.iter().zip(&b.vals) {
            match (x, y) {
                (Val::Str(..), Val::Str(..)) => prop_assert_eq!(a.text(*x), b.text(*y)),
                (Val::Float(f), Val::Float(g)) => prop_assert_eq!(f.to_bits(), g.to_bits()),
                _ => prop_assert_eq!(x, y),
            }
        }
        Ok(())
    }

    /// [`json_doc`] with every document serde_json refuses (lone
    /// surrogates, `1e400`, cut literals) replaced by `null`: the walk only
    /// writes valid JSON, and rejecting whole cases made the test flaky
    /// (four documents must all parse, so most cases were rejected).
    fn valid_doc() -> impl Strategy<Value = String> {
        json_doc().prop_map(|d| {
            if serde_json::from_str::<serde_json::Value>(&d).is_ok() {
                d
            } else {
                "null".to_owned()
            }
        })
    }

    /// Objects with the keys the trie reads, in odd forms.
    fn object() -> impl Strategy<Value = String> {
        let key =
            prop::sample::select(vec!["browser", "device", "a", "b", "os", "br\\u006fwser", "x"]);
        let member = (key, valid_doc(), prop::sample::select(vec!["", " ", "\n  "]));
        prop::collection::vec(member, 0..5).prop_map(|m| {
            let members: Vec<String> =
                m.into_iter().map(|(k, v, ws)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}")).collect();
            format!("{{{}}}", members.join(","))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn located_values_read_like_the_scanner(
            ua in valid_doc(), o in prop_oneof![object(), valid_doc()], n in valid_doc(), s in valid_doc(),
        ) {
            let (t, top) = trie();
            let (out, located) = record(&top, &[ua, o, n, s]);
            // Only outputs that parse: the walk writes nothing else.
            prop_assume!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
            let (mut fast, mut strict, mut scanned) =
                (Record::default(), Record::default(), Record::default());
            let mut objects = LocatedObjects::default();
            prop_assert_eq!(t.extract_located(&out, &located, &mut objects, &mut fast), Ok(()));
            // The second time the object comes from the memo.
            let mut again = Record::default();
            prop_assert_eq!(t.extract_located(&out, &located, &mut objects, &mut again), Ok(()));
            same(&again, &fast)?;
            prop_assert_eq!(t.extract_located_strict(&out, &located, &mut strict), Ok(()));
            prop_assert_eq!(t.extract(&out, &mut scanned), Ok(()));
            same(&fast, &strict)?;
            same(&fast, &scanned)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Numbers the walk writes, typed and valued as serde_json does.
        #[test]
        fn located_numbers_are_serde_json_numbers(
            text in prop_oneof![
                "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,20})?",
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
                any::<i64>().prop_map(|i| i.to_string()),
                any::<u64>().prop_map(|u| u.to_string()),
            ]
        ) {
            let oracle: serde_json::Value = serde_json::from_str(&text).unwrap();
            let got = located_number(text.as_bytes());
            let same = match (got, &oracle) {
                (Some(Val::UInt(u)), serde_json::Value::Number(n)) => n.as_u64() == Some(u),
                (Some(Val::Int(i)), serde_json::Value::Number(n)) => {
                    n.as_i64() == Some(i) && n.as_u64().is_none()
                }
                (Some(Val::Float(f)), serde_json::Value::Number(n)) => {
                    n.is_f64() && n.as_f64().map(f64::to_bits) == Some(f.to_bits())
                }
                _ => false,
            };
            prop_assert!(same, "{} -> {:?}, serde_json {}", text, got, oracle);
        }
    }

    #[test]
    fn typical_values_take_the_fast_path() {
        let (t, top) = trie();
        let ua = r#"{"browser":"Chrome","browser_major":"124","os":"Android","device":"mobile"}"#;
        let cases: [(usize, &str, Option<Val>); 9] = [
            (0, r#""plain""#, None),
            (0, r#""a\"b""#, None),
            (0, "-12", Some(Val::Int(-12))),
            (0, "46.26", Some(Val::Float(46.26))),
            (0, "true", Some(Val::Bool(true))),
            (0, "null", Some(Val::Null)),
            (0, "[1,2]", Some(Val::Composite)),
            (1, ua, None),
            (1, r#"{ "browser" : "x" , "a" : {"b":1} }"#, None),
        ];
        for (which, text, want) in cases {
            let (_, node) = top[which];
            let mut rec = Record::default();
            rec.reset(t.slots());
            let fast = t.located_value(text.as_bytes(), node, &mut rec);
            // A nested container under a captured key is left to the scanner.
            assert_eq!(fast.is_some(), !text.contains("{\"b\""), "{text}");
            if let Some(want) = want {
                assert!(rec.vals.contains(&want), "{text}: {:?}", rec.vals);
            }
        }
        let mut rec = Record::default();
        rec.reset(t.slots());
        t.located_value(ua.as_bytes(), top[1].1, &mut rec).unwrap();
        let texts: Vec<&str> =
            rec.vals.iter().map(|v| rec.text(*v)).filter(|s| !s.is_empty()).collect();
        assert_eq!(texts, ["Chrome", "mobile"]);
    }
}
