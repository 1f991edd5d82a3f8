//! Phase two: turn a [`PipelineSpec`] into an immutable, fast [`Pipeline`].
//!
//! Everything that can be decided once is decided here: dotted paths become
//! a tree of nodes with pre-escaped output keys, IP prefixes are checked,
//! regexes compiled, HMAC states keyed and scoped, Crypto-PAn pads derived,
//! buckets validated, stats compiled. A mistake fails here with the file,
//! the field path and the problem, never later on a record.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::actions::bucket::Buckets;
use crate::actions::cryptopan::CryptoPan;
use crate::actions::pseudonymize::Pseudonymizer;
use crate::actions::redact::Redactor;
use crate::actions::time::TimeUnit;
use crate::actions::url::UrlKeep;
use crate::keys::KeyStore;
use crate::scan::NameProbe;
use crate::stats::spec::CompiledStat;

use super::json_out::key_prefix;
use super::spec::{
    parse_rule, ActionSpec, Category, Format, PipelineSpec, TestCase, UnknownFields,
};
use super::types::TypeSet;

/// A pipeline load error: always names the file, the field and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {field}: {problem}")]
pub struct PipelineError {
    /// Pipeline file.
    pub file: String,
    /// Dotted path of the offending setting (`fields.client_ip.ipv4_prefix`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl PipelineError {
    fn new(file: &Path, field: impl Into<String>, problem: impl Into<String>) -> Self {
        PipelineError {
            file: file.display().to_string(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A compiled field action.
#[derive(Debug)]
pub enum Action {
    /// Copy a scalar's bytes through (strictly validated).
    Keep,
    /// Copy a whole value's bytes through, containers included.
    KeepSubtree,
    /// Remove the field.
    Drop,
    /// Zero host bits.
    TruncateIp {
        /// IPv4 bits kept.
        v4: u8,
        /// IPv6 bits kept.
        v6: u8,
    },
    /// Crypto-PAn with the ring's derived key.
    PseudonymizeIp {
        /// Ring name.
        ring: String,
        /// Key id of the ring's current key.
        key_id: String,
        /// Cipher state.
        cipher: Arc<CryptoPan>,
    },
    /// Keyed HMAC pseudonym.
    Pseudonymize(Box<Pseudonymizer>),
    /// Keep last N characters.
    Mask {
        /// Characters kept.
        keep_last: usize,
        /// Replacement character.
        mask_char: char,
    },
    /// Truncate time.
    CoarsenTime(TimeUnit),
    /// Reduce URL.
    Url {
        /// Origin or path.
        keep: UrlKeep,
        /// Surviving parameters.
        keep_params: Vec<String>,
    },
    /// Coarse user-agent classes.
    ReduceUserAgent,
    /// Free-text PII detectors.
    Redact(Box<Redactor>),
    /// Numeric ranges.
    Bucket(Buckets),
    /// Location levels kept.
    GeneralizeLocation(Vec<String>),
    /// Primary language.
    Language,
}

/// One rule: where it applies, what it does, and its original spec.
#[derive(Debug)]
pub struct FieldRule {
    /// Dotted path as written.
    pub path: String,
    /// The spec as written (for `explain`).
    pub spec: ActionSpec,
    /// Compiled action.
    pub action: Action,
    /// Action name (metric label).
    pub action_name: &'static str,
    /// JSON types the action accepts (from [`ActionSpec::accepts`]).
    pub accepts: TypeSet,
}

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
    /// A rule, or a nested level.
    pub kind: ChildKind,
}

/// What a child is.
#[derive(Debug)]
pub enum ChildKind {
    /// Index into [`Pipeline::rules`].
    Rule(usize),
    /// Fields below this name have rules of their own.
    Nested(Node),
}

/// Most children a single object level may have rules for (duplicate
/// detection uses a fixed bitset).
pub const MAX_CHILDREN: usize = 256;

/// Most levels a `generalize_location` rule may keep (repeated levels are
/// found with a 64-bit set).
pub const MAX_LEVELS: usize = 64;

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
    #[inline]
    pub fn lookup_probe(&self, probe: &NameProbe, name: &[u8], hint: usize) -> Option<usize> {
        let matches =
            |c: &Child| c.probe == *probe && (name.len() <= 16 || c.name.as_bytes() == name);
        if let Some(c) = self.children.get(hint) {
            if matches(c) {
                return Some(hint);
            }
        }
        if self.children.len() <= 16 {
            self.children.iter().position(matches)
        } else {
            self.index.get(name).copied()
        }
    }

    fn insert(&mut self, segments: &[&str], rule: usize) -> Result<(), String> {
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
                self.children.push(Child {
                    name: (*first).into(),
                    out_key: key_prefix(first).into(),
                    prev_key: key_prefix(&format!("{first}_prev")).into(),
                    probe: NameProbe::new(first.as_bytes()),
                    kind,
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

/// What happens to the Kafka record key.
#[derive(Debug)]
pub enum KeyRule {
    /// Passed through.
    Keep,
    /// Removed.
    Drop,
    /// Pseudonymized like an ID field.
    Pseudonymize(Box<Pseudonymizer>),
}

/// An immutable compiled pipeline, shared by all worker threads.
#[derive(Debug)]
pub struct Pipeline {
    /// Pipeline name.
    pub name: String,
    /// Data category.
    pub category: Category,
    /// Description.
    pub description: String,
    /// Input format.
    pub format: Format,
    /// Unknown-field policy.
    pub unknown_fields: UnknownFields,
    /// Record size limit in bytes.
    pub max_record_bytes: usize,
    /// Nesting limit.
    pub max_depth: usize,
    /// Source topics.
    pub input_topics: Vec<String>,
    /// Anonymized topic.
    pub output_topic: String,
    /// Record key treatment.
    pub key_rule: KeyRule,
    /// The record key rule as written (`drop` when absent), for `explain`.
    pub key_spec: ActionSpec,
    /// The field tree.
    pub root: Node,
    /// Rules in file order.
    pub rules: Vec<FieldRule>,
    /// Compiled statistics.
    pub stats: Vec<CompiledStat>,
    /// Statistics as written (for `explain`).
    pub stats_specs: Vec<crate::stats::StatSpec>,
    /// Embedded test cases.
    pub tests: Vec<TestCase>,
    /// File it was loaded from.
    pub file: PathBuf,
    /// Key id of the first key ring used (the `key_id` of the provenance header).
    pub key_id: Option<String>,
}

impl Pipeline {
    /// Reads and compiles a pipeline file.
    ///
    /// # Errors
    /// [`PipelineError`] naming the file, field and problem.
    pub fn load(path: &Path, keys: &KeyStore) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PipelineError::new(path, "(file)", format!("cannot read: {e}")))?;
        Self::from_toml(&text, path, keys)
    }

    /// Parses and compiles pipeline text; `path` is used in errors.
    ///
    /// # Errors
    /// [`PipelineError`] naming the file, field and problem.
    pub fn from_toml(text: &str, path: &Path, keys: &KeyStore) -> Result<Self, PipelineError> {
        let spec: PipelineSpec = toml::from_str(text).map_err(|e| {
            let field = crate::config::errors::toml_error_field(text, &e);
            PipelineError::new(path, field, e.message().to_string())
        })?;
        compile(spec, path, keys)
    }

    /// Key rings this pipeline needs.
    pub fn rings(&self) -> BTreeSet<String> {
        let mut rings: BTreeSet<String> = self
            .rules
            .iter()
            .filter_map(|r| match &r.action {
                Action::Pseudonymize(p) => Some(p.ring().to_string()),
                Action::PseudonymizeIp { ring, .. } => Some(ring.clone()),
                _ => None,
            })
            .collect();
        if let KeyRule::Pseudonymize(p) = &self.key_rule {
            rings.insert(p.ring().to_string());
        }
        rings
    }
}

/// Key rings a pipeline file refers to, read without compiling it (so keys
/// can be loaded before pipelines are compiled).
///
/// # Errors
/// [`PipelineError`] when the file cannot be read or parsed.
pub fn referenced_rings(path: &Path) -> Result<BTreeSet<String>, PipelineError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| PipelineError::new(path, "(file)", format!("cannot read: {e}")))?;
    referenced_rings_in(&text, path)
}

/// Like [`referenced_rings`] for text already read.
///
/// # Errors
/// [`PipelineError`] when the text does not parse.
pub fn referenced_rings_in(text: &str, path: &Path) -> Result<BTreeSet<String>, PipelineError> {
    let spec: PipelineSpec = toml::from_str(text).map_err(|e| {
        let field = crate::config::errors::toml_error_field(text, &e);
        PipelineError::new(path, field, e.message().to_string())
    })?;
    let mut rings = BTreeSet::new();
    let mut rules: Vec<&toml::Value> = spec.fields.values().collect();
    if let Some(k) = &spec.output.key {
        rules.push(k);
    }
    for v in rules {
        if let Ok(ActionSpec::Pseudonymize { key, .. } | ActionSpec::PseudonymizeIp { key }) =
            parse_rule(v)
        {
            rings.insert(key);
        }
    }
    Ok(rings)
}

fn compile(spec: PipelineSpec, file: &Path, keys: &KeyStore) -> Result<Pipeline, PipelineError> {
    let err = |field: String, problem: String| PipelineError::new(file, field, problem);
    if spec.name.is_empty()
        || !spec.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(err("name".into(), "must be non-empty letters, digits, `_` or `-`".into()));
    }
    if spec.input.topics.is_empty() {
        return Err(err("input.topics".into(), "at least one topic is required".into()));
    }
    if spec.input.topics.iter().any(|t| t.is_empty()) || spec.output.topic.is_empty() {
        return Err(err(
            "input.topics / output.topic".into(),
            "topic names cannot be empty".into(),
        ));
    }
    if spec.input.topics.contains(&spec.output.topic) {
        return Err(err("output.topic".into(), "must differ from every input topic".into()));
    }
    if spec.max_depth == 0 || spec.max_depth > 127 {
        return Err(err("max_depth".into(), "must be between 1 and 127".into()));
    }
    if spec.max_record_bytes == 0 {
        return Err(err("max_record_bytes".into(), "must be positive".into()));
    }
    if spec.fields.is_empty() {
        return Err(err("fields".into(), "no field rules: every field would be dropped".into()));
    }

    let mut root = Node::default();
    let mut rules = Vec::with_capacity(spec.fields.len());
    let mut key_id = None;
    for (path, value) in &spec.fields {
        let field = format!("fields.{path}");
        let action_spec = parse_rule(value).map_err(|p| err(field.clone(), p))?;
        let action = compile_action(&action_spec, keys).map_err(|(sub, p)| {
            err(if sub.is_empty() { field.clone() } else { format!("{field}.{sub}") }, p)
        })?;
        if key_id.is_none() {
            key_id = match &action {
                Action::Pseudonymize(p) => Some(p.key_id().to_string()),
                Action::PseudonymizeIp { key_id, .. } => Some(key_id.clone()),
                _ => None,
            };
        }
        let segments: Vec<&str> = path.split('.').collect();
        root.insert(&segments, rules.len()).map_err(|p| err(field.clone(), p))?;
        rules.push(FieldRule {
            path: path.clone(),
            action_name: action_spec.name(),
            accepts: action_spec.accepts(),
            spec: action_spec,
            action,
        });
    }

    // Kafka keys are very often user IDs: without a rule they are dropped.
    let key_spec = match &spec.output.key {
        None => ActionSpec::Drop,
        Some(v) => parse_rule(v).map_err(|p| err("output.key".into(), p))?,
    };
    let key_rule = match &key_spec {
        ActionSpec::Keep => KeyRule::Keep,
        ActionSpec::Drop => KeyRule::Drop,
        s @ ActionSpec::Pseudonymize { .. } => match compile_action(s, keys) {
            Ok(Action::Pseudonymize(p)) => KeyRule::Pseudonymize(p),
            Ok(_) => return Err(err("output.key".into(), "unexpected action".into())),
            Err((_, p)) => return Err(err("output.key".into(), p)),
        },
        other => {
            return Err(err(
                "output.key".into(),
                format!(
                    "`{}` is not allowed for record keys; use keep, drop or pseudonymize",
                    other.name()
                ),
            ))
        }
    };

    let mut stats = Vec::with_capacity(spec.stats.len());
    let mut stat_names = BTreeSet::new();
    for (i, s) in spec.stats.iter().enumerate() {
        if !stat_names.insert(s.name.clone()) {
            return Err(err(format!("stats[{i}].name"), "duplicate stat name".into()));
        }
        stats.push(s.compile().map_err(|e| err(format!("stats[{i}]"), e.to_string()))?);
    }

    for (i, t) in spec.tests.iter().enumerate() {
        if t.expect.is_some() == t.expect_error.is_some() {
            return Err(err(
                format!("tests[{i}]"),
                "exactly one of `expect` and `expect_error` is required".into(),
            ));
        }
    }

    Ok(Pipeline {
        name: spec.name,
        category: spec.category,
        description: spec.description,
        format: spec.format,
        unknown_fields: spec.unknown_fields,
        max_record_bytes: spec.max_record_bytes,
        max_depth: spec.max_depth,
        input_topics: spec.input.topics,
        output_topic: spec.output.topic,
        key_rule,
        key_spec,
        root,
        rules,
        stats,
        stats_specs: spec.stats,
        tests: spec.tests,
        file: file.to_path_buf(),
        key_id,
    })
}

/// Compiles one action. Errors are `(sub-field, problem)`.
fn compile_action(spec: &ActionSpec, keys: &KeyStore) -> Result<Action, (String, String)> {
    let ring = |name: &str| {
        keys.ring(name).ok_or_else(|| {
            (
                "key".to_string(),
                format!(
                    "key ring `{name}` is not loaded (set {} or configure [keys.{name}])",
                    crate::keys::env_var_for(name)
                ),
            )
        })
    };
    Ok(match spec {
        ActionSpec::Keep => Action::Keep,
        ActionSpec::KeepSubtree => Action::KeepSubtree,
        ActionSpec::Drop => Action::Drop,
        ActionSpec::TruncateIp { ipv4_prefix, ipv6_prefix } => {
            if *ipv4_prefix > 32 {
                return Err(("ipv4_prefix".into(), "must be between 0 and 32".into()));
            }
            if *ipv6_prefix > 128 {
                return Err(("ipv6_prefix".into(), "must be between 0 and 128".into()));
            }
            Action::TruncateIp { v4: *ipv4_prefix, v6: *ipv6_prefix }
        }
        ActionSpec::PseudonymizeIp { key } => {
            let r = ring(key)?;
            Action::PseudonymizeIp {
                ring: key.clone(),
                key_id: r.current.id.clone(),
                cipher: Arc::new(CryptoPan::new(&r.current.key.derive("cryptopan"))),
            }
        }
        ActionSpec::Pseudonymize { key, scope, normalize, keep_domain, keep_domains } => {
            if scope.is_empty() {
                return Err(("scope".into(), "must not be empty".into()));
            }
            let r = ring(key)?;
            let p = Pseudonymizer::new(r, scope, *normalize, *keep_domain)
                .with_kept_domains(keep_domains)
                .map_err(|e| ("keep_domains".to_string(), e.to_string()))?;
            Action::Pseudonymize(Box::new(p))
        }
        ActionSpec::Mask { keep_last, mask_char } => {
            Action::Mask { keep_last: *keep_last, mask_char: *mask_char }
        }
        ActionSpec::CoarsenTime { to } => Action::CoarsenTime(*to),
        ActionSpec::Url { keep, keep_params } => {
            Action::Url { keep: *keep, keep_params: keep_params.clone() }
        }
        ActionSpec::ReduceUserAgent => Action::ReduceUserAgent,
        ActionSpec::Redact { detectors } => {
            if detectors.is_empty() {
                return Err(("detectors".into(), "at least one detector is required".into()));
            }
            Action::Redact(Box::new(Redactor::new(detectors)))
        }
        ActionSpec::Bucket { bounds, labels } => Action::Bucket(
            Buckets::new(bounds, labels.as_deref())
                .map_err(|e| ("bounds".into(), e.to_string()))?,
        ),
        ActionSpec::GeneralizeLocation { keep } => {
            if keep.is_empty() {
                return Err(("keep".into(), "list at least one level".into()));
            }
            if keep.len() > MAX_LEVELS {
                return Err(("keep".into(), format!("at most {MAX_LEVELS} levels")));
            }
            for (i, level) in keep.iter().enumerate() {
                if level.is_empty() {
                    return Err(("keep".into(), "a level name cannot be empty".into()));
                }
                if keep[..i].contains(level) {
                    return Err(("keep".into(), format!("level `{level}` is listed twice")));
                }
            }
            Action::GeneralizeLocation(keep.clone())
        }
        ActionSpec::Language => Action::Language,
    })
}
