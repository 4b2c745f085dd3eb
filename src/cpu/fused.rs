//! `cpu-fused` (f64, the reference) and `cpu-fused-f32`: one vectorised pass per epoch.

use std::borrow::Cow;

use super::descent::{descend, descend_many};
use super::real::Real;
use super::sums::{ManySums, error_sums};
use crate::error::Result;
use crate::problem::{Problem, reserve};
use crate::solver::{Outcome, Solver};

/// The fused solver in precision `T`. For f64 it borrows the problem's arrays; for f32 it holds
/// a rounded copy, made in `new` and freed with the solver, whose samples start at `start`.
pub struct Fused<'p, T: Real> {
    x: Cow<'p, [T]>,
    d: Cow<'p, [T]>,
    /// Where the samples of x and d begin in their buffers (a cache-line boundary for f32).
    start: [usize; 2],
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
            start: [0, 0],
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
        let (x, x_start) = aligned_f32(problem.x(), "the f32 copy of x")?;
        let (d, d_start) = aligned_f32(problem.d(), "the f32 copy of d")?;
        Ok(Self {
            x: Cow::Owned(x),
            d: Cow::Owned(d),
            start: [x_start, d_start],
            steps: problem.steps().to_vec(),
            many: ManySums::default(),
            epochs: problem.epochs(),
            limit: problem.sane_bound(),
        })
    }
}

/// Bytes of a cache line, and of an AVX-512 register.
const LINE: usize = 64;

/// `values` rounded to f32 in a buffer where they start on a cache-line boundary, and where:
/// from an unaligned start every 64-byte vector load spans two lines (seen: cpu-fused-f32 at the
/// article's size took 1.0 or 1.5 µs an epoch from one run to the next, as the allocator placed
/// its copies).
fn aligned_f32(values: &[f64], what: &str) -> Result<(Vec<f32>, usize)> {
    let pad = LINE / std::mem::size_of::<f32>() - 1;
    let mut out: Vec<f32> = reserve(values.len() + pad, what)?;
    // The buffer does not move: its capacity holds the padding and every value.
    let start = out.as_ptr().align_offset(LINE).min(pad);
    out.resize(start, 0.0);
    out.extend(values.iter().map(|&v| v as f32));
    Ok((out, start))
}

impl<T: Real> Solver for Fused<'_, T> {
    fn epochs(&self) -> u64 {
        self.epochs
    }

    /// One step: the fused pass. Several: every step's sums in one walk over the data per epoch.
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        let (x, d) = (&self.x[self.start[0]..], &self.d[self.start[1]..]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_f32_copy_starts_on_a_cache_line_and_holds_every_value() {
        for n in [1, 15, 16, 1000] {
            let values: Vec<f64> = (0..n).map(|i| f64::from(i) + 0.1).collect();
            let (copy, start) = aligned_f32(&values, "test").unwrap();
            assert_eq!(copy[start..].as_ptr() as usize % LINE, 0, "n = {n}");
            let want: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            assert_eq!(copy[start..], want[..], "n = {n}");
        }
    }
}
