//! Aggregation state of one window: groups keyed by their dimension values,
//! one state per measure, and the overflow that absorbs groups beyond
//! `max_groups` (with a sketch counting how many distinct groups it absorbed).
//!
//! Everything here is deterministic: groups are emitted in byte order of
//! their key (a compact JSON array of the dimension values), and aggregates
//! are associative and commutative (integer counts, sums in 2^-32 fixed
//! point, HyperLogLog max, DDSketch bucket sums), so merged partials render
//! exactly like a single instance.

use std::collections::HashMap;
use std::io::Write as _;

use super::compile::{CompiledKind, CompiledMeasure, CompiledStat};
use super::extract::{Record, Val};
use super::hll::{hash64, Hll};
use super::intern::{pack, DimInterner};
use super::sketch::DdSketch;
use super::{SourceId, SourceSpan};

/// Fixed-point scale of sums (2^32).
const SUM_SCALE: f64 = 4_294_967_296.0;
/// Floats with a larger magnitude are ignored by sums.
const MAX_SUM_INPUT: f64 = 1e18;
/// Precision of the sketch that counts distinct overflowed group keys.
pub(crate) const OVERFLOW_KEYS_PRECISION: u8 = 12;

/// Exact, order-independent sum in units of 2^-32: an `i128` kept as two
/// 64-bit halves, so a group's measures align to 8 bytes, not 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SumAgg {
    lo: u64,
    hi: i64,
    pub(crate) all_int: bool,
}

impl Default for SumAgg {
    fn default() -> Self {
        Self::new(0, true)
    }
}

impl SumAgg {
    pub(crate) fn new(scaled: i128, all_int: bool) -> Self {
        Self { lo: scaled as u64, hi: (scaled >> 64) as i64, all_int }
    }

    /// The sum in units of 2^-32.
    pub(crate) fn scaled(&self) -> i128 {
        i128::from(self.hi) << 64 | i128::from(self.lo)
    }

    fn set_scaled(&mut self, scaled: i128) {
        *self = Self::new(scaled, self.all_int);
    }

    /// Adds another sum (saturating).
    pub(crate) fn merge(&mut self, other: &SumAgg) {
        self.set_scaled(self.scaled().saturating_add(other.scaled()));
        self.all_int &= other.all_int;
    }

    fn add(&mut self, v: Val) {
        let scaled = match v {
            Val::Int(i) => i128::from(i) << 32,
            Val::UInt(u) => i128::from(u) << 32,
            Val::Float(f) if f.is_finite() && f.abs() <= MAX_SUM_INPUT => {
                self.all_int = false;
                (f * SUM_SCALE).round() as i128
            }
            _ => return,
        };
        self.set_scaled(self.scaled().saturating_add(scaled));
    }

    /// Appends the sum as a JSON number: an integer if every input was one,
    /// else exact decimal text rounded to 9 fraction digits (at least `.0`).
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let scaled = self.scaled();
        let abs = scaled.unsigned_abs();
        let (mut int, frac) = (abs >> 32, abs & 0xFFFF_FFFF);
        let mut nanos = (frac * 1_000_000_000 + (1 << 31)) >> 32;
        if nanos == 1_000_000_000 {
            int += 1;
            nanos = 0;
        }
        if scaled < 0 && (int > 0 || nanos > 0) {
            out.push(b'-');
        }
        let _ = write!(out, "{int}");
        if !self.all_int {
            let mut digits = [b'0'; 9];
            for (i, d) in digits.iter_mut().enumerate() {
                *d = b'0' + (nanos / 10_u128.pow(8 - i as u32) % 10) as u8;
            }
            let len = digits.iter().rposition(|&d| d != b'0').map_or(1, |p| p + 1);
            out.push(b'.');
            out.extend_from_slice(&digits[..len]);
        }
    }
}

/// State of one measure of one group. Parameters (HyperLogLog precision
/// aside, one byte) live in the compiled measure, not here: a sketch is
/// its counts only, so a group's measures stay small.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MeasureAgg {
    Count(u64),
    Sum(SumAgg),
    Distinct(Hll),
    Quantiles(DdSketch),
}

/// Aggregate of one group: record count plus one state per measure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupAgg {
    pub(crate) count: u64,
    pub(crate) measures: Box<[MeasureAgg]>,
}

