//! How a strategy's solve is laid out: pipelines, bind groups and dispatch sizes, built once at
//! preparation into a [`Schedule`]; and the checks that say whether a strategy can run a problem.

use super::buffers::{self, DeviceData, Params, Real};
use super::context::GpuContext;
use super::settings::{
    GpuSettings, PERSISTENT_LOOP_BUDGET, PERSISTENT_WORK_PER_DISPATCH, Strategy,
};
use super::shaders::{
    DEFAULT_WORKGROUP_SIZE, MAX_SINGLE_WORKGROUP, ShaderFile, ShaderSources, pipeline_with,
};
use super::twin::{Cover, Pass, Role};
use crate::error::{GdError, Result};
use crate::problem::Problem;

/// One dispatch of an epoch.
pub(super) struct Step {
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    /// Workgroups along x and y.
    pub workgroups: [u32; 2],
    /// What it computes, for the pass-by-pass replay.
    pub role: Role,
}

/// Builds the dispatches of a strategy, keeping alive the buffers they bind.
pub(super) struct Builder<'a> {
    pub ctx: &'a GpuContext,
    pub wg: u32,
    /// Invocations of the one-workgroup kernels (persistent, finish).
    pub single_wg: u32,
    pub tile: u64,
    pub w: &'a wgpu::Buffer,
    pub shaders: &'a ShaderSources,
    /// The type the kernels compute in (WGSL's `real`).
    pub real: Real,
    /// mu and 2/N, with what f32 loses of each (mu: the first step's).
    pub step_params: Params,
    /// Every step size of the problem (one, or a search's).
    pub steps: &'a [f64],
    /// Override constants beyond WG and ITEMS for every kernel (df64's `FMA`).
    pub overrides: Vec<(&'static str, f64)>,
    pub keep: Vec<wgpu::Buffer>,
    /// Every kernel file a pipeline was built from, in the order first used.
    pub used: std::cell::RefCell<Vec<ShaderFile>>,
}

