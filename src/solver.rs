//! What every solver is: a name, the device it runs on, a precision, and `solve`, which runs
//! the whole descent once. Preparation (allocation, conversion, upload) happens before and is
//! timed apart by the harness.

use std::fmt;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::cpu;
use crate::error::{GdError, Result};
use crate::gpu::{GpuContext, GpuSettings, GpuSolver, NO_ADAPTER_HINT, Strategy};
use crate::problem::Problem;
use crate::validate::Arithmetic;

/// Flops per sample per epoch: the error (3), Σe (1) and Σe·x (2).
pub const FLOPS_PER_SAMPLE: f64 = 6.0;

/// Bytes of x and d one epoch reads per sample in `precision`.
pub fn bytes_per_sample(precision: Precision) -> f64 {
    match precision {
        Precision::F16 => 4.0,
        Precision::F32 => 8.0,
        Precision::Df64 | Precision::F64 => 16.0,
    }
}

/// Floating-point precision a solver computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Data stored in IEEE half precision, arithmetic in f32: judged against the f64 descent on
    /// the f16-rounded data, with the f32 tolerance.
    F16,
    /// IEEE single precision (what GPUs compute in by default).
    F32,
    /// Double-float: pairs of f32 (hi, lo), about 48 significand bits with f32's exponent range;
    /// judged by a rounding model of its own.
    Df64,
    /// IEEE double precision (the reference).
    F64,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F16 => "f16",
            Precision::F32 => "f32",
            Precision::Df64 => "df64",
            Precision::F64 => "f64",
        })
    }
}

impl Precision {
    /// The arithmetic a row known only by its precision is judged in (a peer's): its summation
    /// unknown, f64 is taken to sum left to right, the loosest way.
    pub fn arithmetic(self) -> Arithmetic {
        match self {
            Precision::F16 | Precision::F32 => Arithmetic::F32,
            Precision::Df64 => Arithmetic::Df64,
            Precision::F64 => Arithmetic::F64Sequential,
        }
    }
}

/// The kind of device a run used; a software GPU adapter reports `Cpu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceType {
    /// The host CPU (or a GPU adapter that is CPU emulation, such as lavapipe).
    Cpu,
    /// A discrete GPU.
    DiscreteGpu,
    /// A GPU sharing the CPU's memory.
    IntegratedGpu,
    /// A virtualised GPU.
    VirtualGpu,
    /// Anything the driver does not classify (or a peer's GPU its library does not).
    #[serde(other)]
    Other,
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceType::Cpu => "cpu",
            DeviceType::DiscreteGpu => "discrete-gpu",
            DeviceType::IntegratedGpu => "integrated-gpu",
            DeviceType::VirtualGpu => "virtual-gpu",
            DeviceType::Other => "other",
        })
    }
}

/// Where and how a solver computes, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SolverInfo {
    /// The device's name, e.g. the CPU model.
    pub device: String,
    /// The device's kind.
    pub device_type: DeviceType,
    /// Arithmetic precision.
    pub precision: Precision,
    /// Host threads the solver computes with.
    pub threads: usize,
}

/// What one solve produced: the final weights, or where they stopped being finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// `[w0, w1]` after the last epoch run.
    pub w: [f64; 2],
    /// The epoch by which a weight was NaN or infinite, if one was: exact for CPU solvers, the
    /// first checkpoint after it for GPU solvers (they check about once a second, and at the end).
    pub diverged_at: Option<u64>,
}

/// What a solver can say of its phases beyond the harness's wall times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phases {
    /// Seconds of preparation spent copying the data to a device and waiting for it (GPU solvers).
    pub upload_s: Option<f64>,
    /// Seconds the last solve spent reading its weights back (GPU solvers).
    pub readback_s: Option<f64>,
}

