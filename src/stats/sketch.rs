//! DDSketch for `quantiles` measures: a mergeable quantile sketch with a
//! relative-accuracy guarantee (Masson, Rim, Lee, VLDB 2019), hand-written.
//!
//! With accuracy `a`, `gamma = (1 + a) / (1 - a)`; a positive value `x` falls
//! in bucket `ceil(log_gamma(x))`, and a bucket `i` answers `2 gamma^i /
//! (gamma + 1)`, which is within `a` (relative) of every value in it. So the
//! reported q-quantile is within `a` of the exact value of rank
//! `floor(q * (n - 1))` (0-based). Negative values use a mirrored store,
//! values with `|x| < 1e-9` count as zero. Merging adds bucket counts, so it is
//! exact and order-free. Each store keeps at most 4096 buckets (a value range
//! of ~1e35 at 1%, ~1e17 at the finest allowed 0.5%); beyond that the lowest-magnitude buckets collapse, which
//! only degrades the accuracy of the smallest values.
//!
//! The accuracy and everything derived from it live in one shared
//! [`Mapping`] per measure (not in each group's sketch): a sketch is only
//! its bucket counts. The mapping finds a value's bucket without `ln`: from
//! the float's exponent and top mantissa bits it picks a table slot holding
//! the bucket of the slot's first double and the first double of the next
//! bucket, found once by bisection with the `ln` formula itself, so the
//! buckets are bit-for-bit those of `ceil(ln(x) / ln(gamma))` (partials
//! written before, or by other instances, merge unchanged).

use std::sync::{Arc, Mutex, OnceLock};

/// Values with a smaller magnitude are counted in the zero bucket.
const MIN_MAGNITUDE: f64 = 1e-9;
/// Most buckets per store before the lowest ones collapse.
pub(crate) const MAX_BUCKETS: usize = 4096;
/// Distinct buckets a store keeps as a sorted list before it turns dense.
const SPARSE_MAX: usize = 32;
/// Low half of a sparse entry: the bucket's count.
const COUNT_MASK: u64 = 0xFFFF_FFFF;

/// Mantissa bits that pick a table slot: 2^7 slots per power of two, each
/// spanning at most `ln(1 + 2^-7) = 0.0078` in `ln x`, less than the
/// narrowest bucket (`ln gamma = 0.0100` at accuracy 0.005), so a slot holds
/// at most one bucket boundary.
const SLOT_BITS: u32 = 7;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_SHIFT: u32 = 52 - SLOT_BITS;
/// A slot's `base` when the table cannot answer it (see `Mapping::binade`).
const NO_TABLE: i32 = i32::MIN;

/// One power of two's slots: the bucket of each slot's first double, and
/// the bits of the slot's first double in the next bucket (`u64::MAX` if
/// the whole slot is in one bucket).
#[derive(Debug)]
struct Binade {
    base: [i32; SLOTS],
    bound: [u64; SLOTS],
}

/// Bucket mapping of one accuracy, shared by every sketch of a measure.
pub(crate) struct Mapping {
    accuracy: f64,
    ln_gamma: f64,
    /// `exp(ln_gamma)`, as the bucket values always computed it.
    gamma: f64,
    /// By biased binary exponent (0..2048); each built on first use.
    binades: Box<[OnceLock<Box<Binade>>]>,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping").field("accuracy", &self.accuracy).finish_non_exhaustive()
    }
}

impl PartialEq for Mapping {
    fn eq(&self, other: &Mapping) -> bool {
        self.accuracy.to_bits() == other.accuracy.to_bits()
    }
}

