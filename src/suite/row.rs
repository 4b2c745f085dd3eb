//! One row of the report from one measurement, in stages: the verdicts ([`super::judge`]), the
//! notes, and the figures derived from the median time (speed-up and ceiling come later, once
//! every row is in).

use super::SuiteOptions;
use super::edges::EdgeSize;
use super::figures::figures;
use super::jobs::{Job, Timed};
use super::judge::{self, Judged, Judging, Row};
use super::reference::{ReferenceRun, Rounded};
use crate::bench::{Measurement, TimeStats};
use crate::error::GdError;
use crate::gpu::shaders::{KernelSource, kernel_hash};
use crate::problem::Problem;
use crate::report::{DescentReport, Note, NoteKind, PhaseTimes, RowKind, RunReport};
use crate::solver::{Outcome, Precision, SolverId, bytes_per_sample};
use crate::validate::Status;

/// Every measured job as a row of the report, judged against the reference (f16-storage rows
/// against the reference on the f16-rounded data).
pub(super) fn judge_all(
    problem: &Problem,
    measured: Vec<Timed>,
    judging: Judging,
    reference: &ReferenceRun,
    options: &SuiteOptions,
) -> Vec<RunReport> {
    measured
        .into_iter()
        .map(|t| {
            let row = job_row(&t.job, problem);
            let mut run = match (t.job.id.precision(), &reference.rounded) {
                (Precision::F16, Some(Ok(rounded))) => f16_row(row, t.measured, judging, rounded),
                _ => run_report(row, t.measured, judging),
            };
            hold_to_edges(&mut run, t.edges);
            if run.status == Status::Mismatch && run.kernels.iter().any(|k| k.changed) {
                run.diagnosis = super::diagnose::diagnose(problem, &t.job, options);
                if let Some(d) = &run.diagnosis {
                    let note = d.note(run.spot_check.as_ref());
                    run.add_note(Note::new(NoteKind::Verdict, note));
                }
            }
            run.variant = t.job.variant.as_ref().map(|v| v.name.clone());
            match t.vs_builtin {
                // A row whose answer is wrong has no speed worth comparing.
                _ if run.variant.is_some() && run.status != Status::Ok => {
                    run.add_note(Note::new(
                        NoteKind::Variant,
                        match run.status {
                            Status::Mismatch | Status::Diverged => format!(
                                "not compared with {}: its answer is {}",
                                t.job.id.name(),
                                run.status
                            ),
                            _ => format!("not compared with {}: it did not run", t.job.id.name()),
                        },
                    ));
                }
                Some(Ok(vs)) => {
                    run.add_note(Note::new(
                        NoteKind::Variant,
                        vs.note(t.job.id.name(), problem.epochs()),
                    ));
                    run.vs_builtin = Some(vs);
                }
                Some(Err(why)) => run.add_note(Note::new(
                    NoteKind::Variant,
                    format!("not measured against {}: {why}", t.job.id.name()),
                )),
                None => {}
            }
            run
        })
        .collect()
}

/// A row whose custom kernels failed an edge size is a `mismatch` naming the size (its own
/// verdict stays in its notes).
fn hold_to_edges(run: &mut RunReport, edges: Vec<EdgeSize>) {
    if let Some(e) = edges.iter().find(|e| e.failed()) {
        if run.status == Status::Ok {
            run.status = Status::Mismatch;
        }
        let why = e.message.as_deref().unwrap_or("");
        let text = match e.status {
            Status::Error => format!("edge sizes: at N = {}, {why}", e.n),
            _ => format!(
                "edge sizes: at N = {} the custom kernels give a {} against the f64 reference ({why})",
                e.n, e.status
            ),
        };
        run.add_note(Note::new(NoteKind::Verdict, text));
    }
    run.edge_sizes = edges;
}

