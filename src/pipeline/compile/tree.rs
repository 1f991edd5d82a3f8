//! The field tree of a compiled pipeline: dotted rule paths as nested
//! levels with pre-escaped output keys, and the lookup the record walk
//! does per field (next rule first, then a scan or a hash map).

use std::collections::HashMap;

use super::super::json_out::key_prefix;
use crate::scan::{KeyLiteral, NameProbe};

/// A level of the field tree: the record itself or a nested object.
#[derive(Debug, Default)]
pub struct Node {
    /// Dotted path of this level with a trailing dot (`""` for the record, `"device."`).
    pub path: String,
    /// Children in rule order.
    pub children: Vec<Child>,
    /// Name → child index, for levels with many children.
    index: HashMap<Box<[u8]>, usize>,
}

/// One named child of a node.
#[derive(Debug)]
pub struct Child {
    /// Field name at this level.
    pub name: Box<str>,
    /// Pre-escaped `"name":`.
    pub out_key: Box<[u8]>,
    /// Pre-escaped `"name_prev":` for dual-written pseudonyms.
    pub prev_key: Box<[u8]>,
    /// The name's first 16 bytes and length, for comparing in registers.
    pub probe: NameProbe,
    /// `out_key` as input bytes: a member written exactly so (`"name":`,
    /// compact) is recognized, with its colon, in one comparison.
    pub key_literal: KeyLiteral,
    /// A rule, or a nested level.
    pub kind: ChildKind,
    /// The walk's path for this member, decided from `kind` and the rule's
    /// action once the rules are compiled ([`Node::set_ops`]).
    pub op: MemberOp,
    /// Statistics capture: the extraction-trie node of this rule's output
    /// when a statistic reads it (set by [`crate::stats::mark_captures`]).
    pub stats_node: Option<u32>,
}

/// What a child is.
#[derive(Debug)]
pub enum ChildKind {
    /// Index into [`Pipeline::rules`].
    Rule(usize),
    /// Fields below this name have rules of their own.
    Nested(Node),
}

/// What the record walk does with a member, decided at load so that the
/// walk's per-member loop needs neither the rule nor its action to choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberOp {
    /// `drop`: the value is skipped (strictly).
    Drop,
    /// `keep`: a scalar copied through as raw bytes.
    Keep,
    /// A transforming action that takes strings: a string value is
    /// handed to it in line, any other value goes the general way.
    StrAction,
    /// Anything else (`keep_subtree`, an action that takes no strings, a
    /// nested level): the general path, out of line.
    General,
}

/// Most children a single object level may have rules for (duplicate
/// detection uses a fixed bitset).
pub const MAX_CHILDREN: usize = 256;

impl Node {
    /// Finds a child by field name.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.lookup_bytes(name.as_bytes(), usize::MAX)
    }

    /// Finds a child by field name, trying child `hint` first.
    #[inline]
    pub fn lookup_bytes(&self, name: &[u8], hint: usize) -> Option<usize> {
        self.lookup_probe(&NameProbe::new(name), name, hint)
    }

    /// Finds a child by field name (`probe` made from `name`), trying child
    /// `hint` first: records usually list fields in rule order, so the child
    /// after the last one found is a hit after one register comparison.
    #[inline(always)]
    pub fn lookup_probe(&self, probe: &NameProbe, name: &[u8], hint: usize) -> Option<usize> {
        // The hinted child is compared inline in the walk; the search, rare
        // on records in rule order, stays out of line.
        if let Some(c) = self.children.get(hint) {
            if c.probe == *probe && (name.len() <= 16 || c.name.as_bytes() == name) {
                return Some(hint);
            }
        }
        self.search(probe, name)
    }

    /// [`Node::lookup_probe`] without the hint.
    #[inline(never)]
    fn search(&self, probe: &NameProbe, name: &[u8]) -> Option<usize> {
        let matches =
            |c: &Child| c.probe == *probe && (name.len() <= 16 || c.name.as_bytes() == name);
        if self.children.len() <= 16 {
            self.children.iter().position(matches)
        } else {
            self.index.get(name).copied()
        }
    }

    /// Sets every child's [`MemberOp`] from its rule in `rules` (after
    /// all rules are compiled; `General` where nothing faster applies).
    pub(super) fn set_ops(&mut self, rules: &[super::FieldRule]) {
        use crate::actions::{Action, JsonType};
        for child in &mut self.children {
            child.op = match &mut child.kind {
                ChildKind::Nested(node) => {
                    node.set_ops(rules);
                    MemberOp::General
                }
                ChildKind::Rule(ri) => match rules.get(*ri) {
                    Some(rule) => match &rule.action {
                        Action::Drop(_) => MemberOp::Drop,
                        Action::Keep(_) => MemberOp::Keep,
                        Action::KeepSubtree(_) | Action::GeneralizeLocation(_) => MemberOp::General,
                        _ if rule.accepts.contains(JsonType::String) => MemberOp::StrAction,
                        _ => MemberOp::General,
                    },
                    None => MemberOp::General,
                },
            };
        }
    }

    pub(super) fn insert(&mut self, segments: &[&str], rule: usize) -> Result<(), String> {
        let (first, rest) = match segments.split_first() {
            Some(x) => x,
            None => return Err("empty field path".into()),
        };
        if first.is_empty() {
            return Err("empty segment in dotted path".into());
        }
        let pos = match self.lookup(first) {
            Some(p) => p,
            None => {
                if self.children.len() >= MAX_CHILDREN {
                    return Err(format!("more than {MAX_CHILDREN} fields at one level"));
                }
                let kind = if rest.is_empty() {
                    ChildKind::Rule(rule)
                } else {
                    ChildKind::Nested(Node {
                        path: format!("{}{first}.", self.path),
                        ..Node::default()
                    })
                };
                let out_key = key_prefix(first);
                self.children.push(Child {
                    name: (*first).into(),
                    key_literal: KeyLiteral::new(&out_key),
                    out_key: out_key.into(),
                    prev_key: key_prefix(&format!("{first}_prev")).into(),
                    probe: NameProbe::new(first.as_bytes()),
                    kind,
                    op: MemberOp::General,
                    stats_node: None,
                });
                let idx = self.children.len() - 1;
                self.index.insert(first.as_bytes().into(), idx);
                if rest.is_empty() {
                    return Ok(());
                }
                idx
            }
        };
        match (&mut self.children[pos].kind, rest.is_empty()) {
            (ChildKind::Nested(node), false) => node.insert(rest, rule),
            (ChildKind::Rule(_), _) => {
                Err(format!("`{first}` already has a rule, so no rule may apply inside it"))
            }
            (ChildKind::Nested(_), true) => {
                Err(format!("fields inside `{first}` have rules, so `{first}` itself cannot"))
            }
        }
    }
}
