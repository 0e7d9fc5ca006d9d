//! A small deterministic PRNG (xoshiro256** seeded through splitmix64).
//!
//! The simulator must give byte-identical runs for a seed on every platform and
//! across dependency upgrades, so it owns its generator instead of relying on a
//! crate whose streams may change between versions.

/// splitmix64 step: used to expand one `u64` seed into generator state and to
/// derive independent sub-seeds.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Seeds the generator; `stream` separates independent uses of one seed
    /// (population, churn, faults) so that drawing from one never shifts another.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut sm = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Rng { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        if p >= 1.0 {
            return true;
        }
        if p.is_nan() || p <= 0.0 {
            return false;
        }
        self.f64() < p
    }

    /// Uniform in `[0, n)`; `n == 0` yields 0. Uses Lemire's multiply-shift,
    /// whose tiny bias is irrelevant for a simulator.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `[lo, hi]` (inclusive).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// Number of events of a Poisson process with the given mean, capped at
    /// `cap`. Knuth's method for small means (bounded by the cap and by the
    /// loop guard), a rounded normal approximation for large ones: churn only
    /// needs plausible counts, and this keeps `advance` O(events).
    pub(crate) fn poisson(&mut self, mean: f64, cap: u64) -> u64 {
        if mean.is_nan() || mean <= 0.0 || cap == 0 {
            return 0;
        }
        let n = if mean < 30.0 {
            let limit = (-mean).exp();
            let mut k = 0u64;
            let mut p = 1.0;
            // Bounded: the mean is below 30, so 1000 steps are never reached in practice.
            while k < 1000 {
                p *= self.f64();
                if p <= limit {
                    break;
                }
                k += 1;
            }
            k
        } else {
            // Box-Muller for one standard normal draw.
            let u1 = self.f64().max(f64::MIN_POSITIVE);
            let u2 = self.f64();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let x = (mean + z * mean.sqrt()).round();
            if x <= 0.0 {
                0
            } else if x >= u64::MAX as f64 {
                u64::MAX
            } else {
                x as u64
            }
        };
        n.min(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7, 1);
        let mut b = Rng::new(7, 1);
        let mut c = Rng::new(7, 2);
        let xa: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn below_and_poisson_stay_in_bounds() {
        let mut r = Rng::new(1, 0);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            assert!(r.f64() < 1.0);
        }
        let total: u64 = (0..1000).map(|_| r.poisson(5.0, 1000)).sum();
        assert!((4000..6000).contains(&total), "poisson mean off: {total}");
        assert!(r.poisson(1e6, 10) <= 10);
        assert_eq!(r.poisson(0.0, 10), 0);
    }
}
