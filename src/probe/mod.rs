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

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::gpu::GpuContext;
use crate::gpu::stream;

mod adapters;
mod cpu_bandwidth;
mod cpu_flops;
mod display;
pub mod drift;

pub use adapters::{GpuCeilings, gpu_ceilings};
pub use cpu_bandwidth::{CacheReads, cpu_ceilings, measure_cpu_bandwidth};
pub use cpu_flops::{
    CoreOps, CpuFlops, FLOP_PASS_TARGET, FLOP_PASSES, FLOP_REGS, FlopKernel, FlopReal, cpu_flops,
};

/// Measured ceilings of the host. The FLOP/s fields are `None` (and absent from JSON) where they
/// were not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops_f32_one_core: Option<f64>,
    /// f32 arithmetic peak of all cores together, GFLOP/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops_f32_all_cores: Option<f64>,
    /// f64 arithmetic peak of one core, GFLOP/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops_f64_one_core: Option<f64>,
    /// f64 arithmetic peak of all cores together, GFLOP/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops_f64_all_cores: Option<f64>,
    /// The kernel the FLOP/s figures came from, e.g. `avx512 FMA, 12 chains × 512 bits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flops_kernel: Option<String>,
    /// One core's rates of FMAs, adds and both, and an add's latency: the CPU rows' limit model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<CoreOps>,
    /// One core's read rate from its L2 cache: the CPU rows' limit model for data beyond L1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2: Option<CacheReads>,
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

/// Every ceiling measured for a run.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Ceilings {
    /// The host's.
    pub cpu: CpuCeilings,
    /// Each opened adapter's.
    pub gpu: Vec<GpuCeilings>,
    /// Adapters whose probe failed: `{device, error}` (their rows get no share of a ceiling).
    pub gpu_failures: Vec<ProbeFailure>,
}

/// What `gdbench probe --format json` writes (docs/json.md).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProbeDocument {
    /// The shape of this document ([`crate::provenance::SCHEMA_VERSION`]).
    #[schemars(extend("const" = crate::provenance::SCHEMA_VERSION))]
    pub schema_version: u32,
    /// Which gdbench, wgpu and command made it, when, on which OS.
    pub provenance: crate::provenance::Provenance,
    /// The host and the adapters probed.
    pub machine: crate::report::Machine,
    /// What was measured.
    pub ceilings: Ceilings,
}

impl ProbeDocument {
    /// The document of `ceilings`, measured on this host and `adapters`.
    pub fn new(ceilings: Ceilings, adapters: &[Arc<GpuContext>]) -> Self {
        Self {
            schema_version: crate::provenance::SCHEMA_VERSION,
            provenance: crate::provenance::Provenance::now(),
            machine: crate::report::Machine::of(adapters),
            ceilings,
        }
    }

    /// Pretty JSON, with a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a probe document serialises") + "\n"
    }
}

/// An adapter the probe could not measure, and why.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
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
    c.ops = flops.ops;
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
                g.gflops_f32_attempts = peak.attempts_gflops;
            }
            Err(e) => ceilings.gpu_failures.push(ProbeFailure {
                device,
                error: format!("FLOP/s probe: {e}"),
            }),
        }
    }
}

/// Measures each adapter's FMA probe again, after the GPU rows ([`drift`]): `ran_on` says which
/// adapters (by name) had a GPU row run. Adapters without a first figure, or without a row, are
/// left out; a probe that fails now leaves its adapter unchecked. Each checked adapter's name
/// and check.
pub fn recheck_clocks(
    ceilings: &Ceilings,
    adapters: &[Arc<GpuContext>],
    ran_on: impl Fn(&str) -> bool,
) -> Vec<(String, drift::ClockCheck)> {
    let mut checks = Vec::new();
    for ctx in adapters {
        let device = ctx.label();
        let Some(g) = ceilings.gpu.iter().find(|g| g.device == device) else {
            continue;
        };
        if g.gflops_f32_attempts.is_empty() || !ran_on(&device) {
            continue;
        }
        if let Ok(peak) = crate::gpu::guard::run_row(ctx, || stream::fma_peak(ctx)) {
            let after = crate::fault::drift_clocks(peak.attempts_gflops);
            let software = ctx.device_type() == crate::solver::DeviceType::Cpu;
            let check = drift::ClockCheck::of(&g.gflops_f32_attempts, &after, software);
            checks.push((device, check));
        }
    }
    checks
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
}
