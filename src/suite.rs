//! One `gdbench run`, a pipeline of named stages that reads top to bottom: the plan (a job per
//! solver and adapter), the reference, each row timed ([`timing`]) and judged ([`row`]: verdicts,
//! figures, notes), the peers, the speed-ups, the ceilings and walls ([`ceiling`], [`bound`]),
//! the best step, and the report assembled ([`assemble`]) with its summary.

use std::sync::Arc;

mod assemble;
mod best;
pub mod bound;
pub mod ceiling;
pub mod diagnose;
pub mod edges;
pub mod figures;
#[cfg(test)]
mod fixtures;
mod jobs;
mod judge;
mod peer_rows;
mod reference;
mod row;
pub mod side_by_side;
mod timing;

pub use figures::{Figures, figures};
pub use judge::{Judging, Row};
pub use row::run_report;

use crate::bench::BenchSettings;
use crate::error::{GdError, Result};
use crate::gpu::shaders::ShaderSources;
use crate::gpu::{AdapterChoice, GpuContext, GpuSettings};
use crate::interrupt;
use crate::machine;
use crate::peers::PeerOptions;
use crate::probe::Ceilings;
use crate::probe::drift::ClockCheck;
use crate::problem::Problem;
use crate::progress::Progress;
use crate::report::{NoteKind, Report, RowKind, RunReport, summarise};
use crate::solver::{Group, Selected, SolverId};

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
    /// `--variant NAME=DIR`: kernel folders each GPU solver also runs with, side by side with
    /// the built-in kernels.
    pub variants: Vec<Variant>,
}

/// A named folder of kernels (`--variant NAME=DIR`).
#[derive(Debug, Clone)]
pub struct Variant {
    /// The name rows carry: `gpu-fused@NAME`.
    pub name: String,
    /// The folder's kernels (strict, as `--shaders`).
    pub shaders: ShaderSources,
}

impl Variant {
    /// `NAME=DIR`, checked: a name of letters, digits, `-` and `_`, and a folder of kernel files.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |problem: String| GdError::InvalidParameter {
            name: "--variant",
            problem,
        };
        let Some((name, dir)) = spec.split_once('=') else {
            return Err(bad(format!(
                "`{spec}` is not NAME=DIR: name the variant, then its kernel folder (e.g. unrolled=my-kernels)"
            )));
        };
        let name = name.trim();
        let fine = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if name.is_empty() || !name.chars().all(fine) {
            return Err(bad(format!(
                "`{name}` is not a variant name: use letters, digits, - and _ (rows are named gpu-fused@NAME)"
            )));
        }
        Ok(Self {
            name: name.to_string(),
            shaders: ShaderSources::from_folder(std::path::Path::new(dir), "--variant")?,
        })
    }
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
            variants: Vec::new(),
        }
    }
}

/// Runs the reference, then every selected solver, then the peers, and assembles the report.
/// `progress` gets a bar per solver (with its adapter) and per peer.
pub fn run_suite(problem: &Problem, options: &SuiteOptions, progress: &Progress) -> Result<Report> {
    let mut jobs = jobs::plan(options);
    let (reference, timed_reference) = reference::run(problem, &mut jobs, options, progress)?;
    let mut measured = timing::time_jobs(problem, jobs, &reference, options, progress);
    measured.extend(timed_reference);
    measured.sort_by_key(|t| t.job.order());
    side_by_side::attach(problem, &mut measured, options, progress);
    // Straight after the GPU rows, before peers heat or idle the GPU.
    let clock_checks = check_clocks(&measured, options);

    let judging = reference.judging(problem, &options.bench);
    let mut runs = row::judge_all(problem, measured, judging, &reference, options);
    if !interrupt::requested() {
        runs.extend(peer_rows::run(problem, options, judging, progress)?);
    }
    let baseline = speed_ups(&mut runs, &options.baseline);
    let ceilings = walls(&mut runs, problem.n(), options, clock_checks);

    let best = best::best_step(problem, &reference.full, &reference.expects);
    let mut report = assemble::report(problem, options, &reference, best, ceilings, runs);
    (report.baseline, report.baseline_note) = baseline;
    report.summary = summarise(&report);
    Ok(report)
}

