//! One row of the report from one measurement: the verdicts (full descent and spot check), the
//! figures derived from the median time, the share of a measured ceiling, and the notes.

use crate::bench::{BenchSettings, Measurement, TimeStats};
use crate::error::GdError;
use crate::machine::LastLevelCache;
use crate::probe::Ceilings;
use crate::problem::Dataset;
use crate::report::DescentReport;
use crate::report::{Note, NoteKind, PhaseTimes, RowKind, RunReport};
use crate::solver::{DeviceType, Outcome, Precision, SolverInfo};
use crate::validate::{Arithmetic, Check, Expectations, Status, cross_check, judge, spot_check};

/// Flops per sample per epoch: the error (3), Σe (1) and Σe·x (2).
pub const FLOPS_PER_SAMPLE: f64 = 6.0;

/// A GPU row's data smaller than this may sit in the GPU's caches (wgpu does not report their
/// size; L2 is 50–96 MiB on current datacenter cards): no share of DRAM bandwidth is claimed.
pub const GPU_CACHE_GUESS_BYTES: f64 = 128.0 * 1024.0 * 1024.0;

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
    /// Anything else the row's reader should know.
    pub note: Option<String>,
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

/// Bytes of x and d one epoch reads per sample in `precision`.
pub fn bytes_per_sample(precision: Precision) -> f64 {
    match precision {
        Precision::F16 => 4.0,
        Precision::F32 => 8.0,
        Precision::Df64 | Precision::F64 => 16.0,
    }
}

/// Rates derived from the median time of a descent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Microseconds per epoch.
    pub epoch_us: f64,
    /// Epochs per second.
    pub epochs_per_s: f64,
    /// Bytes of x and d per epoch over the time per epoch, GB/s (none for the algorithmic limit).
    pub effective_gb_s: Option<f64>,
    /// [`FLOPS_PER_SAMPLE`] per sample per epoch over the time per epoch, GFLOP/s (likewise).
    pub gflop_s: Option<f64>,
}

/// The figures of `epochs` epochs over `n` samples taking `median_s`, `steps` descents per epoch on
/// average (1 outside a search), reading `bytes_per_sample` once per epoch (none: not an array
/// benchmark).
pub fn figures(
    n: usize,
    steps: f64,
    epochs: u64,
    median_s: f64,
    bytes_per_sample: Option<f64>,
) -> Figures {
    let epoch_s = median_s / epochs as f64;
    Figures {
        epoch_us: epoch_s * 1e6,
        epochs_per_s: 1.0 / epoch_s,
        effective_gb_s: bytes_per_sample.map(|b| n as f64 * b / epoch_s / 1e9),
        gflop_s: bytes_per_sample.map(|_| FLOPS_PER_SAMPLE * n as f64 * steps / epoch_s / 1e9),
    }
}

/// How a row stands against its measured ceiling.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// The ceiling it is held against, GB/s (none when no probe measured one for it).
    pub ceiling: Option<f64>,
    /// Its share of that ceiling, % (never above 100).
    pub pct: Option<f64>,
    /// Why no share is claimed, when none is.
    pub note: Option<String>,
    /// True when the share came out above 100 %: the ceiling was under-measured.
    pub over: bool,
    /// Data in a cache: the headline rows in cache share and this row's data size.
    pub in_cache: Option<(String, String)>,
}

impl Share {
    fn none(ceiling: Option<f64>, note: Option<String>) -> Self {
        Self {
            ceiling,
            pct: None,
            note,
            over: false,
            in_cache: None,
        }
    }

    fn cached(ceiling: f64, note: String, headline: String, detail: String) -> Self {
        Self {
            in_cache: Some((headline, detail)),
            ..Self::none(Some(ceiling), Some(note))
        }
    }
}

