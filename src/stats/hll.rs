//! HyperLogLog distinct counting for `distinct` measures, plus the stable
//! 64-bit hash (xxHash64, seed 0) it is fed with.
//!
//! The hash is fixed so that sketches built by different processes merge
//! (register-wise max). Precision `p` gives `m = 2^p` registers and a
//! standard error of `1.04 / sqrt(m)` (p = 12: ~1.6%). The estimate uses
//! Ertl's improved estimator ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017), which is unbiased over the whole range
//! without empirical tables. While a sketch holds at most `2^p / 16` items it
//! keeps their exact hash set instead (half the register array's size), so
//! small groups, where `min_distinct` thresholds matter most, are counted
//! exactly (up to 64-bit hash collisions) instead of losing items to register
//! collisions. Merged results depend only on the union of the inputs.

/// xxHash64 with seed 0: stable across processes, platforms and versions
/// (sketches built by different instances must merge). The `xxhash-rust`
/// crate's implementation; `xxh64_known_vectors` pins the published values.
pub(crate) fn hash64(input: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(input, 0)
}

/// Sketch storage: the exact set of item hashes while small, then registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Registers {
    /// Sorted, distinct 64-bit item hashes (at most `2^p / 16`, min 4).
    Exact(Vec<u64>),
    /// One byte per register.
    Dense(Box<[u8]>),
}

/// A HyperLogLog sketch of precision `p` (4..=18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hll {
    p: u8,
    regs: Registers,
}

impl Hll {
    /// Empty sketch; `p` is clamped to 4..=18 (the spec checks it).
    pub(crate) fn new(p: u8) -> Self {
        Self { p: p.clamp(4, 18), regs: Registers::Exact(Vec::new()) }
    }

    pub(crate) fn precision(&self) -> u8 {
        self.p
    }

    fn m(&self) -> usize {
        1 << self.p
    }

    /// The exact set is abandoned beyond this many items (half the dense size in bytes).
    fn exact_limit(&self) -> usize {
        (self.m() / 16).max(4)
    }

    /// Largest register value: `64 - p + 1`.
    fn max_rank(&self) -> u8 {
        65 - self.p
    }

    /// Adds an item by its hash.
    pub(crate) fn insert_hash(&mut self, hash: u64) {
        match &mut self.regs {
            Registers::Dense(r) => {
                let (idx, rank) =
                    (hash >> (64 - self.p), (hash << self.p).leading_zeros() as u8 + 1);
                let slot = &mut r[idx as usize];
                *slot = (*slot).max(rank.min(65 - self.p));
            }
            Registers::Exact(set) => {
                if let Err(pos) = set.binary_search(&hash) {
                    set.insert(pos, hash);
                    if set.len() > self.exact_limit() {
                        self.densify();
                    }
                }
            }
        }
    }

    fn densify(&mut self) {
        if let Registers::Exact(set) = &mut self.regs {
            let set = std::mem::take(set);
            self.regs = Registers::Dense(vec![0u8; self.m()].into_boxed_slice());
            set.into_iter().for_each(|h| self.insert_hash(h));
        }
    }

    /// Merges `other` (same precision) into `self`; `false` on a precision
    /// mismatch. The result depends only on the union of the inputs.
    pub(crate) fn merge(&mut self, other: &Hll) -> bool {
        if other.p != self.p {
            return false;
        }
        match &other.regs {
            Registers::Exact(set) => set.iter().for_each(|&h| self.insert_hash(h)),
            Registers::Dense(theirs) => {
                self.densify();
                if let Registers::Dense(mine) = &mut self.regs {
                    for (a, b) in mine.iter_mut().zip(theirs.iter()) {
                        *a = (*a).max(*b);
                    }
                }
            }
        }
        true
    }

    /// The storage, for encoding.
    pub(crate) fn registers(&self) -> &Registers {
        &self.regs
    }

    /// Rebuilds a sketch from decoded storage; `None` if it is out of range.
    pub(crate) fn from_registers(p: u8, regs: Registers) -> Option<Self> {
        if !(4..=18).contains(&p) {
            return None;
        }
        let mut hll = Hll::new(p);
        match regs {
            Registers::Dense(r) => {
                if r.len() != hll.m() || r.iter().any(|&v| v > hll.max_rank()) {
                    return None;
                }
                hll.regs = Registers::Dense(r);
            }
            Registers::Exact(set) => set.into_iter().for_each(|h| hll.insert_hash(h)),
        }
        Some(hll)
    }

