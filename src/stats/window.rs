//! Aggregation state of one window (groups, measures, overflow) and turning a
//! closed window into final rows: privacy thresholds, `__other__` folding,
//! optional count noise and the summary row.
//!
//! Everything here is deterministic: groups are emitted in byte order of
//! their key (a compact JSON array of the dimension values), and aggregates
//! are associative and commutative (integer counts, sums in 2^-32 fixed
//! point, HyperLogLog max, DDSketch bucket sums), so merged partials render
//! exactly like a single instance.

use std::collections::HashMap;
use std::io::Write as _;

use serde_json::value::RawValue;

use super::extract::{push_json, Record, Val};
use super::hll::{hash64, Hll};
use super::sketch::DdSketch;
use super::spec::{CompiledKind, CompiledMeasure, CompiledStat, Suppression};
use super::time::write_rfc3339_secs;
use super::{StatsCounters, StatsRow};

/// Schema tag of final rows.
pub(crate) const SCHEMA: &str = "logveil.stats/1";
/// Dimension value of the row collecting suppressed and overflow groups.
const OTHER: &str = "__other__";
/// Fixed-point scale of sums (2^32).
const SUM_SCALE: f64 = 4_294_967_296.0;
/// Floats with a larger magnitude are ignored by sums.
const MAX_SUM_INPUT: f64 = 1e18;
/// Precision of the sketch that counts distinct overflowed group keys.
pub(crate) const OVERFLOW_KEYS_PRECISION: u8 = 12;

/// Exact, order-independent sum in units of 2^-32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SumAgg {
    pub(crate) scaled: i128,
    pub(crate) all_int: bool,
}

impl SumAgg {
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
        self.scaled = self.scaled.saturating_add(scaled);
    }

    fn write(&self, out: &mut Vec<u8>) {
        if self.all_int {
            let _ = write!(out, "{}", self.scaled >> 32);
        } else {
            push_json(out, &(self.scaled as f64 / SUM_SCALE));
        }
    }
}

/// State of one measure of one group.
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
    pub(crate) measures: Vec<MeasureAgg>,
}

impl GroupAgg {
    pub(crate) fn new(measures: &[CompiledMeasure]) -> Self {
        let measures = measures
            .iter()
            .map(|m| match &m.kind {
                CompiledKind::Count => MeasureAgg::Count(0),
                CompiledKind::Sum => MeasureAgg::Sum(SumAgg { scaled: 0, all_int: true }),
                CompiledKind::Distinct { precision } => MeasureAgg::Distinct(Hll::new(*precision)),
                CompiledKind::Quantiles { accuracy, .. } => MeasureAgg::Quantiles(DdSketch::new(*accuracy)),
            })
            .collect();
        Self { count: 0, measures }
    }

