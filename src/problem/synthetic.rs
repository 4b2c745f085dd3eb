//! The article's synthetic data, generated reproducibly from a seed.
//!
//! Noise comes from `rand_distr::Normal` (a ziggurat) driven by ChaCha8. ChaCha is a published
//! cipher with fixed test vectors, so its stream cannot change between crate versions, unlike
//! `StdRng`, whose algorithm rand may swap. The 64-bit seed is laid into the 32-byte ChaCha key
//! directly (little-endian, rest zero) rather than through `seed_from_u64`, whose expansion is
//! rand_core's choice. rand_distr keeps its samples stable within a minor version, and
//! Cargo.toml pins that version exactly; a golden-value test guards the stream. (The ziggurat
//! calls `exp`/`ln` only on its rare wedge and tail paths; the platform's libm could in principle
//! flip one such decision on another OS.)

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{Dataset, Source, check_fits, reserve};
use crate::error::{GdError, Result};

/// The article's sample count.
pub const ARTICLE_N: usize = 10_000;
/// The article's noise standard deviation.
pub const ARTICLE_SIGMA: f64 = 0.1;
/// The article's seed (NumPy's; gdbench's stream differs, see the module docs).
pub const ARTICLE_SEED: u64 = 444;
/// The article's step size.
pub const ARTICLE_MU: f64 = 0.001;
/// The article's epoch count.
pub const ARTICLE_EPOCHS: u64 = 10_000;

impl Dataset {
    /// `x = linspace(0, 2, n)` (both ends, NumPy's rounding), `d = 3 + 2x + sigma·noise`.
    pub fn synthetic(n: usize, sigma: f64, seed: u64) -> Result<Self> {
        if n < 2 {
            return Err(GdError::InvalidParameter {
                name: "--n",
                problem: format!("{n} sample(s) cannot define a line: give at least 2"),
            });
        }
        if !sigma.is_finite() || sigma < 0.0 {
            return Err(GdError::InvalidParameter {
                name: "--sigma",
                problem: format!("{sigma} is not a standard deviation: give a finite number ≥ 0"),
            });
        }
        check_fits(n)?;
        let x = linspace(0.0, 2.0, n)?;
        let noise = Normal::new(0.0, sigma).expect("sigma was checked finite and ≥ 0");
        let mut rng = chacha_from_seed(seed);
        let mut d = reserve(n, "d")?;
        d.extend(x.iter().map(|&xi| 3.0 + 2.0 * xi + noise.sample(&mut rng)));
        Dataset::new(x, d, Source::Synthetic { seed, sigma })
    }
}

/// ChaCha8 keyed by the seed's little-endian bytes, the other 24 key bytes zero.
fn chacha_from_seed(seed: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// NumPy's `linspace(start, stop, n)`: `i·step + start`, with the last point exactly `stop`.
fn linspace(start: f64, stop: f64, n: usize) -> Result<Vec<f64>> {
    let step = (stop - start) / (n - 1) as f64;
    let mut x = reserve(n, "x")?;
    x.extend((0..n).map(|i| i as f64 * step + start));
    x[n - 1] = stop;
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_has_both_ends_and_even_steps() {
        let x = linspace(0.0, 2.0, 5).unwrap();
        assert_eq!(x, [0.0, 0.5, 1.0, 1.5, 2.0]);
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = Dataset::synthetic(1000, 0.1, 7).unwrap();
        let b = Dataset::synthetic(1000, 0.1, 7).unwrap();
        let c = Dataset::synthetic(1000, 0.1, 8).unwrap();
        assert_eq!(a.d(), b.d());
        assert_ne!(a.d(), c.d());
    }

    #[test]
    fn stream_is_pinned() {
        // Golden values: if these change, every published gdbench figure for a seed changes
        // with them. Update only with a deliberate, documented change of generator.
        let data = Dataset::synthetic(4, 0.1, ARTICLE_SEED).unwrap();
        assert_eq!(data.d(), GOLDEN_D, "the seed-444 stream changed");
    }

    const GOLDEN_D: [f64; 4] = [
        2.857255599792078,
        4.319468353951727,
        5.861414518919776,
        7.034542423042277,
    ];

    #[test]
    fn noise_free_data_lies_on_the_line() {
        let data = Dataset::synthetic(101, 0.0, 1).unwrap();
        for (x, d) in data.x().iter().zip(data.d()) {
            assert_eq!(*d, 3.0 + 2.0 * x);
        }
    }

    #[test]
    fn rejects_bad_sizes_and_sigmas() {
        assert!(
            Dataset::synthetic(1, 0.1, 1)
                .unwrap_err()
                .to_string()
                .contains("--n")
        );
        assert!(
            Dataset::synthetic(10, -0.1, 1)
                .unwrap_err()
                .to_string()
                .contains("--sigma")
        );
        assert!(
            Dataset::synthetic(10, f64::NAN, 1)
                .unwrap_err()
                .to_string()
                .contains("--sigma")
        );
    }
}
