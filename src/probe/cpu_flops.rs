//! The host's arithmetic peaks: f32 and f64 FLOP/s on one core and on every core, from
//! [`FLOP_REGS`] registers of independent FMA chains as wide as the CPU's SIMD, kept in registers.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{fastest_pass, pair_checked};
use crate::cpu::{Simd, simd_level};
use crate::fault;

/// Registers of independent FMA chains the CPU FLOP/s kernel keeps busy: more than FMA latency ×
/// FMAs per cycle on current cores (4 × 2 = 8 on Intel; 4 × 1 for 512 bits on Zen 4), and no
/// more than AVX2's 16 registers hold beside m and c.
pub const FLOP_REGS: usize = 12;

/// Passes per CPU FLOP/s measurement; the fastest is kept.
pub const FLOP_PASSES: usize = 5;

/// What one pass of the CPU FLOP/s kernel aims at: 4 measurements × [`FLOP_PASSES`] of these
/// keep the whole CPU FLOP/s probe near 0.15 s on an idle machine (0.3 s on a busy one).
pub const FLOP_PASS_TARGET: Duration = Duration::from_millis(6);

/// The chains' multiplier: `a = fma(a, m, c)` with m = 1 - 2⁻¹² and c = 1 - m tends to 1 and stays
/// normal and finite however long it runs.
const FLOP_M: f64 = 1.0 - 1.0 / 4096.0;
/// The chains' addend.
const FLOP_C: f64 = 1.0 / 4096.0;

/// The host's arithmetic peaks ([`cpu_flops`]).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CpuFlops {
    /// f32 GFLOP/s of one core (an FMA counted as 2 flops).
    pub gflops_f32_one_core: f64,
    /// f32 GFLOP/s of `threads` threads together.
    pub gflops_f32_all_cores: f64,
    /// f64 GFLOP/s of one core.
    pub gflops_f64_one_core: f64,
    /// f64 GFLOP/s of `threads` threads together.
    pub gflops_f64_all_cores: f64,
    /// Threads of the all-core figures (those the bandwidth probe uses).
    pub threads: usize,
    /// The kernel, e.g. `avx512 FMA, 12 chains × 512 bits`.
    pub kernel: String,
    /// Figures whose all-core pass measured below one core twice: (what, one core, all cores).
    pub disturbed: Vec<(String, f64, f64)>,
    /// One core's rates of the operations the CPU rows' limit model needs; None on the portable
    /// kernel, whose steps are a multiply and an add: its rates would not be a multiply's.
    pub ops: Option<CoreOps>,
}

/// One core's measured rates of the vector operations a CPU row is made of, in instructions
/// of the FLOP/s kernel's width per ns, and the latency of one add: what
/// [`crate::cpu::work`] turns into a row's compute limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CoreOps {
    /// The register width the rates are for, bits.
    pub bits: u32,
    /// FMAs per ns.
    pub fma_per_ns: f64,
    /// Adds per ns, from independent add chains.
    pub add_per_ns: f64,
    /// FMAs and adds per ns when half the chains are each (above either alone where the CPU
    /// has pipes for both).
    pub fma_add_per_ns: f64,
    /// One add that waits for the one before, ns (scalar f64).
    pub add_latency_ns: f64,
}

/// The instructions of the CPU FLOP/s kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlopKernel {
    /// AVX-512F `vfmadd` on 512-bit registers.
    Avx512,
    /// AVX2 with FMA: `vfmadd` on 256-bit registers.
    Avx2Fma,
    /// Plain multiply then add (separately rounded, 2 flops), 128 bits' worth of chains per
    /// register, left to the compiler: CPUs with neither, or gdbench capped below them.
    Portable,
}

impl FlopKernel {
    /// The kernel at the SIMD level gdbench's CPU kernels use ([`simd_level`]).
    pub fn detect() -> Self {
        match simd_level() {
            Simd::Avx512 => FlopKernel::Avx512,
            Simd::Avx2 if has_fma() => FlopKernel::Avx2Fma,
            _ => FlopKernel::Portable,
        }
    }

