//! Fault injection for tests: `GDBENCH_FAULT` names a fault gdbench then commits on purpose, so
//! the paths that report faults can be exercised on any machine. A testing aid, not a feature:
//! - `reference`: the reference's weights are nudged by one part in 10⁸ after it solves, so its
//!   cross-check against `cpu-moments` fails (and the run exits 3).
//! - `device-lost`: the first GPU solve of the process destroys its device before it submits
//!   anything, as a driver reset would, so the lost-device path runs on any adapter.
//! - `worker-panic`: cpu-persistent's last worker thread panics in its first epoch, so the path
//!   where a worker dies (its row an `error`, the other workers stopped, the run going on) runs.
//! - `worker-park`: cpu-persistent's last worker sleeps 20 ms before epoch 50, as a thread the
//!   scheduler parks would, so the path where the others go on and it catches up runs.
//! - `busy-probe`: every all-core probe measurement (read bandwidth, FLOP/s) reads half its
//!   one-core figure, as on a machine where another program holds the other cores, so the
//!   disturbed-ceiling path runs on any machine.
//! - `clock-drift`: the FMA probe measured again after the GPU rows reads a quarter of its
//!   figures, as on an adapter whose clocks fell towards idle while the rows ran, so the
//!   `clocks_drifted` path runs on any adapter.

use std::sync::atomic::{AtomicBool, Ordering};

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

/// True once per process when the `device-lost` fault is injected: the caller (the first GPU
/// solve) then loses its device.
pub fn lose_device_now() -> bool {
    static DONE: AtomicBool = AtomicBool::new(false);
    injected("device-lost") && !DONE.swap(true, Ordering::SeqCst)
}

/// The all-core probe figure `all` beside the one-core `one`: halved against it when the
/// `busy-probe` fault is injected.
pub fn disturb_all_cores(one: f64, all: f64) -> (f64, f64) {
    if injected("busy-probe") {
        (one, one / 2.0)
    } else {
        (one, all)
    }
}

/// The FMA probe's attempts after the GPU rows: quartered when the `clock-drift` fault is
/// injected.
pub fn drift_clocks(attempts: Vec<f64>) -> Vec<f64> {
    if injected("clock-drift") {
        attempts.into_iter().map(|g| g / 4.0).collect()
    } else {
        attempts
    }
}
