//! An adapter's fixed costs, the latency wall of a row (`shaders/probe.wgsl`'s `tick` and
//! `barriers`, always the built-in ones): what one more dispatch in a chain of dependent
//! dispatches costs, and what one workgroup barrier costs a one-workgroup kernel. With the
//! submission round trip ([`super::stream::round_trip_us`]) they give the least time an epoch of
//! each strategy can take however little data it reads.

use serde::Serialize;

use super::buffers::{self, Params};
use super::context::GpuContext;
use super::shaders::{ShaderFile, ShaderSources, pipeline};
use super::stream::Dispatches;
use crate::error::Result;

/// Dependent dispatches in one measurement of the dispatch cost (beside a single one).
const CHAIN: u32 = 256;

/// Measurements of each figure; the smallest is kept.
const ATTEMPTS: usize = 5;

/// A barrier measurement aims at this much GPU time, so the dispatch around it is small beside it.
const BARRIER_TARGET_S: f64 = 5e-3;

/// Most barriers one dispatch passes (llvmpipe stops a loop silently at 65 535 iterations).
const MAX_BARRIERS: u32 = 60_000;

/// What one dispatch and one barrier cost on an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Latency {
    /// µs one more dispatch adds to a chain of dependent dispatches in one submission.
    pub dispatch_us: f64,
    /// ns one workgroup barrier costs a workgroup of `barrier_wg` invocations.
    pub barrier_ns: f64,
    /// Invocations of the workgroup the barriers were timed in (the solvers' one-workgroup size).
    pub barrier_wg: u32,
}

/// A one-workgroup kernel of probe.wgsl with its params and output buffers.
struct Kernel {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
}

impl Kernel {
    fn new(ctx: &GpuContext, entry: &str, wg: u32) -> Result<Self> {
        let sums = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("latency sums"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let params = buffers::uniform(ctx, Params::default());
        let pipeline = pipeline(ctx, &ShaderSources::builtin(), ShaderFile::Probe, entry, wg)?;
        let layout = pipeline.get_bind_group_layout(0);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 4,
            resource: sums.as_entire_binding(),
        }];
        if entry == "barriers" {
            entries.push(wgpu::BindGroupEntry {
                binding: 3,
                resource: params.as_entire_binding(),
            });
        }
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &layout,
            entries: &entries,
        });
        Ok(Self {
            pipeline,
            bind_group,
            params,
        })
    }

    fn set_count(&self, ctx: &GpuContext, n: u32) {
        let p = Params {
            n,
            ..Params::default()
        };
        ctx.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
    }
}

/// The fastest of [`ATTEMPTS`] submissions of `long` dispatches less the fastest of as many of
/// `short`, after a warm-up of each (the fastest of each, so a disturbance in either is dropped).
fn least_difference(d: &mut Dispatches, short: u32, long: u32) -> Result<f64> {
    d.run(short)?;
    d.run(long)?;
    let (mut a, mut b) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..ATTEMPTS {
        a = a.min(d.run(short)?.0);
        b = b.min(d.run(long)?.0);
    }
    Ok((b - a).max(0.0))
}

/// Measures the cost of one dispatch of one workgroup of `barrier_wg` invocations (a chain of
/// [`CHAIN`] against one) and of one barrier in such a workgroup (many barriers against none),
/// each by the wall clock, on an adapter whose empty submission takes `round_trip_us`.
pub fn latency(ctx: &GpuContext, barrier_wg: u32, round_trip_us: f64) -> Result<Latency> {
    let round_trip_s = round_trip_us * 1e-6;
    // One workgroup of the one-workgroup kernels' size: what a dispatch of the finish or
    // reduction pass starts, however little it does.
    let tick = Kernel::new(ctx, "tick", barrier_wg)?;
    let mut chain = Dispatches::new(ctx, &tick.pipeline, &tick.bind_group, 1, round_trip_s);
    let dispatch_s = least_difference(&mut chain, 1, CHAIN + 1)? / f64::from(CHAIN);

    let kernel = Kernel::new(ctx, "barriers", barrier_wg)?;
    let mut one = Dispatches::new(ctx, &kernel.pipeline, &kernel.bind_group, 1, round_trip_s);
    // One dispatch passing `n` barriers against one passing none, the fastest of each.
    let mut timed = |n: u32, attempts: usize| -> Result<f64> {
        let (mut none, mut many) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..attempts {
            kernel.set_count(ctx, 0);
            none = none.min(one.run(1)?.0);
            kernel.set_count(ctx, n);
            many = many.min(one.run(1)?.0);
        }
        Ok((many - none).max(0.0))
    };
    let calibration = 1024;
    timed(calibration, 1)?;
    let first = timed(calibration, 1)?.max(1e-7);
    let n = ((f64::from(calibration) * BARRIER_TARGET_S / first) as u32)
        .clamp(calibration, MAX_BARRIERS);
    let best = timed(n, ATTEMPTS)?;
    Ok(Latency {
        dispatch_us: dispatch_s * 1e6,
        barrier_ns: best / f64::from(n) * 1e9,
        barrier_wg,
    })
}