    /// Every kernel this CPU can run, narrowest first.
    pub fn available() -> Vec<Self> {
        let mut kernels = vec![FlopKernel::Portable];
        let levels = Simd::available();
        if levels.contains(&Simd::Avx2) && has_fma() {
            kernels.push(FlopKernel::Avx2Fma);
        }
        if levels.contains(&Simd::Avx512) {
            kernels.push(FlopKernel::Avx512);
        }
        kernels
    }

    /// Bits of one register's worth of chains.
    pub fn bits(self) -> usize {
        match self {
            FlopKernel::Avx512 => 512,
            FlopKernel::Avx2Fma => 256,
            FlopKernel::Portable => 128,
        }
    }

    /// Whether each step is one fused multiply-add (else a multiply and an add).
    pub fn fused(self) -> bool {
        self != FlopKernel::Portable
    }

    /// Independent chains of `T`: [`FLOP_REGS`] registers' worth.
    pub fn chains<T>(self) -> usize {
        FLOP_REGS * self.bits() / 8 / std::mem::size_of::<T>()
    }

    /// For reports: `avx512 FMA, 12 chains × 512 bits`.
    pub fn describe(self) -> String {
        let what = match self {
            FlopKernel::Avx512 => "avx512 FMA",
            FlopKernel::Avx2Fma => "avx2 FMA",
            FlopKernel::Portable => "portable mul+add",
        };
        format!("{what}, {FLOP_REGS} chains × {} bits", self.bits())
    }
}

/// Whether the CPU has FMA3 (x86_64); elsewhere false (the portable kernel runs).
fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// What the chains of the CPU probes do each step: every chain an FMA (the FLOP/s probe), every
/// chain an add, or the first half of the registers FMAs and the second half adds (the
/// operation probes).
const ALL_FMA: u8 = 0;
/// Every chain adds, `a = a + c`.
const ALL_ADD: u8 = 1;
/// The first half of the chains FMAs, the second half adds.
const HALF_EACH: u8 = 2;

/// True when, in mode `MODE`, chain (or register) `k` of `of` runs FMAs rather than adds.
#[inline(always)]
fn fmas<const MODE: u8>(k: usize, of: usize) -> bool {
    MODE == ALL_FMA || (MODE == HALF_EACH && k < of / 2)
}

/// `FLOP_REGS` registers of chains run `iters` times as `MODE` says (`a = fma(a, m, c)` or
/// `a = a + c`), loaded from `state` and stored back: one `#[target_feature]` function per
/// instruction set and type, in intrinsics, so the chains stay in registers whatever the
/// optimisation level.
macro_rules! chain_registers {
    ($name:ident, $feature:literal, $t:ty, $lanes:literal, $load:ident, $store:ident, $set1:ident, $add:ident, $fmadd:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        // The AVX-512 intrinsics are stable since Rust 1.89, like the `avx512f` target feature
        // the crate's other AVX-512 kernels already need: the crate's real MSRV is 1.89.
        #[allow(clippy::incompatible_msrv)]
        fn $name<const MODE: u8>(state: &mut [$t; FLOP_REGS * $lanes], m: $t, c: $t, iters: u64) {
            use std::arch::x86_64::*;
            let (m, c) = ($set1(m), $set1(c));
            // SAFETY: an unaligned load of `$lanes` values at `r·$lanes`, within `state`.
            let mut acc: [_; FLOP_REGS] =
                std::array::from_fn(|r| unsafe { $load(state.as_ptr().add(r * $lanes)) });
            for _ in 0..iters {
                for (r, a) in acc.iter_mut().enumerate() {
                    *a = if fmas::<MODE>(r, FLOP_REGS) {
                        $fmadd(*a, m, c)
                    } else {
                        $add(*a, c)
                    };
                }
            }
            for (r, a) in acc.iter().enumerate() {
                // SAFETY: an unaligned store of `$lanes` values at `r·$lanes`, within `state`.
                unsafe { $store(state.as_mut_ptr().add(r * $lanes), *a) };
            }
        }
    };
}

