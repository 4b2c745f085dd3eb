//! An adapter's own ceilings, measured with kernels that belong to no solver (`shaders/probe.wgsl`,
//! always the built-in one):
//! - the read bandwidth of a streaming read-reduce over two large arrays, one dispatch per pass
//!   over them;
//! - the f32 arithmetic peak of independent FMA chains on vec4<f32> in registers
//!   ([`fma_peak`]; an FMA counts as 2 flops), checked against a CPU twin ([`fma_expected`]);
//!
//! each as many dispatches in one compute pass as give at least [`MIN_GPU_WORK`] of GPU work,
//! timed by timestamp queries where the adapter has them ([`Dispatches`], shared); and the round
//! trip of one empty submission and its wait, measured alone.

use std::time::{Duration, Instant};

use super::buffers::{self, Params};
use super::context::GpuContext;
use super::shaders::{ShaderFile, ShaderSources, pipeline};
use super::timestamps::PassTimer;
use crate::error::{GdError, Result};

/// Bytes of each of the two arrays the kernel reads (less where a binding cannot hold them):
/// together several times any GPU's last-level cache.
pub const ARRAY_BYTES: u64 = 256 << 20;

/// GPU work one measurement spans, so fixed costs (submission, wait) vanish beside it.
pub const MIN_GPU_WORK: Duration = Duration::from_millis(50);

/// Workgroups of the grid-stride loop: enough to fill any current GPU.
const MAX_WORKGROUPS: u32 = 4096;

/// Most passes (dispatches) one measurement records.
const MAX_PASSES: u32 = 4096;

/// Invocations per workgroup.
const WORKGROUP: u32 = 256;

/// Measurements of the bandwidth; the best is kept.
const ATTEMPTS: usize = 3;

/// What the streaming kernel measured.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRead {
    /// Bytes read per second over the best attempt, in GB/s.
    pub read_gb_s: f64,
    /// Bytes one dispatch reads (both arrays).
    pub bytes: u64,
    /// `"timestamps"` or `"wall clock"` (the adapter has no valid timestamps).
    pub timed_by: &'static str,
    /// Seconds of GPU work the best measurement spanned (at least `MIN_GPU_WORK` unless the
    /// loop budget or `MAX_PASSES` stopped it short).
    pub measured_s: f64,
}

/// A storage buffer of `bytes` (a multiple of 16) filled with a non-zero pattern, so no memory
/// compression can shortcut the reads.
fn filled(ctx: &GpuContext, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: true,
    });
    {
        let mut view = buffer.get_mapped_range_mut(..).map_err(|e| GdError::Gpu {
            message: format!("cannot map {label}: {e}"),
        })?;
        let pattern: Vec<f32> = (0..16_384).map(|i| 1.0 + i as f32 * 1e-3).collect();
        let pattern: &[u8] = bytemuck::cast_slice(&pattern);
        let len = view.len();
        for at in (0..len).step_by(pattern.len()) {
            let end = (at + pattern.len()).min(len);
            view.slice(at..end).copy_from_slice(&pattern[..end - at]);
        }
    }
    buffer.unmap();
    Ok(buffer)
}

