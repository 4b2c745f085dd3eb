//! How far an f32 descent may honestly land from the f64 reference: a model of f32 rounding run
//! beside the descent itself, before any solver runs. The argument is in the `validate` module's
//! documentation; this file is its arithmetic.
//!
//! The model follows the f32 solver's own problem (data, step and 2/N rounded to f32) in f64 with
//! the O(1)-per-epoch moments, and carries, per eigen-direction of the Hessian, what each epoch's
//! roundings can add to the gap between an f32 run and that exact descent:
//! - **random**: while the weights move by many ulps an epoch, each update rounds to nearest with
//!   an error of at most half an ulp whose sign varies from epoch to epoch; the direction damps
//!   what came before by `a = |1 − mu·λ|`, so their sum is a damped random walk (its standard
//!   deviation is carried, and the tolerance takes [`CONFIDENCE`] of them). The gradient's own
//!   rounding (summation, and the evaluation of each error) joins it while the weights move.
//! - **systematic**: once a weight's step changes by less than an ulp over the direction's memory
//!   `1/(1 − a)` epochs, its rounding repeats epoch after epoch (the step is constant, or lost
//!   entirely below half an ulp: the descent stalls). Such errors add up linearly, damped by `a`,
//!   each at most half an ulp and at most the step the f32 run would take: its own, plus the
//!   restoring steps of the lag built up so far (this is how a stall settles at the stagnation
//!   radius `ulp/(2·mu·λ)` and no further). A frozen gradient error counts too, if it moves a
//!   weight that otherwise sits still.
//! - **sweep**: a step that drifts slowly through an ulp's fractions makes a saw-tooth of
//!   roundings; at most one tooth (`ulp/8` per epoch of its length) is left unbalanced.
//! - **shift**: rounding the data and the constants to f32 changes the problem itself; the model
//!   runs that problem exactly, so this part is known, not bounded.

use super::curvature::Curvature;
use crate::problem::DataSums;

/// Unit roundoff of f32: half the spacing of f32 numbers just above 1.
pub const U32: f64 = 1.0 / (1u64 << 24) as f64;

/// Standard deviations of the random parts the tolerance allows (a sum of bounded independent
/// errors exceeds 6σ with probability below 2·e⁻¹⁸, Hoeffding).
pub const CONFIDENCE: f64 = 6.0;

/// Factor on the systematic update part, which is a worst case per epoch but whose onset the
/// model places only approximately.
pub const SYSTEMATIC_MARGIN: f64 = 2.0;

/// Roundings in evaluating one `e = d − (w0 + w1·x)` and its product with x.
const EVALUATION_ROUNDINGS: f64 = 3.0;

/// The spacing of f32 numbers at `v`'s magnitude (the gap from |v| to the next f32 up).
pub fn ulp32(v: f64) -> f64 {
    let f = (v.abs() as f32).min(f32::MAX);
    f64::from(f32::from_bits(f.to_bits() + 1)) - f64::from(f)
}

/// What the model says of an f32 descent of some epochs, per weight, in absolute terms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct F32Bound {
    /// Epochs modelled.
    pub epochs: u64,
    /// Whether the f32 problem itself converges: its step (mu and 2/N rounded to f32) below the
    /// rounded data's `2/λ_max`. A step within rounding of the limit can converge in f64 only.
    pub converges: bool,
    /// The f64 descent on the exact data (from moments): the scale differences are relative to.
    pub reference: [f64; 2],
    /// The exact descent on the f32-rounded problem minus `reference`: known, not bounded.
    pub shift: [f64; 2],
    /// Standard deviation of the random rounding (updates and gradients while the weights move).
    pub random: [f64; 2],
    /// Systematic update rounding (repeating, stalled or locked).
    pub systematic: [f64; 2],
    /// Systematic gradient rounding (a frozen pattern that still moves a weight).
    pub gradient: [f64; 2],
    /// The unbalanced part of a slowly drifting step's saw-tooth.
    pub sweep: [f64; 2],
}

