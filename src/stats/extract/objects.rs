//! A per-worker memo of the objects the record walk located: an access log
//! writes the same few `reduce_user_agent` results over and over, and
//! reading one member by member costs more than recognising its bytes.
//!
//! Keyed by the trie node and the object's exact output bytes, an entry
//! holds what reading it stored: the value of every slot below the node
//! (strings as text). So a hit stores exactly what a read would have. It
//! holds anonymized output values only (the statistics read nothing
//! else); objects longer than [`MAX_OBJECT_BYTES`] are not kept, and the
//! memo is emptied when it holds [`OBJECTS_KEPT`] of them.

use std::collections::HashMap;

use super::{PathTrie, Record, Val};

/// Longest object (output bytes) worth remembering.
pub(crate) const MAX_OBJECT_BYTES: usize = 512;
/// Objects remembered per node before the memo is emptied.
const OBJECTS_KEPT: usize = 1024;

/// A remembered slot value.
#[derive(Debug, Clone)]
enum Kept {
    Str(Box<str>),
    Other(Val),
}

/// One node's objects: output bytes -> `(slot, value)` of the node's subtree.
type NodeMemo = HashMap<Box<[u8]>, Box<[(usize, Kept)]>, foldhash::fast::RandomState>;

/// The memo (see the module doc); one per worker, in its `Observation`.
#[derive(Debug, Default)]
pub(crate) struct LocatedObjects {
    /// Per trie node.
    by_node: Vec<NodeMemo>,
}

impl LocatedObjects {
    /// Stores the remembered values of `object` at `node`; `false` if unknown.
    pub(crate) fn restore(&self, node: usize, object: &[u8], rec: &mut Record) -> bool {
        let Some(kept) = self.by_node.get(node).and_then(|m| m.get(object)) else {
            return false;
        };
        for (slot, v) in kept.iter() {
            rec.vals[*slot] = match v {
                Kept::Str(s) => rec.push_str(s),
                Kept::Other(v) => *v,
            };
        }
        true
    }

    /// Remembers what reading `object` at `node` stored in `rec`.
    pub(crate) fn remember(&mut self, trie: &PathTrie, node: usize, object: &[u8], rec: &Record) {
        if object.len() > MAX_OBJECT_BYTES {
            return;
        }
        let mut slots = Vec::new();
        trie.subtree_slots(node, &mut slots);
        let kept = slots
            .into_iter()
            .map(|slot| {
                let v = rec.vals[slot];
                (
                    slot,
                    if let Val::Str(..) = v {
                        Kept::Str(rec.text(v).into())
                    } else {
                        Kept::Other(v)
                    },
                )
            })
            .collect();
        if self.by_node.len() <= node {
            self.by_node.resize_with(node + 1, HashMap::default);
        }
        let memo = &mut self.by_node[node];
        if memo.len() >= OBJECTS_KEPT {
            memo.clear();
        }
        memo.insert(object.into(), kept);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_node.iter().map(HashMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trie() -> (PathTrie, usize) {
        let mut t = PathTrie::new();
        for p in ["ua.browser", "ua.device", "ua.deep.x", "n"] {
            t.insert(&p.split('.').map(String::from).collect::<Vec<_>>());
        }
        let ua = t.children(0).iter().find(|(k, _)| &**k == "ua").unwrap().1;
        (t, ua)
    }

    /// Reads `{"ua":<object>}` with the memo, returning the values by slot as text.
    fn read(t: &PathTrie, ua: usize, object: &str, memo: &mut LocatedObjects) -> Vec<String> {
        let out = format!("{{\"ua\":{object}}}");
        let located = [(ua as u32, 6, 6 + object.len() as u32)];
        let mut rec = Record::default();
        t.extract_located(out.as_bytes(), &located, memo, &mut rec).unwrap();
        // Strings by their text (where the arena holds them does not matter).
        rec.vals
            .iter()
            .map(|v| match v {
                Val::Str(..) => format!("Str:{}", rec.text(*v)),
                _ => format!("{v:?}"),
            })
            .collect()
    }

    #[test]
    fn a_remembered_object_reads_like_a_fresh_one() {
        let (t, ua) = trie();
        let mut memo = LocatedObjects::default();
        let objects = [
            r#"{"browser":"Chrome","os":"Android","device":"mobile"}"#,
            r#"{"browser":"Firefox","deep":{"x":7}}"#,
            r#"{"device":null,"browser":["a"]}"#,
            r#"{"br\u006fwser":"esc","device":"d\"q"}"#,
            "{}",
        ];
        for round in 0..3 {
            for o in objects {
                let fresh = read(&t, ua, o, &mut LocatedObjects::default());
                assert_eq!(read(&t, ua, o, &mut memo), fresh, "{o} (round {round})");
            }
        }
        assert_eq!(memo.len(), objects.len());
        // Different objects never share an entry, even when one is a prefix.
        assert_ne!(read(&t, ua, objects[1], &mut memo), read(&t, ua, objects[0], &mut memo));
    }

    #[test]
    fn the_memo_is_bounded() {
        let (t, ua) = trie();
        let mut memo = LocatedObjects::default();
        let long = format!(r#"{{"browser":"{}"}}"#, "x".repeat(MAX_OBJECT_BYTES));
        read(&t, ua, &long, &mut memo);
        assert_eq!(memo.len(), 0, "long objects are not kept");
        for i in 0..OBJECTS_KEPT + 10 {
            read(&t, ua, &format!(r#"{{"browser":"b{i}"}}"#), &mut memo);
        }
        assert!(memo.len() <= OBJECTS_KEPT);
    }
}