chain_registers!(
    fma_f32_avx512,
    "avx512f",
    f32,
    16,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_add_ps,
    _mm512_fmadd_ps
);
chain_registers!(
    fma_f64_avx512,
    "avx512f",
    f64,
    8,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_set1_pd,
    _mm512_add_pd,
    _mm512_fmadd_pd
);
chain_registers!(
    fma_f32_avx2,
    "avx2,fma",
    f32,
    8,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_add_ps,
    _mm256_fmadd_ps
);
chain_registers!(
    fma_f64_avx2,
    "avx2,fma",
    f64,
    4,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_set1_pd,
    _mm256_add_pd,
    _mm256_fmadd_pd
);

/// The portable kernel: `N` chains as `MODE` says, `a = a·m + c` (a multiply and an add: Rust
/// never fuses them) or `a = a + c`, vectorised as the compiler sees fit.
fn portable_chains<T: FlopReal, const N: usize, const MODE: u8>(
    state: &mut [T; N],
    m: T,
    c: T,
    iters: u64,
) {
    let mut acc = *state;
    for _ in 0..iters {
        for (k, a) in acc.iter_mut().enumerate() {
            *a = if fmas::<MODE>(k, N) {
                *a * m + c
            } else {
                *a + c
            };
        }
    }
    *state = acc;
}

/// Vector instructions per ns of one core running `kernel`'s f64 chains in `MODE`
/// ([`ALL_ADD`] or [`HALF_EACH`]), the fastest of [`FLOP_PASSES`] passes of about
/// [`FLOP_PASS_TARGET`].
fn ops_per_ns<const MODE: u8>(kernel: FlopKernel) -> f64 {
    let mut state = flop_seeds::<f64>(kernel);
    let mut pass = |iters: u64| {
        let start = Instant::now();
        f64::run::<MODE>(
            kernel,
            black_box(&mut state),
            black_box(FLOP_M),
            black_box(FLOP_C),
            iters,
        );
        start.elapsed().as_secs_f64()
    };
    let iters = pass_iterations(4096, &mut pass);
    let best = fastest_of_passes(iters, &mut pass);
    let registers = kernel.chains::<f64>() / (kernel.bits() / 64);
    registers as f64 * iters as f64 / (best * 1e9)
}

/// One chain of scalar f64 adds, `a = a + c`: ns per add, the fastest of [`FLOP_PASSES`] passes.
fn add_latency_ns() -> f64 {
    let mut pass = |iters: u64| {
        let (mut a, c) = (black_box(1.0f64), black_box(FLOP_C));
        let start = Instant::now();
        for _ in 0..iters {
            a += c;
        }
        black_box(a);
        start.elapsed().as_secs_f64()
    };
    let iters = pass_iterations(1 << 16, &mut pass);
    fastest_of_passes(iters, &mut pass) * 1e9 / iters as f64
}

/// Steps per pass that make about [`FLOP_PASS_TARGET`], from two runs of `probe` steps of
/// `pass` (seconds for the steps it is given; the first run wakes the core and its vector
/// units), at least `probe` and at most 2³⁴.
fn pass_iterations(probe: u64, pass: &mut dyn FnMut(u64) -> f64) -> u64 {
    pass(probe);
    let seconds = pass(probe).max(1e-7);
    let iters = FLOP_PASS_TARGET.as_secs_f64() / seconds * probe as f64;
    (iters as u64).clamp(probe, 1 << 34)
}

