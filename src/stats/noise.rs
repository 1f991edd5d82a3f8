//! Count noise for statistics with `epsilon`: two-sided geometric
//! (discrete Laplace) noise, the integer analogue of the Laplace mechanism
//! for counting queries with sensitivity 1.
//!
//! The generator is splitmix64, seeded once per engine from the standard
//! library's per-process hash randomness (which comes from OS entropy), so
//! the noise cannot be recomputed from the output; tests and replays can
//! fix the seed. It is not a cryptographic generator: adequate for blurring
//! counts, not for formal guarantees against an adversary who can observe
//! many engine outputs and model the generator.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_noise_is_reproducible_and_entropy_differs() {
        let draw = |mut n: Noise| (0..32).map(|_| n.two_sided(1.0)).collect::<Vec<_>>();
        assert_eq!(draw(Noise::seeded(3)), draw(Noise::seeded(3)));
        assert_ne!(draw(Noise::seeded(3)), draw(Noise::seeded(4)));
        assert_ne!(draw(Noise::from_entropy()), draw(Noise::from_entropy()));
    }

    #[test]
    fn two_sided_geometric_has_the_right_moments() {
        for eps in [0.1, 0.5, 1.0, 2.0] {
            let mut n = Noise::seeded(42);
            let draws: Vec<f64> = (0..100_000).map(|_| n.two_sided(eps) as f64).collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
            let a = (-eps).exp();
            let expected_var = 2.0 * a / (1.0 - a).powi(2);
            assert!(mean.abs() < 0.05 * expected_var.sqrt().max(1.0), "eps={eps} mean={mean}");
            assert!((var - expected_var).abs() < 0.05 * expected_var + 0.01, "eps={eps} var={var}");
            let zeros = draws.iter().filter(|&&d| d == 0.0).count() as f64 / draws.len() as f64;
            assert!((zeros - (1.0 - a) / (1.0 + a)).abs() < 0.01, "eps={eps} P(0)={zeros}");
        }
    }

    #[test]
    fn extreme_epsilon_does_not_overflow() {
        let mut n = Noise::seeded(1);
        for _ in 0..1_000 {
            let _ = n.two_sided(1e-300);
            assert_eq!(n.two_sided(1e6), 0);
        }
    }
}