/// How a solve's epochs reach a GPU: the counts that, times the adapter's measured costs, give
/// the least time an epoch can take (its latency wall).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Pacing {
    /// Dispatches per epoch (a persistent kernel's: one over the epochs each dispatch runs).
    pub dispatches_per_epoch: f64,
    /// Submissions per epoch in the last solve.
    pub submissions_per_epoch: f64,
    /// Workgroup barriers one workgroup passes in sequence per epoch (one-workgroup kernels).
    pub barriers_per_epoch: f64,
}

/// GPU seconds of one solve's passes by timestamp queries, or why there is no valid reading.
pub type KernelReading = std::result::Result<f64, String>;

/// A prepared solver, ready to run the descent any number of times from `w = (0, 0)`.
pub trait Solver {
    /// The epochs of the problem the solver was prepared for.
    fn epochs(&self) -> u64;

    /// Runs `epochs` epochs of every step size from `w = (0, 0)`: one outcome per step, in the
    /// problem's step order (the whole problem, or a few epochs for a spot check).
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>>;

    /// Every epoch of every step size of the problem it was prepared for.
    fn solve_all(&mut self) -> Result<Vec<Outcome>> {
        let epochs = self.epochs();
        self.descents(epochs)
    }

    /// `epochs` epochs of a single-step problem's descent (in a search: every step runs, the
    /// first step's outcome is returned).
    fn solve_for(&mut self, epochs: u64) -> Result<Outcome> {
        Ok(self.descents(epochs)?[0])
    }

    /// Every epoch of a single-step problem's descent (in a search: every step runs, the first
    /// step's outcome is returned).
    fn solve(&mut self) -> Result<Outcome> {
        let epochs = self.epochs();
        self.solve_for(epochs)
    }

    /// Upload and read-back times where the solver has them; none for CPU solvers.
    fn phases(&self) -> Phases {
        Phases::default()
    }

    /// True for solvers whose passes [`Solver::kernel_time`] can time (GPU solvers).
    fn has_gpu_passes(&self) -> bool {
        false
    }

    /// One whole solve with its GPU passes timed by timestamp queries: the kernel seconds, or why
    /// there is no valid reading. `None` for solvers without GPU passes. Never called inside a
    /// wall-timed repeat.
    fn kernel_time(&mut self) -> Option<Result<KernelReading>> {
        None
    }

    /// The last solve's dispatches, submissions and barriers per epoch (GPU solvers; `None`
    /// elsewhere).
    fn pacing(&self) -> Option<Pacing> {
        None
    }

    /// How many pieces the data was split into on the device (GPU solvers; `None` elsewhere).
    fn chunks(&self) -> Option<usize> {
        None
    }

    /// True when a search's diverged descents go on computing until the solve ends (GPU kernels
    /// update every step's weights each epoch; their outcome's `diverged_at` is where a check
    /// saw them leave the range): the work done counts every epoch of every step.
    fn diverged_steps_run_on(&self) -> bool {
        false
    }

    /// The kernel files its pipelines compiled and where each came from (GPU solvers; empty
    /// elsewhere).
    fn kernels(&self) -> Vec<crate::gpu::shaders::KernelSource> {
        Vec::new()
    }

    /// Something the report should say about how this solver runs here (a fallback it took).
    fn note(&self) -> Option<String> {
        None
    }
}

/// The families `--solvers` can name as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Solvers running on the host CPU.
    Cpu,
    /// Solvers running on a GPU adapter.
    Gpu,
}