/// Each row's speed-up against the baseline row (a solver or a peer), once every row is in.
/// When that row has no time (not selected, or it did not run), the first timed CPU row stands
/// in, so the column is never all dashes: the row used, and why it is not the one asked for.
fn speed_ups(runs: &mut [RunReport], baseline: &str) -> (String, Option<String>) {
    let timed = |r: &&RunReport| r.time_s.is_some();
    let named = runs.iter().find(|r| r.solver == baseline);
    let (used, note) = match (named.filter(timed), named) {
        (Some(r), _) => (Some(r), None),
        (None, seen) => {
            let why = match seen {
                Some(_) => "did not run",
                None => "was not selected",
            };
            // An array solver: cpu-moments' shortcut is another algorithm.
            let stand_in = runs
                .iter()
                .filter(timed)
                .find(|r| r.kind == RowKind::Cpu && r.effective_gb_s.is_some());
            let note = stand_in.map(|r| {
                format!(
                    "× {}: speed-ups are against {}, since {baseline} (the baseline) {why}",
                    r.solver, r.solver
                )
            });
            (stand_in, note)
        }
    };
    let name = used.map_or(baseline.to_string(), |r| r.solver.clone());
    let median = used.and_then(|r| r.time_s.as_ref()).map(|t| t.median);
    for run in runs {
        run.speedup = median.zip(run.time_s.as_ref()).map(|(b, t)| b / t.median);
    }
    (name, note)
}

/// Every row held against its measured ceiling and classified by the wall it hits; the ceilings
/// as they stand afterwards (a suspect one measured again). None when the run was not probed.
fn walls(
    runs: &mut [RunReport],
    n: usize,
    options: &SuiteOptions,
    clock_checks: Vec<(String, ClockCheck)>,
) -> Option<Ceilings> {
    let mut ceilings = options.ceilings.clone()?;
    for (device, check) in clock_checks {
        if let Some(g) = ceilings.gpu.iter_mut().find(|g| g.device == device) {
            g.clock_check = Some(check);
        }
    }
    note_drift(runs, &ceilings);
    let llc = machine::last_level_cache();
    let mut again =
        |run: &RunReport, c: &mut Ceilings| ceiling::remeasure(run, c, &options.adapters);
    ceiling::hold_to_ceilings(runs, n, &mut ceilings, llc, &mut again);
    for run in runs.iter_mut() {
        run.compute_limit_us = bound::compute_limit_us(run, n, &ceilings);
        run.bound = bound::classify(run, n, &ceilings, llc);
    }
    Some(ceilings)
}

/// Each probed adapter on which a GPU row ran, its FMA probe measured again
/// ([`crate::probe::drift`]); none after Ctrl-C or without ceilings.
fn check_clocks(measured: &[jobs::Timed], options: &SuiteOptions) -> Vec<(String, ClockCheck)> {
    let Some(ceilings) = options
        .ceilings
        .as_ref()
        .filter(|_| !interrupt::requested())
    else {
        return Vec::new();
    };
    let ran_on = |device: &str| {
        measured.iter().any(|t| {
            t.measured.is_ok() && t.job.gpu.as_ref().is_some_and(|ctx| ctx.label() == device)
        })
    };
    crate::probe::recheck_clocks(ceilings, &options.adapters, ran_on)
}

/// A note on every GPU row of an adapter whose clocks drifted while the rows ran
/// ([`crate::probe::drift`]).
fn note_drift(runs: &mut [RunReport], ceilings: &Ceilings) {
    for g in &ceilings.gpu {
        let Some(text) = g.clock_check.as_ref().and_then(|c| c.note()) else {
            continue;
        };
        for run in runs
            .iter_mut()
            .filter(|r| r.kind == RowKind::Gpu && r.device == g.device)
        {
            run.add_note(crate::report::Note::new(NoteKind::Clocks, text.clone()));
        }
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
