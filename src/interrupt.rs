//! Ctrl-C: a request to stop after the current solve and report what was measured.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every running loop to stop at its next checkpoint; returns whether it was asked before.
pub fn request() -> bool {
    REQUESTED.swap(true, Ordering::SeqCst)
}

/// True once a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
