//! What the walk does with one value under a rule: kept scalars copied as
//! raw bytes after strict checks, `generalize_location` levels, and
//! transformed strings and numbers handed to the action registry
//! ([`crate::actions::Action`]) through an [`Emit`].

use std::fmt;

use serde::de::{self, DeserializeSeed, Visitor};

use super::{string_text, Ctx, Outcome, Stop};
use crate::actions::{Emit, Number};
use crate::error::ErrorCode;
use crate::pipeline::compile::Child;
use crate::pipeline::json_out::write_str;
use crate::pipeline::types::{wrong_type_message, JsonType, TypeSet};
use crate::scan::Cursor;

/// Reads a value that is copied through as raw bytes when it is a scalar
/// (`keep`, a `generalize_location` level) and returns where it starts.
/// It is read leniently first, as serde_json reads a `RawValue`; an object
/// or array is then refused with `refuse` (never copied); and a scalar
/// serde_json would refuse to decode (a lone-surrogate escape, a number
/// beyond `f64`) is invalid JSON at the same position as in a decoded
/// field, so kept and decoded values are held to the same rules and every
/// output parses under strict parsers.
#[inline]
pub(super) fn keep_scalar(
    ctx: &mut Ctx<'_, '_>,
    cur: &mut Cursor<'_>,
    refuse: impl FnOnce(&mut Ctx<'_, '_>, JsonType) -> Stop,
) -> Result<usize, Stop> {
    let first = cur.peek_ws();
    let start = cur.pos();
    match first {
        Some(b'"') => {
            let before = cur.clone();
            let span = cur.string(false)?;
            if span.escaped {
                // Only `\u` escapes differ between the two strengths.
                let mut strict = before;
                strict.string(true)?;
            }
        }
        // A number's range is checked after its grammar, as serde_json does.
        Some(b'-' | b'0'..=b'9') => {
            cur.number(true)?;
        }
        Some(b @ (b'{' | b'[')) => {
            cur.skip_raw(ctx.stack)?;
            let found = if b == b'{' { JsonType::Object } else { JsonType::Array };
            return Err(refuse(ctx, found));
        }
        _ => {
            cur.skip_raw(ctx.stack)?;
        }
    }
    Ok(start)
}

/// `generalize_location` on an object (its `{` consumed): listed levels are
/// copied through (scalars only, each at most once), the rest skipped.
pub(super) fn generalize_location(
    ctx: &mut Ctx<'_, '_>,
    cur: &mut Cursor<'_>,
    ri: usize,
    levels: &[String],
    depth: usize,
    text: &mut String,
) -> Result<Outcome, Stop> {
    let pipe = ctx.pipe;
    if depth > pipe.max_depth {
        return Err(ctx.too_deep());
    }
    let bytes = cur.bytes();
    ctx.out.push(b'{');
    let body_start = ctx.out.len();
    // Levels already seen (at most `MAX_LEVELS`, checked at load).
    let mut seen = 0u64;
    let mut more = cur.first_member()?;
    while more {
        // Refusals about the name come before the colon is read, as in serde_json.
        let span = cur.key_only()?;
        // SAFETY: `span` is `cur.key_only()`'s and `bytes` is `cur.bytes()`.
        let key = unsafe { string_text(bytes, span, text) }?;
        match levels.iter().position(|l| l.as_str() == key) {
            Some(li) => {
                let level = &levels[li];
                if seen & (1 << li) != 0 {
                    let path = &pipe.rules[ri].path;
                    let message = format!("field `{path}.{level}` appears twice");
                    return Err(ctx.fail(ErrorCode::DuplicateField, message));
                }
                seen |= 1 << li;
                cur.expect(b':')?;
                let start =
                    keep_scalar(ctx, cur, |ctx, found| level_wrong_type(ctx, ri, level, found))?;
                ctx.sep(body_start);
                write_str(ctx.out, level);
                ctx.out.push(b':');
                ctx.out.extend_from_slice(&bytes[start..cur.pos()]);
            }
            None => {
                cur.expect(b':')?;
                cur.skip_strict(depth + 1, pipe.max_depth).map_err(|e| ctx.skip_error(e))?;
            }
        }
        more = cur.next_member()?;
    }
    ctx.out.push(b'}');
    Ok(Outcome::Written)
}

