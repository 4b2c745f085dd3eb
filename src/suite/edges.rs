//! Edge sizes: a GPU row whose kernels came from `--shaders` and differ from the built-in ones is
//! first solved at the sizes kernels get wrong (N % 4 = 1, 2, 3; fewer samples than one
//! workgroup; just past one workgroup's tile; data split over two storage bindings), each judged
//! against the f64 reference on the same samples. A kernel that drops its scalar tail is then
//! caught at any N, not only at one that is not a multiple of 4.

use std::sync::Arc;

use serde::Serialize;

use super::SuiteOptions;
use super::jobs::Job;
use crate::error::{GdError, Result};
use crate::gpu::shaders::ITEMS_PER_INVOCATION;
use crate::gpu::{GpuContext, GpuSettings};
use crate::problem::{Dataset, Problem};
use crate::solver::{Outcome, Precision, SolverId};
use crate::validate::{Expectations, Status, Verdict, judge};

/// Epochs of each edge-size solve: enough for a lost sample to move the weights far beyond an
/// f32 tolerance, few enough to cost milliseconds.
const EDGE_EPOCHS: u64 = 50;

/// One edge size's verdict (JSON `edge_sizes`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EdgeSize {
    /// Samples.
    pub n: usize,
    /// `ok`, `mismatch`, `diverged`, `unavailable` (the strategy does not take this size) or
    /// `error`.
    pub status: Status,
    /// What went wrong, when something did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl EdgeSize {
    /// True when this size shows the kernel wrong: a mismatch or an error.
    pub fn failed(&self) -> bool {
        matches!(self.status, Status::Mismatch | Status::Error)
    }
}

/// The sizes (within the problem's own N) and, for each, the binding cap it runs under: N % 4 =
/// 1, 2, 3; fewer than one workgroup; one past a workgroup's tile (of samples, and of vec4s);
/// and one past a tile and a half with the bindings capped at one tile of `data_bytes`-byte
/// samples (chunks are whole tiles), so its data spans two bindings.
fn sizes(problem_n: usize, wg: u32, data_bytes: u64) -> Vec<(usize, Option<u64>)> {
    let wg = wg as usize;
    let tile = wg * ITEMS_PER_INVOCATION as usize;
    let mut out: Vec<(usize, Option<u64>)> = [1001, 1002, 1003, wg / 2 + 1, tile + 1, 4 * tile + 1]
        .into_iter()
        .map(|n| (n, None))
        .collect();
    out.push((tile + tile / 2 + 3, Some(tile as u64 * data_bytes)));
    out.retain(|&(n, _)| n <= problem_n);
    out.dedup();
    out
}

/// The edge sizes of `job` on `problem`, when its kernels differ from the built-in ones; empty
/// otherwise (built-in kernels are tested by the suite, not at every run).
pub(super) fn check(problem: &Problem, job: &Job, options: &SuiteOptions) -> Vec<EdgeSize> {
    let Some(ctx) = &job.gpu else {
        return Vec::new();
    };
    let settings = job.gpu_settings(options);
    if settings.shaders.dir().is_none() {
        return Vec::new();
    }
    let wg = settings
        .workgroup_size
        .unwrap_or(crate::gpu::shaders::DEFAULT_WORKGROUP_SIZE);
    let mut out = Vec::new();
    let bytes = job.id.strategy().map_or(4, |st| st.real().data_bytes());
    for (n, cap) in sizes(problem.n(), wg, bytes) {
        match edge(problem, job.id, ctx, &settings, n, cap) {
            // The first size tells whether the kernels are custom at all.
            Err(Skip::BuiltIn) => return Vec::new(),
            Err(Skip::Failed(status, message)) => out.push(EdgeSize {
                n,
                status,
                message: Some(message),
            }),
            Ok(size) => out.push(size),
        }
    }
    out
}

/// Why an edge size has no verdict of its own.
enum Skip {
    /// The solver compiled only built-in kernels: no edge sizes are needed.
    BuiltIn,
    /// It could not run this size: its status and why.
    Failed(Status, String),
}