    /// Adds one record; `slots[i]` is the value slot of measure `i`, if it has a field.
    fn observe(&mut self, rec: &Record, slots: &[Option<usize>], scratch: &mut Vec<u8>) {
        self.count += 1;
        for (m, slot) in self.measures.iter_mut().zip(slots) {
            let v = slot.and_then(|s| rec.vals.get(s).copied()).unwrap_or(Val::Missing);
            match m {
                MeasureAgg::Count(n) if slot.is_none() || !matches!(v, Val::Missing | Val::Null) => *n += 1,
                MeasureAgg::Count(_) => {}
                MeasureAgg::Sum(s) => s.add(v),
                MeasureAgg::Distinct(h) => {
                    if let Some(hash) = rec.hash(v, scratch) {
                        h.insert_hash(hash);
                    }
                }
                MeasureAgg::Quantiles(d) => {
                    if let Some(x) = Record::number(v) {
                        d.add(x);
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
                a.scaled = a.scaled.saturating_add(b.scaled);
                a.all_int &= b.all_int;
                true
            }
            (MeasureAgg::Distinct(a), MeasureAgg::Distinct(b)) => a.merge(b),
            (MeasureAgg::Quantiles(a), MeasureAgg::Quantiles(b)) => a.merge(b),
            _ => false,
        })
    }

    /// k-anonymity check on the final (merged) group.
    fn passes(&self, stat: &CompiledStat) -> bool {
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
    pub(crate) groups: HashMap<Box<[u8]>, GroupAgg>,
    /// Records of groups beyond `max_groups`.
    pub(crate) overflow: Option<GroupAgg>,
    /// Distinct group keys that went to the overflow (estimate).
    pub(crate) overflow_keys: Option<Hll>,
    /// Late records to report in this window's summary.
    pub(crate) late_records: u64,
}

impl WindowAgg {
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
        if let Some(g) = self.groups.get_mut(key) {
            g.observe(rec, slots, scratch);
            return false;
        }
        let mut g = GroupAgg::new(&stat.measures);
        g.observe(rec, slots, scratch);
        self.add_new_group(key, g, stat)
    }

    /// Merges a group aggregate (from a partial); `None` on a shape mismatch,
    /// else whether it went to the overflow.
    pub(crate) fn merge_group(&mut self, key: &[u8], g: GroupAgg, stat: &CompiledStat) -> Option<bool> {
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
        self.overflow_keys
            .get_or_insert_with(|| Hll::new(OVERFLOW_KEYS_PRECISION))
            .insert_hash(hash64(key));
        match &mut self.overflow {
            Some(o) => {
                o.merge(&g);
            }
            None => self.overflow = Some(g),
        }
        true
    }

    /// Groups sorted by key (the deterministic output order).
    pub(crate) fn take_sorted(&mut self) -> Vec<(Box<[u8]>, GroupAgg)> {
        let mut groups: Vec<_> = std::mem::take(&mut self.groups).into_iter().collect();
        groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        groups
    }
}

/// Random source for count noise (splitmix64).
#[derive(Debug, Clone)]
pub(crate) struct Noise(u64);

impl Noise {
    /// Seeded from the process's hash randomness (OS entropy).
    pub(crate) fn from_entropy() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x6c6f_6776_6569_6c21);
        Self(h.finish())
    }

    pub(crate) fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Geometric variable with `P(G = k) = (1 - a) a^k`, `a = exp(-epsilon)`.
    fn geometric(&mut self, epsilon: f64) -> i64 {
        let u = ((self.next_u64() >> 11) + 1) as f64 / (1_u64 << 53) as f64;
        (u.ln() / -epsilon).floor() as i64
    }

    /// Two-sided geometric (discrete Laplace) noise with scale `1 / epsilon`.
    pub(crate) fn two_sided(&mut self, epsilon: f64) -> i64 {
        self.geometric(epsilon).saturating_sub(self.geometric(epsilon))
    }
}

/// Per-window emission context.
pub(crate) struct Emit<'a> {
    pub(crate) stat: &'a CompiledStat,
    pub(crate) start: i64,
    pub(crate) partial: bool,
}

