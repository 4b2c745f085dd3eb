//! The GPU side: adapters, shaders (pipelines), buffers and the GPU solvers (wgpu, WGSL).

mod buffers;
pub mod check;
pub mod clocks;
pub mod context;
pub mod contract;
pub mod df64;
pub mod df64_check;
pub mod guard;
pub mod latency;
mod plan;
pub mod settings;
pub mod shaders;
mod solver;
pub mod stream;
mod timestamps;
pub mod translate;
mod twin;

pub use buffers::Real;
pub use context::{
    AdapterChoice, AdapterSummary, GpuContext, NO_ADAPTER_HINT, Opened, WAIT_TIMEOUT,
    list_adapters, open, parse_backend,
};
pub use plan::{MAX_HELD, MAX_PARTIALS, default_single_workgroup, lacked_feature};
pub use settings::{GpuSettings, PERSISTENT_LOOP_BUDGET, Strategy};
pub use solver::{GpuSolver, PassBreak, REPLAY_MOST, Replayed};