    /// Estimated number of distinct items (exact while the set is small).
    pub(crate) fn estimate(&self) -> f64 {
        let regs = match &self.regs {
            Registers::Exact(set) => return set.len() as f64,
            Registers::Dense(r) => r,
        };
        let m = self.m();
        let q = usize::from(64 - self.p);
        let mut hist = [0_u32; 66];
        regs.iter().for_each(|&v| hist[usize::from(v)] += 1);
        let mf = m as f64;
        let mut z = mf * tau(1.0 - f64::from(hist[q + 1]) / mf);
        for k in (1..=q).rev() {
            z = 0.5 * (z + f64::from(hist[k]));
        }
        z += mf * sigma(f64::from(hist[0]) / mf);
        let alpha_inf = 0.5 / std::f64::consts::LN_2;
        alpha_inf * mf * mf / z
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if z == prev {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == prev {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn filled(p: u8, range: std::ops::Range<u64>) -> Hll {
        let mut h = Hll::new(p);
        for i in range {
            h.insert_hash(hash64(format!("user-{i}").as_bytes()));
        }
        h
    }

    #[test]
    fn xxh64_known_vectors() {
        assert_eq!(hash64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(hash64(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(hash64(b"abc"), 0x44BC_2CF5_AD77_0999);
        let long = b"Nobody inspects the spammish repetition";
        assert_eq!(hash64(long), 0xFBCE_A83C_8A37_8BF1);
    }

    #[test]
    fn empty_and_small_sets_are_exact() {
        assert_eq!(Hll::new(12).estimate(), 0.0);
        for n in 1..=256 {
            let h = filled(12, 0..n);
            assert!(matches!(h.registers(), Registers::Exact(_)));
            assert_eq!(h.estimate(), n as f64, "n={n}");
        }
        assert!(matches!(filled(12, 0..257).registers(), Registers::Dense(_)));
    }

    #[test]
    fn dense_estimator_is_close_for_tiny_sets() {
        for n in 1..=60 {
            let mut h = filled(12, 0..n);
            h.densify();
            assert!((h.estimate() - n as f64).abs() <= 1.0, "n={n} est={}", h.estimate());
        }
    }

    #[test]
    fn duplicates_do_not_count() {
        let mut h = filled(12, 0..1_000);
        let before = h.clone();
        h.merge(&filled(12, 0..1_000));
        h.merge(&filled(12, 0..10));
        assert_eq!(h, before);
    }

    #[test]
    fn large_sets_within_four_standard_errors() {
        for (p, n) in [(12_u8, 1_000_u64), (12, 20_000), (12, 200_000), (10, 50_000), (14, 30_000)]
        {
            let est = filled(p, 0..n).estimate();
            let se = 1.04 / f64::from(1_u32 << p).sqrt();
            let rel = (est - n as f64).abs() / n as f64;
            assert!(rel < 4.0 * se, "p={p} n={n} est={est}");
        }
    }

    #[test]
    fn merge_is_order_free_across_representations() {
        let a = filled(12, 0..200);
        let b = filled(12, 150..5_000);
        let c = filled(12, 100..300);
        assert!(matches!(a.registers(), Registers::Exact(_)));
        assert!(matches!(b.registers(), Registers::Dense(_)));
        let all = filled(12, 0..5_000);
        for order in [[&a, &b, &c], [&c, &b, &a], [&b, &a, &c]] {
            let mut acc = Hll::new(12);
            order.iter().for_each(|h| assert!(acc.merge(h)));
            assert_eq!(acc, all);
        }
        let mut ac = a.clone();
        ac.merge(&c);
        assert_eq!(ac, filled(12, 0..300), "two exact sets whose union overflows become dense");
        assert!(matches!(ac.registers(), Registers::Dense(_)));
    }

    #[test]
    fn precision_mismatch_and_bad_registers_rejected() {
        let mut a = Hll::new(12);
        assert!(!a.merge(&Hll::new(10)));
        assert!(Hll::from_registers(12, Registers::Dense(vec![54; 4096].into())).is_none());
        assert!(Hll::from_registers(12, Registers::Dense(vec![0; 10].into())).is_none());
        assert!(Hll::from_registers(3, Registers::Exact(vec![])).is_none());
        for h in [filled(8, 0..1_000), filled(8, 0..5)] {
            assert_eq!(Hll::from_registers(8, h.registers().clone()).unwrap(), h);
        }
        let unsorted = Hll::from_registers(8, Registers::Exact(vec![9, 3, 9])).unwrap();
        assert_eq!(unsorted.registers(), &Registers::Exact(vec![3, 9]));
    }

    proptest! {
        #[test]
        fn merge_equals_union(xs in prop::collection::vec(0u64..5_000, 0..600), split in 0usize..600) {
            let split = split.min(xs.len());
            let (mut left, mut right, mut whole) = (Hll::new(11), Hll::new(11), Hll::new(11));
            for (i, x) in xs.iter().enumerate() {
                let h = hash64(&x.to_le_bytes());
                whole.insert_hash(h);
                if i < split { left.insert_hash(h) } else { right.insert_hash(h) }
            }
            left.merge(&right);
            prop_assert_eq!(left, whole);
        }
    }
}
