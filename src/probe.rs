//! The machine's own ceilings, each measured with a kernel of its own that no solver shares, so
//! no row can score near 100 % by construction:
//! - CPU: a plain streaming read-reduce (f32 sums of four arrays side by side, as wide as the CPU's
//!   SIMD) over a buffer several times the last-level cache, on one core and on every core (each
//!   thread touching and reading its own part); best of five passes.
//! - each GPU adapter: a read-only streaming kernel over two large arrays, timed by timestamps
//!   over at least 50 ms of GPU work (see [`crate::gpu::stream`]), and the round trip of one
//!   empty submission.
//!
//! And ([`measure_with_flops`], [`measure_flops`]: every probed run, `gdbench probe`), the
//! arithmetic peaks, an FMA counted as 2 flops (a multiply and an add), that a row's compute
//! share is held against:
//! - CPU: f32 and f64 FLOP/s on one core and on every core: [`FLOP_REGS`] registers of
//!   independent FMA chains `a = fma(a, m, c)` as wide as the CPU's SIMD (AVX-512 or AVX2 with
//!   FMA; elsewhere a portable mul+add, 2 flops as well), kept in registers; best of
//!   [`FLOP_PASSES`] passes of about [`FLOP_PASS_TARGET`] each, 0.15–0.3 s in all.
//! - each GPU adapter: f32 FLOP/s of independent FMA chains on vec4<f32> in registers
//!   ([`crate::gpu::stream::fma_peak`]), timed like the streaming kernel, its results checked
//!   against a CPU twin.
//! - each GPU adapter: the cost of one more dispatch and of one workgroup barrier
//!   ([`crate::gpu::latency`]), the latency wall's prices.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cpu::{Simd, simd_level};
use crate::error::Result;
use crate::fault;
use crate::gpu::GpuContext;
use crate::gpu::stream;

/// The CPU buffer is at least this large, and at least [`CACHE_MULTIPLE`] × the last-level cache.
const CPU_MIN_BYTES: u64 = 1 << 30;
/// How many last-level caches the CPU buffer spans at least.
const CACHE_MULTIPLE: u64 = 4;
/// The CPU buffer never takes more than this (nor more than a quarter of available memory).
const CPU_MAX_BYTES: u64 = 2 << 30;
/// Passes per measurement; the fastest is kept.
const PASSES: usize = 5;

/// Measured ceilings of the host. The FLOP/s fields are `None` (and absent from JSON) where they
/// were not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuCeilings {
    /// Read bandwidth of one core, GB/s.
    pub read_gb_s_one_core: f64,
    /// Read bandwidth of all cores together, GB/s.
    pub read_gb_s_all_cores: f64,
    /// Threads the all-core figures used.
    pub threads: usize,
    /// Bytes the probe streamed through per pass.
    pub buffer_bytes: u64,
    /// f32 arithmetic peak of one core, GFLOP/s (an FMA counted as 2 flops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops_f32_one_core: Option<f64>,
    /// f32 arithmetic peak of all cores together, GFLOP/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops_f32_all_cores: Option<f64>,
    /// f64 arithmetic peak of one core, GFLOP/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops_f64_one_core: Option<f64>,
    /// f64 arithmetic peak of all cores together, GFLOP/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops_f64_all_cores: Option<f64>,
    /// The kernel the FLOP/s figures came from, e.g. `avx512 FMA, 12 chains × 512 bits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flops_kernel: Option<String>,
    /// True when an all-core figure measured below its one-core figure twice (more threads never
    /// read or compute slower: something else was running); rows are then held against the
    /// larger figure.
    pub disturbed: bool,
    /// What was disturbed, with both measurements; null when nothing was.
    pub note: Option<String>,
}

/// How far below its one-core figure an all-core figure must measure to count as disturbed: the
/// best of five passes varies by a few per cent from run to run, and on a quiet virtual machine
/// whose cores share one memory path all cores read about what one does.
pub const DISTURBED_BELOW: f64 = 0.9;

