//! Where a row with custom kernels breaks. Its first epochs are replayed pass by pass, each
//! dispatch's output held against the CPU twin of its entry point fed with what the GPU read
//! (`GpuSolver::replay`): the first that differs is named with its buffer, element, what it
//! covers and both values. A one-dispatch kernel (gpu-persistent) is its own pass, run one
//! epoch at a time. Where every pass holds (or on a step-size search, which has no twins), the
//! weights after 1, 2, 3, 5 and 10 epochs are held against the f64 reference's instead, and the
//! entry point that writes w is named.

use serde::Serialize;

use super::SuiteOptions;
use super::edges::judged_custom;
use super::jobs::Job;
use crate::gpu::{GpuSolver, PassBreak, Replayed, Strategy};
use crate::problem::Problem;
use crate::solver::Precision;
use crate::validate::{Check, Status};

/// Epochs replayed pass by pass: the first starts from w = 0, where misread weights cannot show;
/// the next two do not.
const REPLAYED: u64 = 3;

/// Epochs after which the weights are compared with the reference, in order.
const EPOCHS: [u64; 5] = [1, 2, 3, 5, 10];

/// The first place a custom kernel's answer leaves what it should be (JSON `diagnosis`): where,
/// as a replay names it, and against what.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Diagnosis {
    /// The entry point, buffer, element, epoch, both values and what the element covers (for the
    /// weights held against the reference: the entry point that writes them, and the epoch after
    /// which they differ).
    #[serde(flatten)]
    pub at: PassBreak,
    /// What `want` is: `twin` (the entry point's CPU twin, from the GPU's own inputs) or
    /// `reference` (the f64 reference's weights).
    pub against: &'static str,
    /// Why the weights were held against the reference, for the note (empty against a twin).
    #[serde(skip)]
    why_reference: String,
}

impl Diagnosis {
    /// The row's note, with its spot check's figure when it has one.
    pub fn note(&self, spot: Option<&Check>) -> String {
        let at = &self.at;
        let (got, want) = (values(&at.got), values(&at.want));
        let spot = spot.and_then(|c| c.max_rel_diff.map(|diff| (c, diff))).map_or(
            String::new(),
            |(c, diff)| {
                format!(
                    "; the spot check, after {} epochs, differs by {diff:.2e} (relative), over {:.1e}",
                    c.epochs, c.tolerance
                )
            },
        );
        let found = match self.against {
            "twin" => format!(
                "diagnosis: in epoch {}, `{}` wrote {}[{}] = {got} where its CPU twin, fed what the GPU read, gives {want} ({})",
                at.epoch, at.entry_point, at.buffer, at.index, at.covers
            ),
            _ => format!(
                "diagnosis: after epoch {}, {}[{}] (written by `{}`) is {got} where the f64 reference has {want} ({}); {}",
                at.epoch, at.buffer, at.index, at.entry_point, at.covers, self.why_reference
            ),
        };
        found + &spot
    }

    /// A replay's break.
    fn of_break(at: PassBreak) -> Self {
        Self {
            at,
            against: "twin",
            why_reference: String::new(),
        }
    }
}

/// One value, or a pair in parentheses.
fn values(v: &[f64]) -> String {
    let each: Vec<String> = v.iter().map(|v| format!("{v:.10}")).collect();
    match each.len() {
        1 => each[0].clone(),
        _ => format!("({})", each.join(", ")),
    }
}

/// The diagnosis of `job` on `problem`, when it runs changed custom kernels and a pass of its
/// first epochs, or its weights within [`EPOCHS`], leave what they should be; none otherwise.
pub(super) fn diagnose(problem: &Problem, job: &Job, options: &SuiteOptions) -> Option<Diagnosis> {
    let ctx = job.gpu.as_ref()?;
    let strategy = job.id.strategy()?;
    let settings = job.gpu_settings(options);
    let problem = match job.id.precision() {
        Precision::F16 => problem.rounded_to_f16().ok()?,
        _ => problem.clone(),
    };
    let search = problem.steps().len() > 1;
    let replay = || {
        let mut solver = GpuSolver::new(ctx.clone(), strategy, &problem, &settings)?;
        solver.replay(&problem, REPLAYED.min(problem.epochs()))
    };
    let replayed = match search {
        true => Ok(Replayed::Skipped("a search is not replayed pass by pass")),
        false => crate::gpu::guard::run_row(ctx, replay),
    };
    let why_reference = match replayed {
        Ok(Replayed::Broke(found)) => return Some(Diagnosis::of_break(found)),
        Ok(Replayed::Held(1)) => "each pass of the first epoch held against its CPU twin".into(),
        Ok(Replayed::Held(n)) => {
            format!("each pass of the first {n} epochs held against its CPU twin")
        }
        Ok(Replayed::Skipped(why)) => why.to_string(),
        Err(e) => format!(
            "the pass-by-pass replay failed: {}",
            crate::error::one_line(&e.to_string())
        ),
    };
    let subgroup = ctx.features.contains(wgpu::Features::SUBGROUP);
    for epochs in EPOCHS.into_iter().filter(|&e| e <= problem.epochs()) {
        let short = problem.with_epochs(epochs);
        let steps = judged_custom(&short, job.id, ctx, &settings).ok()??;
        let first = steps
            .iter()
            .position(|s| s.verdict.status == Status::Mismatch);
        if let Some(k) = first {
            return Some(Diagnosis {
                at: PassBreak {
                    entry_point: writes_w(strategy, search, subgroup),
                    buffer: "w",
                    index: k as u64,
                    epoch: epochs,
                    got: steps[k].got.w.to_vec(),
                    want: steps[k].want.w.to_vec(),
                    covers: match search {
                        true => format!("the weights of mu = {}", problem.steps()[k]),
                        false => "the weights".to_string(),
                    },
                },
                against: "reference",
                why_reference: why_reference.clone(),
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