impl GroupAgg {
    pub(crate) fn new(measures: &[CompiledMeasure]) -> Self {
        let measures = measures
            .iter()
            .map(|m| match &m.kind {
                CompiledKind::Count => MeasureAgg::Count(0),
                CompiledKind::Sum => MeasureAgg::Sum(SumAgg::default()),
                CompiledKind::Distinct { precision } => MeasureAgg::Distinct(Hll::new(*precision)),
                CompiledKind::Quantiles { .. } => MeasureAgg::Quantiles(DdSketch::default()),
            })
            .collect();
        Self { count: 0, measures }
    }

    /// Adds one record; `slots[i]` is the value slot of measure `i`, if it
    /// has a field, and `specs[i]` its definition.
    fn observe(
        &mut self,
        rec: &Record,
        specs: &[CompiledMeasure],
        slots: &[Option<usize>],
        scratch: &mut Vec<u8>,
    ) {
        self.count += 1;
        for ((m, slot), spec) in self.measures.iter_mut().zip(slots).zip(specs) {
            let v = slot.and_then(|s| rec.vals.get(s).copied()).unwrap_or(Val::Missing);
            match m {
                MeasureAgg::Count(n)
                    if slot.is_none() || !matches!(v, Val::Missing | Val::Null) =>
                {
                    *n += 1
                }
                MeasureAgg::Count(_) => {}
                MeasureAgg::Sum(s) => s.add(v),
                MeasureAgg::Distinct(h) => {
                    if let Some(hash) = rec.hash(v, scratch) {
                        h.insert_hash(hash);
                    }
                }
                MeasureAgg::Quantiles(d) => {
                    if let (Some(x), CompiledKind::Quantiles { mapping, .. }) =
                        (Record::number(v), &spec.kind)
                    {
                        d.add(mapping, x);
                    }
                }
            }
        }
    }

    /// Merges `other`; `false` (possibly half-merged) when the shapes differ.
    pub(crate) fn merge(&mut self, other: &GroupAgg) -> bool {
        if self.measures.len() != other.measures.len() {
            return false;
        }
        self.count = self.count.saturating_add(other.count);
        self.measures.iter_mut().zip(&other.measures).all(|pair| match pair {
            (MeasureAgg::Count(a), MeasureAgg::Count(b)) => {
                *a = a.saturating_add(*b);
                true
            }
            (MeasureAgg::Sum(a), MeasureAgg::Sum(b)) => {
                a.merge(b);
                true
            }
            (MeasureAgg::Distinct(a), MeasureAgg::Distinct(b)) => a.merge(b),
            (MeasureAgg::Quantiles(a), MeasureAgg::Quantiles(b)) => {
                a.merge(b);
                true
            }
            _ => false,
        })
    }

    /// k-anonymity check on the final (merged) group.
    pub(crate) fn passes(&self, stat: &CompiledStat) -> bool {
        self.count >= stat.min_count
            && (stat.min_distinct == 0
                || self.measures.iter().all(|m| match m {
                    MeasureAgg::Distinct(h) => h.estimate().round() as u64 >= stat.min_distinct,
                    _ => true,
                }))
    }
}

/// All state of one open window.
#[derive(Debug, Default)]
pub(crate) struct WindowAgg {
    /// foldhash with a random per-process seed: group keys come from record
    /// values, so the seed must not be guessable; SipHash cost ~5% of `observe`.
    pub(crate) groups: HashMap<Box<[u8]>, GroupAgg, foldhash::fast::RandomState>,
    /// A shard's groups keyed by interned dimension ids (see
    /// `super::intern`); moved to `groups` before the window leaves the
    /// shard. Empty whenever `groups` is not (partials merged into a
    /// shard's window first move these, and records then use byte keys).
    /// The ids are packed in one integer (`super::intern::pack`), so a
    /// group's key lives in the map's own slot: no allocation per group and
    /// no pointer to follow when probing.
    pub(crate) by_id: HashMap<u128, GroupAgg, foldhash::fast::RandomState>,
    /// Records of groups beyond `max_groups`.
    pub(crate) overflow: Option<GroupAgg>,
    /// Distinct group keys that went to the overflow (estimate).
    pub(crate) overflow_keys: Option<Hll>,
    /// Late records to report in this window's summary.
    pub(crate) late_records: u64,
    /// First and last offset per input partition that fed this window (a
    /// handful of partitions: a linear scan, most recent first).
    pub(crate) sources: Vec<SourceSpan>,
}

