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

/// Installs the Ctrl-C handler: the first Ctrl-C asks the run to stop after the current solve
/// and report what it measured; a second one exits at once with code 130.
pub fn install_handler() {
    let _ = ctrlc::set_handler(|| {
        if request() {
            std::process::exit(crate::error::exit::INTERRUPTED.into());
        }
        eprintln!("gdbench: interrupted: reporting what was measured (Ctrl-C again quits at once)");
    });
}