impl Mapping {
    /// A mapping of its own; `accuracy` in 0.005..=0.1 (checked by the spec).
    pub(crate) fn new(accuracy: f64) -> Self {
        let gamma = (1.0 + accuracy) / (1.0 - accuracy);
        let ln_gamma = gamma.ln();
        Self {
            accuracy,
            ln_gamma,
            gamma: ln_gamma.exp(),
            binades: (0..1 << 11).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The process-wide mapping of `accuracy` (its tables are built once,
    /// however many statistics or pipelines use it).
    pub(crate) fn shared(accuracy: f64) -> Arc<Self> {
        static ALL: Mutex<Vec<Arc<Mapping>>> = Mutex::new(Vec::new());
        let mut all = ALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = all.iter().find(|m| m.accuracy.to_bits() == accuracy.to_bits()) {
            return Arc::clone(m);
        }
        let m = Arc::new(Self::new(accuracy));
        all.push(Arc::clone(&m));
        m
    }

    /// The bucket of `magnitude` by definition: `ceil(ln(x) / ln(gamma))`.
    fn index_ln(&self, magnitude: f64) -> i32 {
        // |ln x| <= 745 and ln_gamma >= 0.002, so this fits comfortably in i32.
        (magnitude.ln() / self.ln_gamma).ceil() as i32
    }

    /// The bucket of a positive finite `magnitude`, equal to
    /// [`Mapping::index_ln`] (see the module doc).
    fn index(&self, magnitude: f64) -> i32 {
        let bits = magnitude.to_bits();
        let exp = (bits >> 52) as usize;
        let Some(binade) = self.binades.get(exp) else { return self.index_ln(magnitude) };
        let binade = binade.get_or_init(|| self.binade(exp as u64));
        let slot = (bits >> SLOT_SHIFT) as usize & (SLOTS - 1);
        let base = binade.base[slot];
        if base == NO_TABLE {
            return self.index_ln(magnitude);
        }
        base + i32::from(bits >= binade.bound[slot])
    }

    /// Builds the slots of the doubles with biased exponent `exp`: each
    /// slot's first bucket, and by bisection over the doubles the first one
    /// in the next bucket. A slot the table cannot describe (subnormals,
    /// infinities, or more than two buckets) is answered by the formula.
    #[cold]
    fn binade(&self, exp: u64) -> Box<Binade> {
        let mut b = Box::new(Binade { base: [NO_TABLE; SLOTS], bound: [u64::MAX; SLOTS] });
        if exp == 0 || exp >= 0x7FF {
            return b;
        }
        let index = |bits: u64| self.index_ln(f64::from_bits(bits));
        for slot in 0..SLOTS {
            let lo = exp << 52 | (slot as u64) << SLOT_SHIFT;
            let hi = lo | ((1 << SLOT_SHIFT) - 1);
            let (base, top) = (index(lo), index(hi));
            if top == base {
                b.base[slot] = base;
            } else if top == base + 1 {
                // index(l) == base, index(h) > base.
                let (mut l, mut h) = (lo, hi);
                while h - l > 1 {
                    let mid = l + (h - l) / 2;
                    if index(mid) > base {
                        h = mid;
                    } else {
                        l = mid;
                    }
                }
                b.base[slot] = base;
                b.bound[slot] = h;
            }
        }
        b
    }

    /// The value bucket `index` answers.
    fn value(&self, index: i32) -> f64 {
        2.0 * (f64::from(index) * self.ln_gamma).exp() / (self.gamma + 1.0)
    }
}

/// Bucket counts for one sign. While few buckets are occupied (a group of a
/// few dozen records) they are a sorted list, one `u64` per bucket (index
/// in the high half, count in the low half); beyond [`SPARSE_MAX`] of
/// them, or a count beyond `u32`, dense counts where `data[i]` is bucket
/// `offset + i` and zero buckets at either end are growth slack.
/// A dense range of a few hundred buckets costs kilobytes per group, so the
/// list is what keeps many small groups in many open windows cheap. Both
/// forms answer alike; two stores are equal when they hold the same
/// non-zero buckets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    /// Sparse entries (sorted) or dense counts, see above.
    data: Vec<u64>,
    /// First bucket of the dense counts.
    offset: i32,
    dense: bool,
}

/// A sparse entry's sort key for bucket `index` (order-preserving).
fn entry_key(index: i32) -> u64 {
    u64::from(index as u32 ^ 0x8000_0000)
}

fn entry_index(entry: u64) -> i32 {
    ((entry >> 32) as u32 ^ 0x8000_0000) as i32
}

static EMPTY_STORE: Store = Store { data: Vec::new(), offset: 0, dense: false };

impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.buckets().eq(other.buckets())
    }
}

impl Eq for Store {}

impl Store {
    /// A dense store (decoded from the wire).
    pub(crate) fn dense(offset: i32, counts: Vec<u64>) -> Self {
        Self { data: counts, offset, dense: true }
    }

    /// Whether a decoded dense store is within the bounds a sketch accepts.
    fn fits(&self) -> bool {
        let len = if self.dense { self.data.len() } else { 0 };
        len <= MAX_BUCKETS
            && self.offset.checked_add(len as i32).is_some()
            && (self.offset.unsigned_abs() as usize) < 1 << 20
    }

