//! How far a descent in finite precision may honestly land from the exact one: a model of its
//! rounding run beside the descent itself, before any solver runs. The argument is in the
//! `validate` module's documentation; this file is its arithmetic.
//!
//! The model follows the solver's own problem (data, step and 2/N rounded as its [`Arithmetic`]
//! stores them) in f64 with the O(1)-per-epoch moments, and carries, per eigen-direction of the
//! Hessian, what each epoch's roundings can add to the gap between the solver's run and that exact
//! descent:
//! - **random**: while the weights move by many ulps an epoch, each update rounds to nearest with
//!   an error of at most half an ulp whose sign varies from epoch to epoch; the direction damps
//!   what came before by `a = |1 − mu·λ|`, so their sum is a damped random walk (its standard
//!   deviation is carried, and the tolerance takes [`CONFIDENCE`] of them). The gradient's own
//!   rounding (summation, and the evaluation of each error) joins it while the weights move.
//! - **systematic**: once a weight's step changes by less than an ulp over the direction's memory
//!   `1/(1 − a)` epochs, its rounding repeats epoch after epoch (the step is constant, or lost
//!   entirely below half an ulp: the descent stalls). Such errors add up linearly, damped by `a`,
//!   each at most half an ulp and at most the step the run would take: its own, plus the
//!   restoring steps of the lag built up so far (this is how a stall settles at the stagnation
//!   radius `ulp/(2·mu·λ)` and no further). A frozen gradient error counts too, if it moves a
//!   weight that otherwise sits still; the moments' gradient (a difference of large sums) counts
//!   as systematic throughout.
//! - **sweep**: a step that drifts slowly through an ulp's fractions makes a saw-tooth of
//!   roundings; at most one tooth (`ulp/8` per epoch of its length) is left unbalanced.
//! - **shift**: rounding the data and the constants to the solver's format changes the problem
//!   itself; the model runs that problem exactly, so this part is known, not bounded.

use super::curvature::Curvature;
use crate::problem::{DataSums, Rounding};

/// Unit roundoff of f32: half the spacing of f32 numbers just above 1.
pub const U32: f64 = 1.0 / (1u64 << 24) as f64;

/// Unit roundoff of f64.
pub const U64: f64 = f64::EPSILON / 2.0;

/// What one double-float operation may be off by, relative: its sums are within 3·2⁻⁴⁸ and its
/// products within 7·2⁻⁴⁸ of exact (see `crate::gpu::df64`), so 2⁻⁴⁵ bounds both.
pub const UDF64: f64 = 1.0 / (1u64 << 45) as f64;

/// Standard deviations of the random parts the tolerance allows (a sum of bounded independent
/// errors exceeds 6σ with probability below 2·e⁻¹⁸, Hoeffding).
pub const CONFIDENCE: f64 = 6.0;

/// Factor on the systematic update part, which is a worst case per epoch but whose onset the
/// model places only approximately.
pub const SYSTEMATIC_MARGIN: f64 = 2.0;

/// The least a tolerance allows, in units of its arithmetic: a final weight may differ by a few
/// roundings of its own however exact the descent (the summation order alone moves f64 answers by
/// up to a dozen units: 1.4e-15 measured at the article's size), and the per-epoch terms estimate
/// that floor only statistically.
pub const FLOOR_UNITS: f64 = 16.0;

/// Roundings in evaluating one `e = d − (w0 + w1·x)` and its product with x.
const EVALUATION_ROUNDINGS: f64 = 3.0;

/// Roundings in one moments gradient `Σd − N·w0 − w1·Σx` (two products, two differences) and in
/// the compensated sums themselves.
const MOMENT_ROUNDINGS: f64 = 5.0;

/// The spacing of f32 numbers at `v`'s magnitude (the gap from |v| to the next f32 up).
pub fn ulp32(v: f64) -> f64 {
    let f = (v.abs() as f32).min(f32::MAX);
    f64::from(f32::from_bits(f.to_bits() + 1)) - f64::from(f)
}

