//! The oracle's helpers for values it does not transform: object keys,
//! skipped values (depth-checked) and the strict re-read of kept values.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::Ctx;
use crate::error::ErrorCode;
use crate::pipeline::types::JsonType;

/// Re-reads the value `raw` holds (borrowed from the document) the way
/// serde_json decodes a value into a visitor: a lone surrogate or a number
/// beyond `f64` is invalid JSON, reported at its place in the document.
pub(super) fn strict_check<E: de::Error>(
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
pub(super) fn raw_type(raw: &RawValue) -> JsonType {
    raw.get().bytes().next().and_then(JsonType::of_first_byte).unwrap_or(JsonType::Null)
}

/// Borrowed-if-possible object key.
pub(super) struct KeySeed;

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
pub(super) struct SkipSeed<'a, 's, 'p> {
    pub(super) ctx: &'a mut Ctx<'s, 'p>,
    pub(super) depth: usize,
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