/// Measures the adapter's read bandwidth with the streaming kernel.
pub fn read_bandwidth(ctx: &GpuContext) -> Result<StreamRead> {
    let limits = &ctx.limits;
    let wg = WORKGROUP.min(limits.max_compute_invocations_per_workgroup);
    let per_array = ARRAY_BYTES
        .min(limits.max_storage_buffer_binding_size)
        .min(limits.max_buffer_size)
        / 16
        * 16;
    let vec4s = u32::try_from(per_array / 16).unwrap_or(u32::MAX);
    let groups = vec4s
        .div_ceil(wg)
        .min(MAX_WORKGROUPS)
        .min(limits.max_compute_workgroups_per_dimension);
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let a = filled(ctx, "probe a", per_array)?;
    let b = filled(ctx, "probe b", per_array)?;
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(GdError::Gpu {
            message: format!(
                "cannot allocate the probe's {} MiB: {e}",
                (2 * per_array) >> 20
            ),
        });
    }
    let partials = buffers::pairs(ctx, "probe partials", u64::from(groups));
    let params = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("probe params"),
        size: std::mem::size_of::<Params>() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let kernel = pipeline(
        ctx,
        &ShaderSources::builtin(),
        ShaderFile::Probe,
        "stream_read",
        wg,
    )?;
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("probe"),
        layout: &kernel.get_bind_group_layout(0),
        entries: &[&a, &b, &partials, &params]
            .iter()
            .enumerate()
            .map(|(i, buffer)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect::<Vec<_>>(),
    });
    let p = Params {
        n: vec4s,
        ..Params::default()
    };
    ctx.queue.write_buffer(&params, 0, bytemuck::bytes_of(&p));
    let round_trip_s = round_trip_us(ctx)? * 1e-6;
    let mut dispatches = Dispatches::new(ctx, &kernel, &bind_group, groups, round_trip_s);
    let best = dispatches.best()?;
    let bytes = 2 * per_array;
    Ok(StreamRead {
        read_gb_s: bytes as f64 / best.per_dispatch_s / 1e9,
        bytes,
        timed_by: best.timed_by,
        measured_s: best.measured_s,
    })
}

/// What [`Dispatches::best`] measured.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Timing {
    /// Seconds of one dispatch in the best attempt.
    per_dispatch_s: f64,
    /// `"timestamps"` or `"wall clock"`.
    timed_by: &'static str,
    /// Seconds of GPU work the best attempt spanned.
    measured_s: f64,
    /// Seconds of one dispatch in each attempt, in order: their spread is the measurement's own.
    attempts_s: Vec<f64>,
}

/// One kernel's dispatches, recorded back to back in one compute pass and timed: the probes'
/// shared timing machinery (timestamps where the adapter has valid ones, else the wall clock less
/// one submission round trip).
pub(super) struct Dispatches<'a> {
    ctx: &'a GpuContext,
    kernel: &'a wgpu::ComputePipeline,
    bind_group: &'a wgpu::BindGroup,
    groups: u32,
    timer: Option<PassTimer>,
    /// Seconds of one empty submission's round trip.
    round_trip: f64,
}

impl<'a> Dispatches<'a> {
    /// Dispatches of `groups` workgroups of `kernel` with `bind_group` (group 0), on an adapter
    /// whose empty submission takes `round_trip_s` ([`round_trip_us`], measured once by the
    /// caller and shared by its probes).
    pub(super) fn new(
        ctx: &'a GpuContext,
        kernel: &'a wgpu::ComputePipeline,
        bind_group: &'a wgpu::BindGroup,
        groups: u32,
        round_trip_s: f64,
    ) -> Self {
        Self {
            ctx,
            kernel,
            bind_group,
            groups,
            timer: PassTimer::new(ctx),
            round_trip: round_trip_s,
        }
    }