/// Every solver gdbench knows; declaration order is report order (and the derived `Ord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SolverId {
    /// The article's pure-Python algorithm in plain loops: a fresh error vector per epoch.
    CpuNaive,
    /// One fused, vectorised pass per epoch in f64: the reference.
    CpuFused,
    /// The fused pass in f32, to separate f32 rounding from GPU effects.
    CpuFusedF32,
    /// The f32 fused pass over x and d stored in f16: the CPU side of the ladder's f16 rung.
    CpuFusedF16,
    /// The fused pass split across all cores with a pool that lives across epochs.
    CpuThreads,
    /// Threads that keep their slice for the whole descent and share each epoch's sums as a team
    /// that a parked thread does not hold up.
    CpuPersistent,
    /// cpu-persistent over f32 data, summed by cpu-fused-f32's contracted kernel.
    CpuPersistentF32,
    /// O(1) per epoch from four moments: the algorithmic limit, not an array benchmark.
    CpuMoments,
    /// The multi-pass design: error, tree reduction levels, update; one submission per epoch.
    GpuMultipass,
    /// The multi-pass kernels with many epochs per submission.
    GpuBatched,
    /// Error folded into the first reduction; last level fused with the update.
    GpuFused,
    /// One workgroup looping over epochs inside a dispatch (small N).
    GpuPersistent,
    /// gpu-fused with subgroup reductions (adapters with SUBGROUP).
    GpuSubgroup,
    /// gpu-fused in f64 (adapters with SHADER_F64): the precision ladder's top rung.
    GpuFusedF64,
    /// gpu-fused in double-float arithmetic (pairs of f32): near-f64 accuracy on any GPU.
    GpuFusedDf64,
    /// gpu-fused with x and d stored in f16, arithmetic in f32 (adapters with SHADER_F16).
    GpuFusedF16,
}

impl SolverId {
    /// All solvers, in the order reports list them.
    pub const ALL: [SolverId; 16] = [
        SolverId::CpuNaive,
        SolverId::CpuFused,
        SolverId::CpuFusedF32,
        SolverId::CpuFusedF16,
        SolverId::CpuThreads,
        SolverId::CpuPersistent,
        SolverId::CpuPersistentF32,
        SolverId::CpuMoments,
        SolverId::GpuMultipass,
        SolverId::GpuBatched,
        SolverId::GpuFused,
        SolverId::GpuPersistent,
        SolverId::GpuSubgroup,
        SolverId::GpuFusedF64,
        SolverId::GpuFusedDf64,
        SolverId::GpuFusedF16,
    ];

    /// Characters of the longest name: the column names are padded to in plain-text lists.
    pub const NAME_WIDTH: usize = 18;

    /// The solver every other is validated against.
    pub const REFERENCE: SolverId = SolverId::CpuFused;

    /// The solver speed-ups are measured against.
    pub const BASELINE: SolverId = SolverId::CpuNaive;