/// The spacing of f64 numbers at `v`'s magnitude.
pub fn ulp64(v: f64) -> f64 {
    let f = v.abs().min(f64::MAX);
    f64::from_bits(f.to_bits() + 1) - f
}

/// The arithmetic a descent runs in, as the model sees it: how its data and step are stored, how
/// fine its numbers are, and how it takes its sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arithmetic {
    /// f32 data, weights and sums, the sums as trees (f16-storage rows too, on their own data).
    F32,
    /// f64 throughout, the sums as trees (pairwise, SIMD lanes, GPU workgroups): the reference.
    F64,
    /// [`Arithmetic::F64`] with mu and 2/N handed over as pairs of f32 and rebuilt in f64 (to
    /// 2⁻⁴⁸: `gpu-fused-f64`): a constant step error the fast direction magnifies near the limit.
    F64PairedStep,
    /// f64, each sum taken left to right (`cpu-naive`, and peers whose summation is unknown).
    F64Sequential,
    /// f64 updates from four compensated moments (`cpu-moments`, the reference's cross-check):
    /// a gradient that is a difference of large sums.
    Moments,
    /// Double-float pairs of f32, about 48 bits, data stored as pairs (`gpu-fused-df64`).
    Df64,
}

impl Arithmetic {
    /// Every arithmetic, in a fixed order (an index for per-arithmetic caches).
    pub const ALL: [Arithmetic; 6] = [
        Arithmetic::F32,
        Arithmetic::F64,
        Arithmetic::F64PairedStep,
        Arithmetic::F64Sequential,
        Arithmetic::Moments,
        Arithmetic::Df64,
    ];

    /// This arithmetic's position in [`Arithmetic::ALL`].
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|&a| a == self).expect("listed")
    }

    /// How the data (and the step's factors) are stored.
    pub fn rounding(self) -> Rounding {
        match self {
            Arithmetic::F32 => Rounding::F32,
            Arithmetic::Df64 => Rounding::Df64,
            _ => Rounding::None,
        }
    }

    /// The relative error of one operation.
    pub fn unit(self) -> f64 {
        match self {
            Arithmetic::F32 => U32,
            Arithmetic::Df64 => UDF64,
            _ => U64,
        }
    }

    /// The spacing of this arithmetic's numbers at `v`'s magnitude.
    pub fn ulp(self, v: f64) -> f64 {
        match self {
            Arithmetic::F32 => ulp32(v),
            // A pair's low word is within half an f32 ulp of the high word, so its own spacing is
            // about 2⁻²⁴ of that; 2⁻²¹ of it makes half an ulp (2⁻⁴⁵ to 2⁻⁴⁴ relative) cover the
            // operations' 3·2⁻⁴⁸ (sums) and 7·2⁻⁴⁸ (products).
            Arithmetic::Df64 => ulp32(v) / (1u64 << 21) as f64,
            _ => ulp64(v),
        }
    }

    /// The step `mu·2/N` as the solver multiplies by it: `mu` and `2/N` each stored its way.
    fn step(self, mu: f64, n: f64) -> f64 {
        let r = match self {
            Arithmetic::F64PairedStep => Rounding::Df64,
            other => other.rounding(),
        };
        r.apply(mu) * r.apply(2.0 / n)
    }
}

impl std::fmt::Display for Arithmetic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arithmetic::F32 => "f32",
            Arithmetic::F64 | Arithmetic::F64PairedStep => "f64",
            Arithmetic::F64Sequential => "f64 (sums left to right)",
            Arithmetic::Moments => "f64 moments",
            Arithmetic::Df64 => "df64",
        })
    }
}

/// What the model says of a descent of some epochs, per weight, in absolute terms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bound {
    /// Epochs modelled.
    pub epochs: u64,
    /// The relative error of one operation in the modelled arithmetic (the tolerance's floor).
    pub unit: f64,
    /// Whether the rounded problem itself converges: its step (mu and 2/N rounded) below the
    /// rounded data's `2/λ_max`. A step within rounding of the limit can converge in f64 only.
    pub converges: bool,
    /// The f64 descent on the exact data (from moments): the scale differences are relative to.
    pub reference: [f64; 2],
    /// The exact descent on the rounded problem minus `reference`: known, not bounded.
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

