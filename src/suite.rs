//! One `gdbench run`: the reference, every selected solver measured and judged, the closed form.

use crate::bench::{BenchSettings, Measurement, measure};
use crate::cpu::{closed_form, simd_level};
use crate::error::Result;
use crate::machine;
use crate::problem::Problem;
use crate::report::{ClosedForm, Machine, ProblemSummary, Reference, Report, RunReport};
use crate::solver::{Outcome, Precision, Selected, SolverId};
use crate::validate::{Status, judge};

/// What to run and how to time it.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteOptions {
    /// The solvers, from [`crate::solver::select`].
    pub solvers: Vec<Selected>,
    /// Warm-up and repeats.
    pub bench: BenchSettings,
}

/// Runs the reference, then every selected solver, and assembles the report.
/// `progress` hears the name of each solver as it starts (for a status line).
pub fn run_suite(
    problem: &Problem,
    options: &SuiteOptions,
    progress: &mut dyn FnMut(SolverId),
) -> Result<Report> {
    let mut measured: Vec<(SolverId, Result<Measurement>)> = Vec::new();

    // The reference comes first: from the timed cpu-fused run when selected, else solved once.
    let reference = if options.solvers.iter().any(|s| s.id == SolverId::REFERENCE) {
        progress(SolverId::REFERENCE);
        let m = measure(SolverId::REFERENCE, problem, &options.bench)?;
        let outcome = m.outcome;
        measured.push((SolverId::REFERENCE, Ok(m)));
        outcome
    } else {
        SolverId::REFERENCE.prepare(problem)?.solve()?
    };

    for selected in options
        .solvers
        .iter()
        .filter(|s| s.id != SolverId::REFERENCE)
    {
        progress(selected.id);
        measured.push((selected.id, measure(selected.id, problem, &options.bench)));
    }
    measured.sort_by_key(|(id, _)| *id);

    let baseline_median = measured.iter().find_map(|(id, m)| match m {
        Ok(m) if *id == SolverId::BASELINE => Some(m.time.median),
        _ => None,
    });
    let runs = measured
        .into_iter()
        .map(|(id, m)| run_report(id, m, &reference, baseline_median, problem, &options.bench))
        .collect();

    Ok(Report {
        gdbench_version: env!("CARGO_PKG_VERSION"),
        machine: Machine {
            cpu: machine::cpu_model(),
            threads: machine::cpu_threads(),
            simd: simd_level().name(),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
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
        baseline: SolverId::BASELINE.name(),
        runs,
    })
}

fn run_report(
    id: SolverId,
    measurement: Result<Measurement>,
    reference: &Outcome,
    baseline_median: Option<f64>,
    problem: &Problem,
    bench: &BenchSettings,
) -> RunReport {
    let info = id.info();
    let mut run = RunReport {
        solver: id.name(),
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
        epoch_us: None,
        effective_gb_s: None,
        speedup: None,
        warmup: bench.warmup,
    };
    let m = match measurement {
        Ok(m) => m,
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
    if m.repeat_spread > 0.0 {
        notes.push(format!(
            "repeats disagree by up to {:.1e}: the solver is not deterministic",
            m.repeat_spread
        ));
    }
    if id == SolverId::CpuMoments {
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
    run.effective_gb_s = (id != SolverId::CpuMoments).then(|| bytes_per_epoch / epoch_s / 1e9);
    run.speedup = baseline_median.map(|b| b / m.time.median);
    run.prepare_s = Some(m.prepare_s);
    run.time_s = Some(m.time);
    run
}
