//! The report: what a run of gdbench found, as one serialisable value, and its renderings.
//! The JSON form is a contract other tools read (docs/json.md).

mod compare;
mod explain;
pub mod format;
pub mod gallery;
mod machine_formats;
mod models_plot;
mod output;
mod plot;
mod roofline;
mod search_plot;
mod summary;
mod table;

use serde::Serialize;

pub use compare::{
    CompareDocument, Compared, Comparison, DEFAULT_THRESHOLD_PCT, MIN_REPEATS, RESAMPLES, Side,
    Sides, Verdict, check_percent, check_same_problem, compare, ratio_interval, read_report,
    render_comparison, render_comparison_json,
};
pub use format::short_device_name;
pub use gallery::render_gallery;
pub use machine_formats::{CsvRow, render_csv, render_markdown, render_sweep_csv};
pub use models_plot::{compute_lines, render_models_plot};
pub use output::write_atomically;
pub use plot::{Series, crossovers, render_plot, series, series_over};
pub use roofline::{intensity, render_roofline};
pub use search_plot::render_search_plot;
pub use summary::{GpuVsCpu, RowRef, Summary, reason, summarise};
pub use table::{MAX_WIDTH, TextStyle, render_sweep_summary, render_table, text_width};

use crate::bench::TimeStats;
use crate::error::{Result, exit};
use crate::problem::Source;
use crate::solver::{DeviceType, Group, Precision};
use crate::validate::{Check, Status};

/// Everything one `gdbench run` measured.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// The shape of this document ([`crate::provenance::SCHEMA_VERSION`], docs/json.md).
    #[schemars(extend("const" = crate::provenance::SCHEMA_VERSION))]
    pub schema_version: u32,
    /// Which gdbench, wgpu and command made it, when, on which OS.
    pub provenance: crate::provenance::Provenance,
    /// The host.
    pub machine: Machine,
    /// The problem solved.
    pub problem: ProblemSummary,
    /// The f64 answer every run is checked against.
    pub reference: Reference,
    /// The least-squares answer the descent converges towards.
    pub closed_form: ClosedForm,
    /// The row speed-ups are relative to (`--baseline`, default `cpu-naive`; the first timed CPU
    /// row when that one has no time).
    pub baseline: String,
    /// Why `baseline` is not the `--baseline` asked for; absent when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_note: Option<String>,
    /// The machine's measured ceilings, when probed.
    pub ceilings: Option<crate::probe::Ceilings>,
    /// One entry per selected solver, in catalogue order.
    pub runs: Vec<RunReport>,
    /// The step whose reference descent ends with the lowest mean squared error among those that
    /// converge, the smallest of those tied with it (null when none converges).
    pub best_mu: Option<f64>,
    /// That step's reference weights and loss.
    pub best: Option<BestStep>,
    /// True when Ctrl-C stopped the run: rows not measured by then are `error` rows saying so.
    pub interrupted: bool,
    /// The verdict: the fastest validated row, each adapter's fastest GPU row against the fastest
    /// CPU row and why, a search's best step; and those in words.
    pub summary: Summary,
}

/// The wall a row hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BoundKind {
    /// Fixed costs (dispatches, submissions, barriers) take at least half of an epoch.
    Latency,
    /// Data beyond the caches, read at half or more of the measured read ceiling.
    Bandwidth,
    /// Half or more of the measured FMA ceiling.
    Compute,
    /// Data in a cache, and neither bandwidth- nor compute-bound.
    Cache,
    /// None of the above: the time goes elsewhere (synchronisation, the solver's own overhead).
    Overhead,
}

/// Which wall a row hits, and how close it comes.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Bound {
    /// `latency`, `bandwidth`, `compute`, `cache` or `overhead`.
    pub kind: BoundKind,
    /// The row's share of `ceiling`, %: the modelled fixed costs over its epoch (latency), its
    /// GB/s over the read ceiling (bandwidth), its compute limit over its epoch (a CPU array
    /// row with its data in cache: compute, or cache below half), its GFLOP/s over the FMA
    /// ceiling (other compute and cache rows); null for overhead.
    pub share: Option<f64>,
    /// What it is held against, in `unit`.
    pub ceiling: Option<f64>,
    /// `µs/epoch` (latency), [`LIMIT_UNIT`] (a CPU row's compute limit), `GB/s` or `GFLOP/s`.
    pub unit: Option<&'static str>,
}

