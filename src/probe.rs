//! The machine's own ceilings, each measured with a kernel of its own that no solver shares, so
//! no row can score near 100 % by construction:
//! - CPU: a plain streaming read-reduce (f32 sums of four arrays side by side, as wide as the CPU's
//!   SIMD) over a buffer several times the last-level cache, on one core and on every core (each
//!   thread touching and reading its own part); best of five passes.
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
const CPU_MIN_BYTES: u64 = 1 << 30;
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
    /// Seconds of GPU work the measurement spanned.
    pub measured_s: f64,
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
            }
            for failure in &self.gpu_failures {
                writeln!(f, "{}: the probe failed: {}", failure.device, failure.error)?;
            }
            return Ok(());
        }
        write!(
            f,
            "CPU reads {:.1} GB/s on one core, {:.1} GB/s on {} threads",
            c.read_gb_s_one_core, c.read_gb_s_all_cores, c.threads
        )?;
        for g in &self.gpu {
            write!(
                f,
                "; {} reads {:.1} GB/s, {:.0} µs per submission round trip",
                crate::report::short_device_name(&g.device),
                g.read_gb_s,
                g.round_trip_us
            )?;
        }
        for failure in &self.gpu_failures {
            write!(
                f,
                "; {}: the probe failed ({})",
                crate::report::short_device_name(&failure.device),
                failure.error
            )?;
        }
        write!(
            f,
            " (% peak is GB/s against these, shown only for data beyond the caches)"
        )
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
    let fastest = (0..PASSES)
        .map(|pass| {
            let start = spans.iter().map(|s| s[pass].0).min().expect("threads");
            let end = spans.iter().map(|s| s[pass].1).max().expect("threads");
            end - start
        })
        .min()
        .expect("at least one pass");
    ((threads * STREAMS * per_stream * 4) as u64, fastest)
}

/// Read bandwidth on one core and on all, over a buffer several times the last-level cache.
pub fn cpu_ceilings() -> CpuCeilings {
    let bytes = cpu_buffer_bytes();
    let floats = (bytes / 4) as usize;
    let threads = crate::machine::cpu_threads();
    let rate = |(bytes, d): (u64, Duration)| bytes as f64 / d.as_secs_f64() / 1e9;
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
        measured_s: read.measured_s,
        round_trip_us: stream::round_trip_us(ctx)?,
    })
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
}