/// The ceiling a row is held against and its share of it, or a note saying why none is claimed:
/// data in a cache (`llc`, the host's last-level cache, for CPU-type devices) has no share of
/// memory bandwidth, and a share over 100 % means the ceiling, not the row, is wrong (`over`:
/// the caller measures it again once). A row on several threads is held against the larger of the
/// one-core and all-core figures (more threads never read slower; a busy machine can make the
/// all-core probe read so).
pub fn peak(run: &RunReport, n: usize, ceilings: &Ceilings, llc: LastLevelCache) -> Share {
    let Some(gb_s) = run.effective_gb_s else {
        return Share::none(None, None);
    };
    let gpu = run.kind == RowKind::Gpu;
    let ceiling = if gpu {
        ceilings
            .gpu
            .iter()
            .find(|g| g.device == run.device)
            .map(|g| g.read_gb_s)
    } else if run.device_type == DeviceType::Cpu {
        let c = &ceilings.cpu;
        Some(if run.threads > 1 {
            c.read_gb_s_all_cores.max(c.read_gb_s_one_core)
        } else {
            c.read_gb_s_one_core
        })
    } else {
        None
    };
    let Some(ceiling) = ceiling else {
        let note = gpu
            .then(|| {
                ceilings
                    .gpu_failures
                    .iter()
                    .find(|f| f.device == run.device)
            })
            .flatten()
            .map(|f| {
                format!(
                    "no share of a ceiling: the probe failed on this adapter ({})",
                    f.error
                )
            });
        return Share::none(None, note);
    };
    let bytes = n as f64 * bytes_per_sample(run.precision);
    let llc = cache_beside(run, llc);
    if run.device_type == DeviceType::Cpu && in_cache(run, n, llc) {
        let note = format!(
            "in cache: {} of data beside a {} last-level cache, so no share of memory bandwidth",
            human_bytes(bytes),
            human_bytes(llc)
        );
        let headline = format!(
            "in cache (beside a {} last-level cache: no share of memory bandwidth)",
            human_bytes(llc)
        );
        return Share::cached(ceiling, note, headline, human_bytes(bytes));
    }
    if in_cache(run, n, llc) {
        let note = format!(
            "{} of data may sit in the GPU's caches, so no share of memory bandwidth",
            human_bytes(bytes)
        );
        let headline =
            "data that may sit in the GPU's caches, so no share of memory bandwidth".to_string();
        return Share::cached(ceiling, note, headline, human_bytes(bytes));
    }
    let pct = 100.0 * gb_s / ceiling;
    if pct > 100.0 {
        let note = format!(
            "{pct:.0} % of the measured ceiling ({ceiling:.1} GB/s): the ceiling is suspect, so no share is shown"
        );
        return Share {
            over: true,
            ..Share::none(Some(ceiling), Some(note))
        };
    }
    Share {
        pct: Some(pct),
        ..Share::none(Some(ceiling), None)
    }
}

/// The last-level cache a CPU-type row's data sits beside, bytes: one thread's data can fill its
/// own cache instance; several threads' data, every instance.
fn cache_beside(run: &RunReport, llc: LastLevelCache) -> f64 {
    (if run.threads > 1 {
        llc.total
    } else {
        llc.per_core
    }) as f64
}

/// True when a row's data (in its precision) may sit in a cache: within twice the last-level
/// cache `llc_bytes` beside it on a CPU-type device, under [`GPU_CACHE_GUESS_BYTES`] on a GPU.
pub fn in_cache(run: &RunReport, n: usize, llc_bytes: f64) -> bool {
    let bytes = n as f64 * bytes_per_sample(run.precision);
    if run.device_type == DeviceType::Cpu {
        bytes <= 2.0 * llc_bytes
    } else {
        bytes < GPU_CACHE_GUESS_BYTES
    }
}

/// [`in_cache`] with the cache beside the row chosen from the host's.
pub fn data_in_cache(run: &RunReport, n: usize, llc: LastLevelCache) -> bool {
    in_cache(run, n, cache_beside(run, llc))
}

/// Holds every row against its measured ceiling ([`peak`]). A share above 100 % means the ceiling
/// was under-measured: each such ceiling is measured once more (`again`, false when it could
/// not be), and every row held against the figures then; a row still above gets no share, and a
/// note saying so.
pub(super) fn hold_to_ceilings(
    runs: &mut [RunReport],
    n: usize,
    ceilings: &mut Ceilings,
    llc: LastLevelCache,
    again: &mut dyn FnMut(&RunReport, &mut Ceilings) -> bool,
) {
    let key = |run: &RunReport| {
        if run.kind == RowKind::Gpu {
            run.device.clone()
        } else {
            "cpu".to_string()
        }
    };
    let mut tried: Vec<(String, bool)> = Vec::new();
    for run in runs.iter() {
        if peak(run, n, ceilings, llc).over && !tried.iter().any(|(k, _)| *k == key(run)) {
            let measured = again(run, ceilings);
            tried.push((key(run), measured));
        }
    }
    for run in runs.iter_mut() {
        let share = peak(run, n, ceilings, llc);
        (run.peak_gb_s, run.peak_pct) = (share.ceiling, share.pct);
        if let Some(mut note) = share.note {
            if share.over {
                let twice = tried
                    .iter()
                    .any(|(k, measured)| *k == key(run) && *measured);
                note += if twice {
                    ", though measured twice"
                } else {
                    ", and could not be measured again"
                };
            }
            run.add_note(match share.in_cache {
                Some((headline, detail)) => {
                    Note::shared(NoteKind::Ceiling, note.clone(), headline, detail)
                }
                None => Note::new(NoteKind::Ceiling, note.clone()),
            });
            run.peak_note = Some(note);
        }
    }
}