/// The unit of a bound held against a CPU row's compute limit (`compute_limit_us`).
pub const LIMIT_UNIT: &str = "µs/epoch (compute limit)";

impl Bound {
    /// Whether the row is held against its compute limit ([`LIMIT_UNIT`]), not a ceiling.
    pub fn of_limit(&self) -> bool {
        self.unit == Some(LIMIT_UNIT)
    }
}

/// The formats a report renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The aligned table for people (see [`TextStyle`]).
    Table,
    /// The JSON contract (docs/json.md).
    Json,
    /// One [`CsvRow`] per run.
    Csv,
    /// A Markdown table for issues and pull requests.
    Markdown,
}

/// The report as text in `format`; `style` shapes the table.
pub fn render(report: &Report, format: Format, style: &TextStyle) -> Result<String> {
    Ok(match format {
        Format::Table => render_table(report, style),
        Format::Csv => render_csv(report)?,
        Format::Markdown => render_markdown(report),
        Format::Json => serde_json::to_string_pretty(report).expect("a report serialises") + "\n",
    })
}

impl Report {
    /// The row whose descents stand for the search's loss against mu: the reference's, or the
    /// first row that ran.
    pub fn search_row(&self) -> Option<&RunReport> {
        self.runs
            .iter()
            .find(|r| r.reference && !r.descents.is_empty())
            .or_else(|| self.runs.iter().find(|r| !r.descents.is_empty()))
    }

    /// The command's exit code (README, "Exit codes"): see [`exit_status`].
    pub fn exit_status(&self, named: impl Fn(&str) -> bool) -> u8 {
        exit_status(
            &self.runs,
            self.reference.cross_check.status == Status::Mismatch,
            self.interrupted,
            named,
        )
    }

    /// True when at least one row ran (was judged `ok`, `mismatch` or `diverged`).
    pub fn measured_any(&self) -> bool {
        self.runs.iter().any(RunReport::ran)
    }
}

/// The exit code of rows measured together (one run, or every point of a sweep), the first that
/// applies: Ctrl-C (130); a mismatch, a row's or the reference's against cpu-moments (3); a row
/// that did not run: any `error`, an `unavailable` row the user named (`named` says which), or
/// no row measured at all (4); divergence (5); else every row is `ok` (0). Only `unavailable` (a
/// feature the adapter lacks, a size the strategy does not handle) may be excused, and only in a
/// group.
pub fn exit_status<'a>(
    runs: impl IntoIterator<Item = &'a RunReport>,
    reference_mismatch: bool,
    interrupted: bool,
    named: impl Fn(&str) -> bool,
) -> u8 {
    let runs: Vec<&RunReport> = runs.into_iter().collect();
    let any = |status: Status| runs.iter().any(|r| r.status == status);
    if interrupted {
        exit::INTERRUPTED
    } else if reference_mismatch || any(Status::Mismatch) {
        exit::MISMATCH
    } else if any(Status::Error)
        || runs.iter().any(|r| !r.ran() && named(&r.solver))
        || !runs.iter().any(|r| r.ran())
    {
        exit::NOT_RUN
    } else if any(Status::Diverged) {
        exit::DIVERGED
    } else {
        exit::SUCCESS
    }
}

/// The warning a debug build's report opens with; `None` for a release build.
pub fn debug_build_warning(report: &Report) -> Option<&'static str> {
    (report.provenance.build == "debug").then_some(
        "a debug build: its timings are not representative (build with `cargo run --release`)",
    )
}

/// One line for a problem whose step size is at or above the stability limit (every row is then
/// `diverged`), with the largest stable step; `None` when the descent converges.
pub fn instability(problem: &ProblemSummary) -> Option<String> {
    let StepSizes::One(mu) = problem.mu else {
        return None;
    };
    (mu >= problem.max_stable_mu).then(|| {
        format!(
            "mu = {mu} is at or above the stability limit 2/λ_max = {:.6e} for this data: the descent diverges, so every row is `diverged` (use --mu below it)",
            problem.max_stable_mu
        )
    })
}

/// `--mu` as the report gives it: one number, or the list of a step-size search.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum StepSizes {
    /// One descent.
    One(f64),
    /// A step-size search: one descent per step, in this order.
    Many(Vec<f64>),
}

