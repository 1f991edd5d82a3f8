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

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::actions::user_agent::UserAgentCache;
use crate::actions::{Emit, Number, Outcome};
use crate::error::{ErrorCode, RecordError};

use super::compile::{Action, Child, ChildKind, Node, Pipeline};
use super::json_out::{nesting_exceeds, write_str};
use super::record::unlisted_message;
use super::spec::{Format, UnknownFields};
use super::types::{wrong_type_message, JsonType, TypeSet};

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

/// Re-reads the value `raw` holds (borrowed from the document) the way
/// serde_json decodes a value into a visitor: a lone surrogate or a number
/// beyond `f64` is invalid JSON, reported at its place in the document.
fn strict_check<E: de::Error>(
    ctx: &mut Ctx<'_, '_>,
    raw: &RawValue,
    depth: usize,
) -> Result<(), E> {
    let doc = ctx.doc;
    let off = raw.get().as_ptr() as usize - doc.as_ptr() as usize;
    let mut de = serde_json::Deserializer::from_str(&doc[off..]);
    match (SkipSeed { ctx: &mut *ctx, depth }).deserialize(&mut de) {
        Ok(()) => Ok(()),
        Err(_) if ctx.err.is_some() => Err(E::custom("record refused")),
        Err(e) => {
            let before = &doc[..off];
            let line = before.matches('\n').count() + e.line();
            let column = if e.line() == 1 {
                off - before.rfind('\n').map_or(0, |p| p + 1) + e.column()
            } else {
                e.column()
            };
            let message = format!("invalid JSON at line {line} column {column}");
            Err(ctx.fail(ErrorCode::InvalidJson, message))
        }
    }
}

/// The type of a raw value by its first byte.
fn raw_type(raw: &RawValue) -> JsonType {
    raw.get().bytes().next().and_then(JsonType::of_first_byte).unwrap_or(JsonType::Null)
}

/// Borrowed-if-possible object key.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// Skips a value while enforcing the depth limit.
struct SkipSeed<'a, 's, 'p> {
    ctx: &'a mut Ctx<'s, 'p>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for SkipSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SkipSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth > self.ctx.pipe.max_depth {
            return Err(self.ctx.too_deep());
        }
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(SkipSeed { ctx: &mut *self.ctx, depth: self.depth + 1 })?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth > self.ctx.pipe.max_depth {
            return Err(self.ctx.too_deep());
        }
        while seq
            .next_element_seed(SkipSeed { ctx: &mut *self.ctx, depth: self.depth + 1 })?
            .is_some()
        {}
        Ok(())
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

/// Applies one rule's action to the value under its field name.
struct ActionSeed<'a, 's, 'p> {
    rule: usize,
    child: &'p Child,
    ctx: &'a mut Ctx<'s, 'p>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ActionSeed<'_, '_, '_> {
    type Value = Outcome;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Outcome, D::Error> {
        d.deserialize_any(self)
    }
}

impl ActionSeed<'_, '_, '_> {
    fn wrong_type<E: de::Error>(self, found: JsonType) -> Result<Outcome, E> {
        let rule = &self.ctx.pipe.rules[self.rule];
        let msg = wrong_type_message(&rule.path, rule.action_name, rule.accepts, found);
        Err(self.ctx.fail(ErrorCode::WrongType, msg))
    }

    fn accepts(&self, t: JsonType) -> bool {
        self.ctx.pipe.rules[self.rule].accepts.contains(t)
    }

    /// The per-worker state the action writes with.
    fn apply(self, f: impl FnOnce(&super::compile::Action, &mut Emit<'_>) -> Outcome) -> Outcome {
        let ctx = self.ctx;
        let mut emit = Emit {
            out: &mut *ctx.out,
            tmp: &mut *ctx.tmp,
            ua: &mut *ctx.ua,
            now_ms: &mut ctx.now_ms,
            prev_key: &self.child.prev_key,
        };
        f(&ctx.pipe.rules[self.rule].action, &mut emit)
    }
}

impl<'de> Visitor<'de> for ActionSeed<'_, '_, '_> {
    type Value = Outcome;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Outcome, E> {
        if !self.accepts(JsonType::String) {
            return self.wrong_type(JsonType::String);
        }
        Ok(self.apply(|a, emit| a.apply_str(v, emit)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Outcome, E> {
        self.wrong_type(JsonType::Boolean)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Outcome, E> {
        if !self.accepts(JsonType::Null) {
            return self.wrong_type(JsonType::Null);
        }
        // null carries nothing personal: keep it as null.
        self.ctx.out.extend_from_slice(b"null");
        Ok(Outcome::Written)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Outcome, E> {
        if !self.accepts(JsonType::Number) {
            return self.wrong_type(JsonType::Number);
        }
        let text = v.to_string();
        Ok(self.apply(|a, emit| a.apply_number(Number::Int(v, &text), emit)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Outcome, E> {
        if !self.accepts(JsonType::Number) {
            return self.wrong_type(JsonType::Number);
        }
        let text = v.to_string();
        let n = match i64::try_from(v) {
            Ok(i) => Number::Int(i, &text),
            Err(_) => Number::BigInt(&text),
        };
        Ok(self.apply(|a, emit| a.apply_number(n, emit)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Outcome, E> {
        if !self.accepts(JsonType::Number) {
            return self.wrong_type(JsonType::Number);
        }
        Ok(self.apply(|a, emit| a.apply_number(Number::Float(v), emit)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Outcome, A::Error> {
        self.wrong_type(JsonType::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outcome, A::Error> {
        let ActionSeed { rule, ctx, depth, .. } = self;
        let pipe = ctx.pipe;
        let the_rule = &pipe.rules[rule];
        let levels = match &the_rule.action {
            Action::GeneralizeLocation(g) if the_rule.accepts.contains(JsonType::Object) => {
                g.levels()
            }
            _ => {
                let msg = wrong_type_message(
                    &the_rule.path,
                    the_rule.action_name,
                    the_rule.accepts,
                    JsonType::Object,
                );
                return Err(ctx.fail(ErrorCode::WrongType, msg));
            }
        };
        if depth > pipe.max_depth {
            return Err(ctx.too_deep());
        }
        ctx.out.push(b'{');
        let body_start = ctx.out.len();
        let mut seen = 0u64;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if let Some(li) = levels.iter().position(|l| l.as_str() == key) {
                let level = &levels[li];
                let path = format!("{}.{level}", the_rule.path);
                if seen & (1 << li) != 0 {
                    let message = format!("field `{path}` appears twice");
                    return Err(ctx.fail(ErrorCode::DuplicateField, message));
                }
                seen |= 1 << li;
                let raw: &'de RawValue = map.next_value()?;
                let found = raw_type(raw);
                if !TypeSet::SCALARS.contains(found) {
                    let msg = wrong_type_message(
                        &path,
                        "a generalize_location level",
                        TypeSet::SCALARS,
                        found,
                    );
                    return Err(ctx.fail(ErrorCode::WrongType, msg));
                }
                strict_check(ctx, raw, depth + 1)?;
                ctx.sep(body_start);
                write_str(ctx.out, level);
                ctx.out.push(b':');
                ctx.out.extend_from_slice(raw.get().as_bytes());
            } else {
                map.next_value_seed(SkipSeed { ctx: &mut *ctx, depth: depth + 1 })?;
            }
        }
        ctx.out.push(b'}');
        Ok(Outcome::Written)
    }
}
