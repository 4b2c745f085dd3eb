//! One `gdbench run`: the reference, every selected solver (GPU solvers on every chosen
//! adapter) measured and judged, and the closed form.

use std::sync::Arc;

use crate::bench::TimeStats;
use crate::bench::{BenchSettings, Measurement, measure};
use crate::cpu::{closed_form, simd_level};
use crate::error::{GdError, Result};
use crate::gpu::{GpuContext, GpuSettings, NO_ADAPTER_HINT};
use crate::interrupt;
use crate::machine;
use crate::peers::{PeerOptions, PeerRow, run_peers};
use crate::probe::Ceilings;
use crate::problem::Problem;
use crate::report::{
    AdapterReport, ClosedForm, Machine, PhaseTimes, ProblemSummary, Reference, Report, RunReport,
};
use crate::solver::{DeviceType, Group, Outcome, Precision, Selected, SolverId, SolverInfo};
use crate::validate::{Status, judge};

/// What to run, where, and how to time it.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// The solvers, from [`crate::solver::select`].
    pub solvers: Vec<Selected>,
    /// Warm-up and repeats.
    pub bench: BenchSettings,
    /// Adapters the GPU solvers run on, each a row of its own; empty when there is none.
    pub adapters: Vec<Arc<GpuContext>>,
    /// Why `adapters` is empty, for the `unavailable` rows (defaults to the install hint).
    pub no_adapter_reason: Option<String>,
    /// Workgroup size and binding cap for GPU solvers.
    pub gpu: GpuSettings,
    /// Peer rows (pure Python, NumPy, ...) to run after gdbench's own, if any.
    pub peers: Option<PeerOptions>,
    /// The row speed-ups are relative to (a solver or a peer row name).
    pub baseline: String,
    /// Measured ceilings to hold rows against (see [`crate::probe`]); `None` skips that column.
    pub ceilings: Option<Ceilings>,
}

impl SuiteOptions {
    /// CPU-only options: the given solvers, default timing, no adapters.
    pub fn new(solvers: Vec<Selected>) -> Self {
        Self {
            solvers,
            bench: BenchSettings::default(),
            adapters: Vec::new(),
            no_adapter_reason: None,
            gpu: GpuSettings::default(),
            peers: None,
            baseline: SolverId::BASELINE.name().to_string(),
            ceilings: None,
        }
    }
}

/// One row to measure: a solver, and for a GPU solver its adapter.
struct Job {
    id: SolverId,
    gpu: Option<Arc<GpuContext>>,
}