/// Bytes in KiB, MiB or GiB.
fn human_bytes(b: f64) -> String {
    match b {
        b if b >= (1u64 << 30) as f64 => format!("{:.1} GiB", b / (1u64 << 30) as f64),
        b if b >= (1u64 << 20) as f64 => format!("{:.1} MiB", b / (1u64 << 20) as f64),
        b => format!("{:.0} KiB", b / 1024.0),
    }
}

/// The report of one row: its verdicts, figures and notes (speed-up and ceiling come later, once
/// every row is in).
pub fn run_report(row: Row, measurement: Result<Measurement, GdError>, j: Judging) -> RunReport {
    let info = row.info;
    let mut run = RunReport {
        solver: row.name,
        kind: row.kind,
        library: row.library,
        device: info.device,
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
        bound: None,
        pacing: None,
        warmup: j.bench.warmup,
        descent_s: None,
        descents: Vec::new(),
    };
    let m = match measurement {
        Ok(m) => m,
        Err(GdError::Unavailable { reason }) => {
            run.status = Status::Unavailable;
            run.add_note(Note::new(NoteKind::Verdict, reason));
            return run;
        }
        Err(e) => {
            run.add_note(Note::new(NoteKind::Verdict, e.to_string()));
            return run;
        }
    };
    let mut notes = Vec::new();
    let judged: Vec<Judged> = (0..m.descents.len())
        .map(|i| judge_step(row.reference, row.arithmetic, &m, &j, i))
        .collect();
    let status = if let [one] = &judged[..] {
        // One step: the row is its descent, as it always was.
        notes.push(Note::new(NoteKind::Verdict, one.note.clone()));
        notes.extend(one.spot_note.clone().map(|n| Note::new(NoteKind::Check, n)));
        run.cross_check = one.cross.clone();
        run.spot_check = one.spot.clone();
        if let Some(v) = one.verdict.as_ref().filter(|_| !row.reference) {
            run.max_abs_diff = Some(v.max_abs_diff).filter(|v| v.is_finite());
            run.max_rel_diff = Some(v.max_rel_diff).filter(|v| v.is_finite());
            run.tolerance = Some(v.tolerance).filter(|t| t.is_finite());
        }
        run.w = Some(m.descents[0].w);
        run.diverged_at_epoch = m.descents[0].diverged_at;
        one.status
    } else {
        search_verdict(&mut run, &judged, &j, &mut notes)
    };
    if m.spot.is_none() {
        notes.push(Note::new(
            NoteKind::Check,
            "spot check not run (interrupted, or the peer sent none)",
        ));
    }
    run.descents = m
        .descents
        .iter()
        .zip(&judged)
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
                .filter(|d| d.is_finite() && !row.reference),
            diverged_at_epoch: o.diverged_at,
        })
        .collect();
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
    notes.extend(row.note.map(|n| Note::new(NoteKind::Shaders, n)));
    notes.extend(m.note.clone().map(|n| Note::new(NoteKind::Solver, n)));
    if row.algorithmic {
        notes.push(Note::new(
            NoteKind::Algorithmic,
            "algorithmic limit: O(1) per epoch from precomputed moments, not an array benchmark",
        ));
    }
    run.status = status;
    run.pacing = m.pacing;
    for note in notes {
        run.add_note(note);
    }
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
    let bytes = (!row.algorithmic).then(|| bytes_per_sample(info.precision));
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
    let (gpu_kernel_s, gpu_kernel_note) = kernel_beside(&m);
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
    run.time_s = Some(m.time);
    run
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

