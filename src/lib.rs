//! gdbench: batch gradient descent for `y = w0 + w1·x`, solved by several CPU (and GPU) solvers,
//! each timed honestly and validated against an f64 reference.

pub mod error;
pub mod problem;

pub use error::{GdError, Result};
pub use problem::{Dataset, Problem, Source};
pub mod cpu;
pub mod machine;
pub mod solver;

pub use solver::{DeviceType, Outcome, Precision, Selected, Solver, SolverId, SolverInfo};
pub mod bench;
pub mod report;
pub mod suite;
pub mod validate;
