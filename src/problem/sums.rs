//! Sums of the data taken once per problem: the moments behind `cpu-moments`, the curvature that
//! decides stability, and the inputs of the f32 error model. One compensated pass, in parallel
//! blocks, of the data as given or as rounded to f32 (what an f32 solver actually computes with).

use rayon::prelude::*;

/// Which values the sums are taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// x and d as given (f64).
    None,
    /// x and d each rounded to f32 first, as every f32 solver stores them.
    F32,
    /// x and d each stored as a double-float pair of f32 (`hi + lo`, about 48 bits), as
    /// `gpu-fused-df64` stores them.
    Df64,
}

impl Rounding {
    /// `v` as this rounding stores it.
    pub fn apply(self, v: f64) -> f64 {
        match self {
            Rounding::None => v,
            Rounding::F32 => f64::from(v as f32),
            Rounding::Df64 => {
                let hi = v as f32;
                f64::from(hi) + f64::from((v - f64::from(hi)) as f32)
            }
        }
    }
}

/// Σ with Neumaier's compensation: the rounding of each addition is carried and added at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Compensated {
    sum: f64,
    carry: f64,
}

impl Compensated {
    /// Adds `v`, keeping what the addition rounded away.
    #[inline(always)]
    pub fn add(&mut self, v: f64) {
        let t = self.sum + v;
        self.carry += if self.sum.abs() >= v.abs() {
            (self.sum - t) + v
        } else {
            (v - t) + self.sum
        };
        self.sum = t;
    }

    /// Both partial sums together (each block of a parallel pass keeps its own).
    pub fn merge(mut self, other: Self) -> Self {
        self.add(other.sum);
        self.add(other.carry);
        self
    }

    /// The compensated total.
    pub fn value(self) -> f64 {
        self.sum + self.carry
    }
}

/// Power sums of x and d (compensated), for N samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataSums {
    /// N.
    pub n: f64,
    /// Σx.
    pub sx: f64,
    /// Σx².
    pub sxx: f64,
    /// Σd.
    pub sd: f64,
    /// Σx·d.
    pub sxd: f64,
    /// Σ(x − x̄)²: N times the variance of x, taken about the mean so it keeps its digits when x
    /// lies far from 0.
    pub sxx_centred: f64,
    /// Σ(d − d̄)², likewise.
    pub sdd_centred: f64,
    /// Σ(x − x̄)(d − d̄), likewise.
    pub sxd_centred: f64,
    /// Σd².
    pub sdd: f64,
    /// Σx⁴.
    pub sxxxx: f64,
    /// Σd²·x².
    pub sddxx: f64,
    /// Σx³.
    pub sxxx: f64,
    /// Σd²·x.
    pub sddx: f64,
}

impl DataSums {
    /// How far the line `w`'s mean squared error lies above the least-squares line's:
    /// `Σ(x − x̄)²/N·(w1 − w1*)² + (d̄ − w0 − w1·x̄)²`, with `w1* = Σ(x − x̄)(d − d̄)/Σ(x − x̄)²`.
    /// Each term is a square of a difference taken directly, so the excess keeps its digits down
    /// to weights within rounding of the least-squares line (the expansion
    /// `Σ(d − d̄)² − 2·w1·Σ(x − x̄)(d − d̄) + w1²·Σ(x − x̄)²` cancels to rounding noise of the
    /// data's spread long before).
    pub fn excess_loss(&self, [w0, w1]: [f64; 2]) -> f64 {
        let slope = w1 - self.sxd_centred / self.sxx_centred;
        let offset = self.sd / self.n - w0 - w1 * self.sx / self.n;
        self.sxx_centred / self.n * slope * slope + offset * offset
    }

    /// The least-squares line's mean squared error, from one compensated pass over the
    /// residuals `(d − d̄) − w1*·(x − x̄)` (`x` and `d` the data these sums were taken of).
    pub fn least_loss(&self, x: &[f64], d: &[f64]) -> f64 {
        let (mx, md) = (self.sx / self.n, self.sd / self.n);
        let slope = self.sxd_centred / self.sxx_centred;
        let total = x
            .par_chunks(BLOCK)
            .zip(d.par_chunks(BLOCK))
            .map(|(xs, ds)| {
                let mut s = Compensated::default();
                for (&x, &d) in xs.iter().zip(ds) {
                    let r = (d - md) - slope * (x - mx);
                    s.add(r * r);
                }
                s
            })
            .reduce(Compensated::default, Compensated::merge);
        total.value() / self.n
    }
}

