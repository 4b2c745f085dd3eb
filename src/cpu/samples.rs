//! A problem's samples in the precision a CPU solver computes in: borrowed as they are in f64, a
//! rounded copy in f32 whose samples start on a cache-line boundary.

use std::borrow::Cow;

use super::real::Real;
use crate::error::Result;
use crate::problem::{Problem, reserve};

/// x and d in precision `T`, borrowed (f64) or owned (f32, made by [`Stored::store`] and freed
/// with the solver).
pub struct Samples<'p, T: Clone> {
    x: Cow<'p, [T]>,
    d: Cow<'p, [T]>,
    /// Where the samples of x and d begin in their buffers (a cache-line boundary for f32).
    start: [usize; 2],
}

impl<T: Clone> Samples<'_, T> {
    /// The inputs, one per sample.
    pub fn x(&self) -> &[T] {
        &self.x[self.start[0]..]
    }

    /// The targets, one per sample.
    pub fn d(&self) -> &[T] {
        &self.d[self.start[1]..]
    }
}

/// A precision a CPU solver can hold a problem's samples in.
pub trait Stored: Real {
    /// The problem's samples in this precision: borrowed, or a copy made now (part of
    /// preparation, timed apart from the descent), which fails cleanly when it does not fit.
    fn store(problem: &Problem) -> Result<Samples<'_, Self>>;
}

impl Stored for f64 {
    fn store(problem: &Problem) -> Result<Samples<'_, f64>> {
        Ok(Samples {
            x: Cow::Borrowed(problem.x()),
            d: Cow::Borrowed(problem.d()),
            start: [0, 0],
        })
    }
}

impl Stored for f32 {
    fn store(problem: &Problem) -> Result<Samples<'_, f32>> {
        let (x, x_start) = aligned_f32(problem.x(), "the f32 copy of x")?;
        let (d, d_start) = aligned_f32(problem.d(), "the f32 copy of d")?;
        Ok(Samples {
            x: Cow::Owned(x),
            d: Cow::Owned(d),
            start: [x_start, d_start],
        })
    }
}

/// Bytes of a cache line, and of an AVX-512 register: where the f32 copy starts, and where
/// cpu-persistent cuts its slices.
pub(super) const LINE: usize = 64;

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
