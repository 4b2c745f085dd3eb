//! The machine's own ceilings, measured briefly: CPU read bandwidth (one core, all cores), and per
//! GPU adapter its read bandwidth on this workload and a dispatch's round trip. Rows report their
//! share of these, as clpeak and vkpeak report peaks, but tied to what gdbench does.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::cpu::error_sums;
use crate::error::Result;
use crate::gpu::{GpuContext, GpuSettings};
use crate::problem::{Dataset, Problem};
use crate::solver::SolverId;

/// Bytes the CPU probe streams through: far beyond any cache.
const CPU_PROBE_BYTES: usize = 256 << 20;
/// Samples of the GPU bandwidth probe (x and d in f32: 128 MiB).
const GPU_PROBE_SAMPLES: usize = 1 << 24;

/// Measured ceilings of the host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuCeilings {
    /// Read bandwidth of one core, GB/s (best of several passes over 256 MiB).
    pub read_gb_s_one_core: f64,
    /// Read bandwidth of all cores together, GB/s.
    pub read_gb_s_all_cores: f64,
    /// Threads the all-core figure used.
    pub threads: usize,
}

/// Measured ceilings of one GPU adapter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuCeilings {
    /// The adapter, as GPU rows name it.
    pub device: String,
    /// Read bandwidth of gpu-fused on 2^24 samples (x and d in f32), GB/s.
    pub read_gb_s: f64,
    /// Median round trip of one tiny epoch with its read-back (submit, dispatch, wait, map), µs.
    pub dispatch_round_trip_us: f64,
}

/// Every ceiling measured for a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ceilings {
    /// The host's.
    pub cpu: CpuCeilings,
    /// Each opened adapter's.
    pub gpu: Vec<GpuCeilings>,
}

/// Measures the host, then every adapter in `adapters` (an adapter whose probe fails is left out).
pub fn measure(adapters: &[Arc<GpuContext>]) -> Ceilings {
    Ceilings {
        cpu: cpu_ceilings(),
        gpu: adapters
            .iter()
            .filter_map(|ctx| gpu_ceilings(ctx).ok())
            .collect(),
    }
}

fn best_of<F: FnMut()>(passes: usize, mut f: F) -> Duration {
    (0..passes)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .expect("at least one pass")
}

/// Streams 256 MiB (x and d in f32, through the fused kernel at w = 0, so at the widest SIMD the
/// CPU has) on one core and on all, best of five passes each: the fastest this machine reads.
pub fn cpu_ceilings() -> CpuCeilings {
    let half = CPU_PROBE_BYTES / 8;
    let x: Vec<f32> = (0..half).map(|i| i as f32).collect();
    let d: Vec<f32> = x.iter().map(|v| v * 0.5).collect();
    let bytes = CPU_PROBE_BYTES as f64;
    let one = best_of(5, || {
        black_box(error_sums(black_box(&x), black_box(&d), 0.0, 0.0));
    });
    let threads = crate::machine::cpu_threads();
    let block = half.div_ceil(threads * 4);
    let all = best_of(5, || {
        let sums = x
            .par_chunks(block)
            .zip(d.par_chunks(block))
            .map(|(x, d)| error_sums(x, d, 0.0, 0.0).0)
            .sum::<f32>();
        black_box(sums);
    });
    CpuCeilings {
        read_gb_s_one_core: bytes / one.as_secs_f64() / 1e9,
        read_gb_s_all_cores: bytes / all.as_secs_f64() / 1e9,
        threads,
    }
}

/// Times gpu-fused on 2^24 samples (bandwidth) and on 2 samples (round trip) on `ctx`.
pub fn gpu_ceilings(ctx: &Arc<GpuContext>) -> Result<GpuCeilings> {
    let settings = GpuSettings::default();
    let big = Problem::new(Dataset::synthetic(GPU_PROBE_SAMPLES, 0.1, 1)?, 1e-3, 4)?;
    let mut solver = SolverId::GpuFused.prepare_on(&big, Some(ctx), &settings)?;
    solver.solve()?;
    let took = best_of(3, || {
        let _ = black_box(solver.solve());
    });
    let read_gb_s = (GPU_PROBE_SAMPLES * 8 * 4) as f64 / took.as_secs_f64() / 1e9;
    drop(solver);
    let tiny = Problem::new(Dataset::synthetic(2, 0.1, 1)?, 1e-3, 1)?;
    let mut solver = SolverId::GpuBatched.prepare_on(&tiny, Some(ctx), &settings)?;
    solver.solve()?;
    let mut trips: Vec<f64> = (0..31)
        .map(|_| {
            let start = Instant::now();
            let _ = black_box(solver.solve());
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    trips.sort_by(f64::total_cmp);
    Ok(GpuCeilings {
        device: ctx.label(),
        read_gb_s,
        dispatch_round_trip_us: trips[trips.len() / 2],
    })
}
