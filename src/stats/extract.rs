//! Field extraction from an anonymized record: one streaming pass over the
//! compact JSON that captures only the dotted paths some statistic needs and
//! skips everything else with `IgnoredAny` (no `serde_json::Value` is built).
//!
//! All needed paths of all statistics live in one [`PathTrie`]; each path has
//! a slot in the reusable [`Record`], whose string values are copied into one
//! shared buffer, so steady-state extraction does not allocate. Objects and
//! arrays at a captured path are recorded as [`Val::Composite`] (a JSON null
//! in group keys, ignored by measures).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::hll::hash64;

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
            Val::Int(i) => push_json(out, &i),
            Val::UInt(u) => push_json(out, &u),
            Val::Float(f) => push_json(out, &f),
            Val::Str(..) => {
                let s = self.text(v);
                let mut cut = s.len().min(MAX_DIMENSION_BYTES);
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                push_json(out, &s[..cut]);
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

/// Appends a primitive as JSON; writing into a `Vec` cannot fail.
pub(crate) fn push_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(out, v);
}

#[derive(Debug, Default)]
struct Node {
    children: Vec<(Box<str>, usize)>,
    slot: Option<usize>,
}

/// The set of dotted paths to capture, as a trie of object keys.
#[derive(Debug)]
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
        let mut de = serde_json::Deserializer::from_slice(json);
        let seed = NodeSeed { trie: self, node: 0, rec };
        match seed.deserialize(&mut de) {
            Ok(true) if de.end().is_ok() => Ok(()),
            _ => Err(NotAnObject),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
