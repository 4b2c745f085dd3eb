//! `cpu-naive`: the article's pure-Python loop, step by step, in plain Rust.

use super::descent::descend;
use crate::error::Result;
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// A fresh error vector each epoch, then one pass for Σe and another for Σe·x, summed left to
/// right as Python's `sum` does: the "plain loops" row, and bit-for-bit the article's arithmetic.
pub struct Naive<'p> {
    problem: &'p Problem,
}

impl<'p> Naive<'p> {
    /// Nothing to prepare: the article's loop allocates inside the epoch.
    pub fn new(problem: &'p Problem) -> Self {
        Self { problem }
    }
}

impl Solver for Naive<'_> {
    fn epochs(&self) -> u64 {
        self.problem.epochs()
    }

    /// One step size after another: the article's loop has no way to share its passes.
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        let p = self.problem;
        let (x, d) = (p.x(), p.d());
        let one = |mu: f64| {
            descend::<f64>(p.n(), mu, epochs, p.sane_bound(), |w0, w1| {
                let err: Vec<f64> = d.iter().zip(x).map(|(&d, &x)| d - (w0 + w1 * x)).collect();
                let s0: f64 = err.iter().sum();
                let s1: f64 = err.iter().zip(x).map(|(e, x)| e * x).sum();
                (s0, s1)
            })
        };
        Ok(p.steps().iter().map(|&mu| one(mu)).collect())
    }
}