impl Emit<'_> {
    /// Writes `{"schema":..,"stat":..,"window_start":..,"window_end":..,"partial":..,`.
    fn head(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"schema\":\"");
        out.extend_from_slice(SCHEMA.as_bytes());
        out.extend_from_slice(b"\",\"stat\":");
        push_json(out, &self.stat.name);
        out.extend_from_slice(b",\"window_start\":\"");
        write_rfc3339_secs(self.start, out);
        out.extend_from_slice(b"\",\"window_end\":\"");
        write_rfc3339_secs(self.start.saturating_add(self.stat.window_ms), out);
        out.extend_from_slice(if self.partial { b"\",\"partial\":true," } else { b"\",\"partial\":false," });
    }

    fn push(&self, json: Vec<u8>, out: &mut Vec<StatsRow>, counters: &mut StatsCounters) {
        counters.rows_emitted += 1;
        out.push(StatsRow { topic: self.stat.topic.clone(), stat: self.stat.name.clone(), json });
    }

    /// One group row; `key` is the group key, or `None` for `__other__`.
    fn group_row(&self, key: Option<&[u8]>, g: &GroupAgg, noise: &mut Noise) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.head(&mut out);
        out.extend_from_slice(b"\"dimensions\":{");
        let values: Option<Vec<&RawValue>> = key.and_then(|k| serde_json::from_slice(k).ok());
        for (i, (name, _)) in self.stat.dims.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json(&mut out, name);
            out.push(b':');
            match (&values, key) {
                (_, None) => push_json(&mut out, OTHER),
                (Some(v), _) if v.len() == self.stat.dims.len() => out.extend_from_slice(v[i].get().as_bytes()),
                _ => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b"},\"measures\":{");
        for (i, (spec, m)) in self.stat.measures.iter().zip(&g.measures).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json(&mut out, &spec.name);
            out.push(b':');
            match m {
                MeasureAgg::Count(n) => match self.stat.epsilon {
                    Some(eps) => push_json(&mut out, &(*n as i64).saturating_add(noise.two_sided(eps)).max(0)),
                    None => push_json(&mut out, n),
                },
                MeasureAgg::Sum(s) => s.write(&mut out),
                MeasureAgg::Distinct(h) => push_json(&mut out, &(h.estimate().round() as u64)),
                MeasureAgg::Quantiles(d) => {
                    out.push(b'{');
                    if let CompiledKind::Quantiles { quantiles, .. } = &spec.kind {
                        for (j, (q, label)) in quantiles.iter().enumerate() {
                            if j > 0 {
                                out.push(b',');
                            }
                            push_json(&mut out, label);
                            out.push(b':');
                            push_json(&mut out, &d.quantile(*q));
                        }
                    }
                    out.push(b'}');
                }
            }
        }
        out.extend_from_slice(b"}}");
        out
    }

    /// Thresholds a closed window and appends its rows (groups, `__other__`, summary).
    pub(crate) fn final_rows(
        &self,
        mut win: WindowAgg,
        late: u64,
        noise: &mut Noise,
        counters: &mut StatsCounters,
        out: &mut Vec<StatsRow>,
    ) {
        let fold = self.stat.suppression == Suppression::Other;
        let (mut emitted, mut suppressed, mut suppressed_records) = (0_u64, 0_u64, 0_u64);
        let mut other: Option<GroupAgg> = None;
        let mut fold_in = |g: GroupAgg| match &mut other {
            Some(o) => {
                o.merge(&g);
            }
            None => other = Some(g),
        };
        for (key, g) in win.take_sorted() {
            if g.passes(self.stat) {
                emitted += 1;
                self.push(self.group_row(Some(&key), &g, noise), out, counters);
            } else {
                suppressed += 1;
                suppressed_records += g.count;
                if fold {
                    fold_in(g);
                }
            }
        }
        let overflow_records = win.overflow.as_ref().map_or(0, |o| o.count);
        if let Some(o) = win.overflow.take().filter(|_| fold) {
            fold_in(o);
        }
        let mut other_emitted = false;
        if let Some(o) = other {
            if o.passes(self.stat) {
                emitted += 1;
                other_emitted = true;
                self.push(self.group_row(None, &o, noise), out, counters);
            } else {
                counters.other_rows_dropped += 1;
            }
        }
        counters.suppressed_groups += suppressed;
        counters.suppressed_records += suppressed_records;
        counters.overflow_records += overflow_records;
        counters.overflow_groups += win.overflow_keys.map_or(0, |h| h.estimate().round() as u64);
        counters.windows_emitted += 1;
        let mut json = Vec::with_capacity(320);
        self.head(&mut json);
        let _ = write!(
            json,
            "\"summary\":true,\"groups_emitted\":{emitted},\"groups_suppressed\":{suppressed},\
             \"records_suppressed\":{suppressed_records},\"overflow_records\":{overflow_records},\
             \"other_emitted\":{other_emitted},\"late_records\":{}}}",
            late.saturating_add(win.late_records)
        );
        self.push(json, out, counters);
    }
}
