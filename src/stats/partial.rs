//! Wire format of mergeable partial aggregates (`logveil.stats.partial/1`),
//! exchanged between instances on an internal topic.
//!
//! A closed window becomes one `window` record (sender watermark and late
//! count), one `group` record per group and at most one `overflow` record,
//! all keyed `stat|window_start`. Nothing is thresholded here: partials carry
//! sketches, not raw values, and the owner applies the thresholds after
//! merging. Shapes are checked against the owner's compiled stat, so a
//! partial from a differently configured instance is rejected, not mixed in.
//!
//! Measures: `{"count":n}`, `{"sum":{"scaled":"<i128 in 2^-32 units>","int":bool}}`,
//! `{"distinct":{"p":12,"exact":[hash,..]}}` or `{"distinct":{"p":12,"dense":"<hex registers>"}}`,
//! `{"quantiles":{"accuracy":0.01,"zero":n,"pos":[offset,[counts..]],"neg":[offset,[counts..]]}}`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::compile::{CompiledKind, CompiledStat};
use super::extract::MAX_DIMENSION_BYTES;
use super::hll::{Hll, Registers};
use super::sketch::{DdSketch, Store};
use super::time::write_rfc3339_secs;
use super::window::{GroupAgg, MeasureAgg, SumAgg, WindowAgg};
use super::{PartialRow, StatsError};

/// Schema tag of partial records.
pub(crate) const PARTIAL_SCHEMA: &str = "logveil.stats.partial/1";

/// What a partial record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PartialKind {
    Window,
    Group,
    Overflow,
}

/// One partial record.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartialWire<'a> {
    pub(crate) schema: String,
    pub(crate) stat: String,
    pub(crate) kind: PartialKind,
    pub(crate) window_start_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) watermark_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) late_records: u64,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) group: Option<&'a RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) overflow_keys: Option<HllWire>,
    #[serde(default)]
    pub(crate) count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) measures: Vec<MeasureWire>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum MeasureWire {
    Count(u64),
    Sum { scaled: String, int: bool },
    Distinct(HllWire),
    Quantiles { accuracy: f64, zero: u64, pos: (i32, Vec<u64>), neg: (i32, Vec<u64>) },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HllWire {
    p: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exact: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dense: Option<String>,
}

impl HllWire {
    fn encode(h: &Hll) -> Self {
        let (exact, dense) = match h.registers() {
            Registers::Exact(e) => (Some(e.clone()), None),
            Registers::Dense(r) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let hex = r.iter().flat_map(|b| {
                    [HEX[usize::from(b >> 4)] as char, HEX[usize::from(b & 15)] as char]
                });
                (None, Some(hex.collect()))
            }
        };
        Self { p: h.precision(), exact, dense }
    }

    fn decode(self) -> Option<Hll> {
        let regs = match (self.exact, self.dense) {
            (Some(e), None) => Registers::Exact(e),
            (None, Some(hex)) => {
                let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
                let bytes = hex.as_bytes();
                if bytes.len() % 2 != 0 {
                    return None;
                }
                let regs: Option<Vec<u8>> =
                    bytes.chunks(2).map(|c| Some(nibble(c[0])? << 4 | nibble(c[1])?)).collect();
                Registers::Dense(regs?.into_boxed_slice())
            }
            _ => return None,
        };
        Hll::from_registers(self.p, regs)
    }
}

/// A sketch store on the wire: its occupied range only (no growth slack).
fn wire_store(s: &Store) -> (i32, Vec<u64>) {
    s.to_dense()
}

fn encode_group(stat: &CompiledStat, g: &GroupAgg) -> Vec<MeasureWire> {
    g.measures
        .iter()
        .zip(&stat.measures)
        .map(|(m, spec)| match m {
            MeasureAgg::Count(n) => MeasureWire::Count(*n),
            MeasureAgg::Sum(s) => {
                MeasureWire::Sum { scaled: s.scaled().to_string(), int: s.all_int }
            }
            MeasureAgg::Distinct(h) => MeasureWire::Distinct(HllWire::encode(h)),
            MeasureAgg::Quantiles(d) => MeasureWire::Quantiles {
                accuracy: match &spec.kind {
                    CompiledKind::Quantiles { accuracy, .. } => *accuracy,
                    _ => f64::NAN,
                },
                zero: d.zero,
                pos: wire_store(&d.positive),
                neg: wire_store(d.negative()),
            },
        })
        .collect()
}

