//! Where a row with custom kernels breaks, epoch by epoch: the weights after 1, 2, 3, 5 and 10
//! epochs held against the f64 reference's, the first epoch that differs named with both
//! values and the entry point that writes w. For a one-dispatch kernel (gpu-persistent, the
//! persistent search) that is the kernel itself; for the others it is the last pass of the
//! epoch, which writes what the passes before it summed. The pass-by-pass replay against a CPU
//! twin of each entry point is not built yet.

use serde::Serialize;

use super::SuiteOptions;
use super::edges::judged_custom;
use super::jobs::Job;
use crate::gpu::Strategy;
use crate::problem::Problem;
use crate::solver::Precision;
use crate::validate::Status;

/// Epochs after which the weights are compared, in order.
const EPOCHS: [u64; 5] = [1, 2, 3, 5, 10];

/// The first place a custom kernel's answer leaves the reference (JSON `diagnosis`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The entry point that writes the buffer.
    pub entry_point: &'static str,
    /// The buffer compared: `w`, the weights.
    pub buffer: &'static str,
    /// The epoch after which it first differs.
    pub index: u64,
    /// Its weights there.
    pub got: [f64; 2],
    /// The f64 reference's.
    pub want: [f64; 2],
}

impl Diagnosis {
    /// The row's note.
    pub fn note(&self) -> String {
        format!(
            "diagnosis: after epoch {}, {} (written by `{}`) is ({:.10}, {:.10}) where the f64 reference has ({:.10}, {:.10})",
            self.index,
            self.buffer,
            self.entry_point,
            self.got[0],
            self.got[1],
            self.want[0],
            self.want[1]
        )
    }
}

/// The diagnosis of `job` on `problem`, when it runs changed custom kernels and its weights
/// leave the reference within [`EPOCHS`]; none otherwise.
pub(super) fn diagnose(problem: &Problem, job: &Job, options: &SuiteOptions) -> Option<Diagnosis> {
    let ctx = job.gpu.as_ref()?;
    let strategy = job.id.strategy()?;
    let settings = job.gpu_settings(options);
    let problem = match job.id.precision() {
        Precision::F16 => problem.rounded_to_f16().ok()?,
        _ => problem.clone(),
    };
    let search = problem.steps().len() > 1;
    let subgroup = ctx.features.contains(wgpu::Features::SUBGROUP);
    for epochs in EPOCHS.into_iter().filter(|&e| e <= problem.epochs()) {
        let short = problem.with_epochs(epochs);
        let steps = judged_custom(&short, job.id, ctx, &settings).ok()??;
        let first = steps.iter().find(|s| s.verdict.status == Status::Mismatch);
        if let Some(step) = first {
            return Some(Diagnosis {
                entry_point: writes_w(strategy, search, subgroup),
                buffer: "w",
                index: epochs,
                got: step.got.w,
                want: step.want.w,
            });
        }
    }
    None
}

/// The entry point that writes w at the end of each epoch (or batch of epochs).
fn writes_w(strategy: Strategy, search: bool, subgroup: bool) -> &'static str {
    match strategy {
        Strategy::Multipass | Strategy::Batched => "update",
        Strategy::Fused | Strategy::FusedF64 | Strategy::FusedF16 if search => "search_finish",
        Strategy::Fused | Strategy::FusedF64 | Strategy::FusedF16 => "finish",
        Strategy::Subgroup => "subgroup_finish",
        Strategy::FusedDf64 => "df64_finish",
        Strategy::Persistent if search => "search_persistent",
        Strategy::Persistent if subgroup => "persistent_subgroup",
        Strategy::Persistent => "persistent",
    }
}
