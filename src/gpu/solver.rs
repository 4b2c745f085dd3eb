//! The GPU solvers: one struct, eight strategies, each recording an epoch its own way.
//!
//! - `gpu-multipass`: error pass, tree reduction level by level, update pass; one submission
//!   per epoch (the design as the user drew it).
//! - `gpu-batched`: the same kernels, many epochs per submission.
//! - `gpu-fused`: error folded into the first reduction, last level fused with the update.
//! - `gpu-persistent`: one workgroup loops over epochs inside a dispatch (small N).
//! - `gpu-subgroup`: gpu-fused with subgroup reductions.
//! - `gpu-fused-f64`, `gpu-fused-f16`: gpu-fused's kernels with data and arithmetic in f64, or data
//!   stored in f16 (the precision ladder; see [`Real`]).
//! - `gpu-fused-df64`: gpu-fused's design in double-float arithmetic (`df64.wgsl`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::buffers::{self, DeviceData, Params, Real};
use super::context::GpuContext;
use super::df64_check::Product;
use super::plan::{Builder, Schedule, Step, check};
use super::settings::{GpuSettings, Strategy};
use super::shaders::{ITEMS_PER_INVOCATION, KernelSource};
use super::timestamps::PassTimer;
use crate::error::{GdError, Result};
use crate::problem::Problem;
use crate::solver::{KernelReading, Outcome, Pacing, Phases, Solver};

mod replay;

pub use replay::{PassBreak, REPLAY_MOST, Replayed};

/// Time between divergence checks of a solve (each reads the weights back, draining the queue).
const DIVERGENCE_CHECK: Duration = Duration::from_secs(1);

/// Target wall time of one batched submission: short enough for OS GPU watchdogs (≈ 2 s on
/// Windows), long enough that the per-submission cost is negligible.
const BATCH_TARGET: Duration = Duration::from_millis(100);

/// A GPU solver prepared for one problem on one adapter.
pub struct GpuSolver {
    ctx: Arc<GpuContext>,
    epochs: u64,
    /// Weights beyond this have left a converging descent's range (see `Problem::sane_bound`).
    limit: f64,
    w: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// The type w (and everything else) is computed in.
    real: Real,
    /// Step sizes of the problem: the first `steps` of w's pairs are read back.
    steps: usize,
    /// Weight pairs in w (the steps padded to the search kernels' blocks).
    pairs: u64,
    /// The strategy's dispatches and how a solve submits them.
    schedule: Schedule,
    /// x and d on the device, bound by the steps.
    data: DeviceData,
    /// Partials, error vectors and uniforms the steps bind.
    _keep: Vec<wgpu::Buffer>,
    /// Upload time, and the last solve's read-back time.
    phases: Phases,
    /// Timestamp queries around every pass, where the adapter has them; written only by
    /// [`Solver::kernel_time`], never in an ordinary solve.
    timer: RefCell<Option<PassTimer>>,
    /// Whether the next passes write timestamps.
    timing: bool,
    /// How df64 kernels multiply on this adapter (gpu-fused-df64 only).
    product: Option<Product>,
    /// Invocations of the one-workgroup kernels.
    single_wg: u32,
    /// Submissions and epochs of the last solve.
    submitted: std::cell::Cell<(u64, u64)>,
    /// Every kernel file its pipelines compiled, and where each came from.
    kernels: Vec<KernelSource>,
}

impl GpuSolver {
    /// Uploads the data and builds every pipeline and bind group the strategy needs.
    pub fn new(
        ctx: Arc<GpuContext>,
        strategy: Strategy,
        problem: &Problem,
        settings: &GpuSettings,
    ) -> Result<Self> {
        // df64 first proves its arithmetic here: the operations on hard cases, then two epochs of
        // its own kernels on a problem where broken arithmetic shows.
        let product = match strategy {
            Strategy::FusedDf64 => {
                check(&ctx, strategy, problem, settings)?;
                let product = super::df64_check::self_check(&ctx, &settings.shaders)?;
                let probe = super::df64_check::probe_problem();
                let reference = crate::solver::SolverId::REFERENCE
                    .prepare(&probe)?
                    .solve()?
                    .w;
                let descent = |product| -> Result<()> {
                    let mut solver =
                        Self::build(ctx.clone(), strategy, &probe, settings, Some(product))?;
                    super::df64_check::judge_descent(
                        &settings.shaders,
                        solver.solve()?.w,
                        reference,
                    )
                };
                // An fma fused in df64_ops but not in the descent kernels: Dekker's split there.
                match (descent(product), product) {
                    (Ok(()), _) => Some(product),
                    (Err(_), Product::Fma) if descent(Product::Dekker).is_ok() => {
                        Some(Product::Dekker)
                    }
                    (Err(e), _) => return Err(e),
                }
            }
            _ => None,
        };
        Self::build(ctx, strategy, problem, settings, product)
    }

