//! One `gdbench run`: the reference, every selected solver (GPU solvers on every chosen
//! adapter) measured and judged, and the closed form.

use std::sync::Arc;

mod best;
pub mod bound;
mod row;

use best::best_step;
use row::hold_to_ceilings;
pub use row::{
    FLOPS_PER_SAMPLE, Figures, Judging, Row, Share, bytes_per_sample, figures, peak, run_report,
};

use crate::bench::TimeStats;
use crate::bench::{BenchSettings, Measurement, measure};
use crate::cpu::simd_level;
use crate::error::{GdError, Result};
use crate::fault;
use crate::gpu::{AdapterChoice, GpuContext, GpuSettings, NO_ADAPTER_HINT};
use crate::interrupt;
use crate::machine;
use crate::peers::{PeerOptions, PeerRow, run_peers};
use crate::probe::Ceilings;
use crate::problem::Problem;
use crate::progress::Progress;
use crate::report::{
    AdapterReport, ClosedForm, Machine, Note, NoteKind, ProblemSummary, Reference, Report, RowKind,
    RunReport, StepSizes, Summary, summarise,
};
use crate::solver::{DeviceType, Group, Outcome, Precision, Selected, SolverId, SolverInfo};
use crate::validate::Status;
use crate::validate::{Arithmetic, Expectations, cross_check, differences};

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
    /// True when the user named row `name` (a solver in `--solvers`, or a peer in `--peers`, not
    /// a group or `all`): a named row that cannot run fails the command.
    pub fn named(&self, name: &str) -> bool {
        self.solvers
            .iter()
            .any(|s| s.explicit && s.id.name() == name)
            || self
                .peers
                .as_ref()
                .is_some_and(|p| p.named.iter().any(|peer| name.starts_with(peer)))
    }

    /// Opens the adapters the GPU solvers need (`choice` among `backends`) and, when `probe`,
    /// measures the machine's ceilings: the slow part, done once every input has been checked.
    pub fn open_and_probe(
        &mut self,
        choice: &AdapterChoice,
        backends: Option<wgpu::Backends>,
        probe: bool,
    ) -> Result<()> {
        if self.solvers.iter().any(|s| s.id.group() == Group::Gpu) {
            let opened = crate::gpu::open(choice, backends)?;
            if opened.contexts.is_empty() && !opened.failures.is_empty() {
                self.no_adapter_reason = Some(opened.failures.join("; "));
            }
            self.adapters = opened.contexts;
        }
        if probe {
            self.ceilings = Some(crate::probe::measure_with_flops(&self.adapters));
        }
        Ok(())
    }

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

impl Job {
    /// The progress bar's label: the solver, and its adapter for a GPU solver.
    fn label(&self) -> String {
        match &self.gpu {
            Some(ctx) => format!(
                "{} on {}",
                self.id,
                crate::report::short_device_name(&ctx.label())
            ),
            None => self.id.to_string(),
        }
    }
}

