//! The GPU solvers: one struct, five strategies, each recording an epoch its own way.
//!
//! - `gpu-multipass`: error pass, tree reduction level by level, update pass; one submission
//!   per epoch (the design as the user drew it).
//! - `gpu-batched`: the same kernels, many epochs per submission.
//! - `gpu-fused`: error folded into the first reduction, last level fused with the update.
//! - `gpu-persistent`: one workgroup loops over epochs inside a dispatch (small N).
//! - `gpu-subgroup`: gpu-fused with subgroup reductions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::buffers::{self, DeviceData, Params};
use super::context::GpuContext;
use super::kernels::{ITEMS_PER_INVOCATION, KernelFile, pipeline};
use crate::error::{GdError, Result};
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// How a GPU solver organises an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Error, reduction levels, update; one submission per epoch.
    Multipass,
    /// The multi-pass kernels, many epochs per submission.
    Batched,
    /// Error inside the first reduction; last level and update in one dispatch.
    Fused,
    /// One workgroup, many epochs per dispatch.
    Persistent,
    /// Fused, with subgroup reductions.
    Subgroup,
}

/// Settings that shape the GPU work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuSettings {
    /// Invocations per workgroup (a power of two).
    pub workgroup_size: u32,
    /// Cap on one storage binding in bytes, below the adapter's (to exercise chunking in tests).
    pub max_binding_bytes: Option<u64>,
}

impl Default for GpuSettings {
    fn default() -> Self {
        Self {
            workgroup_size: super::kernels::DEFAULT_WORKGROUP_SIZE,
            max_binding_bytes: None,
        }
    }
}

/// Loop iterations one invocation of the persistent kernel may run per dispatch. llvmpipe
/// (lavapipe) stops an invocation after 65 535 in all and silently returns wrong weights.
pub const PERSISTENT_LOOP_BUDGET: u64 = 60_000;

/// How long a submission may take before the run is abandoned as hung.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Target wall time of one batched submission: short enough for OS GPU watchdogs (≈ 2 s on
/// Windows), long enough that the per-submission cost is negligible.
const BATCH_TARGET: Duration = Duration::from_millis(100);

/// One dispatch of an epoch.
struct Step {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: u32,
}

/// A GPU solver prepared for one problem on one adapter.
pub struct GpuSolver {
    ctx: Arc<GpuContext>,
    strategy: Strategy,
    epochs: u64,
    w: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Dispatches that make one epoch (all strategies but persistent).
    epoch_steps: Vec<Step>,
    /// Persistent only: a dispatch of `per_dispatch` epochs, and one of the remainder.
    persistent: Option<(Step, Option<Step>, u64)>,
    _data: DeviceData,
    _scratch: Vec<wgpu::Buffer>,
}

