//! The one seeded RNG of the test tooling: rand's Xoshiro256++ (a fixed, portable
//! algorithm) seeded from a `u64`, with the few draws the generators and the fuzzer need.

use rand::{Rng as _, RngExt, SeedableRng};

#[derive(Debug, Clone)]
pub struct Rng(rand::rngs::Xoshiro256PlusPlus);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.0.random_range(0..n)
        }
    }
    /// True with probability 1/`one_in`.
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        self.0.random::<f64>()
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.f64().max(1e-300);
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        use rand::seq::SliceRandom;
        v.shuffle(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let draw = |s| {
            let mut r = Rng::new(s);
            (0..8).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            assert!(r.below(3) < 3);
            let x = r.f64();
            assert!((0.0..1.0).contains(&x));
            assert!(r.normal().is_finite());
        }
        assert_eq!(r.below(0), 0);
    }
}