    /// `passes` dispatches in one timed compute pass: (wall seconds, GPU seconds if validly
    /// timed).
    pub(super) fn run(&mut self, passes: u32) -> Result<(f64, Option<f64>)> {
        let ctx = self.ctx;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        if let Some(t) = self.timer.as_mut() {
            t.reset();
        }
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("probe"),
                timestamp_writes: self.timer.as_mut().map(PassTimer::next_pass),
            });
            pass.set_pipeline(self.kernel);
            pass.set_bind_group(0, self.bind_group, &[]);
            // Each dispatch writes its output, so wgpu puts a barrier between them: a few µs
            // per pass, which makes the ceiling a little lower (and % peak a little higher).
            for _ in 0..passes {
                pass.dispatch_workgroups(self.groups, 1, 1);
            }
        }
        let start = Instant::now();
        let index = ctx.queue.submit([encoder.finish()]);
        ctx.wait(index)?;
        let wall = start.elapsed().as_secs_f64();
        let gpu = match self.timer.as_mut() {
            Some(t) => {
                t.read(ctx)?;
                t.result(wall).ok()
            }
            None => None,
        };
        Ok((wall, gpu))
    }

    /// Seconds one dispatch takes, from a second dispatch (the first compiles and uploads). A
    /// timestamp reading far below the wall time less a round trip is not believed for that (too
    /// many dispatches could then outlast the wait).
    fn one(&mut self) -> Result<f64> {
        self.run(1)?;
        let (wall, gpu) = self.run(1)?;
        Ok(gpu.unwrap_or(wall).max(wall - self.round_trip).max(1e-7))
    }

    /// The best of [`ATTEMPTS`] measurements, each of as many dispatches (at most
    /// [`MAX_PASSES`]) as make at least [`MIN_GPU_WORK`].
    fn best(&mut self) -> Result<Timing> {
        let fit = |one: f64| {
            ((MIN_GPU_WORK.as_secs_f64() / one.max(1e-7)).ceil() as u32).clamp(1, MAX_PASSES)
        };
        let mut passes = fit(self.one()?);
        let mut best: Option<(f64, &'static str)> = None;
        let mut attempts = 0;
        let mut attempts_s = Vec::new();
        while attempts < ATTEMPTS {
            let (wall, gpu) = self.run(passes)?;
            let (seconds, how) = match gpu {
                Some(s) => (s, "timestamps"),
                None => ((wall - self.round_trip).max(wall / 2.0), "wall clock"),
            };
            // Short of MIN_GPU_WORK (the calibration overestimated a pass): more passes, start
            // over.
            let more = fit(seconds / f64::from(passes));
            if seconds < 0.9 * MIN_GPU_WORK.as_secs_f64() && more > passes {
                passes = more;
                best = None;
                attempts = 0;
                attempts_s.clear();
                continue;
            }
            attempts += 1;
            let per_pass = seconds / f64::from(passes);
            attempts_s.push(per_pass);
            if best.is_none_or(|(b, _)| per_pass < b) {
                best = Some((per_pass, how));
            }
        }
        let (per_dispatch_s, timed_by) = best.expect("at least one attempt");
        Ok(Timing {
            per_dispatch_s,
            timed_by,
            measured_s: per_dispatch_s * f64::from(passes),
            attempts_s,
        })
    }
}

/// Independent vec4<f32> FMA chains per invocation of `fma_peak` (probe.wgsl's `FMA_CHAINS`).
pub const FMA_CHAINS: u32 = 8;

/// Flops one invocation of `fma_peak` does per iteration: [`FMA_CHAINS`] vec4 FMAs, an FMA
/// counted as 2 flops (a multiply and an add).
pub const FLOPS_PER_ITERATION: u64 = FMA_CHAINS as u64 * 4 * 2;

/// The chains' m and c for a dispatch of `iterations`: m = 2^(-1/iterations) and c = 1 - m, so
/// every chain `a = fma(a, m, c)` halves its distance to 1 over the dispatch (values stay normal
/// and finite), and half the iterations (or a chain left out) would leave a sum that differs from
/// the CPU twin by percents, whatever the count.
pub fn fma_chain_params(iterations: u32) -> (f32, f32) {
    let m = 0.5f64.powf(1.0 / f64::from(iterations.max(1))) as f32;
    (m, 1.0 - m)
}

/// Seeds of one invocation's chains lie at 1 + SEED_STEP × 0, 1, …, 32 767 (see `fma_seed`).
pub const FMA_SEED_STEP: f32 = 1.0 / 32768.0;

/// Iterations of the calibration dispatch.
const FMA_CAL_ITERATIONS: u32 = 16;

/// Most iterations one dispatch runs: well under the 65 535 loop iterations after which llvmpipe
/// silently stops an invocation.
pub const FMA_MAX_ITERATIONS: u32 = 16_384;

/// GPU time one dispatch of the measurement aims at (it is then repeated to [`MIN_GPU_WORK`]).
const FMA_DISPATCH_TARGET: Duration = Duration::from_millis(5);

/// Relative difference from the CPU twin that the probe's check of the written sums allows: WGSL
/// lets `fma` round once or twice, and a rounding is remembered for about 1.44 × iterations, so
/// an unfused adapter could drift (in the worst case, all roundings one way) by about
/// 1.44 × 16 384 f32 ulps, 1.4e-3; half the work done shows as a few percent.
const FMA_CHECK_TOLERANCE: f64 = 2e-3;

/// Invocations whose sums the probe checks: seeds far from 1 (see `fma_seed`), so the work done
/// shows in the sum.
const FMA_CHECKED: [u32; 4] = [1023, 2047, 1000, 777];