/// Runs the reference, then every selected solver, then the peers, and assembles the report.
/// `progress` hears a line as each solver (with its adapter) starts and as the peers report.
pub fn run_suite(
    problem: &Problem,
    options: &SuiteOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    let mut jobs = Vec::new();
    for s in &options.solvers {
        if s.id.group() == Group::Gpu && !options.adapters.is_empty() {
            jobs.extend(options.adapters.iter().map(|ctx| Job {
                id: s.id,
                gpu: Some(Arc::clone(ctx)),
            }));
        } else {
            jobs.push(Job {
                id: s.id,
                gpu: None,
            });
        }
    }

    // The reference comes first: the timed cpu-fused run when selected, else one untimed solve.
    let mut measured: Vec<(Job, Result<Measurement>)> = Vec::new();
    let reference = match jobs.iter().position(|j| j.id == SolverId::REFERENCE) {
        Some(i) => {
            let job = jobs.remove(i);
            progress(&format!("timing {}", job.id));
            let m = measure(|| job.id.prepare(problem), &options.bench)?;
            let outcome = m.outcome;
            measured.push((job, Ok(m)));
            outcome
        }
        None => SolverId::REFERENCE.prepare(problem)?.solve()?,
    };
    for job in jobs {
        if interrupt::requested() {
            measured.push((job, Err(GdError::Interrupted)));
            continue;
        }
        match &job.gpu {
            Some(ctx) => progress(&format!("timing {} on {}", job.id, ctx.label())),
            None => progress(&format!("timing {}", job.id)),
        }
        let m = measure(
            || job.id.prepare_on(problem, job.gpu.as_ref(), &options.gpu),
            &options.bench,
        );
        measured.push((job, m));
    }
    measured.sort_by_key(|(job, _)| (job.id, job.gpu.as_ref().map(|c| c.index)));

    let no_adapter = options
        .no_adapter_reason
        .as_deref()
        .unwrap_or(NO_ADAPTER_HINT);
    let mut runs: Vec<RunReport> = measured
        .into_iter()
        .map(|(job, m)| {
            let m = m.map_err(|e| match e {
                GdError::Unavailable { reason } if reason == NO_ADAPTER_HINT => {
                    GdError::Unavailable {
                        reason: no_adapter.to_string(),
                    }
                }
                other => other,
            });
            let row = Row {
                name: job.id.name().to_string(),
                info: job.id.info(job.gpu.as_deref()),
                library: None,
                algorithmic: job.id == SolverId::CpuMoments,
                note: (job.id.group() == Group::Gpu)
                    .then(|| custom_kernels(&options.gpu))
                    .flatten(),
            };
            run_report(row, m, &reference, problem, &options.bench)
        })
        .collect();
    if let Some(peer_options) = options.peers.as_ref().filter(|_| !interrupt::requested()) {
        let bench = BenchSettings {
            warmup: peer_options.warmup,
            ..options.bench
        };
        for peer in run_peers(problem, peer_options, progress)? {
            let (row, m) = peer_measurement(peer, problem);
            runs.push(run_report(row, m, &reference, problem, &bench));
        }
    }

    // Speed-ups against the baseline row (a solver or a peer), once every row is in.
    let baseline_median = runs
        .iter()
        .find(|r| r.solver == options.baseline)
        .and_then(|r| r.time_s.as_ref())
        .map(|t| t.median);
    for run in &mut runs {
        run.speedup = baseline_median
            .zip(run.time_s.as_ref())
            .map(|(b, t)| b / t.median);
        if let Some(c) = &options.ceilings {
            run.peak_gb_s = peak_for(run, c);
            run.peak_pct = run
                .effective_gb_s
                .zip(run.peak_gb_s)
                .map(|(g, p)| 100.0 * g / p);
        }
    }

    Ok(Report {
        gdbench_version: env!("CARGO_PKG_VERSION"),
        machine: Machine {
            cpu: machine::cpu_model(),
            threads: machine::cpu_threads(),
            simd: simd_level().name(),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            adapters: options
                .adapters
                .iter()
                .map(|ctx| AdapterReport {
                    device: ctx.label(),
                    device_type: ctx.device_type(),
                    driver: ctx.info.driver.clone(),
                    driver_info: ctx.info.driver_info.clone(),
                    software: ctx.device_type() == DeviceType::Cpu,
                })
                .collect(),
        },
        problem: ProblemSummary {
            n: problem.n(),
            epochs: problem.epochs(),
            mu: problem.mu(),
            source: problem.data().source().clone(),
        },
        reference: Reference {
            solver: SolverId::REFERENCE.name(),
            w: reference.w,
        },
        closed_form: ClosedForm {
            w: closed_form(problem.x(), problem.d()),
        },
        baseline: options.baseline.clone(),
        ceilings: options.ceilings.clone(),
        runs,
    })
}

/// The ceiling a row is held against: its adapter's for GPU rows, one core or all for CPU rows.
fn peak_for(run: &RunReport, c: &Ceilings) -> Option<f64> {
    if run.solver.starts_with("gpu-") {
        c.gpu
            .iter()
            .find(|g| g.device == run.device)
            .map(|g| g.read_gb_s)
    } else if run.device_type == DeviceType::Cpu {
        Some(if run.threads > 1 {
            c.cpu.read_gb_s_all_cores
        } else {
            c.cpu.read_gb_s_one_core
        })
    } else {
        None
    }
}

/// What a row is, apart from its measurement.
struct Row {
    name: String,
    info: SolverInfo,
    library: Option<String>,
    /// cpu-moments: not an array benchmark, so no bandwidth and a note.
    algorithmic: bool,
    /// Anything else the row's reader should know.
    note: Option<String>,
}

/// "custom kernels: ..." when `--shaders` replaced any built-in file.
fn custom_kernels(gpu: &GpuSettings) -> Option<String> {
    let files = gpu.shaders.overridden();
    (!files.is_empty()).then(|| format!("custom kernels: {}", files.join(", ")))
}