impl Builder<'_> {
    /// Notes that a pipeline is built from `file`.
    fn uses(&self, file: ShaderFile) {
        let mut used = self.used.borrow_mut();
        if !used.contains(&file) {
            used.push(file);
        }
    }

    fn pipeline(&self, file: ShaderFile, entry: &str) -> Result<wgpu::ComputePipeline> {
        self.uses(file);
        pipeline_with(
            self.ctx,
            self.shaders,
            file,
            entry,
            self.wg,
            &self.overrides,
            self.real,
        )
    }

    /// A dispatch of `pipeline` binding `buffers`, then a uniform holding `params` (every
    /// kernel takes its params last).
    fn step(
        &mut self,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        params: Params,
        workgroups: [u32; 2],
        role: Role,
    ) -> Step {
        let uniform = buffers::uniform(self.ctx, params);
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .chain([&&uniform])
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind_group = self
            .ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
        self.keep.push(uniform);
        Step {
            pipeline: pipeline.clone(),
            bind_group,
            workgroups,
            role,
        }
    }

    /// Workgroups to cover `count` elements, one tile each.
    fn workgroups(&self, count: u64) -> u32 {
        u32::try_from(count.div_ceil(self.tile)).expect("chunks are capped at 65 535 tiles")
    }

    /// First-level partials: where each chunk's go, and how many there are in all.
    fn first_level(&self, data: &DeviceData) -> (Vec<u32>, u64) {
        let mut bases = Vec::new();
        let mut total = 0u64;
        for c in &data.chunks {
            bases.push(total as u32);
            total += u64::from(self.workgroups(u64::from(c.len)));
        }
        (bases, total)
    }

    /// gpu-multipass and gpu-batched: per chunk an error pass and a first reduction, then
    /// further levels ping-ponging between two buffers down to one pair, then the update.
    pub(super) fn multipass(&mut self, data: &DeviceData) -> Result<Vec<Step>> {
        let error = self.pipeline(ShaderFile::Error, "error")?;
        let reduce_errors = self.pipeline(ShaderFile::Reduce, "reduce_errors")?;
        let reduce_partials = self.pipeline(ShaderFile::Reduce, "reduce_partials")?;
        let update = self.pipeline(ShaderFile::Update, "update")?;
        let (bases, first_level) = self.first_level(data);
        let partials_a = buffers::pairs(self.ctx, "partials-a", first_level);
        let partials_b = buffers::pairs(self.ctx, "partials-b", first_level.div_ceil(self.tile));
        let w = self.w;
        let mut steps = Vec::new();
        for (chunk, (c, &base)) in data.chunks.iter().zip(&bases).enumerate() {
            let e = buffers::floats(self.ctx, "e", u64::from(c.len));
            let params = Params {
                n: c.len,
                base,
                ..Params::default()
            };
            let workgroups = self.workgroups(u64::from(c.len));
            let role = Role::new(
                "error",
                "e",
                Pass::Errors {
                    chunk,
                    e: e.clone(),
                },
            );
            steps.push(self.step(&error, &[&c.x, &c.d, w, &e], params, [workgroups, 1], role));
            let pass = Pass::Partials {
                chunk,
                e: Some(e.clone()),
                out: partials_a.clone(),
                base,
                groups: workgroups,
                cover: Cover::Tiles { tile: self.tile },
            };
            steps.push(self.step(
                &reduce_errors,
                &[&e, &c.x, &partials_a],
                params,
                [workgroups, 1],
                Role::new("reduce_errors", "partials", pass),
            ));
            self.keep.push(e);
        }
        let (mut src, mut dst) = (&partials_a, &partials_b);
        let mut count = first_level;
        while count > 1 {
            let workgroups = self.workgroups(count);
            let params = Params {
                n: count as u32,
                ..Params::default()
            };
            let pass = Pass::Level {
                input: src.clone(),
                out: dst.clone(),
                n: count as u32,
                tile: self.tile,
            };
            let role = Role::new("reduce_partials", "level_out", pass);
            steps.push(self.step(&reduce_partials, &[src, dst], params, [workgroups, 1], role));
            count = u64::from(workgroups);
            std::mem::swap(&mut src, &mut dst);
        }
        let params = self.step_params;
        let pass = Pass::Update {
            sums: src.clone(),
            n: 1,
        };
        let role = Role::new("update", "w", pass);
        steps.push(self.step(&update, &[src, w], params, [1, 1], role));
        self.keep.extend([partials_a, partials_b]);
        Ok(steps)
    }

    /// gpu-fused and gpu-subgroup: per chunk a grid-stride error-and-reduce over a fixed number
    /// of workgroups (at most [`MAX_PARTIALS`] partials in all), then one workgroup of up to
    /// 1 024 invocations that sums the partials and updates w.
    pub(super) fn fused(
        &mut self,
        file: ShaderFile,
        first: &'static str,
        last: &'static str,
        data: &DeviceData,
    ) -> Result<Vec<Step>> {
        let errors = self.pipeline(file, first)?;
        let finish = pipeline_with(
            self.ctx,
            self.shaders,
            file,
            last,
            self.single_wg,
            &self.overrides,
            self.real,
        )?;
        let groups = self.sample_groups(data, 1);
        let total: u64 = groups.iter().map(|&g| u64::from(g)).sum();
        let partials = buffers::pairs_of(self.ctx, "partials", total, self.real);
        let w = self.w;
        let mut steps = Vec::new();
        let mut base = 0u32;
        let cover = Cover::GridStride {
            wg: u64::from(self.wg),
            per_vec: self.real.samples_per_vec4(),
        };
        for (chunk, (c, &workgroups)) in data.chunks.iter().zip(&groups).enumerate() {
            let params = Params {
                n: c.len,
                base,
                ..Params::default()
            };
            let pass = Pass::Partials {
                chunk,
                e: None,
                out: partials.clone(),
                base,
                groups: workgroups,
                cover,
            };
            steps.push(self.step(
                &errors,
                &[&c.x, &c.d, w, &partials],
                params,
                [workgroups, 1],
                Role::new(first, "partials_out", pass),
            ));
            base += workgroups;
        }
        let params = Params {
            n: total as u32,
            ..self.step_params
        };
        let pass = Pass::Update {
            sums: partials.clone(),
            n: total as u32,
        };
        let role = Role::new(last, "w", pass);
        steps.push(self.step(&finish, &[&partials, w], params, [1, 1], role));
        self.keep.push(partials);
        Ok(steps)
    }

    /// gpu-fused (and its f64 and f16 rungs) on a step-size search: per chunk a grid-stride pass
    /// over (block of steps × sample group) workgroups, each staging tiles of its samples in
    /// workgroup memory and summing them at every step of its block (`search.wgsl`), then one
    /// invocation per step adding its partials and updating w.
    pub(super) fn search(&mut self, data: &DeviceData, shape: &Shape) -> Result<Vec<Step>> {
        let constants = self.search_constants(shape);
        self.uses(ShaderFile::Search);
        let errors = pipeline_with(
            self.ctx,
            self.shaders,
            ShaderFile::Search,
            "search_errors",
            self.wg,
            &constants,
            self.real,
        )?;
        let finish = pipeline_with(
            self.ctx,
            self.shaders,
            ShaderFile::Search,
            "search_finish",
            self.wg,
            &constants,
            self.real,
        )?;
        let blocks = shape.steps / (4 * shape.step_vecs);
        debug_assert!(shape.wg.is_multiple_of(shape.step_vecs));
        let groups = self.sample_groups(data, u64::from(blocks));
        let total: u64 = groups.iter().map(|&g| u64::from(g)).sum();
        let partials = buffers::pairs_of(
            self.ctx,
            "partials",
            total * u64::from(shape.steps),
            self.real,
        );
        let steps_buffer = buffers::step_sizes(self.ctx, self.steps, u64::from(shape.steps));
        let w = self.w;
        let mut steps = Vec::new();
        let mut base = 0u32;
        for (c, &g) in data.chunks.iter().zip(&groups) {
            let params = Params {
                n: c.len,
                base,
                ..Params::default()
            };
            let role = Role::new("search_errors", "partials_out", Pass::Search);
            let bound = [&c.x, &c.d, w, &partials];
            steps.push(self.step(&errors, &bound, params, [blocks, g], role));
            base += g;
        }
        let params = Params {
            n: total as u32,
            ..self.step_params
        };
        let finish_groups = shape.steps.div_ceil(self.wg);
        steps.push(self.step(
            &finish,
            &[&partials, &steps_buffer, w],
            params,
            [finish_groups, 1],
            Role::new("search_finish", "w_finish", Pass::Search),
        ));
        self.keep.extend([partials, steps_buffer]);
        Ok(steps)
    }

    /// The search kernels' override constants: padded steps, vec4s of steps per workgroup, and
    /// the strategy's own.
    fn search_constants(&self, shape: &Shape) -> Vec<(&'static str, f64)> {
        let mut constants = vec![
            ("STEPS", f64::from(shape.steps)),
            ("STEP_VECS", f64::from(shape.step_vecs.max(1))),
            ("HELD", f64::from(shape.held)),
        ];
        constants.extend(self.overrides.iter().copied());
        constants
    }

    /// The grid-stride kernels' sample groups (workgroups) per chunk, for `blocks` blocks of steps
    /// sharing the cap of [`MAX_PARTIALS`] workgroups in all (with many steps each block gets
    /// fewer groups, and every workgroup more work). Below the cap, a GPU gets one vec4 per
    /// invocation (every resident invocation busy); a software adapter, which pays for each
    /// workgroup it runs, a whole tile (WG·ITEMS samples) per workgroup.
    fn sample_groups(&self, data: &DeviceData, blocks: u64) -> Vec<u32> {
        let cap = (MAX_PARTIALS / (blocks * data.chunks.len() as u64)).clamp(
            1,
            u64::from(self.ctx.limits.max_compute_workgroups_per_dimension),
        );
        let per_group = if self.ctx.info.device_type == wgpu::DeviceType::Cpu {
            self.tile
        } else {
            u64::from(self.wg) * self.real.samples_per_vec4()
        };
        data.chunks
            .iter()
            .map(|c| u64::from(c.len).div_ceil(per_group).min(cap) as u32)
            .collect()
    }

    /// gpu-persistent: a dispatch of `shape.per_dispatch` epochs, and one whose epoch count is
    /// set per solve for the remainder (or for a whole solve shorter than that). Where the
    /// adapter has SUBGROUP, the kernel sums each epoch with subgroupAdd (`subgroup.wgsl`). On a
    /// step-size search the kernel is `search.wgsl`'s, every step's weights in workgroup memory.
    pub(super) fn persistent(&mut self, data: &DeviceData, shape: &Shape) -> Result<Persistent> {
        let search = shape.step_vecs > 0;
        let (file, entry) = if search {
            (ShaderFile::Search, "search_persistent")
        } else if self.ctx.features.contains(wgpu::Features::SUBGROUP) {
            (ShaderFile::Subgroup, "persistent_subgroup")
        } else {
            (ShaderFile::Persistent, "persistent")
        };
        self.uses(file);
        let kernel = pipeline_with(
            self.ctx,
            self.shaders,
            file,
            entry,
            self.single_wg,
            &self.search_constants(shape),
            self.real,
        )?;
        let chunk = &data.chunks[0];
        let params = Params {
            n: chunk.len,
            epochs: shape.per_dispatch as u32,
            ..self.step_params
        };
        let w = self.w;
        let mut bound = vec![&chunk.x, &chunk.d];
        let steps_buffer =
            search.then(|| buffers::step_sizes(self.ctx, self.steps, u64::from(shape.steps)));
        bound.extend(steps_buffer.as_ref());
        bound.push(w);
        let pass = if search { Pass::Search } else { Pass::Epoch };
        // The weights as the kernel binds them: persistent.wgsl's `w`, the others' `w_persistent`.
        let writes = if entry == "persistent" {
            "w"
        } else {
            "w_persistent"
        };
        let role = Role::new(entry, writes, pass.clone());
        let full = self.step(&kernel, &bound, params, [1, 1], role);
        let rest = self.step(
            &kernel,
            &bound,
            params,
            [1, 1],
            Role::new(entry, writes, pass),
        );
        let rest_params = self.keep.last().expect("step keeps its uniform").clone();
        self.keep.extend(steps_buffer);
        Ok(Persistent {
            full,
            rest,
            rest_params,
            params,
            per_dispatch: shape.per_dispatch,
        })
    }
}

