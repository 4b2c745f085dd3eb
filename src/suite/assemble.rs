//! The last stage: the report assembled from the measured rows, the reference, the best step
//! and the ceilings, with the machine and the problem described.

use super::SuiteOptions;
use super::reference::ReferenceRun;
use crate::interrupt;
use crate::probe::Ceilings;
use crate::problem::Problem;
use crate::report::{
    BestStep, ClosedForm, Machine, ProblemSummary, Reference, Report, RunReport, StepSizes, Summary,
};
use crate::solver::SolverId;
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
        schema_version: crate::provenance::SCHEMA_VERSION,
        provenance: crate::provenance::Provenance::now(),
        machine: Machine::of(&options.adapters),
        problem: ProblemSummary {
            n: problem.n(),
            epochs: problem.epochs(),
            mu: StepSizes::of(problem.steps()),
            max_stable_mu: reference.expects[0].max_stable_mu,
            data_sha256: problem.data().sha256(),
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