    /// The non-zero buckets, in index order.
    pub(crate) fn buckets(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        let (sparse, dense) =
            if self.dense { (&[][..], &self.data[..]) } else { (&self.data[..], &[][..]) };
        let sparse = sparse.iter().map(|&e| (entry_index(e), e & COUNT_MASK));
        let dense = dense.iter().enumerate().filter(|(_, &c)| c > 0);
        let dense = dense.map(move |(i, &c)| (self.offset + i as i32, c));
        sparse.filter(|&(_, c)| c > 0).chain(dense)
    }

    /// The occupied range as dense counts (for the wire): first index and
    /// counts up to the last occupied bucket; `(0, [])` when empty.
    pub(crate) fn to_dense(&self) -> (i32, Vec<u64>) {
        let Some((lo, _)) = self.buckets().next() else { return (0, Vec::new()) };
        let mut counts = Vec::new();
        for (i, c) in self.buckets() {
            counts.resize((i - lo) as usize, 0);
            counts.push(c);
        }
        (lo, counts)
    }

    /// Adds `n` to bucket `index`: in the sorted list while it is small,
    /// spans fewer than [`MAX_BUCKETS`] and its counts fit `u32`, else in
    /// the dense counts.
    fn add(&mut self, index: i32, n: u64) {
        if !self.dense {
            if n == 0 {
                return;
            }
            let key = entry_key(index);
            match self.data.binary_search_by_key(&key, |e| e >> 32) {
                Ok(at) => {
                    let sum = (self.data[at] & COUNT_MASK).saturating_add(n);
                    if sum <= COUNT_MASK {
                        self.data[at] = key << 32 | sum;
                        return;
                    }
                }
                Err(at) => {
                    let lo = self.data.first().map_or(index, |&e| entry_index(e).min(index));
                    let hi = self.data.last().map_or(index, |&e| entry_index(e).max(index));
                    if self.data.len() < SPARSE_MAX
                        && i64::from(hi) - i64::from(lo) < MAX_BUCKETS as i64
                        && n <= COUNT_MASK
                    {
                        self.data.insert(at, key << 32 | n);
                        return;
                    }
                }
            }
            let sparse = std::mem::take(&mut self.data);
            self.dense = true;
            for e in sparse {
                self.add_dense(entry_index(e), e & COUNT_MASK);
            }
        }
        self.add_dense(index, n);
    }

    /// The first occupied bucket's index and the counts from it to the last
    /// occupied one (slack trimmed); `(0, [])` when nothing is counted.
    fn occupied(&self) -> (i32, &[u64]) {
        let counts = &self.data;
        match (counts.iter().position(|&c| c > 0), counts.iter().rposition(|&c| c > 0)) {
            (Some(first), Some(last)) => (self.offset + first as i32, &counts[first..=last]),
            _ => (0, &[]),
        }
    }

    /// Adds `n` to a dense bucket `index`, growing (or collapsing) the range as needed.
    ///
    /// Growth leaves zero buckets as slack in the direction it grew (at least
    /// doubling, up to [`MAX_BUCKETS`]), so a stream of new extremes costs
    /// amortized O(1) instead of a reallocation each. Zero buckets at the
    /// ends change no answer; collapsing looks only at the occupied range,
    /// so it happens exactly when it would without slack.
    fn add_dense(&mut self, index: i32, n: u64) {
        if self.data.is_empty() {
            self.offset = index;
            self.data.push(n);
            return;
        }
        let hi = self.offset + self.data.len() as i32 - 1;
        if index >= self.offset && index <= hi {
            let at = (index - self.offset) as usize;
            self.data[at] = self.data[at].saturating_add(n);
            return;
        }
        // Collapsing and slack are decided on the occupied range only.
        let (used_lo, used) = self.occupied();
        if used.is_empty() {
            // Only zero-count merges touched this store: start afresh.
            self.offset = index;
            self.data.clear();
            self.data.push(n);
            return;
        }
        let used_hi = used_lo + used.len() as i32 - 1;
        let new_hi = used_hi.max(index);
        let mut new_lo = used_lo.min(index);
        if (new_hi - new_lo) as usize >= MAX_BUCKETS {
            new_lo = new_hi - MAX_BUCKETS as i32 + 1;
        }
        // Slack: grow to at least twice the current length, on the side of
        // the new index, without exceeding MAX_BUCKETS.
        let needed = (new_hi - new_lo + 1) as usize;
        let len = needed.max(2 * self.data.len()).clamp(16, MAX_BUCKETS);
        let slack = (len - needed) as i32;
        let (lo, hi) =
            if index > used_hi { (new_lo, new_hi + slack) } else { (new_lo - slack, new_hi) };
        let mut counts = vec![0_u64; (hi - lo + 1) as usize];
        for (i, &c) in used.iter().enumerate() {
            let at = (used_lo + i as i32).max(new_lo) - lo;
            counts[at as usize] = counts[at as usize].saturating_add(c);
        }
        self.offset = lo;
        self.data = counts;
        let at = index.max(new_lo) - lo;
        self.data[at as usize] = self.data[at as usize].saturating_add(n);
    }