impl Bound {
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
    /// scale `max_rel_diff` uses), never below [`FLOOR_UNITS`] roundings; NaN (nothing passes)
    /// when the rounded problem does not converge or the allowance is not finite.
    pub fn tolerance(&self) -> f64 {
        let scale = self.reference[0].abs().max(self.reference[1].abs());
        let [a, b] = self.allowance();
        let floor = FLOOR_UNITS * self.unit;
        if !(self.converges && a.is_finite() && b.is_finite()) {
            f64::NAN
        } else if scale > 0.0 {
            (a.max(b) / scale).max(floor)
        } else {
            floor
        }
    }
}

/// Models a descent in `arithmetic` of `epochs` epochs at step `mu` on data whose exact sums are
/// `exact` and whose sums as that arithmetic stores the data are `rounded`.
pub fn bound(
    arithmetic: Arithmetic,
    exact: &DataSums,
    rounded: &DataSums,
    mu: f64,
    epochs: u64,
) -> Bound {
    let model = Model::new(arithmetic, exact, rounded, mu);
    let mut lags = Lags::default();
    // Once every quantity repeats exactly, epoch after epoch or every other epoch (the shadow and
    // the reference have reached their f64 fixed points or 2-cycles, and the epochs elapsed
    // exceed every direction's memory), the remaining epochs change nothing but that parity:
    // stop there, on the state the last epoch would have.
    let settled_after = 2.0 * model.memory.iter().copied().fold(0.0, f64::max);
    // The last two epochs' lags: a 2-cycle repeats the one two epochs back.
    let mut history: [Option<Lags>; 2] = [None, None];
    for done in 1..=epochs {
        if !model.epoch(&mut lags) {
            break;
        }
        let repeats = history[1].is_some_and(|h| h.state() == lags.state());
        if lags.elapsed > settled_after && repeats {
            if (epochs - done) % 2 == 1 {
                lags = history[0].expect("two states back implies one");
            }
            break;
        }
        history = [Some(lags), history[0]];
    }
    model.bound(&lags, epochs)
}

/// What the model carries from epoch to epoch, compared to find it settled: the shadow's and
/// the reference's weights, the lags per direction (random variance, systematic, gradient,
/// sweep), and the last step.
type State = [[f64; 2]; 7];

/// The descent modelled so far: the rounded run's weights (its shadow, in f64), the reference's,
/// and per eigen-direction the lags its roundings have built up.
#[derive(Debug, Clone, Copy)]
struct Lags {
    w: [f64; 2],
    reference: [f64; 2],
    /// Variance of the random part.
    variance: [f64; 2],
    systematic: [f64; 2],
    gradient: [f64; 2],
    sweep: [f64; 2],
    /// The last epoch's step per weight (NaN before the first).
    previous: [f64; 2],
    /// Epochs modelled.
    elapsed: f64,
}

impl Default for Lags {
    fn default() -> Self {
        Self {
            w: [0.0; 2],
            reference: [0.0; 2],
            variance: [0.0; 2],
            systematic: [0.0; 2],
            gradient: [0.0; 2],
            sweep: [0.0; 2],
            previous: [f64::NAN; 2],
            elapsed: 0.0,
        }
    }
}

impl Lags {
    /// Everything that must repeat for the model to have settled.
    fn state(&self) -> State {
        [
            self.w,
            self.reference,
            self.variance,
            self.systematic,
            self.gradient,
            self.sweep,
            self.previous,
        ]
    }
}

