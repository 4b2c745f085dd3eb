//! Verdicts: every run is compared with the f64 reference, within a tolerance derived from the
//! problem itself; a short spot check catches what a long descent hides; the reference is checked
//! against an independent algorithm every run; and stability is decided before anything runs.
//!
//! Differences are relative to the reference's largest weight, `max|w − w_ref| / max|w_ref|`.
//!
//! # Stability
//! One epoch maps the distance to the least-squares point `w*` by `I − mu·H`, with the Hessian
//! `H = (2/N)·XᵀX` known from Σx and Σx² ([`curvature`]). The descent converges if and only if
//! `mu < 2/λ_max`; at or above it every row of the problem is `diverged` (f64 included), with the
//! epoch at which its weights became non-finite or left the range a converging descent keeps to
//! (it never exceeds `|w| ≤ 2·‖w*‖₂`; the check allows twice that for rounding, see
//! [`crate::Dataset::sane_bound`]). Below it, a row whose weights leave that range is a fault
//! (`mismatch`), not a property of the data.
//!
//! # f64 and df64: the same rounding model, in their own units
//! A constant (1e-9, what gdbench used before) was six orders above what f64 solvers differ by,
//! and let through an f64 row that read its data as f32 (8.8e-10 at the article's size) while
//! credited 16 bytes a sample. f64 and df64 rows are held by the model the f32 rows are (below),
//! run in their own arithmetic ([`Arithmetic`]): f64's unit roundoff and spacing; for df64 the
//! pairs' 2⁻⁴⁵ per operation (sums within 3·2⁻⁴⁸, products 7·2⁻⁴⁸) and the data stored as pairs;
//! sums taken as trees, or left to right (`cpu-naive`, and peers whose summation is unknown), or
//! from moments (a difference of large sums, systematic throughout). The reference is f64 too, so
//! every tolerance adds the reference's own allowance to the row's, and none is below
//! [`rounding::FLOOR_UNITS`] roundings. At the article's size f64 is held to 2.9e-14 (rows
//! measure 0 to 3e-16) and df64 to 3.7e-12 (measured 2e-14): data stored in f32 (4.5e-10 to
//! 8.8e-10 away) misses f64's by four orders and df64's by two. `tests/tolerance.rs` runs every f64 and df64 solver on the hard problems below.
//!
//! # df64's arithmetic proved before the row runs
//! Arithmetic is what a compiler can silently break (reassociation folds two_sum's error to 0;
//! an fma that rounds twice loses two_prod's), and on easy data a half-broken df64 may still land
//! near f64. So before its row runs, gpu-fused-df64 checks its operations bit for bit on hard
//! cases and runs two epochs of its own kernels on x near 1 000, where broken arithmetic misses
//! f64 by 1e-8 against df64's 1e-15 ([`crate::gpu::df64_check::DESCENT_CHECK_TOLERANCE`] = 1e-12);
//! failing either, the row does not run.
//!
//! # f32: a model of the rounding, run beside the descent ([`rounding`])
//! A bound that grows with the epochs (`u·E`, what gdbench used before) is loose by orders of
//! magnitude where the descent forgets its past, and passed a step 1 % too large at the
//! article's size. The descent is a contraction: in the direction of eigenvalue λ an error is
//! kept by `a = |1 − mu·λ|` per epoch, so it remembers `1/(1 − a)` epochs (≈ 3 300 at the
//! article's size: λ ≈ 0.305 and 4.36). The model runs the f32 solver's own problem (data, mu and
//! 2/N rounded to f32) exactly, from the moments, and carries per direction what rounding adds:
//! - the **shift** of the rounded problem from the exact one: computed, not bounded;
//! - **random** rounding while the weights move by many ulps an epoch: half an ulp per update,
//!   of varying sign, plus the gradient's own rounding; a damped random walk, allowed six
//!   standard deviations (Hoeffding: exceeded with probability below 3·10⁻⁸);
//! - **systematic** rounding once a weight's step stays within an ulp for as long as the
//!   direction remembers: the rounding then repeats, or the step is lost entirely (the descent
//!   stalls). These add linearly, each at most half an ulp and at most the step the f32 run would
//!   take — its own plus the restoring steps of the lag so far, which is why a stalled run settles
//!   at the stagnation radius `ulp/(2·mu·λ)` (≈ 1.3e-4 relative at the article's size after 10⁵
//!   epochs, where the measured difference is 1.1e-4). This part is allowed twice over;
//! - the unbalanced tooth of a step that drifts slowly through an ulp's fractions.
//!
//! At the article's size (10 000 epochs, still far from converged) the tolerance is 9.2e-6 against
//! a measured 2.2e-6: a 1 % step error (3.6e-4) fails by a factor of 40. The model is checked on a
//! grid of hard problems (steps near the stability limit, 10⁵ epochs, x far from 0, N from 2 to
//! 10⁷) by `tests/tolerance.rs`, on `cpu-fused-f32` and every GPU solver: never exceeded, and
//! never more than 50 times the measured difference where that is above rounding noise.
//!
//! # Spot check
//! A long descent forgets: a wrong step size or a lost tile only moves where it converges, and
//! once converged a wrong scale vanishes. Every solver also runs [`SPOT_EPOCHS`] epochs, checked
//! against the reference's own short run at the model's tolerance for that many epochs (about
//! 1e-6 in f32), where any such fault is a relative error of its own size.
//!
//! # The reference checked every run
//! The reference (`cpu-fused`, a pairwise SIMD sum over the samples each epoch) is compared with
//! the descent from four compensated moments (`cpu-moments`' arithmetic, O(1) per epoch): two
//! algorithms that share nothing but the update. They must agree within both sides' rounding
//! (the f64 model's and the moments model's; 4.3e-14 at the article's size).