/// True when the all-core figure `all` is below `DISTURBED_BELOW` of the one-core figure `one`
/// (on one thread they are the same measurement twice: never).
pub fn below_one_core(one: f64, all: f64, threads: usize) -> bool {
    threads > 1 && all < DISTURBED_BELOW * one
}

/// A (one core, all cores) pair from `measure`, measured a second time when all cores came out
/// below one; true with it when they still do (the machine is busy, not the probe noisy).
pub fn pair_checked(mut measure: impl FnMut() -> (f64, f64), threads: usize) -> (f64, f64, bool) {
    let (one, all) = measure();
    if !below_one_core(one, all, threads) {
        return (one, all, false);
    }
    let (one, all) = measure();
    (one, all, below_one_core(one, all, threads))
}

impl CpuCeilings {
    /// Records that `what` (`read`, `f32 FLOP/s`, ...) measured all cores below one core twice.
    fn mark_disturbed(&mut self, what: &str, one: f64, all: f64, unit: &str) {
        self.disturbed = true;
        let line = format!(
            "{what}: all {} threads measured {} {unit} against {} on one core, twice: the machine is busy (rows are held against the larger)",
            self.threads,
            three_digits(all),
            three_digits(one)
        );
        self.note = Some(match self.note.take() {
            Some(before) => format!("{before}; {line}"),
            None => line,
        });
    }
}

/// Measured ceilings of one GPU adapter. The FLOP/s fields are `None` (and absent from JSON)
/// where they were not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GpuCeilings {
    /// The adapter, as GPU rows name it.
    pub device: String,
    /// Read bandwidth of the streaming kernel, GB/s.
    pub read_gb_s: f64,
    /// Bytes one dispatch of the kernel reads.
    pub buffer_bytes: u64,
    /// `timestamps` or `wall clock`.
    pub timed_by: String,
    /// Seconds of GPU work the measurement spanned.
    pub measured_s: f64,
    /// Median round trip of one empty submission and its wait, µs.
    pub round_trip_us: f64,
    /// f32 arithmetic peak of the FMA kernel, GFLOP/s (an FMA counted as 2 flops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops_f32: Option<f64>,
    /// How the FLOP/s figure was timed: `timestamps` or `wall clock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops_f32_timed_by: Option<String>,
    /// The cost of one dependent dispatch and of one workgroup barrier (the latency wall); absent
    /// when not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<crate::gpu::latency::Latency>,
}

/// Every ceiling measured for a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ceilings {
    /// The host's.
    pub cpu: CpuCeilings,
    /// Each opened adapter's.
    pub gpu: Vec<GpuCeilings>,
    /// Adapters whose probe failed: `{device, error}` (their rows get no share of a ceiling).
    pub gpu_failures: Vec<ProbeFailure>,
}