pub(super) fn wrong_type(ctx: &mut Ctx<'_, '_>, ri: usize, found: JsonType) -> Stop {
    let rule = &ctx.pipe.rules[ri];
    let msg = wrong_type_message(&rule.path, rule.action_name, rule.accepts, found);
    ctx.fail(ErrorCode::WrongType, msg)
}

/// A `generalize_location` level holding an object or array.
pub(super) fn level_wrong_type(
    ctx: &mut Ctx<'_, '_>,
    ri: usize,
    level: &str,
    found: JsonType,
) -> Stop {
    let path = format!("{}.{level}", ctx.pipe.rules[ri].path);
    let msg = wrong_type_message(&path, "a generalize_location level", TypeSet::SCALARS, found);
    ctx.fail(ErrorCode::WrongType, msg)
}

/// The per-worker state an action writes with, borrowed from the context
/// for one value of field `child`.
macro_rules! emit {
    ($ctx:expr, $child:expr) => {
        Emit {
            out: &mut *$ctx.out,
            tmp: &mut *$ctx.tmp,
            ua: &mut *$ctx.ua,
            now_ms: &mut $ctx.now_ms,
            prev_key: &$child.prev_key,
        }
    };
}

/// Rule `ri` applied to a string value (its type already checked).
#[inline]
pub(super) fn apply_str(
    ctx: &mut Ctx<'_, '_>,
    ri: usize,
    child: &Child,
    s: &str,
) -> Result<Outcome, Stop> {
    let action = &ctx.pipe.rules[ri].action;
    Ok(action.apply_str(s, &mut emit!(ctx, child)))
}

/// A rule applied to a number: serde_json decodes it exactly as before
/// (`i64`/`u64`/`f64`, and the text the actions see is re-printed from that).
pub(super) fn apply_number(
    ctx: &mut Ctx<'_, '_>,
    ri: usize,
    child: &Child,
    raw: &[u8],
    end: usize,
) -> Result<Outcome, Stop> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let seed = NumberSeed { ri, child, ctx: &mut *ctx };
    match seed.deserialize(&mut de) {
        Ok(outcome) => Ok(outcome),
        Err(_) => Err(Stop::Syntax(end)),
    }
}

/// Sees a number the way serde_json types it.
struct NumberSeed<'a, 's, 'p> {
    ri: usize,
    child: &'a Child,
    ctx: &'a mut Ctx<'s, 'p>,
}

impl<'de> DeserializeSeed<'de> for NumberSeed<'_, '_, '_> {
    type Value = Outcome;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Outcome, D::Error> {
        d.deserialize_any(self)
    }
}

impl NumberSeed<'_, '_, '_> {
    fn apply(self, n: Number<'_>) -> Outcome {
        let NumberSeed { ri, child, ctx } = self;
        let action = &ctx.pipe.rules[ri].action;
        action.apply_number(n, &mut emit!(ctx, child))
    }
}

impl<'de> Visitor<'de> for NumberSeed<'_, '_, '_> {
    type Value = Outcome;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Outcome, E> {
        let mut buf = itoa::Buffer::new();
        Ok(self.apply(Number::Int(v, buf.format(v))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Outcome, E> {
        let mut buf = itoa::Buffer::new();
        let text = buf.format(v);
        Ok(self.apply(match i64::try_from(v) {
            Ok(i) => Number::Int(i, text),
            Err(_) => Number::BigInt(text),
        }))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Outcome, E> {
        Ok(self.apply(Number::Float(v)))
    }
}
