//! Phase two: turn a [`PipelineSpec`] into an immutable, fast [`Pipeline`].
//!
//! Everything that can be decided once is decided here: dotted paths become
//! a tree of nodes with pre-escaped output keys, IP prefixes are checked,
//! regexes compiled, HMAC states keyed and scoped, Crypto-PAn pads derived,
//! buckets validated, stats compiled. A mistake fails here with the file,
//! the field path and the problem, never later on a record.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::actions::pseudonymize::Pseudonymizer;
use crate::actions::{ActionConfig as _, TypeSet};
use crate::keys::KeyStore;
use crate::stats::spec::CompiledStat;

use super::spec::{
    parse_rule, ActionSpec, Category, Format, PipelineSpec, TestCase, UnknownFields,
};

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

pub use self::tree::{Child, ChildKind, MemberOp, Node, MAX_CHILDREN};
pub use crate::actions::Action;

mod tree;

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
    /// The walk locates every field the statistics read
    /// (`Scratch::stats_located`), so they need not scan the output.
    pub stats_capture: bool,
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
        let mut rings: BTreeSet<String> =
            self.rules.iter().filter_map(|r| r.spec.key_ring()).map(str::to_string).collect();
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
        if let Some(ring) = parse_rule(v).ok().as_ref().and_then(ActionSpec::key_ring) {
            rings.insert(ring.to_string());
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
        let action = action_spec.compile(keys).map_err(|e| {
            let at =
                if e.field.is_empty() { field.clone() } else { format!("{field}.{}", e.field) };
            err(at, e.problem)
        })?;
        if key_id.is_none() {
            key_id = action.key_id().map(str::to_string);
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
        None => ActionSpec::Drop(crate::actions::drop::DropConfig {}),
        Some(v) => parse_rule(v).map_err(|p| err("output.key".into(), p))?,
    };
    let key_rule = match &key_spec {
        ActionSpec::Keep(_) => KeyRule::Keep,
        ActionSpec::Drop(_) => KeyRule::Drop,
        ActionSpec::Pseudonymize(config) => match config.compile(keys) {
            Ok(p) => KeyRule::Pseudonymize(p.0),
            Err(e) => return Err(err("output.key".into(), e.problem)),
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

    root.set_ops(&rules);
    let stats_capture = crate::stats::mark_captures(&stats, &mut root);

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
        stats_capture,
        tests: spec.tests,
        file: file.to_path_buf(),
        key_id,
    })
}