/// One line for the report's header (`{}`), or `gdbench probe`'s full account with buffer sizes
/// and timing method, a line per device (`{:#}`).
impl std::fmt::Display for Ceilings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.cpu;
        if f.alternate() {
            writeln!(
                f,
                "CPU read bandwidth: {:.1} GB/s on one core, {:.1} GB/s on {} threads ({}; streaming read over {} MiB)",
                c.read_gb_s_one_core,
                c.read_gb_s_all_cores,
                c.threads,
                crate::machine::cpu_model(),
                c.buffer_bytes >> 20
            )?;
            if let (Some(f32_one), Some(f32_all), Some(f64_one), Some(f64_all)) = (
                c.gflops_f32_one_core,
                c.gflops_f32_all_cores,
                c.gflops_f64_one_core,
                c.gflops_f64_all_cores,
            ) {
                writeln!(
                    f,
                    "CPU arithmetic peak: f32 {} GFLOP/s on one core, {} GFLOP/s on {} threads; f64 {} GFLOP/s on one core, {} GFLOP/s on {} threads ({}; an FMA counts as 2 flops; best of {FLOP_PASSES} passes)",
                    three_digits(f32_one),
                    three_digits(f32_all),
                    c.threads,
                    three_digits(f64_one),
                    three_digits(f64_all),
                    c.threads,
                    c.flops_kernel.as_deref().unwrap_or("FMA chains"),
                )?;
            }
            if let Some(note) = &c.note {
                writeln!(f, "CPU probe disturbed: {note}")?;
            }
            for g in &self.gpu {
                writeln!(
                    f,
                    "{}: read bandwidth {:.1} GB/s (streaming shader over {} MiB, timed by {}), submission round trip {:.1} µs",
                    g.device,
                    g.read_gb_s,
                    g.buffer_bytes >> 20,
                    g.timed_by,
                    g.round_trip_us
                )?;
                if let Some(gflops) = g.gflops_f32 {
                    writeln!(
                        f,
                        "{}: f32 arithmetic peak {} GFLOP/s ({} independent FMA chains on vec4<f32> per invocation, an FMA counts as 2 flops; timed by {})",
                        g.device,
                        three_digits(gflops),
                        crate::gpu::stream::FMA_CHAINS,
                        g.gflops_f32_timed_by.as_deref().unwrap_or("?"),
                    )?;
                }
                if let Some(l) = &g.latency {
                    writeln!(
                        f,
                        "{}: one more dispatch in a dependent chain {:.2} µs, one workgroup barrier {:.0} ns ({} invocations; wall clock, the fastest of 5 each)",
                        g.device, l.dispatch_us, l.barrier_ns, l.barrier_wg,
                    )?;
                }
            }
            for failure in &self.gpu_failures {
                writeln!(f, "{}: the probe failed: {}", failure.device, failure.error)?;
            }
            return Ok(());
        }
        write!(
            f,
            "CPU reads {:.1} / {:.1} GB/s",
            c.read_gb_s_one_core, c.read_gb_s_all_cores
        )?;
        if let (Some(one), Some(all)) = (c.gflops_f32_one_core, c.gflops_f32_all_cores) {
            write!(
                f,
                ", FMA {} / {} f32 GFLOP/s",
                three_digits(one),
                three_digits(all)
            )?;
        }
        write!(f, " (1 / {} threads)", c.threads)?;
        if let Some(note) = &c.note {
            write!(f, " (disturbed: {note})")?;
        }
        for g in &self.gpu {
            write!(
                f,
                "; {} reads {:.1} GB/s",
                crate::report::short_device_name(&g.device),
                g.read_gb_s,
            )?;
            if let Some(gflops) = g.gflops_f32 {
                write!(f, ", FMA {} f32 GFLOP/s", three_digits(gflops))?;
            }
            write!(f, ", {:.0} µs a submission", g.round_trip_us)?;
            if let Some(l) = &g.latency {
                write!(
                    f,
                    ", {:.1} µs a dispatch, {:.1} µs a barrier",
                    l.dispatch_us,
                    l.barrier_ns * 1e-3
                )?;
            }
        }
        for failure in &self.gpu_failures {
            write!(
                f,
                "; {}: the probe failed ({})",
                crate::report::short_device_name(&failure.device),
                failure.error
            )?;
        }
        Ok(())
    }
}

/// An adapter the probe could not measure, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeFailure {
    /// The adapter, as GPU rows name it.
    pub device: String,
    /// What went wrong.
    pub error: String,
}

/// Measures the host, then every adapter in `adapters`; an adapter whose probe fails is listed
/// with the reason.
pub fn measure(adapters: &[Arc<GpuContext>]) -> Ceilings {
    // The host first: a software adapter's worker threads would compete with it afterwards.
    let cpu = cpu_ceilings();
    let mut gpu = Vec::new();
    let mut gpu_failures = Vec::new();
    for ctx in adapters {
        // Guarded like a GPU row: a device lost while probing costs its ceiling, not the run.
        match crate::gpu::guard::run_row(ctx, || gpu_ceilings(ctx)) {
            Ok(c) => gpu.push(c),
            Err(e) => gpu_failures.push(ProbeFailure {
                device: ctx.label(),
                error: e.to_string(),
            }),
        }
    }
    Ceilings {
        cpu,
        gpu,
        gpu_failures,
    }
}

