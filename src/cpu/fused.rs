//! `cpu-fused` (f64, the reference) and `cpu-fused-f32`: one vectorised pass per epoch.

use std::borrow::Cow;

use super::descent::descend;
use super::real::Real;
use super::sums::error_sums;
use crate::error::Result;
use crate::problem::{Problem, reserve};
use crate::solver::{Outcome, Solver};

/// The fused solver in precision `T`. For f64 it borrows the problem's arrays; for f32 it holds
/// a rounded copy, made in `new` and freed with the solver.
pub struct Fused<'p, T: Real> {
    x: Cow<'p, [T]>,
    d: Cow<'p, [T]>,
    mu: f64,
    epochs: u64,
    limit: f64,
}

impl<'p> Fused<'p, f64> {
    /// Borrows x and d; nothing is copied.
    pub fn new(problem: &'p Problem) -> Self {
        Self {
            x: Cow::Borrowed(problem.x()),
            d: Cow::Borrowed(problem.d()),
            mu: problem.mu(),
            epochs: problem.epochs(),
            limit: problem.sane_bound(),
        }
    }
}

impl<'p> Fused<'p, f32> {
    /// Rounds x and d to f32 (part of preparation, timed apart from the descent); fails
    /// cleanly when the copy does not fit in memory.
    pub fn new(problem: &'p Problem) -> Result<Self> {
        let round = |v: &[f64], what| -> Result<Vec<f32>> {
            let mut out = reserve(v.len(), what)?;
            out.extend(v.iter().map(|&v| v as f32));
            Ok(out)
        };
        Ok(Self {
            x: Cow::Owned(round(problem.x(), "the f32 copy of x")?),
            d: Cow::Owned(round(problem.d(), "the f32 copy of d")?),
            mu: problem.mu(),
            epochs: problem.epochs(),
            limit: problem.sane_bound(),
        })
    }
}

impl<T: Real> Solver for Fused<'_, T> {
    fn epochs(&self) -> u64 {
        self.epochs
    }

    fn solve_for(&mut self, epochs: u64) -> Result<Outcome> {
        let (x, d) = (&*self.x, &*self.d);
        Ok(descend::<T>(
            x.len(),
            self.mu,
            epochs,
            self.limit,
            |w0, w1| error_sums(x, d, w0, w1),
        ))
    }
}