impl F32Bound {
    /// The largest per-weight allowance, `shift + CONFIDENCE·random + SYSTEMATIC_MARGIN·systematic
    /// + gradient + sweep`, absolute.
    pub fn allowance(&self) -> [f64; 2] {
        [0, 1].map(|j| {
            self.shift[j].abs()
                + CONFIDENCE * self.random[j]
                + SYSTEMATIC_MARGIN * self.systematic[j]
                + self.gradient[j]
                + self.sweep[j]
        })
    }

    /// The relative tolerance: the allowance over the reference's largest weight (the same
    /// scale `max_rel_diff` uses), never below one f32 rounding; NaN (nothing passes) when the
    /// f32 problem does not converge or the allowance is not finite.
    pub fn tolerance(&self) -> f64 {
        let scale = self.reference[0].abs().max(self.reference[1].abs());
        let [a, b] = self.allowance();
        if !(self.converges && a.is_finite() && b.is_finite()) {
            f64::NAN
        } else if scale > 0.0 {
            (a.max(b) / scale).max(U32)
        } else {
            U32
        }
    }
}

/// Models an f32 descent of `epochs` epochs at step `mu` on data whose exact sums are `exact` and
/// whose f32-rounded sums are `rounded`.
pub fn f32_bound(exact: &DataSums, rounded: &DataSums, mu: f64, epochs: u64) -> F32Bound {
    let n = exact.n;
    // What an f32 solver multiplies by: mu and 2/N each rounded to f32.
    let step = f64::from(mu as f32) * f64::from((2.0 / n) as f32);
    let curv = Curvature::of(rounded);
    let decay = curv.decay(step * n / 2.0);
    let pull = curv.lambda.map(|l| step * n / 2.0 * l);
    let v = curv.vectors;
    let memory = decay.map(|a| {
        if a < 1.0 {
            1.0 / (1.0 - a)
        } else {
            f64::INFINITY
        }
    });
    // Summation depth: pairwise levels plus the sequential runs inside SIMD lanes and GPU threads.
    let depth = (64.0 + n.log2().ceil()).sqrt();
    // Per direction (a, b): ‖d·(a + b·x)‖₂, ‖a + b·x‖₂ and ‖x·(a + b·x)‖₂ over the samples, for
    // the evaluation errors (each error enters Σe and Σe·x alike, so they partly cancel).
    let norms = v.map(|[a, b]| {
        let r = rounded;
        [
            a * a * r.sdd + 2.0 * a * b * r.sddx + b * b * r.sddxx,
            a * a * n + 2.0 * a * b * r.sx + b * b * r.sxx,
            a * a * r.sxx + 2.0 * a * b * r.sxxx + b * b * r.sxxxx,
        ]
        .map(|s| s.max(0.0).sqrt())
    });

    let mut w = [0.0f64; 2];
    let mut reference = [0.0f64; 2];
    // Per direction: variance of the random part, the systematic parts, the sweep.
    let mut variance = [0.0f64; 2];
    let mut systematic = [0.0f64; 2];
    let mut gradient = [0.0f64; 2];
    let mut sweep = [0.0f64; 2];
    let mut previous = [f64::NAN; 2];
    let mut elapsed = 0.0f64;
    // Once every quantity repeats exactly, epoch after epoch or every other epoch (the shadow and
    // the reference have reached their f64 fixed points or 2-cycles, and the epochs elapsed
    // exceed every direction's memory), the remaining epochs change nothing but that parity:
    // stop there, on the state the last epoch would have.
    let settled_after = 2.0 * memory.iter().copied().fold(0.0, f64::max);
    let mut history: [Option<[[f64; 2]; 7]>; 2] = [None, None];
    for done in 1..=epochs {
        elapsed += 1.0;
        let g = rounded.error_sums(w);
        let squared = rounded.squared_error(w);
        let rms = [squared.sqrt(), (squared * rounded.sxx / n).sqrt()];
        let delta = [step * g[0], step * g[1]];
        let before = w;
        w = [w[0] + delta[0], w[1] + delta[1]];
        let gr = exact.error_sums(reference);
        reference = [
            reference[0] + mu * (2.0 / n * gr[0]),
            reference[1] + mu * (2.0 / n * gr[1]),
        ];
        if !(w[0].is_finite() && w[1].is_finite()) {
            break;
        }
        let ulp = w.map(ulp32);
        // Epochs over which a weight's step stays within one ulp: its rounding repeats that long.
        let coherence = [0, 1].map(|j| {
            let change = (delta[j].abs() - previous[j].abs()).abs();
            if change.is_nan() {
                1.0
            } else {
                (ulp[j] / change).max(1.0)
            }
        });
        previous = delta;
        // The step each weight of the f32 run is expected to take: the exact one, plus the
        // restoring steps of every direction's lag (systematic, and a typical random one).
        let expected = [0, 1].map(|j| {
            delta[j].abs()
                + (0..2)
                    .map(|l| pull[l] * (systematic[l] + variance[l].sqrt()) * v[l][j].abs())
                    .sum::<f64>()
        });
        // Gradient rounding per direction, in weight units: summation (spread and same-sign
        // parts) and the evaluation of every error.
        let sources = [0, 1].map(|i| {
            let [a, b] = v[i];
            let [nd, n1, nx] = norms[i];
            step * U32
                * (depth * ((a * rms[0]).powi(2) + (b * rms[1]).powi(2)).sqrt()
                    + (a * g[0]).abs()
                    + (b * g[1]).abs()
                    + EVALUATION_ROUNDINGS * (nd + before[0].abs() * n1 + before[1].abs() * nx))
        });
        for i in 0..2 {
            let span = (2.0 * memory[i]).min(elapsed);
            let (mut lost, mut spread, mut tooth) = (0.0, 0.0, 0.0f64);
            for j in 0..2 {
                let half = ulp[j] / 2.0;
                spread += (v[i][j] * half).powi(2);
                if coherence[j] >= span {
                    lost += v[i][j].abs() * half.min(expected[j]);
                } else {
                    tooth += v[i][j].abs() * ulp[j] / 8.0 * coherence[j];
                }
            }
            let still = (0..2).all(|j| coherence[j] >= span);
            let moves = (0..2).any(|j| expected[j] + v[i][j].abs() * sources[i] >= ulp[j] / 2.0);
            if !still {
                spread += sources[i].powi(2);
            }
            variance[i] = decay[i] * decay[i] * variance[i] + spread;
            systematic[i] = decay[i] * systematic[i] + lost;
            gradient[i] = decay[i] * gradient[i] + if still && moves { sources[i] } else { 0.0 };
            sweep[i] = (decay[i] * sweep[i]).max(tooth);
        }
        let state = [
            w, reference, variance, systematic, gradient, sweep, previous,
        ];
        if elapsed > settled_after && history[1] == Some(state) {
            if (epochs - done) % 2 == 1 {
                [w, reference, variance, systematic, gradient, sweep, _] =
                    history[0].expect("two states back implies one");
            }
            break;
        }
        history = [Some(state), history[0]];
    }
    let linear =
        |modes: [f64; 2]| [0, 1].map(|j| v[0][j].abs() * modes[0] + v[1][j].abs() * modes[1]);
    let quadratic = |modes: [f64; 2]| {
        [0, 1].map(|j| (v[0][j] * v[0][j] * modes[0] + v[1][j] * v[1][j] * modes[1]).sqrt())
    };
    F32Bound {
        epochs,
        converges: step * n / 2.0 * curv.lambda[1] < 2.0,
        reference,
        shift: [w[0] - reference[0], w[1] - reference[1]],
        random: quadratic(variance),
        systematic: linear(systematic),
        gradient: linear(gradient),
        sweep: linear(sweep),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Rounding;
    use crate::{Dataset, Problem, SolverId};

    #[test]
    fn ulps_are_f32_spacings() {
        assert_eq!(ulp32(1.0), f64::from(f32::EPSILON));
        assert_eq!(ulp32(-3.0), 2.0 * f64::from(f32::EPSILON));
        assert_eq!(ulp32(0.0), f64::from(f32::from_bits(1)));
    }

    /// The exact and the f32-rounded sums of synthetic data (N samples, seed).
    fn sums(n: usize, seed: u64) -> (DataSums, DataSums) {
        let data = Dataset::synthetic(n, 0.1, seed).unwrap();
        let (x, d) = (data.x(), data.d());
        (
            DataSums::of(x, d, Rounding::None),
            DataSums::of(x, d, Rounding::F32),
        )
    }

    fn bound_for(problem: &Problem) -> F32Bound {
        let (x, d) = (problem.x(), problem.d());
        f32_bound(
            &DataSums::of(x, d, Rounding::None),
            &DataSums::of(x, d, Rounding::F32),
            problem.steps()[0],
            problem.epochs(),
        )
    }

    #[test]
    fn the_shadow_reference_is_the_f64_descent() {
        let problem = Problem::new(Dataset::synthetic(1000, 0.1, 3).unwrap(), 0.01, 500).unwrap();
        let b = bound_for(&problem);
        let r = SolverId::CpuFused
            .prepare(&problem)
            .unwrap()
            .solve()
            .unwrap();
        for j in 0..2 {
            assert!((b.reference[j] - r.w[j]).abs() < 1e-12, "{b:?} {r:?}");
        }
        // Rounding the data to f32 moves the answer by about f32 rounding, not more.
        assert!(b.shift[0].abs() < 1e-6 && b.shift[0] != 0.0, "{b:?}");
    }

    #[test]
    fn a_settled_model_stops_early_with_the_same_answer() {
        let (exact, rounded) = sums(100, 5);
        // mu·λ_min ≈ 0.06: settled long before 10⁵ epochs, so 10⁹ epochs cost no more.
        let long = f32_bound(&exact, &rounded, 0.2, 100_000);
        let start = std::time::Instant::now();
        let very_long = f32_bound(&exact, &rounded, 0.2, 1_000_000_000);
        assert!(start.elapsed().as_secs_f64() < 5.0);
        assert_eq!(long.allowance(), very_long.allowance());
        assert_eq!(long.reference, very_long.reference);
    }

    #[test]
    fn a_settled_model_stops_early_near_the_stability_limit_too() {
        // At 99 % of the limit the fast direction flips sign every epoch: a 2-cycle, not a fixed
        // point. Stopping early must land on the same parity as running every epoch.
        let (exact, rounded) = sums(50, 9);
        let limit = Curvature::of(&exact).max_stable_mu();
        for epochs in [40_000, 40_001] {
            let all = f32_bound(&exact, &rounded, 0.99 * limit, epochs);
            let start = std::time::Instant::now();
            let many = f32_bound(&exact, &rounded, 0.99 * limit, 1_000_000_000 + epochs);
            assert!(start.elapsed().as_secs_f64() < 5.0, "did not stop early");
            assert_eq!(all.allowance(), many.allowance(), "{epochs}");
            assert_eq!(all.reference, many.reference, "{epochs}");
        }
    }

    #[test]
    fn a_step_that_rounds_past_the_limit_has_no_f32_tolerance() {
        let (exact, rounded) = sums(1000, 9);
        let limit = Curvature::of(&rounded).max_stable_mu();
        let b = f32_bound(&exact, &rounded, limit * (1.0 + 1e-6), 100);
        assert!(!b.converges && b.tolerance().is_nan(), "{b:?}");
        assert!(f32_bound(&exact, &rounded, limit * 0.5, 100).converges);
    }

    #[test]
    fn a_stalled_descent_is_allowed_its_stagnation_radius() {
        // Converged long ago (mu·λ_min·E ≈ 30): f32 stalls within ulp/(2·mu·λ_min) of the optimum.
        let problem = Problem::new(
            Dataset::synthetic(10_000, 0.1, 444).unwrap(),
            0.001,
            100_000,
        )
        .unwrap();
        let b = bound_for(&problem);
        let radius = ulp32(3.0) / (2.0 * 0.001 * 0.305);
        let [s0, s1] = b.systematic;
        assert!(
            s0.max(s1) > 0.5 * radius && s0.max(s1) < 2.0 * radius,
            "{b:?} vs {radius}"
        );
    }
}