/// How a solve's epochs become dispatches and submissions: the one thing the solver's loop asks
/// of a strategy.
pub(super) enum Schedule {
    /// An epoch's dispatches, one submission per epoch (gpu-multipass: the design as drawn).
    PerEpoch(Vec<Step>),
    /// An epoch's dispatches, many epochs per submission (batched, fused, subgroup).
    Batched(Vec<Step>),
    /// Dispatches that each run many epochs (gpu-persistent).
    Persistent(Box<Persistent>),
}

impl Schedule {
    /// Builds the schedule of `strategy` over `data`, shaped by [`check`].
    pub fn build(
        builder: &mut Builder,
        strategy: Strategy,
        data: &DeviceData,
        shape: &Shape,
    ) -> Result<Self> {
        Ok(match strategy {
            Strategy::Multipass => Schedule::PerEpoch(builder.multipass(data)?),
            Strategy::Batched => Schedule::Batched(builder.multipass(data)?),
            Strategy::Fused | Strategy::FusedF64 | Strategy::FusedF16 if shape.step_vecs > 0 => {
                Schedule::Batched(builder.search(data, shape)?)
            }
            Strategy::Fused | Strategy::FusedF64 | Strategy::FusedF16 => Schedule::Batched(
                builder.fused(ShaderFile::Fused, "fused_errors", "finish", data)?,
            ),
            Strategy::FusedDf64 => Schedule::Batched(builder.fused(
                ShaderFile::Df64,
                "df64_errors",
                "df64_finish",
                data,
            )?),
            Strategy::Subgroup => Schedule::Batched(builder.fused(
                ShaderFile::Subgroup,
                "subgroup_errors",
                "subgroup_finish",
                data,
            )?),
            Strategy::Persistent => {
                Schedule::Persistent(Box::new(builder.persistent(data, shape)?))
            }
        })
    }

