//! HyperLogLog distinct counting for `distinct` measures, plus the stable
//! 64-bit hash (xxHash64, seed 0) it is fed with.
//!
//! The hash is fixed so that sketches built by different processes merge
//! (register-wise max). Precision `p` gives `m = 2^p` registers and a
//! standard error of `1.04 / sqrt(m)` (p = 12: ~1.6%). The estimate uses
//! Ertl's improved estimator ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017), which is unbiased over the whole range
//! without empirical tables and exact-ish for tiny sets. Small sketches are
//! kept sparse (sorted `(index, rank)` entries) and switch to a dense register
//! array once that would be smaller; both forms estimate identically.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

fn read_u32(b: &[u8]) -> u64 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u64::from(u32::from_le_bytes(a))
}

fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2)).rotate_left(31).wrapping_mul(P1)
}

fn merge_round(acc: u64, val: u64) -> u64 {
    (acc ^ round(0, val)).wrapping_mul(P1).wrapping_add(P4)
}

/// xxHash64 with seed 0: stable across processes, platforms and versions.
pub(crate) fn hash64(input: &[u8]) -> u64 {
    let mut rest = input;
    let mut h = if input.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0_u64.wrapping_sub(P1)];
        while rest.len() >= 32 {
            for (i, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, read_u64(&rest[i * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for lane in v {
            h = merge_round(h, lane);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(input.len() as u64);
    while rest.len() >= 8 {
        h = (h ^ round(0, read_u64(rest))).rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        h = (h ^ read_u32(rest).wrapping_mul(P1)).rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h = (h ^ u64::from(b).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// Register storage: sorted `index << 8 | rank` entries, or one byte per register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Registers {
    Sparse(Vec<u32>),
    Dense(Box<[u8]>),
}

/// A HyperLogLog sketch of precision `p` (4..=18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hll {
    p: u8,
    regs: Registers,
}

impl Hll {
    /// Empty sketch; `p` must be in 4..=18 (checked by the spec).
    pub(crate) fn new(p: u8) -> Self {
        Self { p: p.clamp(4, 18), regs: Registers::Sparse(Vec::new()) }
    }

    pub(crate) fn precision(&self) -> u8 {
        self.p
    }

    fn m(&self) -> usize {
        1 << self.p
    }

    /// Sparse form is abandoned beyond `m / 8` entries (half the dense size).
    fn sparse_limit(&self) -> usize {
        self.m() / 8
    }

    /// Largest register value: `64 - p + 1`.
    pub(crate) fn max_rank(&self) -> u8 {
        65 - self.p
    }

    /// Adds an item by its hash.
    pub(crate) fn insert_hash(&mut self, hash: u64) {
        let idx = (hash >> (64 - self.p)) as u32;
        let w = hash << self.p;
        let rank = (w.leading_zeros() as u8 + 1).min(self.max_rank());
        self.set(idx, rank);
    }

    /// Raises register `idx` to `rank` (register-wise max).
    fn set(&mut self, idx: u32, rank: u8) {
        match &mut self.regs {
            Registers::Dense(r) => {
                let slot = &mut r[idx as usize];
                *slot = (*slot).max(rank);
            }
            Registers::Sparse(entries) => {
                match entries.binary_search_by_key(&idx, |e| e >> 8) {
                    Ok(pos) => {
                        if (entries[pos] & 0xFF) < u32::from(rank) {
                            entries[pos] = idx << 8 | u32::from(rank);
                        }
                    }
                    Err(pos) => entries.insert(pos, idx << 8 | u32::from(rank)),
                }
                if entries.len() > self.sparse_limit() {
                    self.densify();
                }
            }
        }
    }

    fn densify(&mut self) {
        if let Registers::Sparse(entries) = &self.regs {
            let mut dense = vec![0u8; self.m()].into_boxed_slice();
            for e in entries {
                dense[(e >> 8) as usize] = (e & 0xFF) as u8;
            }
            self.regs = Registers::Dense(dense);
        }
    }

    /// Merges `other` (same precision) into `self`; `false` on a precision mismatch.
    pub(crate) fn merge(&mut self, other: &Hll) -> bool {
        if other.p != self.p {
            return false;
        }
        match &other.regs {
            Registers::Sparse(entries) => {
                for e in entries {
                    self.set(e >> 8, (e & 0xFF) as u8);
                }
            }
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

    /// The registers, for encoding.
    pub(crate) fn registers(&self) -> &Registers {
        &self.regs
    }

    /// Rebuilds a sketch from decoded registers; `None` if any index or rank is out of range.
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
            Registers::Sparse(entries) => {
                for e in entries {
                    let (idx, rank) = (e >> 8, (e & 0xFF) as u8);
                    if idx as usize >= hll.m() || rank == 0 || rank > hll.max_rank() {
                        return None;
                    }
                    hll.set(idx, rank);
                }
            }
        }
        Some(hll)
    }

    /// Estimated number of distinct items.
    pub(crate) fn estimate(&self) -> f64 {
        let m = self.m();
        let q = usize::from(64 - self.p);
        let mut hist = [0_u32; 66];
        match &self.regs {
            Registers::Dense(r) => r.iter().for_each(|&v| hist[usize::from(v)] += 1),
            Registers::Sparse(entries) => {
                hist[0] = (m - entries.len()) as u32;
                entries.iter().for_each(|e| hist[(e & 0xFF) as usize] += 1);
            }
        }
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
    fn empty_and_tiny_sets_are_exact() {
        assert_eq!(Hll::new(12).estimate(), 0.0);
        for n in 1..=50 {
            let h = filled(12, 0..n);
            assert_eq!(h.estimate().round() as u64, n, "n={n}");
        }
    }

    #[test]
    fn duplicates_do_not_count() {
        let mut h = filled(12, 0..10);
        let before = h.clone();
        h.merge(&filled(12, 0..10));
        assert_eq!(h, before);
    }

    #[test]
    fn large_sets_within_four_standard_errors() {
        for (p, n) in [(12_u8, 1_000_u64), (12, 20_000), (12, 200_000), (10, 50_000), (14, 30_000)] {
            let est = filled(p, 0..n).estimate();
            let se = 1.04 / f64::from(1_u32 << p).sqrt();
            let rel = (est - n as f64).abs() / n as f64;
            assert!(rel < 4.0 * se, "p={p} n={n} est={est}");
        }
    }

    #[test]
    fn sparse_and_dense_agree_and_merge_is_order_free() {
        let a = filled(12, 0..300);
        let b = filled(12, 200..5_000);
        assert!(matches!(a.registers(), Registers::Sparse(_)));
        assert!(matches!(b.registers(), Registers::Dense(_)));
        let mut ab = a.clone();
        assert!(ab.merge(&b));
        let mut ba = b.clone();
        assert!(ba.merge(&a));
        let all = filled(12, 0..5_000);
        assert_eq!(ab.estimate(), all.estimate());
        assert_eq!(ba, all);
        let mut dense_a = a.clone();
        dense_a.densify();
        assert_eq!(dense_a.estimate(), a.estimate());
    }

    #[test]
    fn precision_mismatch_and_bad_registers_rejected() {
        let mut a = Hll::new(12);
        assert!(!a.merge(&Hll::new(10)));
        assert!(Hll::from_registers(12, Registers::Sparse(vec![4096 << 8 | 1])).is_none());
        assert!(Hll::from_registers(12, Registers::Sparse(vec![1 << 8 | 54])).is_none());
        assert!(Hll::from_registers(12, Registers::Sparse(vec![1 << 8])).is_none());
        assert!(Hll::from_registers(12, Registers::Dense(vec![0; 10].into())).is_none());
        assert!(Hll::from_registers(3, Registers::Sparse(vec![])).is_none());
        let h = filled(8, 0..1_000);
        let back = Hll::from_registers(8, h.registers().clone()).unwrap();
        assert_eq!(back, h);
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
            prop_assert_eq!(left.estimate().to_bits(), whole.estimate().to_bits());
        }
    }
}