/// Rebuilds a group aggregate, checking every measure against `stat`.
///
/// # Errors
/// [`StatsError::Partial`] when a measure is malformed or shaped differently.
pub(crate) fn decode_group(
    stat: &CompiledStat,
    count: u64,
    measures: Vec<MeasureWire>,
) -> Result<GroupAgg, StatsError> {
    let mismatch = StatsError::Partial("measures do not match the stat definition");
    if measures.len() != stat.measures.len() {
        return Err(mismatch);
    }
    let mut out = Vec::with_capacity(measures.len());
    for (wire, expected) in measures.into_iter().zip(&stat.measures) {
        let agg = match (wire, &expected.kind) {
            (MeasureWire::Count(n), CompiledKind::Count) => MeasureAgg::Count(n),
            (MeasureWire::Sum { scaled, int }, CompiledKind::Sum) => {
                let scaled = scaled.parse().map_err(|_| StatsError::Partial("malformed sum"))?;
                MeasureAgg::Sum(SumAgg::new(scaled, int))
            }
            (MeasureWire::Distinct(w), CompiledKind::Distinct { precision }) => {
                let got = w.decode().ok_or(StatsError::Partial("malformed distinct sketch"))?;
                if got.precision() != *precision {
                    return Err(mismatch);
                }
                MeasureAgg::Distinct(got)
            }
            (
                MeasureWire::Quantiles { accuracy, zero, pos, neg },
                CompiledKind::Quantiles { accuracy: expected, .. },
            ) => {
                if accuracy.to_bits() != expected.to_bits() {
                    return Err(mismatch);
                }
                let store = |(offset, counts)| Store::dense(offset, counts);
                let got = DdSketch::from_parts(zero, store(pos), store(neg))
                    .ok_or(StatsError::Partial("malformed quantile sketch"))?;
                MeasureAgg::Quantiles(got)
            }
            _ => return Err(mismatch),
        };
        out.push(agg);
    }
    Ok(GroupAgg { count, measures: out.into_boxed_slice() })
}

/// Validates a group key (array of `dims` scalars) and rewrites it in the
/// canonical form the local path writes ([`super::extract::Record::write_json`],
/// i.e. serde_json's own output): every element is decoded, so `"/x"` and
/// `"\/x"` are one key, and decoding is strict, so a lone surrogate escape
/// (`"\ud800"`), a number out of range or a string longer than any
/// dimension this version keeps is refused rather than merged.
///
/// # Errors
/// [`StatsError::Partial`] when the key is not such an array.
pub(crate) fn canonical_key(
    raw: &RawValue,
    dims: usize,
    out: &mut Vec<u8>,
) -> Result<(), StatsError> {
    let bad = || StatsError::Partial("malformed group key");
    let values: Vec<serde_json::Value> = serde_json::from_str(raw.get()).map_err(|_| bad())?;
    if values.len() != dims {
        return Err(bad());
    }
    out.clear();
    out.push(b'[');
    for (i, v) in values.iter().enumerate() {
        match v {
            serde_json::Value::Object(_) | serde_json::Value::Array(_) => return Err(bad()),
            serde_json::Value::String(s) if s.len() > MAX_DIMENSION_BYTES => return Err(bad()),
            _ => {}
        }
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, v).map_err(|_| bad())?;
    }
    out.push(b']');
    Ok(())
}

/// Appends the partial records of one closed window; returns how many.
pub(crate) fn window_partials(
    stat: &CompiledStat,
    start: i64,
    mut win: WindowAgg,
    watermark: Option<i64>,
    late: u64,
    out: &mut Vec<PartialRow>,
) -> u64 {
    let mut key = stat.name.as_bytes().to_vec();
    key.push(b'|');
    write_rfc3339_secs(start, &mut key);
    let wire = |kind, group, count, measures| PartialWire {
        schema: PARTIAL_SCHEMA.to_owned(),
        stat: stat.name.clone(),
        kind,
        window_start_ms: start,
        watermark_ms: watermark,
        late_records: 0,
        group,
        overflow_keys: None,
        count,
        measures,
    };
    let mut rows = Vec::new();
    let mut meta = wire(PartialKind::Window, None, 0, Vec::new());
    meta.late_records = late.saturating_add(win.late_records);
    rows.push(meta);
    let groups = win.take_sorted();
    for (k, g) in &groups {
        // Keys are JSON arrays written by this module, so this cannot fail.
        if let Ok(raw) = serde_json::from_slice::<&RawValue>(k) {
            rows.push(wire(PartialKind::Group, Some(raw), g.count, encode_group(stat, g)));
        }
    }
    if let Some(o) = &win.overflow {
        let mut w = wire(PartialKind::Overflow, None, o.count, encode_group(stat, o));
        w.overflow_keys = win.overflow_keys.as_ref().map(HllWire::encode);
        rows.push(w);
    }
    let n = rows.len() as u64;
    for row in rows {
        if let Ok(json) = serde_json::to_vec(&row) {
            out.push(PartialRow { key: key.clone(), json });
        }
    }
    n
}