/// The fastest of [`FLOP_PASSES`] passes of `iters` steps, seconds.
fn fastest_of_passes(iters: u64, pass: &mut dyn FnMut(u64) -> f64) -> f64 {
    (0..FLOP_PASSES)
        .map(|_| pass(iters))
        .fold(f64::INFINITY, f64::min)
}

/// One core's [`CoreOps`] on `kernel`, with its FMA rate from the f64 FLOP/s figure.
fn core_ops(kernel: FlopKernel, gflops_f64_one_core: f64) -> CoreOps {
    let f64_per_register = (kernel.bits() / 64) as f64;
    CoreOps {
        bits: kernel.bits() as u32,
        fma_per_ns: gflops_f64_one_core / 2.0 / f64_per_register,
        add_per_ns: ops_per_ns::<ALL_ADD>(kernel),
        fma_add_per_ns: ops_per_ns::<HALF_EACH>(kernel),
        add_latency_ns: add_latency_ns(),
    }
}

/// f32 and f64 for the CPU FLOP/s kernel.
pub trait FlopReal:
    Copy
    + Send
    + Sync
    + PartialEq
    + std::fmt::Debug
    + std::ops::Mul<Output = Self>
    + std::ops::Add<Output = Self>
    + 'static
{
    /// `x` rounded to this type.
    fn of(x: f64) -> Self;
    /// One step of a chain as `kernel` computes it: `a·m + c` rounded once when `fused`, twice
    /// when not (the scalar twin of the SIMD kernels).
    fn step(a: Self, m: Self, c: Self, fused: bool) -> Self;
    /// `iters` steps of every chain in `state`, which holds `kernel.chains::<Self>()` values,
    /// each an FMA or an add as `MODE` says ([`ALL_FMA`], [`ALL_ADD`], [`HALF_EACH`]).
    fn run<const MODE: u8>(kernel: FlopKernel, state: &mut [Self], m: Self, c: Self, iters: u64);
}

macro_rules! flop_real {
    ($t:ty, $avx512:ident, $avx2:ident) => {
        impl FlopReal for $t {
            fn of(x: f64) -> Self {
                x as $t
            }

            fn step(a: Self, m: Self, c: Self, fused: bool) -> Self {
                if fused { a.mul_add(m, c) } else { a * m + c }
            }

            fn run<const MODE: u8>(
                kernel: FlopKernel,
                state: &mut [Self],
                m: Self,
                c: Self,
                iters: u64,
            ) {
                let wrong = "a state of kernel.chains::<T>() values";
                match kernel {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `FlopKernel::Avx512` is only chosen after detecting AVX-512F.
                    FlopKernel::Avx512 => unsafe {
                        $avx512::<MODE>(state.try_into().expect(wrong), m, c, iters)
                    },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `FlopKernel::Avx2Fma` is only chosen after detecting AVX2 and FMA.
                    FlopKernel::Avx2Fma => unsafe {
                        $avx2::<MODE>(state.try_into().expect(wrong), m, c, iters)
                    },
                    _ => portable_chains::<
                        Self,
                        { FLOP_REGS * 16 / std::mem::size_of::<$t>() },
                        MODE,
                    >(state.try_into().expect(wrong), m, c, iters),
                }
            }
        }
    };
}

flop_real!(f32, fma_f32_avx512, fma_f32_avx2);
flop_real!(f64, fma_f64_avx512, fma_f64_avx2);

/// The first values of `kernel`'s chains: all different (so no two chains are one), in (1, 2).
fn flop_seeds<T: FlopReal>(kernel: FlopKernel) -> Vec<T> {
    let n = kernel.chains::<T>();
    (0..n)
        .map(|k| T::of(1.0 + (k + 1) as f64 / (n + 1) as f64))
        .collect()
}