/// A peer's report as a row and a measurement, like any solver's.
fn peer_measurement(peer: PeerRow, problem: &Problem) -> (Row, Result<Measurement>) {
    let device_type = match peer.device_type.as_str() {
        "cpu" => DeviceType::Cpu,
        "discrete-gpu" => DeviceType::DiscreteGpu,
        "integrated-gpu" => DeviceType::IntegratedGpu,
        _ => DeviceType::Other,
    };
    let device = if device_type == DeviceType::Cpu {
        machine::cpu_model()
    } else {
        peer.device.clone()
    };
    let precision = if peer.precision == "f64" {
        Precision::F64
    } else {
        Precision::F32
    };
    let row = Row {
        name: peer.peer.clone(),
        info: SolverInfo {
            device,
            device_type,
            precision,
            threads: peer.threads,
        },
        library: Some(peer.library.clone()).filter(|l| !l.is_empty()),
        algorithmic: false,
        note: None,
    };
    let m = match (peer.status.as_str(), peer.w) {
        ("ok", Some(w)) if !peer.times_s.is_empty() => Ok(Measurement {
            prepare_s: peer.setup_s.unwrap_or(0.0),
            time: TimeStats::from_samples(peer.times_s),
            outcome: Outcome {
                w,
                diverged_at: (!w.iter().all(|v| v.is_finite())).then_some(problem.epochs()),
            },
            repeat_spread: 0.0,
            phases: Default::default(),
        }),
        ("unavailable", _) => Err(GdError::Unavailable {
            reason: peer.message,
        }),
        _ => Err(GdError::Peers {
            message: if peer.message.is_empty() {
                "the peer reported no result".into()
            } else {
                peer.message
            },
        }),
    };
    (row, m)
}

fn run_report(
    row: Row,
    measurement: Result<Measurement>,
    reference: &Outcome,
    problem: &Problem,
    bench: &BenchSettings,
) -> RunReport {
    let info = row.info;
    let mut run = RunReport {
        solver: row.name,
        library: row.library,
        device: info.device,
        device_type: info.device_type,
        precision: info.precision,
        threads: info.threads,
        status: Status::Error,
        message: String::new(),
        w: None,
        max_abs_diff: None,
        max_rel_diff: None,
        tolerance: None,
        diverged_at_epoch: None,
        time_s: None,
        prepare_s: None,
        phases: None,
        epoch_us: None,
        effective_gb_s: None,
        epochs_per_s: None,
        gflop_s: None,
        peak_gb_s: None,
        peak_pct: None,
        speedup: None,
        warmup: bench.warmup,
    };
    let m = match measurement {
        Ok(m) => m,
        Err(GdError::Unavailable { reason }) => {
            run.status = Status::Unavailable;
            run.message = reason;
            return run;
        }
        Err(e) => {
            run.message = e.to_string();
            return run;
        }
    };
    let verdict = judge(&m.outcome, reference, info.precision, problem);
    let epochs_run = m.outcome.diverged_at.unwrap_or(problem.epochs()) as f64;
    let epoch_s = m.time.median / epochs_run;
    let bytes_per_epoch = problem.n() as f64
        * match info.precision {
            Precision::F32 => 8.0,
            Precision::F64 => 16.0,
        };
    let mut notes = vec![verdict.message];
    notes.extend(m.time.noise_warning());
    notes.extend(m.phases.kernel_note.clone());
    if m.repeat_spread > 0.0 {
        notes.push(format!(
            "repeats disagree by up to {:.1e}: the solver is not deterministic",
            m.repeat_spread
        ));
    }
    notes.extend(row.note);
    if row.algorithmic {
        notes.push(
            "algorithmic limit: O(1) per epoch from precomputed moments, not an array benchmark"
                .into(),
        );
    }
    run.status = verdict.status;
    run.message = notes
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    run.w = Some(m.outcome.w);
    run.max_abs_diff = Some(verdict.max_abs_diff).filter(|v| v.is_finite());
    run.max_rel_diff = Some(verdict.max_rel_diff).filter(|v| v.is_finite());
    run.tolerance = Some(verdict.tolerance);
    run.diverged_at_epoch = m.outcome.diverged_at;
    run.epoch_us = Some(epoch_s * 1e6);
    run.effective_gb_s = (!row.algorithmic).then(|| bytes_per_epoch / epoch_s / 1e9);
    run.epochs_per_s = Some(1.0 / epoch_s);
    run.gflop_s = (!row.algorithmic).then(|| 6.0 * problem.n() as f64 / epoch_s / 1e9);
    run.prepare_s = Some(m.prepare_s);
    run.phases = Some(PhaseTimes {
        setup_s: (m.prepare_s - m.phases.upload_s.unwrap_or(0.0)).max(0.0),
        upload_s: m.phases.upload_s,
        compute_s: (m.time.median - m.phases.readback_s.unwrap_or(0.0)).max(0.0),
        readback_s: m.phases.readback_s,
        gpu_kernel_s: m.phases.kernel_s,
    });
    run.time_s = Some(m.time);
    run
}