/// Decodes the overflow-keys sketch of a partial.
///
/// # Errors
/// [`StatsError::Partial`] when it is malformed.
pub(crate) fn decode_overflow_keys(w: Option<HllWire>) -> Result<Option<Hll>, StatsError> {
    w.map(|w| w.decode().ok_or(StatsError::Partial("malformed overflow sketch"))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hll_wire_round_trips_exact_and_dense() {
        for n in [0_u64, 5, 5_000] {
            let mut h = Hll::new(10);
            (0..n).for_each(|i| h.insert_hash(super::super::hll::hash64(&i.to_le_bytes())));
            let json = serde_json::to_string(&HllWire::encode(&h)).unwrap();
            let back: HllWire = serde_json::from_str(&json).unwrap();
            assert_eq!(back.decode().unwrap(), h);
        }
    }

    #[test]
    fn malformed_hll_wire_rejected() {
        for bad in [
            r#"{"p":10,"dense":"0g"}"#,
            r#"{"p":10,"dense":"000"}"#,
            r#"{"p":10}"#,
            r#"{"p":10,"exact":[],"dense":""}"#,
            r#"{"p":2,"exact":[]}"#,
        ] {
            let w: HllWire = serde_json::from_str(bad).unwrap();
            assert!(w.decode().is_none(), "{bad}");
        }
    }

    #[test]
    fn canonical_keys() {
        let mut out = Vec::new();
        let raw: Box<RawValue> = serde_json::from_str(r#"[ "a" , null, 4 ]"#).unwrap();
        canonical_key(&raw, 3, &mut out).unwrap();
        assert_eq!(out, br#"["a",null,4]"#);
        assert!(canonical_key(&raw, 2, &mut out).is_err());
        for bad in [r#"[{"a":1}]"#, r#"[[1]]"#, r#"{"a":1}"#, "3"] {
            let raw: Box<RawValue> = serde_json::from_str(bad).unwrap();
            assert!(canonical_key(&raw, 1, &mut out).is_err(), "{bad}");
        }
    }

    /// Fuzzing reproducers (issue 15): escapes are decoded to one canonical
    /// spelling, and text serde_json refuses is refused.
    #[test]
    fn canonical_keys_decode_escapes_strictly() {
        let mut out = Vec::new();
        let canon = |text: &str, out: &mut Vec<u8>| {
            let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
            canonical_key(&raw, 1, out).map(|()| String::from_utf8(out.clone()).unwrap())
        };
        assert_eq!(canon(r#"["/x"]"#, &mut out).unwrap(), r#"["/x"]"#);
        assert_eq!(canon(r#"["\/x"]"#, &mut out).unwrap(), r#"["/x"]"#);
        assert_eq!(canon(r#"["\u0041\u00e9"]"#, &mut out).unwrap(), r#"["Aé"]"#);
        assert_eq!(canon(r#"["\ud83d\ude00"]"#, &mut out).unwrap(), "[\"\u{1F600}\"]");
        assert_eq!(canon(r#"["a\u0001"]"#, &mut out).unwrap(), r#"["a\u0001"]"#);
        assert_eq!(canon("[1.50]", &mut out).unwrap(), "[1.5]");
        for bad in [r#"["\ud800"]"#, r#"["\udc00x"]"#, "[1e400]"] {
            // RawValue accepts these (it only checks syntax); the key must not.
            assert!(canon(bad, &mut out).is_err(), "{bad}");
        }
        let long = format!("[{:?}]", "a".repeat(MAX_DIMENSION_BYTES + 1));
        assert!(canon(&long, &mut out).is_err());
    }

    /// A partial whose key differs only in escaping merges into the same
    /// group as the local observation, so the window has one row, thresholded
    /// on the whole; a lone surrogate is refused and nothing is merged.
    #[test]
    fn escaped_keys_merge_into_one_group_and_bad_keys_merge_nothing() {
        use super::super::tests::{access_spec, engine, groups, parse, rec};
        let mut sender = engine(&access_spec("min_count = 2"));
        sender.observe(&rec(0, "/a", "k1:u1", 1));
        let mut parts = Vec::new();
        sender.finish_partials(&mut parts);
        let group = String::from_utf8(parts[1].json.clone()).unwrap();
        assert!(group.contains(r#""group":["/a","#), "{group}");
        let escaped = group.replace(r#""group":["/a","#, r#""group":["\/a","#);
        let mut owner = engine(&access_spec("min_count = 2"));
        owner.observe(&rec(1, "/a", "k1:u2", 1));
        owner.merge_partial(escaped.as_bytes()).unwrap();
        assert_eq!(owner.open_groups(), 1);
        let mut rows = Vec::new();
        owner.finish(&mut rows);
        let rows = parse(&rows);
        let g = groups(&rows);
        assert_eq!(g.len(), 1, "{rows:?}");
        assert_eq!(g[0]["measures"]["requests"], 2, "thresholded on the whole");

        let mut owner = engine(&access_spec(""));
        let surrogate = group.replace(r#""group":["/a","#, r#""group":["\ud800","#);
        let msg = owner.merge_partial(surrogate.as_bytes()).unwrap_err().to_string();
        assert_eq!(msg, "stats partial: malformed group key");
        assert_eq!(owner.open_windows(), 0);
        assert_eq!(owner.counters().partials_merged, 0);
    }
}