    /// Epochs per unit of submission: 1, or one persistent dispatch.
    pub fn unit(&self) -> u64 {
        match self {
            Schedule::Persistent(p) => p.per_dispatch,
            _ => 1,
        }
    }

    /// Dispatches per epoch, and the barriers per epoch of its one-workgroup kernels (a tree
    /// reduction over `single_wg` invocations: log₂ of it plus one; gpu-persistent's epoch one
    /// more, for its weights).
    pub fn per_epoch(&self, single_wg: u32) -> (f64, f64) {
        let tree = f64::from(single_wg.max(1).ilog2() + 1);
        match self {
            Schedule::Persistent(p) => (1.0 / p.per_dispatch as f64, tree + 1.0),
            Schedule::PerEpoch(steps) | Schedule::Batched(steps) => {
                let single = steps.iter().filter(|s| s.workgroups == [1, 1]).count();
                (steps.len() as f64, single as f64 * tree)
            }
        }
    }

    /// Readies a solve of `epochs` epochs (the persistent remainder's epoch count).
    pub fn begin_solve(&self, ctx: &GpuContext, epochs: u64) {
        if let Schedule::Persistent(p) = self {
            p.set_rest(ctx, epochs);
        }
    }

    /// The dispatches of `epochs` epochs starting at `first_epoch`, of a solve of `total`
    /// (persistent: `first_epoch` is a multiple of a dispatch's epochs).
    pub fn steps_for(&self, first_epoch: u64, epochs: u64, total: u64) -> Vec<&Step> {
        match self {
            Schedule::Persistent(p) => {
                let mut steps = Vec::new();
                let mut done = first_epoch;
                while done < first_epoch + epochs {
                    if total - done >= p.per_dispatch {
                        steps.push(&p.full);
                        done += p.per_dispatch;
                    } else {
                        steps.push(&p.rest);
                        done = total;
                    }
                }
                steps
            }
            Schedule::PerEpoch(steps) | Schedule::Batched(steps) => {
                (0..epochs).flat_map(|_| steps.iter()).collect()
            }
        }
    }
}