    /// [`GpuSolver::new`] once df64's arithmetic is known to hold (`product`: how it multiplies).
    fn build(
        ctx: Arc<GpuContext>,
        strategy: Strategy,
        problem: &Problem,
        settings: &GpuSettings,
        product: Option<Product>,
    ) -> Result<Self> {
        let real = strategy.real();
        let shape = check(&ctx, strategy, problem, settings)?;
        let wg = shape.wg;
        let tile = u64::from(wg) * u64::from(ITEMS_PER_INVOCATION);
        let chunk_len = match strategy {
            // One workgroup reads everything: the data sits in one binding (checked above).
            Strategy::Persistent => problem.n() as u64,
            _ => buffers::max_chunk_len(&ctx, tile as u32, settings.max_binding_bytes, real),
        };
        // The upload waits for each piece, so it is done (and timed) here, not in the first solve.
        let upload_start = Instant::now();
        let data = DeviceData::upload(&ctx, problem, chunk_len, real)?;
        let upload_s = upload_start.elapsed().as_secs_f64();
        let pairs = u64::from(shape.steps);
        let w = buffers::pairs_of(&ctx, "w", pairs, real);
        let mut builder = Builder {
            ctx: &ctx,
            wg,
            single_wg: shape.single_wg,
            tile,
            w: &w,
            shaders: &settings.shaders,
            real,
            step_params: Params::step(problem.steps()[0], problem.n()),
            steps: problem.steps(),
            overrides: product
                .map(|p| vec![("FMA", p.fma_override())])
                .unwrap_or_default(),
            keep: Vec::new(),
            used: Default::default(),
        };
        let schedule = Schedule::build(&mut builder, strategy, &data, &shape)?;
        let kernels = settings.shaders.kernels(&builder.used.into_inner())?;
        let keep = builder.keep;
        let timer = RefCell::new(PassTimer::new(&ctx));
        Ok(Self {
            readback: buffers::readback(&ctx, pairs * 2 * real.bytes()),
            real,
            steps: problem.steps().len(),
            pairs,
            ctx,
            epochs: problem.epochs(),
            limit: problem.sane_bound(),
            w,
            schedule,
            data,
            _keep: keep,
            phases: Phases {
                upload_s: Some(upload_s),
                ..Phases::default()
            },
            timer,
            timing: false,
            product,
            single_wg: shape.single_wg,
            submitted: std::cell::Cell::new((0, 0)),
            kernels,
        })
    }

    /// Records `steps` into one compute pass of `encoder`, timed when `timestamps` is given.
    fn record(
        encoder: &mut wgpu::CommandEncoder,
        steps: &[&Step],
        timestamps: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: timestamps,
        });
        for step in steps {
            pass.set_pipeline(&step.pipeline);
            pass.set_bind_group(0, &step.bind_group, &[]);
            pass.dispatch_workgroups(step.workgroups[0], step.workgroups[1], 1);
        }
    }

    /// Submits one command buffer of `epochs` epochs starting at `first_epoch` of a solve of
    /// `total` (one compute pass, with timestamps only while [`Solver::kernel_time`] runs).
    fn submit(&self, first_epoch: u64, epochs: u64, total: u64) -> Result<wgpu::SubmissionIndex> {
        let mut timer = self.timer.borrow_mut();
        let timer = timer.as_mut().filter(|_| self.timing);
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        let writes = match timer {
            Some(t) => {
                if t.full() {
                    t.read(&self.ctx)?;
                }
                Some(t.next_pass())
            }
            None => None,
        };
        Self::record(
            &mut encoder,
            &self.schedule.steps_for(first_epoch, epochs, total),
            writes,
        );
        let (submissions, epochs) = self.submitted.get();
        self.submitted.set((submissions + 1, epochs));
        Ok(self.ctx.queue.submit([encoder.finish()]))
    }

    /// Every step's weights, in step order.
    fn read_weights(&self) -> Result<Vec<[f64; 2]>> {
        let bytes = self.pairs * 2 * self.real.bytes();
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.w, 0, &self.readback, 0, bytes);
        let data = self
            .ctx
            .read_back(encoder, &self.readback, bytes, "the weights")?;
        let pair = (2 * self.real.bytes()) as usize;
        Ok(data
            .chunks_exact(pair)
            .take(self.steps)
            .map(|p| self.real.decode_pair(p))
            .collect())
    }
}