    /// Adds every bucket of `other` (in index order, so the collapse of the
    /// lowest buckets ends as if all values had been added here).
    fn merge(&mut self, other: &Store) {
        for (i, c) in other.buckets() {
            self.add(i, c);
        }
    }

    fn total(&self) -> u64 {
        self.buckets().fold(0, |a, (_, c)| a.saturating_add(c))
    }

    fn is_empty(&self) -> bool {
        self.buckets().next().is_none()
    }
}

/// A DDSketch's counts; its accuracy is its measure's [`Mapping`]. The
/// negative store (rare: most measured quantities are not negative) is
/// allocated on first use.
#[derive(Debug, Clone, Default)]
pub(crate) struct DdSketch {
    pub(crate) zero: u64,
    pub(crate) positive: Store,
    negative: Option<Box<Store>>,
}

impl PartialEq for DdSketch {
    fn eq(&self, other: &DdSketch) -> bool {
        self.zero == other.zero
            && self.positive == other.positive
            && self.negative() == other.negative()
    }
}

impl DdSketch {
    /// The negative values' store (an empty one if none was added).
    pub(crate) fn negative(&self) -> &Store {
        self.negative.as_deref().unwrap_or(&EMPTY_STORE)
    }

    /// Adds one value with `mapping`'s buckets; non-finite values are
    /// ignored (returns `false`).
    pub(crate) fn add(&mut self, mapping: &Mapping, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        if x.abs() < MIN_MAGNITUDE {
            self.zero = self.zero.saturating_add(1);
        } else if x > 0.0 {
            let i = mapping.index(x);
            self.positive.add(i, 1);
        } else {
            let i = mapping.index(-x);
            self.negative.get_or_insert_with(Box::default).add(i, 1);
        }
        true
    }

    /// Number of values added.
    pub(crate) fn count(&self) -> u64 {
        self.positive.total().saturating_add(self.negative().total()).saturating_add(self.zero)
    }

    /// Merges `other` (a sketch of the same measure, hence the same mapping).
    pub(crate) fn merge(&mut self, other: &DdSketch) {
        self.positive.merge(&other.positive);
        if !other.negative().is_empty() {
            self.negative.get_or_insert_with(Box::default).merge(other.negative());
        }
        self.zero = self.zero.saturating_add(other.zero);
    }

    /// Rebuilds a sketch from decoded parts; `None` if a store is too wide.
    pub(crate) fn from_parts(zero: u64, positive: Store, negative: Store) -> Option<Self> {
        if !positive.fits() || !negative.fits() {
            return None;
        }
        let mut sketch = Self { zero, ..Self::default() };
        sketch.positive.merge(&positive);
        if !negative.is_empty() {
            sketch.negative.get_or_insert_with(Box::default).merge(&negative);
        }
        Some(sketch)
    }