/// The persistent strategy's dispatches.
pub(super) struct Persistent {
    /// Runs `per_dispatch` epochs.
    pub full: Step,
    /// Runs the epochs a solve has left over after its full dispatches.
    pub rest: Step,
    /// The uniform of `rest`, rewritten by [`Persistent::set_rest`].
    rest_params: wgpu::Buffer,
    /// The parameters both dispatches share but the epoch count.
    params: Params,
    /// Epochs in a full dispatch.
    pub per_dispatch: u64,
}

impl Persistent {
    /// Sets the remainder dispatch to the epochs a solve of `epochs` leaves after its full ones.
    fn set_rest(&self, ctx: &GpuContext, epochs: u64) {
        let params = Params {
            epochs: (epochs % self.per_dispatch) as u32,
            ..self.params
        };
        ctx.queue
            .write_buffer(&self.rest_params, 0, bytemuck::bytes_of(&params));
    }
}

/// Most first-level partials gpu-fused and gpu-subgroup write per epoch (their grid-stride
/// workgroups, over all chunks): 2 048 workgroups of 256 cover the resident invocations of any
/// current GPU (an H100 holds 132 × 2 048), and the finish adds them in two steps per invocation.
/// (Data split into more than 2 048 chunks, possible only with a tiny test binding cap, gets one
/// workgroup per chunk.)
pub const MAX_PARTIALS: u64 = 2048;

/// Samples one invocation of gpu-persistent holds in registers across epochs, at most (the
/// `MAX_HELD` of `shaders/persistent.wgsl`); beyond `MAX_HELD` × its invocations, it streams
/// them from memory each epoch.
pub const MAX_HELD: u32 = 32;

/// Invocations of the one-workgroup kernels (persistent, fused finish) on `ctx` when
/// `--workgroup-size` does not set them: the adapter's most, up to 1 024; 256 on a software
/// adapter, which runs a workgroup's invocations as coroutines on one CPU thread, so a wider
/// single workgroup only adds switches at its barriers.
pub fn default_single_workgroup(ctx: &GpuContext) -> u32 {
    let limits = &ctx.limits;
    let largest = power_of_two_at_most(
        limits
            .max_compute_invocations_per_workgroup
            .min(limits.max_compute_workgroup_size_x)
            .min(MAX_SINGLE_WORKGROUP),
    );
    if ctx.info.device_type == wgpu::DeviceType::Cpu {
        DEFAULT_WORKGROUP_SIZE.min(largest)
    } else {
        largest
    }
}

/// How a strategy's kernels are sized for one problem on one adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Shape {
    /// Invocations per workgroup of the streaming kernels.
    pub wg: u32,
    /// Invocations of the one-workgroup kernels (persistent, fused finish).
    pub single_wg: u32,
    /// gpu-persistent: samples each invocation holds in registers (0: streams from memory).
    pub held: u32,
    /// gpu-persistent: epochs one dispatch runs (0 for the other strategies).
    pub per_dispatch: u64,
    /// Weight pairs the kernels update: the steps, padded to whole blocks (1 for one step).
    pub steps: u32,
    /// A search's vec4s of steps per workgroup of `search_errors` (a power of two up to `wg`;
    /// gpu-persistent: 1); 0: not a search.
    pub step_vecs: u32,
}

