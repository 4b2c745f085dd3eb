//! The rates a row's median time gives: µs per epoch, epochs per second, GB/s of x and d, and
//! GFLOP/s.

use crate::solver::FLOPS_PER_SAMPLE;

/// Rates derived from the median time of a descent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Microseconds per epoch.
    pub epoch_us: f64,
    /// Epochs per second.
    pub epochs_per_s: f64,
    /// Bytes of x and d per epoch over the time per epoch, GB/s (none for the algorithmic limit).
    pub effective_gb_s: Option<f64>,
    /// [`FLOPS_PER_SAMPLE`] per sample per epoch over the time per epoch, GFLOP/s (likewise).
    pub gflop_s: Option<f64>,
}

/// The figures of `epochs` epochs over `n` samples taking `median_s`, `steps` descents per epoch on
/// average (1 outside a search), reading `bytes_per_sample` once per epoch (none: not an array
/// benchmark).
pub fn figures(
    n: usize,
    steps: f64,
    epochs: u64,
    median_s: f64,
    bytes_per_sample: Option<f64>,
) -> Figures {
    let epoch_s = median_s / epochs as f64;
    Figures {
        epoch_us: epoch_s * 1e6,
        epochs_per_s: 1.0 / epoch_s,
        effective_gb_s: bytes_per_sample.map(|b| n as f64 * b / epoch_s / 1e9),
        gflop_s: bytes_per_sample.map(|_| FLOPS_PER_SAMPLE * n as f64 * steps / epoch_s / 1e9),
    }
}
