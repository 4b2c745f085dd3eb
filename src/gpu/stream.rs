//! An adapter's own ceilings, measured with a kernel that belongs to no solver: the read
//! bandwidth of a streaming read-reduce over two large arrays (`shaders/probe.wgsl`, always the
//! built-in one), one dispatch per pass over them and as many passes in one compute pass as give
//! at least [`MIN_GPU_WORK`] of GPU work, timed by timestamp queries where the adapter has them;
//! and the round trip of one empty submission and its wait, measured alone.

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
    let round_trip = round_trip_us(ctx)? * 1e-6;
    // `passes` dispatches of one pass each, in one timed compute pass: (wall seconds, GPU seconds
    // if validly timed).
    let p = Params {
        n: vec4s,
        ..Params::default()
    };
    ctx.queue.write_buffer(&params, 0, bytemuck::bytes_of(&p));
    let mut timer = PassTimer::new(ctx);
    let mut run = |passes: u32| -> Result<(f64, Option<f64>)> {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        if let Some(t) = timer.as_mut() {
            t.reset();
        }
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("probe"),
                timestamp_writes: timer.as_mut().map(PassTimer::next_pass),
            });
            pass.set_pipeline(&kernel);
            pass.set_bind_group(0, &bind_group, &[]);
            // Each dispatch writes the partials, so wgpu puts a barrier between them: a few µs
            // per pass, which makes the ceiling a little lower (and % peak a little higher).
            for _ in 0..passes {
                pass.dispatch_workgroups(groups, 1, 1);
            }
        }
        let start = Instant::now();
        let index = ctx.queue.submit([encoder.finish()]);
        ctx.wait(index)?;
        let wall = start.elapsed().as_secs_f64();
        let gpu = match timer.as_mut() {
            Some(t) => {
                t.read(ctx)?;
                t.result(wall).ok()
            }
            None => None,
        };
        Ok((wall, gpu))
    };
    // The first dispatch compiles and uploads; the second says how many passes make
    // MIN_GPU_WORK. A timestamp reading far below the wall time less a round trip is not
    // believed for that (too many passes could outlast the wait).
    run(1)?;
    let (wall, gpu) = run(1)?;
    let one = gpu.unwrap_or(wall).max(wall - round_trip).max(1e-7);
    let fit = |one: f64| {
        ((MIN_GPU_WORK.as_secs_f64() / one.max(1e-7)).ceil() as u32).clamp(1, MAX_PASSES)
    };
    let mut passes = fit(one);
    let mut best: Option<(f64, &'static str)> = None;
    let mut attempts = 0;
    while attempts < ATTEMPTS {
        let (wall, gpu) = run(passes)?;
        let (seconds, how) = match gpu {
            Some(s) => (s, "timestamps"),
            None => ((wall - round_trip).max(wall / 2.0), "wall clock"),
        };
        // Short of MIN_GPU_WORK (the calibration overestimated a pass): more passes, start over.
        let more = fit(seconds / f64::from(passes));
        if seconds < 0.9 * MIN_GPU_WORK.as_secs_f64() && more > passes {
            passes = more;
            best = None;
            attempts = 0;
            continue;
        }
        attempts += 1;
        let per_pass = seconds / f64::from(passes);
        if best.is_none_or(|(b, _)| per_pass < b) {
            best = Some((per_pass, how));
        }
    }
    let (per_pass, timed_by) = best.expect("at least one attempt");
    let bytes = 2 * per_array;
    Ok(StreamRead {
        read_gb_s: bytes as f64 / per_pass / 1e9,
        bytes,
        timed_by,
        measured_s: per_pass * f64::from(passes),
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