/// What stays fixed over a modelled descent: the problem, its step in the arithmetic, the
/// Hessian's directions with their damping, and the summation's depth.
struct Model<'a> {
    arithmetic: Arithmetic,
    exact: &'a DataSums,
    rounded: &'a DataSums,
    mu: f64,
    n: f64,
    unit: f64,
    /// The step as the arithmetic rounds it (mu and 2/N).
    step: f64,
    curv: Curvature,
    /// Per direction: what an epoch keeps of the lag before it, `|1 − step·N/2·λ|`.
    decay: [f64; 2],
    /// Per direction: the restoring pull on a lag, `step·N/2·λ`.
    pull: [f64; 2],
    /// Per direction: epochs a lag is remembered, `1/(1 − decay)`.
    memory: [f64; 2],
    /// Summation depth: of the spread of the sums, and of their same-sign part.
    depth: (f64, f64),
    /// Per direction (a, b): ‖d·(a + b·x)‖₂, ‖a + b·x‖₂ and ‖x·(a + b·x)‖₂ over the samples.
    norms: [[f64; 3]; 2],
}

impl<'a> Model<'a> {
    fn new(arithmetic: Arithmetic, exact: &'a DataSums, rounded: &'a DataSums, mu: f64) -> Self {
        let n = exact.n;
        let step = arithmetic.step(mu, n);
        let curv = Curvature::of(rounded);
        let decay = curv.decay(step * n / 2.0);
        let pull = curv.lambda.map(|l| step * n / 2.0 * l);
        let memory = decay.map(|a| {
            if a < 1.0 {
                1.0 / (1.0 - a)
            } else {
                f64::INFINITY
            }
        });
        // Summation depth: pairwise levels plus the sequential runs inside SIMD lanes and GPU
        // threads; a sum left to right carries every partial sum's rounding, about √N of them
        // at once.
        let depth = if arithmetic == Arithmetic::F64Sequential {
            (n.sqrt(), n.sqrt())
        } else {
            ((64.0 + n.log2().ceil()).sqrt(), 1.0)
        };
        // For the evaluation errors (each error enters Σe and Σe·x alike, so they partly cancel).
        let r = rounded;
        let norms = curv.vectors.map(|[a, b]| {
            [
                a * a * r.sdd + 2.0 * a * b * r.sddx + b * b * r.sddxx,
                a * a * n + 2.0 * a * b * r.sx + b * b * r.sxx,
                a * a * r.sxx + 2.0 * a * b * r.sxxx + b * b * r.sxxxx,
            ]
            .map(|s| s.max(0.0).sqrt())
        });
        Self {
            arithmetic,
            exact,
            rounded,
            mu,
            n,
            unit: arithmetic.unit(),
            step,
            curv,
            decay,
            pull,
            memory,
            depth,
            norms,
        }
    }

    /// One epoch of the shadow, the reference and the lags; false when the shadow's weights
    /// left the finite numbers (the model stops there).
    fn epoch(&self, l: &mut Lags) -> bool {
        let (n, step, v) = (self.n, self.step, self.curv.vectors);
        l.elapsed += 1.0;
        let g = self.rounded.error_sums(l.w);
        let squared = self.rounded.squared_error(l.w);
        let rms = [squared.sqrt(), (squared * self.rounded.sxx / n).sqrt()];
        let delta = [step * g[0], step * g[1]];
        let before = l.w;
        l.w = [l.w[0] + delta[0], l.w[1] + delta[1]];
        let gr = self.exact.error_sums(l.reference);
        l.reference = [
            l.reference[0] + self.mu * (2.0 / n * gr[0]),
            l.reference[1] + self.mu * (2.0 / n * gr[1]),
        ];
        if !(l.w[0].is_finite() && l.w[1].is_finite()) {
            return false;
        }
        let ulp = l.w.map(|x| self.arithmetic.ulp(x));
        // Epochs over which a weight's step stays within one ulp: its rounding repeats that long.
        let coherence = [0, 1].map(|j| {
            let change = (delta[j].abs() - l.previous[j].abs()).abs();
            if change.is_nan() {
                1.0
            } else {
                (ulp[j] / change).max(1.0)
            }
        });
        l.previous = delta;
        // The step each weight of the rounded run is expected to take: the exact one, plus the
        // restoring steps of every direction's lag (systematic, and a typical random one).
        let expected = [0, 1].map(|j| {
            delta[j].abs()
                + (0..2)
                    .map(|i| {
                        self.pull[i] * (l.systematic[i] + l.variance[i].sqrt()) * v[i][j].abs()
                    })
                    .sum::<f64>()
        });
        let sources = [0, 1].map(|i| self.gradient_rounding(i, before, g, rms));
        for (i, source) in sources.into_iter().enumerate() {
            self.accumulate(
                l,
                i,
                Epoch {
                    ulp,
                    coherence,
                    expected,
                    source,
                },
            );
        }
        true
    }