    /// The precision ladder (`--solvers ladder`): the fused pass at every precision, CPU and GPU.
    pub const LADDER: [SolverId; 7] = [
        SolverId::CpuFused,
        SolverId::CpuFusedF32,
        SolverId::CpuFusedF16,
        SolverId::GpuFused,
        SolverId::GpuFusedF64,
        SolverId::GpuFusedDf64,
        SolverId::GpuFusedF16,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SolverId::CpuNaive => "cpu-naive",
            SolverId::CpuFused => "cpu-fused",
            SolverId::CpuFusedF32 => "cpu-fused-f32",
            SolverId::CpuFusedF16 => "cpu-fused-f16",
            SolverId::CpuThreads => "cpu-threads",
            SolverId::CpuPersistent => "cpu-persistent",
            SolverId::CpuPersistentF32 => "cpu-persistent-f32",
            SolverId::CpuMoments => "cpu-moments",
            SolverId::GpuMultipass => "gpu-multipass",
            SolverId::GpuBatched => "gpu-batched",
            SolverId::GpuFused => "gpu-fused",
            SolverId::GpuPersistent => "gpu-persistent",
            SolverId::GpuSubgroup => "gpu-subgroup",
            SolverId::GpuFusedF64 => "gpu-fused-f64",
            SolverId::GpuFusedDf64 => "gpu-fused-df64",
            SolverId::GpuFusedF16 => "gpu-fused-f16",
        }
    }

    /// One line on what the solver does.
    pub fn summary(self) -> &'static str {
        match self {
            SolverId::CpuNaive => {
                "the article's pure-Python algorithm in plain loops: a fresh error vector and separate passes each epoch"
            }
            SolverId::CpuFused => {
                "one fused pass per epoch, 32 accumulators, SIMD chosen at run time (the f64 reference: never contracted to FMA)"
            }
            SolverId::CpuFusedF32 => {
                "cpu-fused in f32 throughout, contracted to FMA where the CPU has it: tells f32 rounding apart from GPU effects"
            }
            SolverId::CpuFusedF16 => {
                "cpu-fused-f32 over x and d stored in f16 (half the bytes): f16 storage's effect on the CPU side"
            }
            SolverId::CpuThreads => {
                "cpu-fused with each epoch's sums split across all cores; the pool lives across epochs"
            }
            SolverId::CpuPersistent => {
                "the CPU twin of gpu-persistent: one thread per core keeps its slice for the whole descent; a parked thread's slice is summed by the others"
            }
            SolverId::CpuPersistentF32 => {
                "cpu-persistent over f32 data, each slice summed by cpu-fused-f32's kernel (contracted to FMA where the CPU has it)"
            }
            SolverId::CpuMoments => {
                "O(1) per epoch from Σx, Σx², Σd, Σxd: the algorithmic limit, not an array benchmark"
            }
            SolverId::GpuMultipass => {
                "the design as drawn: error pass, tree reduction level by level, update pass; one submission per epoch"
            }
            SolverId::GpuBatched => {
                "gpu-multipass's kernels with many epochs per submission (each about 100 ms)"
            }
            SolverId::GpuFused => {
                "error folded into the first reduction (x, d read once), last level fused with the update"
            }
            SolverId::GpuPersistent => {
                "one workgroup loops over epochs inside a dispatch, split to respect driver loop caps (small N)"
            }
            SolverId::GpuSubgroup => {
                "gpu-fused with subgroupAdd reductions (adapters with SUBGROUP)"
            }
            SolverId::GpuFusedF64 => {
                "gpu-fused in f64: data, sums and weights (adapters with SHADER_F64), held to the f64 rounding model"
            }
            SolverId::GpuFusedDf64 => {
                "gpu-fused in double-float arithmetic: f32 pairs with error-free transforms, about 48 bits on any GPU, held to its rounding model"
            }
            SolverId::GpuFusedF16 => {
                "gpu-fused with x and d stored in f16 (half the bytes), arithmetic in f32 (adapters with SHADER_F16)"
            }
        }
    }

    /// The family the solver belongs to.
    pub fn group(self) -> Group {
        match self.strategy() {
            Some(_) => Group::Gpu,
            None => Group::Cpu,
        }
    }

    /// The GPU strategy behind a GPU solver.
    pub fn strategy(self) -> Option<Strategy> {
        match self {
            SolverId::GpuMultipass => Some(Strategy::Multipass),
            SolverId::GpuBatched => Some(Strategy::Batched),
            SolverId::GpuFused => Some(Strategy::Fused),
            SolverId::GpuPersistent => Some(Strategy::Persistent),
            SolverId::GpuSubgroup => Some(Strategy::Subgroup),
            SolverId::GpuFusedF64 => Some(Strategy::FusedF64),
            SolverId::GpuFusedDf64 => Some(Strategy::FusedDf64),
            SolverId::GpuFusedF16 => Some(Strategy::FusedF16),
            _ => None,
        }
    }

    /// The arithmetic its rounding is modelled in: its precision, and how it takes its sums.
    pub fn arithmetic(self) -> Arithmetic {
        match self {
            SolverId::CpuNaive => Arithmetic::F64Sequential,
            SolverId::CpuMoments => Arithmetic::Moments,
            SolverId::GpuFusedF64 => Arithmetic::F64PairedStep,
            s if s.precision() == Precision::F64 => Arithmetic::F64,
            s => s.precision().arithmetic(),
        }
    }

    /// Precision the solver computes in.
    pub fn precision(self) -> Precision {
        match self {
            SolverId::CpuFusedF32 | SolverId::CpuPersistentF32 => Precision::F32,
            SolverId::CpuFusedF16 => Precision::F16,
            SolverId::GpuFusedF64 => Precision::F64,
            SolverId::GpuFusedDf64 => Precision::Df64,
            SolverId::GpuFusedF16 => Precision::F16,
            s if s.group() == Group::Gpu => Precision::F32,
            _ => Precision::F64,
        }
    }

    /// Device, device type, precision and threads (for `n` samples); GPU solvers name their
    /// adapter.
    pub fn info(self, gpu: Option<&GpuContext>, n: usize) -> SolverInfo {
        let (device, device_type) = match (self.group(), gpu) {
            (Group::Gpu, Some(ctx)) => (ctx.label(), ctx.device_type()),
            (Group::Gpu, None) => ("no adapter".to_string(), DeviceType::Other),
            (Group::Cpu, _) => (crate::machine::cpu_model(), DeviceType::Cpu),
        };
        SolverInfo {
            device,
            device_type,
            precision: self.precision(),
            threads: match self {
                SolverId::CpuThreads => cpu::threads_used(n),
                SolverId::CpuPersistent => cpu::persistent_threads::<f64>(n),
                SolverId::CpuPersistentF32 => cpu::persistent_threads::<f32>(n),
                _ => 1,
            },
        }
    }

    /// Prepares a CPU solver (a GPU solver without an adapter is `Unavailable`).
    pub fn prepare<'p>(self, problem: &'p Problem) -> Result<Box<dyn Solver + 'p>> {
        self.prepare_on(problem, None, &GpuSettings::default())
    }

    /// Allocates, converts, uploads and compiles what the solver needs: everything but the
    /// descent. GPU solvers run on `gpu`.
    pub fn prepare_on<'p>(
        self,
        problem: &'p Problem,
        gpu: Option<&Arc<GpuContext>>,
        settings: &GpuSettings,
    ) -> Result<Box<dyn Solver + 'p>> {
        if let Some(strategy) = self.strategy() {
            let ctx = gpu.ok_or_else(|| GdError::Unavailable {
                reason: NO_ADAPTER_HINT.into(),
            })?;
            return Ok(Box::new(GpuSolver::new(
                Arc::clone(ctx),
                strategy,
                problem,
                settings,
            )?));
        }
        Ok(match self {
            SolverId::CpuNaive => Box::new(cpu::Naive::new(problem)),
            SolverId::CpuFused => Box::new(cpu::Fused::<f64>::new(problem)?),
            SolverId::CpuFusedF32 => Box::new(cpu::Fused::<f32>::new(problem)?),
            SolverId::CpuFusedF16 => Box::new(cpu::FusedF16::new(problem)?),
            SolverId::CpuThreads => Box::new(cpu::Threads::new(problem)?),
            SolverId::CpuPersistent => Box::new(cpu::Persistent::<f64>::new(problem, self.name())?),
            SolverId::CpuPersistentF32 => {
                Box::new(cpu::Persistent::<f32>::new(problem, self.name())?)
            }
            _ => Box::new(cpu::Moments::new(problem)),
        })
    }

    /// Looks a solver up by its name.
    pub fn from_name(name: &str) -> Option<SolverId> {
        SolverId::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for SolverId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A solver picked by `--solvers`, and whether it was named (and so must run) or came in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selected {
    /// The solver.
    pub id: SolverId,
    /// True when named explicitly: a named solver that cannot run fails the command.
    pub explicit: bool,
}

/// `gdbench solvers`: every solver with what it does, then the groups `--solvers` takes.
pub fn catalogue() -> String {
    let width = SolverId::NAME_WIDTH;
    let mut out: String = SolverId::ALL
        .iter()
        .map(|id| format!("{:<width$} {}\n", id.name(), id.summary()))
        .collect();
    let simd = crate::cpu::simd_level();
    out += &format!(
        "{:<width$} {}\n",
        "",
        if simd.fma() {
            format!(
                "(this CPU: {}, FMA: the f32 and f16 rows contract)",
                simd.name()
            )
        } else {
            format!("(this CPU: {}, no FMA used: no row contracts)", simd.name())
        }
    );
    for (group, what) in [
        (
            "all",
            "every solver above that this machine can run (the default)",
        ),
        ("cpu", "the CPU solvers"),
        ("gpu", "the GPU solvers"),
    ] {
        out += &format!("{group:<width$} {what}\n");
    }
    out
}

/// Parses a comma-separated list of solver names and the groups `cpu`, `gpu`, `ladder`, `all`.
/// Order follows the catalogue; duplicates collapse; a solver named anywhere counts as explicit.
pub fn select(spec: &str) -> Result<Vec<Selected>> {
    let mut picked: Vec<Selected> = Vec::new();
    let mut add = |id: SolverId, explicit: bool| match picked.iter_mut().find(|s| s.id == id) {
        Some(s) => s.explicit |= explicit,
        None => picked.push(Selected { id, explicit }),
    };
    for name in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = name.to_ascii_lowercase();
        let group = match name.as_str() {
            "all" => Some(None),
            "cpu" => Some(Some(Group::Cpu)),
            "gpu" => Some(Some(Group::Gpu)),
            _ => None,
        };
        match group {
            Some(g) => SolverId::ALL
                .into_iter()
                .filter(|s| g.is_none_or(|g| s.group() == g))
                .for_each(|s| add(s, false)),
            None if name == "ladder" => SolverId::LADDER.into_iter().for_each(|s| add(s, false)),
            None => add(
                SolverId::from_name(&name).ok_or_else(|| GdError::UnknownSolver {
                    name: name.clone(),
                    valid: valid_names(),
                })?,
                true,
            ),
        }
    }
    if picked.is_empty() {
        return Err(GdError::InvalidParameter {
            name: "--solvers",
            problem: format!("no solver named; choose from {}", valid_names()),
        });
    }
    picked.sort_by_key(|s| s.id);
    Ok(picked)
}