impl StepSizes {
    /// `One` for a single step, `Many` otherwise.
    pub fn of(steps: &[f64]) -> Self {
        match steps {
            [mu] => StepSizes::One(*mu),
            _ => StepSizes::Many(steps.to_vec()),
        }
    }

    /// True for a step-size search (more than one step).
    pub fn is_search(&self) -> bool {
        self.as_slice().len() > 1
    }

    /// The steps, in order.
    pub fn as_slice(&self) -> &[f64] {
        match self {
            StepSizes::One(mu) => std::slice::from_ref(mu),
            StepSizes::Many(steps) => steps,
        }
    }
}

impl std::fmt::Display for StepSizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepSizes::One(mu) => write!(f, "{mu}"),
            StepSizes::Many(steps) => write!(
                f,
                "{} steps from {} to {}",
                steps.len(),
                steps.iter().copied().fold(f64::INFINITY, f64::min),
                steps.iter().copied().fold(0.0, f64::max)
            ),
        }
    }
}

/// The best step of a search, from the reference's descents.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct BestStep {
    /// The step size.
    pub mu: f64,
    /// The reference's final `[w0, w1]` at that step.
    pub w: [f64; 2],
    /// Their mean squared error over the data.
    pub loss: f64,
    /// Steps whose final losses the descents cannot tell apart from the lowest (their difference
    /// within what the reference's rounding may move each), this one included; the smallest of
    /// them is the best.
    pub tied: usize,
}

/// One descent of a row (one step size): its weights, loss and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DescentReport {
    /// The step size.
    pub mu: f64,
    /// Final `[w0, w1]` (null entries where not finite).
    #[schemars(with = "[Option<f64>; 2]")]
    pub w: [f64; 2],
    /// Mean squared error of `w` over the data (from compensated sums); null when not finite.
    pub loss: Option<f64>,
    /// `ok`, `mismatch` or `diverged`.
    pub status: Status,
    /// Relative distance from the reference's descent at this step (null when either diverged).
    pub max_rel_diff: Option<f64>,
    /// Epoch by which the weights left a converging descent's range.
    pub diverged_at_epoch: Option<u64>,
}

/// The host's CPU and OS.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Hardware threads available.
    pub threads: usize,
    /// Instruction set the CPU solvers' SIMD sums run with.
    pub simd: &'static str,
    /// CPU architecture.
    pub arch: &'static str,
    /// The GPU adapters the GPU solvers ran on.
    pub adapters: Vec<AdapterReport>,
}

impl Machine {
    /// This host, with `adapters` (those the GPU rows ran on).
    pub fn of(adapters: &[std::sync::Arc<crate::gpu::GpuContext>]) -> Self {
        Machine {
            cpu: crate::machine::cpu_model(),
            threads: crate::machine::cpu_threads(),
            simd: crate::cpu::simd_level().name(),
            arch: std::env::consts::ARCH,
            adapters: adapters.iter().map(|ctx| AdapterReport::of(ctx)).collect(),
        }
    }
}

impl AdapterReport {
    /// The adapter `ctx` opened.
    pub fn of(ctx: &crate::gpu::GpuContext) -> Self {
        AdapterReport {
            device: ctx.label(),
            device_type: ctx.device_type(),
            driver: ctx.info.driver.clone(),
            driver_info: ctx.info.driver_info.clone(),
            software: ctx.device_type() == DeviceType::Cpu,
            backend: ctx.info.backend.to_str().to_string(),
            vendor_id: ctx.info.vendor,
            device_id: ctx.info.device,
        }
    }
}

/// A GPU adapter as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AdapterReport {
    /// Name with backend, as GPU rows' `device`.
    pub device: String,
    /// gdbench's device type.
    pub device_type: DeviceType,
    /// Driver name.
    pub driver: String,
    /// Driver details (version).
    pub driver_info: String,
    /// True for CPU emulation (lavapipe, llvmpipe): its timings are CPU timings.
    pub software: bool,
    /// The graphics API wgpu reached it through: `vulkan`, `metal`, `dx12` or `gl`.
    pub backend: String,
    /// PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel; 0x10005 Mesa), 0 when unknown.
    pub vendor_id: u32,
    /// PCI device id, 0 when unknown.
    pub device_id: u32,
}