/// Runs the reference, then every selected solver, then the peers, and assembles the report.
/// `progress` gets a bar per solver (with its adapter) and per peer.
pub fn run_suite(problem: &Problem, options: &SuiteOptions, progress: &Progress) -> Result<Report> {
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

    let expects = Expectations::each(problem);
    // Every step is cross-checked (f64 against moments), and every row's arithmetic is judged
    // (f16-storage rows on the f16-rounded problem's own expectations, not these).
    let mut arithmetics = vec![Arithmetic::F64, Arithmetic::Moments];
    for job in jobs.iter().filter(|j| j.id.precision() != Precision::F16) {
        if !arithmetics.contains(&job.id.arithmetic()) {
            arithmetics.push(job.id.arithmetic());
        }
    }
    Expectations::model_all(&expects, &arithmetics);
    let spot_epochs = expects[0].spot_epochs;
    let spot = Some(spot_epochs);

    // The reference comes first: the timed cpu-fused run when selected, else untimed solves.
    let mut measured: Vec<(Job, Result<Measurement>)> = Vec::new();
    let moments_spot = || expects.iter().map(|e| e.moments.1).collect::<Vec<_>>();
    let (reference, reference_spot) = match jobs.iter().position(|j| j.id == SolverId::REFERENCE) {
        Some(i) => {
            let job = jobs.remove(i);
            let task = progress.task(job.label());
            let mut m = measure(|| job.id.prepare(problem), &options.bench, spot, &task)?;
            m.descents = m
                .descents
                .into_iter()
                .map(fault::perturb_reference)
                .collect();
            let outcomes = (
                m.descents.clone(),
                m.spot.clone().unwrap_or_else(moments_spot),
            );
            measured.push((job, Ok(m)));
            outcomes
        }
        None => {
            let mut solver = SolverId::REFERENCE.prepare(problem)?;
            let full = solver.solve_all()?;
            let full = full.into_iter().map(fault::perturb_reference).collect();
            (full, solver.descents(spot_epochs)?)
        }
    };
    // f16-storage rows solve the f16-rounded data: their own reference, and the rounding's cost.
    let rounded = jobs
        .iter()
        .any(|j| j.id.precision() == Precision::F16)
        .then(|| rounded_reference(problem, &reference));
    for job in jobs {
        if interrupt::requested() {
            measured.push((job, Err(GdError::Interrupted)));
            continue;
        }
        let no_adapter = job.id.group() == Group::Gpu && job.gpu.is_none();
        let m = if let (Precision::F16, Some(Err(reason))) = (job.id.precision(), &rounded) {
            Err(GdError::Unavailable {
                reason: reason.clone(),
            })
        } else if no_adapter {
            Err(GdError::Unavailable {
                reason: options
                    .no_adapter_reason
                    .clone()
                    .unwrap_or_else(|| NO_ADAPTER_HINT.into()),
            })
        } else {
            let task = progress.task(job.label());
            let bench = BenchSettings {
                software: job
                    .gpu
                    .as_ref()
                    .is_some_and(|c| c.device_type() == DeviceType::Cpu),
                ..options.bench
            };
            let row = || {
                measure(
                    || job.id.prepare_on(problem, job.gpu.as_ref(), &options.gpu),
                    &bench,
                    spot,
                    &task,
                )
            };
            match &job.gpu {
                Some(ctx) => crate::gpu::guard::run_row(ctx, row),
                None => row(),
            }
        };
        measured.push((job, m));
    }
    measured.sort_by_key(|(job, _)| (job.id, job.gpu.as_ref().map(|c| c.index)));

    let judging = Judging {
        expect: &expects,
        reference: &reference,
        reference_spot: &reference_spot,
        data: problem.data(),
        bench: &options.bench,
    };
    let mut rows: Vec<RunReport> = measured
        .into_iter()
        .map(|(job, m)| {
            let kind = RowKind::from(job.id.group());
            let row = Row {
                name: job.id.name().to_string(),
                info: job.id.info(job.gpu.as_deref(), problem.n()),
                arithmetic: job.id.arithmetic(),
                library: None,
                algorithmic: job.id == SolverId::CpuMoments,
                reference: job.id == SolverId::REFERENCE,
                kind,
                note: (kind == RowKind::Gpu)
                    .then(|| custom_shaders(&options.gpu))
                    .flatten(),
            };
            match (job.id.precision(), &rounded) {
                (Precision::F16, Some(Ok(r))) => {
                    let judging = Judging {
                        expect: &r.expect,
                        reference: &r.full,
                        reference_spot: &r.spot,
                        ..judging
                    };
                    let mut run = run_report(row, m, judging);
                    if run.status != Status::Unavailable {
                        run.data_rounding_rel_diff = r.rel_diff;
                        let cost = r.rel_diff.map_or("an unknown amount".into(), |d| format!("{d:.1e}"));
                        run.add_note(Note::shared(
                            NoteKind::F16Data,
                            format!("judged on the f16-rounded data (storing in f16 moves the f64 answer by {cost})"),
                            format!("judged on the f16-rounded data: storing in f16 moves the f64 answer by {cost}"),
                            "",
                        ));
                    }
                    run
                }
                _ => run_report(row, m, judging),
            }
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
        for peer in run_peers(problem, peer_options, spot_epochs, progress)? {
            let (row, m) = peer_measurement(peer, problem);
            rows.push(run_report(row, m, judging));
        }
    }

    // Speed-ups against the baseline row (a solver or a peer), once every row is in.
    let baseline_median = rows
        .iter()
        .find(|r| r.solver == options.baseline)
        .and_then(|r| r.time_s.as_ref())
        .map(|t| t.median);
    let mut runs = rows;
    for run in &mut runs {
        run.speedup = baseline_median
            .zip(run.time_s.as_ref())
            .map(|(b, t)| b / t.median);
    }
    let mut ceilings = options.ceilings.clone();
    if let Some(c) = ceilings.as_mut() {
        let llc = machine::last_level_cache();
        let mut again = |run: &RunReport, c: &mut Ceilings| remeasure(run, c, &options.adapters);
        hold_to_ceilings(&mut runs, problem.n(), c, llc, &mut again);
        for run in &mut runs {
            run.bound = bound::classify(run, problem.n(), c, llc);
        }
    }

    let best = best_step(problem, &reference, &expects);
    // The reference's weights shown: the only step's, or a search's best (else its first).
    let shown = best
        .as_ref()
        .and_then(|b| problem.steps().iter().position(|&mu| mu == b.mu))
        .unwrap_or(0);
    let mut report = Report {
        gdbench_version: env!("CARGO_PKG_VERSION"),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
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
            mu: StepSizes::of(problem.steps()),
            max_stable_mu: expects[0].max_stable_mu,
            source: problem.data().source().clone(),
        },
        reference: Reference {
            solver: SolverId::REFERENCE.name(),
            mu: problem.steps()[shown],
            w: reference[shown].w,
            // Every step is cross-checked: the first that fails is the one reported.
            cross_check: reference
                .iter()
                .zip(&expects)
                .map(|(r, e)| cross_check(r, e))
                .find(|c| c.status == Status::Mismatch)
                .unwrap_or_else(|| cross_check(&reference[shown], &expects[shown])),
        },
        closed_form: ClosedForm {
            w: problem.data().closed_form(),
        },
        best_mu: best.as_ref().map(|b| b.mu),
        best,
        baseline: options.baseline.clone(),
        ceilings,
        runs,
        interrupted: interrupt::requested(),
        summary: Summary::default(),
    };
    report.summary = summarise(&report);
    Ok(report)
}