/// Why `strategy` sits out a step-size search, or `None` if it runs one.
pub fn search_refusal(strategy: Strategy) -> Option<&'static str> {
    match strategy {
        Strategy::Fused | Strategy::FusedF64 | Strategy::FusedF16 | Strategy::Persistent => None,
        Strategy::Multipass | Strategy::Batched => Some(
            "the design as drawn writes an error vector per step size per epoch: gpu-fused runs the search in one pass",
        ),
        Strategy::Subgroup => Some(
            "a search's kernel reduces once per workgroup, after all its tiles: subgroups would speed up nothing, and gpu-fused runs it",
        ),
        Strategy::FusedDf64 => Some(
            "df64's kernels and self-check take one step size: gpu-fused-f64 or the CPU rows run the search",
        ),
    }
}

/// How the search kernels split `k` steps: vec4s of steps per workgroup (a power of two, at
/// most `most`), and the steps padded to whole blocks of that many vec4s.
fn step_blocks(k: u32, most: u32) -> (u32, u32) {
    let vecs = k.div_ceil(4);
    let per_block = vecs.next_power_of_two().min(most);
    (per_block, vecs.next_multiple_of(per_block) * 4)
}

/// Epochs one gpu-persistent dispatch runs for `n` samples on `wg` invocations (`steps`: a
/// search's padded steps, 4 per vec4 of steps, `None` for one step): within
/// [`PERSISTENT_LOOP_BUDGET`] loop iterations per invocation on a software adapter (0 when even
/// one epoch exceeds it), about [`PERSISTENT_WORK_PER_DISPATCH`] sample-epochs on a GPU (at least
/// 1).
fn persistent_epochs_per_dispatch(
    n: u64,
    wg: u64,
    steps: Option<u32>,
    software: bool,
    subgroup_size: u64,
) -> u64 {
    // A search splits the invocations into vec4s of steps × lanes of samples and runs two trees
    // over the lanes per epoch; one step, one tree over all (or subgroup sums).
    let vecs = steps.map_or(1, |s| u64::from(s / 4).max(1));
    let lanes = (wg / vecs).max(1);
    let per_invocation = n.div_ceil(lanes);
    if software {
        // Loop iterations of invocation 0 per epoch: its samples, the trees (or, with subgroups,
        // its pass over the subgroups' totals), the epoch loop.
        let per_epoch = match steps {
            Some(_) => per_invocation + 2 * u64::from(lanes.ilog2()) + 3,
            None => per_invocation + u64::from(wg.ilog2()) + wg / subgroup_size + 3,
        };
        PERSISTENT_LOOP_BUDGET / per_epoch
    } else {
        // An epoch costs its sample-steps spread over the invocations or, for small N, its
        // barriers: a few ns each.
        let trees = if steps.is_some() { 2 } else { 1 };
        let per_epoch = (n * vecs).max(wg * (trees * u64::from(wg.ilog2()) + 3));
        (PERSISTENT_WORK_PER_DISPATCH / per_epoch).max(1)
    }
}

/// The largest power of two that is at most `limit`.
fn power_of_two_at_most(limit: u32) -> u32 {
    1 << limit.max(1).ilog2()
}

