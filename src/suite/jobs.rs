//! The run's plan: one job per row to measure, a solver and, for a GPU solver, its adapter.

use std::sync::Arc;

use super::{SuiteOptions, Variant};
use crate::bench::Measurement;
use crate::error::Result;
use crate::gpu::{GpuContext, GpuSettings};
use crate::solver::{Group, SolverId};

/// A job, its measurement (or why it has none), and its edge sizes (custom kernels only).
pub(super) struct Timed {
    /// The job.
    pub job: Job,
    /// Its measurement, or why it has none.
    pub measured: Result<Measurement>,
    /// Its custom kernels' edge sizes ([`super::edges`]); empty otherwise.
    pub edges: Vec<super::edges::EdgeSize>,
    /// A variant's run against the built-in kernels ([`super::side_by_side`]), or why there is
    /// none; none for other rows.
    pub vs_builtin: Option<std::result::Result<super::side_by_side::VsBuiltin, String>>,
}

/// One row to measure: a solver, and for a GPU solver its adapter and kernels.
pub(super) struct Job {
    /// The solver.
    pub id: SolverId,
    /// Its adapter; none for a CPU solver, or a GPU solver with no adapter open.
    pub gpu: Option<Arc<GpuContext>>,
    /// The `--variant` whose kernels it runs; none for the built-in (or `--shaders`) kernels.
    pub variant: Option<Variant>,
}

impl Job {
    /// The row's name: the solver's, with `@NAME` for a variant.
    pub fn name(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}@{}", self.id.name(), v.name),
            None => self.id.name().to_string(),
        }
    }

    /// The progress bar's label: the row's name, and its adapter for a GPU solver.
    pub fn label(&self) -> String {
        match &self.gpu {
            Some(ctx) => format!(
                "{} on {}",
                self.name(),
                crate::report::short_device_name(&ctx.label())
            ),
            None => self.name(),
        }
    }

    /// The GPU settings it runs with: the run's, with its variant's kernels.
    pub fn gpu_settings(&self, options: &SuiteOptions) -> GpuSettings {
        let mut settings = options.gpu.clone();
        if let Some(v) = &self.variant {
            settings.shaders = v.shaders.clone();
        }
        settings
    }

    /// Where the job's row stands in the report: catalogue order, then adapter order, the
    /// built-in kernels before the variants.
    pub fn order(&self) -> (SolverId, Option<usize>, Option<String>) {
        (
            self.id,
            self.gpu.as_ref().map(|c| c.index),
            self.variant.as_ref().map(|v| v.name.clone()),
        )
    }
}

/// Every selected solver as a job: a GPU solver once per open adapter (once with none when no
/// adapter is open, to be reported unavailable).
pub(super) fn plan(options: &SuiteOptions) -> Vec<Job> {
    let mut jobs = Vec::new();
    for s in &options.solvers {
        if s.id.group() == Group::Gpu && !options.adapters.is_empty() {
            for ctx in &options.adapters {
                let variants =
                    std::iter::once(None).chain(options.variants.iter().cloned().map(Some));
                jobs.extend(variants.map(|variant| Job {
                    id: s.id,
                    gpu: Some(Arc::clone(ctx)),
                    variant,
                }));
            }
        } else if s.id.group() == Group::Gpu {
            // No adapter: each row, variants included, says why it is unavailable.
            let variants = std::iter::once(None).chain(options.variants.iter().cloned().map(Some));
            jobs.extend(variants.map(|variant| Job {
                id: s.id,
                gpu: None,
                variant,
            }));
        } else {
            jobs.push(Job {
                id: s.id,
                gpu: None,
                variant: None,
            });
        }
    }
    jobs
}
