//! Field extraction from an anonymized record: one pass of the validating
//! scanner ([`crate::scan`]) over the compact JSON that captures only the
//! dotted paths some statistic needs and skips everything else (no
//! `serde_json::Value` is built). Accepts, rejects and types values exactly
//! as the serde_json visitors it replaced (tests compare the two).
//!
//! All needed paths of all statistics live in one [`PathTrie`]; each path has
//! a slot in the reusable [`Record`], whose string values are copied into one
//! shared buffer, so steady-state extraction does not allocate. Objects and
//! arrays at a captured path are recorded as [`Val::Composite`] (a JSON null
//! in group keys, ignored by measures).

use super::hll::hash64;
use crate::scan::{span_str, unescape, Cursor, SyntaxError};

mod located;
mod objects;

pub(crate) use objects::LocatedObjects;

/// Longest dimension string kept in a group key (bytes); longer values are
/// cut at a character boundary, which also bounds group-key memory.
pub(crate) const MAX_DIMENSION_BYTES: usize = 256;

/// One captured value; strings are ranges into [`Record::strings`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val {
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(usize, usize),
    Composite,
}

/// Reusable per-record capture: one value per slot plus a string arena.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub(crate) vals: Vec<Val>,
    pub(crate) strings: String,
    /// An escaped key, unescaped.
    key_buf: String,
    /// Open containers while skipping a value.
    stack: Vec<u8>,
}

impl Record {
    /// Clears all slots, keeping capacity.
    pub(crate) fn reset(&mut self, slots: usize) {
        self.vals.clear();
        self.vals.resize(slots, Val::Missing);
        self.strings.clear();
    }

    /// Copies `s` into the arena and returns its value.
    pub(crate) fn push_str(&mut self, s: &str) -> Val {
        let start = self.strings.len();
        self.strings.push_str(s);
        Val::Str(start, self.strings.len())
    }

    /// The text of a string value (empty for other values).
    pub(crate) fn text(&self, v: Val) -> &str {
        match v {
            Val::Str(a, b) => self.strings.get(a..b).unwrap_or(""),
            _ => "",
        }
    }

