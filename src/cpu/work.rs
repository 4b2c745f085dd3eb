//! The compute limit of a CPU array row: what one sample costs it in floating-point operations
//! (counted from its kernel), at one core's measured rates of them ([`CoreOps`]), for data in
//! cache; and where each thread's data are beyond its L1 data cache but within its L2, the time
//! to read from L2 what L1d cannot hold, at the core's measured rate ([`CacheReads`]), when that
//! is longer (at the article's size, 80 kB of f32 data on a Zen 4 core with a 32 KiB L1d: the
//! reads, not the arithmetic).
//! Loads from L1 are left out (two per vector of samples, on ports of their own), and so are
//! cpu-fused-f16's conversions to f32: the limit is a floor the row cannot go below, not a
//! prediction.

use crate::probe::{CacheReads, CoreOps};
use crate::solver::SolverId;

use super::sums::Simd;

/// One sample's floating-point work in a row's kernel, in scalar operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    /// FMAs and multiplies: the multiply pipes' work.
    pub fma: f64,
    /// Adds and subtracts.
    pub add: f64,
    /// Adds that each wait for the one before (a single running sum), per sample.
    pub chained: f64,
    /// Bits of one element (64: f64; 32: f32, and f16 widened to it).
    pub bits: u32,
}

impl Work {
    /// The work of `solver`'s epoch kernel per sample on instruction set `simd`; None for rows
    /// that are not CPU array rows (cpu-moments, GPU rows).
    pub fn of(solver: SolverId, simd: Simd) -> Option<Work> {
        // `e = d − (w0 + w1·x)`, `Σe += e`, `Σe·x += e·x`: 2 multiplies and 4 adds, or, where
        // f32 contracts (`sums.rs`), 2 FMAs and 2 adds.
        let separate = |bits| Work {
            fma: 2.0,
            add: 4.0,
            chained: 0.0,
            bits,
        };
        let f32_work = if simd.fma() {
            Work {
                fma: 2.0,
                add: 2.0,
                chained: 0.0,
                bits: 32,
            }
        } else {
            separate(32)
        };
        Some(match solver {
            // An error pass (a multiply, two adds), then Σe and Σe·x each a running sum in
            // order, as Python's `sum`: one chained add per sample in each.
            SolverId::CpuNaive => Work {
                fma: 2.0,
                add: 2.0,
                chained: 2.0,
                bits: 64,
            },
            SolverId::CpuFused | SolverId::CpuThreads | SolverId::CpuPersistent => separate(64),
            SolverId::CpuFusedF32 | SolverId::CpuFusedF16 | SolverId::CpuPersistentF32 => f32_work,
            _ => return None,
        })
    }

    /// ns per sample on one core at `ops`' rates: the vector FMAs and adds (those that can
    /// pair, at the rate of both together; the rest at their own), then the chained adds one
    /// latency each.
    pub fn ns_per_sample(&self, ops: &CoreOps) -> f64 {
        let lanes = f64::from(ops.bits / self.bits);
        let (fma, add) = (self.fma / lanes, self.add / lanes);
        let paired = fma.min(add);
        2.0 * paired / ops.fma_add_per_ns
            + (fma - paired) / ops.fma_per_ns
            + (add - paired) / ops.add_per_ns
            + self.chained * ops.add_latency_ns
    }

    /// The least µs an epoch over `n` samples can take on `threads` cores, each at `ops`' rates.
    pub fn limit_us(&self, n: usize, threads: usize, ops: &CoreOps) -> f64 {
        n as f64 * self.ns_per_sample(ops) / threads.max(1) as f64 / 1e3
    }

    /// The limit of an epoch over `n` samples of `bytes` each on `threads` cores: the operations
    /// at `ops`' rates, and where each thread's share of the data is beyond L1d and within L2,
    /// the reads from L2 at `l2`'s rate of what L1d cannot hold (its share less L1d: a floor
    /// whatever the cache keeps).
    pub fn limit(
        &self,
        n: usize,
        threads: usize,
        bytes: f64,
        ops: &CoreOps,
        l2: Option<&CacheReads>,
    ) -> Limit {
        let share = n as f64 * bytes / threads.max(1) as f64;
        let in_l2 = |c: &&CacheReads| share > c.l1d_bytes as f64 && share <= c.l2_bytes as f64;
        Limit {
            ops_us: self.limit_us(n, threads, ops),
            l2_reads_us: l2
                .filter(in_l2)
                .map(|c| (share - c.l1d_bytes as f64) / c.read_gb_s / 1e3),
        }
    }
}

