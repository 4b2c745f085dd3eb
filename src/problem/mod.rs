//! The problem: N pairs (x, d), a step size and an epoch count, validated once so solvers never
//! meet bad input.

mod load;
mod memory;
mod steps;
mod sums;
mod synthetic;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::error::{GdError, Result};

pub use memory::{available_bytes, check_fits, reserve, sample_count};
pub use steps::{MAX_STEPS, parse_steps};
pub use sums::{Compensated, DataSums, Rounding};
pub use synthetic::{ARTICLE_EPOCHS, ARTICLE_MU, ARTICLE_N, ARTICLE_SEED, ARTICLE_SIGMA};

/// Where a dataset came from, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Source {
    /// Generated as the article does: `x = linspace(0, 2, N)`, `d = 3 + 2x + sigma·noise`.
    Synthetic {
        /// Seed of the ChaCha8 stream behind the noise.
        seed: u64,
        /// Standard deviation of the Gaussian noise.
        sigma: f64,
    },
    /// Loaded from a `.csv` or `.npy` file.
    File {
        /// The file as given on the command line.
        data: PathBuf,
    },
}

/// The samples: inputs `x` and desired outputs `d`, in f64, same length ≥ 2, all finite.
#[derive(Debug, Clone)]
pub struct Dataset {
    x: Vec<f64>,
    d: Vec<f64>,
    source: Source,
    /// Sums and the least-squares line, taken on first use.
    facts: OnceLock<Facts>,
}

/// What the data say before any descent runs, computed once.
#[derive(Debug, Clone)]
struct Facts {
    sums: DataSums,
    closed_form: Option<[f64; 2]>,
    /// The least-squares line's mean squared error (its own pass, taken on first use).
    least_loss: OnceLock<f64>,
}

impl Dataset {
    /// Checks and wraps samples: equal lengths, N ≥ 2, finite values, not all x equal.
    pub fn new(x: Vec<f64>, d: Vec<f64>, source: Source) -> Result<Self> {
        let fail = |problem: String| match &source {
            Source::File { data } => GdError::DataFormat {
                path: data.clone(),
                problem,
            },
            Source::Synthetic { .. } => GdError::InvalidParameter {
                name: "dataset",
                problem,
            },
        };
        if x.len() != d.len() {
            return Err(fail(format!(
                "x has {} values but d has {}",
                x.len(),
                d.len()
            )));
        }
        if x.len() < 2 {
            return Err(fail(format!(
                "{} sample(s) found; a line needs at least 2",
                x.len()
            )));
        }
        if let Some(i) = x.iter().chain(&d).position(|v| !v.is_finite()) {
            let (column, row) = if i < x.len() {
                ("x", i)
            } else {
                ("d", i - x.len())
            };
            return Err(fail(format!(
                "{column} of sample {} is {}: every value must be finite",
                row + 1,
                if i < x.len() { x[row] } else { d[row] }
            )));
        }
        if x.iter().all(|&v| v == x[0]) {
            return Err(fail(format!(
                "all x values equal {}: no line can be fitted",
                x[0]
            )));
        }
        Ok(Self {
            x,
            d,
            source,
            facts: OnceLock::new(),
        })
    }

    fn facts(&self) -> &Facts {
        self.facts.get_or_init(|| Facts {
            sums: DataSums::of(&self.x, &self.d, Rounding::None),
            closed_form: crate::cpu::closed_form(&self.x, &self.d),
            least_loss: OnceLock::new(),
        })
    }

    /// The mean squared error `Σ(d − w0 − w1·x)²/N` of the line `w`: the least-squares line's
    /// (one compensated pass, taken once) plus `w`'s excess over it ([`DataSums::excess_loss`]),
    /// so lines a hair apart rank by what separates them, not by the rounding of the data's
    /// spread.
    pub fn loss(&self, w: [f64; 2]) -> f64 {
        let facts = self.facts();
        let least = *facts
            .least_loss
            .get_or_init(|| facts.sums.least_loss(&self.x, &self.d));
        least + facts.sums.excess_loss(w)
    }

    /// The data's power sums (compensated), taken once.
    pub fn sums(&self) -> &DataSums {
        &self.facts().sums
    }

    /// The least-squares line `[w0, w1]`, or `None` when f64 cannot determine it.
    pub fn closed_form(&self) -> Option<[f64; 2]> {
        self.facts().closed_form
    }

    /// How large a weight may grow in a descent that converges: from `w = 0` every epoch of a
    /// stable descent brings `w` nearer the least-squares point `w*` (in the 2-norm), so
    /// `|w| ≤ 2·‖w*‖₂`; twice that leaves room for rounding. Infinite when `w*` is undetermined.
    pub fn sane_bound(&self) -> f64 {
        self.closed_form()
            .map_or(f64::INFINITY, |[a, b]| 4.0 * a.hypot(b))
    }