    /// Gradient rounding in direction `i`, in weight units, at weights `w` with error sums `g`
    /// and error norms `rms`: summation (spread and same-sign parts) and the evaluation of every
    /// error; from moments, the rounding of each term of `Σd − N·w0 − w1·Σx` and
    /// `Σxd − w0·Σx − w1·Σx²`.
    fn gradient_rounding(&self, i: usize, w: [f64; 2], g: [f64; 2], rms: [f64; 2]) -> f64 {
        let [a, b] = self.curv.vectors[i];
        let (step, unit, r) = (self.step, self.unit, self.rounded);
        if self.arithmetic == Arithmetic::Moments {
            let terms = [
                r.sd.abs() + (self.n * w[0]).abs() + (w[1] * r.sx).abs(),
                r.sxd.abs() + (w[0] * r.sx).abs() + (w[1] * r.sxx).abs(),
            ];
            return step * unit * MOMENT_ROUNDINGS * (a.abs() * terms[0] + b.abs() * terms[1]);
        }
        let [nd, n1, nx] = self.norms[i];
        let (depth, mean_depth) = self.depth;
        step * unit
            * (depth * ((a * rms[0]).powi(2) + (b * rms[1]).powi(2)).sqrt()
                + mean_depth * ((a * g[0]).abs() + (b * g[1]).abs())
                + EVALUATION_ROUNDINGS * (nd + w[0].abs() * n1 + w[1].abs() * nx))
    }

    /// Direction `i`'s lags after an epoch whose roundings are `e`.
    fn accumulate(&self, l: &mut Lags, i: usize, e: Epoch) {
        let (v, decay) = (self.curv.vectors, self.decay[i]);
        let span = (2.0 * self.memory[i]).min(l.elapsed);
        let (mut lost, mut spread, mut tooth) = (0.0, 0.0, 0.0f64);
        for (j, vij) in v[i].into_iter().enumerate() {
            let half = e.ulp[j] / 2.0;
            spread += (vij * half).powi(2);
            if e.coherence[j] >= span {
                lost += vij.abs() * half.min(e.expected[j]);
            } else {
                tooth += vij.abs() * e.ulp[j] / 8.0 * e.coherence[j];
            }
        }
        let still = (0..2).all(|j| e.coherence[j] >= span);
        let moves = (0..2).any(|j| e.expected[j] + v[i][j].abs() * e.source >= e.ulp[j] / 2.0);
        // The moments' large terms round the same way epoch after epoch: never averaged away.
        let moments = self.arithmetic == Arithmetic::Moments;
        if !still && !moments {
            spread += e.source.powi(2);
        }
        let frozen = moments || (still && moves);
        l.variance[i] = decay * decay * l.variance[i] + spread;
        l.systematic[i] = decay * l.systematic[i] + lost;
        l.gradient[i] = decay * l.gradient[i] + if frozen { e.source } else { 0.0 };
        l.sweep[i] = (decay * l.sweep[i]).max(tooth);
    }