/// What a solver's row is, apart from its measurement.
fn job_row(job: &Job, problem: &Problem) -> Row {
    let kind = RowKind::from(job.id.group());
    Row {
        name: job.name(),
        info: job.id.info(job.gpu.as_deref(), problem.n()),
        arithmetic: job.id.arithmetic(),
        library: None,
        algorithmic: job.id == SolverId::CpuMoments,
        reference: job.id == SolverId::REFERENCE,
        kind,
    }
}

/// An f16-storage row, judged on the f16-rounded data, with the rounding's cost in a note.
fn f16_row(
    row: Row,
    m: Result<Measurement, GdError>,
    judging: Judging,
    rounded: &Rounded,
) -> RunReport {
    let judging = Judging {
        expect: &rounded.expect,
        reference: &rounded.full,
        reference_spot: &rounded.spot,
        ..judging
    };
    let mut run = run_report(row, m, judging);
    if run.status != Status::Unavailable {
        run.data_rounding_rel_diff = rounded.rel_diff;
        let cost = rounded
            .rel_diff
            .map_or("an unknown amount".into(), |d| format!("{d:.1e}"));
        run.add_note(Note::shared(
            NoteKind::F16Data,
            format!(
                "judged on the f16-rounded data (storing in f16 moves the f64 answer by {cost})"
            ),
            format!(
                "judged on the f16-rounded data: storing in f16 moves the f64 answer by {cost}"
            ),
            "",
        ));
    }
    run
}