/// N, epochs, mu and where the data came from.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProblemSummary {
    /// Number of samples.
    pub n: usize,
    /// Epochs of gradient descent.
    pub epochs: u64,
    /// Step size: a number, or the list of a step-size search (`--mu 0.001,0.002`, `--mu LO..HI:K`).
    pub mu: StepSizes,
    /// `2/λ_max` of the data's Hessian: the descent converges if and only if `mu` is below it.
    pub max_stable_mu: f64,
    /// SHA-256 of the data every row solved: x then d, each sample an f64 in little-endian
    /// bytes, in hex. Two reports solved the same data if and only if these agree.
    pub data_sha256: String,
    /// `"synthetic"` (with `seed`, `sigma`) or `"file"` (with `data`).
    #[serde(flatten)]
    pub source: Source,
}

/// The reference solver, its weights and its independent cross-check.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Reference {
    /// Always `cpu-fused` (f64).
    pub solver: &'static str,
    /// The step `w` and `cross_check` belong to: the only one, or a search's best (else its first).
    pub mu: f64,
    /// `[w0, w1]` (null entries if the reference diverged).
    #[schemars(with = "[Option<f64>; 2]")]
    pub w: [f64; 2],
    /// The reference against the descent from compensated moments (`cpu-moments`' arithmetic),
    /// within both sides' modelled rounding; a mismatch makes every verdict suspect (exit 3).
    pub cross_check: Check,
}

/// The closed-form least-squares weights.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ClosedForm {
    /// `[w0, w1]`, or null when the data determine no line in f64 (x spread under- or overflows).
    pub w: Option<[f64; 2]>,
}

/// Where a run's time went, in seconds: preparation split into setup and upload, a median solve
/// split into compute and read-back (GPU solvers; CPU solvers have neither upload nor read-back).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PhaseTimes {
    /// Allocation, conversion, device set-up and pipeline compilation.
    pub setup_s: f64,
    /// Copying x and d to the device; null on the CPU.
    pub upload_s: Option<f64>,
    /// The descent itself: the median solve less its read-back.
    pub compute_s: f64,
    /// Reading the weights back (last solve); null on the CPU.
    pub readback_s: Option<f64>,
    /// GPU time of a whole solve's passes from timestamp queries: the median over
    /// `gpu_kernel_solves` instrumented solves run after the timed ones (timestamps are never
    /// written in a wall-timed repeat); null on the CPU, without TIMESTAMP_QUERY, or when every
    /// reading was invalid (the row's message says).
    pub gpu_kernel_s: Option<f64>,
    /// Instrumented solves behind `gpu_kernel_s` (null for CPU rows).
    pub gpu_kernel_solves: Option<usize>,
    /// Why `gpu_kernel_s` is null although the instrumented solves measured one: it exceeded the
    /// median wall time of the timed solves (the note gives both); null otherwise.
    pub gpu_kernel_note: Option<String>,
}

/// What made a row: one of gdbench's CPU solvers, one of its GPU solvers (on any adapter,
/// software included), or a peer library run by `peers/peers.py`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    /// A CPU solver (`cpu-*`).
    Cpu,
    /// A GPU solver (`gpu-*`) on one adapter.
    Gpu,
    /// A peer: pure Python, NumPy, TensorFlow, PyTorch or JAX.
    Peer,
}

impl From<Group> for RowKind {
    fn from(group: Group) -> Self {
        match group {
            Group::Cpu => RowKind::Cpu,
            Group::Gpu => RowKind::Gpu,
        }
    }
}