pub mod curvature;
pub mod rounding;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::cpu::descend_on_moments;
use crate::problem::{DataSums, Problem};
use crate::solver::Outcome;
use curvature::Curvature;
pub use rounding::Arithmetic;
use rounding::{Bound, bound};

/// Epochs of the spot check (fewer when the problem has fewer).
pub const SPOT_EPOCHS: u64 = 8;

/// The verdict a run can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Agrees with the reference within tolerance.
    Ok,
    /// Disagrees with the reference beyond tolerance, or left a converging descent's range.
    Mismatch,
    /// The step size is at or above the stability limit: the descent does not converge.
    Diverged,
    /// The solver cannot run here (no adapter, missing feature...).
    Unavailable,
    /// The solver failed while preparing or solving.
    Error,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Mismatch => "mismatch",
            Status::Diverged => "diverged",
            Status::Unavailable => "unavailable",
            Status::Error => "error",
        })
    }
}

/// What is known of a problem before any solver runs: stability, tolerances, the independent
/// cross-check's answer. The f32 model (O(epochs)) is run on first use only, so runs without an
/// f32 row do not pay for it.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// The Hessian's eigen-decomposition (exact data).
    pub curvature: Curvature,
    /// The step size of the problem.
    pub mu: f64,
    /// `2/λ_max`: the descent converges if and only if `mu` is below it.
    pub max_stable_mu: f64,
    /// Epochs of the full descent.
    pub epochs: u64,
    /// Epochs of the spot check.
    pub spot_epochs: u64,
    /// The descent from compensated moments, full and spot: what the reference is checked against.
    pub moments: (Outcome, Outcome),
    /// The problem, for the rounding models.
    problem: Problem,
    /// The rounding model of the full descent and of the spot check, per [`Arithmetic`] (in
    /// [`Arithmetic::ALL`]'s order), each run on first use.
    bounds: [OnceLock<Option<(Bound, Bound)>>; Arithmetic::ALL.len()],
}

impl Expectations {
    /// Analyses a single-step `problem` (a search's first step): O(N) once per dataset for the
    /// sums, then O(epochs) for the moments.
    pub fn of(problem: &Problem) -> Self {
        let exact = problem.data().sums();
        let curvature = Curvature::of(exact);
        let (mu, epochs) = (problem.steps()[0], problem.epochs());
        let spot_epochs = epochs.min(SPOT_EPOCHS);
        let limit = problem.sane_bound();
        Self {
            curvature,
            mu,
            max_stable_mu: curvature.max_stable_mu(),
            epochs,
            spot_epochs,
            moments: (
                descend_on_moments(exact, mu, epochs, limit),
                descend_on_moments(exact, mu, spot_epochs, limit),
            ),
            problem: problem.clone(),
            bounds: Default::default(),
        }
    }

    /// The expectations of every step of `problem`, in step order.
    pub fn each(problem: &Problem) -> Vec<Self> {
        (0..problem.steps().len())
            .map(|i| Self::of(&problem.step(i)))
            .collect()
    }

    /// True when the step size makes the descent converge.
    pub fn converges(&self) -> bool {
        self.mu < self.max_stable_mu
    }

