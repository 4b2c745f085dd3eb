//! The two float types the CPU solvers are written once for.

use std::ops::{Add, Mul, Sub};

/// f32 or f64: just the arithmetic the descent needs.
pub trait Real:
    Copy + Send + Sync + PartialEq + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self>
{
    /// Zero.
    const ZERO: Self;
    /// Weight pairs the many-step kernel sums per load of a sample (as many as its accumulators
    /// leave registers for).
    const STEP_BLOCK: usize;
    /// Whether the epoch kernel fuses its multiply-adds where the CPU has FMA: f32 (judged by
    /// its tolerance) does; f64, the reference, keeps the article's separately rounded arithmetic.
    const CONTRACTS: bool;
    /// `self · a + b`, rounded once.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Rounds an f64 to this type.
    fn from_f64(v: f64) -> Self;
    /// Widens to f64 exactly.
    fn to_f64(self) -> f64;
    /// Neither NaN nor infinite.
    fn is_finite(self) -> bool;
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const STEP_BLOCK: usize = 2;
    const CONTRACTS: bool = false;
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const STEP_BLOCK: usize = 4;
    const CONTRACTS: bool = true;
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f32::mul_add(self, a, b)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self.into()
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}
