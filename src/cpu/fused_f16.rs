//! `cpu-fused-f16`: `cpu-fused-f32` with x and d stored in f16 (half the bytes), each leaf of
//! the summation tree widened to f32 on the stack just before it is summed. The CPU side of the
//! precision ladder's f16 rung: the same tree and the same f32 arithmetic as `cpu-fused-f32`, so
//! on the f16-rounded data it returns `cpu-fused-f32`'s weights bit for bit.

use half::f16;
use half::slice::HalfFloatSliceExt;

use super::descent::descend;
use super::sums::{LEAF, error_sums, split_point};
use crate::error::{GdError, Result};
use crate::problem::{Problem, reserve};
use crate::solver::{Outcome, Solver};

/// The fused solver over f16 copies of x and d.
pub struct FusedF16 {
    x: Vec<f16>,
    d: Vec<f16>,
    mu: f64,
    epochs: u64,
    limit: f64,
}

impl FusedF16 {
    /// Rounds x and d to f16 (part of preparation); `Unavailable` when a value leaves f16's range.
    pub fn new(problem: &Problem) -> Result<Self> {
        let round = |v: &[f64], what| -> Result<Vec<f16>> {
            let mut out = reserve(v.len(), what)?;
            out.extend(v.iter().map(|&v| f16::from_f64(v)));
            if out.iter().any(|v| !v.is_finite()) {
                return Err(GdError::Unavailable {
                    reason: "rounded to f16, x or d leaves f16's range (±65 504)".into(),
                });
            }
            Ok(out)
        };
        Ok(Self {
            x: round(problem.x(), "the f16 copy of x")?,
            d: round(problem.d(), "the f16 copy of d")?,
            mu: problem.mu(),
            epochs: problem.epochs(),
            limit: problem.sane_bound(),
        })
    }
}

/// Σe and Σe·x over f16 data with f32 arithmetic: `error_sums`' tree, each leaf widened first.
fn sums(x: &[f16], d: &[f16], w0: f32, w1: f32) -> (f32, f32) {
    if x.len() <= LEAF {
        let (mut xs, mut ds) = ([0f32; LEAF], [0f32; LEAF]);
        let n = x.len();
        x.convert_to_f32_slice(&mut xs[..n]);
        d.convert_to_f32_slice(&mut ds[..n]);
        return error_sums(&xs[..n], &ds[..n], w0, w1);
    }
    let mid = split_point(x.len());
    let a = sums(&x[..mid], &d[..mid], w0, w1);
    let b = sums(&x[mid..], &d[mid..], w0, w1);
    (a.0 + b.0, a.1 + b.1)
}

impl Solver for FusedF16 {
    fn epochs(&self) -> u64 {
        self.epochs
    }

    fn solve_for(&mut self, epochs: u64) -> Result<Outcome> {
        let (x, d) = (&self.x, &self.d);
        Ok(descend::<f32>(
            x.len(),
            self.mu,
            epochs,
            self.limit,
            |w0, w1| sums(x, d, w0, w1),
        ))
    }
}