    /// What the model says of the descent whose lags are `l` after `epochs` epochs.
    fn bound(&self, l: &Lags, epochs: u64) -> Bound {
        let v = self.curv.vectors;
        let linear =
            |modes: [f64; 2]| [0, 1].map(|j| v[0][j].abs() * modes[0] + v[1][j].abs() * modes[1]);
        let quadratic = |modes: [f64; 2]| {
            [0, 1].map(|j| (v[0][j] * v[0][j] * modes[0] + v[1][j] * v[1][j] * modes[1]).sqrt())
        };
        Bound {
            epochs,
            unit: self.unit,
            converges: self.step * self.n / 2.0 * self.curv.lambda[1] < 2.0,
            reference: l.reference,
            shift: [l.w[0] - l.reference[0], l.w[1] - l.reference[1]],
            random: quadratic(l.variance),
            systematic: linear(l.systematic),
            gradient: linear(l.gradient),
            sweep: linear(l.sweep),
        }
    }
}

/// One epoch's roundings per weight: the ulp, the epochs its step stays within one
/// (coherence), the step expected, and the gradient's rounding in the direction at hand.
#[derive(Debug, Clone, Copy)]
struct Epoch {
    ulp: [f64; 2],
    coherence: [f64; 2],
    expected: [f64; 2],
    source: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dataset, Problem, SolverId};

    #[test]
    fn ulps_are_the_formats_spacings() {
        assert_eq!(ulp32(1.0), f64::from(f32::EPSILON));
        assert_eq!(ulp32(-3.0), 2.0 * f64::from(f32::EPSILON));
        assert_eq!(ulp32(0.0), f64::from(f32::from_bits(1)));
        assert_eq!(ulp64(1.0), f64::EPSILON);
        assert_eq!(ulp64(-3.0), 2.0 * f64::EPSILON);
        assert_eq!(Arithmetic::F64.ulp(3.0), ulp64(3.0));
        // A double-float pair resolves about 2⁻⁴⁸ of its value: between f64's and f32's.
        let df = Arithmetic::Df64.ulp(3.0);
        assert!(df > 8.0 * ulp64(3.0) && df < ulp32(3.0) / 1e5, "{df}");
    }

    #[test]
    fn each_arithmetic_stores_data_its_own_way() {
        let v = 0.1f64;
        assert_eq!(Arithmetic::F64.rounding().apply(v), v);
        assert_eq!(Arithmetic::F32.rounding().apply(v), f64::from(0.1f32));
        let df = Arithmetic::Df64.rounding().apply(v);
        let [hi, lo] = crate::gpu::df64::split(v);
        assert_eq!(df, f64::from(hi) + f64::from(lo));
        assert!(
            (df - v).abs() < 1e-14 * v && df != f64::from(0.1f32),
            "{df}"
        );
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

    fn bound_for(problem: &Problem) -> Bound {
        let (x, d) = (problem.x(), problem.d());
        bound(
            Arithmetic::F32,
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
        let long = bound(Arithmetic::F32, &exact, &rounded, 0.2, 100_000);
        let start = std::time::Instant::now();
        let very_long = bound(Arithmetic::F32, &exact, &rounded, 0.2, 1_000_000_000);
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
            let all = bound(Arithmetic::F32, &exact, &rounded, 0.99 * limit, epochs);
            let start = std::time::Instant::now();
            let many = bound(
                Arithmetic::F32,
                &exact,
                &rounded,
                0.99 * limit,
                1_000_000_000 + epochs,
            );
            assert!(start.elapsed().as_secs_f64() < 5.0, "did not stop early");
            assert_eq!(all.allowance(), many.allowance(), "{epochs}");
            assert_eq!(all.reference, many.reference, "{epochs}");
        }
    }

    #[test]
    fn a_step_that_rounds_past_the_limit_has_no_f32_tolerance() {
        let (exact, rounded) = sums(1000, 9);
        let limit = Curvature::of(&rounded).max_stable_mu();
        let b = bound(Arithmetic::F32, &exact, &rounded, limit * (1.0 + 1e-6), 100);
        assert!(!b.converges && b.tolerance().is_nan(), "{b:?}");
        assert!(bound(Arithmetic::F32, &exact, &rounded, limit * 0.5, 100).converges);
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
