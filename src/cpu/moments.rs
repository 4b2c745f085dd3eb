//! `cpu-moments`: the algorithmic limit. Σe = Σd − N·w0 − w1·Σx and Σe·x = Σxd − w0·Σx − w1·Σx²,
//! so four sums taken once make every epoch O(1). Not an array benchmark, and labelled so.

use super::descent::descend;
use super::kernel::compensated_sum;
use crate::error::Result;
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// The four moments of the data, summed with compensation during preparation.
pub struct Moments {
    n: usize,
    mu: f64,
    epochs: u64,
    sx: f64,
    sxx: f64,
    sd: f64,
    sxd: f64,
}

impl Moments {
    /// Takes Σx, Σx², Σd and Σxd (the only O(N) work this solver does).
    pub fn new(problem: &Problem) -> Self {
        let (x, d) = (problem.x(), problem.d());
        Self {
            n: problem.n(),
            mu: problem.mu(),
            epochs: problem.epochs(),
            sx: compensated_sum(x.iter().copied()),
            sxx: compensated_sum(x.iter().map(|x| x * x)),
            sd: compensated_sum(d.iter().copied()),
            sxd: compensated_sum(x.iter().zip(d).map(|(x, d)| x * d)),
        }
    }
}

impl Solver for Moments {
    fn solve(&mut self) -> Result<Outcome> {
        let Self {
            n,
            sx,
            sxx,
            sd,
            sxd,
            ..
        } = *self;
        let nf = n as f64;
        Ok(descend::<f64>(n, self.mu, self.epochs, |w0, w1| {
            (sd - nf * w0 - w1 * sx, sxd - w0 * sx - w1 * sxx)
        }))
    }
}
