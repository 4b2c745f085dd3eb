//! `cpu-fused-f16`: `cpu-fused-f32` with x and d stored in f16 (half the bytes), each leaf of
//! the summation tree widened to f32 (into arrays made once per descent) just before it is summed. The CPU side of the
//! precision ladder's f16 rung: the same tree and the same f32 arithmetic as `cpu-fused-f32`, so
//! on the f16-rounded data it returns `cpu-fused-f32`'s weights bit for bit.

use half::f16;

use super::descent::{descend, descend_many};
use super::sums::{LEAF, ManySums, add_into, error_sums, split_point, tree_depth};
use crate::error::Result;
use crate::problem::{Problem, reserve};
use crate::solver::{Outcome, Solver};

/// The fused solver over f16 copies of x and d.
pub struct FusedF16 {
    x: Vec<f16>,
    d: Vec<f16>,
    steps: Vec<f64>,
    epochs: u64,
    limit: f64,
}

impl FusedF16 {
    /// Rounds x and d to f16 (part of preparation); `Unavailable` when a value leaves f16's range.
    pub fn new(problem: &Problem) -> Result<Self> {
        let round = |v: &[f64], what| -> Result<Vec<f16>> {
            let mut out = reserve(v.len(), what)?;
            out.extend(v.iter().map(|&v| crate::problem::to_f16(v)));
            if out.iter().any(|v| !v.is_finite()) {
                return Err(crate::problem::outside_f16());
            }
            Ok(out)
        };
        Ok(Self {
            x: round(problem.x(), "the f16 copy of x")?,
            d: round(problem.d(), "the f16 copy of d")?,
            steps: problem.steps().to_vec(),
            epochs: problem.epochs(),
            limit: problem.sane_bound(),
        })
    }
}

/// `src` widened to f32 into `dst` (exact: every f16 is an f32), eight at a time with F16C
/// where the CPU has it (every x86-64 CPU since 2012), one at a time elsewhere.
fn widen(src: &[f16], dst: &mut [f32]) {
    // GDBENCH_SIMD=baseline caps this too (every AVX2 CPU has F16C).
    #[cfg(target_arch = "x86_64")]
    if super::sums::simd_level() >= super::sums::Simd::Avx2
        && std::arch::is_x86_feature_detected!("f16c")
    {
        // SAFETY: both features were just detected on this CPU.
        return unsafe { widen_f16c(src, dst) };
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_f32();
    }
}

/// [`widen`] with F16C's `vcvtph2ps`, eight values per instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "f16c,avx")]
unsafe fn widen_f16c(src: &[f16], dst: &mut [f32]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm256_cvtph_ps, _mm256_storeu_ps};
    let n = src.len().min(dst.len());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 ≤ n, so both eight-value accesses are in bounds; unaligned loads/stores.
        unsafe {
            let halves = _mm_loadu_si128(src.as_ptr().add(i).cast::<__m128i>());
            _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(halves));
        }
        i += 8;
    }
    for j in i..n {
        dst[j] = src[j].to_f32();
    }
}

/// One leaf's samples widened to f32, each array on a cache line: made once per descent, not per
/// leaf (zeroing two 16 KiB arrays every epoch cost 0.3 µs, doubling the time per sample at
/// N = 1 000 on the Zen 4 VM).
#[repr(C, align(64))]
struct Widened {
    x: [f32; LEAF],
    d: [f32; LEAF],
}

impl Widened {
    fn new() -> Box<Self> {
        Box::new(Self {
            x: [0.0; LEAF],
            d: [0.0; LEAF],
        })
    }

    /// A leaf's x and d widened into these arrays (at most [`LEAF`] samples).
    fn leaf(&mut self, x: &[f16], d: &[f16]) -> (&[f32], &[f32]) {
        let n = x.len();
        widen(x, &mut self.x[..n]);
        widen(d, &mut self.d[..n]);
        (&self.x[..n], &self.d[..n])
    }
}

/// Σe and Σe·x over f16 data with f32 arithmetic: `error_sums`' tree, each leaf widened first.
fn sums(x: &[f16], d: &[f16], w0: f32, w1: f32, leaf: &mut Widened) -> (f32, f32) {
    if x.len() <= LEAF {
        let (xs, ds) = leaf.leaf(x, d);
        return error_sums(xs, ds, w0, w1);
    }
    let mid = split_point(x.len());
    let a = sums(&x[..mid], &d[..mid], w0, w1, leaf);
    let b = sums(&x[mid..], &d[mid..], w0, w1, leaf);
    (a.0 + b.0, a.1 + b.1)
}

/// [`sums`] at every weight pair of `w` in one walk: each leaf widened once and summed for every
/// pair ([`ManySums`], bit-identical per pair to [`error_sums`]); `scratch` holds the right
/// halves' sums, `w.len()` per tree level.
fn sums_many(
    x: &[f16],
    d: &[f16],
    w: &[[f32; 2]],
    out: &mut [(f32, f32)],
    scratch: &mut [(f32, f32)],
    many: &mut ManySums<f32>,
    leaf: &mut Widened,
) {
    if x.len() <= LEAF {
        let (xs, ds) = leaf.leaf(x, d);
        return many.sums(xs, ds, w, out);
    }
    let mid = split_point(x.len());
    let (right, rest) = scratch.split_at_mut(w.len());
    sums_many(&x[..mid], &d[..mid], w, out, rest, many, leaf);
    sums_many(&x[mid..], &d[mid..], w, right, rest, many, leaf);
    add_into(out, right);
}

impl Solver for FusedF16 {
    fn epochs(&self) -> u64 {
        self.epochs
    }

    /// One step: the widened fused pass. Several: every step's sums in one walk per epoch.
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        let (x, d) = (&self.x, &self.d);
        let mut leaf = Widened::new();
        Ok(match self.steps[..] {
            [mu] => vec![descend::<f32>(x.len(), mu, epochs, self.limit, |w0, w1| {
                sums(x, d, w0, w1, &mut leaf)
            })],
            _ => {
                let mut scratch = vec![(0.0, 0.0); self.steps.len() * tree_depth(x.len())];
                let mut many = ManySums::default();
                descend_many::<f32>(x.len(), &self.steps, epochs, self.limit, |w, out| {
                    sums_many(x, d, w, out, &mut scratch, &mut many, &mut leaf)
                })
            }
        })
    }
}
