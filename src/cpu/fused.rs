//! `cpu-fused` (f64, the reference) and `cpu-fused-f32`: one vectorised pass per epoch.

use super::descent::{descend, descend_many};
use super::real::Real;
use super::samples::{Samples, Stored};
use super::sums::{ManySums, error_sums};
use crate::error::Result;
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// The fused solver in precision `T`: over the problem's own f64 arrays, or an f32 copy of them.
pub struct Fused<'p, T: Real> {
    samples: Samples<'p, T>,
    steps: Vec<f64>,
    epochs: u64,
    limit: f64,
    many: ManySums<T>,
}

impl<'p, T: Stored> Fused<'p, T> {
    /// Takes the problem's samples in `T` (f64: borrowed; f32: a rounded copy, which fails
    /// cleanly when it does not fit in memory).
    pub fn new(problem: &'p Problem) -> Result<Self> {
        Ok(Self {
            samples: T::store(problem)?,
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
        let (x, d) = (self.samples.x(), self.samples.d());
        Ok(descents_on(
            (x, d),
            &self.steps,
            epochs,
            self.limit,
            &mut self.many,
        ))
    }
}

/// Every step's descent over x and d on the calling thread: the fused pass for one step; for
/// several, every step's sums in one walk per epoch (with `many`'s scratch).
pub(super) fn descents_on<T: Real>(
    (x, d): (&[T], &[T]),
    steps: &[f64],
    epochs: u64,
    limit: f64,
    many: &mut ManySums<T>,
) -> Vec<Outcome> {
    match steps {
        &[mu] => vec![descend::<T>(x.len(), mu, epochs, limit, |w0, w1| {
            error_sums(x, d, w0, w1)
        })],
        _ => descend_many::<T>(x.len(), steps, epochs, limit, |w, out| {
            many.sums(x, d, w, out)
        }),
    }
}
