//! The choices that shape a GPU solve, below everything that builds or runs one: the strategy,
//! the settings (workgroup size, binding cap, kernel sources) and the persistent kernel's limits.

use super::buffers::Real;
use super::shaders::{ShaderFile, ShaderSources};

/// How a GPU solver organises an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Error, reduction levels, update; one submission per epoch.
    Multipass,
    /// The multi-pass kernels, many epochs per submission.
    Batched,
    /// Error inside the first reduction; last level and update in one dispatch.
    Fused,
    /// One workgroup, many epochs per dispatch.
    Persistent,
    /// Fused, with subgroup reductions.
    Subgroup,
    /// Fused in f64 (data, sums and weights), where the adapter has SHADER_F64.
    FusedF64,
    /// Fused with x and d stored in f16 (arithmetic in f32), where the adapter has SHADER_F16.
    FusedF16,
    /// Fused in double-float arithmetic (pairs of f32) on any adapter whose compiler keeps the
    /// error-free transforms (checked first: `df64_check::self_check`).
    FusedDf64,
}

impl Strategy {
    /// The kernel files its pipelines may compile (`common.wgsl` aside): its own, and those of
    /// the step-size search or the subgroup path it takes where the problem or adapter asks.
    pub fn kernel_files(self) -> &'static [ShaderFile] {
        match self {
            Strategy::Multipass | Strategy::Batched => {
                &[ShaderFile::Error, ShaderFile::Reduce, ShaderFile::Update]
            }
            Strategy::Fused | Strategy::FusedF64 | Strategy::FusedF16 => {
                &[ShaderFile::Fused, ShaderFile::Search]
            }
            Strategy::Persistent => &[
                ShaderFile::Persistent,
                ShaderFile::Subgroup,
                ShaderFile::Search,
            ],
            Strategy::Subgroup => &[ShaderFile::Subgroup],
            Strategy::FusedDf64 => &[ShaderFile::Df64],
        }
    }

    /// The type the strategy's kernels compute and store in.
    pub fn real(self) -> Real {
        match self {
            Strategy::FusedF64 => Real::F64,
            Strategy::FusedF16 => Real::F16,
            Strategy::FusedDf64 => Real::Df64,
            _ => Real::F32,
        }
    }
}

/// Settings that shape the GPU work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuSettings {
    /// Invocations per workgroup (a power of two) of every kernel; `None`: 256 for the streaming
    /// kernels, the adapter's most (up to 1 024) for the one-workgroup ones.
    pub workgroup_size: Option<u32>,
    /// Cap on one storage binding in bytes, below the adapter's (to exercise chunking in tests).
    pub max_binding_bytes: Option<u64>,
    /// Where the kernels' WGSL comes from (built in, or `--shaders DIR`).
    pub shaders: ShaderSources,
}

impl Default for GpuSettings {
    fn default() -> Self {
        Self {
            workgroup_size: None,
            max_binding_bytes: None,
            shaders: ShaderSources::builtin(),
        }
    }
}

/// Loop iterations one invocation of the persistent kernel may run per dispatch on a software
/// adapter. llvmpipe (lavapipe) stops an invocation after 65 535 in all and silently returns
/// wrong weights; GPUs have no such cap.
pub const PERSISTENT_LOOP_BUDGET: u64 = 60_000;

/// Work one persistent dispatch may run on a GPU, in sample-epochs (an epoch of small N counts
/// as its invocations × barriers): milliseconds of one workgroup's work, so batches can still be
/// sized to BATCH_TARGET and stay clear of OS watchdogs.
pub const PERSISTENT_WORK_PER_DISPATCH: u64 = 1 << 26;