    /// The rounding model of `arithmetic` for the full descent and for the spot check; none when
    /// the descent does not converge (then nothing is compared). Run on first use.
    pub fn bounds(&self, arithmetic: Arithmetic) -> Option<&(Bound, Bound)> {
        self.bounds[arithmetic.index()]
            .get_or_init(|| {
                self.converges().then(|| {
                    let p = &self.problem;
                    let exact = p.data().sums();
                    let stored = match arithmetic.rounding() {
                        crate::problem::Rounding::None => *exact,
                        r => DataSums::of(p.x(), p.d(), r),
                    };
                    let model = |epochs| bound(arithmetic, exact, &stored, self.mu, epochs);
                    (model(self.epochs), model(self.spot_epochs))
                })
            })
            .as_ref()
    }

    /// Runs the rounding models of `arithmetics` for every step of `expects` at once, spread over
    /// the cores (a search of a thousand steps runs thousands of them), instead of one by one as
    /// the verdicts first ask.
    pub fn model_all(expects: &[Self], arithmetics: &[Arithmetic]) {
        use rayon::prelude::*;
        expects.par_iter().for_each(|e| {
            for &a in arithmetics {
                e.bounds(a);
            }
        });
    }

    /// The model's relative tolerance for one side in `arithmetic` (NaN: nothing can pass).
    fn side(&self, arithmetic: Arithmetic, spot: bool) -> f64 {
        self.bounds(arithmetic).map_or(f64::NAN, |(full, short)| {
            if spot { short } else { full }.tolerance()
        })
    }

    /// How far rounding in `arithmetic` may move a full descent from the exact one, relative to
    /// the largest weight: one side of a comparison (NaN when that arithmetic cannot converge).
    pub fn allowance(&self, arithmetic: Arithmetic) -> f64 {
        self.side(arithmetic, false)
    }

    /// The f64 reference's own side (0 where its model is undefined: a step within rounding of
    /// the limit, where the row's own side decides).
    fn reference_side(&self, spot: bool) -> f64 {
        self.side(Arithmetic::F64, spot).max(0.0)
    }

    /// Relative tolerance of a full descent in `arithmetic` against the reference: what rounding
    /// may move each side by, the row's and the f64 reference's (NaN: nothing can pass).
    pub fn tolerance(&self, arithmetic: Arithmetic) -> f64 {
        self.side(arithmetic, false) + self.reference_side(false)
    }

    /// Relative tolerance of the spot check in `arithmetic` (NaN: nothing can pass).
    pub fn spot_tolerance(&self, arithmetic: Arithmetic) -> f64 {
        self.side(arithmetic, true) + self.reference_side(true)
    }

    /// True when the problem converges in f64 but its f32 copy (step and data rounded) does not.
    fn f32_unstable(&self) -> bool {
        self.bounds(Arithmetic::F32)
            .is_some_and(|(full, _)| !full.converges)
    }
}

/// A run's comparison with the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Ok, mismatch or diverged.
    pub status: Status,
    /// Largest absolute difference in a weight (NaN when either side diverged).
    pub max_abs_diff: f64,
    /// `max_abs_diff` relative to the reference's largest weight.
    pub max_rel_diff: f64,
    /// The relative tolerance applied (NaN when the step cannot converge: nothing is compared).
    pub tolerance: f64,
    /// A sentence for the report; empty when ok.
    pub message: String,
}

/// `max|a − b|` and that over `max|b|` (0 when they are equal; NaN when either is not finite).
pub fn differences(a: &Outcome, b: &Outcome) -> (f64, f64) {
    let finite = |o: &Outcome| o.w.iter().all(|v| v.is_finite());
    if !(finite(a) && finite(b)) {
        return (f64::NAN, f64::NAN);
    }
    let abs = (0..2).map(|i| (a.w[i] - b.w[i]).abs()).fold(0.0, f64::max);
    let scale = b.w[0].abs().max(b.w[1].abs());
    (abs, if abs == 0.0 { 0.0 } else { abs / scale })
}