/// Arrays each probe thread reads side by side: several streams keep more loads in flight than one
/// (on the machines tried, four streams read 10–25 % faster than one, as x and d together do).
const STREAMS: usize = 4;

/// Σ of [`STREAMS`] equal slices read side by side, `L` accumulators each (so it vectorises), for
/// whichever instruction set it is inlined into.
#[inline(always)]
fn sum<const L: usize>(data: &[&[f32]; STREAMS]) -> f32 {
    let len = data.iter().map(|d| d.len()).min().unwrap_or(0);
    let [a, b, c, d] = data.map(|s| s[..len].as_chunks::<L>());
    let mut acc = [[0f32; L]; STREAMS];
    for (((a, b), c), d) in a.0.iter().zip(b.0).zip(c.0).zip(d.0) {
        for k in 0..L {
            acc[0][k] += a[k];
        }
        for k in 0..L {
            acc[1][k] += b[k];
        }
        for k in 0..L {
            acc[2][k] += c[k];
        }
        for k in 0..L {
            acc[3][k] += d[k];
        }
    }
    let tails = [a.1, b.1, c.1, d.1]
        .iter()
        .flat_map(|t| t.iter())
        .sum::<f32>();
    acc.iter().flatten().sum::<f32>() + tails
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_avx512(data: &[&[f32]; STREAMS]) -> f32 {
    sum::<32>(data)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_avx2(data: &[&[f32]; STREAMS]) -> f32 {
    sum::<16>(data)
}

/// The read-reduce at the widest instruction set gdbench's kernels use on this CPU.
fn read_reduce(data: &[&[f32]; STREAMS]) -> f32 {
    match simd_level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx512` is only produced after detecting AVX-512F on this CPU.
        Simd::Avx512 => unsafe { sum_avx512(data) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx2` is only produced after detecting AVX2 on this CPU.
        Simd::Avx2 => unsafe { sum_avx2(data) },
        _ => sum::<8>(data),
    }
}

/// The CPU probe's buffer size: several last-level caches, within memory.
fn cpu_buffer_bytes() -> u64 {
    let wanted = (CACHE_MULTIPLE * crate::machine::last_level_cache().total).max(CPU_MIN_BYTES);
    let available = crate::problem::available_bytes().unwrap_or(u64::MAX) / 4;
    wanted.min(CPU_MAX_BYTES).min(available.max(64 << 20))
}

/// Streams `floats` f32 with `threads` threads, each owning (touching first, then reading) its own
/// [`STREAMS`] arrays of `floats / (threads·STREAMS)`; returns the bytes read per pass and the
/// fastest of [`PASSES`] passes. A pass lasts from the first thread's
/// start to the last thread's end, each read on the threads' own clocks: the coordinating thread
/// may be scheduled late (there may be more threads than cores), so its clock would not do.
fn stream_with(threads: usize, floats: usize) -> (u64, Duration) {
    let per_stream = floats / (threads * STREAMS);
    let barrier = Barrier::new(threads);
    let spans: Vec<Vec<(Instant, Instant)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    // Separate arrays, each read from a different odd offset, so no two streams
                    // are a power of two apart (they would contend for the same cache sets).
                    let owned: [Vec<f32>; STREAMS] = std::array::from_fn(|s| {
                        let n = per_stream + 1031 * (s + STREAMS * t);
                        (0..n).map(|i| 1.0 + (i % 1024) as f32).collect()
                    });
                    let data: [&[f32]; STREAMS] =
                        std::array::from_fn(|s| &owned[s][1031 * (s + STREAMS * t)..]);
                    (0..PASSES)
                        .map(|_| {
                            barrier.wait();
                            let start = Instant::now();
                            black_box(read_reduce(black_box(&data)));
                            (start, Instant::now())
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a probe thread panicked"))
            .collect()
    });
    let fastest = fastest_pass(&spans, PASSES);
    ((threads * STREAMS * per_stream * 4) as u64, fastest)
}

/// Read bandwidth on one core and on all, over a buffer several times the last-level cache; the
/// pair measured again when all cores read below one ([`below_one_core`]), and marked disturbed
/// when they still do.
pub fn cpu_ceilings() -> CpuCeilings {
    let bytes = cpu_buffer_bytes();
    let threads = crate::machine::cpu_threads();
    let mut c = CpuCeilings {
        threads,
        buffer_bytes: bytes,
        ..CpuCeilings::default()
    };
    measure_cpu_bandwidth(&mut c);
    c
}

/// Measures the host's read bandwidth (one core, then all) into `c`, a second time when all cores
/// read below one, and marks it disturbed when they still do. A probe's figure is a lower bound
/// of what the machine can read, so each figure keeps the larger of this measurement and the one
/// `c` held (zero the first time).
pub fn measure_cpu_bandwidth(c: &mut CpuCeilings) {
    let floats = (c.buffer_bytes / 4) as usize;
    let rate = |(bytes, d): (u64, Duration)| bytes as f64 / d.as_secs_f64() / 1e9;
    let pair = || {
        let one = rate(stream_with(1, floats));
        let all = rate(stream_with(c.threads, floats));
        fault::disturb_all_cores(one, all)
    };
    let (one, all, disturbed) = pair_checked(pair, c.threads);
    if disturbed {
        c.mark_disturbed("read bandwidth", one, all, "GB/s");
    }
    c.read_gb_s_one_core = c.read_gb_s_one_core.max(one);
    c.read_gb_s_all_cores = c.read_gb_s_all_cores.max(all);
}

/// The adapter's read bandwidth (its own streaming kernel) and submission round trip.
pub fn gpu_ceilings(ctx: &Arc<GpuContext>) -> Result<GpuCeilings> {
    let read = stream::read_bandwidth(ctx)?;
    let round_trip_us = stream::round_trip_us(ctx)?;
    Ok(GpuCeilings {
        device: ctx.label(),
        read_gb_s: read.read_gb_s,
        buffer_bytes: read.bytes,
        timed_by: read.timed_by.to_string(),
        measured_s: read.measured_s,
        round_trip_us,
        gflops_f32: None,
        gflops_f32_timed_by: None,
        latency: Some(crate::gpu::latency::latency(
            ctx,
            crate::gpu::default_single_workgroup(ctx),
            round_trip_us,
        )?),
    })
}

/// [`measure`], then [`measure_flops`]: every ceiling, the arithmetic peaks included (what
/// `gdbench probe` prints).
pub fn measure_with_flops(adapters: &[Arc<GpuContext>]) -> Ceilings {
    let mut ceilings = measure(adapters);
    measure_flops(&mut ceilings, adapters);
    ceilings
}

/// Adds the arithmetic peaks to `ceilings` (from [`measure`]): the host's f32 and f64 GFLOP/s
/// on one core and on all ([`cpu_flops`]), then each adapter's f32 GFLOP/s
/// ([`stream::fma_peak`]). An adapter whose bandwidth probe failed is left alone (its failure is
/// listed already); one whose FLOP/s probe fails keeps `gflops_f32: None` and gets a
/// `FLOP/s probe: …` entry in `gpu_failures`. 0.15–0.3 s on the CPU; on an adapter, at least
/// 3 × 50 ms of GPU work and a calibration.
pub fn measure_flops(ceilings: &mut Ceilings, adapters: &[Arc<GpuContext>]) {
    let flops = cpu_flops();
    let c = &mut ceilings.cpu;
    c.gflops_f32_one_core = Some(flops.gflops_f32_one_core);
    c.gflops_f32_all_cores = Some(flops.gflops_f32_all_cores);
    c.gflops_f64_one_core = Some(flops.gflops_f64_one_core);
    c.gflops_f64_all_cores = Some(flops.gflops_f64_all_cores);
    c.flops_kernel = Some(flops.kernel);
    for (what, one, all) in &flops.disturbed {
        c.mark_disturbed(what, *one, *all, "GFLOP/s");
    }
    for ctx in adapters {
        let device = ctx.label();
        let Some(g) = ceilings.gpu.iter_mut().find(|g| g.device == device) else {
            continue;
        };
        match crate::gpu::guard::run_row(ctx, || stream::fma_peak(ctx)) {
            Ok(peak) => {
                g.gflops_f32 = Some(peak.gflops);
                g.gflops_f32_timed_by = Some(peak.timed_by.to_string());
            }
            Err(e) => ceilings.gpu_failures.push(ProbeFailure {
                device,
                error: format!("FLOP/s probe: {e}"),
            }),
        }
    }
}

/// `x` to three significant digits (a best-of-five timing on a shared machine deserves no more).
pub fn three_digits(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        return format!("{x}");
    }
    // Digits before the point once rounded to three significant ones (99.96 rounds to 100).
    let rounded = format!("{x:.2e}").parse::<f64>().unwrap_or(x);
    let digits = rounded.log10().floor() as i32 + 1;
    let x = rounded;
    if digits >= 3 {
        let unit = 10f64.powi(digits - 3);
        format!("{:.0}", (x / unit).round() * unit)
    } else {
        format!("{:.*}", (3 - digits) as usize, x)
    }
}

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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// `FLOP_REGS` registers of chains `a = fma(a, m, c)` run `iters` times, loaded from `state` and
/// stored back: one `#[target_feature]` function per instruction set and type.
macro_rules! fma_registers {
    ($name:ident, $feature:literal, $t:ty, $lanes:literal, $zero:ident, $load:ident, $store:ident, $set1:ident, $fmadd:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        // The AVX-512 intrinsics are stable since Rust 1.89, like the `avx512f` target feature
        // the crate's other AVX-512 kernels already need: the crate's real MSRV is 1.89.
        #[allow(clippy::incompatible_msrv)]
        fn $name(state: &mut [$t; FLOP_REGS * $lanes], m: $t, c: $t, iters: u64) {
            use std::arch::x86_64::*;
            let (m, c) = ($set1(m), $set1(c));
            let mut acc = [$zero(); FLOP_REGS];
            for (r, a) in acc.iter_mut().enumerate() {
                // SAFETY: an unaligned load of `$lanes` values at `r·$lanes`, within `state`.
                *a = unsafe { $load(state.as_ptr().add(r * $lanes)) };
            }
            for _ in 0..iters {
                for a in &mut acc {
                    *a = $fmadd(*a, m, c);
                }
            }
            for (r, a) in acc.iter().enumerate() {
                // SAFETY: an unaligned store of `$lanes` values at `r·$lanes`, within `state`.
                unsafe { $store(state.as_mut_ptr().add(r * $lanes), *a) };
            }
        }
    };
}

