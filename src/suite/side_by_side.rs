//! `--variant NAME=DIR` side by side: each variant row against the built-in row of the same
//! solver and adapter, their solves interleaved (A B B A A B …) so that drift in clocks or load
//! falls on both, at least [`MIN_PAIRS`] of each; the ratio of their medians per epoch with the 95 %
//! bootstrap interval `gdbench compare` uses, and its verdict. A solve too long for the pairs to
//! fit the row's budget runs fewer epochs here, and the note says so.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::SuiteOptions;
use super::jobs::{Job, Timed};
use crate::bench::{BenchSettings, warm_gpu};
use crate::error::{GdError, Result};
use crate::gpu::{GpuContext, GpuSettings};
use crate::interrupt;
use crate::problem::Problem;
use crate::progress::{Progress, Task};
use crate::report::{DEFAULT_THRESHOLD_PCT, Verdict, ratio_interval};
use crate::solver::{DeviceType, Solver, SolverId};
use crate::stats::TimeStats;

/// Interleaved pairs at least.
pub const MIN_PAIRS: usize = 5;

/// Interleaved pairs at most.
pub const MAX_PAIRS: usize = 200;

/// The change in percent a verdict other than `no clear change` needs (`compare`'s default).
pub const THRESHOLD_PCT: f64 = DEFAULT_THRESHOLD_PCT;

/// A variant row against its built-in row (JSON `vs_builtin`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct VsBuiltin {
    /// The variant's median µs per epoch over the built-in's: below 1, the variant is faster.
    pub ratio: f64,
    /// The ratio's 95 % bootstrap interval.
    pub ci95: [f64; 2],
    /// What the interval says at [`THRESHOLD_PCT`].
    pub verdict: Verdict,
    /// Interleaved pairs of solves.
    pub pairs: usize,
    /// Epochs of each of those solves (fewer than the problem's when its solve is long).
    pub epochs: u64,
}

impl VsBuiltin {
    /// The row's note: the ratio, its interval, the verdict and how it was measured.
    pub fn note(&self, builtin: &str, problem_epochs: u64) -> String {
        let solves = if self.epochs < problem_epochs {
            format!(
                "{}-epoch solves, the problem's {problem_epochs} being too long for the budget",
                self.epochs
            )
        } else {
            "solves".to_string()
        };
        format!(
            "against {builtin}: {:.3}× [{:.3}, {:.3}], {} ({} interleaved pairs of {solves})",
            self.ratio, self.ci95[0], self.ci95[1], self.verdict, self.pairs
        )
    }
}

/// Each variant row that ran, against its built-in row that ran: `vs_builtin` set on the
/// variant's [`Timed`] (or why it could not be measured).
pub(super) fn attach(
    problem: &Problem,
    measured: &mut [Timed],
    options: &SuiteOptions,
    progress: &Progress,
) {
    for i in 0..measured.len() {
        let Some(builtin) = builtin_of(measured, i) else {
            continue;
        };
        if interrupt::requested() {
            return;
        }
        let estimate = [i, builtin]
            .iter()
            .filter_map(|&k| measured[k].measured.as_ref().ok())
            .map(|m| m.time.median)
            .fold(0.0, f64::max);
        let task = progress.task(format!("{} side by side", measured[i].job.label()));
        let result = pairs(
            problem,
            (&measured[builtin].job, &measured[i].job),
            estimate,
            options,
            &task,
        );
        measured[i].vs_builtin = Some(result.map_err(|e| e.to_string()));
    }
}

/// The built-in row of variant row `i` (same solver and adapter), when both ran.
fn builtin_of(measured: &[Timed], i: usize) -> Option<usize> {
    let t = &measured[i];
    t.job.variant.as_ref()?;
    t.measured.as_ref().ok()?;
    // A kernel already shown wrong has no speed worth comparing.
    if t.edges.iter().any(|e| e.failed()) {
        return None;
    }
    let adapter = |j: &Job| j.gpu.as_ref().map(|c| c.index);
    measured.iter().position(|b| {
        b.job.variant.is_none()
            && b.job.id == t.job.id
            && adapter(&b.job) == adapter(&t.job)
            && b.measured.is_ok()
    })
}

