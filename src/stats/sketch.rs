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

/// Values with a smaller magnitude are counted in the zero bucket.
const MIN_MAGNITUDE: f64 = 1e-9;
/// Most buckets per store before the lowest ones collapse.
pub(crate) const MAX_BUCKETS: usize = 4096;
/// Distinct buckets a store keeps as a sorted list before it turns dense.
const SPARSE_MAX: usize = 32;

/// Bucket counts for one sign. While few buckets are occupied (a group of a
/// few dozen records) they are a sorted list of `(index, count)` (16 bytes
/// each); beyond [`SPARSE_MAX`] of them, dense counts where `counts[i]` is
/// bucket `offset + i` and zero buckets at either end are growth slack.
/// A dense range of a few hundred buckets costs kilobytes per group, so the
/// list is what keeps many small groups in many open windows cheap. Both
/// forms answer alike; two stores are equal when they hold the same
/// non-zero buckets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    pub(crate) offset: i32,
    pub(crate) counts: Vec<u64>,
    /// Sorted by index, non-empty only while `counts` is empty.
    sparse: Vec<(i32, u64)>,
}

impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.buckets().eq(other.buckets())
    }
}

impl Eq for Store {}

impl Store {
    /// A dense store (decoded from the wire).
    pub(crate) fn dense(offset: i32, counts: Vec<u64>) -> Self {
        Self { offset, counts, sparse: Vec::new() }
    }