fn bind(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

fn div_ceil_u32(a: u64, b: u64) -> u32 {
    u32::try_from(a.div_ceil(b)).expect("workgroup counts fit u32")
}

impl GpuSolver {
    /// Uploads the data and builds every pipeline and bind group the strategy needs.
    pub fn new(
        ctx: Arc<GpuContext>,
        strategy: Strategy,
        problem: &Problem,
        settings: GpuSettings,
    ) -> Result<Self> {
        let wg = settings.workgroup_size;
        if !wg.is_power_of_two() || wg > ctx.limits.max_compute_invocations_per_workgroup || wg < 2
        {
            return Err(GdError::InvalidParameter {
                name: "--workgroup-size",
                problem: format!(
                    "{wg} must be a power of two between 2 and {}",
                    ctx.limits.max_compute_invocations_per_workgroup
                ),
            });
        }
        if strategy == Strategy::Subgroup && !ctx.features.contains(wgpu::Features::SUBGROUP) {
            return Err(GdError::Unavailable {
                reason: "the adapter has no SUBGROUP feature".into(),
            });
        }
        let tile = u64::from(wg) * u64::from(ITEMS_PER_INVOCATION);
        let n = problem.n() as u64;
        let persistent_per_dispatch = if strategy == Strategy::Persistent {
            let per_epoch = n.div_ceil(u64::from(wg)) + u64::from(wg.ilog2()) + 3;
            let per_dispatch = PERSISTENT_LOOP_BUDGET / per_epoch;
            if per_dispatch == 0 {
                return Err(GdError::Unavailable {
                    reason: format!(
                        "N = {n} is too large for one workgroup (at most about {} samples); use gpu-fused",
                        (PERSISTENT_LOOP_BUDGET - 16) * u64::from(wg)
                    ),
                });
            }
            per_dispatch
        } else {
            0
        };
        let chunk_len = match strategy {
            // One workgroup reads everything: the data must sit in one binding.
            Strategy::Persistent => n,
            _ => buffers::max_chunk_len(&ctx, tile as u32, settings.max_binding_bytes),
        };
        if strategy == Strategy::Persistent
            && n * 4
                > settings
                    .max_binding_bytes
                    .unwrap_or(ctx.limits.max_storage_buffer_binding_size)
        {
            return Err(GdError::Unavailable {
                reason: "x does not fit one storage binding; use gpu-fused".into(),
            });
        }

        let data = DeviceData::upload(&ctx, problem, chunk_len)?;
        let w = buffers::pairs(&ctx, "w", 1);
        let readback = buffers::readback(&ctx, 8);
        let mu = problem.mu() as f32;
        let scale = (2.0 / problem.n() as f64) as f32;
        let mut scratch = Vec::new();
        let mut epoch_steps = Vec::new();
        let mut persistent = None;

        // First-level partials: one per workgroup of every chunk.
        let mut bases = Vec::new();
        let mut first_level = 0u64;
        for c in &data.chunks {
            bases.push(first_level as u32);
            first_level += u64::from(c.len).div_ceil(tile);
        }

        match strategy {
            Strategy::Multipass | Strategy::Batched => {
                let error = pipeline(&ctx, KernelFile::Error, "error", wg)?;
                let reduce_errors = pipeline(&ctx, KernelFile::Reduce, "reduce_errors", wg)?;
                let reduce_partials = pipeline(&ctx, KernelFile::Reduce, "reduce_partials", wg)?;
                let update = pipeline(&ctx, KernelFile::Update, "update", wg)?;
                let partials_a = buffers::pairs(&ctx, "partials-a", first_level);
                for (c, &base) in data.chunks.iter().zip(&bases) {
                    let e = buffers::floats(&ctx, "e", u64::from(c.len));
                    let params = buffers::uniform(
                        &ctx,
                        Params {
                            n: c.len,
                            base,
                            ..Params::default()
                        },
                    );
                    let workgroups = div_ceil_u32(u64::from(c.len), tile);
                    epoch_steps.push(Step {
                        bind_group: bind(&ctx, &error, &[&c.x, &c.d, &w, &e, &params]),
                        pipeline: error.clone(),
                        workgroups,
                    });
                    epoch_steps.push(Step {
                        bind_group: bind(&ctx, &reduce_errors, &[&e, &c.x, &partials_a, &params]),
                        pipeline: reduce_errors.clone(),
                        workgroups,
                    });
                    scratch.extend([e, params]);
                }
                // Further levels, ping-ponging between two buffers, until one pair is left.
                let partials_b = buffers::pairs(&ctx, "partials-b", first_level.div_ceil(tile));
                let (mut src, mut dst) = (&partials_a, &partials_b);
                let mut count = first_level;
                while count > 1 {
                    let params = buffers::uniform(
                        &ctx,
                        Params {
                            n: count as u32,
                            ..Params::default()
                        },
                    );
                    let workgroups = div_ceil_u32(count, tile);
                    epoch_steps.push(Step {
                        bind_group: bind(&ctx, &reduce_partials, &[src, dst, &params]),
                        pipeline: reduce_partials.clone(),
                        workgroups,
                    });
                    scratch.push(params);
                    count = u64::from(workgroups);
                    std::mem::swap(&mut src, &mut dst);
                }
                let params = buffers::uniform(
                    &ctx,
                    Params {
                        mu,
                        scale,
                        ..Params::default()
                    },
                );
                epoch_steps.push(Step {
                    bind_group: bind(&ctx, &update, &[src, &w, &params]),
                    pipeline: update,
                    workgroups: 1,
                });
                scratch.extend([params, partials_a, partials_b]);
            }
            Strategy::Fused | Strategy::Subgroup => {
                let (file, first, last) = if strategy == Strategy::Fused {
                    (KernelFile::Fused, "fused_errors", "finish")
                } else {
                    (KernelFile::Subgroup, "subgroup_errors", "subgroup_finish")
                };
                let errors = pipeline(&ctx, file, first, wg)?;
                let finish = pipeline(&ctx, file, last, wg)?;
                let partials = buffers::pairs(&ctx, "partials", first_level);
                for (c, &base) in data.chunks.iter().zip(&bases) {
                    let params = buffers::uniform(
                        &ctx,
                        Params {
                            n: c.len,
                            base,
                            ..Params::default()
                        },
                    );
                    epoch_steps.push(Step {
                        bind_group: bind(&ctx, &errors, &[&c.x, &c.d, &w, &partials, &params]),
                        pipeline: errors.clone(),
                        workgroups: div_ceil_u32(u64::from(c.len), tile),
                    });
                    scratch.push(params);
                }
                let params = buffers::uniform(
                    &ctx,
                    Params {
                        n: first_level as u32,
                        mu,
                        scale,
                        ..Params::default()
                    },
                );
                epoch_steps.push(Step {
                    bind_group: bind(&ctx, &finish, &[&partials, &w, &params]),
                    pipeline: finish,
                    workgroups: 1,
                });
                scratch.extend([params, partials]);
            }
            Strategy::Persistent => {
                let kernel = pipeline(&ctx, KernelFile::Persistent, "persistent", wg)?;
                let chunk = &data.chunks[0];
                let per_dispatch = persistent_per_dispatch.min(problem.epochs());
                let remainder = problem.epochs() % per_dispatch;
                let step = |epochs: u64, scratch: &mut Vec<wgpu::Buffer>| {
                    let params = buffers::uniform(
                        &ctx,
                        Params {
                            n: chunk.len,
                            mu,
                            scale,
                            epochs: epochs as u32,
                            ..Params::default()
                        },
                    );
                    let s = Step {
                        bind_group: bind(&ctx, &kernel, &[&chunk.x, &chunk.d, &w, &params]),
                        pipeline: kernel.clone(),
                        workgroups: 1,
                    };
                    scratch.push(params);
                    s
                };
                let full = step(per_dispatch, &mut scratch);
                let rest = (remainder > 0).then(|| step(remainder, &mut scratch));
                persistent = Some((full, rest, per_dispatch));
            }
        }

        Ok(Self {
            ctx,
            strategy,
            epochs: problem.epochs(),
            w,
            readback,
            epoch_steps,
            persistent,
            _data: data,
            _scratch: scratch,
        })
    }

    /// Records `steps` into one compute pass of `encoder`.
    fn record(encoder: &mut wgpu::CommandEncoder, steps: &[&Step]) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        for step in steps {
            pass.set_pipeline(&step.pipeline);
            pass.set_bind_group(0, &step.bind_group, &[]);
            pass.dispatch_workgroups(step.workgroups, 1, 1);
        }
    }

    /// The dispatches of `epochs` epochs, in order.
    fn steps_for(&self, first_epoch: u64, epochs: u64) -> Vec<&Step> {
        match &self.persistent {
            Some((full, rest, per_dispatch)) => {
                // Epoch counts are in units of dispatches: `first_epoch` is a multiple of per_dispatch.
                let mut steps = Vec::new();
                let mut done = first_epoch;
                while done < first_epoch + epochs {
                    if self.epochs - done >= *per_dispatch {
                        steps.push(full);
                        done += per_dispatch;
                    } else {
                        steps.push(rest.as_ref().expect("a remainder dispatch exists"));
                        done = self.epochs;
                    }
                }
                steps
            }
            None => (0..epochs).flat_map(|_| self.epoch_steps.iter()).collect(),
        }
    }

    /// Submits one command buffer of `epochs` epochs starting at `first_epoch`.
    fn submit(&self, first_epoch: u64, epochs: u64) -> wgpu::SubmissionIndex {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        Self::record(&mut encoder, &self.steps_for(first_epoch, epochs));
        self.ctx.queue.submit([encoder.finish()])
    }

    fn wait(&self, index: wgpu::SubmissionIndex) -> Result<()> {
        self.ctx
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: Some(WAIT_TIMEOUT),
            })
            .map_err(|e| GdError::Gpu {
                message: format!("waiting for the GPU failed: {e}"),
            })?;
        self.ctx.take_error()
    }

    /// Epochs per submission unit: 1 epoch, or one persistent dispatch.
    fn unit(&self) -> u64 {
        self.persistent.as_ref().map_or(1, |p| p.2)
    }

    fn read_weights(&self) -> Result<[f64; 2]> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.w, 0, &self.readback, 0, 8);
        let index = self.ctx.queue.submit([encoder.finish()]);
        let slice = self.readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait(index)?;
        rx.recv_timeout(WAIT_TIMEOUT)
            .map_err(|_| GdError::Gpu {
                message: "the weights were never mapped for reading".into(),
            })?
            .map_err(|e| GdError::Gpu {
                message: format!("cannot read the weights back: {e}"),
            })?;
        let w = {
            let view = slice.get_mapped_range().map_err(|e| GdError::Gpu {
                message: format!("cannot map the weights: {e}"),
            })?;
            let w: [f32; 2] = bytemuck::pod_read_unaligned(&view[..8]);
            [f64::from(w[0]), f64::from(w[1])]
        };
        self.readback.unmap();
        Ok(w)
    }
}