    /// The q-quantile (q in [0, 1]) estimate, `None` when empty.
    pub(crate) fn quantile(&self, mapping: &Mapping, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (n - 1) as f64).floor() as u64;
        let mut seen = 0_u64;
        for (i, c) in self.negative().buckets().rev() {
            seen = seen.saturating_add(c);
            if seen > rank {
                return Some(-mapping.value(i));
            }
        }
        seen = seen.saturating_add(self.zero);
        if seen > rank {
            return Some(0.0);
        }
        for (i, c) in self.positive.buckets() {
            seen = seen.saturating_add(c);
            if seen > rank {
                return Some(mapping.value(i));
            }
        }
        // Unreachable unless counts saturated: answer the largest bucket.
        self.positive.buckets().next_back().map(|(i, _)| mapping.value(i)).or(Some(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    fn within(est: f64, truth: f64, acc: f64) -> bool {
        (est - truth).abs() <= acc * truth.abs() * (1.0 + 1e-9) + MIN_MAGNITUDE
    }

    /// The definition, written out again: the oracle of the table.
    fn oracle(accuracy: f64, x: f64) -> i32 {
        let gamma = (1.0 + accuracy) / (1.0 - accuracy);
        (x.ln() / gamma.ln()).ceil() as i32
    }

    /// The smallest double the definition puts in bucket `i` or above,
    /// found by bisection over the doubles (positive doubles order like
    /// their bits) between two values safely on either side.
    fn boundary(accuracy: f64, i: i32) -> u64 {
        let ln_gamma = ((1.0 + accuracy) / (1.0 - accuracy)).ln();
        let below = (f64::from(i) - 1.5) * ln_gamma;
        let (mut lo, mut hi) = (below.exp().to_bits(), (below + ln_gamma).exp().to_bits());
        let hi_max = f64::MAX.to_bits();
        hi = hi.min(hi_max);
        assert!(oracle(accuracy, f64::from_bits(lo)) < i);
        if oracle(accuracy, f64::from_bits(hi)) < i {
            return u64::MAX; // i is beyond f64::MAX
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if oracle(accuracy, f64::from_bits(mid)) >= i {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// Every bucket boundary from 1e-9 to f64::MAX, and one and two
    /// doubles either side of it, lands where the definition puts it.
    fn check_all_boundaries(accuracy: f64) {
        let m = Mapping::new(accuracy);
        let first = oracle(accuracy, MIN_MAGNITUDE);
        let last = oracle(accuracy, f64::MAX);
        for i in first + 1..=last {
            let b = boundary(accuracy, i);
            if b == u64::MAX {
                continue;
            }
            for bits in [b - 2, b - 1, b, b + 1, b + 2] {
                let x = f64::from_bits(bits);
                if x.is_finite() {
                    assert_eq!(m.index(x), oracle(accuracy, x), "accuracy {accuracy} x {x:e}");
                }
            }
        }
    }

    #[test]
    fn every_boundary_of_the_common_accuracies_matches_ln() {
        for accuracy in [0.005, 0.01, 0.1] {
            check_all_boundaries(accuracy);
        }
    }

    #[test]
    fn extremes_and_shared_mappings() {
        for accuracy in [0.005, 0.01, 0.02, 0.1] {
            let m = Mapping::new(accuracy);
            for x in [MIN_MAGNITUDE, 1.0, 2.0, f64::MAX, f64::MIN_POSITIVE, 1e-300, 0.5, 3.0] {
                assert_eq!(m.index(x), oracle(accuracy, x), "{x:e}");
                let up = f64::from_bits(x.to_bits() - 1);
                assert_eq!(m.index(up), oracle(accuracy, up), "{up:e}");
            }
        }
        let (a, b) = (Mapping::shared(0.01), Mapping::shared(0.01));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &Mapping::shared(0.02)));
    }

    fn sketch(m: &Mapping, xs: &[f64]) -> DdSketch {
        let mut s = DdSketch::default();
        xs.iter().for_each(|&x| {
            s.add(m, x);
        });
        s
    }

    #[test]
    fn empty_and_single() {
        let m = Mapping::new(0.01);
        let mut s = DdSketch::default();
        assert_eq!(s.quantile(&m, 0.5), None);
        assert!(!s.add(&m, f64::NAN));
        assert!(!s.add(&m, f64::INFINITY));
        assert!(s.add(&m, 46.26));
        assert!(within(s.quantile(&m, 0.99).unwrap(), 46.26, 0.01));
        assert_eq!(s.count(), 1);
    }

    #[test]
    fn negative_zero_positive_order() {
        let m = Mapping::new(0.01);
        let s = sketch(&m, &[-100.0, -1.0, 0.0, 1e-12, 1.0, 100.0]);
        assert!(within(s.quantile(&m, 0.0).unwrap(), -100.0, 0.01));
        assert!(within(s.quantile(&m, 0.2).unwrap(), -1.0, 0.01));
        assert_eq!(s.quantile(&m, 0.4), Some(0.0));
        assert_eq!(s.quantile(&m, 0.6), Some(0.0));
        assert!(within(s.quantile(&m, 0.8).unwrap(), 1.0, 0.01));
        assert!(within(s.quantile(&m, 1.0).unwrap(), 100.0, 0.01));
    }

    #[test]
    fn extreme_range_collapses_but_stays_bounded() {
        let m = Mapping::new(0.01);
        let xs: Vec<f64> = (-300..300).map(|e| 10f64.powi(e)).collect();
        let s = sketch(&m, &xs);
        assert!(s.positive.dense && s.positive.data.len() <= MAX_BUCKETS);
        assert_eq!(s.count(), 600);
        assert!(within(s.quantile(&m, 1.0).unwrap(), 1e299, 0.01));
    }

    #[test]
    fn counts_beyond_u32_leave_the_list_intact() {
        let mut s = Store::default();
        s.add(5, 1);
        s.add(-3, 2);
        s.add(5, u64::from(u32::MAX));
        assert!(s.dense, "a count beyond u32 makes the store dense");
        assert_eq!(s.buckets().collect::<Vec<_>>(), [(-3, 2), (5, u64::from(u32::MAX) + 1)]);
        let mut t = Store::default();
        t.add(7, u64::MAX);
        t.add(7, 1);
        assert_eq!(t.buckets().collect::<Vec<_>>(), [(7, u64::MAX)], "saturates");
    }

    #[test]
    fn bad_parts_rejected() {
        let wide = Store::dense(0, vec![1; MAX_BUCKETS + 1]);
        assert!(DdSketch::from_parts(0, wide, Store::default()).is_none());
        let far = Store::dense(i32::MAX, vec![1, 1]);
        assert!(DdSketch::from_parts(0, Store::default(), far).is_none());
    }

    proptest! {
        #[test]
        fn index_equals_ln_formula(
            accuracy in prop_oneof![0.005f64..=0.1, Just(0.005), Just(0.01), Just(0.1)],
            bits in any::<u64>(),
            near in 0.0f64..1.0,
        ) {
            let m = Mapping::new(accuracy);
            // Any positive finite double from 1e-9 up.
            let x = f64::from_bits(bits >> 1);
            if x.is_finite() && x >= MIN_MAGNITUDE {
                prop_assert_eq!(m.index(x), oracle(accuracy, x), "x {:e}", x);
            }
            // A boundary picked at random in the typical range, ±2 ulps.
            let i = oracle(accuracy, 1e-3) + (near * 2_000.0) as i32;
            let b = boundary(accuracy, i);
            for bits in b - 2..=b + 2 {
                let x = f64::from_bits(bits);
                prop_assert_eq!(m.index(x), oracle(accuracy, x), "x {:e}", x);
            }
        }

        #[test]
        fn quantiles_within_relative_accuracy(
            xs in prop::collection::vec(prop_oneof![-1e6f64..1e6, 0.001f64..10.0, Just(0.0)], 1..400),
            q in 0.0f64..=1.0,
            acc in prop_oneof![Just(0.01), Just(0.05), Just(0.005)],
        ) {
            let m = Mapping::new(acc);
            let s = sketch(&m, &xs);
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let truth = exact(&sorted, q);
            let est = s.quantile(&m, q).unwrap();
            prop_assert!(within(est, truth, acc), "q={} est={} truth={}", q, est, truth);
        }

        #[test]
        fn sparse_and_dense_stores_agree(
            adds in prop::collection::vec((-5000i32..5000, 1u64..4), 0..80),
            narrow in any::<bool>(),
        ) {
            let mut sparse = Store::default();
            // A zero bucket makes a store dense from the start.
            let mut dense = Store::dense(0, vec![0]);
            for &(i, n) in &adds {
                let i = if narrow { i / 100 } else { i };
                sparse.add(i, n);
                dense.add(i, n);
            }
            prop_assert!(sparse == dense);
            prop_assert_eq!(sparse.to_dense(), dense.to_dense());
            prop_assert_eq!(sparse.total(), adds.iter().map(|a| a.1).sum::<u64>());
        }

        #[test]
        fn merge_equals_single(xs in prop::collection::vec(-1e4f64..1e4, 0..300), split in 0usize..300) {
            let m = Mapping::new(0.01);
            let split = split.min(xs.len());
            let (mut a, mut b) = (sketch(&m, &xs[..split]), sketch(&m, &xs[split..]));
            let all = sketch(&m, &xs);
            b.merge(&a);
            prop_assert_eq!(&b, &all);
            a.merge(&DdSketch::default());
            prop_assert_eq!(a, sketch(&m, &xs[..split]));
        }
    }
}
