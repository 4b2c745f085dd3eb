//! `cpu-moments`: the algorithmic limit. Σe = Σd − N·w0 − w1·Σx and Σe·x = Σxd − w0·Σx − w1·Σx²,
//! so four sums taken once make every epoch O(1). Not an array benchmark, and labelled so. The
//! same arithmetic cross-checks the reference in every run (see `validate`).

use super::descent::descend;
use crate::error::Result;
use crate::problem::{DataSums, Problem};
use crate::solver::{Outcome, Solver};

/// The moments of the data (compensated sums, taken once per dataset) and the descent's settings.
pub struct Moments {
    sums: DataSums,
    steps: Vec<f64>,
    epochs: u64,
    limit: f64,
}

impl Moments {
    /// Takes Σx, Σx², Σd and Σxd (the only O(N) work this solver does, shared by every problem on
    /// the same dataset).
    pub fn new(problem: &Problem) -> Self {
        Self {
            sums: *problem.data().sums(),
            steps: problem.steps().to_vec(),
            epochs: problem.epochs(),
            limit: problem.sane_bound(),
        }
    }
}

/// The descent from moments: `epochs` epochs of step `mu` on the data summarised by `sums`,
/// stopping once a weight exceeds `limit` or is not finite.
pub fn descend_on_moments(sums: &DataSums, mu: f64, epochs: u64, limit: f64) -> Outcome {
    let n = sums.n as usize;
    descend::<f64>(n, mu, epochs, limit, |w0, w1| {
        let [e, ex] = sums.error_sums([w0, w1]);
        (e, ex)
    })
}

impl Solver for Moments {
    fn epochs(&self) -> u64 {
        self.epochs
    }

    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        Ok(self
            .steps
            .iter()
            .map(|&mu| descend_on_moments(&self.sums, mu, epochs, self.limit))
            .collect())
    }
}