impl WindowAgg {
    /// Notes that `offset` of `source` fed this window.
    pub(crate) fn note_source(&mut self, source: SourceId, offset: i64) {
        if let Some(span) = self.sources.iter_mut().rev().find(|s| s.source == source) {
            span.first = span.first.min(offset);
            span.last = span.last.max(offset);
        } else {
            self.sources.push(SourceSpan { source, first: offset, last: offset });
        }
    }

    /// The first offset of `source` that fed this window.
    pub(crate) fn first_offset(&self, source: SourceId) -> Option<i64> {
        self.sources.iter().find(|s| s.source == source).map(|s| s.first)
    }

    /// Adds one record to group `key`, or to the overflow when the window is
    /// full; returns `true` for the overflow.
    pub(crate) fn observe(
        &mut self,
        key: &[u8],
        stat: &CompiledStat,
        rec: &Record,
        slots: &[Option<usize>],
        scratch: &mut Vec<u8>,
    ) -> bool {
        if observe_group(&mut self.groups, key, |k: &[u8]| k.into(), stat, rec, slots, scratch) {
            return false;
        }
        self.observe_overflow(key, stat, rec, slots, scratch)
    }

    /// Adds a record of group `key` to the overflow (the window is full).
    fn observe_overflow(
        &mut self,
        key: &[u8],
        stat: &CompiledStat,
        rec: &Record,
        slots: &[Option<usize>],
        scratch: &mut Vec<u8>,
    ) -> bool {
        self.overflow_keys
            .get_or_insert_with(|| Hll::new(OVERFLOW_KEYS_PRECISION))
            .insert_hash(hash64(key));
        self.overflow.get_or_insert_with(|| GroupAgg::new(&stat.measures)).observe(
            rec,
            &stat.measures,
            slots,
            scratch,
        );
        true
    }

    /// [`WindowAgg::observe`] for a record whose group is the interned
    /// dimension ids `ids`; the same decisions (an existing group, a new
    /// one, or the overflow beyond `max_groups`) as for its byte key.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn observe_ids(
        &mut self,
        ids: &[u32],
        interner: &DimInterner,
        key: &mut Vec<u8>,
        stat: &CompiledStat,
        rec: &Record,
        slots: &[Option<usize>],
        scratch: &mut Vec<u8>,
    ) -> bool {
        let packed = if self.groups.is_empty() { pack(ids) } else { None };
        let Some(packed) = packed else {
            // Byte keys from here on in this window (a no-op when they already are).
            interner.resolve(self, stat);
            interner.write_key(ids, key);
            return self.observe(key, stat, rec, slots, scratch);
        };
        if observe_group(&mut self.by_id, &packed, |k| *k, stat, rec, slots, scratch) {
            return false;
        }
        interner.write_key(ids, key);
        self.observe_overflow(key, stat, rec, slots, scratch)
    }

    /// Merges a group aggregate (from a partial); `None` on a shape mismatch,
    /// else whether it went to the overflow.
    pub(crate) fn merge_group(
        &mut self,
        key: &[u8],
        g: GroupAgg,
        stat: &CompiledStat,
    ) -> Option<bool> {
        match self.groups.get_mut(key) {
            Some(existing) => existing.merge(&g).then_some(false),
            None => Some(self.add_new_group(key, g, stat)),
        }
    }

    fn add_new_group(&mut self, key: &[u8], g: GroupAgg, stat: &CompiledStat) -> bool {
        if self.groups.len() < stat.max_groups {
            self.groups.insert(key.into(), g);
            return false;
        }
        let mut keys = Hll::new(OVERFLOW_KEYS_PRECISION);
        keys.insert_hash(hash64(key));
        self.merge_overflow(g, Some(keys));
        true
    }

    /// Folds `g` (and the sketch of its group keys) into the overflow.
    pub(crate) fn merge_overflow(&mut self, g: GroupAgg, keys: Option<Hll>) {
        match &mut self.overflow {
            Some(o) => {
                o.merge(&g);
            }
            None => self.overflow = Some(g),
        }
        match (&mut self.overflow_keys, keys) {
            (Some(mine), Some(k)) => {
                mine.merge(&k);
            }
            (None, k) => self.overflow_keys = k,
            (Some(_), None) => {}
        }
    }

    /// Merges another share of the same window (from another worker's
    /// shard): groups merge by key, overflows fold together, source spans
    /// widen. When the merged groups would exceed `max_groups`, `other`'s
    /// groups are taken in key order, so which ones overflow does not depend
    /// on hash order.
    pub(crate) fn absorb(&mut self, mut other: WindowAgg, stat: &CompiledStat) {
        if self.groups.len() + other.groups.len() > stat.max_groups {
            for (key, g) in other.take_sorted() {
                let _ = self.merge_group(&key, g, stat);
            }
        } else {
            for (key, g) in other.groups.drain() {
                let _ = self.merge_group(&key, g, stat);
            }
        }
        if let Some(o) = other.overflow.take() {
            self.merge_overflow(o, other.overflow_keys.take());
        }
        self.late_records = self.late_records.saturating_add(other.late_records);
        for span in &other.sources {
            self.note_source(span.source, span.first);
            self.note_source(span.source, span.last);
        }
    }

    /// Groups sorted by key (the deterministic output order).
    pub(crate) fn take_sorted(&mut self) -> Vec<(Box<[u8]>, GroupAgg)> {
        let mut groups: Vec<_> = std::mem::take(&mut self.groups).into_iter().collect();
        groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        groups
    }
}