fma_registers!(
    fma_f32_avx512,
    "avx512f",
    f32,
    16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps
);
fma_registers!(
    fma_f64_avx512,
    "avx512f",
    f64,
    8,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd
);
fma_registers!(
    fma_f32_avx2,
    "avx2,fma",
    f32,
    8,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps
);
fma_registers!(
    fma_f64_avx2,
    "avx2,fma",
    f64,
    4,
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd
);

/// The portable kernel: `N` chains `a = a·m + c`, a multiply and an add each (Rust never fuses
/// them), vectorised as the compiler sees fit.
fn mul_add_chains<T: FlopReal, const N: usize>(state: &mut [T; N], m: T, c: T, iters: u64) {
    let mut acc = *state;
    for _ in 0..iters {
        for a in &mut acc {
            *a = *a * m + c;
        }
    }
    *state = acc;
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
    /// `iters` steps of every chain in `state`, which holds `kernel.chains::<Self>()` values.
    fn run(kernel: FlopKernel, state: &mut [Self], m: Self, c: Self, iters: u64);
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

            fn run(kernel: FlopKernel, state: &mut [Self], m: Self, c: Self, iters: u64) {
                let wrong = "a state of kernel.chains::<T>() values";
                match kernel {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `FlopKernel::Avx512` is only chosen after detecting AVX-512F.
                    FlopKernel::Avx512 => unsafe {
                        $avx512(state.try_into().expect(wrong), m, c, iters)
                    },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `FlopKernel::Avx2Fma` is only chosen after detecting AVX2 and FMA.
                    FlopKernel::Avx2Fma => unsafe {
                        $avx2(state.try_into().expect(wrong), m, c, iters)
                    },
                    _ => mul_add_chains::<Self, { FLOP_REGS * 16 / std::mem::size_of::<$t>() }>(
                        state.try_into().expect(wrong),
                        m,
                        c,
                        iters,
                    ),
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
                            T::run(
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

/// Steps per pass that make about [`FLOP_PASS_TARGET`] on one core, from two short runs (the
/// first wakes the core and its vector units).
fn flop_iterations<T: FlopReal>(kernel: FlopKernel) -> u64 {
    const PROBE: u64 = 4096;
    let mut state = flop_seeds::<T>(kernel);
    let mut once = || {
        let start = Instant::now();
        T::run(
            kernel,
            black_box(&mut state),
            black_box(T::of(FLOP_M)),
            black_box(T::of(FLOP_C)),
            PROBE,
        );
        start.elapsed().as_secs_f64()
    };
    once();
    let seconds = once().max(1e-7);
    let iters = FLOP_PASS_TARGET.as_secs_f64() / seconds * PROBE as f64;
    (iters as u64).clamp(PROBE, 1 << 34)
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
    }
}

/// The shortest of `passes` passes run by all threads together: each pass from the first
/// thread's start to the last thread's end (`spans[thread][pass]`).
fn fastest_pass(spans: &[Vec<(Instant, Instant)>], passes: usize) -> Duration {
    (0..passes)
        .map(|pass| {
            let start = spans.iter().map(|s| s[pass].0).min().expect("threads");
            let end = spans.iter().map(|s| s[pass].1).max().expect("threads");
            end - start
        })
        .min()
        .expect("at least one pass")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_reduce_sums_every_value() {
        for n in [0, 1, 63, 64, 65, 1000] {
            let owned: [Vec<f32>; STREAMS] =
                std::array::from_fn(|s| (0..n + s).map(|i| ((i + s) % 7) as f32).collect());
            // Each stream is read from its own offset, over the same length.
            let data: [&[f32]; STREAMS] = std::array::from_fn(|s| &owned[s][s..]);
            let expected: f32 = data.iter().map(|d| d.iter().sum::<f32>()).sum();
            assert_eq!(read_reduce(&data), expected, "n = {n}");
        }
    }

    /// Every chain of `kernel`, run `iters` steps, against the scalar twin: bit for bit.
    fn chains_match_the_scalar_twin<T: FlopReal>(kernel: FlopKernel, m: f64, c: f64, iters: u64) {
        let (m, c) = (T::of(m), T::of(c));
        let seeds = flop_seeds::<T>(kernel);
        assert_eq!(seeds.len(), kernel.chains::<T>());
        let mut state = seeds.clone();
        T::run(kernel, &mut state, m, c, iters);
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
            f32::run(kernel, &mut state, FLOP_M as f32, FLOP_C as f32, iters);
            state
        };
        let (a, b) = (run(100), run(99));
        assert!(a.iter().zip(&b).all(|(a, b)| a != b), "{a:?} {b:?}");
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

    #[test]
    fn all_cores_below_one_core_are_measured_again_and_flagged_only_when_they_stay_below() {
        assert!(!below_one_core(30.0, 31.0, 2));
        // A quiet memory-bound machine: all cores a hair under one core is noise.
        assert!(!below_one_core(31.4, 29.0, 2));
        assert!(below_one_core(116.0, 86.7, 2));
        // One thread: the same measurement twice, never disturbed.
        assert!(!below_one_core(30.0, 10.0, 1));
        let readings = |pairs: Vec<(f64, f64)>| {
            let mut pairs = pairs.into_iter();
            let mut calls = 0;
            let result = pair_checked(
                || {
                    calls += 1;
                    pairs.next().unwrap()
                },
                2,
            );
            (result, calls)
        };
        assert_eq!(readings(vec![(30.0, 40.0)]), ((30.0, 40.0, false), 1));
        // Below once, then not: the second pair stands, unflagged.
        assert_eq!(
            readings(vec![(116.0, 86.7), (115.0, 230.0)]),
            ((115.0, 230.0, false), 2)
        );
        assert_eq!(
            readings(vec![(116.0, 86.7), (117.0, 80.0)]),
            ((117.0, 80.0, true), 2)
        );
    }

    #[test]
    fn figures_have_three_significant_digits() {
        for (x, s) in [
            (118.37, "118"),
            (67.64, "67.6"),
            (5.678, "5.68"),
            (66_943.0, "66900"),
            (1234.5, "1230"),
            (0.01234, "0.0123"),
            (99.96, "100"),
            (9.996, "10.0"),
        ] {
            assert_eq!(three_digits(x), s, "{x}");
        }
    }

    /// Ceilings as a run measures them (no FLOP/s), with one adapter.
    fn bandwidth_only() -> Ceilings {
        Ceilings {
            cpu: CpuCeilings {
                read_gb_s_one_core: 20.0,
                read_gb_s_all_cores: 30.0,
                threads: 2,
                buffer_bytes: 1 << 30,
                ..CpuCeilings::default()
            },
            gpu: vec![GpuCeilings {
                device: "Some GPU [vulkan]".into(),
                read_gb_s: 1000.0,
                buffer_bytes: 1 << 29,
                timed_by: "timestamps".into(),
                measured_s: 0.05,
                round_trip_us: 20.0,
                ..GpuCeilings::default()
            }],
            gpu_failures: Vec::new(),
        }
    }

    #[test]
    fn unmeasured_flops_are_left_out_and_measured_ones_shown() {
        let mut c = bandwidth_only();
        let json = serde_json::to_value(&c).unwrap();
        for key in [
            "gflops_f32_one_core",
            "gflops_f32_all_cores",
            "gflops_f64_one_core",
            "gflops_f64_all_cores",
            "flops_kernel",
        ] {
            assert!(json["cpu"].get(key).is_none(), "{key}: {json}");
        }
        assert!(json["gpu"][0].get("gflops_f32").is_none(), "{json}");
        assert!(!format!("{c}").contains("FLOP"), "{c}");
        assert!(!format!("{c:#}").contains("FLOP"), "{c:#}");

        c.cpu.gflops_f32_one_core = Some(118.37);
        c.cpu.gflops_f32_all_cores = Some(230.1);
        c.cpu.gflops_f64_one_core = Some(59.2);
        c.cpu.gflops_f64_all_cores = Some(115.0);
        c.cpu.flops_kernel = Some(FlopKernel::Avx512.describe());
        c.gpu[0].gflops_f32 = Some(66_943.0);
        c.gpu[0].gflops_f32_timed_by = Some("timestamps".into());
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["cpu"]["gflops_f32_one_core"], 118.37);
        assert_eq!(json["cpu"]["gflops_f64_all_cores"], 115.0);
        assert_eq!(json["gpu"][0]["gflops_f32"], 66_943.0);
        let full = format!("{c:#}");
        assert!(
            full.contains(
                "CPU arithmetic peak: f32 118 GFLOP/s on one core, 230 GFLOP/s on 2 threads; \
                 f64 59.2 GFLOP/s on one core, 115 GFLOP/s on 2 threads \
                 (avx512 FMA, 12 chains × 512 bits; an FMA counts as 2 flops"
            ),
            "{full}"
        );
        assert!(
            full.contains("Some GPU [vulkan]: f32 arithmetic peak 66900 GFLOP/s"),
            "{full}"
        );
        let line = format!("{c}");
        assert!(
            line.contains("FMA 118 / 230 f32 GFLOP/s (1 / 2 threads)"),
            "{line}"
        );
        assert!(line.contains("FMA 66900 f32 GFLOP/s"), "{line}");
    }
}
