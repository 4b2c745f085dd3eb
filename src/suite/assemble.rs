//! The last stage: the report assembled from the measured rows, the reference, the best step
//! and the ceilings, with the machine and the problem described.

use super::SuiteOptions;
use super::reference::ReferenceRun;
use crate::cpu::simd_level;
use crate::interrupt;
use crate::machine;
use crate::probe::Ceilings;
use crate::problem::Problem;
use crate::report::{
    AdapterReport, BestStep, ClosedForm, Machine, ProblemSummary, Reference, Report, RunReport,
    StepSizes, Summary,
};
use crate::solver::{DeviceType, SolverId};
use crate::validate::{Status, cross_check};

/// The report of a run whose rows are measured, judged and held to their ceilings (its summary
/// still to be written).
pub(super) fn report(
    problem: &Problem,
    options: &SuiteOptions,
    reference: &ReferenceRun,
    best: Option<BestStep>,
    ceilings: Option<Ceilings>,
    runs: Vec<RunReport>,
) -> Report {
    // The reference's weights shown: the only step's, or a search's best (else its first).
    let shown = best
        .as_ref()
        .and_then(|b| problem.steps().iter().position(|&mu| mu == b.mu))
        .unwrap_or(0);
    Report {
        gdbench_version: env!("CARGO_PKG_VERSION"),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        machine: machine_of(options),
        problem: ProblemSummary {
            n: problem.n(),
            epochs: problem.epochs(),
            mu: StepSizes::of(problem.steps()),
            max_stable_mu: reference.expects[0].max_stable_mu,
            source: problem.data().source().clone(),
        },
        reference: reference_of(problem, reference, shown),
        closed_form: ClosedForm {
            w: problem.data().closed_form(),
        },
        best_mu: best.as_ref().map(|b| b.mu),
        best,
        baseline: options.baseline.clone(),
        baseline_note: None,
        ceilings,
        runs,
        interrupted: interrupt::requested(),
        summary: Summary::default(),
    }
}

/// The host and the adapters the GPU rows ran on.
fn machine_of(options: &SuiteOptions) -> Machine {
    Machine {
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
    }
}

/// The reference's answer at step `shown`, and its cross-check against cpu-moments: every step
/// is cross-checked, and the first that fails is the one reported.
fn reference_of(problem: &Problem, reference: &ReferenceRun, shown: usize) -> Reference {
    let (full, expects) = (&reference.full, &reference.expects);
    Reference {
        solver: SolverId::REFERENCE.name(),
        mu: problem.steps()[shown],
        w: full[shown].w,
        cross_check: full
            .iter()
            .zip(expects)
            .map(|(r, e)| cross_check(r, e))
            .find(|c| c.status == Status::Mismatch)
            .unwrap_or_else(|| cross_check(&full[shown], &expects[shown])),
    }
}
