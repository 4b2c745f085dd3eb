//! The reference stage: what every row is judged against. The expectations of each step
//! (stability, tolerances, the cross-check's answer), the f64 reference's full and spot-check
//! descents (timed as the `cpu-fused` row when selected), and for f16-storage rows the same on
//! the f16-rounded data.

use super::SuiteOptions;
use super::jobs::{Job, Timed};
use super::judge::Judging;
use crate::bench::{BenchSettings, measure};
use crate::error::{GdError, Result};
use crate::fault;
use crate::problem::Problem;
use crate::progress::Progress;
use crate::solver::{Outcome, Precision, SolverId};
use crate::validate::{Arithmetic, Expectations, differences};

/// What the reference stage found: every row is judged against it.
pub(super) struct ReferenceRun {
    /// Stability, tolerances and the cross-check's answer, per step.
    pub expects: Vec<Expectations>,
    /// The reference's full descents, per step.
    pub full: Vec<Outcome>,
    /// The reference's spot-check descents, per step.
    pub spot: Vec<Outcome>,
    /// For f16-storage rows: the reference on the f16-rounded data, or why f16 cannot hold it;
    /// none when no such row runs.
    pub rounded: Option<std::result::Result<Rounded, String>>,
}

impl ReferenceRun {
    /// Epochs of every row's spot check.
    pub fn spot_epochs(&self) -> u64 {
        self.expects[0].spot_epochs
    }

    /// What the rows of `problem` are judged against, with `bench` for their reports.
    pub fn judging<'a>(&'a self, problem: &'a Problem, bench: &'a BenchSettings) -> Judging<'a> {
        Judging {
            expect: &self.expects,
            reference: &self.full,
            reference_spot: &self.spot,
            data: problem.data(),
            bench,
        }
    }
}

/// Runs the reference: timed as its own row (taken out of `jobs`) when `cpu-fused` is selected,
/// else solved untimed; that row's measurement comes back beside it.
pub(super) fn run(
    problem: &Problem,
    jobs: &mut Vec<Job>,
    options: &SuiteOptions,
    progress: &Progress,
) -> Result<(ReferenceRun, Option<Timed>)> {
    let expects = expectations(problem, jobs);
    let spot_epochs = expects[0].spot_epochs;
    let (full, spot, timed) = match jobs.iter().position(|j| j.id == SolverId::REFERENCE) {
        Some(i) => {
            let job = jobs.remove(i);
            let task = progress.task(job.label());
            let mut m = measure(
                || job.id.prepare(problem),
                &options.bench,
                Some(spot_epochs),
                None,
                &task,
            )?;
            m.descents = m
                .descents
                .into_iter()
                .map(fault::perturb_reference)
                .collect();
            let moments_spot = || expects.iter().map(|e| e.moments.1).collect::<Vec<_>>();
            let spot = m.spot.clone().unwrap_or_else(moments_spot);
            let full = m.descents.clone();
            let timed = Timed {
                job,
                measured: Ok(m),
                edges: Vec::new(),
                vs_builtin: None,
            };
            (full, spot, Some(timed))
        }
        None => {
            let mut solver = SolverId::REFERENCE.prepare(problem)?;
            let full = solver.solve_all()?;
            let full = full.into_iter().map(fault::perturb_reference).collect();
            (full, solver.descents(spot_epochs)?, None)
        }
    };
    // f16-storage rows solve the f16-rounded data: their own reference, and the rounding's cost.
    let rounded = jobs
        .iter()
        .any(|j| j.id.precision() == Precision::F16)
        .then(|| rounded_reference(problem, &full));
    let reference = ReferenceRun {
        expects,
        full,
        spot,
        rounded,
    };
    Ok((reference, timed))
}

/// Each step's expectations, with every arithmetic the rows are judged in modelled: every step
/// is cross-checked (f64 against moments), and every row's arithmetic judged (f16-storage rows
/// on the f16-rounded problem's own expectations, not these).
fn expectations(problem: &Problem, jobs: &[Job]) -> Vec<Expectations> {
    let expects = Expectations::each(problem);
    let mut arithmetics = vec![Arithmetic::F64, Arithmetic::Moments];
    for job in jobs.iter().filter(|j| j.id.precision() != Precision::F16) {
        if !arithmetics.contains(&job.id.arithmetic()) {
            arithmetics.push(job.id.arithmetic());
        }
    }
    Expectations::model_all(&expects, &arithmetics);
    expects
}

/// The f64 descents on the f16-rounded data: what f16-storage rows are judged against.
pub(super) struct Rounded {
    pub expect: Vec<Expectations>,
    pub full: Vec<Outcome>,
    pub spot: Vec<Outcome>,
    /// How far `full` lands from the full-precision reference (relative to its largest weight;
    /// the largest over the steps).
    pub rel_diff: Option<f64>,
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
