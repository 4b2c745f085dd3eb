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
    let mut w = [T::ZERO; 2];
    for epoch in 1..=epochs {
        w = update(w, mu, f, sums(w[0], w[1]));
        if !in_range(w, limit) {
            return Outcome {
                w: w.map(T::to_f64),
                diverged_at: Some(epoch),
            };
        }
    }
    Outcome {
        w: w.map(T::to_f64),
        diverged_at: None,
    }
}

/// One epoch's update of `w` by step `mu` with `f = 2/N`, from the sums `(Σe, Σe·x)`.
#[inline(always)]
pub(super) fn update<T: Real>(w: [T; 2], mu: T, f: T, (s0, s1): (T, T)) -> [T; 2] {
    [w[0] + mu * (f * s0), w[1] + mu * (f * s1)]
}

/// True while both weights are finite and within `limit`: a converging descent's range.
#[inline(always)]
pub(super) fn in_range<T: Real>(w: [T; 2], limit: f64) -> bool {
    w.iter().all(|v| v.to_f64().abs() <= limit)
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
            let next = update(w[i], mu[i], f, s[i]);
            if in_range(next, limit) {
                (running[keep], mu[keep], w[keep]) = (running[i], mu[i], next);
                keep += 1;
            } else {
                outcomes[running[i]] = Outcome {
                    w: next.map(T::to_f64),
                    diverged_at: Some(epoch),
                };
            }
        }
        running.truncate(keep);
        mu.truncate(keep);
        w.truncate(keep);
    }
    for (i, w) in running.into_iter().zip(w) {
        outcomes[i].w = w.map(T::to_f64);
    }
    outcomes
}
