//! Fault injection for tests: `GDBENCH_FAULT` names a fault gdbench then commits on purpose, so
//! the paths that report faults can be exercised on any machine. A testing aid, not a feature:
//! - `reference`: the reference's weights are nudged by one part in 10⁸ after it solves, so its
//!   cross-check against `cpu-moments` fails (and the run exits 3).

use crate::solver::Outcome;

/// The environment variable that names the fault.
pub const VARIABLE: &str = "GDBENCH_FAULT";

/// True when `GDBENCH_FAULT` names `fault`.
pub fn injected(fault: &str) -> bool {
    std::env::var(VARIABLE).is_ok_and(|v| v.split(',').any(|f| f.trim() == fault))
}

/// The reference's outcome, nudged when the `reference` fault is injected.
pub fn perturb_reference(mut reference: Outcome) -> Outcome {
    if injected("reference") {
        reference.w[0] *= 1.0 + 1e-8;
    }
    reference
}