    /// The non-zero buckets, in index order.
    pub(crate) fn buckets(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        let dense = self.counts.iter().enumerate().filter(|(_, &c)| c > 0);
        let dense = dense.map(move |(i, &c)| (self.offset + i as i32, c));
        self.sparse.iter().copied().filter(|&(_, c)| c > 0).chain(dense)
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

    /// Adds `n` to bucket `index`: in the sorted list while it is small and
    /// spans fewer than [`MAX_BUCKETS`], else in the dense counts.
    fn add(&mut self, index: i32, n: u64) {
        if self.counts.is_empty() {
            if n == 0 {
                return;
            }
            match self.sparse.binary_search_by_key(&index, |e| e.0) {
                Ok(at) => {
                    self.sparse[at].1 = self.sparse[at].1.saturating_add(n);
                    return;
                }
                Err(at) => {
                    let lo = self.sparse.first().map_or(index, |e| e.0.min(index));
                    let hi = self.sparse.last().map_or(index, |e| e.0.max(index));
                    if self.sparse.len() < SPARSE_MAX
                        && i64::from(hi) - i64::from(lo) < MAX_BUCKETS as i64
                    {
                        self.sparse.insert(at, (index, n));
                        return;
                    }
                    for (i, c) in std::mem::take(&mut self.sparse) {
                        self.add_dense(i, c);
                    }
                }
            }
        }
        self.add_dense(index, n);
    }
    /// The first occupied bucket's index and the counts from it to the last
    /// occupied one (slack trimmed); `(0, [])` when nothing is counted.
    pub(crate) fn occupied(&self) -> (i32, &[u64]) {
        match (self.counts.iter().position(|&c| c > 0), self.counts.iter().rposition(|&c| c > 0)) {
            (Some(first), Some(last)) => (self.offset + first as i32, &self.counts[first..=last]),
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
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(n);
            return;
        }
        let hi = self.offset + self.counts.len() as i32 - 1;
        if index >= self.offset && index <= hi {
            let at = (index - self.offset) as usize;
            self.counts[at] = self.counts[at].saturating_add(n);
            return;
        }
        // Collapsing and slack are decided on the occupied range only.
        let (used_lo, used) = self.occupied();
        if used.is_empty() {
            // Only zero-count merges touched this store: start afresh.
            self.offset = index;
            self.counts.clear();
            self.counts.push(n);
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
        let len = needed.max(2 * self.counts.len()).clamp(16, MAX_BUCKETS);
        let slack = (len - needed) as i32;
        let (lo, hi) =
            if index > used_hi { (new_lo, new_hi + slack) } else { (new_lo - slack, new_hi) };
        let mut counts = vec![0_u64; (hi - lo + 1) as usize];
        for (i, &c) in used.iter().enumerate() {
            let at = (used_lo + i as i32).max(new_lo) - lo;
            counts[at as usize] = counts[at as usize].saturating_add(c);
        }
        self.offset = lo;
        self.counts = counts;
        let at = index.max(new_lo) - lo;
        self.counts[at as usize] = self.counts[at as usize].saturating_add(n);
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
}

/// A DDSketch with a fixed relative accuracy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DdSketch {
    accuracy: f64,
    ln_gamma: f64,
    pub(crate) positive: Store,
    pub(crate) negative: Store,
    pub(crate) zero: u64,
}

impl DdSketch {
    /// Empty sketch; `accuracy` in 0.005..=0.1 (checked by the spec).
    pub(crate) fn new(accuracy: f64) -> Self {
        let gamma = (1.0 + accuracy) / (1.0 - accuracy);
        Self {
            accuracy,
            ln_gamma: gamma.ln(),
            positive: Store::default(),
            negative: Store::default(),
            zero: 0,
        }
    }

    pub(crate) fn accuracy(&self) -> f64 {
        self.accuracy
    }

    fn index(&self, magnitude: f64) -> i32 {
        // |ln x| <= 745 and ln_gamma >= 0.002, so this fits comfortably in i32.
        (magnitude.ln() / self.ln_gamma).ceil() as i32
    }

    fn value(&self, index: i32) -> f64 {
        let gamma = self.ln_gamma.exp();
        2.0 * (f64::from(index) * self.ln_gamma).exp() / (gamma + 1.0)
    }

    /// Adds one value; non-finite values are ignored (returns `false`).
    pub(crate) fn add(&mut self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        if x.abs() < MIN_MAGNITUDE {
            self.zero = self.zero.saturating_add(1);
        } else if x > 0.0 {
            let i = self.index(x);
            self.positive.add(i, 1);
        } else {
            let i = self.index(-x);
            self.negative.add(i, 1);
        }
        true
    }

    /// Number of values added.
    pub(crate) fn count(&self) -> u64 {
        self.positive.total().saturating_add(self.negative.total()).saturating_add(self.zero)
    }

    /// Merges `other`; `false` (and no change) when the accuracies differ.
    pub(crate) fn merge(&mut self, other: &DdSketch) -> bool {
        if other.accuracy.to_bits() != self.accuracy.to_bits() {
            return false;
        }
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero = self.zero.saturating_add(other.zero);
        true
    }

    /// Rebuilds a sketch from decoded parts; `None` if a store is too wide.
    pub(crate) fn from_parts(
        accuracy: f64,
        zero: u64,
        positive: Store,
        negative: Store,
    ) -> Option<Self> {
        let fits = |s: &Store| {
            s.counts.len() <= MAX_BUCKETS
                && s.offset.checked_add(s.counts.len() as i32).is_some()
                && (s.offset.unsigned_abs() as usize) < 1 << 20
        };
        if !fits(&positive) || !fits(&negative) {
            return None;
        }
        let mut sketch = Self::new(accuracy);
        sketch.zero = zero;
        sketch.positive.merge(&positive);
        sketch.negative.merge(&negative);
        Some(sketch)
    }

    /// The q-quantile (q in [0, 1]) estimate, `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (n - 1) as f64).floor() as u64;
        let mut seen = 0_u64;
        for (i, c) in self.negative.buckets().rev() {
            seen = seen.saturating_add(c);
            if seen > rank {
                return Some(-self.value(i));
            }
        }
        seen = seen.saturating_add(self.zero);
        if seen > rank {
            return Some(0.0);
        }
        for (i, c) in self.positive.buckets() {
            seen = seen.saturating_add(c);
            if seen > rank {
                return Some(self.value(i));
            }
        }
        // Unreachable unless counts saturated: answer the largest bucket.
        self.positive.buckets().next_back().map(|(i, _)| self.value(i)).or(Some(0.0))
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

    #[test]
    fn empty_and_single() {
        let mut s = DdSketch::new(0.01);
        assert_eq!(s.quantile(0.5), None);
        assert!(!s.add(f64::NAN));
        assert!(!s.add(f64::INFINITY));
        assert!(s.add(46.26));
        assert!(within(s.quantile(0.99).unwrap(), 46.26, 0.01));
        assert_eq!(s.count(), 1);
    }

    #[test]
    fn negative_zero_positive_order() {
        let mut s = DdSketch::new(0.01);
        for x in [-100.0, -1.0, 0.0, 1e-12, 1.0, 100.0] {
            s.add(x);
        }
        assert!(within(s.quantile(0.0).unwrap(), -100.0, 0.01));
        assert!(within(s.quantile(0.2).unwrap(), -1.0, 0.01));
        assert_eq!(s.quantile(0.4), Some(0.0));
        assert_eq!(s.quantile(0.6), Some(0.0));
        assert!(within(s.quantile(0.8).unwrap(), 1.0, 0.01));
        assert!(within(s.quantile(1.0).unwrap(), 100.0, 0.01));
    }

    #[test]
    fn extreme_range_collapses_but_stays_bounded() {
        let mut s = DdSketch::new(0.01);
        for e in -300..300 {
            s.add(10f64.powi(e));
        }
        assert!(s.positive.counts.len() <= MAX_BUCKETS);
        assert_eq!(s.count(), 600);
        assert!(within(s.quantile(1.0).unwrap(), 1e299, 0.01));
    }

    #[test]
    fn accuracy_mismatch_and_bad_parts_rejected() {
        let mut a = DdSketch::new(0.01);
        assert!(!a.merge(&DdSketch::new(0.02)));
        let wide = Store::dense(0, vec![1; MAX_BUCKETS + 1]);
        assert!(DdSketch::from_parts(0.01, 0, wide, Store::default()).is_none());
        let far = Store::dense(i32::MAX, vec![1, 1]);
        assert!(DdSketch::from_parts(0.01, 0, Store::default(), far).is_none());
    }

    proptest! {
        #[test]
        fn quantiles_within_relative_accuracy(
            xs in prop::collection::vec(prop_oneof![-1e6f64..1e6, 0.001f64..10.0, Just(0.0)], 1..400),
            q in 0.0f64..=1.0,
            acc in prop_oneof![Just(0.01), Just(0.05), Just(0.005)],
        ) {
            let mut s = DdSketch::new(acc);
            xs.iter().for_each(|&x| { s.add(x); });
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let truth = exact(&sorted, q);
            let est = s.quantile(q).unwrap();
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
            let split = split.min(xs.len());
            let (mut a, mut b, mut all) = (DdSketch::new(0.01), DdSketch::new(0.01), DdSketch::new(0.01));
            for (i, &x) in xs.iter().enumerate() {
                all.add(x);
                if i < split { a.add(x); } else { b.add(x); }
            }
            prop_assert!(b.merge(&a));
            prop_assert_eq!(b, all);
        }
    }
}
