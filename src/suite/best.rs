//! A search's best step: the lowest final loss among the reference's descents that converge,
//! ranked by what the descents can resolve.
//!
//! Two things blur a final loss. Its evaluation: the expansion of the loss in the data's centred
//! sums cancels, so its rounding scales with the data's spread, not with the loss (seen: three
//! steps whose weights agree to 1e-13 got losses 2e-16 apart, and the wrong one was named). So
//! the loss is taken as the least-squares line's (one pass, the same for every step) plus each
//! step's excess over it ([`crate::problem::DataSums::excess_loss`]), which keeps its digits. And
//! the descent itself: the reference's weights are known only to within its f64 rounding (the
//! tolerance [`crate::validate`] derives for it, `δ` per weight). A step's excess is therefore
//! known to within what a move of `δ` in each weight (and the evaluation's own rounding) can
//! change it by; two steps are tied when their excesses differ by no more than the sum of those.
//! The best is the smallest step tied with the lowest.

use crate::problem::{DataSums, Problem};
use crate::report::BestStep;
use crate::solver::Outcome;
use crate::validate::rounding::U64;
use crate::validate::{Arithmetic, Expectations};

/// One converged step: its size, weights, excess loss and how well that excess is known.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    mu: f64,
    w: [f64; 2],
    excess: f64,
    uncertainty: f64,
}

/// How much the excess loss at `w` can move when each weight moves by up to `delta` (first and
/// second order), its evaluation's rounding counted as a further move of the weights.
fn uncertainty(s: &DataSums, [w0, w1]: [f64; 2], delta: f64) -> f64 {
    let (mx, md) = (s.sx / s.n, s.sd / s.n);
    let spread = s.sxx_centred / s.n;
    let best_w1 = s.sxd_centred / s.sxx_centred;
    let slope = w1 - best_w1;
    let offset = md - w0 - w1 * mx;
    // The rounding of `offset` and of `slope`, as moves of w0 and w1.
    let d0 = delta + 4.0 * U64 * (md.abs() + w0.abs() + (w1 * mx).abs());
    let d1 = delta + 4.0 * U64 * (w1.abs() + best_w1.abs());
    let first = 2.0 * offset.abs() * d0 + (2.0 * spread * slope - 2.0 * mx * offset).abs() * d1;
    let second = spread * d1 * d1 + (d0 + mx.abs() * d1).powi(2);
    first + second
}

/// The search's best step (every step of a single-step problem that converges counts as one):
/// among the reference's descents whose step converges, the lowest final loss and every step
/// tied with it; the smallest tied step is named, with the count of them.
pub fn best_step(
    problem: &Problem,
    reference: &[Outcome],
    expects: &[Expectations],
) -> Option<BestStep> {
    let data = problem.data();
    let sums = data.sums();
    let candidates: Vec<Candidate> = problem
        .steps()
        .iter()
        .zip(reference)
        .zip(expects)
        .filter(|((_, o), e)| e.converges() && o.diverged_at.is_none())
        .map(|((&mu, o), e)| {
            // What the reference's own rounding may have moved each weight by.
            let delta = e.allowance(Arithmetic::F64).max(0.0) * o.w[0].abs().max(o.w[1].abs());
            Candidate {
                mu,
                w: o.w,
                excess: sums.excess_loss(o.w),
                uncertainty: uncertainty(sums, o.w, delta),
            }
        })
        .filter(|c| c.excess.is_finite() && c.uncertainty.is_finite())
        .collect();
    let lowest = candidates
        .iter()
        .min_by(|a, b| a.excess.total_cmp(&b.excess).then(a.mu.total_cmp(&b.mu)))?;
    let tied: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.excess - lowest.excess <= c.uncertainty + lowest.uncertainty)
        .collect();
    let best = tied.iter().min_by(|a, b| a.mu.total_cmp(&b.mu))?;
    Some(BestStep {
        mu: best.mu,
        w: best.w,
        loss: data.loss(best.w),
        tied: tied.len(),
    })
}