/// Interleaved solves of the built-in job and the variant job (`a`, `b`) on `problem`, with
/// fewer epochs when a solve (`solve_s`, the slower row's median) is too long for
/// [`MIN_PAIRS`] pairs to fit the budget.
fn pairs(
    problem: &Problem,
    (a, b): (&Job, &Job),
    solve_s: f64,
    options: &SuiteOptions,
    task: &Task,
) -> Result<VsBuiltin> {
    let kernels = (&a.gpu_settings(options), &b.gpu_settings(options));
    versus(
        problem,
        a.id,
        a.gpu.as_ref(),
        kernels,
        solve_s,
        &options.bench,
        task,
    )
}

/// Solver `id` on `ctx` with kernels `b` against itself with kernels `a`: interleaved solves of
/// `problem` (fewer epochs when one, `solve_s` long, leaves no room for [`MIN_PAIRS`] pairs in
/// the budget); B's median per epoch over A's, its interval and verdict.
pub fn versus(
    problem: &Problem,
    id: SolverId,
    ctx: Option<&Arc<GpuContext>>,
    (a, b): (&GpuSettings, &GpuSettings),
    solve_s: f64,
    bench: &BenchSettings,
    task: &Task,
) -> Result<VsBuiltin> {
    let budget = bench.budget.as_secs_f64();
    let per_epoch = solve_s / problem.epochs() as f64;
    let fit = (budget / (2 * MIN_PAIRS) as f64 / per_epoch.max(1e-12)) as u64;
    let epochs = fit.clamp(1, problem.epochs());
    let short = problem.with_epochs(epochs);
    let mut sa = id.prepare_on(&short, ctx, a)?;
    let mut sb = id.prepare_on(&short, ctx, b)?;
    let bench = BenchSettings {
        software: ctx.is_some_and(|c| c.device_type() == DeviceType::Cpu),
        ..*bench
    };
    warm_gpu(&mut *sa, &bench, &|| true, task)?;
    warm_gpu(&mut *sb, &bench, &|| true, task)?;
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let start = Instant::now();
    loop {
        task.set_message(format!("pair {}", ta.len() + 1));
        // A B, then B A: neither side always runs second (after the other warmed a cache, or
        // into a clock that is still ramping).
        if ta.len() % 2 == 0 {
            ta.push(timed(&mut *sa)? / epochs as f64);
            tb.push(timed(&mut *sb)? / epochs as f64);
        } else {
            tb.push(timed(&mut *sb)? / epochs as f64);
            ta.push(timed(&mut *sa)? / epochs as f64);
        }
        let enough = ta.len() >= MIN_PAIRS
                // The interval's bootstrap takes milliseconds: asked every fifth pair, so the
                // device is not left idle between most solves.
                && (start.elapsed().as_secs_f64() > budget
                    || (ta.len() % MIN_PAIRS == 0 && tight(&ta, &tb)));
        if enough || ta.len() >= MAX_PAIRS {
            break;
        }
        if interrupt::requested() {
            return Err(GdError::Interrupted);
        }
    }
    let ci95 = ratio_interval(&ta, &tb);
    Ok(VsBuiltin {
        ratio: median(&tb) / median(&ta),
        ci95,
        verdict: Verdict::of_interval(ci95, THRESHOLD_PCT),
        pairs: ta.len(),
        epochs,
    })
}

/// The median of `xs`.
fn median(xs: &[f64]) -> f64 {
    TimeStats::from_samples(xs.to_vec()).median
}

/// Seconds of one whole solve.
fn timed(solver: &mut dyn Solver) -> Result<f64> {
    let start = Instant::now();
    black_box(solver.solve_all()?);
    Ok(start.elapsed().as_secs_f64())
}

/// True when the ratio's interval is within ±[`THRESHOLD_PCT`] / 2 of the ratio: more pairs
/// would not change the verdict's footing.
fn tight(a: &[f64], b: &[f64]) -> bool {
    let ratio = median(b) / median(a);
    let [lo, hi] = ratio_interval(a, b);
    let half = THRESHOLD_PCT / 200.0;
    lo >= ratio * (1.0 - half) && hi <= ratio * (1.0 + half)
}
