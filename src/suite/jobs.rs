//! The run's plan: one job per row to measure, a solver and, for a GPU solver, its adapter.

use std::sync::Arc;

use super::SuiteOptions;
use crate::bench::Measurement;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::solver::{Group, SolverId};

/// A job, its measurement (or why it has none), and its edge sizes (custom kernels only).
pub(super) struct Timed {
    /// The job.
    pub job: Job,
    /// Its measurement, or why it has none.
    pub measured: Result<Measurement>,
    /// Its custom kernels' edge sizes ([`super::edges`]); empty otherwise.
    pub edges: Vec<super::edges::EdgeSize>,
}

/// One row to measure: a solver, and for a GPU solver its adapter.
pub(super) struct Job {
    /// The solver.
    pub id: SolverId,
    /// Its adapter; none for a CPU solver, or a GPU solver with no adapter open.
    pub gpu: Option<Arc<GpuContext>>,
}

impl Job {
    /// The progress bar's label: the solver, and its adapter for a GPU solver.
    pub fn label(&self) -> String {
        match &self.gpu {
            Some(ctx) => format!(
                "{} on {}",
                self.id,
                crate::report::short_device_name(&ctx.label())
            ),
            None => self.id.to_string(),
        }
    }

    /// Where the job's row stands in the report: catalogue order, then adapter order.
    pub fn order(&self) -> (SolverId, Option<usize>) {
        (self.id, self.gpu.as_ref().map(|c| c.index))
    }
}

/// Every selected solver as a job: a GPU solver once per open adapter (once with none when no
/// adapter is open, to be reported unavailable).
pub(super) fn plan(options: &SuiteOptions) -> Vec<Job> {
    let mut jobs = Vec::new();
    for s in &options.solvers {
        if s.id.group() == Group::Gpu && !options.adapters.is_empty() {
            jobs.extend(options.adapters.iter().map(|ctx| Job {
                id: s.id,
                gpu: Some(Arc::clone(ctx)),
            }));
        } else {
            jobs.push(Job {
                id: s.id,
                gpu: None,
            });
        }
    }
    jobs
}