/// Every valid `--solvers` word, for error messages.
pub fn valid_names() -> String {
    let mut names: Vec<&str> = SolverId::ALL.iter().map(|s| s.name()).collect();
    names.extend(["cpu", "gpu", "ladder", "all"]);
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_width_is_the_longest_name() {
        let longest = SolverId::ALL.iter().map(|s| s.name().len()).max();
        assert_eq!(longest, Some(SolverId::NAME_WIDTH));
    }

    #[test]
    fn groups_and_names_select_in_catalogue_order() {
        let picked = select("cpu-moments, cpu-naive").unwrap();
        let ids: Vec<_> = picked.iter().map(|s| s.id).collect();
        assert_eq!(ids, [SolverId::CpuNaive, SolverId::CpuMoments]);
        assert!(picked.iter().all(|s| s.explicit));

        let all = select("all,cpu-fused").unwrap();
        assert_eq!(all.len(), SolverId::ALL.len());
        assert!(
            all.iter()
                .all(|s| s.explicit == (s.id == SolverId::CpuFused))
        );
    }

    #[test]
    fn the_catalogue_is_in_report_order() {
        assert!(SolverId::ALL.is_sorted());
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = select("cpu-fast").unwrap_err().to_string();
        assert!(err.contains("unknown solver `cpu-fast`"), "{err}");
        assert!(err.contains("cpu-fused, cpu-fused-f32"), "{err}");
        assert!(select("").is_err());
        let gpu = select("gpu").unwrap();
        assert!(
            gpu.iter()
                .all(|s| s.id.group() == Group::Gpu && !s.explicit)
        );
    }

    #[test]
    fn the_ladder_is_every_precision_of_the_fused_pass_once() {
        let ladder: Vec<_> = select("ladder").unwrap().iter().map(|s| s.id).collect();
        assert_eq!(ladder, SolverId::LADDER);
        for group in [Group::Cpu, Group::Gpu] {
            let mut precisions: Vec<String> = ladder
                .iter()
                .filter(|s| s.group() == group)
                .map(|s| s.precision().to_string())
                .collect();
            let count = precisions.len();
            precisions.sort();
            precisions.dedup();
            assert_eq!(precisions.len(), count, "{group:?}: one row per precision");
        }
    }
}