/// The f64 descents on the f16-rounded data: what f16-storage rows are judged against.
struct Rounded {
    expect: Vec<Expectations>,
    full: Vec<Outcome>,
    spot: Vec<Outcome>,
    /// How far `full` lands from the full-precision reference (relative to its largest weight;
    /// the largest over the steps).
    rel_diff: Option<f64>,
}

/// The reference solved again on the f16-rounded data, or why f16 storage cannot hold the data.
fn rounded_reference(
    problem: &Problem,
    reference: &[Outcome],
) -> std::result::Result<Rounded, String> {
    let why = |e: GdError| match e {
        GdError::Unavailable { reason } => reason,
        other => other.to_string(),
    };
    let rounded = problem.rounded_to_f16().map_err(why)?;
    let expect = Expectations::each(&rounded);
    let mut solver = SolverId::REFERENCE.prepare(&rounded).map_err(why)?;
    let full = solver.solve_all().map_err(why)?;
    let spot = solver.descents(expect[0].spot_epochs).map_err(why)?;
    // A descent that diverged has no meaningful distance.
    let rel_diff = full
        .iter()
        .zip(reference)
        .zip(&expect)
        .filter(|((f, r), e)| e.converges() && f.diverged_at.is_none() && r.diverged_at.is_none())
        .map(|((f, r), _)| differences(f, r).1)
        .filter(|d| d.is_finite())
        .reduce(f64::max);
    Ok(Rounded {
        expect,
        full,
        spot,
        rel_diff,
    })
}