/// One solver's result: verdict, weights, timings.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RunReport {
    /// Solver name, e.g. `cpu-fused`, or a peer row's name, e.g. `numpy`.
    pub solver: String,
    /// `cpu`, `gpu` (a GPU solver, on any adapter) or `peer`.
    pub kind: RowKind,
    /// For peer rows: the library and its version, e.g. `numpy 2.4.6`; null for gdbench's own.
    pub library: Option<String>,
    /// Device name (CPU model, GPU adapter).
    pub device: String,
    /// `cpu`, `discrete-gpu`, `integrated-gpu`, `virtual-gpu` or `other`.
    pub device_type: DeviceType,
    /// `f32` or `f64`.
    pub precision: Precision,
    /// Host threads used.
    pub threads: usize,
    /// `ok`, `mismatch`, `diverged`, `unavailable` or `error`.
    pub status: Status,
    /// True for the f64 reference's own row (`cpu-fused`): cross-checked, not judged against itself.
    pub reference: bool,
    /// Why the status is not ok, or a note on the solver; empty otherwise: the sentences of
    /// `notes`, `; `-separated.
    pub message: String,
    /// The row's notes, each with its kind (`noisy`, `ceiling`, `kernel-time`, …).
    pub notes: Vec<Note>,
    /// Final `[w0, w1]`; null when the solver did not run, null entries where not finite.
    #[schemars(with = "Option<[Option<f64>; 2]>")]
    pub w: Option<[f64; 2]>,
    /// Largest absolute weight difference from the reference.
    pub max_abs_diff: Option<f64>,
    /// The same, relative to the reference's largest weight.
    pub max_rel_diff: Option<f64>,
    /// f16-storage rows: how far the f64 descent on the f16-rounded data lands from the
    /// full-precision reference (relative): the cost of storing in f16, apart from the row's own
    /// error (`max_rel_diff`, against that rounded-data descent). Null for other rows.
    pub data_rounding_rel_diff: Option<f64>,
    /// Relative tolerance applied for this precision.
    pub tolerance: Option<f64>,
    /// Epoch by which the weights became non-finite or left a converging descent's range.
    pub diverged_at_epoch: Option<u64>,
    /// The short descent checked near f32 rounding: `{epochs, max_rel_diff, tolerance, status}`.
    pub spot_check: Option<Check>,
    /// The reference row only: its check against `cpu-moments` (as `Report::reference`).
    pub cross_check: Option<Check>,
    /// Wall time of the whole descent (all epochs), per timed repeat.
    pub time_s: Option<TimeStats>,
    /// Wall time of preparation (allocation, conversion, pools, upload, pipelines), not in `time_s`.
    pub prepare_s: Option<f64>,
    /// The run's phases apart: setup, upload, compute, read-back.
    pub phases: Option<PhaseTimes>,
    /// Median time per epoch in microseconds.
    pub epoch_us: Option<f64>,
    /// Effective bandwidth: bytes of x and d in this precision per epoch, over the median epoch.
    pub effective_gb_s: Option<f64>,
    /// Epochs per second (median).
    pub epochs_per_s: Option<f64>,
    /// 6 flops per sample per step per epoch (error: 3, Σe: 1, Σe·x: 2) over the median epoch,
    /// GFLOP/s.
    pub gflop_s: Option<f64>,
    /// The measured read ceiling this row is held against, GB/s: one core, all cores, or its
    /// adapter (see `ceilings`).
    pub peak_gb_s: Option<f64>,
    /// effective_gb_s as a percentage of peak_gb_s, never above 100; null when no share is claimed
    /// (`peak_note` says why).
    pub peak_pct: Option<f64>,
    /// Why `peak_pct` is null: the data fits in a cache, the probe failed, or the share came out
    /// above 100 % of a ceiling measured twice (the ceiling is suspect); null when a share is shown.
    pub peak_note: Option<String>,
    /// Baseline median over this run's median.
    pub speedup: Option<f64>,
    /// CPU array rows of a probed run: the least µs an epoch can take, for data in cache, from
    /// the floating-point operations its kernel does per sample at one core's measured rates of
    /// them (`ceilings.cpu.ops`; `src/cpu/work.rs`); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_limit_us: Option<f64>,
    /// The wall the row hits, from its own figures and the machine's measured ceilings: null for
    /// rows not `ok`, cpu-moments and runs without a probe.
    pub bound: Option<Bound>,
    /// GPU rows: dispatches, submissions and barriers per epoch (the latency wall's counts).
    pub pacing: Option<crate::solver::Pacing>,
    /// GPU rows on NVIDIA adapters with the driver's management library: SM and memory clocks,
    /// temperature and throttle reasons before and after the timed solves, and `throttled`;
    /// absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clocks: Option<crate::gpu::clocks::RowClocks>,
    /// GPU rows: one hash over every WGSL file its pipelines compiled (absent elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_hash: Option<String>,
    /// GPU rows: each WGSL file its pipelines compiled, `{file, source, hash}` (`source`:
    /// `builtin` or the path read); absent elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernels: Vec<crate::gpu::shaders::KernelSource>,
    /// GPU rows with custom kernels: each edge size solved before timing, `{n, status}` (and
    /// `message` when not ok); absent elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edge_sizes: Vec<crate::suite::edges::EdgeSize>,
    /// `--variant` rows: the variant's name (the row is `solver@variant`); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `--variant` rows: against the built-in row of the same solver and adapter, from
    /// interleaved solves; absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_builtin: Option<crate::suite::side_by_side::VsBuiltin>,
    /// Mismatched rows with custom kernels: the first epoch whose weights leave the reference,
    /// `{entry_point, buffer, index, got, want}`; absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<crate::suite::diagnose::Diagnosis>,
    /// Untimed solves before timing.
    pub warmup: u32,
    /// Median time per descent: the whole run over its step sizes (all of them share each solve).
    pub descent_s: Option<f64>,
    /// One entry per step size, in step order (one for a single `--mu`); empty when it did not run.
    pub descents: Vec<DescentReport>,
}

