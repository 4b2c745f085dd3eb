//! A row's verdicts: each descent judged against the reference's (or, for the reference's own
//! row, cross-checked against cpu-moments), its spot check, and a search's descents summed up;
//! and what a row is and is judged against.

use crate::bench::{BenchSettings, Measurement};
use crate::problem::Dataset;
use crate::report::{Note, NoteKind, RowKind, RunReport};
use crate::solver::{Outcome, SolverInfo};
use crate::validate::{
    Arithmetic, Check, Expectations, Status, Verdict, cross_check, judge, spot_check,
};

/// What a row is, apart from its measurement.
#[derive(Debug, Clone)]
pub struct Row {
    /// Solver or peer name.
    pub name: String,
    /// Device, precision, threads.
    pub info: SolverInfo,
    /// The arithmetic its answer is judged in (precision, and how it sums).
    pub arithmetic: Arithmetic,
    /// Peer rows: library and version.
    pub library: Option<String>,
    /// cpu-moments: not an array benchmark, so no bandwidth and a note.
    pub algorithmic: bool,
    /// The f64 reference's own row (`cpu-fused`): cross-checked, not judged against itself.
    pub reference: bool,
    /// CPU solver, GPU solver (its share of a ceiling is the adapter's) or peer.
    pub kind: RowKind,
}

/// What every row of a problem is judged against, step by step.
#[derive(Debug, Clone, Copy)]
pub struct Judging<'a> {
    /// Stability, tolerances and the cross-check's answer, per step.
    pub expect: &'a [Expectations],
    /// The reference's full descents, per step.
    pub reference: &'a [Outcome],
    /// The reference's spot-check descents, per step.
    pub reference_spot: &'a [Outcome],
    /// The data (its size, and its sums for each descent's loss).
    pub data: &'a Dataset,
    /// Warm-up and repeats, for the report.
    pub bench: &'a BenchSettings,
}

/// Every descent of `m` judged; the row's checks and differences set on `run`, its verdict's
/// notes added to `notes`; the row's status.
pub(super) fn verdicts(
    run: &mut RunReport,
    row: &Row,
    m: &Measurement,
    j: &Judging,
    notes: &mut Vec<Note>,
) -> (Status, Vec<Judged>) {
    let judged: Vec<Judged> = (0..m.descents.len())
        .map(|i| judge_step(row.reference, row.arithmetic, m, j, i))
        .collect();
    let status = match &judged[..] {
        [one] => one_step(run, one, m, row.reference, notes),
        _ => search_verdict(run, &judged, j, notes),
    };
    (status, judged)
}

/// One step: the row is its descent, as it always was.
fn one_step(
    run: &mut RunReport,
    one: &Judged,
    m: &Measurement,
    reference: bool,
    notes: &mut Vec<Note>,
) -> Status {
    notes.push(Note::new(NoteKind::Verdict, one.note.clone()));
    notes.extend(one.spot_note.clone().map(|n| Note::new(NoteKind::Check, n)));
    run.cross_check = one.cross.clone();
    run.spot_check = one.spot.clone();
    if let Some(v) = one.verdict.as_ref().filter(|_| !reference) {
        run.max_abs_diff = Some(v.max_abs_diff).filter(|v| v.is_finite());
        run.max_rel_diff = Some(v.max_rel_diff).filter(|v| v.is_finite());
        run.tolerance = Some(v.tolerance).filter(|t| t.is_finite());
    }
    run.w = Some(m.descents[0].w);
    run.diverged_at_epoch = m.descents[0].diverged_at;
    one.status
}

/// One descent of a row, judged: its verdict (or the reference's cross-check) and spot check.
pub(super) struct Judged {
    /// The descent's status.
    pub status: Status,
    /// The verdict's sentence (empty when ok).
    pub note: String,
    /// The verdict against the reference (none for the reference itself).
    pub verdict: Option<Verdict>,
    /// The spot check, when the measurement has one.
    pub spot: Option<Check>,
    /// The failed spot check's sentence.
    pub spot_note: Option<String>,
    /// The cross-check against cpu-moments (the reference's row).
    pub cross: Option<Check>,
}