impl Solver for GpuSolver {
    fn solve(&mut self) -> Result<Outcome> {
        self.ctx
            .queue
            .write_buffer(&self.w, 0, bytemuck::cast_slice(&[0.0f32, 0.0]));
        let unit = self.unit();
        let mut done = 0u64;
        if self.strategy == Strategy::Multipass {
            // One submission per epoch; wait on the one 64 back to bound the queue.
            let mut in_flight = std::collections::VecDeque::new();
            while done < self.epochs {
                in_flight.push_back(self.submit(done, 1));
                done += 1;
                if in_flight.len() > 64 {
                    self.wait(in_flight.pop_front().expect("not empty"))?;
                }
            }
        } else {
            // Batches sized from the first one's time so each submission takes about BATCH_TARGET.
            let mut batch = 16u64.min(self.epochs.div_ceil(unit)) * unit;
            while done < self.epochs {
                let epochs = batch.min(self.epochs - done);
                let start = Instant::now();
                let index = self.submit(done, epochs);
                self.wait(index)?;
                done += epochs;
                let took = start.elapsed().as_secs_f64().max(1e-6);
                let fit = (epochs as f64 * BATCH_TARGET.as_secs_f64() / took) as u64;
                batch = (fit / unit).clamp(1, 1 << 16) * unit;
            }
        }
        let w = self.read_weights()?;
        let finite = w.iter().all(|v| v.is_finite());
        Ok(Outcome {
            w,
            diverged_at: (!finite).then_some(self.epochs),
        })
    }
}
