//! The oracle's rule application: the value serde_json decoded, checked
//! against the rule's types and handed to the same per-action functions
//! the record walk calls.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::skip::{raw_type, strict_check, KeySeed, SkipSeed};
use super::Ctx;
use crate::actions::{Emit, Number, Outcome};
use crate::error::ErrorCode;
use crate::pipeline::compile::{Action, Child};
use crate::pipeline::json_out::write_str;
use crate::pipeline::types::{wrong_type_message, JsonType, TypeSet};

/// Applies one rule's action to the value under its field name.
pub(super) struct ActionSeed<'a, 's, 'p> {
    pub(super) rule: usize,
    pub(super) child: &'p Child,
    pub(super) ctx: &'a mut Ctx<'s, 'p>,
    pub(super) depth: usize,
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
    fn apply(self, f: impl FnOnce(&Action, &mut Emit<'_>) -> Outcome) -> Outcome {
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