impl GpuSolver {
    /// Runs `epochs` epochs: the body of every solve, timed or instrumented.
    fn run(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        if crate::fault::lose_device_now() {
            self.ctx.lose_device();
        }
        self.ctx.alive()?;
        let zeros = vec![0u8; (self.pairs * 2 * self.real.bytes()) as usize];
        self.ctx.queue.write_buffer(&self.w, 0, &zeros);
        self.schedule.begin_solve(&self.ctx, epochs);
        self.submitted.set((0, epochs));
        let mut watch = Watch::new(self.steps, epochs, self.limit);
        let all_diverged = if matches!(self.schedule, Schedule::PerEpoch(_)) {
            self.submit_per_epoch(epochs, &mut watch)?
        } else {
            self.submit_batches(epochs, &mut watch)?
        };
        if all_diverged {
            return Ok(watch.seen.into_iter().flatten().collect());
        }
        let start = Instant::now();
        let weights = self.read_weights()?;
        self.phases.readback_s = Some(start.elapsed().as_secs_f64());
        Ok(watch.outcomes(weights))
    }

    /// One submission per epoch, waiting on the one 64 back to bound the queue; true when every
    /// step diverged before the end.
    fn submit_per_epoch(&self, epochs: u64, watch: &mut Watch) -> Result<bool> {
        let mut in_flight = VecDeque::new();
        let mut submitted = 0u64;
        while submitted < epochs {
            in_flight.push_back(self.submit(submitted, 1, epochs)?);
            submitted += 1;
            if in_flight.len() > 64 {
                self.ctx.wait(in_flight.pop_front().expect("not empty"))?;
                match watch.checkpoint(self, submitted)? {
                    Some(true) => return Ok(true),
                    Some(false) => in_flight.clear(),
                    None => {}
                }
            }
        }
        Ok(false)
    }

    /// Batches of epochs, two in flight: batch k+1 is recorded and submitted while batch k runs,
    /// and the host waits on k only. Not on a software adapter: its "GPU" is the host's own
    /// cores, which recording would take from it. Batches are sized from the GPU's pace so each
    /// takes about BATCH_TARGET. True when every step diverged before the end.
    fn submit_batches(&self, epochs: u64, watch: &mut Watch) -> Result<bool> {
        let unit = self.schedule.unit();
        let depth = if self.ctx.device_type() == crate::solver::DeviceType::Cpu {
            1
        } else {
            2
        };
        // In flight: (submission, epochs, when submitted).
        let mut in_flight = VecDeque::new();
        let mut batch = 16u64.min(epochs.div_ceil(unit)) * unit;
        let mut last_finish = Instant::now();
        let mut submitted = 0u64;
        while submitted < epochs || !in_flight.is_empty() {
            while submitted < epochs && in_flight.len() < depth {
                let count = batch.min(epochs - submitted);
                let index = self.submit(submitted, count, epochs)?;
                in_flight.push_back((index, count, Instant::now()));
                submitted += count;
            }
            let (index, count, at) = in_flight.pop_front().expect("one in flight");
            self.ctx.wait(index)?;
            // This batch ran from its submission or the previous one's end, whichever is later.
            let now = Instant::now();
            let took = (now - at.max(last_finish)).as_secs_f64().max(1e-6);
            last_finish = now;
            let fit = (count as f64 * BATCH_TARGET.as_secs_f64() / took) as u64;
            batch = (fit / unit).clamp(1, 1 << 16) * unit;
            match watch.checkpoint(self, submitted)? {
                Some(true) => return Ok(true),
                // The read-back drained the queue: nothing is in flight any more.
                Some(false) => {
                    in_flight.clear();
                    last_finish = Instant::now();
                }
                None => {}
            }
        }
        Ok(false)
    }
}

