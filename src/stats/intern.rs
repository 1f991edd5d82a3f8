//! Dimension values interned per shard, so a record finds its group by a
//! short tuple of small ids instead of rendering and hashing its whole
//! group key.
//!
//! A [`DimInterner`] gives each distinct dimension value of one statistic
//! (in one shard) an id and keeps the value's JSON text, exactly what
//! [`Record::write_json`] writes for it (strings cut at
//! [`MAX_DIMENSION_BYTES`]). Strings are looked up by their (cut) text,
//! other values by their JSON text, and null, missing and composite values
//! share id 0 (`null`), so two values get the same id exactly when they
//! render alike in a group key.
//!
//! Ids never leave the shard: before a window is taken out for merging,
//! [`DimInterner::resolve`] turns its id-keyed groups into the canonical
//! byte keys (`[v1,v2,...]`) every other part of the statistics uses.
//! The interner holds anonymized output values only, as the group keys
//! did; it is bounded by [`MAX_INTERNED`]: beyond that, the shard resolves
//! all its open windows and starts afresh.

use std::collections::HashMap;

use super::compile::CompiledStat;
use super::extract::{Record, Val, MAX_DIMENSION_BYTES};
use super::window::WindowAgg;

/// Distinct values kept per statistic and shard before starting afresh.
pub(crate) const MAX_INTERNED: usize = 1 << 16;

type Ids<K> = HashMap<K, u32, foldhash::fast::RandomState>;

/// See the module doc.
#[derive(Debug)]
pub(crate) struct DimInterner {
    strings: Ids<Box<str>>,
    others: Ids<Box<[u8]>>,
    /// JSON text by id (id 0 is `null`).
    texts: Vec<Box<[u8]>>,
    scratch: Vec<u8>,
}

impl Default for DimInterner {
    fn default() -> Self {
        Self {
            strings: Ids::default(),
            others: Ids::default(),
            texts: vec![b"null"[..].into()],
            scratch: Vec::new(),
        }
    }
}

impl DimInterner {
    /// The id of `v` (a value of `rec`), interning it when new.
    pub(crate) fn id(&mut self, rec: &Record, v: Val) -> u32 {
        match v {
            Val::Missing | Val::Null | Val::Composite => 0,
            Val::Str(..) => {
                let s = rec.text(v);
                let mut cut = s.len().min(MAX_DIMENSION_BYTES);
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                let s = &s[..cut];
                if let Some(&id) = self.strings.get(s) {
                    return id;
                }
                let id = self.push_text(rec, v);
                self.strings.insert(s.into(), id);
                id
            }
            _ => {
                self.scratch.clear();
                rec.write_json(v, &mut self.scratch);
                if let Some(&id) = self.others.get(self.scratch.as_slice()) {
                    return id;
                }
                let id = self.push_text(rec, v);
                self.others.insert(self.scratch.as_slice().into(), id);
                id
            }
        }
    }

    fn push_text(&mut self, rec: &Record, v: Val) -> u32 {
        let mut text = Vec::new();
        rec.write_json(v, &mut text);
        self.texts.push(text.into());
        (self.texts.len() - 1) as u32
    }

    /// Values interned so far (a full interner makes the shard start afresh).
    pub(crate) fn len(&self) -> usize {
        self.texts.len()
    }

    /// Appends the canonical group key of `ids` (`[v1,v2,...]`).
    pub(crate) fn write_key(&self, ids: &[u32], out: &mut Vec<u8>) {
        out.clear();
        out.push(b'[');
        for (i, &id) in ids.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(self.texts.get(id as usize).map_or(&b"null"[..], |t| t));
        }
        out.push(b']');
    }

    /// Moves the id-keyed groups of `window` to its byte-keyed groups
    /// (merging with any already there), as the rest of the statistics
    /// expect them.
    pub(crate) fn resolve(&self, window: &mut WindowAgg, stat: &CompiledStat) {
        if window.by_id.is_empty() {
            return;
        }
        let (mut key, mut ids) = (Vec::new(), Vec::new());
        for (packed, g) in std::mem::take(&mut window.by_id) {
            unpack(packed, stat.dims.len(), &mut ids);
            self.write_key(&ids, &mut key);
            // Never overflows: groups of both kinds counted together stayed
            // within `max_groups`.
            let _ = window.merge_group(&key, g, stat);
        }
    }
}

