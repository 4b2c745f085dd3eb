//! The CPU solvers and the closed-form answer.

mod affinity;
mod closed_form;
mod descent;
mod fused;
mod fused_f16;
mod moments;
mod naive;
mod persistent;
mod real;
mod samples;
mod sums;
mod team;
mod threads;
pub mod work;

pub use closed_form::closed_form;
pub use fused::Fused;
pub use fused_f16::FusedF16;
pub use moments::{Moments, descend_on_moments};
pub use naive::Naive;
pub use persistent::{Persistent, threads as persistent_threads};
pub use real::Real;
pub use sums::{
    LEAF, ManySums, Simd, compensated_sum, error_sums, error_sums_parallel, simd_level,
};
pub use threads::{Threads, threads_used};