    /// Appends `v` as JSON (null for missing, null and composite values).
    pub(crate) fn write_json(&self, v: Val, out: &mut Vec<u8>) {
        match v {
            Val::Missing | Val::Null | Val::Composite => out.extend_from_slice(b"null"),
            Val::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            // Exactly what serde_json writes for integers (itoa) without
            // its serializer; floats keep serde_json's own formatting.
            Val::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
            Val::UInt(u) => out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes()),
            Val::Float(f) => push_json(out, &f),
            Val::Str(..) => {
                let s = self.text(v);
                let mut cut = s.len().min(MAX_DIMENSION_BYTES);
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                let s = &s[..cut];
                if is_plain_json(s.as_bytes()) {
                    out.push(b'"');
                    out.extend_from_slice(s.as_bytes());
                    out.push(b'"');
                } else {
                    push_json(out, s);
                }
            }
        }
    }

    /// Stable hash of a scalar value for distinct counting: strings by their
    /// text, numbers and booleans by their JSON text; `None` for absent values.
    pub(crate) fn hash(&self, v: Val, scratch: &mut Vec<u8>) -> Option<u64> {
        match v {
            Val::Missing | Val::Null | Val::Composite => None,
            Val::Str(..) => Some(hash64(self.text(v).as_bytes())),
            _ => {
                scratch.clear();
                self.write_json(v, scratch);
                Some(hash64(scratch))
            }
        }
    }

    /// Numeric value, if the value is a JSON number.
    pub(crate) fn number(v: Val) -> Option<f64> {
        match v {
            Val::Int(i) => Some(i as f64),
            Val::UInt(u) => Some(u as f64),
            Val::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// Whether `s` needs no escaping inside a JSON string (no control byte,
/// quote or backslash), eight bytes at a time: a byte-wise check was a
/// fifth of building a group key.
pub(crate) fn is_plain_json(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero exactly when some byte of `x` is below `n` (n <= 128).
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = s.chunks_exact(8);
    let mut bad = 0_u64;
    for c in &mut chunks {
        let mut word = [0_u8; 8];
        word.copy_from_slice(c);
        let x = u64::from_le_bytes(word);
        bad |= below(x, 0x20)
            | zero_byte(x ^ (ONES * u64::from(b'"')))
            | zero_byte(x ^ (ONES * u64::from(b'\\')));
    }
    bad == 0 && chunks.remainder().iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// Appends a primitive as JSON; writing into a `Vec` cannot fail.
pub(crate) fn push_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(out, v);
}

#[derive(Debug, Default, Clone)]
struct Node {
    children: Vec<(Box<str>, usize)>,
    slot: Option<usize>,
}

/// The set of dotted paths to capture, as a trie of object keys.
#[derive(Debug, Clone)]
pub(crate) struct PathTrie {
    nodes: Vec<Node>,
    slots: usize,
}

/// The record is not a single JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotAnObject;

impl PathTrie {
    pub(crate) fn new() -> Self {
        Self { nodes: vec![Node::default()], slots: 0 }
    }

    /// Number of slots handed out.
    pub(crate) fn slots(&self) -> usize {
        self.slots
    }

    /// Registers a path (non-empty segments) and returns its slot; the same path gets the same slot.
    pub(crate) fn insert(&mut self, path: &[String]) -> usize {
        let mut node = 0;
        for seg in path {
            let found = self.nodes[node].children.iter().find(|(k, _)| **k == **seg).map(|c| c.1);
            node = match found {
                Some(child) => child,
                None => {
                    self.nodes.push(Node::default());
                    let child = self.nodes.len() - 1;
                    self.nodes[node].children.push((seg.as_str().into(), child));
                    child
                }
            };
        }
        *self.nodes[node].slot.get_or_insert_with(|| {
            self.slots += 1;
            self.slots - 1
        })
    }

    /// Captures all registered paths of `json` into `rec` (reset first).
    ///
    /// # Errors
    /// [`NotAnObject`] when `json` is not exactly one JSON object.
    pub(crate) fn extract(&self, json: &[u8], rec: &mut Record) -> Result<(), NotAnObject> {
        rec.reset(self.slots);
        let mut cur = Cursor::new(json);
        if cur.peek_ws() != Some(b'{') {
            return Err(NotAnObject);
        }
        cur.bump();
        match self.object(&mut cur, 0, rec) {
            Ok(()) if cur.at_end() => Ok(()),
            _ => Err(NotAnObject),
        }
    }

    /// The trie's child nodes of `node`, by key.
    pub(crate) fn children(&self, node: usize) -> &[(Box<str>, usize)] {
        &self.nodes[node].children
    }

    /// The slot of `node`, if a path ends there.
    pub(crate) fn slot_of(&self, node: usize) -> Option<usize> {
        self.nodes[node].slot
    }

    /// Captures the registered paths from values the record walk located
    /// in `json` (see `super::capture`): each `(node, start, end)` is the
    /// trie node of a field and its value's span; paths below the node are
    /// read from that value as [`PathTrie::extract`] would read them (by
    /// the reader of `located`, or by the strict scanner when that reader
    /// declines).
    ///
    /// # Errors
    /// [`NotAnObject`] when a located value is not valid JSON (the walk
    /// wrote it, so this means a capture that does not match the output).
    pub(crate) fn extract_located(
        &self,
        json: &[u8],
        located: &[(u32, u32, u32)],
        objects: &mut LocatedObjects,
        rec: &mut Record,
    ) -> Result<(), NotAnObject> {
        rec.reset(self.slots);
        for &(node, start, end) in located {
            let value = json.get(start as usize..end as usize).ok_or(NotAnObject)?;
            let node = node as usize;
            if node >= self.nodes.len() {
                return Err(NotAnObject);
            }
            let object = !self.nodes[node].children.is_empty() && value.first() == Some(&b'{');
            if object && objects.restore(node, value, rec) {
                continue;
            }
            if self.located_value(value, node, rec).is_none() {
                let mut cur = Cursor::new(value);
                self.value(&mut cur, node, rec).map_err(|Bad| NotAnObject)?;
                if !cur.at_end() {
                    return Err(NotAnObject);
                }
            }
            if object {
                objects.remember(self, node, value, rec);
            }
        }
        Ok(())
    }

    /// Appends the slots of `node` and of every node below it.
    pub(crate) fn subtree_slots(&self, node: usize, out: &mut Vec<usize>) {
        out.extend(self.nodes[node].slot);
        for &(_, child) in &self.nodes[node].children {
            self.subtree_slots(child, out);
        }
    }

    /// [`PathTrie::extract_located`] with the strict scanner only (the
    /// reference the tests compare the fast reader with).
    #[cfg(test)]
    pub(crate) fn extract_located_strict(
        &self,
        json: &[u8],
        located: &[(u32, u32, u32)],
        rec: &mut Record,
    ) -> Result<(), NotAnObject> {
        rec.reset(self.slots);
        for &(node, start, end) in located {
            let value = json.get(start as usize..end as usize).ok_or(NotAnObject)?;
            let mut cur = Cursor::new(value);
            self.value(&mut cur, node as usize, rec).map_err(|Bad| NotAnObject)?;
            if !cur.at_end() {
                return Err(NotAnObject);
            }
        }
        Ok(())
    }

    /// The members of an object (its `{` consumed) at trie node `node`.
    /// Values at registered paths are decoded strictly, everything else is
    /// skipped leniently, as serde_json did when this used its visitors.
    fn object(&self, cur: &mut Cursor<'_>, node: usize, rec: &mut Record) -> Result<(), Bad> {
        let n = &self.nodes[node];
        if let Some(slot) = n.slot {
            rec.vals[slot] = Val::Composite;
        }
        let bytes = cur.bytes();
        if !cur.first_member()? {
            return Ok(());
        }
        loop {
            let span = cur.key()?;
            let raw = &bytes[span.start..span.end];
            let child = if span.escaped {
                rec.key_buf.clear();
                if !unescape(raw, &mut rec.key_buf) {
                    return Err(Bad);
                }
                n.children.iter().find(|(k, _)| **k == *rec.key_buf).map(|c| c.1)
            } else {
                n.children.iter().find(|(k, _)| k.as_bytes() == raw).map(|c| c.1)
            };
            match child {
                Some(child) => self.value(cur, child, rec)?,
                None => {
                    cur.skip_raw(&mut rec.stack)?;
                }
            }
            if !cur.next_member()? {
                return Ok(());
            }
        }
    }

    /// The value at trie node `node`.
    fn value(&self, cur: &mut Cursor<'_>, node: usize, rec: &mut Record) -> Result<(), Bad> {
        let slot = self.nodes[node].slot;
        let bytes = cur.bytes();
        let val = match cur.peek_ws().ok_or(Bad)? {
            b'{' => {
                cur.bump();
                return self.object(cur, node, rec);
            }
            b'[' => {
                // Elements are skipped like any uncaptured value.
                cur.skip_raw(&mut rec.stack)?;
                Val::Composite
            }
            b'"' => {
                let span = cur.string(true)?;
                let Some(_) = slot else { return Ok(()) };
                let raw = &bytes[span.start..span.end];
                let start = rec.strings.len();
                if span.escaped {
                    if !unescape(raw, &mut rec.strings) {
                        return Err(Bad);
                    }
                } else {
                    // SAFETY: `span` was just returned by `cur.string` and
                    // `bytes` is `cur`'s input.
                    rec.strings.push_str(unsafe { span_str(bytes, span) });
                }
                Val::Str(start, rec.strings.len())
            }
            b't' => {
                cur.literal(b"true")?;
                Val::Bool(true)
            }
            b'f' => {
                cur.literal(b"false")?;
                Val::Bool(false)
            }
            b'n' => {
                cur.literal(b"null")?;
                Val::Null
            }
            _ => {
                let num = cur.number(true)?;
                let Some(_) = slot else { return Ok(()) };
                number_val(&bytes[num.start..num.end], num.float).ok_or(Bad)?
            }
        };
        if let Some(slot) = slot {
            rec.vals[slot] = val;
        }
        Ok(())
    }
}

/// The record is not valid JSON (reported as [`NotAnObject`]).
struct Bad;

impl From<SyntaxError> for Bad {
    fn from(_: SyntaxError) -> Self {
        Bad
    }
}

/// A number (grammar already checked) typed and valued exactly as
/// serde_json's visitor would see it: `u64` for non-negative integers,
/// `i64` for negative ones, `f64` for fractions, exponents, `-0` and
/// integers out of range.
fn number_val(raw: &[u8], float: bool) -> Option<Val> {
    let (negative, digits) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    let count = digits.iter().filter(|b| b.is_ascii_digit()).count();
    let exponent = digits.iter().any(|b| matches!(b, b'e' | b'E'));
    if count <= 19 && !exponent {
        let mut significand = 0u64;
        let mut fraction = 0i32;
        let mut after_point = false;
        for &b in digits {
            if b == b'.' {
                after_point = true;
            } else {
                significand = significand * 10 + u64::from(b - b'0');
                fraction += i32::from(after_point);
            }
        }
        if !float {
            return Some(match (negative, significand) {
                (false, s) => Val::UInt(s),
                (true, 0) => Val::Float(-0.0),
                // 19 digits can pass i64::MIN: serde_json then reads an f64
                // (and `s as f64` is correctly rounded, as its parse is).
                (true, s) => match 0_i64.checked_sub_unsigned(s) {
                    Some(i) => Val::Int(i),
                    None => Val::Float(-(s as f64)),
                },
            });
        }
        // serde_json's f64_from_parts for a fraction of at most 22 digits:
        // one division by an exactly representable power of ten.
        if fraction <= 22 {
            let f = significand as f64 / 10f64.powi(fraction);
            return Some(Val::Float(if negative { -f } else { f }));
        }
    }
    let n: serde_json::Number = serde_json::from_slice(raw).ok()?;
    Some(if let Some(u) = n.as_u64() {
        Val::UInt(u)
    } else if let Some(i) = n.as_i64() {
        Val::Int(i)
    } else {
        Val::Float(n.as_f64()?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(String::from).collect()
    }

    fn setup() -> (PathTrie, [usize; 6]) {
        let mut t = PathTrie::new();
        let slots = [
            t.insert(&path("ts")),
            t.insert(&path("user_agent.browser")),
            t.insert(&path("status")),
            t.insert(&path("user_agent")),
            t.insert(&path("a.b.c")),
            t.insert(&path("duration_ms")),
        ];
        assert_eq!(t.insert(&path("status")), slots[2]);
        (t, slots)
    }

    #[test]
    fn captures_only_registered_paths() {
        let (t, [ts, browser, status, ua, abc, dur]) = setup();
        let mut rec = Record::default();
        let json = br#"{"ts":"2024-05-14T08:17:00.000Z","x":[1,{"ts":"no"}],"status":404,"user_agent":{"browser":"Chr\"ome","os":"Android"},"a":{"b":{"c":-3}},"duration_ms":46.26}"#;
        t.extract(json, &mut rec).unwrap();
        assert_eq!(rec.text(rec.vals[ts]), "2024-05-14T08:17:00.000Z");
        assert_eq!(rec.text(rec.vals[browser]), "Chr\"ome");
        assert_eq!(rec.vals[status], Val::UInt(404));
        assert_eq!(rec.vals[ua], Val::Composite);
        assert_eq!(rec.vals[abc], Val::Int(-3));
        // Found by `extraction_matches_the_serde_visitors`: 19 digits below
        // i64::MIN wrapped to a positive integer.
        for (raw, want) in [
            (&b"-9230000000000000000"[..], Val::Float(-9.23e18)),
            (b"-9223372036854775808", Val::Int(i64::MIN)),
            (b"-9223372036854775809", Val::Float(-9_223_372_036_854_775_809.0)),
        ] {
            assert_eq!(number_val(raw, false), Some(want));
            let n: serde_json::Value = serde_json::from_slice(raw).unwrap();
            assert_eq!(Record::number(want), n.as_f64());
        }
        assert_eq!(rec.vals[dur], Val::Float(46.26));
        assert_eq!(rec.strings.len(), "2024-05-14T08:17:00.000Z".len() + 7);
    }

    #[test]
    fn missing_null_and_wrong_shapes() {
        let (t, [ts, browser, status, ua, abc, _]) = setup();
        let mut rec = Record::default();
        t.extract(br#"{"ts":null,"user_agent":"plain","a":[1],"status":true}"#, &mut rec).unwrap();
        assert_eq!(rec.vals[ts], Val::Null);
        assert_eq!(rec.vals[browser], Val::Missing);
        assert_eq!(rec.vals[ua], Val::Str(0, 5));
        assert_eq!(rec.vals[abc], Val::Missing);
        assert_eq!(rec.vals[status], Val::Bool(true));
        // Values are reset between records.
        t.extract(b"{}", &mut rec).unwrap();
        assert!(rec.vals.iter().all(|v| *v == Val::Missing));
    }

    #[test]
    fn rejects_non_objects_and_garbage() {
        let (t, _) = setup();
        let mut rec = Record::default();
        for bad in [&b"[1]"[..], b"3", b"\"x\"", b"{", b"{} {}", b"{\"ts\":}", b"", b"\xff"] {
            assert_eq!(t.extract(bad, &mut rec), Err(NotAnObject));
        }
    }

    /// The serde_json-visitor extraction this module used before the
    /// scanner, kept as the oracle.
    mod reference {
        use std::fmt;

        use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

        use super::super::*;

        pub(super) fn extract(
            trie: &PathTrie,
            json: &[u8],
            rec: &mut Record,
        ) -> Result<(), NotAnObject> {
            rec.reset(trie.slots);
            let mut de = serde_json::Deserializer::from_slice(json);
            let seed = NodeSeed { trie, node: 0, rec };
            match seed.deserialize(&mut de) {
                Ok(true) if de.end().is_ok() => Ok(()),
                _ => Err(NotAnObject),
            }
        }

        /// Deserializes the value at trie node `node`; yields `true` for objects.
        struct NodeSeed<'t, 'r> {
            trie: &'t PathTrie,
            node: usize,
            rec: &'r mut Record,
        }

        impl NodeSeed<'_, '_> {
            /// Stores a non-object value in this node's slot; yields `false` (not an object).
            fn store(self, v: Val) -> bool {
                if let Some(slot) = self.trie.nodes[self.node].slot {
                    self.rec.vals[slot] = v;
                }
                false
            }
        }

        impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
            type Value = bool;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
                d.deserialize_any(self)
            }
        }

        impl<'de> Visitor<'de> for NodeSeed<'_, '_> {
            type Value = bool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
                Ok(self.store(Val::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<bool, E> {
                Ok(self.store(Val::Int(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<bool, E> {
                Ok(self.store(Val::UInt(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<bool, E> {
                Ok(self.store(Val::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<bool, E> {
                if self.trie.nodes[self.node].slot.is_some() {
                    let val = self.rec.push_str(v);
                    return Ok(self.store(val));
                }
                Ok(false)
            }
            fn visit_unit<E>(self) -> Result<bool, E> {
                Ok(self.store(Val::Null))
            }
            fn visit_none<E>(self) -> Result<bool, E> {
                Ok(self.store(Val::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(self.store(Val::Composite))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
                let (trie, node) = (self.trie, self.node);
                let rec = self.rec;
                if let Some(slot) = trie.nodes[node].slot {
                    rec.vals[slot] = Val::Composite;
                }
                while let Some(child) = map.next_key_seed(KeySeed(&trie.nodes[node].children))? {
                    match child {
                        Some(node) => {
                            map.next_value_seed(NodeSeed { trie, node, rec: &mut *rec })?;
                        }
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(true)
            }
        }

        /// Matches an object key against a node's children without allocating.
        struct KeySeed<'t>(&'t [(Box<str>, usize)]);

        impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
            type Value = Option<usize>;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
                d.deserialize_str(self)
            }
        }

        impl<'de> Visitor<'de> for KeySeed<'_> {
            type Value = Option<usize>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
                Ok(self.0.iter().find(|(k, _)| &**k == key).map(|c| c.1))
            }
        }
    }

    pub(super) fn json_doc() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
            "-?(0|[1-9][0-9]{0,22})(\\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?",
            prop::sample::select(vec![
                "-0",
                "-0.0",
                "1e400",
                "true",
                "false",
                "null",
                "\"\\ud800\"",
                "\"a\\\"b\"",
                "\"\\u00e9\"",
                "\"caf\u{e9}\"",
                "[1,[2,{\"ts\":3}]]",
                "{}",
            ])
            .prop_map(String::from),
            "\"[a-z{}/?#0-9-]{0,12}\"",
        ];
        let name = prop::sample::select(vec![
            "ts",
            "user_agent",
            "browser",
            "status",
            "a",
            "b",
            "c",
            "duration_ms",
            "x",
            "t\\u0073",
        ]);
        leaf.prop_recursive(4, 24, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((name.clone(), inner), 0..6).prop_map(|v| {
                    let members: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    /// Same result as the serde visitors. Input that is not UTF-8 is the one
    /// deliberate difference: serde_json skipped uncaptured strings without
    /// checking their UTF-8, the scanner rejects it (the engine only ever
    /// sees the pipeline's own output, which is UTF-8).
    fn same_as_reference(t: &PathTrie, doc: &[u8]) -> Result<(), TestCaseError> {
        let (mut a, mut b) = (Record::default(), Record::default());
        if std::str::from_utf8(doc).is_err() {
            prop_assert_eq!(t.extract(doc, &mut a), Err(NotAnObject));
            return Ok(());
        }
        let ra = t.extract(doc, &mut a);
        let rb = reference::extract(t, doc, &mut b);
        let show = String::from_utf8_lossy(doc);
        prop_assert_eq!(ra, rb, "{}", show);
        if ra.is_ok() {
            prop_assert_eq!(a.vals.len(), b.vals.len());
            for (x, y) in a.vals.iter().zip(&b.vals) {
                match (x, y) {
                    (Val::Str(..), Val::Str(..)) => prop_assert_eq!(a.text(*x), b.text(*y)),
                    (Val::Float(f), Val::Float(g)) => prop_assert_eq!(f.to_bits(), g.to_bits()),
                    _ => prop_assert_eq!(x, y, "{}", show),
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn extraction_matches_the_serde_visitors(
            doc in json_doc(), cut in any::<prop::sample::Index>(), byte in any::<u8>(),
            what in 0..4u8,
        ) {
            let (t, _) = setup();
            let mut doc = doc.into_bytes();
            same_as_reference(&t, &doc)?;
            let at = cut.index(doc.len().max(1)).min(doc.len());
            match what {
                0 => doc.truncate(at),
                1 => { if at < doc.len() { doc.remove(at); } }
                2 => doc.insert(at, byte),
                _ => { if at < doc.len() { doc[at] = byte; } }
            }
            same_as_reference(&t, &doc)?;
        }
    }

    #[test]
    fn workload_outputs_match_the_serde_visitors() {
        let keys = crate::keys::KeyStore::for_tests(&["ids".into()]);
        let p = crate::pipeline::Pipeline::load(
            std::path::Path::new("pipelines/access_log.toml"),
            &keys,
        )
        .unwrap();
        let mut t = PathTrie::new();
        for path in [
            "ts",
            "path",
            "status",
            "user_agent.browser",
            "user_agent.device",
            "user_id",
            "bytes",
            "duration_ms",
        ] {
            t.insert(&path.split('.').map(String::from).collect::<Vec<_>>());
        }
        let mut scratch = crate::pipeline::Scratch::default();
        for r in crate::workload::generate(3, 2000) {
            p.process(&r, &mut scratch).unwrap();
            same_as_reference(&t, &scratch.out).unwrap();
        }
    }

    proptest! {
        #[test]
        fn write_json_is_serde_json(s in "\\PC{0,20}|[\\x00-\\x7f]{0,20}", i in any::<i64>(), u in any::<u64>(), f in any::<f64>()) {
            let mut rec = Record::default();
            let sv = rec.push_str(&s);
            for (v, expected) in [
                (sv, serde_json::to_vec(&s).unwrap()),
                (Val::Int(i), serde_json::to_vec(&i).unwrap()),
                (Val::UInt(u), serde_json::to_vec(&u).unwrap()),
                (Val::Float(f), serde_json::to_vec(&f).unwrap()),
            ] {
                let mut out = Vec::new();
                rec.write_json(v, &mut out);
                prop_assert_eq!(out, expected);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Eight bytes at a time gives the byte-by-byte answer.
        #[test]
        fn plain_json_check_is_bytewise(
            s in prop::collection::vec(prop_oneof![4 => 0x20..0x7f_u8, 1 => any::<u8>(), 1 => Just(b'"'), 1 => Just(b'\\')], 0..40)
        ) {
            let oracle = s.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
            prop_assert_eq!(is_plain_json(&s), oracle);
        }
    }

    #[test]
    fn json_writing_and_hashing() {
        let mut rec = Record::default();
        let mut out = Vec::new();
        let long = "é".repeat(200);
        let s = rec.push_str(&long);
        rec.write_json(s, &mut out);
        assert_eq!(out.len(), 2 + 256);
        for (v, text) in [
            (Val::Int(-5), "-5"),
            (Val::UInt(7), "7"),
            (Val::Float(1.5), "1.5"),
            (Val::Bool(false), "false"),
            (Val::Missing, "null"),
            (Val::Composite, "null"),
        ] {
            out.clear();
            rec.write_json(v, &mut out);
            assert_eq!(out, text.as_bytes());
        }
        let mut scratch = Vec::new();
        let seven = rec.push_str("7");
        assert_eq!(rec.hash(Val::UInt(7), &mut scratch), rec.hash(seven, &mut scratch));
        assert_eq!(rec.hash(Val::Null, &mut scratch), None);
        assert_ne!(rec.hash(Val::Int(-7), &mut scratch), rec.hash(Val::UInt(7), &mut scratch));
    }
}