/// `threads` threads each running `kernel`'s chains of `T` for `iters` steps, [`FLOP_PASSES`]
/// times: the flops of one pass (every thread's) and the fastest pass, from the first thread's
/// start to the last thread's end, on the threads' own clocks (as [`stream_with`]).
fn flops_with<T: FlopReal>(kernel: FlopKernel, threads: usize, iters: u64) -> (f64, Duration) {
    let barrier = Barrier::new(threads);
    let spans: Vec<Vec<(Instant, Instant)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut state = flop_seeds::<T>(kernel);
                    let spans = (0..FLOP_PASSES)
                        .map(|_| {
                            barrier.wait();
                            let start = Instant::now();
                            T::run::<ALL_FMA>(
                                kernel,
                                black_box(&mut state),
                                black_box(T::of(FLOP_M)),
                                black_box(T::of(FLOP_C)),
                                iters,
                            );
                            (start, Instant::now())
                        })
                        .collect();
                    black_box(&state);
                    spans
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a probe thread panicked"))
            .collect()
    });
    let fastest = fastest_pass(&spans, FLOP_PASSES);
    let flops = (threads * kernel.chains::<T>()) as f64 * iters as f64 * 2.0;
    (flops, fastest)
}

/// Steps per pass of `kernel`'s FMA chains of `T` that make about [`FLOP_PASS_TARGET`] on one
/// core ([`pass_iterations`]).
fn flop_iterations<T: FlopReal>(kernel: FlopKernel) -> u64 {
    let mut state = flop_seeds::<T>(kernel);
    let mut pass = |iters: u64| {
        let start = Instant::now();
        T::run::<ALL_FMA>(
            kernel,
            black_box(&mut state),
            black_box(T::of(FLOP_M)),
            black_box(T::of(FLOP_C)),
            iters,
        );
        start.elapsed().as_secs_f64()
    };
    pass_iterations(4096, &mut pass)
}