/// "custom shaders: ..." when a row compiled kernel files from a `--shaders` folder: those that
/// differ from the built-in ones, and those that are unchanged copies.
fn custom_shaders(kernels: &[KernelSource]) -> Option<String> {
    let custom: Vec<&KernelSource> = kernels.iter().filter(|k| k.source != "builtin").collect();
    if custom.is_empty() {
        return None;
    }
    let names = |changed: bool| {
        custom
            .iter()
            .filter(|k| k.changed == changed)
            .map(|k| k.file.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (changed, same) = (names(true), names(false));
    Some(match (changed.is_empty(), same.is_empty()) {
        (false, true) => format!("custom shaders: {changed}"),
        (false, false) => format!("custom shaders: {changed} ({same} unchanged)"),
        _ => format!("custom shaders, all identical to the built-in: {same}"),
    })
}

/// Why a row is unavailable; rows whose adapter lacks a feature share one line of the report.
fn unavailable_note(reason: String) -> Note {
    match crate::gpu::lacked_feature(&reason).map(str::to_owned) {
        Some(feature) => Note::shared(NoteKind::Verdict, reason, "the adapter lacks", feature),
        None => Note::new(NoteKind::Verdict, reason),
    }
}

/// The report of one row: its verdicts, notes and figures (speed-up and ceiling come later, once
/// every row is in).
pub fn run_report(row: Row, measurement: Result<Measurement, GdError>, j: Judging) -> RunReport {
    let mut run = blank(&row, j.bench.warmup);
    let m = match measurement {
        Ok(m) => m,
        Err(GdError::Unavailable { reason }) => {
            run.status = Status::Unavailable;
            run.add_note(unavailable_note(reason));
            return run;
        }
        Err(e) => {
            run.add_note(Note::new(NoteKind::Verdict, e.to_string()));
            return run;
        }
    };
    let mut notes = Vec::new();
    let (status, judged) = judge::verdicts(&mut run, &row, &m, &j, &mut notes);
    if m.spot.is_none() {
        notes.push(Note::new(
            NoteKind::Check,
            "spot check not run (interrupted, or the peer sent none)",
        ));
    }
    run.descents = descents(&m, &judged, &j, row.reference);
    notes.extend(measurement_notes(&row, &m));
    run.status = status;
    run.pacing = m.pacing;
    run.clocks = m.clocks.clone();
    if !m.kernels.is_empty() {
        run.kernel_hash = Some(kernel_hash(&m.kernels));
        run.kernels = m.kernels.clone();
    }
    for note in notes {
        run.add_note(note);
    }
    derive_figures(&mut run, &row, &m, &j);
    run
}

/// A row with nothing measured yet: an `error` until its verdict is in.
fn blank(row: &Row, warmup: u32) -> RunReport {
    let info = &row.info;
    RunReport {
        solver: row.name.clone(),
        kind: row.kind,
        library: row.library.clone(),
        device: info.device.clone(),
        device_type: info.device_type,
        precision: info.precision,
        threads: info.threads,
        status: Status::Error,
        reference: row.reference,
        message: String::new(),
        notes: Vec::new(),
        w: None,
        max_abs_diff: None,
        max_rel_diff: None,
        data_rounding_rel_diff: None,
        tolerance: None,
        diverged_at_epoch: None,
        spot_check: None,
        cross_check: None,
        time_s: None,
        prepare_s: None,
        phases: None,
        epoch_us: None,
        effective_gb_s: None,
        epochs_per_s: None,
        gflop_s: None,
        peak_gb_s: None,
        peak_pct: None,
        peak_note: None,
        speedup: None,
        compute_limit_us: None,
        bound: None,
        pacing: None,
        clocks: None,
        kernel_hash: None,
        kernels: Vec::new(),
        edge_sizes: Vec::new(),
        variant: None,
        vs_builtin: None,
        diagnosis: None,
        warmup,
        descent_s: None,
        descents: Vec::new(),
    }
}

/// Each descent of a row: its step, weights, final loss and verdict.
fn descents(
    m: &Measurement,
    judged: &[Judged],
    j: &Judging,
    reference: bool,
) -> Vec<DescentReport> {
    m.descents
        .iter()
        .zip(judged)
        .zip(j.expect)
        .map(|((o, v), e)| DescentReport {
            mu: e.mu,
            w: o.w,
            loss: Some(j.data.loss(o.w))
                .filter(|l| l.is_finite() && o.diverged_at.is_none() && e.converges()),
            status: v.status,
            max_rel_diff: v
                .verdict
                .as_ref()
                .map(|v| v.max_rel_diff)
                .filter(|d| d.is_finite() && !reference),
            diverged_at_epoch: o.diverged_at,
        })
        .collect()
}

/// The notes a measurement brings: noise, too few repeats, kernel time, non-determinism, custom
/// shaders, the solver's own, and the algorithmic limit.
fn measurement_notes(row: &Row, m: &Measurement) -> Vec<Note> {
    let mut notes = Vec::new();
    notes.extend(noise_note(&m.time));
    notes.extend(repeats_note(&m.time));
    if let Some(k) = &m.kernel {
        notes.extend(k.note.clone().map(|n| Note::new(NoteKind::KernelTime, n)));
    }
    if m.repeat_spread > 0.0 {
        notes.push(Note::new(
            NoteKind::Nondeterministic,
            format!(
                "repeats disagree by up to {:.1e}: the solver is not deterministic",
                m.repeat_spread
            ),
        ));
    }
    notes.extend(custom_shaders(&m.kernels).map(|n| Note::new(NoteKind::Shaders, n)));
    notes.extend(m.note.clone().map(|n| Note::new(NoteKind::Solver, n)));
    if let Some(why) = m.clocks.as_ref().and_then(|c| c.why.as_ref()) {
        notes.push(Note::new(
            NoteKind::Clocks,
            format!("throttled: {why}: these times are not the GPU's full speed"),
        ));
    }
    if row.algorithmic {
        notes.push(Note::new(
            NoteKind::Algorithmic,
            "algorithmic limit: O(1) per epoch from precomputed moments, not an array benchmark",
        ));
    }
    notes
}

/// The figures of a row from its median time: per epoch and per descent, GB/s and GFLOP/s, the
/// phases, and the GPU kernel time beside them.
fn derive_figures(run: &mut RunReport, row: &Row, m: &Measurement, j: &Judging) {
    let steps = m.descents.len();
    // A descent that diverged stopped there (on the CPU): the run's epochs are its longest
    // descent's, its work every descent's epochs. On a GPU diverged descents run on with the
    // others until the solve ends (early only once all have diverged).
    let ran = |o: &Outcome| o.diverged_at.unwrap_or(j.expect[0].epochs);
    let epochs_run = m.descents.iter().map(ran).max().unwrap_or(1).max(1);
    let step_epochs: u64 = if m.diverged_run_on {
        epochs_run * steps as u64
    } else {
        m.descents.iter().map(ran).sum()
    };
    let bytes = (!row.algorithmic).then(|| bytes_per_sample(run.precision));
    let f = figures(
        j.data.len(),
        step_epochs as f64 / epochs_run as f64,
        epochs_run,
        m.time.median,
        bytes,
    );
    run.descent_s = Some(m.time.median / steps as f64);
    run.epoch_us = Some(f.epoch_us);
    // A search's rows read the data once per step (one after another) or once for all (a shared
    // pass): no one bandwidth figure fits both, so none is claimed.
    run.effective_gb_s = f.effective_gb_s.filter(|_| steps == 1);
    run.epochs_per_s = Some(f.epochs_per_s);
    run.gflop_s = f.gflop_s;
    run.prepare_s = Some(m.prepare_s);
    let (gpu_kernel_s, gpu_kernel_note) = kernel_beside(m);
    if let Some(note) = &gpu_kernel_note {
        run.add_note(Note::new(NoteKind::KernelTime, note.clone()));
    }
    run.phases = Some(PhaseTimes {
        setup_s: (m.prepare_s - m.phases.upload_s.unwrap_or(0.0)).max(0.0),
        upload_s: m.phases.upload_s,
        compute_s: (m.time.median - m.phases.readback_s.unwrap_or(0.0)).max(0.0),
        readback_s: m.phases.readback_s,
        gpu_kernel_s,
        gpu_kernel_solves: m.kernel.as_ref().map(|k| k.solves),
        gpu_kernel_note,
    });
    run.time_s = Some(m.time.clone());
}

/// The noisy-repeats note, when the repeats disagree enough to doubt the median.
fn noise_note(time: &TimeStats) -> Option<Note> {
    let text = time.noise_warning()?;
    let cv = if time.mean > 0.0 {
        time.stddev / time.mean
    } else {
        0.0
    };
    Some(Note::shared(
        NoteKind::Noisy,
        text,
        "noisy (stddev/mean of the repeats; close other programs)",
        format!("{:.0}%", 100.0 * cv),
    ))
}

/// The note of a row with too few repeats for a 95 % interval of its median.
fn repeats_note(time: &TimeStats) -> Option<Note> {
    if time.ci95.is_some() {
        return None;
    }
    let n = time.repeats.len();
    let text = if n == 1 {
        "1 timed solve: no spread".to_string()
    } else {
        format!(
            "{n} repeats: too few for a 95 % interval of the median ({} needed)",
            crate::stats::CI_MIN_REPEATS
        )
    };
    Some(Note::shared(
        NoteKind::Repeats,
        text,
        format!(
            "too few repeats for a spread (a 95 % interval needs {})",
            crate::stats::CI_MIN_REPEATS
        ),
        n.to_string(),
    ))
}

/// The GPU kernel time to show beside the row's median wall time, or why none is: instrumented
/// solves (timestamps written) run apart from the timed ones and slower, so their kernel time can
/// exceed the median wall time of the timed solves; shown there, it would read as more than 100 %
/// of it. Such a kernel time is left out, and the note gives it with both figures.
fn kernel_beside(m: &Measurement) -> (Option<f64>, Option<String>) {
    let Some(kernel) = m.kernel.as_ref().and_then(|k| k.median_s) else {
        return (None, None);
    };
    if kernel <= m.time.median {
        return (Some(kernel), None);
    }
    let note = format!(
        "kernel time not shown: {} on the instrumented solves exceeds the {} median wall time (timestamps slow a solve)",
        crate::report::format::time(kernel),
        crate::report::format::time(m.time.median)
    );
    (None, Some(note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::BenchSettings;
    use crate::solver::{DeviceType, Phases, SolverInfo};
    use crate::suite::fixtures::hand_made;
    use crate::validate::{Arithmetic, Expectations};
    use crate::{Dataset, Problem};

    #[test]
    fn a_gpu_searchs_diverged_steps_count_every_epoch_they_ran_on() {
        // Two steps, the second past the stability limit. A GPU saw it out of range at a
        // checkpoint after 10 epochs and computed it to the end (40) with the other; a CPU
        // stops it at 10.
        let n = 1000;
        let data = std::sync::Arc::new(Dataset::synthetic(n, 0.1, 1).unwrap());
        let limit =
            Expectations::of(&Problem::shared(data.clone(), 0.01, 1).unwrap()).max_stable_mu;
        let problem = Problem::search(data, vec![0.01, 1.5 * limit], 40).unwrap();
        let expect = Expectations::each(&problem);
        let reference = crate::SolverId::REFERENCE
            .prepare(&problem)
            .unwrap()
            .solve_all()
            .unwrap();
        let spot = crate::SolverId::REFERENCE
            .prepare(&problem)
            .unwrap()
            .descents(expect[0].spot_epochs)
            .unwrap();
        assert!(reference[1].diverged_at.is_some());
        let mut seen = reference.clone();
        seen[1].diverged_at = Some(10);
        let bench = BenchSettings::default();
        let gflop_s = |run_on: bool| {
            let row = Row {
                name: "hand-made".into(),
                info: SolverInfo {
                    device: "Some GPU [vulkan]".into(),
                    device_type: DeviceType::DiscreteGpu,
                    precision: Precision::F64,
                    threads: 1,
                },
                arithmetic: Arithmetic::F64,
                library: None,
                algorithmic: false,
                reference: false,
                kind: RowKind::Gpu,
            };
            let m = Measurement {
                prepare_s: 0.0,
                time: TimeStats::from_samples(vec![0.5]),
                descents: seen.clone(),
                repeat_spread: 0.0,
                phases: Phases::default(),
                spot: Some(spot.clone()),
                kernel: None,
                note: None,
                pacing: None,
                diverged_run_on: run_on,
                kernels: Vec::new(),
                clocks: None,
            };
            let j = Judging {
                expect: &expect,
                reference: &reference,
                reference_spot: &spot,
                data: problem.data(),
                bench: &bench,
            };
            run_report(row, Ok(m), j).gflop_s.unwrap()
        };
        let by_hand = |step_epochs: f64| 6.0 * n as f64 * step_epochs / 0.5 / 1e9;
        assert!((gflop_s(true) / by_hand(80.0) - 1.0).abs() < 1e-12);
        assert!((gflop_s(false) / by_hand(50.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_failed_spot_check_makes_the_row_a_mismatch() {
        let problem = Problem::new(Dataset::synthetic(100, 0.1, 1).unwrap(), 0.01, 40).unwrap();
        let expect = Expectations::of(&problem);
        let bench = BenchSettings::default();
        let reference = expect.moments.0;
        let mut wrong = expect.moments.1;
        wrong.w[0] *= 1.01;
        let m = Measurement {
            prepare_s: 0.0,
            time: TimeStats::from_samples(vec![0.1]),
            descents: vec![reference],
            repeat_spread: 0.0,
            phases: Phases::default(),
            spot: Some(vec![wrong]),
            kernel: None,
            note: None,
            pacing: None,
            diverged_run_on: false,
            kernels: Vec::new(),
            clocks: None,
        };
        let row = Row {
            name: "r".into(),
            info: SolverInfo {
                device: "cpu".into(),
                device_type: DeviceType::Cpu,
                precision: Precision::F32,
                threads: 1,
            },
            arithmetic: Arithmetic::F64,
            library: None,
            algorithmic: false,
            reference: false,
            kind: RowKind::Cpu,
        };
        let j = Judging {
            expect: std::slice::from_ref(&expect),
            reference: std::slice::from_ref(&reference),
            reference_spot: std::slice::from_ref(&expect.moments.1),
            data: problem.data(),
            bench: &bench,
        };
        let run = run_report(row, Ok(m), j);
        assert_eq!(run.status, Status::Mismatch);
        assert_eq!(run.spot_check.as_ref().unwrap().status, Status::Mismatch);
        assert!(
            run.message.contains("spot check") && run.message.contains("1 timed solve: no spread"),
            "{}",
            run.message
        );
    }

    #[test]
    fn exit_codes_follow_their_precedence() {
        use crate::error::exit;
        use crate::report::exit_status;
        let (base, _) = hand_made(Precision::F64, false, 1000);
        let row = |name: &str, status: Status| RunReport {
            solver: name.into(),
            status,
            ..base.clone()
        };
        let code = |rows: &[RunReport], named: &[&str]| {
            exit_status(rows, false, false, |r| named.contains(&r))
        };
        let (ok, mismatch, diverged) = (
            row("a", Status::Ok),
            row("b", Status::Mismatch),
            row("c", Status::Diverged),
        );
        let (error, unavailable) = (row("d", Status::Error), row("e", Status::Unavailable));
        assert_eq!(code(std::slice::from_ref(&ok), &[]), exit::SUCCESS);
        // An unavailable row is excused in a group, not when named.
        assert_eq!(code(&[ok.clone(), unavailable.clone()], &[]), exit::SUCCESS);
        assert_eq!(
            code(&[ok.clone(), unavailable.clone()], &["e"]),
            exit::NOT_RUN
        );
        // An error never is, named or not.
        assert_eq!(code(&[ok.clone(), error.clone()], &[]), exit::NOT_RUN);
        // Nothing measured is never a success, however excused each row is.
        assert_eq!(
            code(&[unavailable.clone(), error.clone()], &[]),
            exit::NOT_RUN
        );
        assert_eq!(code(std::slice::from_ref(&unavailable), &[]), exit::NOT_RUN);
        assert_eq!(code(&[], &[]), exit::NOT_RUN);
        // 130 over 3 over 4 over 5 over 0.
        let all = [ok, mismatch.clone(), diverged.clone(), error.clone()];
        assert_eq!(exit_status(&all, false, true, |_| false), exit::INTERRUPTED);
        assert_eq!(code(&all, &[]), exit::MISMATCH);
        assert_eq!(code(&[diverged.clone(), error], &[]), exit::NOT_RUN);
        assert_eq!(
            code(&[diverged.clone(), unavailable], &["e"]),
            exit::NOT_RUN
        );
        assert_eq!(code(std::slice::from_ref(&diverged), &[]), exit::DIVERGED);
        // The reference against cpu-moments counts as a mismatch whatever the rows say.
        assert_eq!(
            exit_status(&[diverged], true, false, |_| false),
            exit::MISMATCH
        );
    }

    #[test]
    fn a_kernel_time_above_the_median_wall_time_is_not_shown_beside_it() {
        let measurement = |kernel_s: f64| Measurement {
            prepare_s: 0.0,
            time: TimeStats::from_samples(vec![0.30, 0.358, 0.40]),
            descents: Vec::new(),
            repeat_spread: 0.0,
            phases: Phases::default(),
            spot: None,
            kernel: Some(crate::bench::KernelTimes {
                median_s: Some(kernel_s),
                solves: 3,
                note: None,
            }),
            note: None,
            pacing: None,
            diverged_run_on: false,
            kernels: Vec::new(),
            clocks: None,
        };
        assert_eq!(kernel_beside(&measurement(0.3)), (Some(0.3), None));
        let (shown, note) = kernel_beside(&measurement(0.396));
        assert_eq!(shown, None);
        let note = note.unwrap();
        assert!(note.contains("396") && note.contains("358"), "{note}");
    }
}