/// Adds one record to the group `key` of `groups`, creating the group while
/// fewer than `max_groups` exist; `false` (nothing added) when the group is
/// new and the map is full, so the caller sends the record to the overflow.
/// One place for both group maps of a window: byte keys and interned ids.
fn observe_group<K, Q>(
    groups: &mut HashMap<K, GroupAgg, foldhash::fast::RandomState>,
    key: &Q,
    owned: impl FnOnce(&Q) -> K,
    stat: &CompiledStat,
    rec: &Record,
    slots: &[Option<usize>],
    scratch: &mut Vec<u8>,
) -> bool
where
    K: Eq + std::hash::Hash + std::borrow::Borrow<Q>,
    Q: Eq + std::hash::Hash + ?Sized,
{
    if let Some(g) = groups.get_mut(key) {
        g.observe(rec, &stat.measures, slots, scratch);
        return true;
    }
    if groups.len() >= stat.max_groups {
        return false;
    }
    let mut g = GroupAgg::new(&stat.measures);
    g.observe(rec, &stat.measures, slots, scratch);
    groups.insert(owned(key), g);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::spec::tests::{parse, EXAMPLE};

    fn sum_of(vals: &[Val]) -> SumAgg {
        let mut s = SumAgg::default();
        vals.iter().for_each(|v| s.add(*v));
        s
    }

    fn text(s: &SumAgg) -> String {
        let mut out = Vec::new();
        s.write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sums_are_exact_and_order_free() {
        assert_eq!(text(&sum_of(&[])), "0");
        assert_eq!(
            text(&sum_of(&[Val::UInt(u64::MAX), Val::UInt(u64::MAX), Val::Int(-1)])),
            "36893488147419103229"
        );
        assert_eq!(text(&sum_of(&[Val::Int(-5), Val::UInt(2)])), "-3");
        let floats = [Val::Float(0.1), Val::Float(0.2), Val::Float(0.3), Val::UInt(1)];
        let mut reversed = floats;
        reversed.reverse();
        assert_eq!(sum_of(&floats), sum_of(&reversed));
        assert_eq!(text(&sum_of(&floats)), "1.6");
        assert_eq!(text(&sum_of(&[Val::Float(-0.25), Val::Int(-2)])), "-2.25");
        assert_eq!(text(&sum_of(&[Val::Float(2.5), Val::Float(2.5)])), "5.0");
        assert_eq!(text(&sum_of(&[Val::Float(0.999_999_999_9)])), "1.0");
        assert_eq!(text(&sum_of(&[Val::Float(-1e-12)])), "0.0");
        assert_eq!(text(&sum_of(&[Val::Float(1e-9)])), "0.000000001");
        let ignored = [
            Val::Float(1e19),
            Val::Null,
            Val::Missing,
            Val::Bool(true),
            Val::Composite,
            Val::Str(0, 0),
        ];
        assert_eq!(sum_of(&ignored), SumAgg::default());
        let big = sum_of(&[Val::UInt(u64::MAX), Val::Int(i64::MIN), Val::Float(-0.5)]);
        assert_eq!(
            big.scaled(),
            (i128::from(u64::MAX) + i128::from(i64::MIN)) * (1 << 32) - (1 << 31)
        );
        assert_eq!(SumAgg::new(i128::MIN, true).scaled(), i128::MIN);
        assert_eq!(SumAgg::new(-1, true).scaled(), -1);
    }

    fn stat(max_groups: usize) -> CompiledStat {
        let mut c = parse(EXAMPLE).remove(0).compile().unwrap();
        c.max_groups = max_groups;
        c
    }

    #[test]
    fn merged_groups_respect_max_groups() {
        let c = stat(2);
        let mut w = WindowAgg::default();
        let mut g = GroupAgg::new(&c.measures);
        g.count = 3;
        for key in [&b"[1]"[..], b"[2]", b"[1]", b"[3]", b"[4]", b"[3]"] {
            let overflowed = w.merge_group(key, g.clone(), &c).unwrap();
            assert_eq!(overflowed, key == b"[3]" || key == b"[4]");
        }
        assert_eq!(w.groups.len(), 2);
        assert_eq!(w.groups[&b"[1]"[..]].count, 6);
        assert_eq!(w.overflow.as_ref().unwrap().count, 9);
        assert_eq!(w.overflow_keys.as_ref().unwrap().estimate(), 2.0);
        let keys: Vec<_> = w.take_sorted().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [b"[1]".to_vec().into_boxed_slice(), b"[2]".to_vec().into_boxed_slice()]);
    }

    #[test]
    fn group_merge_checks_shape() {
        let c = stat(10);
        let mut a = GroupAgg::new(&c.measures);
        let mut b = GroupAgg::new(&c.measures);
        b.measures.swap(0, 1);
        assert!(!a.merge(&b));
        let mut short = GroupAgg::new(&c.measures);
        short.measures = short.measures[1..].into();
        assert!(!a.merge(&short));
        assert!(a.merge(&GroupAgg::new(&c.measures)));
    }

    /// Groups keyed by packed ids until a record's ids do not pack; then
    /// the window turns to byte keys, merging what it held, and the counts
    /// are those of the rendered keys.
    #[test]
    fn a_window_turns_to_byte_keys_when_ids_do_not_pack() {
        let c = stat(100);
        let mut rec = Record::default();
        let mut interner = DimInterner::default();
        let a = rec.push_str("a");
        let id_a = interner.id(&rec, a);
        let mut last = 0;
        for i in 0..65_536 {
            let v = rec.push_str(&format!("v{i}"));
            last = interner.id(&rec, v);
        }
        assert!(last > u32::from(u16::MAX));
        let slots = vec![None; c.measures.len()];
        let (mut w, mut key, mut scratch) = (WindowAgg::default(), Vec::new(), Vec::new());
        let small = vec![id_a; c.dims.len()];
        let mut big = small.clone();
        big[0] = last;
        for ids in [&small, &small, &big, &small, &big] {
            assert!(!w.observe_ids(ids, &interner, &mut key, &c, &rec, &slots, &mut scratch));
        }
        assert!(w.by_id.is_empty());
        let (mut small_key, mut big_key) = (Vec::new(), Vec::new());
        interner.write_key(&small, &mut small_key);
        interner.write_key(&big, &mut big_key);
        let counts: Vec<(Vec<u8>, u64)> =
            w.take_sorted().into_iter().map(|(k, g)| (k.to_vec(), g.count)).collect();
        let mut expected = vec![(small_key, 3), (big_key, 2)];
        expected.sort();
        assert_eq!(counts, expected);
    }

    /// A group's measures are small: a sketch holds no parameters and
    /// allocates only the buckets it uses (it was 144 bytes per measure).
    #[test]
    fn measure_states_stay_small() {
        assert!(std::mem::size_of::<MeasureAgg>() <= 48, "{}", std::mem::size_of::<MeasureAgg>());
        assert!(std::mem::size_of::<GroupAgg>() <= 24);
    }

    #[test]
    fn thresholds_use_count_and_every_distinct_measure() {
        let c = stat(10); // min_count 5, min_distinct 3
        let mut g = GroupAgg::new(&c.measures);
        g.count = 5;
        assert!(!g.passes(&c), "no distinct users yet");
        if let MeasureAgg::Distinct(h) = &mut g.measures[1] {
            (0..3_u64).for_each(|i| h.insert_hash(hash64(&i.to_le_bytes())));
        }
        assert!(g.passes(&c));
        g.count = 4;
        assert!(!g.passes(&c));
    }
}
