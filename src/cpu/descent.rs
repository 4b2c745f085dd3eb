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

/// [`descend`] for every step size in `steps` at once: each epoch `sums` fills one pair of sums
/// per weight pair still running, in one walk over the data. A descent that leaves the range stops
/// where it is (the others go on), so each outcome is bit-identical to its own [`descend`].
pub(super) fn descend_many<T: Real>(
    n: usize,
    steps: &[f64],
    epochs: u64,
    limit: f64,
    mut sums: impl FnMut(&[[T; 2]], &mut [(T, T)]),
) -> Vec<Outcome> {
    let f = T::from_f64(2.0 / n as f64);
    let mut outcomes = vec![
        Outcome {
            w: [0.0; 2],
            diverged_at: None,
        };
        steps.len()
    ];
    // The descents still running: their index, step and weights, in step order.
    let mut running: Vec<usize> = (0..steps.len()).collect();
    let mut mu: Vec<T> = steps.iter().map(|&m| T::from_f64(m)).collect();
    let mut w: Vec<[T; 2]> = vec![[T::ZERO; 2]; steps.len()];
    let mut s = vec![(T::ZERO, T::ZERO); steps.len()];
    for epoch in 1..=epochs {
        if running.is_empty() {
            break;
        }
        sums(&w, &mut s[..w.len()]);
        let mut keep = 0;
        for i in 0..running.len() {
            let (s0, s1) = s[i];
            let [w0, w1] = w[i];
            let w0 = w0 + mu[i] * (f * s0);
            let w1 = w1 + mu[i] * (f * s1);
            let (a, b) = (w0.to_f64(), w1.to_f64());
            if a.abs() <= limit && b.abs() <= limit {
                (running[keep], mu[keep], w[keep]) = (running[i], mu[i], [w0, w1]);
                keep += 1;
            } else {
                outcomes[running[i]] = Outcome {
                    w: [a, b],
                    diverged_at: Some(epoch),
                };
            }
        }
        running.truncate(keep);
        mu.truncate(keep);
        w.truncate(keep);
    }
    for (i, [w0, w1]) in running.into_iter().zip(w) {
        outcomes[i].w = [w0.to_f64(), w1.to_f64()];
    }
    outcomes
}
