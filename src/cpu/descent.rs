//! The epoch loop every CPU solver shares: sums in, weights updated exactly as the article does.

use super::real::Real;
use crate::solver::Outcome;

/// Runs `epochs` updates `w += mu·(2/N)·(Σe, Σe·x)` from `w = (0, 0)`, asking `sums` for the two
/// sums at the current weights; stops at the first epoch whose weights are not finite or exceed
/// `limit` in magnitude (they have left the range of a converging descent).
#[inline(always)]
pub(super) fn descend<T: Real>(
    n: usize,
    mu: f64,
    epochs: u64,
    limit: f64,
    mut sums: impl FnMut(T, T) -> (T, T),
) -> Outcome {
    let f = T::from_f64(2.0 / n as f64);
    let mu = T::from_f64(mu);
    let (mut w0, mut w1) = (T::ZERO, T::ZERO);
    for epoch in 1..=epochs {
        let (s0, s1) = sums(w0, w1);
        w0 = w0 + mu * (f * s0);
        w1 = w1 + mu * (f * s1);
        let (a, b) = (w0.to_f64(), w1.to_f64());
        if !(a.abs() <= limit && b.abs() <= limit) {
            return Outcome {
                w: [w0.to_f64(), w1.to_f64()],
                diverged_at: Some(epoch),
            };
        }
    }
    Outcome {
        w: [w0.to_f64(), w1.to_f64()],
        diverged_at: None,
    }
}
