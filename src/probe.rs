//! The machine's own ceilings, each measured with a kernel of its own that no solver shares, so
//! no row can score near 100 % by construction:
//! - CPU: a plain streaming read-reduce (f32 sums, as wide as the CPU's SIMD) over a buffer
//!   several times the last-level cache, on one core and on every core (each thread touching and
//!   reading its own slice); best of five passes.
//! - each GPU adapter: a read-only streaming kernel over two large arrays, timed by timestamps
//!   over at least 50 ms of GPU work (see [`crate::gpu::stream`]), and the round trip of one
//!   empty submission.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cpu::{Simd, simd_level};
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::stream;

/// The CPU buffer is at least this large, and at least [`CACHE_MULTIPLE`] × the last-level cache.
const CPU_MIN_BYTES: u64 = 256 << 20;
/// How many last-level caches the CPU buffer spans at least.
const CACHE_MULTIPLE: u64 = 4;
/// The CPU buffer never takes more than this (nor more than a quarter of available memory).
const CPU_MAX_BYTES: u64 = 2 << 30;
/// Passes per measurement; the fastest is kept.
const PASSES: usize = 5;

/// Measured ceilings of the host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuCeilings {
    /// Read bandwidth of one core, GB/s.
    pub read_gb_s_one_core: f64,
    /// Read bandwidth of all cores together, GB/s.
    pub read_gb_s_all_cores: f64,
    /// Threads the all-core figure used.
    pub threads: usize,
    /// Bytes the probe streamed through per pass.
    pub buffer_bytes: u64,
}

/// Measured ceilings of one GPU adapter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuCeilings {
    /// The adapter, as GPU rows name it.
    pub device: String,
    /// Read bandwidth of the streaming kernel, GB/s.
    pub read_gb_s: f64,
    /// Bytes one dispatch of the kernel reads.
    pub buffer_bytes: u64,
    /// `timestamps` or `wall clock`.
    pub timed_by: String,
    /// Median round trip of one empty submission and its wait, µs.
    pub round_trip_us: f64,
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

/// Σ of a slice with `L` independent accumulators (so it vectorises), for whichever instruction
/// set it is inlined into.
#[inline(always)]
fn sum<const L: usize>(data: &[f32]) -> f32 {
    let mut acc = [0f32; L];
    let (chunks, rest) = data.as_chunks::<L>();
    for c in chunks {
        for k in 0..L {
            acc[k] += c[k];
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_avx512(data: &[f32]) -> f32 {
    sum::<64>(data)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_avx2(data: &[f32]) -> f32 {
    sum::<32>(data)
}

/// The read-reduce at the widest instruction set gdbench's kernels use on this CPU.
fn read_reduce(data: &[f32]) -> f32 {
    match simd_level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx512` is only produced after detecting AVX-512F on this CPU.
        Simd::Avx512 => unsafe { sum_avx512(data) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx2` is only produced after detecting AVX2 on this CPU.
        Simd::Avx2 => unsafe { sum_avx2(data) },
        _ => sum::<16>(data),
    }
}

/// The CPU probe's buffer size: several last-level caches, within memory.
fn cpu_buffer_bytes() -> u64 {
    let wanted = (CACHE_MULTIPLE * crate::machine::last_level_cache_bytes()).max(CPU_MIN_BYTES);
    let available = crate::problem::available_bytes().unwrap_or(u64::MAX) / 4;
    wanted.min(CPU_MAX_BYTES).min(available.max(64 << 20))
}

/// Streams the buffer with `threads` threads, each owning (touching first, then reading) its own
/// contiguous slice; returns the fastest of [`PASSES`] passes.
fn stream_with(threads: usize, floats: usize) -> Duration {
    let slice = floats.div_ceil(threads);
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let barrier = &barrier;
            let len = slice.min(floats.saturating_sub(t * slice));
            scope.spawn(move || {
                let data: Vec<f32> = (0..len).map(|i| 1.0 + (i % 1024) as f32).collect();
                barrier.wait();
                for _ in 0..PASSES {
                    barrier.wait();
                    black_box(read_reduce(black_box(&data)));
                    barrier.wait();
                }
            });
        }
        barrier.wait();
        (0..PASSES)
            .map(|_| {
                barrier.wait();
                let start = Instant::now();
                barrier.wait();
                start.elapsed()
            })
            .min()
            .expect("at least one pass")
    })
}

/// Read bandwidth on one core and on all, over a buffer several times the last-level cache.
pub fn cpu_ceilings() -> CpuCeilings {
    let bytes = cpu_buffer_bytes();
    let floats = (bytes / 4) as usize;
    let threads = crate::machine::cpu_threads();
    let rate = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e9;
    CpuCeilings {
        read_gb_s_one_core: rate(stream_with(1, floats)),
        read_gb_s_all_cores: rate(stream_with(threads, floats)),
        threads,
        buffer_bytes: bytes,
    }
}

/// The adapter's read bandwidth (its own streaming kernel) and submission round trip.
pub fn gpu_ceilings(ctx: &Arc<GpuContext>) -> Result<GpuCeilings> {
    let read = stream::read_bandwidth(ctx)?;
    Ok(GpuCeilings {
        device: ctx.label(),
        read_gb_s: read.read_gb_s,
        buffer_bytes: read.bytes,
        timed_by: read.timed_by.to_string(),
        round_trip_us: stream::round_trip_us(ctx)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_reduce_sums_every_value() {
        for n in [0, 1, 63, 64, 65, 1000] {
            let data: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
            let expected: f32 = data.iter().sum();
            assert_eq!(read_reduce(&data), expected, "n = {n}");
        }
    }
}