/// Compares `outcome` (a full descent in `precision`) with the reference's.
pub fn judge(
    outcome: &Outcome,
    reference: &Outcome,
    arithmetic: Arithmetic,
    expect: &Expectations,
) -> Verdict {
    // A descent that cannot converge is compared with nothing: no tolerance applies.
    let tolerance = if expect.converges() {
        expect.tolerance(arithmetic)
    } else {
        f64::NAN
    };
    let (max_abs_diff, max_rel_diff) = match (outcome.diverged_at, reference.diverged_at) {
        (None, None) => differences(outcome, reference),
        _ => (f64::NAN, f64::NAN),
    };
    let (status, message) = if !expect.converges() {
        let message = match outcome.diverged_at {
            Some(epoch) => format!(
                "diverged: the weights left a converging descent's range by epoch {epoch} (mu ≥ 2/λ_max = {:.4e})",
                expect.max_stable_mu
            ),
            None => format!(
                "does not converge (mu ≥ 2/λ_max = {:.4e}), though the weights stayed in range for all {} epochs",
                expect.max_stable_mu, expect.epochs
            ),
        };
        (Status::Diverged, message)
    } else if arithmetic == Arithmetic::F32 && expect.f32_unstable() {
        (
            Status::Diverged,
            format!(
                "rounded to f32, the step is at or above the f32 problem's stability limit (mu is within rounding of 2/λ_max = {:.6e}): an f32 descent cannot converge",
                expect.max_stable_mu
            ),
        )
    } else if let Some(epoch) = outcome.diverged_at {
        (
            Status::Mismatch,
            format!(
                "the weights left a converging descent's range by epoch {epoch}, yet mu is below the stability limit: a solver fault"
            ),
        )
    } else if let Some(epoch) = reference.diverged_at {
        (
            Status::Mismatch,
            format!("finite weights, but the reference left its range by epoch {epoch}"),
        )
    } else if max_rel_diff <= tolerance {
        (Status::Ok, String::new())
    } else {
        (
            Status::Mismatch,
            format!(
                "differs from the reference by {max_rel_diff:.2e} (relative), over the {arithmetic} tolerance {tolerance:.1e}"
            ),
        )
    };
    Verdict {
        status,
        max_abs_diff,
        max_rel_diff,
        tolerance,
        message,
    }
}

/// A comparison of two short or independent runs: spot checks and the reference's cross-check.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// Epochs both sides ran.
    pub epochs: u64,
    /// Their relative difference (null when either is not finite).
    pub max_rel_diff: Option<f64>,
    /// The relative tolerance applied; null when none applies (a problem that does not
    /// converge).
    #[schemars(with = "Option<f64>")]
    pub tolerance: f64,
    /// `ok` or `mismatch` (`diverged` when the problem does not converge: nothing to compare).
    pub status: Status,
}

fn check(
    outcome: &Outcome,
    against: &Outcome,
    epochs: u64,
    tolerance: f64,
    converges: bool,
) -> Check {
    let (_, rel) = differences(outcome, against);
    let status = if !converges {
        Status::Diverged
    } else if rel <= tolerance {
        Status::Ok
    } else {
        Status::Mismatch
    };
    Check {
        epochs,
        max_rel_diff: Some(rel).filter(|r| r.is_finite()),
        tolerance,
        status,
    }
}

/// The spot check: `outcome` (a solve of `expect.spot_epochs` in `arithmetic`) against the
/// reference's own run of as many epochs.
pub fn spot_check(
    outcome: &Outcome,
    reference: &Outcome,
    arithmetic: Arithmetic,
    expect: &Expectations,
) -> Check {
    let tolerance = expect.spot_tolerance(arithmetic);
    check(
        outcome,
        reference,
        expect.spot_epochs,
        tolerance,
        expect.converges(),
    )
}