/// Most dimensions whose ids [`pack`] puts in one key.
pub(crate) const PACKED_DIMS: usize = 8;

/// A group's ids as one map key, 16 bits each (dimension `i` in bits
/// `16 i..16 i + 16`); `None` beyond [`PACKED_DIMS`] dimensions or for an
/// id that does not fit 16 bits (those groups use byte keys). A
/// statistic's dimension count is fixed, so equal keys are equal ids.
pub(crate) fn pack(ids: &[u32]) -> Option<u128> {
    if ids.len() > PACKED_DIMS {
        return None;
    }
    let mut packed = 0_u128;
    for (i, &id) in ids.iter().enumerate() {
        let id = u16::try_from(id).ok()?;
        packed |= u128::from(id) << (16 * i);
    }
    Some(packed)
}

/// The `n` ids of a [`pack`]ed key.
pub(crate) fn unpack(packed: u128, n: usize, out: &mut Vec<u32>) {
    out.clear();
    out.extend((0..n.min(PACKED_DIMS)).map(|i| (packed >> (16 * i)) as u16 as u32));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_rendered_key() {
        let mut rec = Record::default();
        let mut interner = DimInterner::default();
        let long_a = "é".repeat(200) + "a";
        let long_b = "é".repeat(200) + "b";
        let values = [
            rec.push_str("Chrome"),
            rec.push_str("7"),
            Val::UInt(7),
            Val::Int(7),
            Val::Float(7.0),
            Val::Bool(true),
            rec.push_str("true"),
            rec.push_str("null"),
            Val::Null,
            Val::Missing,
            Val::Composite,
            rec.push_str("q\"uote\u{1}"),
            rec.push_str(&long_a),
            rec.push_str(&long_b),
            rec.push_str("Chrome"),
        ];
        let ids: Vec<u32> = values.iter().map(|v| interner.id(&rec, *v)).collect();
        for (i, a) in values.iter().enumerate() {
            let mut ja = Vec::new();
            rec.write_json(*a, &mut ja);
            // The interned text is the rendered value.
            let mut key = Vec::new();
            interner.write_key(&ids[i..=i], &mut key);
            assert_eq!(key, [b"[", &ja[..], b"]"].concat(), "{a:?}");
            for (j, b) in values.iter().enumerate() {
                let mut jb = Vec::new();
                rec.write_json(*b, &mut jb);
                // Oracle: same id exactly when the JSON renderings are equal.
                assert_eq!(ids[i] == ids[j], ja == jb, "{a:?} vs {b:?}");
            }
        }
        assert_eq!(ids[12], ids[13], "cut to the same 256 bytes");
        assert_eq!(ids[8], 0);
    }

    #[test]
    fn packed_keys_round_trip_and_refuse_what_does_not_fit() {
        let mut out = Vec::new();
        for ids in [&[][..], &[0], &[1, 0, 65_535], &[7; PACKED_DIMS], &[0, 0, 0, 9]] {
            let packed = pack(ids).unwrap();
            unpack(packed, ids.len(), &mut out);
            assert_eq!(out, ids);
        }
        assert_ne!(pack(&[1, 2]), pack(&[2, 1]));
        assert_eq!(pack(&[65_536]), None);
        assert_eq!(pack(&[0; PACKED_DIMS + 1]), None);
    }

    #[test]
    fn keys_equal_the_concatenated_rendering() {
        let mut rec = Record::default();
        let mut interner = DimInterner::default();
        let vals = [rec.push_str("/a/{id}"), rec.push_str("2xx"), Val::Missing, Val::UInt(3)];
        let ids: Vec<u32> = vals.iter().map(|v| interner.id(&rec, *v)).collect();
        let mut key = Vec::new();
        interner.write_key(&ids, &mut key);
        assert_eq!(key, br#"["/a/{id}","2xx",null,3]"#);
        interner.write_key(&[], &mut key);
        assert_eq!(key, b"[]");
    }
}
