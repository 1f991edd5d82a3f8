//! The test oracle for the record path: the serde_json-driven walk that
//! [`super::record`] replaced, kept so tests can check that the
//! scanner-driven walk accepts, refuses and writes exactly the same bytes on
//! any input. It replaces only the scanner: values are transformed by the
//! same per-action functions ([`crate::actions::Action::apply_str`],
//! [`crate::actions::Action::apply_number`]), whose own tests hold them to
//! independent oracles. Walk rule changes land in both: type sets (`super::types`), kept
//! scalars read as a `RawValue` and then re-read the way serde_json decodes
//! them, `keep_subtree`, repeated `generalize_location` levels, unlisted
//! fields named by position.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::actions::user_agent::UserAgentCache;
use crate::actions::Outcome;
use crate::error::{ErrorCode, RecordError};

use super::compile::{Action, Child, ChildKind, Node, Pipeline};
use super::json_out::nesting_exceeds;
use super::record::unlisted_message;
use super::spec::{Format, UnknownFields};
use super::types::wrong_type_message;

mod action;
mod skip;

use self::action::ActionSeed;
use self::skip::{raw_type, strict_check, KeySeed, SkipSeed};

/// What the earlier walk produced for one record: the output and the rules
/// whose fields were dropped, or the error.
pub fn process(pipe: &Pipeline, input: &[u8]) -> Result<(Vec<u8>, Vec<usize>), RecordError> {
    if input.len() > pipe.max_record_bytes {
        return Err(RecordError::new(ErrorCode::TooLarge, "too large"));
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        RecordError::new(
            ErrorCode::InvalidUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    if text.trim().is_empty() {
        return Err(RecordError::new(ErrorCode::EmptyRecord, "record is empty"));
    }
    let mut line_json = Vec::new();
    let text = match pipe.format {
        Format::Json => text,
        Format::Combined | Format::Common => {
            super::clf::to_json(text, pipe.format, &mut line_json)?;
            std::str::from_utf8(&line_json).expect("to_json writes UTF-8")
        }
    };
    let (mut out, mut tmp, mut failed) = (Vec::new(), String::new(), Vec::new());
    let mut ua = UserAgentCache::new(16);
    let mut ctx = Ctx {
        pipe,
        doc: text,
        out: &mut out,
        tmp: &mut tmp,
        ua: &mut ua,
        failed: &mut failed,
        err: None,
        now_ms: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let result = ObjectVisitor { node: &pipe.root, ctx: &mut ctx, depth: 1, top: true }
        .deserialize(&mut de)
        .and_then(|_| de.end());
    let refused = ctx.err.take();
    match result {
        Ok(()) => Ok((out, failed)),
        Err(e) => Err(refused.unwrap_or_else(|| json_error(&e))),
    }
}

/// Maps a serde_json error to a code and a value-free message.
fn json_error(e: &serde_json::Error) -> RecordError {
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        return RecordError::new(ErrorCode::TooDeep, "record nests deeper than the parser allows");
    }
    RecordError::new(
        ErrorCode::InvalidJson,
        format!("invalid JSON at line {} column {}", e.line(), e.column()),
    )
}

/// Everything a visitor needs, borrowed for one record.
struct Ctx<'s, 'p> {
    pipe: &'p Pipeline,
    /// The whole JSON text (kept values are re-read from it).
    doc: &'s str,
    out: &'s mut Vec<u8>,
    tmp: &'s mut String,
    ua: &'s mut UserAgentCache,
    failed: &'s mut Vec<usize>,
    err: Option<RecordError>,
    now_ms: Option<i64>,
}

impl Ctx<'_, '_> {
    fn fail<E: de::Error>(&mut self, code: ErrorCode, message: String) -> E {
        if self.err.is_none() {
            self.err = Some(RecordError::new(code, message));
        }
        E::custom("record refused")
    }

    fn too_deep<E: de::Error>(&mut self) -> E {
        let limit = self.pipe.max_depth;
        self.fail(ErrorCode::TooDeep, format!("record nests deeper than max_depth {limit}"))
    }

    #[inline]
    fn sep(&mut self, body_start: usize) {
        if self.out.len() > body_start {
            self.out.push(b',');
        }
    }
}

/// Visits an object level with its rule node; returns whether anything was written.
struct ObjectVisitor<'a, 's, 'p> {
    node: &'p Node,
    ctx: &'a mut Ctx<'s, 'p>,
    depth: usize,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for ObjectVisitor<'_, '_, '_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl ObjectVisitor<'_, '_, '_> {
    /// A non-object where an object level was expected.
    fn not_object<E: de::Error>(self, kind: &str) -> Result<bool, E> {
        if self.top {
            Err(self
                .ctx
                .fail(ErrorCode::NotAnObject, format!("record is a JSON {kind}, not an object")))
        } else {
            // The rules below this name cannot apply; the value is unlisted.
            Ok(false)
        }
    }
}

impl<'de> Visitor<'de> for ObjectVisitor<'_, '_, '_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        self.not_object("boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        self.not_object("number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        self.not_object("number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        self.not_object("number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        self.not_object("string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.not_object("null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        if self.top {
            return self.not_object("array");
        }
        let depth = self.depth;
        while seq.next_element_seed(SkipSeed { ctx: &mut *self.ctx, depth: depth + 1 })?.is_some() {
        }
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let ObjectVisitor { node, ctx, depth, top } = self;
        if depth > ctx.pipe.max_depth {
            return Err(ctx.too_deep());
        }
        let pipe = ctx.pipe;
        let object_start = ctx.out.len();
        ctx.out.push(b'{');
        let body_start = ctx.out.len();
        let mut seen = [0u64; super::compile::MAX_CHILDREN / 64];
        let mut position = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            position += 1;
            let Some(ci) = node.lookup(&key) else {
                if pipe.unknown_fields == UnknownFields::Error {
                    let message = unlisted_message(&node.path, position);
                    return Err(ctx.fail(ErrorCode::UnknownField, message));
                }
                map.next_value_seed(SkipSeed { ctx: &mut *ctx, depth: depth + 1 })?;
                continue;
            };
            let (word, bit) = (ci / 64, 1u64 << (ci % 64));
            let child: &Child = &node.children[ci];
            if seen[word] & bit != 0 {
                let path = format!("{}{}", node.path, child.name);
                return Err(
                    ctx.fail(ErrorCode::DuplicateField, format!("field `{path}` appears twice"))
                );
            }
            seen[word] |= bit;
            match &child.kind {
                ChildKind::Rule(ri) => {
                    let rule = &pipe.rules[*ri];
                    match &rule.action {
                        Action::Drop(_) => {
                            map.next_value_seed(SkipSeed { ctx: &mut *ctx, depth: depth + 1 })?;
                        }
                        Action::Keep(_) => {
                            let raw: &'de RawValue = map.next_value()?;
                            let found = raw_type(raw);
                            if !rule.accepts.contains(found) {
                                let msg = wrong_type_message(
                                    &rule.path,
                                    rule.action_name,
                                    rule.accepts,
                                    found,
                                );
                                return Err(ctx.fail(ErrorCode::WrongType, msg));
                            }
                            strict_check(ctx, raw, depth + 1)?;
                            ctx.sep(body_start);
                            ctx.out.extend_from_slice(&child.out_key);
                            ctx.out.extend_from_slice(raw.get().as_bytes());
                        }
                        Action::KeepSubtree(_) => {
                            let raw_value: &'de RawValue = map.next_value()?;
                            let raw = raw_value.get().as_bytes();
                            if matches!(raw.first(), Some(b'{' | b'['))
                                && nesting_exceeds(raw, pipe.max_depth.saturating_sub(depth))
                            {
                                return Err(ctx.too_deep());
                            }
                            strict_check(ctx, raw_value, depth + 1)?;
                            ctx.sep(body_start);
                            ctx.out.extend_from_slice(&child.out_key);
                            ctx.out.extend_from_slice(raw);
                        }
                        _ => {
                            let mark = ctx.out.len();
                            ctx.sep(body_start);
                            ctx.out.extend_from_slice(&child.out_key);
                            let outcome = map.next_value_seed(ActionSeed {
                                rule: *ri,
                                child,
                                ctx: &mut *ctx,
                                depth: depth + 1,
                            })?;
                            if outcome == Outcome::Dropped {
                                ctx.out.truncate(mark);
                                ctx.failed.push(*ri);
                            }
                        }
                    }
                }
                ChildKind::Nested(sub) => {
                    let mark = ctx.out.len();
                    ctx.sep(body_start);
                    ctx.out.extend_from_slice(&child.out_key);
                    let wrote = map.next_value_seed(ObjectVisitor {
                        node: sub,
                        ctx: &mut *ctx,
                        depth: depth + 1,
                        top: false,
                    })?;
                    if !wrote {
                        ctx.out.truncate(mark);
                    }
                }
            }
        }
        if !top && ctx.out.len() == body_start {
            ctx.out.truncate(object_start);
            return Ok(false);
        }
        ctx.out.push(b'}');
        Ok(true)
    }
}
