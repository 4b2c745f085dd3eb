//! The timing stage: each job's solver prepared, warmed and timed on its adapter (guarded, so a
//! lost device costs its row, not the run), or the reason it cannot run.

use super::SuiteOptions;
use super::jobs::{Job, Timed};
use super::reference::ReferenceRun;
use crate::bench::{BenchSettings, Measurement, measure};
use crate::error::{GdError, Result};
use crate::gpu::NO_ADAPTER_HINT;
use crate::interrupt;
use crate::problem::Problem;
use crate::progress::Progress;
use crate::solver::{DeviceType, Group, Precision};

/// Every job measured in turn (after Ctrl-C, an `Interrupted` error each).
pub(super) fn time_jobs(
    problem: &Problem,
    jobs: Vec<Job>,
    reference: &ReferenceRun,
    options: &SuiteOptions,
    progress: &Progress,
) -> Vec<Timed> {
    jobs.into_iter()
        .map(|job| {
            if interrupt::requested() {
                return Timed {
                    job,
                    measured: Err(GdError::Interrupted),
                    edges: Vec::new(),
                    vs_builtin: None,
                };
            }
            let edges = super::edges::check(problem, &job, options);
            let measured = time_job(problem, &job, reference, options, progress);
            Timed {
                job,
                measured,
                edges,
                vs_builtin: None,
            }
        })
        .collect()
}

/// One job measured, or why it cannot run: f16 storage that cannot hold the data, a GPU solver
/// with no adapter.
fn time_job(
    problem: &Problem,
    job: &Job,
    reference: &ReferenceRun,
    options: &SuiteOptions,
    progress: &Progress,
) -> Result<Measurement> {
    if let (Precision::F16, Some(Err(reason))) = (job.id.precision(), &reference.rounded) {
        return Err(GdError::Unavailable {
            reason: reason.clone(),
        });
    }
    if job.id.group() == Group::Gpu && job.gpu.is_none() {
        return Err(GdError::Unavailable {
            reason: options
                .no_adapter_reason
                .clone()
                .unwrap_or_else(|| NO_ADAPTER_HINT.into()),
        });
    }
    let task = progress.task(job.label());
    let settings = job.gpu_settings(options);
    let bench = BenchSettings {
        software: job
            .gpu
            .as_ref()
            .is_some_and(|c| c.device_type() == DeviceType::Cpu),
        ..options.bench
    };
    let watch = job
        .gpu
        .as_ref()
        .and_then(|ctx| crate::gpu::clocks::Watch::of(&ctx.info));
    let row = || {
        measure(
            || job.id.prepare_on(problem, job.gpu.as_ref(), &settings),
            &bench,
            Some(reference.spot_epochs()),
            watch.as_ref(),
            &task,
        )
    };
    match &job.gpu {
        Some(ctx) => crate::gpu::guard::run_row(ctx, row),
        None => row(),
    }
}