/// Samples per block of the parallel pass.
const BLOCK: usize = 1 << 15;

impl DataSums {
    /// Takes every sum of `x` and `d` (equal lengths), rounded as `rounding` says.
    pub fn of(x: &[f64], d: &[f64], rounding: Rounding) -> Self {
        assert_eq!(x.len(), d.len(), "x and d differ in length");
        let r = |v: f64| rounding.apply(v);
        let merge =
            |a: [Compensated; 10], b: [Compensated; 10]| std::array::from_fn(|i| a[i].merge(b[i]));
        let raw = x
            .par_chunks(BLOCK)
            .zip(d.par_chunks(BLOCK))
            .map(|(xs, ds)| {
                let mut s = [Compensated::default(); 10];
                for (&x, &d) in xs.iter().zip(ds) {
                    let (x, d) = (r(x), r(d));
                    let (xx, dd) = (x * x, d * d);
                    for (acc, v) in s.iter_mut().zip([
                        x,
                        xx,
                        d,
                        x * d,
                        0.0,
                        dd,
                        xx * xx,
                        dd * xx,
                        xx * x,
                        dd * x,
                    ]) {
                        acc.add(v);
                    }
                }
                s
            })
            .reduce(|| [Compensated::default(); 10], merge);
        let n = x.len() as f64;
        let mean = raw[0].value() / n;
        let mean_d = raw[2].value() / n;
        let merge3 =
            |a: [Compensated; 3], b: [Compensated; 3]| std::array::from_fn(|i| a[i].merge(b[i]));
        let centred = x
            .par_chunks(BLOCK)
            .zip(d.par_chunks(BLOCK))
            .map(|(xs, ds)| {
                let mut s = [Compensated::default(); 3];
                for (&x, &d) in xs.iter().zip(ds) {
                    let (cx, cd) = (r(x) - mean, r(d) - mean_d);
                    s[0].add(cx * cx);
                    s[1].add(cd * cd);
                    s[2].add(cx * cd);
                }
                s
            })
            .reduce(|| [Compensated::default(); 3], merge3);
        Self {
            n,
            sx: raw[0].value(),
            sxx: raw[1].value(),
            sd: raw[2].value(),
            sxd: raw[3].value(),
            sxx_centred: centred[0].value(),
            sdd_centred: centred[1].value(),
            sxd_centred: centred[2].value(),
            sdd: raw[5].value(),
            sxxxx: raw[6].value(),
            sddxx: raw[7].value(),
            sxxx: raw[8].value(),
            sddx: raw[9].value(),
        }
    }

    /// `(Σe, Σe·x)` with `e = d − (w0 + w1·x)`, from the moments: O(1).
    pub fn error_sums(&self, w: [f64; 2]) -> [f64; 2] {
        [
            self.sd - self.n * w[0] - w[1] * self.sx,
            self.sxd - w[0] * self.sx - w[1] * self.sxx,
        ]
    }