/// What a row's note is about: the report groups notes by kind, one line each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// Why the row is not `ok`: a mismatch, a divergence, an error, unavailable.
    Verdict,
    /// The short descent checked near rounding, or a search's steps.
    Check,
    /// The repeats disagree enough to doubt the median.
    Noisy,
    /// Too few repeats for a spread.
    Repeats,
    /// GPU kernel time not measured or not shown.
    KernelTime,
    /// The solver's answers differ between repeats.
    Nondeterministic,
    /// The row ran edited shaders (`--shaders`).
    Shaders,
    /// What the solver said about how it ran here (a fallback it took).
    Solver,
    /// cpu-moments: an algorithmic shortcut, not an array benchmark.
    Algorithmic,
    /// An f16-storage row judged on the f16-rounded data.
    F16Data,
    /// Why the row has no share of a ceiling: data in cache, a failed or suspect probe.
    Ceiling,
    /// A `--variant` row against the built-in row of its solver and adapter.
    Variant,
    /// The GPU's clocks moved while the row ran: throttled (NVIDIA's management library), or
    /// its adapter's FMA probe drifted between before and after the GPU rows.
    Clocks,
}

/// One note on a row: its kind and the sentence (JSON `notes`; `message` joins the sentences).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Note {
    /// What it is about.
    pub kind: NoteKind,
    /// The sentence, for this row.
    pub text: String,
    /// For notes whose sentences differ by row only in a figure: the sentence rows share and this
    /// row's figure, so the report says it once (`noisy …: cpu-fused 3 %, cpu-threads 5 %`).
    #[serde(skip)]
    pub shared: Option<(String, String)>,
}

impl Note {
    /// A note whose sentence is the same wherever it applies.
    pub fn new(kind: NoteKind, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
            shared: None,
        }
    }

    /// A note whose rows share `headline` and differ in `detail`.
    pub fn shared(
        kind: NoteKind,
        text: impl Into<String>,
        headline: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            text: text.into(),
            shared: Some((headline.into(), detail.into())),
        }
    }
}

impl RunReport {
    /// Adds `note` to the row's notes, and its sentence to `message` (`; `-separated).
    pub fn add_note(&mut self, note: Note) {
        if note.text.is_empty() {
            return;
        }
        if !self.message.is_empty() {
            self.message.push_str("; ");
        }
        self.message.push_str(&note.text);
        self.notes.push(note);
    }

    /// True when the row ran and was judged (`ok`, `mismatch` or `diverged`), not `unavailable`
    /// or an `error`.
    pub fn ran(&self) -> bool {
        !matches!(self.status, Status::Error | Status::Unavailable)
    }

    /// A GPU solver's row on a CPU-type adapter (lavapipe, llvmpipe): CPU timings in a GPU's
    /// clothes.
    pub fn is_gpu_emulation(&self) -> bool {
        self.kind == RowKind::Gpu && self.device_type == DeviceType::Cpu
    }

    /// One of gdbench's CPU solvers that reads the arrays each epoch (not `cpu-moments`): what a
    /// GPU solver must beat.
    pub fn is_cpu_array(&self) -> bool {
        self.kind == RowKind::Cpu && self.effective_gb_s.is_some()
    }
}