/// Checks that `strategy` can run `problem` on `ctx` and sizes its kernels. gpu-persistent's
/// epochs per dispatch respect [`PERSISTENT_LOOP_BUDGET`] on software adapters only; on a GPU
/// they are bounded by [`PERSISTENT_WORK_PER_DISPATCH`].
pub(super) fn check(
    ctx: &GpuContext,
    strategy: Strategy,
    problem: &Problem,
    settings: &GpuSettings,
) -> Result<Shape> {
    let (wg, single_wg) = workgroup_sizes(ctx, settings)?;
    let k = problem.steps().len() as u32;
    let mut shape = Shape {
        wg,
        single_wg,
        held: 0,
        per_dispatch: 0,
        steps: 1,
        step_vecs: 0,
    };
    if k > 1 {
        if let Some(reason) = search_refusal(strategy) {
            return Err(GdError::Unavailable {
                reason: reason.into(),
            });
        }
        // Unbounded here (gpu-persistent refuses more vec4s than invocations); search_errors'
        // blocks are bounded below, once its workgroup size is known.
        (shape.step_vecs, shape.steps) = step_blocks(k, u32::MAX);
    }
    missing_feature(ctx, strategy)?;
    let storage = ctx.limits.max_compute_workgroup_storage_size;
    match strategy {
        Strategy::Fused | Strategy::FusedF64 | Strategy::FusedF16 if k > 1 => {
            // search_errors' workgroup memory per invocation: a vec4 of x and of d (the tile) and
            // a vec4 of sums.
            let real = strategy.real();
            let per_invocation = 8 * real.data_bytes() + 4 * real.bytes();
            let fits = power_of_two_at_most((u64::from(storage) / per_invocation) as u32);
            shape.wg = shape.wg.min(fits);
            // Blocks of 4·STEP_VECS steps: every step in one block up to 4·WG of them.
            (shape.step_vecs, shape.steps) = step_blocks(k, shape.wg);
            Ok(shape)
        }
        Strategy::FusedF64 | Strategy::FusedDf64 => {
            // The tree's shared memory holds one f64 (or two df64) pair per invocation: 16 bytes.
            let fits = power_of_two_at_most(storage / 16);
            shape.wg = shape.wg.min(fits);
            shape.single_wg = shape.single_wg.min(fits);
            Ok(shape)
        }
        Strategy::Persistent => persistent_shape(ctx, problem, settings, shape),
        _ => Ok(shape),
    }
}

/// The streaming kernels' workgroup size and the one-workgroup kernels': `--workgroup-size` for
/// both (a power of two the adapter allows), else 256 and the adapter's most up to 1 024.
fn workgroup_sizes(ctx: &GpuContext, settings: &GpuSettings) -> Result<(u32, u32)> {
    let limits = &ctx.limits;
    let max_wg = limits.max_compute_invocations_per_workgroup;
    let largest = power_of_two_at_most(
        max_wg
            .min(limits.max_compute_workgroup_size_x)
            .min(MAX_SINGLE_WORKGROUP),
    );
    match settings.workgroup_size {
        Some(wg) if !wg.is_power_of_two() || wg > max_wg || wg < 2 => {
            Err(GdError::InvalidParameter {
                name: "--workgroup-size",
                problem: format!("{wg} must be a power of two between 2 and {max_wg}"),
            })
        }
        Some(wg) => Ok((wg, wg)),
        None => Ok((
            DEFAULT_WORKGROUP_SIZE.min(largest),
            default_single_workgroup(ctx),
        )),
    }
}

/// How an unavailable row's reason begins when the adapter lacks a feature; [`lacked_feature`]
/// reads the feature back.
const LACKS: &str = "the adapter has no ";

/// Unavailable when the strategy needs a feature the adapter lacks.
fn missing_feature(ctx: &GpuContext, strategy: Strategy) -> Result<()> {
    let (feature, name, why) = match strategy {
        Strategy::Subgroup => (wgpu::Features::SUBGROUP, "SUBGROUP", ""),
        Strategy::FusedF64 => (
            wgpu::Features::SHADER_F64,
            "SHADER_F64",
            " (no f64 in shaders)",
        ),
        Strategy::FusedF16 => (
            wgpu::Features::SHADER_F16,
            "SHADER_F16",
            " (no f16 in shaders)",
        ),
        _ => return Ok(()),
    };
    if ctx.features.contains(feature) {
        Ok(())
    } else {
        Err(GdError::Unavailable {
            reason: format!("{LACKS}{name} feature{why}"),
        })
    }
}

/// The feature an unavailable row's reason says the adapter lacks (`SUBGROUP`), if it says so.
pub fn lacked_feature(reason: &str) -> Option<&str> {
    let (name, _) = reason.strip_prefix(LACKS)?.split_once(" feature")?;
    Some(name)
}