/// Measures the ceiling `run` is held against once more: its adapter's, or the host's read
/// bandwidth (one core and all). A probe's figure is a lower bound of what the device can read,
/// so the larger of the two measurements stands. False when it could not be measured again.
fn remeasure(run: &RunReport, ceilings: &mut Ceilings, adapters: &[Arc<GpuContext>]) -> bool {
    if run.kind != RowKind::Gpu {
        crate::probe::measure_cpu_bandwidth(&mut ceilings.cpu);
        return true;
    }
    let Some(ctx) = adapters.iter().find(|ctx| ctx.label() == run.device) else {
        return false;
    };
    let fresh = crate::gpu::guard::run_row(ctx, || crate::probe::gpu_ceilings(ctx));
    match (
        fresh,
        ceilings.gpu.iter_mut().find(|g| g.device == run.device),
    ) {
        (Ok(fresh), Some(old)) => {
            if fresh.read_gb_s > old.read_gb_s {
                (old.read_gb_s, old.measured_s) = (fresh.read_gb_s, fresh.measured_s);
            }
            true
        }
        _ => false,
    }
}

/// A `--baseline` must name a solver or a peer row; the name as rows spell it.
pub fn checked_baseline(name: &str) -> Result<String> {
    let name = name.trim().to_ascii_lowercase();
    let known = SolverId::from_name(&name).is_some()
        || crate::peers::PEER_NAMES.iter().any(|p| name.starts_with(p));
    if known {
        Ok(name)
    } else {
        Err(GdError::InvalidParameter {
            name: "--baseline",
            problem: format!(
                "`{name}` is neither a solver nor a peer: choose from {}, or a peer row ({})",
                SolverId::ALL.map(|s| s.name()).join(", "),
                crate::peers::PEER_NAMES.join(", ")
            ),
        })
    }
}

/// "custom shaders: ..." when `--shaders` replaced any built-in file.
fn custom_shaders(gpu: &GpuSettings) -> Option<String> {
    let files = gpu.shaders.overridden();
    (!files.is_empty()).then(|| format!("custom shaders: {}", files.join(", ")))
}

/// A peer's report as a row and a measurement, like any solver's.
fn peer_measurement(peer: PeerRow, problem: &Problem) -> (Row, Result<Measurement>) {
    let device = if peer.device_type == DeviceType::Cpu {
        machine::cpu_model()
    } else {
        peer.device.clone()
    };
    let row = Row {
        name: peer.peer.clone(),
        info: SolverInfo {
            device,
            device_type: peer.device_type,
            precision: peer.precision,
            threads: peer.threads,
        },
        arithmetic: peer.precision.arithmetic(),
        library: Some(peer.library.clone()).filter(|l| !l.is_empty()),
        algorithmic: false,
        reference: false,
        kind: RowKind::Peer,
        note: None,
    };
    // Peers report only their final weights (one pair per step): past the sane bound (or not
    // finite) they count as diverged by the end.
    let limit = problem.sane_bound();
    let outcomes = |ws: Vec<[f64; 2]>, epochs: u64| -> Vec<Outcome> {
        ws.into_iter()
            .map(|w| Outcome {
                w,
                diverged_at: (!w.iter().all(|v| v.abs() <= limit)).then_some(epochs),
            })
            .collect()
    };
    let spot = peer
        .spot_weights()
        .zip(peer.spot_epochs)
        .map(|(ws, e)| outcomes(ws, e));
    let m = match (peer.status, peer.weights()) {
        (Status::Ok, Some(ws)) if !peer.times_s.is_empty() => Ok(Measurement {
            prepare_s: peer.setup_s.unwrap_or(0.0),
            time: TimeStats::from_samples(peer.times_s),
            descents: outcomes(ws, problem.epochs()),
            repeat_spread: 0.0,
            phases: Default::default(),
            spot,
            kernel: None,
            note: None,
            pacing: None,
            diverged_run_on: false,
        }),
        (Status::Unavailable, _) => Err(GdError::Unavailable {
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