/// f32 and f64 GFLOP/s on one core and on every core (the threads the bandwidth probe uses),
/// from [`FlopKernel::detect`]'s kernel; an FMA counts as 2 flops.
pub fn cpu_flops() -> CpuFlops {
    let kernel = FlopKernel::detect();
    let threads = crate::machine::cpu_threads();
    fn rate<T: FlopReal>(kernel: FlopKernel, threads: usize, iters: u64) -> f64 {
        let (flops, d) = flops_with::<T>(kernel, threads, iters);
        flops / d.as_secs_f64() / 1e9
    }
    let mut disturbed = Vec::new();
    let mut pair = |what: &str, measure: &dyn Fn(usize) -> f64| {
        let once = || fault::disturb_all_cores(measure(1), measure(threads));
        let (one, all, busy) = pair_checked(once, threads);
        if busy {
            disturbed.push((what.to_string(), one, all));
        }
        (one, all)
    };
    let iters32 = flop_iterations::<f32>(kernel);
    let (f32_one, f32_all) = pair("f32 FLOP/s", &|t| rate::<f32>(kernel, t, iters32));
    let iters64 = flop_iterations::<f64>(kernel);
    let (f64_one, f64_all) = pair("f64 FLOP/s", &|t| rate::<f64>(kernel, t, iters64));
    CpuFlops {
        gflops_f32_one_core: f32_one,
        gflops_f32_all_cores: f32_all,
        gflops_f64_one_core: f64_one,
        gflops_f64_all_cores: f64_all,
        threads,
        kernel: kernel.describe(),
        disturbed,
        ops: kernel.fused().then(|| core_ops(kernel, f64_one)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every chain of `kernel`, run `iters` steps, against the scalar twin: bit for bit.
    fn chains_match_the_scalar_twin<T: FlopReal>(kernel: FlopKernel, m: f64, c: f64, iters: u64) {
        let (m, c) = (T::of(m), T::of(c));
        let seeds = flop_seeds::<T>(kernel);
        assert_eq!(seeds.len(), kernel.chains::<T>());
        let mut state = seeds.clone();
        T::run::<ALL_FMA>(kernel, &mut state, m, c, iters);
        for (k, (&seed, &got)) in seeds.iter().zip(&state).enumerate() {
            let mut want = seed;
            for _ in 0..iters {
                want = T::step(want, m, c, kernel.fused());
            }
            assert_eq!(
                got,
                want,
                "{kernel:?} {}: chain {k} of {} after {iters} steps",
                std::any::type_name::<T>(),
                seeds.len()
            );
        }
    }

    #[test]
    fn every_flop_kernel_computes_the_chains_it_counts() {
        for kernel in FlopKernel::available() {
            for iters in [0, 1, 2, 7, 100, 1001] {
                for (m, c) in [(FLOP_M, FLOP_C), (0.75, 0.25)] {
                    chains_match_the_scalar_twin::<f32>(kernel, m, c, iters);
                    chains_match_the_scalar_twin::<f64>(kernel, m, c, iters);
                }
            }
        }
        // The check has power: one step fewer or more shows in every chain.
        let kernel = FlopKernel::detect();
        let run = |iters| {
            let mut state = flop_seeds::<f32>(kernel);
            f32::run::<ALL_FMA>(kernel, &mut state, FLOP_M as f32, FLOP_C as f32, iters);
            state
        };
        let (a, b) = (run(100), run(99));
        assert!(a.iter().zip(&b).all(|(a, b)| a != b), "{a:?} {b:?}");
    }

    #[test]
    fn the_operation_probes_run_the_chains_they_count() {
        for kernel in FlopKernel::available() {
            for mix in [false, true] {
                let lanes = kernel.chains::<f64>();
                let seeds: Vec<f64> = (0..lanes).map(|k| 1.0 + k as f64 / 7.0).collect();
                let mut state = seeds.clone();
                let (m, c, iters) = (0.75, 0.25, 5);
                if mix {
                    f64::run::<HALF_EACH>(kernel, &mut state, m, c, iters);
                } else {
                    f64::run::<ALL_ADD>(kernel, &mut state, m, c, iters);
                }
                for (k, (&seed, &got)) in seeds.iter().zip(&state).enumerate() {
                    let fma = mix && k < lanes / 2;
                    let want = (0..iters).fold(seed, |a, _| match fma {
                        true => f64::step(a, m, c, kernel.fused()),
                        false => a + c,
                    });
                    assert_eq!(got, want, "{kernel:?} mix {mix}: chain {k} of {lanes}");
                }
            }
        }
        // The rates are positive and finite; the FMA rate is the FLOP/s figure's (2 flops an
        // FMA, 64-bit lanes).
        let kernel = FlopKernel::detect();
        let ops = core_ops(kernel, 10.0);
        for rate in [ops.add_per_ns, ops.fma_add_per_ns, ops.add_latency_ns] {
            assert!(rate.is_finite() && rate > 0.0, "{ops:?}");
        }
        assert_eq!(ops.fma_per_ns, 10.0 / 2.0 / (kernel.bits() / 64) as f64);
        assert_eq!(ops.bits as usize, kernel.bits());
    }

    #[test]
    fn the_flop_kernel_is_as_wide_as_the_cpu_and_counts_two_flops_an_fma() {
        let kernel = FlopKernel::detect();
        let bits = match simd_level() {
            Simd::Avx512 => 512,
            Simd::Avx2 if has_fma() => 256,
            _ => 128,
        };
        assert_eq!(kernel.bits(), bits);
        assert_eq!(kernel.chains::<f32>(), FLOP_REGS * bits / 32);
        assert_eq!(kernel.chains::<f64>(), FLOP_REGS * bits / 64);
        // 3 steps of every chain on 2 threads: 2 flops a step.
        let (flops, _) = flops_with::<f64>(kernel, 2, 3);
        assert_eq!(flops, (2 * kernel.chains::<f64>() * 3 * 2) as f64);
        assert!(kernel.describe().contains(&format!("{bits} bits")));
    }
}