/// The first `n` samples of `problem`'s data solved by `id` for [`EDGE_EPOCHS`] epochs on
/// `ctx` (bindings capped at `cap`), judged against the f64 reference on the same samples.
fn edge(
    problem: &Problem,
    id: SolverId,
    ctx: &Arc<GpuContext>,
    settings: &GpuSettings,
    n: usize,
    cap: Option<u64>,
) -> std::result::Result<EdgeSize, Skip> {
    let failed = |e: GdError| match e {
        GdError::Unavailable { reason } => Skip::Failed(Status::Unavailable, reason),
        other => Skip::Failed(Status::Error, format!("the kernels fail to run: {other}")),
    };
    let edge = edge_problem(problem, n, id.precision()).map_err(failed)?;
    let mut settings = settings.clone();
    settings.max_binding_bytes = cap.or(settings.max_binding_bytes);
    let verdicts: Vec<Verdict> = judged_custom(&edge, id, ctx, &settings)
        .map_err(failed)?
        .ok_or(Skip::BuiltIn)?
        .into_iter()
        .map(|step| step.verdict)
        .collect();
    let worst = verdicts
        .iter()
        .find(|v| v.status == Status::Mismatch)
        .or(verdicts.first());
    Ok(EdgeSize {
        n,
        status: worst.map_or(Status::Error, |v| v.status),
        message: worst.map(|v| v.message.clone()).filter(|m| !m.is_empty()),
    })
}

/// One step of a custom-kernel solve beside the f64 reference's.
pub(super) struct JudgedStep {
    /// The solver's outcome.
    pub got: Outcome,
    /// The reference's.
    pub want: Outcome,
    /// The first against the second.
    pub verdict: Verdict,
}

/// `problem` solved by `id` on `ctx` with `settings`' kernels (guarded like a row) and by the
/// f64 reference, each step judged; `None` when the solver compiled no kernel that differs
/// from the built-in one (there is nothing custom to judge).
pub(super) fn judged_custom(
    problem: &Problem,
    id: SolverId,
    ctx: &Arc<GpuContext>,
    settings: &GpuSettings,
) -> Result<Option<Vec<JudgedStep>>> {
    let run = || -> Result<_> {
        let mut solver = id.prepare_on(problem, Some(ctx), settings)?;
        let custom = solver.kernels().iter().any(|k| k.changed);
        custom.then(|| solver.solve_all()).transpose()
    };
    let Some(outcomes) = crate::gpu::guard::run_row(ctx, run)? else {
        return Ok(None);
    };
    let reference = SolverId::REFERENCE.prepare(problem)?.solve_all()?;
    let expects = Expectations::each(problem);
    Expectations::model_all(&expects, &[id.arithmetic()]);
    let steps = outcomes
        .into_iter()
        .zip(reference)
        .zip(&expects)
        .map(|((got, want), e)| JudgedStep {
            verdict: judge(&got, &want, id.arithmetic(), e),
            got,
            want,
        })
        .collect();
    Ok(Some(steps))
}

/// The problem of `problem`'s first `n` samples, its steps and [`EDGE_EPOCHS`] epochs (for f16
/// storage, the data rounded to f16 as such a row's own reference is).
fn edge_problem(problem: &Problem, n: usize, precision: Precision) -> Result<Problem> {
    let data = problem.data();
    let prefix = Dataset::new(
        data.x()[..n].to_vec(),
        data.d()[..n].to_vec(),
        data.source().clone(),
    )?;
    let epochs = EDGE_EPOCHS.min(problem.epochs());
    let prefix = Arc::new(prefix);
    // A step past the prefix's own stability limit would diverge on both sides and test
    // nothing: each is held to half that limit.
    let limit = Expectations::of(&Problem::shared(
        Arc::clone(&prefix),
        problem.steps()[0],
        1,
    )?)
    .max_stable_mu;
    let steps = problem
        .steps()
        .iter()
        .map(|&mu| mu.min(limit / 2.0))
        .collect();
    let edge = Problem::search(prefix, steps, epochs)?;
    match precision {
        Precision::F16 => edge.rounded_to_f16(),
        _ => Ok(edge),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sizes_have_tails_small_groups_tiles_and_a_chunk_boundary() {
        for (wg, bytes) in [(256, 4), (1024, 4), (256, 2), (64, 8)] {
            let sizes = sizes(1 << 20, wg, bytes);
            let tile = (wg * ITEMS_PER_INVOCATION) as usize;
            let n = |k: usize| sizes.iter().any(|&(m, _)| m == k);
            assert!(n(1001) && n(1002) && n(1003), "{sizes:?}");
            assert!(
                n(wg as usize / 2 + 1) && n(tile + 1) && n(4 * tile + 1),
                "{sizes:?}"
            );
            // Capped at one tile per binding (chunks are whole tiles): two chunks.
            let (two, cap) = sizes.iter().find_map(|&(m, c)| c.map(|c| (m, c))).unwrap();
            let per_chunk = (cap / bytes) as usize;
            assert_eq!(per_chunk, tile);
            assert!(two > per_chunk && two <= 2 * per_chunk, "{two} {per_chunk}");
        }
        // Sizes beyond the problem's N are left out.
        assert!(sizes(1002, 256, 4).iter().all(|&(m, _)| m <= 1002));
    }
}