    /// `Σe²` at `w`, from the moments (never below 0).
    pub fn squared_error(&self, w: [f64; 2]) -> f64 {
        let [w0, w1] = w;
        (self.sdd - 2.0 * w0 * self.sd - 2.0 * w1 * self.sxd
            + self.n * w0 * w0
            + 2.0 * w0 * w1 * self.sx
            + w1 * w1 * self.sxx)
            .max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_match_direct_loops_rounded_or_not() {
        let n = 3 * BLOCK + 17;
        let x: Vec<f64> = (0..n).map(|i| 1000.0 + (i as f64 * 0.37).sin()).collect();
        let d: Vec<f64> = x.iter().map(|x| 3.0 + 2.0 * x + 0.1).collect();
        for rounding in [Rounding::None, Rounding::F32] {
            let s = DataSums::of(&x, &d, rounding);
            let r = |v: f64| rounding.apply(v);
            let direct = |f: &dyn Fn(f64, f64) -> f64| -> f64 {
                let mut c = Compensated::default();
                x.iter().zip(&d).for_each(|(&x, &d)| c.add(f(r(x), r(d))));
                c.value()
            };
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs().max(1.0);
            assert!(close(s.sx, direct(&|x, _| x)));
            assert!(close(s.sxx, direct(&|x, _| x * x)));
            assert!(close(s.sd, direct(&|_, d| d)));
            assert!(close(s.sxd, direct(&|x, d| x * d)));
            assert!(close(s.sdd, direct(&|_, d| d * d)));
            assert!(close(s.sxxxx, direct(&|x, _| x.powi(4))));
            assert!(close(s.sddxx, direct(&|x, d| d * d * x * x)));
            assert!(close(s.sxxx, direct(&|x, _| x * x * x)));
            assert!(close(s.sddx, direct(&|x, d| d * d * x)));
            let mean = s.sx / s.n;
            assert!(close(s.sxx_centred, direct(&|x, _| (x - mean).powi(2))));
            // The error sums from moments agree with a direct pass.
            let w = [0.5, 1.9];
            let [e, ex] = s.error_sums(w);
            let direct_e = direct(&|x, d| d - (w[0] + w[1] * x));
            assert!((e - direct_e).abs() <= 1e-9 * s.sd.abs(), "{e} {direct_e}");
            assert!(ex.is_finite());
        }
        assert_ne!(
            DataSums::of(&x, &d, Rounding::None).sx,
            DataSums::of(&x, &d, Rounding::F32).sx,
            "rounding to f32 changes the data"
        );
    }

    #[test]
    fn the_loss_keeps_its_digits_on_data_far_from_zero() {
        // d near 1e7 with noise about 0.1: the raw-moment expansion cancels 1e14 down to 1e-2.
        let n = 10_000;
        let x: Vec<f64> = (0..n).map(|i| 5.0 + i as f64 * 1e-3).collect();
        let d: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, x)| 1e7 + 2.0 * x + 0.1 * ((i as f64) * 0.7).sin())
            .collect();
        let s = DataSums::of(&x, &d, Rounding::None);
        let least = s.least_loss(&x, &d);
        for w in [[1e7, 2.0], [1e7 + 0.5, 1.9]] {
            let mut direct = Compensated::default();
            for (&x, &d) in x.iter().zip(&d) {
                let e = d - w[0] - w[1] * x;
                direct.add(e * e);
            }
            let direct = direct.value() / n as f64;
            let loss = least + s.excess_loss(w);
            assert!((loss / direct - 1.0).abs() < 1e-6, "{loss} vs {direct}");
        }
    }

    #[test]
    fn the_excess_loss_ranks_lines_closer_than_the_spread_can_resolve() {
        // Low noise (1e-3) on a spread of about 1: two lines 1e-9 apart in w1 differ in loss by
        // about 1e-18, far below the rounding of Σ(d − d̄)² (1e-16), yet the excess ranks them.
        let n = 1_000;
        let x: Vec<f64> = (0..n).map(|i| i as f64 * 2.0 / n as f64).collect();
        let d: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, x)| 3.0 + 2.0 * x + 1e-3 * ((i as f64) * 0.7).sin())
            .collect();
        let s = DataSums::of(&x, &d, Rounding::None);
        let w1 = s.sxd_centred / s.sxx_centred;
        let w0 = s.sd / s.n - w1 * s.sx / s.n;
        assert!(
            s.excess_loss([w0, w1]) < 1e-30,
            "{}",
            s.excess_loss([w0, w1])
        );
        let near = s.excess_loss([w0, w1 + 1e-9]);
        let nearer = s.excess_loss([w0, w1 + 5e-10]);
        assert!(
            nearer < near && near < 1e-17 && nearer > 0.0,
            "{nearer} {near}"
        );
        // The least-squares loss itself: the noise's mean square, about 1e-6 / 2.
        let least = s.least_loss(&x, &d);
        assert!((least - 5e-7).abs() < 5e-8, "{least}");
    }
}
