//! The host's read bandwidth: a plain streaming read-reduce (f32 sums of four arrays side by
//! side, as wide as the CPU's SIMD) over a buffer several times the last-level cache, on one core
//! and on every core (each thread touching and reading its own part); best of five passes.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use super::{CpuCeilings, fastest_pass, pair_checked};
use crate::cpu::{Simd, simd_level};
use crate::fault;

/// The CPU buffer is at least this large, and at least [`CACHE_MULTIPLE`] × the last-level cache.
const CPU_MIN_BYTES: u64 = 1 << 30;
/// How many last-level caches the CPU buffer spans at least.
const CACHE_MULTIPLE: u64 = 4;
/// The CPU buffer never takes more than this (nor more than a quarter of available memory).
const CPU_MAX_BYTES: u64 = 2 << 30;
/// Passes per measurement; the fastest is kept.
const PASSES: usize = 5;

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

/// Where stream `s` of probe thread `t` starts in its array: a different odd offset for each,
/// so no two streams are a power of two apart (they would contend for the same cache sets).
fn offset(s: usize, t: usize) -> usize {
    1031 * (s + STREAMS * t)
}

/// Probe thread `t`'s [`STREAMS`] separate arrays, each `per_stream` values past its [`offset`].
fn stream_arrays(per_stream: usize, t: usize) -> [Vec<f32>; STREAMS] {
    std::array::from_fn(|s| {
        (0..per_stream + offset(s, t))
            .map(|i| 1.0 + (i % 1024) as f32)
            .collect()
    })
}

/// The values thread `t` reads: each of its arrays from its [`offset`].
fn streams_of(owned: &[Vec<f32>; STREAMS], t: usize) -> [&[f32]; STREAMS] {
    std::array::from_fn(|s| &owned[s][offset(s, t)..])
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
                    let owned = stream_arrays(per_stream, t);
                    let data = streams_of(&owned, t);
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

/// One core's read rate from its level-2 cache: what a row whose data are beyond the L1 data
/// cache but within L2 can read at most.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct CacheReads {
    /// Bytes of one core's L1 data cache.
    pub l1d_bytes: u64,
    /// Bytes of one core's L2 cache.
    pub l2_bytes: u64,
    /// GB/s one core read from a buffer of 4 L1d or one of half its L2 (the faster), read over
    /// and over; best of passes.
    pub read_gb_s: f64,
}

/// Passes of the L2 read probe; the fastest is kept.
const L2_PASSES: usize = 10;
/// Bytes one pass of the L2 read probe reads: its buffer, many times over.
const L2_PASS_BYTES: u64 = 32 << 20;

/// One core's read rate from L2 ([`CacheReads`]), on the calling thread, the same read-reduce as
/// the bandwidth probe's over a buffer of 4 L1d and one of half the L2, the faster kept (a limit
/// must be a floor: on the H200's Xeon host half the L2 read at 71 GB/s while cpu-fused-f32 read
/// its 78 KiB at 119); None where the OS does not give both sizes or the L2 is under 8 L1d.
pub fn l2_reads() -> Option<CacheReads> {
    let (l1d, l2) = (
        crate::machine::core_cache(1)?,
        crate::machine::core_cache(2)?,
    );
    if l2 < 8 * l1d {
        return None;
    }
    let read_gb_s = [4 * l1d, l2 / 2]
        .into_iter()
        .map(read_rate_over)
        .fold(0.0, f64::max);
    Some(CacheReads {
        l1d_bytes: l1d,
        l2_bytes: l2,
        read_gb_s,
    })
}

/// GB/s one core reads a buffer of `bytes` at, read over and over; best of [`L2_PASSES`].
fn read_rate_over(bytes: u64) -> f64 {
    let per_stream = (bytes / 4) as usize / STREAMS;
    let owned = stream_arrays(per_stream, 0);
    let data = streams_of(&owned, 0);
    let read = (per_stream * STREAMS * 4) as u64;
    let reps = (L2_PASS_BYTES / read).max(1);
    black_box(read_reduce(black_box(&data)));
    let fastest = (0..L2_PASSES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                black_box(read_reduce(black_box(&data)));
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default();
    (reps * read) as f64 / fastest.as_secs_f64().max(1e-9) / 1e9
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
    c.l2 = l2_reads();
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