/// One descent of a row, judged: its verdict (or the reference's cross-check) and spot check.
struct Judged {
    status: Status,
    /// The verdict's sentence (empty when ok).
    note: String,
    verdict: Option<crate::validate::Verdict>,
    spot: Option<Check>,
    /// The failed spot check's sentence.
    spot_note: Option<String>,
    cross: Option<Check>,
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
    let worst = |f: fn(&crate::validate::Verdict) -> f64| {
        judged
            .iter()
            .zip(j.expect)
            .filter(|(_, e)| e.converges())
            .filter_map(|(v, _)| v.verdict.as_ref())
            .map(f)
            .filter(|v| v.is_finite())
            .reduce(f64::max)
    };
    if !run.reference {
        run.max_abs_diff = worst(|v| v.max_abs_diff);
        run.max_rel_diff = worst(|v| v.max_rel_diff);
        run.tolerance = worst(|v| v.tolerance);
    }
    // The spot and cross checks shown: the first that failed, else the widest.
    let pick = |checks: Vec<&Check>| {
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
    };
    run.spot_check = pick(judged.iter().filter_map(|v| v.spot.as_ref()).collect());
    run.cross_check = pick(judged.iter().filter_map(|v| v.cross.as_ref()).collect());
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

/// The note a failed spot check adds to its row.
fn spot_note(check: &Check) -> String {
    format!(
        "spot check: after {} epochs it differs from the reference by {:.2e} (relative), over {:.1e}: a lost tile, skipped chunk or wrong scale shows here first",
        check.epochs,
        check.max_rel_diff.unwrap_or(f64::NAN),
        check.tolerance
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::bench::TimeStats;
    use crate::probe::{CpuCeilings, GpuCeilings};
    use crate::solver::Phases;
    use crate::{Dataset, Problem};

    /// An `ok` f64 CPU row of 100 samples, from a real judging, to be edited by a test.
    pub(crate) fn empty_row() -> RunReport {
        hand_made(Precision::F64, false, 100).0
    }

    fn hand_made(precision: Precision, gpu: bool, n: usize) -> (RunReport, Ceilings) {
        let problem = Problem::new(Dataset::synthetic(n, 0.1, 1).unwrap(), 0.01, 40).unwrap();
        let expect = Expectations::of(&problem);
        let reference = expect.moments.0;
        let bench = BenchSettings::default();
        let row = Row {
            name: "hand-made".into(),
            info: SolverInfo {
                device: if gpu {
                    "Some GPU [vulkan]".into()
                } else {
                    "cpu".into()
                },
                device_type: if gpu {
                    DeviceType::DiscreteGpu
                } else {
                    DeviceType::Cpu
                },
                precision,
                threads: 1,
            },
            arithmetic: precision.arithmetic(),
            library: None,
            algorithmic: false,
            reference: false,
            kind: if gpu { RowKind::Gpu } else { RowKind::Cpu },
            note: None,
        };
        // Four repeats of 0.2 s around a 0.25 s median: 40 epochs, so 6.25 ms per epoch.
        let m = Measurement {
            prepare_s: 0.5,
            time: TimeStats::from_samples(vec![0.2, 0.25, 0.25, 0.3]),
            descents: vec![reference],
            repeat_spread: 0.0,
            phases: Phases::default(),
            spot: Some(vec![expect.moments.1]),
            kernel: None,
            note: None,
            pacing: None,
            diverged_run_on: false,
        };
        let j = Judging {
            expect: std::slice::from_ref(&expect),
            reference: std::slice::from_ref(&reference),
            reference_spot: std::slice::from_ref(&expect.moments.1),
            data: problem.data(),
            bench: &bench,
        };
        let ceilings = Ceilings {
            cpu: CpuCeilings {
                read_gb_s_one_core: 10.0,
                read_gb_s_all_cores: 20.0,
                threads: 2,
                buffer_bytes: 1 << 30,
                ..Default::default()
            },
            gpu: vec![GpuCeilings {
                device: "Some GPU [vulkan]".into(),
                read_gb_s: 1000.0,
                buffer_bytes: 1 << 30,
                timed_by: "timestamps".into(),
                measured_s: 0.05,
                round_trip_us: 20.0,
                ..Default::default()
            }],
            gpu_failures: Vec::new(),
        };
        (run_report(row, Ok(m), j), ceilings)
    }

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
                note: None,
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

    /// A 32 MiB last-level cache, whatever this machine has.
    const LLC: LastLevelCache = LastLevelCache {
        per_core: 32 << 20,
        total: 64 << 20,
    };

    #[test]
    fn derived_figures_follow_independent_formulas_in_each_precision() {
        let n = 20_000_000;
        for (precision, bytes) in [(Precision::F32, 8.0), (Precision::F64, 16.0)] {
            let (run, mut ceilings) = hand_made(precision, false, n);
            assert_eq!(run.status, Status::Ok, "{}", run.message);
            let epoch_s = 0.25 / 40.0;
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
            assert!(close(run.epoch_us.unwrap(), 6250.0));
            assert!(close(run.epochs_per_s.unwrap(), 160.0));
            // 20 M samples × 8 or 16 bytes in 6.25 ms: 25.6 or 51.2 GB/s.
            let gb_s = n as f64 * bytes / epoch_s / 1e9;
            let by_hand = if bytes == 8.0 { 25.6 } else { 51.2 };
            assert!((gb_s - by_hand).abs() < 1e-9, "{gb_s}");
            assert!(close(run.effective_gb_s.unwrap(), gb_s), "{precision}");
            assert!(close(run.gflop_s.unwrap(), 6.0 * n as f64 / epoch_s / 1e9));
            // Far beyond the cache: the share of one core's ceiling is shown...
            ceilings.cpu.read_gb_s_one_core = 60.0;
            let share = peak(&run, n, &ceilings, LLC);
            assert_eq!(share.ceiling, Some(60.0));
            assert!(
                close(share.pct.unwrap(), 100.0 * gb_s / 60.0) && share.note.is_none(),
                "{precision}"
            );
            // ...up to 100 % of it exactly...
            ceilings.cpu.read_gb_s_one_core = gb_s;
            assert!(close(peak(&run, n, &ceilings, LLC).pct.unwrap(), 100.0));
            // ...and not one part in a thousand over it: then the ceiling is suspect, not the row.
            ceilings.cpu.read_gb_s_one_core = gb_s / 1.001;
            let share = peak(&run, n, &ceilings, LLC);
            assert!(share.over && share.pct.is_none(), "{share:?}");
            assert!(share.note.unwrap().contains("ceiling is suspect"));
        }
    }

    #[test]
    fn data_in_cache_gets_no_share_of_memory_bandwidth() {
        // 1 M f64 samples are 16 MiB: within twice one core's 32 MiB cache.
        let (run, ceilings) = hand_made(Precision::F64, false, 1_000_000);
        let share = peak(&run, 1_000_000, &ceilings, LLC);
        assert_eq!(share.pct, None);
        assert!(share.note.unwrap().starts_with("in cache"));
        // 6 M samples (96 MiB) are beyond one core's cache, but within all cores' for 2 threads.
        let (mut run, mut ceilings) = hand_made(Precision::F64, false, 6_000_000);
        ceilings.cpu.read_gb_s_one_core = 100.0;
        ceilings.cpu.read_gb_s_all_cores = 200.0;
        assert!(peak(&run, 6_000_000, &ceilings, LLC).pct.is_some());
        run.threads = 2;
        assert!(peak(&run, 6_000_000, &ceilings, LLC).pct.is_none());
        let (run, ceilings) = hand_made(Precision::F32, true, 1000);
        let share = peak(&run, 1000, &ceilings, LLC);
        assert_eq!((share.ceiling, share.pct), (Some(1000.0), None));
        assert!(share.note.unwrap().contains("GPU's caches"));
    }

    #[test]
    fn a_failed_gpu_probe_is_said_on_the_row() {
        let (run, mut ceilings) = hand_made(Precision::F32, true, 100_000_000);
        ceilings.gpu[0].device = "another GPU".into();
        ceilings.gpu_failures.push(crate::probe::ProbeFailure {
            device: run.device.clone(),
            error: "out of memory".into(),
        });
        let share = peak(&run, 100_000_000, &ceilings, LLC);
        assert_eq!((share.ceiling, share.pct), (None, None));
        assert!(
            share
                .note
                .unwrap()
                .contains("the probe failed on this adapter (out of memory)")
        );
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
            note: None,
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
    fn a_share_over_100_percent_measures_its_ceiling_again_once_then_shows_none() {
        let n = 20_000_000;
        let (run, mut ceilings) = hand_made(Precision::F64, false, n);
        let gb_s = run.effective_gb_s.unwrap();
        // Two rows on one core, 120 % of its ceiling.
        ceilings.cpu.read_gb_s_one_core = gb_s / 1.2;
        let mut runs = vec![run.clone(), run.clone()];
        // A second measurement that finds twice the first: both rows get a share.
        let mut calls = 0;
        let mut doubled = |_: &RunReport, c: &mut Ceilings| {
            calls += 1;
            c.cpu.read_gb_s_one_core *= 2.0;
            true
        };
        hold_to_ceilings(&mut runs, n, &mut ceilings.clone(), LLC, &mut doubled);
        assert_eq!(calls, 1);
        for r in &runs {
            assert!((r.peak_pct.unwrap() - 60.0).abs() < 1e-9, "{r:?}");
            assert_eq!(r.peak_note, None);
        }
        // One that finds the same: no share, a note, and no third measurement.
        let mut runs = vec![run.clone(), run];
        let mut calls = 0;
        let mut same = |_: &RunReport, _: &mut Ceilings| {
            calls += 1;
            true
        };
        hold_to_ceilings(&mut runs, n, &mut ceilings.clone(), LLC, &mut same);
        assert_eq!(calls, 1);
        for r in &runs {
            assert_eq!(r.peak_pct, None);
            let note = r.peak_note.as_deref().unwrap();
            assert!(
                note.contains("ceiling is suspect, so no share is shown, though measured twice"),
                "{note}"
            );
            assert!(r.message.contains("ceiling is suspect"));
        }
        // One that cannot measure it again says so.
        let mut runs = vec![runs[0].clone()];
        hold_to_ceilings(&mut runs, n, &mut ceilings, LLC, &mut |_, _| false);
        let note = runs[0].peak_note.as_deref().unwrap();
        assert!(note.ends_with("could not be measured again"), "{note}");
    }

    #[test]
    fn several_threads_are_held_against_the_larger_read_ceiling() {
        let n = 20_000_000;
        let (mut run, mut ceilings) = hand_made(Precision::F64, false, n);
        run.threads = 2;
        let big = LastLevelCache {
            per_core: 1 << 20,
            total: 2 << 20,
        };
        // A busy probe: all cores read below one.
        ceilings.cpu.read_gb_s_one_core = 100.0;
        ceilings.cpu.read_gb_s_all_cores = 60.0;
        assert_eq!(peak(&run, n, &ceilings, big).ceiling, Some(100.0));
        ceilings.cpu.read_gb_s_all_cores = 150.0;
        assert_eq!(peak(&run, n, &ceilings, big).ceiling, Some(150.0));
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
        };
        assert_eq!(kernel_beside(&measurement(0.3)), (Some(0.3), None));
        let (shown, note) = kernel_beside(&measurement(0.396));
        assert_eq!(shown, None);
        let note = note.unwrap();
        assert!(note.contains("396") && note.contains("358"), "{note}");
    }

    #[test]
    fn measuring_a_cpu_ceiling_again_keeps_the_larger_figure() {
        let (run, mut ceilings) = hand_made(Precision::F64, false, 1000);
        // Far below anything a machine reads: the new measurement replaces it...
        ceilings.cpu.read_gb_s_one_core = 1e-3;
        ceilings.cpu.read_gb_s_all_cores = 1e-3;
        assert!(crate::suite::remeasure(&run, &mut ceilings, &[]));
        assert!(ceilings.cpu.read_gb_s_one_core > 1e-3, "{:?}", ceilings.cpu);
        assert!(
            ceilings.cpu.read_gb_s_all_cores > 1e-3,
            "{:?}",
            ceilings.cpu
        );
        // ...and far above: a lower figure does not replace a higher one.
        ceilings.cpu.read_gb_s_one_core = 1e9;
        assert!(crate::suite::remeasure(&run, &mut ceilings, &[]));
        assert_eq!(ceilings.cpu.read_gb_s_one_core, 1e9);
        // A GPU row whose adapter is not open cannot be measured again.
        let (gpu, mut ceilings) = hand_made(Precision::F32, true, 1000);
        assert!(!crate::suite::remeasure(&gpu, &mut ceilings, &[]));
    }
}