/// A CPU array row's compute limit and its parts, µs/epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Its kernel's floating-point operations at the core's measured rates.
    pub ops_us: f64,
    /// Reading from L2, at the core's measured rate, each thread's share of the data less what
    /// its L1d holds, where the share is beyond L1d and within L2.
    pub l2_reads_us: Option<f64>,
}

impl Limit {
    /// The limit: the longer of its parts.
    pub fn us(&self) -> f64 {
        self.l2_reads_us.map_or(self.ops_us, |r| r.max(self.ops_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::Real;
    use std::cell::Cell;
    use std::ops::{Add, Mul, Sub};

    thread_local! {
        /// FMAs or multiplies, and adds or subtracts, done by [`Counted`] values on this thread.
        static COUNTS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }

    fn count(fma: u64, add: u64) {
        COUNTS.with(|c| {
            let (f, a) = c.get();
            c.set((f + fma, a + add));
        });
    }

    /// An f64 that counts the operations done on it; `C`: whether it contracts as f32 does.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Counted<const C: bool>(f64);

    impl<const C: bool> Add for Counted<C> {
        type Output = Self;
        fn add(self, o: Self) -> Self {
            count(0, 1);
            Counted(self.0 + o.0)
        }
    }
    impl<const C: bool> Sub for Counted<C> {
        type Output = Self;
        fn sub(self, o: Self) -> Self {
            count(0, 1);
            Counted(self.0 - o.0)
        }
    }
    impl<const C: bool> Mul for Counted<C> {
        type Output = Self;
        fn mul(self, o: Self) -> Self {
            count(1, 0);
            Counted(self.0 * o.0)
        }
    }
    impl<const C: bool> Real for Counted<C> {
        const ZERO: Self = Counted(0.0);
        const STEP_BLOCK: usize = 2;
        const CONTRACTS: bool = C;
        fn mul_add(self, a: Self, b: Self) -> Self {
            count(1, 0);
            Counted(self.0.mul_add(a.0, b.0))
        }
        fn from_f64(v: f64) -> Self {
            Counted(v)
        }
        fn to_f64(self) -> f64 {
            self.0
        }
        fn is_finite(self) -> bool {
            self.0.is_finite()
        }
    }

    /// (FMA-pipe, add) operations of one leaf of `n` samples through `sums::leaf`, less the 2 ×
    /// 31 adds that fold its 32 lanes.
    fn leaf_counts<const C: bool, const FMA: bool>(n: usize) -> (f64, f64) {
        let x: Vec<Counted<C>> = (0..n).map(|i| Counted(i as f64 / 7.0)).collect();
        let d: Vec<Counted<C>> = (0..n).map(|i| Counted(1.0 - i as f64 / 9.0)).collect();
        COUNTS.with(|c| c.set((0, 0)));
        let (w0, w1) = (Counted(0.5), Counted(0.25));
        std::hint::black_box(crate::cpu::sums::leaf::<Counted<C>, 32, FMA>(
            &x, &d, w0, w1,
        ));
        let (fma, add) = COUNTS.with(Cell::get);
        (fma as f64 / n as f64, (add - 62) as f64 / n as f64)
    }

    #[test]
    fn the_model_counts_what_the_kernels_do() {
        // f32 where the CPU has FMA: the contracted leaf.
        let contracted = Work::of(SolverId::CpuFusedF32, Simd::Avx512).unwrap();
        assert_eq!(
            leaf_counts::<true, true>(4096),
            (contracted.fma, contracted.add)
        );
        // f64 everywhere, and f32 without FMA: the article's separately rounded arithmetic.
        for (solver, simd) in [
            (SolverId::CpuFused, Simd::Avx512),
            (SolverId::CpuThreads, Simd::Avx2),
            (SolverId::CpuPersistent, Simd::Baseline),
            (SolverId::CpuFusedF32, Simd::Baseline),
        ] {
            let work = Work::of(solver, simd).unwrap();
            assert_eq!(leaf_counts::<false, true>(4096), (work.fma, work.add));
            assert_eq!(leaf_counts::<true, false>(4096), (work.fma, work.add));
        }
        assert_eq!(Work::of(SolverId::CpuFused, Simd::Avx512).unwrap().bits, 64);
        assert_eq!(Work::of(SolverId::CpuMoments, Simd::Avx512), None);
        assert_eq!(Work::of(SolverId::GpuFused, Simd::Avx512), None);
    }

    #[test]
    fn the_limit_pairs_fmas_with_adds_and_waits_out_chained_adds() {
        // 512 bits: 16 f32 or 8 f64 a register. One FMA or add an ns alone; both together
        // two an ns (separate pipes), or one (shared).
        let ops = |both: f64| CoreOps {
            bits: 512,
            fma_per_ns: 1.0,
            add_per_ns: 1.0,
            fma_add_per_ns: both,
            add_latency_ns: 4.0,
        };
        let f32_fma = Work::of(SolverId::CpuFusedF32, Simd::Avx512).unwrap();
        // 2 FMAs and 2 adds per 16 samples: 4/16 of an ns shared, half that on separate pipes.
        assert_eq!(f32_fma.ns_per_sample(&ops(1.0)), 0.25);
        assert_eq!(f32_fma.ns_per_sample(&ops(2.0)), 0.125);
        // f64: 2 multiplies paired with 2 of the 4 adds per 8 samples, 2 adds alone.
        let f64_ref = Work::of(SolverId::CpuFused, Simd::Avx512).unwrap();
        assert_eq!(f64_ref.ns_per_sample(&ops(2.0)), (4.0 / 2.0 + 2.0) / 8.0);
        // N = 1e4 on 2 cores: half an epoch each.
        assert_eq!(f64_ref.limit_us(10_000, 2, &ops(2.0)), 2.5);
        // cpu-naive waits one add latency for each of its two running sums.
        let naive = Work::of(SolverId::CpuNaive, Simd::Avx512).unwrap();
        assert_eq!(naive.ns_per_sample(&ops(2.0)), 2.0 * 2.0 / 8.0 / 2.0 + 8.0);
    }

    #[test]
    fn data_beyond_l1_and_within_l2_are_limited_by_reading_them_from_l2() {
        let ops = CoreOps {
            bits: 512,
            fma_per_ns: 1.0,
            add_per_ns: 1.0,
            fma_add_per_ns: 2.0,
            add_latency_ns: 4.0,
        };
        // A 32 kB L1d and a 1 MiB L2 that one core reads at 100 GB/s (100 bytes a ns).
        let l2 = CacheReads {
            l1d_bytes: 32_000,
            l2_bytes: 1 << 20,
            read_gb_s: 100.0,
        };
        let f32_fma = Work::of(SolverId::CpuFusedF32, Simd::Avx512).unwrap();
        let limit = |n, threads| f32_fma.limit(n, threads, 8.0, &ops, Some(&l2));
        // N = 1e4 in f32: 80 kB, in L2 on one core: the 48 kB L1d cannot hold read in 0.48 µs,
        // beside 1.25 µs of operations (0.125 ns a sample), the longer of which is the limit;
        // with operations four times faster, the reads.
        let one = limit(10_000, 1);
        assert_eq!((one.ops_us, one.l2_reads_us), (1.25, Some(0.48)));
        assert_eq!(one.us(), 1.25);
        let fast_ops = f32_fma.limit(
            10_000,
            1,
            8.0,
            &CoreOps {
                fma_add_per_ns: 8.0,
                ..ops
            },
            Some(&l2),
        );
        assert_eq!(fast_ops.us(), 0.48);
        // On 2 cores each reads its 40 kB half, 8 kB beyond L1d.
        assert_eq!(limit(10_000, 2).l2_reads_us, Some(0.08));
        // Within L1d (16 kB), beyond L2 (1.6 MB), or no L2 figure: operations alone.
        for (n, l2) in [(2_000, Some(&l2)), (200_000, Some(&l2)), (10_000, None)] {
            let limit = f32_fma.limit(n, 1, 8.0, &ops, l2);
            assert_eq!(limit.l2_reads_us, None, "N {n}");
            assert_eq!(limit.us(), limit.ops_us, "N {n}");
        }
    }
}
