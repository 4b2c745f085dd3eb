//! `cpu-fused` (f64, the reference) and `cpu-fused-f32`: one vectorised pass per epoch.

use std::borrow::Cow;

use super::descent::{descend, descend_many};
use super::real::Real;
use super::sums::{ManySums, error_sums};
use crate::error::Result;
use crate::problem::{Problem, reserve};
use crate::solver::{Outcome, Solver};

/// The fused solver in precision `T`. For f64 it borrows the problem's arrays; for f32 it holds
/// a rounded copy, made in `new` and freed with the solver.
pub struct Fused<'p, T: Real> {
    x: Cow<'p, [T]>,
    d: Cow<'p, [T]>,
    steps: Vec<f64>,
    epochs: u64,
    limit: f64,
    many: ManySums<T>,
}

impl<'p> Fused<'p, f64> {
    /// Borrows x and d; nothing is copied.
    pub fn new(problem: &'p Problem) -> Self {
        Self {
            x: Cow::Borrowed(problem.x()),
            d: Cow::Borrowed(problem.d()),
            steps: problem.steps().to_vec(),
            many: ManySums::default(),
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
            steps: problem.steps().to_vec(),
            many: ManySums::default(),
            epochs: problem.epochs(),
            limit: problem.sane_bound(),
        })
    }
}

impl<T: Real> Solver for Fused<'_, T> {
    fn epochs(&self) -> u64 {
        self.epochs
    }

    /// One step: the fused pass. Several: every step's sums in one walk over the data per epoch.
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        let (x, d) = (&*self.x, &*self.d);
        Ok(match self.steps[..] {
            [mu] => vec![descend::<T>(x.len(), mu, epochs, self.limit, |w0, w1| {
                error_sums(x, d, w0, w1)
            })],
            _ => {
                let many = &mut self.many;
                descend_many::<T>(x.len(), &self.steps, epochs, self.limit, |w, out| {
                    many.sums(x, d, w, out)
                })
            }
        })
    }
}
