//! `gdbench sweep`: the same solvers over log-spaced N, epochs chosen per point to fit a time
//! budget, every point handed on as soon as it is measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::Result;
use crate::interrupt;
use crate::problem::{Dataset, Problem};
use crate::report::RunReport;
use crate::solver::{Group, Solver, SolverId};
use crate::suite::{SuiteOptions, run_suite};

/// Epochs one calibration solve runs.
const CALIBRATION_EPOCHS: u64 = 3;
/// Bounds on the epochs a point gets.
const EPOCHS_RANGE: (u64, u64) = (3, 100_000);
/// Share of the budget one solve of the slowest solver may take (warm-up and repeats share the rest).
const SOLVE_SHARE: f64 = 0.2;

/// What a sweep measures.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSettings {
    /// The sample counts, ascending.
    pub sizes: Vec<usize>,
    /// Time per solver per point to aim for.
    pub budget: Duration,
    /// Synthetic noise.
    pub sigma: f64,
    /// Synthetic seed.
    pub seed: u64,
    /// Step size.
    pub mu: f64,
}

/// One measured N: the epochs chosen and every row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    /// Samples.
    pub n: usize,
    /// Epochs every solver ran at this N.
    pub epochs: u64,
    /// One per solver (and adapter), as in `gdbench run`.
    pub runs: Vec<RunReport>,
}

/// `points` sizes from `min` to `max`, evenly spaced in log, rounded, without repeats.
pub fn log_spaced(min: usize, max: usize, points: usize) -> Vec<usize> {
    if points <= 1 || min >= max {
        return vec![min];
    }
    let (lo, hi) = ((min as f64).ln(), (max as f64).ln());
    let mut sizes: Vec<usize> = (0..points)
        .map(|i| {
            (lo + (hi - lo) * i as f64 / (points - 1) as f64)
                .exp()
                .round() as usize
        })
        .collect();
    sizes[0] = min;
    sizes[points - 1] = max;
    sizes.dedup();
    sizes
}

/// Epochs for one point: the slowest selected solver (or the reference) gets about
/// `SOLVE_SHARE` of the budget per solve.
fn choose_epochs(
    data: &Arc<Dataset>,
    mu: f64,
    options: &SuiteOptions,
    budget: Duration,
) -> Result<u64> {
    let probe = Problem::shared(Arc::clone(data), mu, CALIBRATION_EPOCHS)?;
    let mut candidates = vec![SolverId::REFERENCE.prepare(&probe)];
    for s in &options.solvers {
        if s.id.group() == Group::Gpu {
            let on = |ctx| s.id.prepare_on(&probe, Some(ctx), &options.gpu);
            candidates.extend(options.adapters.iter().map(on));
        } else {
            candidates.push(s.id.prepare(&probe));
        }
    }
    // Solvers that cannot run here are left out: their rows will say why.
    let slowest = candidates
        .into_iter()
        .filter_map(|c| seconds_per_epoch(c.ok()?))
        .fold(0.0f64, f64::max);
    let fit = SOLVE_SHARE * budget.as_secs_f64() / slowest.max(1e-9);
    Ok((fit as u64).clamp(EPOCHS_RANGE.0, EPOCHS_RANGE.1))
}

/// Seconds per epoch of one solve, after a first solve that compiles and warms up.
fn seconds_per_epoch(mut solver: Box<dyn Solver + '_>) -> Option<f64> {
    solver.solve().ok()?;
    let start = Instant::now();
    solver.solve().ok()?;
    Some(start.elapsed().as_secs_f64() / CALIBRATION_EPOCHS as f64)
}

/// Measures every size; after each one, `on_point` gets all points so far (to write them out).
/// Stops early, keeping what it has, on Ctrl-C.
pub fn run_sweep(
    settings: &SweepSettings,
    options: &SuiteOptions,
    on_point: &mut dyn FnMut(&[SweepPoint]) -> Result<()>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<SweepPoint>> {
    let mut points = Vec::new();
    for &n in &settings.sizes {
        if interrupt::requested() {
            break;
        }
        let data = Arc::new(Dataset::synthetic(n, settings.sigma, settings.seed)?);
        let epochs = choose_epochs(&data, settings.mu, options, settings.budget)?;
        progress(&format!("N = {n}: {epochs} epochs"));
        let problem = Problem::shared(data, settings.mu, epochs)?;
        let report = run_suite(&problem, options, progress)?;
        points.push(SweepPoint {
            n,
            epochs,
            runs: report.runs,
        });
        on_point(&points)?;
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::log_spaced;

    #[test]
    fn sizes_are_log_spaced_with_both_ends() {
        assert_eq!(
            log_spaced(1000, 1_000_000, 4),
            [1000, 10_000, 100_000, 1_000_000]
        );
        assert_eq!(log_spaced(2, 4, 5), [2, 3, 4]);
        assert_eq!(log_spaced(100, 100, 3), [100]);
    }
}