    /// Inputs x.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// Desired outputs d.
    pub fn d(&self) -> &[f64] {
        &self.d
    }

    /// Number of samples N.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Always false: a dataset holds at least two samples.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Where the samples came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// SHA-256 of x then d, each sample as an f64 in little-endian bytes, in lowercase hex.
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for column in [&self.x, &self.d] {
            for chunk in column.chunks(8192) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
                hash.update(&bytes);
            }
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One gradient-descent problem: the dataset (shared, so problems that differ only in epochs
/// do not copy it), the step sizes (one, or several for a step-size search: K descents over the
/// same data) and the number of epochs.
#[derive(Debug, Clone)]
pub struct Problem {
    data: Arc<Dataset>,
    steps: Vec<f64>,
    epochs: u64,
}

impl Problem {
    /// Checks mu (finite, > 0) and epochs (≥ 1) and builds the problem.
    pub fn new(data: Dataset, mu: f64, epochs: u64) -> Result<Self> {
        Self::shared(Arc::new(data), mu, epochs)
    }

    /// [`Problem::new`] on a dataset other problems may share.
    pub fn shared(data: Arc<Dataset>, mu: f64, epochs: u64) -> Result<Self> {
        Self::search(data, vec![mu], epochs)
    }

    /// A step-size search: one descent per step size in `steps` (1 to [`MAX_STEPS`], each
    /// finite, > 0), all over the same data.
    pub fn search(data: Arc<Dataset>, steps: Vec<f64>, epochs: u64) -> Result<Self> {
        let bad_mu = |problem: String| GdError::InvalidParameter {
            name: "--mu",
            problem,
        };
        if steps.is_empty() || steps.len() > MAX_STEPS {
            return Err(bad_mu(format!(
                "{} step sizes: give 1 to {MAX_STEPS}",
                steps.len()
            )));
        }
        for &mu in &steps {
            steps::checked_step(mu)?;
        }
        if epochs == 0 {
            return Err(GdError::InvalidParameter {
                name: "--epochs",
                problem: "0 epochs computes nothing: give at least 1".into(),
            });
        }
        Ok(Self {
            data,
            steps,
            epochs,
        })
    }

    /// The problem of step `i` alone (same data, shared).
    pub fn step(&self, i: usize) -> Problem {
        Self {
            data: Arc::clone(&self.data),
            steps: vec![self.steps[i]],
            epochs: self.epochs,
        }
    }

    /// Inputs x.
    pub fn x(&self) -> &[f64] {
        self.data.x()
    }

    /// Desired outputs d.
    pub fn d(&self) -> &[f64] {
        self.data.d()
    }

    /// Number of samples N.
    pub fn n(&self) -> usize {
        self.data.len()
    }

    /// The step sizes, one descent each, in the order given.
    pub fn steps(&self) -> &[f64] {
        &self.steps
    }

    /// The step size of a single-descent problem; `None` for a search over several.
    pub fn single_mu(&self) -> Option<f64> {
        match self.steps[..] {
            [mu] => Some(mu),
            _ => None,
        }
    }

    /// Number of epochs.
    pub fn epochs(&self) -> u64 {
        self.epochs
    }

    /// See [`Dataset::sane_bound`]: a weight beyond it has left a converging descent's range.
    pub fn sane_bound(&self) -> f64 {
        self.data.sane_bound()
    }

    /// The same data and steps over `epochs` epochs (≥ 1).
    pub fn with_epochs(&self, epochs: u64) -> Problem {
        Problem {
            data: Arc::clone(&self.data),
            steps: self.steps.clone(),
            epochs: epochs.max(1),
        }
    }

    /// The dataset.
    pub fn data(&self) -> &Dataset {
        &self.data
    }

    /// The same problem with x and d rounded to f16 and back: the problem an f16-storage solver
    /// really solves. `Unavailable` when a value is beyond f16's range (±65 504) or the rounded
    /// data is degenerate.
    pub fn rounded_to_f16(&self) -> Result<Problem> {
        let round = |v: &[f64]| -> Vec<f64> { v.iter().map(|&v| to_f16(v).to_f64()).collect() };
        let (x, d) = (round(self.x()), round(self.d()));
        let unavailable = |why: String| GdError::Unavailable {
            reason: format!("rounded to f16, {why}"),
        };
        if x.iter().chain(&d).any(|v| !v.is_finite()) {
            return Err(outside_f16());
        }
        let data = Dataset::new(x, d, self.data.source().clone())
            .map_err(|e| unavailable(format!("the data is unusable: {e}")))?;
        Problem::search(Arc::new(data), self.steps.clone(), self.epochs)
    }
}

/// Why f16 storage cannot take a problem whose x or d leaves f16's range: every f16 row says it
/// in these words.
pub fn outside_f16() -> GdError {
    GdError::Unavailable {
        reason:
            "rounded to f16, x or d leaves f16's range (±65 504): f16 storage cannot hold this data"
                .into(),
    }
}

/// `v` rounded to the nearest f16 (ties to even) in one rounding, the same on every CPU: through
/// f32 rounded to odd, which cannot create a false tie (`half`'s own conversion rounds twice, or
/// truncates first, depending on the CPU).
pub fn to_f16(v: f64) -> half::f16 {
    let f = v as f32;
    let exact = f64::from(f) == v || v.is_nan();
    let odd = if exact || f.to_bits() & 1 == 1 {
        f
    } else if f64::from(f).abs() < v.abs() {
        f32::from_bits(f.to_bits() + 1)
    } else {
        f32::from_bits(f.to_bits() - 1)
    };
    half::f16::from_f32(odd)
}

#[cfg(test)]
mod tests {

    #[test]
    fn f16_rounding_is_one_rounding() {
        // Just above the tie between 1 and 1 + 2⁻¹⁰: nearest is 1 + 2⁻¹⁰. Through f32 (nearest)
        // the 2⁻⁴⁰ is lost, the tie goes to even, and the answer would be 1.
        let v = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        assert_eq!(to_f16(v).to_f64(), 1.0 + 2f64.powi(-10));
        assert_eq!(to_f16(-v).to_f64(), -(1.0 + 2f64.powi(-10)));
        // Just below it: 1. Exact values and ties stay as IEEE rounds them.
        assert_eq!(to_f16(1.0 + 2f64.powi(-11) - 2f64.powi(-40)).to_f64(), 1.0);
        assert_eq!(to_f16(1.0 + 2f64.powi(-11)).to_f64(), 1.0);
        assert_eq!(to_f16(0.1).to_f64(), 0.0999755859375);
        assert!(to_f16(70_000.0).is_infinite());
    }

    #[test]
    fn rounding_to_f16_keeps_three_digits_and_refuses_what_f16_cannot_hold() {
        let source = Source::Synthetic {
            seed: 0,
            sigma: 0.0,
        };
        let x = vec![0.1, 1.0, 2.000_5, 3.0];
        let d = vec![1.0, 3.0, 5.001, 7.0];
        let p = Problem::new(Dataset::new(x, d, source.clone()).unwrap(), 0.01, 5).unwrap();
        let r = p.rounded_to_f16().unwrap();
        // f16 has 11 significant bits: 0.1 becomes 0.0999755859375, 2.0005 becomes 2.0.
        assert_eq!(r.x(), [0.0999755859375, 1.0, 2.0, 3.0]);
        assert_eq!(r.d()[2], 5.0);
        assert_eq!((r.steps(), r.epochs()), (&[0.01][..], 5));
        let far = Dataset::new(vec![1.0, 70_000.0], vec![1.0, 2.0], source).unwrap();
        let err = Problem::new(far, 0.01, 5)
            .unwrap()
            .rounded_to_f16()
            .unwrap_err();
        assert!(
            matches!(&err, GdError::Unavailable { reason } if reason.contains("65 504")),
            "{err}"
        );
    }

    use super::*;

    fn synthetic() -> Source {
        Source::Synthetic {
            seed: 1,
            sigma: 0.0,
        }
    }

    #[test]
    fn rejects_bad_datasets() {
        let bad = [
            (vec![1.0], vec![1.0], "at least 2"),
            (vec![1.0, 2.0], vec![1.0], "x has 2 values but d has 1"),
            (vec![1.0, f64::NAN], vec![1.0, 2.0], "x of sample 2 is NaN"),
            (
                vec![1.0, 2.0],
                vec![f64::INFINITY, 2.0],
                "d of sample 1 is inf",
            ),
            (vec![5.0, 5.0], vec![1.0, 2.0], "all x values equal 5"),
        ];
        for (x, d, expected) in bad {
            let err = Dataset::new(x, d, synthetic()).unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let data = || Dataset::new(vec![0.0, 1.0], vec![1.0, 2.0], synthetic()).unwrap();
        for mu in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = Problem::new(data(), mu, 10).unwrap_err().to_string();
            assert!(err.starts_with("invalid --mu"), "{err}");
        }
        let err = Problem::new(data(), 0.1, 0).unwrap_err().to_string();
        assert!(err.starts_with("invalid --epochs"), "{err}");
    }
}