/// Step `i` of a row against the reference's step `i`.
fn judge_step(
    reference: bool,
    arithmetic: Arithmetic,
    m: &Measurement,
    j: &Judging,
    i: usize,
) -> Judged {
    let (expect, outcome) = (&j.expect[i], &m.descents[i]);
    // The reference is not judged against itself: it is cross-checked against cpu-moments (when
    // the step converges; otherwise it is as `diverged` as every other row).
    let mut judged = if reference && expect.converges() {
        let c = cross_check(outcome, expect);
        let note = match c.status {
            Status::Mismatch => format!(
                "the reference disagrees with cpu-moments by {:.2e} (relative; tolerance {:.1e}): every verdict of this report is suspect",
                c.max_rel_diff.unwrap_or(f64::NAN),
                c.tolerance
            ),
            _ => String::new(),
        };
        Judged {
            status: c.status,
            note,
            verdict: None,
            spot: None,
            spot_note: None,
            cross: Some(c),
        }
    } else {
        let verdict = judge(outcome, &j.reference[i], arithmetic, expect);
        Judged {
            status: verdict.status,
            note: verdict.message.clone(),
            verdict: Some(verdict),
            spot: None,
            spot_note: None,
            cross: reference.then(|| cross_check(outcome, expect)),
        }
    };
    if let Some(spot) = m.spot.as_ref().map(|s| &s[i]) {
        let against = if reference {
            &expect.moments.1
        } else {
            &j.reference_spot[i]
        };
        let check = spot_check(spot, against, arithmetic, expect);
        if check.status == Status::Mismatch && judged.status == Status::Ok {
            judged.status = Status::Mismatch;
            judged.spot_note = Some(spot_note(&check));
        }
        judged.spot = Some(check);
    }
    judged
}

/// A search's row from its descents: a mismatch anywhere makes the row a mismatch (its first is
/// told); steps at or above the stability limit are expected to diverge; the row is `diverged`
/// only when every step is. Δ ref and the tolerance are the worst over the steps that converge.
fn search_verdict(
    run: &mut RunReport,
    judged: &[Judged],
    j: &Judging,
    notes: &mut Vec<Note>,
) -> Status {
    let steps = judged.len();
    let worst = |f: fn(&Verdict) -> f64| worst_converged(judged, j, f);
    if !run.reference {
        run.max_abs_diff = worst(|v| v.max_abs_diff);
        run.max_rel_diff = worst(|v| v.max_rel_diff);
        run.tolerance = worst(|v| v.tolerance);
    }
    run.spot_check = shown_check(judged.iter().filter_map(|v| v.spot.as_ref()).collect());
    run.cross_check = shown_check(judged.iter().filter_map(|v| v.cross.as_ref()).collect());
    let mismatches: Vec<usize> = (0..steps)
        .filter(|&i| judged[i].status == Status::Mismatch)
        .collect();
    let diverged = judged
        .iter()
        .filter(|v| v.status == Status::Diverged)
        .count();
    if let Some(&i) = mismatches.first() {
        let v = &judged[i];
        notes.push(Note::new(
            NoteKind::Verdict,
            format!(
                "{} of {steps} descents mismatch; at mu = {}: {}",
                mismatches.len(),
                j.expect[i].mu,
                [v.note.as_str(), v.spot_note.as_deref().unwrap_or("")]
                    .into_iter()
                    .filter(|n| !n.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ));
        return Status::Mismatch;
    }
    // Steps at or above the stability limit diverge in every row: the search's summary says so.
    if diverged == steps {
        Status::Diverged
    } else {
        Status::Ok
    }
}

/// The worst of figure `f` over a search's verdicts on steps that converge.
fn worst_converged(judged: &[Judged], j: &Judging, f: fn(&Verdict) -> f64) -> Option<f64> {
    judged
        .iter()
        .zip(j.expect)
        .filter(|(_, e)| e.converges())
        .filter_map(|(v, _)| v.verdict.as_ref())
        .map(f)
        .filter(|v| v.is_finite())
        .reduce(f64::max)
}

/// The check a search's row shows among its steps': the first that failed, else the widest.
fn shown_check(checks: Vec<&Check>) -> Option<Check> {
    checks
        .iter()
        .find(|c| c.status == Status::Mismatch)
        .or_else(|| {
            checks.iter().max_by(|a, b| {
                a.max_rel_diff
                    .unwrap_or(0.0)
                    .total_cmp(&b.max_rel_diff.unwrap_or(0.0))
            })
        })
        .map(|c| (*c).clone())
}

/// The note a failed spot check adds to its row.
fn spot_note(check: &Check) -> String {
    format!(
        "spot check: after {} epochs it differs from the reference by {:.2e} (relative), over {:.1e}: a lost tile, skipped chunk or wrong scale shows here first",
        check.epochs,
        check.max_rel_diff.unwrap_or(f64::NAN),
        check.tolerance
    )
}