/// The reference's full descent against the descent from compensated moments, within what
/// rounding may move each: the reference's f64 sums and the moments' differences of large sums.
pub fn cross_check(reference: &Outcome, expect: &Expectations) -> Check {
    check(
        reference,
        &expect.moments.0,
        expect.epochs,
        expect.reference_side(false) + expect.side(Arithmetic::Moments, false),
        expect.converges(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    fn problem(mu: f64, epochs: u64) -> Problem {
        Problem::new(Dataset::synthetic(1024, 0.1, 1).unwrap(), mu, epochs).unwrap()
    }

    fn out(w0: f64, w1: f64) -> Outcome {
        Outcome {
            w: [w0, w1],
            diverged_at: None,
        }
    }

    #[test]
    fn within_tolerance_is_ok_beyond_is_mismatch() {
        let p = problem(0.01, 100);
        let e = Expectations::of(&p);
        let r = out(3.0, 2.0);
        let f64_tol = e.tolerance(Arithmetic::F64);
        assert!(f64_tol > 1e-16 && f64_tol < 1e-12, "{f64_tol}");
        assert_eq!(
            judge(
                &out(3.0 + 3.0 * f64_tol * 0.9, 2.0),
                &r,
                Arithmetic::F64,
                &e
            )
            .status,
            Status::Ok
        );
        assert_eq!(
            judge(
                &out(3.0 + 3.0 * f64_tol * 1.1, 2.0),
                &r,
                Arithmetic::F64,
                &e
            )
            .status,
            Status::Mismatch
        );
        let v = judge(&out(3.0 + 1e-6, 2.0), &r, Arithmetic::F64, &e);
        assert_eq!(v.status, Status::Mismatch);
        assert!(
            (v.max_abs_diff - 1e-6).abs() < 1e-12 && (v.max_rel_diff - 1e-6 / 3.0).abs() < 1e-12
        );
        let f32_tol = e.tolerance(Arithmetic::F32);
        assert!(f32_tol > 1e-7 && f32_tol < 1e-4, "{f32_tol}");
        let just_in = 3.0 * f32_tol * 0.9;
        let just_out = 3.0 * f32_tol * 1.1;
        assert_eq!(
            judge(&out(3.0 + just_in, 2.0), &r, Arithmetic::F32, &e).status,
            Status::Ok
        );
        assert_eq!(
            judge(&out(3.0 + just_out, 2.0), &r, Arithmetic::F32, &e).status,
            Status::Mismatch
        );
    }

    #[test]
    fn the_f32_tolerance_does_not_grow_with_the_epochs_once_the_descent_forgets() {
        // mu·λ_min ≈ 0.003: the descent remembers ~330 epochs. Converged, f32 settles within its
        // stagnation radius, and ten times the epochs change nothing (a u·E bound would grow 10×).
        let converged = Expectations::of(&problem(0.01, 20_000)).tolerance(Arithmetic::F32);
        let ten_times = Expectations::of(&problem(0.01, 200_000)).tolerance(Arithmetic::F32);
        assert!(ten_times < 1.5 * converged, "{converged} → {ten_times}");
        assert!(converged < 1e-4, "{converged}");
        assert!(Expectations::of(&problem(0.01, 1)).tolerance(Arithmetic::F32) < 1e-5);
    }

    #[test]
    fn an_unstable_step_makes_every_row_diverged_with_its_epoch() {
        let stable = Expectations::of(&problem(0.01, 100));
        let limit = stable.max_stable_mu;
        assert!(limit > 0.4 && limit < 0.5, "{limit}");
        let unstable = Expectations::of(&problem(limit * 1.01, 100));
        assert!(!unstable.converges());
        let gone = Outcome {
            w: [1e300, -1e300],
            diverged_at: Some(37),
        };
        let v = judge(&gone, &gone, Arithmetic::F64, &unstable);
        assert_eq!(v.status, Status::Diverged);
        assert!(v.message.contains("epoch 37"), "{}", v.message);
        // Finite weights do not rescue a step that cannot converge.
        assert_eq!(
            judge(&out(3.0, 2.0), &out(3.0, 2.0), Arithmetic::F64, &unstable).status,
            Status::Diverged
        );
        // Leaving the range at a stable step is a fault.
        let v = judge(&gone, &out(3.0, 2.0), Arithmetic::F64, &stable);
        assert_eq!(v.status, Status::Mismatch);
        assert!(v.message.contains("solver fault"), "{}", v.message);
    }

    /// The article's size (N = 1e4, mu = 0.001, 10 000 epochs).
    fn article(data: Dataset, mu: f64, epochs: u64) -> (Problem, Outcome) {
        let p = Problem::new(data, mu, epochs).unwrap();
        let reference = crate::SolverId::REFERENCE
            .prepare(&p)
            .unwrap()
            .solve()
            .unwrap();
        (p, reference)
    }

    /// The f64 descent of `data` at `mu`, as an f32 solver with that fault would end.
    fn faulty(data: &Dataset, mu: f64, epochs: u64) -> Outcome {
        let sums = DataSums::of(data.x(), data.d(), crate::problem::Rounding::None);
        descend_on_moments(&sums, mu, epochs, f64::INFINITY)
    }

    #[test]
    fn the_faults_the_old_f32_tolerance_passed_are_mismatches_now() {
        // A step 1 % too large, and the last 100 samples dropped: both passed u·(E + …) = 1.2e-3.
        let data = Dataset::synthetic(10_000, 0.1, 444).unwrap();
        let (p, reference) = article(data.clone(), 0.001, 10_000);
        let e = Expectations::of(&p);
        let step = judge(
            &faulty(&data, 0.00101, 10_000),
            &reference,
            Arithmetic::F32,
            &e,
        );
        assert_eq!(step.status, Status::Mismatch, "{step:?}");
        let n = data.len() - 100;
        let fewer = Dataset::new(
            data.x()[..n].to_vec(),
            data.d()[..n].to_vec(),
            data.source().clone(),
        )
        .unwrap();
        // The descent on N − 100 samples, with the full data's 2/N as a skipped tail would compute.
        let fewer = faulty(&fewer, 0.001 * n as f64 / data.len() as f64, 10_000);
        let tail = judge(&fewer, &reference, Arithmetic::F32, &e);
        assert_eq!(tail.status, Status::Mismatch, "{tail:?}");
        // 100 missing epochs.
        let short = judge(
            &faulty(&data, 0.001, 9_900),
            &reference,
            Arithmetic::F32,
            &e,
        );
        assert_eq!(short.status, Status::Mismatch, "{short:?}");
    }

    #[test]
    fn the_f64_and_df64_tolerances_see_data_stored_in_f32() {
        // What a gpu-fused-f64 or -df64 row that read its data through f32 would end with: the
        // exact descent on the f32-rounded data (0.5 to 0.9e-9 away, where 1e-9 let it pass).
        for data in [
            Dataset::synthetic(10_000, 0.1, 444).unwrap(),
            Dataset::synthetic(10_000, 0.1, 7).unwrap(),
        ] {
            let (p, reference) = article(data.clone(), 0.001, 10_000);
            let e = Expectations::of(&p);
            let sums = DataSums::of(data.x(), data.d(), crate::problem::Rounding::F32);
            let rounded = descend_on_moments(&sums, 0.001, 10_000, f64::INFINITY);
            for arithmetic in [Arithmetic::F64, Arithmetic::Df64, Arithmetic::F64Sequential] {
                let v = judge(&rounded, &reference, arithmetic, &e);
                assert_eq!(v.status, Status::Mismatch, "{arithmetic}: {v:?}");
                assert!(v.tolerance <= 1e-11, "{arithmetic}: {v:?}");
            }
            // The f32 rows keep their own, far wider tolerance: the same answer is fine there.
            assert_eq!(
                judge(&rounded, &reference, Arithmetic::F32, &e).status,
                Status::Ok
            );
            // Moments' own arithmetic on the exact data agrees within the cross-check.
            assert_eq!(cross_check(&reference, &e).status, Status::Ok);
            assert_eq!(cross_check(&rounded, &e).status, Status::Mismatch);
        }
    }

    #[test]
    fn the_spot_check_catches_a_step_a_converged_run_hides() {
        let data = Dataset::synthetic(1_000, 0.1, 7).unwrap();
        let (p, reference) = article(data.clone(), 0.2, 20_000);
        let e = Expectations::of(&p);
        // Converged: 1 % more step reaches the same optimum, within f32's tolerance.
        let full = judge(
            &faulty(&data, 0.202, 20_000),
            &reference,
            Arithmetic::F32,
            &e,
        );
        assert_eq!(full.status, Status::Ok, "{full:?}");
        let spot = spot_check(
            &faulty(&data, 0.202, e.spot_epochs),
            &e.moments.1,
            Arithmetic::F32,
            &e,
        );
        assert_eq!(spot.status, Status::Mismatch, "{spot:?}");
    }

    #[test]
    fn checks_fail_when_the_sides_differ() {
        let e = Expectations::of(&problem(0.01, 100));
        let moments = e.moments.0;
        assert_eq!(cross_check(&moments, &e).status, Status::Ok);
        let off = out(moments.w[0] * (1.0 + 1e-8), moments.w[1]);
        let c = cross_check(&off, &e);
        assert_eq!(c.status, Status::Mismatch);
        assert!(c.max_rel_diff.unwrap() > 1e-9);
        let spot = e.moments.1;
        assert_eq!(
            spot_check(&spot, &spot, Arithmetic::F32, &e).status,
            Status::Ok
        );
        let wrong_scale = out(spot.w[0] * 1.001, spot.w[1] * 1.001);
        assert_eq!(
            spot_check(&wrong_scale, &spot, Arithmetic::F32, &e).status,
            Status::Mismatch
        );
    }
}
