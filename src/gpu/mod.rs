//! The GPU side: adapters, kernels, buffers and the GPU solvers (wgpu, WGSL).

mod buffers;
pub mod context;
pub mod kernels;
mod plan;
mod solver;
pub mod stream;
mod timestamps;

pub use context::{
    AdapterChoice, AdapterSummary, GpuContext, NO_ADAPTER_HINT, Opened, list_adapters, open,
    parse_backend,
};
pub use solver::{GpuSettings, GpuSolver, PERSISTENT_LOOP_BUDGET, Strategy};