/// What the FMA kernel measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FmaPeak {
    /// Flops per second over the best attempt (an FMA counted as 2), in GFLOP/s.
    pub gflops: f64,
    /// Invocations per dispatch.
    pub invocations: u64,
    /// Loop iterations of each invocation per dispatch.
    pub iterations: u32,
    /// `"timestamps"` or `"wall clock"`.
    pub timed_by: &'static str,
    /// Seconds of GPU work the best measurement spanned.
    pub measured_s: f64,
    /// Each attempt's GFLOP/s, in order (`gflops` is the largest): their spread is the probe's
    /// own run-to-run variation.
    pub attempts_gflops: Vec<f64>,
}

/// The `fma_peak` kernel with its buffers, for `groups` workgroups of `wg` invocations.
struct FmaKernel {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
    sums: wgpu::Buffer,
    groups: u32,
    wg: u32,
}

impl FmaKernel {
    /// The kernel for (about) `invocations` invocations, rounded up to whole workgroups.
    fn new(ctx: &GpuContext, invocations: u32) -> Result<Self> {
        let wg = WORKGROUP.min(ctx.limits.max_compute_invocations_per_workgroup);
        let groups = invocations
            .div_ceil(wg)
            .clamp(1, ctx.limits.max_compute_workgroups_per_dimension);
        let sums = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("fma sums"),
            size: u64::from(groups) * u64::from(wg) * 4,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let params = buffers::uniform(ctx, Params::default());
        let pipeline = pipeline(
            ctx,
            &ShaderSources::builtin(),
            ShaderFile::Probe,
            "fma_peak",
            wg,
        )?;
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("fma peak"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: sums.as_entire_binding(),
                },
            ],
        });
        Ok(Self {
            pipeline,
            bind_group,
            params,
            sums,
            groups,
            wg,
        })
    }

    /// Invocations per dispatch.
    fn invocations(&self) -> u32 {
        self.groups * self.wg
    }

    /// Sets the chains' m and c and the iterations of the next dispatches.
    fn set(&self, ctx: &GpuContext, m: f32, c: f32, iterations: u32) {
        let p = Params {
            n: iterations,
            mu: m,
            scale: c,
            mu_lo: FMA_SEED_STEP,
            ..Params::default()
        };
        ctx.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
    }

    /// The sums the last dispatch wrote, one per invocation.
    fn read(&self, ctx: &GpuContext) -> Result<Vec<f32>> {
        let bytes = u64::from(self.invocations()) * 4;
        let readback = buffers::readback(ctx, bytes);
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.sums, 0, &readback, 0, bytes);
        let data = ctx.read_back(encoder, &readback, bytes, "the FMA probe's sums")?;
        Ok(data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect())
    }
}

/// What invocation `invocation` of `fma_peak` writes after `iterations` iterations of
/// `a = fma(a, m, c)` on its chains: the kernel's CPU twin, in f32 with one rounding per FMA and
/// the chains summed in the kernel's order.
pub fn fma_expected(invocation: u32, m: f32, c: f32, iterations: u32) -> f32 {
    let chain = |k: u32| -> [f32; 4] {
        let first = (invocation % 1024) * 32 + k * 4;
        std::array::from_fn(|lane| {
            let mut a = 1.0 + FMA_SEED_STEP * (first as f32 + lane as f32);
            for _ in 0..iterations {
                a = a.mul_add(m, c);
            }
            a
        })
    };
    let a: Vec<[f32; 4]> = (0..FMA_CHAINS).map(chain).collect();
    let add = |x: [f32; 4], y: [f32; 4]| -> [f32; 4] { std::array::from_fn(|l| x[l] + y[l]) };
    let total = add(
        add(add(a[0], a[1]), add(a[2], a[3])),
        add(add(a[4], a[5]), add(a[6], a[7])),
    );
    (total[0] + total[1]) + (total[2] + total[3])
}