/// A solve's divergence watch. Weights are read back at checkpoints about a second apart (a
/// read-back drains the queue): each step seen out of range keeps the weights and epoch it was
/// seen at (its kernels go on, harmlessly), and once every step has, the solve stops early.
struct Watch {
    /// Per step: its weights and epoch when first seen out of range.
    seen: Vec<Option<Outcome>>,
    /// The solve's epochs.
    epochs: u64,
    /// Weights beyond this are out of range.
    limit: f64,
    /// When the weights were last read.
    last_check: Instant,
}

impl Watch {
    /// The watch of a solve of `steps` descents over `epochs` epochs.
    fn new(steps: usize, epochs: u64, limit: f64) -> Self {
        Self {
            seen: vec![None; steps],
            epochs,
            limit,
            last_check: Instant::now(),
        }
    }

    /// True when weights `w` are out of range.
    fn diverged(&self, w: &[f64; 2]) -> bool {
        !w.iter().all(|v| v.abs() <= self.limit)
    }

    /// After `submitted` epochs: None if no check was due, else whether every step has now
    /// diverged. A check waits for everything submitted.
    fn checkpoint(&mut self, solver: &GpuSolver, submitted: u64) -> Result<Option<bool>> {
        if crate::interrupt::requested() {
            return Err(GdError::Interrupted);
        }
        if self.last_check.elapsed() < DIVERGENCE_CHECK || submitted >= self.epochs {
            return Ok(None);
        }
        let weights = solver.read_weights()?;
        self.last_check = Instant::now();
        for (i, w) in weights.into_iter().enumerate() {
            if self.seen[i].is_none() && self.diverged(&w) {
                self.seen[i] = Some(Outcome {
                    w,
                    diverged_at: Some(submitted),
                });
            }
        }
        Ok(Some(self.seen.iter().all(Option::is_some)))
    }

    /// Each step's outcome from the final `weights`: as first seen out of range, else as read
    /// (diverged at the end when out of range then).
    fn outcomes(self, weights: Vec<[f64; 2]>) -> Vec<Outcome> {
        let at_end = |w: [f64; 2]| Outcome {
            w,
            diverged_at: self.diverged(&w).then_some(self.epochs),
        };
        self.seen
            .iter()
            .zip(weights)
            .map(|(seen, w)| seen.unwrap_or_else(|| at_end(w)))
            .collect()
    }
}

impl Solver for GpuSolver {
    fn epochs(&self) -> u64 {
        self.epochs
    }

    /// Every step size it was prepared for: one solve, all descents at once (a search's kernels
    /// update every step's weights each epoch).
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        self.timing = false;
        self.run(epochs)
    }

    fn has_gpu_passes(&self) -> bool {
        true
    }

    fn diverged_steps_run_on(&self) -> bool {
        true
    }

    fn kernel_time(&mut self) -> Option<Result<KernelReading>> {
        match self.timer.get_mut() {
            Some(timer) => timer.reset(),
            None => {
                let why = "the adapter has no TIMESTAMP_QUERY: kernel time not measured";
                return Some(Ok(Err(why.into())));
            }
        }
        self.timing = true;
        let wall = Instant::now();
        let outcome = self.run(self.epochs);
        let wall_s = wall.elapsed().as_secs_f64();
        self.timing = false;
        let reading = outcome.and_then(|_| {
            let timer = self.timer.get_mut().as_mut().expect("checked above");
            timer.read(&self.ctx)?;
            Ok(timer.result(wall_s))
        });
        Some(reading)
    }

    fn chunks(&self) -> Option<usize> {
        Some(self.data.chunks.len())
    }

    fn kernels(&self) -> Vec<KernelSource> {
        self.kernels.clone()
    }

    fn pacing(&self) -> Option<Pacing> {
        let (dispatches_per_epoch, barriers_per_epoch) = self.schedule.per_epoch(self.single_wg);
        let (submissions, epochs) = self.submitted.get();
        Some(Pacing {
            dispatches_per_epoch,
            submissions_per_epoch: submissions as f64 / epochs.max(1) as f64,
            barriers_per_epoch,
        })
    }

    fn note(&self) -> Option<String> {
        match self.product? {
            Product::Fma => None,
            Product::Dekker => Some(
                "df64 products by Dekker's split: this adapter's fma is not fused (self-check)"
                    .into(),
            ),
        }
    }

    fn phases(&self) -> Phases {
        self.phases.clone()
    }
}
