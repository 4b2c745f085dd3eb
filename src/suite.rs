//! One `gdbench run`: the reference, every selected solver (GPU solvers on every chosen
//! adapter) measured and judged, and the closed form.

use std::sync::Arc;

mod row;

pub use row::{
    FLOPS_PER_SAMPLE, Figures, Judging, Row, bytes_per_sample, figures, peak, run_report,
};

use crate::bench::TimeStats;
use crate::bench::{BenchSettings, Measurement, measure};
use crate::cpu::simd_level;
use crate::error::{GdError, Result};
use crate::fault;
use crate::gpu::{GpuContext, GpuSettings, NO_ADAPTER_HINT};
use crate::interrupt;
use crate::machine;
use crate::peers::{PeerOptions, PeerRow, run_peers};
use crate::probe::Ceilings;
use crate::problem::Problem;
use crate::report::{
    AdapterReport, ClosedForm, Machine, ProblemSummary, Reference, Report, RunReport,
};
use crate::solver::{DeviceType, Group, Outcome, Precision, Selected, SolverId, SolverInfo};
use crate::validate::{Expectations, cross_check};

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

    let expect = Expectations::of(problem);
    let spot = Some(expect.spot_epochs);

    // The reference comes first: the timed cpu-fused run when selected, else untimed solves.
    let mut measured: Vec<(Job, Result<Measurement>)> = Vec::new();
    let (reference, reference_spot) = match jobs.iter().position(|j| j.id == SolverId::REFERENCE) {
        Some(i) => {
            let job = jobs.remove(i);
            progress(&format!("timing {}", job.id));
            let mut m = measure(|| job.id.prepare(problem), &options.bench, spot)?;
            m.outcome = fault::perturb_reference(m.outcome);
            let outcomes = (m.outcome, m.spot.unwrap_or(expect.moments.1));
            measured.push((job, Ok(m)));
            outcomes
        }
        None => {
            let mut solver = SolverId::REFERENCE.prepare(problem)?;
            let full = fault::perturb_reference(solver.solve()?);
            (full, solver.solve_for(expect.spot_epochs)?)
        }
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
            spot,
        );
        measured.push((job, m));
    }
    measured.sort_by_key(|(job, _)| (job.id, job.gpu.as_ref().map(|c| c.index)));

    let judging = Judging {
        expect: &expect,
        reference: &reference,
        reference_spot: &reference_spot,
        n: problem.n(),
        bench: &options.bench,
    };
    let no_adapter = options
        .no_adapter_reason
        .as_deref()
        .unwrap_or(NO_ADAPTER_HINT);
    let mut rows: Vec<(bool, RunReport)> = measured
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
            let gpu = job.id.group() == Group::Gpu;
            let row = Row {
                name: job.id.name().to_string(),
                info: job.id.info(job.gpu.as_deref()),
                library: None,
                algorithmic: job.id == SolverId::CpuMoments,
                reference: job.id == SolverId::REFERENCE,
                gpu,
                note: gpu.then(|| custom_kernels(&options.gpu)).flatten(),
            };
            (gpu, run_report(row, m, judging))
        })
        .collect();
    if let Some(peer_options) = options.peers.as_ref().filter(|_| !interrupt::requested()) {
        let bench = BenchSettings {
            warmup: peer_options.warmup,
            ..options.bench
        };
        let judging = Judging {
            bench: &bench,
            ..judging
        };
        for peer in run_peers(problem, peer_options, expect.spot_epochs, progress)? {
            let (row, m) = peer_measurement(peer, problem);
            rows.push((false, run_report(row, m, judging)));
        }
    }

    // Speed-ups against the baseline row (a solver or a peer), once every row is in.
    let baseline_median = rows
        .iter()
        .find(|(_, r)| r.solver == options.baseline)
        .and_then(|(_, r)| r.time_s.as_ref())
        .map(|t| t.median);
    let mut runs = Vec::new();
    for (gpu, mut run) in rows {
        run.speedup = baseline_median
            .zip(run.time_s.as_ref())
            .map(|(b, t)| b / t.median);
        if let Some(c) = &options.ceilings {
            let (ceiling, pct, note) = peak(&run, gpu, problem.n(), c, machine::last_level_cache());
            (run.peak_gb_s, run.peak_pct) = (ceiling, pct);
            if let Some(note) = note {
                run.message = [run.message.as_str(), note.as_str()]
                    .into_iter()
                    .filter(|m| !m.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ");
            }
        }
        runs.push(run);
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
            max_stable_mu: expect.max_stable_mu,
            source: problem.data().source().clone(),
        },
        reference: Reference {
            solver: SolverId::REFERENCE.name(),
            w: reference.w,
            cross_check: cross_check(&reference, &expect),
        },
        closed_form: ClosedForm {
            w: problem.data().closed_form(),
        },
        baseline: options.baseline.clone(),
        ceilings: options.ceilings.clone(),
        runs,
    })
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
        reference: false,
        gpu: false,
        note: None,
    };
    // Peers report only their final weights: past the sane bound they count as diverged by the end.
    let limit = problem.sane_bound();
    let outcome = |w: [f64; 2], epochs: u64| Outcome {
        w,
        diverged_at: (!w.iter().all(|v| v.abs() <= limit)).then_some(epochs),
    };
    let spot_epochs = peer.spot_epochs;
    let m = match (peer.status.as_str(), peer.w) {
        ("ok", Some(w)) if !peer.times_s.is_empty() => Ok(Measurement {
            prepare_s: peer.setup_s.unwrap_or(0.0),
            time: TimeStats::from_samples(peer.times_s),
            outcome: outcome(w, problem.epochs()),
            repeat_spread: 0.0,
            phases: Default::default(),
            spot: peer.spot_w.zip(spot_epochs).map(|(w, e)| outcome(w, e)),
            kernel: None,
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