/// gpu-persistent's shape: samples held per invocation and epochs per dispatch, or why its one
/// workgroup cannot run the problem (too many steps, too little workgroup memory, too much
/// work for a software adapter's loop budget, or N beyond one binding).
fn persistent_shape(
    ctx: &GpuContext,
    problem: &Problem,
    settings: &GpuSettings,
    mut shape: Shape,
) -> Result<Shape> {
    let limits = &ctx.limits;
    let (n, k) = (problem.n() as u64, problem.steps().len());
    let wg = u64::from(shape.single_wg);
    let unavailable = |reason: String| Err(GdError::Unavailable { reason });
    let search = shape.step_vecs > 0;
    if search && u64::from(shape.step_vecs) > wg {
        return unavailable(format!(
            "{k} steps are more vec4s of steps ({}) than its one workgroup has invocations ({wg}); use gpu-fused",
            shape.step_vecs
        ));
    }
    // Samples per invocation: a lane's share (one step's lane per vec4 of steps).
    let lanes = wg / u64::from(shape.step_vecs.max(1));
    let per_invocation = n.div_ceil(lanes);
    if per_invocation <= u64::from(MAX_HELD) {
        shape.held = per_invocation as u32;
    }
    let software = ctx.info.device_type == wgpu::DeviceType::Cpu;
    let subgroup = u64::from(ctx.info.subgroup_min_size.max(1));
    let steps = search.then_some(shape.steps);
    let per_dispatch = persistent_epochs_per_dispatch(n, wg, steps, software, subgroup);
    if search {
        // Every step's weights (8 bytes) and the tree's vec4 per invocation.
        let needed = u64::from(shape.steps) * 8 + wg * 16;
        let have = u64::from(limits.max_compute_workgroup_storage_size);
        if needed > have {
            return unavailable(format!(
                "{k} steps need {} KiB of workgroup memory and the adapter has {} KiB; use gpu-fused",
                needed.div_ceil(1024),
                have / 1024
            ));
        }
        if per_dispatch == 0 {
            return unavailable(format!(
                "N = {n} with {k} steps is too much work for one workgroup's loop budget on this software adapter; use gpu-fused"
            ));
        }
    }
    let binding = settings
        .max_binding_bytes
        .unwrap_or(limits.max_storage_buffer_binding_size)
        .min(limits.max_buffer_size);
    if per_dispatch == 0 || n.div_ceil(4) * 16 > binding {
        let by_loops = if software {
            (PERSISTENT_LOOP_BUDGET - 16) * wg
        } else {
            u64::MAX
        };
        let most = by_loops.min(binding / 4);
        return unavailable(format!(
            "N = {n} is too large for one workgroup reading one binding (at most about {most} samples here); use gpu-fused"
        ));
    }
    shape.per_dispatch = per_dispatch.min(u64::from(u32::MAX));
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feature_an_unavailable_row_lacks_is_read_back_from_its_reason() {
        let reason = format!("{LACKS}SHADER_F64 feature (no f64 in shaders)");
        assert_eq!(lacked_feature(&reason), Some("SHADER_F64"));
        assert_eq!(
            lacked_feature(&format!("{LACKS}SUBGROUP feature")),
            Some("SUBGROUP")
        );
        assert_eq!(
            lacked_feature("no GPU adapter (install mesa-vulkan-drivers)"),
            None
        );
    }

    #[test]
    fn persistent_dispatches_are_sized_for_one_step_and_for_a_search_on_both_kinds_of_adapter() {
        // On a GPU (the branch no software adapter reaches): one step at the article's size, a
        // search of 256 steps, tiny N where barriers dominate. Never zero, never a panic.
        let one = persistent_epochs_per_dispatch(10_000, 1024, None, false, 32);
        assert_eq!(one, PERSISTENT_WORK_PER_DISPATCH / (1024 * 13));
        let search = persistent_epochs_per_dispatch(10_000, 1024, Some(256), false, 32);
        assert_eq!(search, PERSISTENT_WORK_PER_DISPATCH / (10_000 * 64));
        assert!(search >= 1 && search < one);
        assert_eq!(
            persistent_epochs_per_dispatch(1 << 30, 1024, Some(4096), false, 32),
            1
        );
        // On a software adapter: within the loop budget per invocation, 0 when one epoch is over.
        let lava = persistent_epochs_per_dispatch(10_000, 256, None, true, 8);
        assert_eq!(lava, PERSISTENT_LOOP_BUDGET / (40 + 8 + 32 + 3));
        // 64 vec4s of steps on 256 invocations: 4 lanes of 2 500 samples, trees of 2 levels.
        let lava_search = persistent_epochs_per_dispatch(10_000, 256, Some(256), true, 8);
        assert_eq!(lava_search, PERSISTENT_LOOP_BUDGET / (2_500 + 4 + 3));
        assert_eq!(
            persistent_epochs_per_dispatch(1 << 24, 256, Some(64), true, 8),
            0
        );
    }
}
