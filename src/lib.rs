//! gdbench: batch gradient descent for `y = w0 + w1·x`, solved by several CPU (and GPU) solvers,
//! each timed honestly and validated against an f64 reference.
//!
//! ```
//! use gdbench::{Dataset, Problem, SolverId};
//! use gdbench::validate::{judge, Expectations, Status};
//!
//! // 1 000 noisy samples of d = 3 + 2x, 2 000 epochs with mu = 0.1.
//! let problem = Problem::new(Dataset::synthetic(1_000, 0.1, 444)?, 0.1, 2_000)?;
//! let reference = SolverId::REFERENCE.prepare(&problem)?.solve()?;
//! let f32_run = SolverId::CpuFusedF32.prepare(&problem)?.solve()?;
//! let expect = Expectations::of(&problem); // stability, tolerances, the cross-check
//! let verdict = judge(&f32_run, &reference, SolverId::CpuFusedF32.arithmetic(), &expect);
//! assert_eq!(verdict.status, Status::Ok);
//!
//! // Converged: the descent has reached the least-squares line.
//! let ols = gdbench::cpu::closed_form(problem.x(), problem.d()).unwrap();
//! assert!((reference.w[0] - ols[0]).abs() < 1e-6 && (reference.w[1] - ols[1]).abs() < 1e-6);
//! # Ok::<(), gdbench::GdError>(())
//! ```

pub mod error;
pub mod fault;
pub mod problem;

pub use error::{GdError, Result};
pub use problem::{Dataset, Problem, Source};
pub mod cpu;
pub mod machine;
pub mod solver;

pub use solver::{DeviceType, Outcome, Precision, Selected, Solver, SolverId, SolverInfo};
pub mod bench;
pub mod gpu;
pub mod interrupt;
pub mod peers;
pub mod probe;
pub mod progress;
pub mod provenance;
pub mod report;
pub mod schema;
pub mod stats;
pub mod suite;
pub mod sweep;
pub mod validate;
pub mod watch;