/// One dispatch of `fma_peak` over (about) `invocations` invocations (whole workgroups), with
/// chains `a = fma(a, m, c)` run for `iterations` (at most [`FMA_MAX_ITERATIONS`]): the sum
/// each invocation wrote, to hold against [`fma_expected`].
pub fn fma_sums(
    ctx: &GpuContext,
    invocations: u32,
    m: f32,
    c: f32,
    iterations: u32,
) -> Result<Vec<f32>> {
    let kernel = FmaKernel::new(ctx, invocations)?;
    kernel.set(ctx, m, c, iterations.min(FMA_MAX_ITERATIONS));
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &kernel.bind_group, &[]);
        pass.dispatch_workgroups(kernel.groups, 1, 1);
    }
    ctx.wait(ctx.queue.submit([encoder.finish()]))?;
    kernel.read(ctx)
}

/// The adapter's f32 arithmetic peak: [`MAX_WORKGROUPS`] workgroups of independent FMA chains,
/// iterations per dispatch chosen from a short calibration dispatch (so a software adapter is
/// not kept for seconds), dispatches repeated to at least [`MIN_GPU_WORK`], best of
/// [`ATTEMPTS`]. Afterwards a few of the sums written are checked against [`fma_expected`]: a
/// kernel that did not do the work it is credited with is an error, not a figure.
pub fn fma_peak(ctx: &GpuContext) -> Result<FmaPeak> {
    let wg = WORKGROUP.min(ctx.limits.max_compute_invocations_per_workgroup);
    let groups = MAX_WORKGROUPS.min(ctx.limits.max_compute_workgroups_per_dimension);
    let kernel = FmaKernel::new(ctx, groups * wg)?;
    let (m, c) = fma_chain_params(FMA_CAL_ITERATIONS);
    kernel.set(ctx, m, c, FMA_CAL_ITERATIONS);
    let round_trip_s = round_trip_us(ctx)? * 1e-6;
    let mut dispatches = Dispatches::new(
        ctx,
        &kernel.pipeline,
        &kernel.bind_group,
        kernel.groups,
        round_trip_s,
    );
    // The calibration's time includes the dispatch's fixed cost, so this errs on the short side;
    // `best` then adds dispatches.
    let calibration = dispatches.one()?;
    let iterations =
        (f64::from(FMA_CAL_ITERATIONS) * FMA_DISPATCH_TARGET.as_secs_f64() / calibration) as u32;
    let iterations = iterations.clamp(FMA_CAL_ITERATIONS, FMA_MAX_ITERATIONS);
    let (m, c) = fma_chain_params(iterations);
    kernel.set(ctx, m, c, iterations);
    let best = dispatches.best()?;
    let sums = kernel.read(ctx)?;
    for i in FMA_CHECKED {
        let i = i % kernel.invocations();
        let want = fma_expected(i, m, c, iterations);
        let got = sums[i as usize];
        let off = (f64::from(got) - f64::from(want)).abs() / f64::from(want).abs();
        if !off.is_finite() || off > FMA_CHECK_TOLERANCE {
            return Err(GdError::Gpu {
                message: format!(
                    "the FMA probe's invocation {i} wrote {got} after {iterations} iterations, \
                     its CPU twin {want}: no FLOP/s figure from a kernel that did not do its work"
                ),
            });
        }
    }
    let invocations = u64::from(kernel.invocations());
    let flops = invocations as f64 * f64::from(iterations) * FLOPS_PER_ITERATION as f64;
    Ok(FmaPeak {
        gflops: flops / best.per_dispatch_s / 1e9,
        attempts_gflops: best.attempts_s.iter().map(|s| flops / s / 1e9).collect(),
        invocations,
        iterations,
        timed_by: best.timed_by,
        measured_s: best.measured_s,
    })
}

/// The median round trip of one empty submission and its wait, in microseconds.
pub fn round_trip_us(ctx: &GpuContext) -> Result<f64> {
    let mut trips = Vec::new();
    for _ in 0..32 {
        let encoder = ctx.device.create_command_encoder(&Default::default());
        let start = Instant::now();
        let index = ctx.queue.submit([encoder.finish()]);
        ctx.wait(index)?;
        trips.push(start.elapsed().as_secs_f64() * 1e6);
    }
    // The first submission may pay for lazy set-up: leave it out.
    let mut trips = trips.split_off(1);
    trips.sort_by(f64::total_cmp);
    Ok(trips[trips.len() / 2])
}
