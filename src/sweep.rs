//! `gdbench sweep`: the same solvers over log-spaced N (`--over n`), or over log-spaced K, the
//! number of descents run at once on the same data (`--over models`: a step-size search of K
//! steps at a fixed N), epochs chosen per point to fit a time budget, every point handed on as
//! soon as it is measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{GdError, Result};
use crate::interrupt;
use crate::probe::Ceilings;
use crate::problem::{Dataset, MAX_STEPS, Problem, check_fits, sample_count};
use crate::progress::Progress;
use crate::report::RunReport;
use crate::solver::{Group, Solver, SolverId};
use crate::suite::{SuiteOptions, run_suite};
use crate::validate::{Expectations, Status};

/// Epochs one calibration solve runs.
const CALIBRATION_EPOCHS: u64 = 3;
/// Bounds on the epochs a point gets.
const EPOCHS_RANGE: (u64, u64) = (3, 100_000);
/// Share of the budget one solve of the slowest solver may take (warm-up and repeats share the rest).
const SOLVE_SHARE: f64 = 0.2;

/// What a sweep varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SweepOver {
    /// N, the samples, with one step size.
    N,
    /// K, the descents run at once (step sizes), at one N.
    Models,
}

/// What a sweep measures.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSettings {
    /// What varies from point to point.
    pub over: SweepOver,
    /// The sample counts, ascending (one for `--over models`).
    pub sizes: Vec<usize>,
    /// The descents per point, ascending (`[1]` for `--over n`).
    pub models: Vec<usize>,
    /// Time per solver per point to aim for.
    pub budget: Duration,
    /// Synthetic noise.
    pub sigma: f64,
    /// Synthetic seed.
    pub seed: u64,
    /// Step size.
    pub mu: f64,
}

impl SweepSettings {
    /// Checked settings for `points` sizes from `n_min` to `n_max`: 2 ≤ n_min ≤ n_max, the largest
    /// problem fits in memory, a budget of seconds > 0, and a problem these parameters make valid.
    pub fn new(
        (n_min, n_max): (u64, u64),
        points: u32,
        budget_s: f64,
        (mu, sigma, seed): (f64, f64, u64),
    ) -> Result<Self> {
        let (n_min, n_max) = (sample_count(n_min)?, sample_count(n_max)?);
        if n_min < 2 || n_max < n_min {
            return Err(GdError::InvalidParameter {
                name: "--n-min/--n-max",
                problem: format!("need 2 ≤ --n-min ≤ --n-max, got {n_min} and {n_max}"),
            });
        }
        if !(budget_s.is_finite() && budget_s > 0.0) {
            return Err(GdError::InvalidParameter {
                name: "--budget",
                problem: format!("{budget_s} is not a time: give seconds > 0, e.g. 2"),
            });
        }
        check_fits(n_max)?;
        // Each point's problem is validated as a whole before any work.
        Problem::new(Dataset::synthetic(2, sigma, seed)?, mu, 1)?;
        Ok(Self {
            over: SweepOver::N,
            sizes: log_spaced(n_min, n_max, points as usize),
            models: vec![1],
            budget: Duration::from_secs_f64(budget_s),
            sigma,
            seed,
            mu,
        })
    }
}

impl SweepSettings {
    /// Checked settings for `points` values of K from `k_min` to `k_max` (1 ≤ k_min ≤ k_max ≤
    /// [`MAX_STEPS`]) at `n` samples: K step sizes from `mu` up to 90 % of the data's stability
    /// limit, log-spaced, so every descent converges and runs every epoch (K = 1 is `mu` alone).
    pub fn models(
        n: u64,
        (k_min, k_max): (u64, u64),
        points: u32,
        budget_s: f64,
        (mu, sigma, seed): (f64, f64, u64),
    ) -> Result<Self> {
        if n < 2 {
            return Err(GdError::InvalidParameter {
                name: "--n",
                problem: format!("{n} samples: a line needs at least 2"),
            });
        }
        let mut settings = Self::new((n, n), 1, budget_s, (mu, sigma, seed))?;
        if k_min < 1 || k_max < k_min || k_max > MAX_STEPS as u64 {
            return Err(GdError::InvalidParameter {
                name: "--k-min/--k-max",
                problem: format!(
                    "need 1 ≤ --k-min ≤ --k-max ≤ {MAX_STEPS}, got {k_min} and {k_max}"
                ),
            });
        }
        settings.over = SweepOver::Models;
        settings.models = log_spaced(k_min as usize, k_max as usize, points as usize);
        // The steps need room below the data's stability limit: checked now, not at the first
        // point with K ≥ 2 after the ones before it have run.
        if k_max >= 2 {
            let data = Arc::new(Dataset::synthetic(settings.sizes[0], sigma, seed)?);
            model_steps(&data, mu, 2)?;
        }
        Ok(settings)
    }
}

/// The step sizes of a point with `k` descents on `data`: `mu` alone, or `k` from `mu` to 90 %
/// of the stability limit 2/λ_max, log-spaced (all converge: every descent runs every epoch).
pub fn model_steps(data: &Arc<Dataset>, mu: f64, k: usize) -> Result<Vec<f64>> {
    if k == 1 {
        return Ok(vec![mu]);
    }
    let limit = Expectations::of(&Problem::shared(Arc::clone(data), mu, 1)?).max_stable_mu;
    let top = 0.9 * limit;
    if mu >= top {
        return Err(GdError::InvalidParameter {
            name: "--mu",
            problem: format!(
                "{mu} leaves no room for a search on this data: the steps run from --mu to 90 % of the stability limit {limit:.4e}; give a smaller --mu"
            ),
        });
    }
    let (lo, hi) = (mu.ln(), top.ln());
    let mut steps: Vec<f64> = (0..k)
        .map(|i| (lo + (hi - lo) * i as f64 / (k - 1) as f64).exp())
        .collect();
    steps[0] = mu;
    Ok(steps)
}

/// The files a sweep writes its points to, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepFormat {
    /// A [`SweepDocument`]: `{"schema_version", "provenance", "ceilings", "points": [...]}`.
    Json,
    /// One [`crate::report::CsvRow`] per run per point.
    Csv,
}

impl SweepFormat {
    /// The format of `--output PATH`: `.json` or `.csv`.
    pub fn for_path(path: &std::path::Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Ok(SweepFormat::Json),
            Some("csv") => Ok(SweepFormat::Csv),
            _ => Err(GdError::InvalidParameter {
                name: "--output",
                problem: format!("{}: a sweep writes .json or .csv", path.display()),
            }),
        }
    }

    /// The points so far in this format, with the ceilings they were held against and the host with
    /// `adapters` (JSON).
    pub fn render(
        self,
        points: &[SweepPoint],
        ceilings: Option<&Ceilings>,
        adapters: &[std::sync::Arc<crate::gpu::GpuContext>],
    ) -> Result<String> {
        Ok(match self {
            SweepFormat::Json => {
                let document = SweepDocument {
                    schema_version: crate::provenance::SCHEMA_VERSION,
                    provenance: crate::provenance::Provenance::now(),
                    machine: crate::report::Machine::of(adapters),
                    ceilings,
                    points,
                };
                serde_json::to_string_pretty(&document).expect("points serialise") + "\n"
            }
            SweepFormat::Csv => crate::report::render_sweep_csv(points)?,
        })
    }
}

/// What `gdbench sweep --output FILE.json` writes (docs/json.md).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SweepDocument<'a> {
    /// The shape of this document ([`crate::provenance::SCHEMA_VERSION`]).
    #[schemars(extend("const" = crate::provenance::SCHEMA_VERSION))]
    pub schema_version: u32,
    /// Which gdbench, wgpu and command made it, when, on which OS.
    pub provenance: crate::provenance::Provenance,
    /// The host (its adapters are those of the GPU rows, named in each row's `device`).
    pub machine: crate::report::Machine,
    /// The ceilings every point was held against; null with `--no-probe`.
    pub ceilings: Option<&'a Ceilings>,
    /// The points measured so far, in order.
    pub points: &'a [SweepPoint],
}

/// One measured point: N, K, the epochs chosen and every row.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SweepPoint {
    /// Samples.
    pub n: usize,
    /// Descents run at once (step sizes): 1 except in `--over models`.
    pub k: usize,
    /// Epochs every solver ran at this point.
    pub epochs: u64,
    /// One per solver (and adapter), as in `gdbench run`.
    pub runs: Vec<RunReport>,
    /// Whether the reference disagreed with cpu-moments here (its row may not be in `runs`).
    #[serde(skip)]
    pub reference_mismatch: bool,
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
    steps: &[f64],
    options: &SuiteOptions,
    budget: Duration,
) -> Result<u64> {
    let probe = Problem::search(Arc::clone(data), steps.to_vec(), CALIBRATION_EPOCHS)?;
    // Solvers that cannot run here are left out: their rows will say why. A GPU solver runs
    // guarded, so a device lost while calibrating costs its rows, not the sweep.
    let mut seconds = vec![seconds_per_epoch(SolverId::REFERENCE.prepare(&probe))];
    for s in &options.solvers {
        if s.id.group() == Group::Gpu {
            for ctx in &options.adapters {
                let on = || {
                    Ok(seconds_per_epoch(s.id.prepare_on(
                        &probe,
                        Some(ctx),
                        &options.gpu,
                    )))
                };
                seconds.push(crate::gpu::guard::run_row(ctx, on).ok().flatten());
            }
        } else {
            seconds.push(seconds_per_epoch(s.id.prepare(&probe)));
        }
    }
    let slowest = seconds.into_iter().flatten().fold(0.0f64, f64::max);
    let fit = SOLVE_SHARE * budget.as_secs_f64() / slowest.max(1e-9);
    Ok((fit as u64).clamp(EPOCHS_RANGE.0, EPOCHS_RANGE.1))
}

/// Seconds per epoch of one solve, after a first solve that compiles and warms up.
fn seconds_per_epoch(solver: Result<Box<dyn Solver + '_>>) -> Option<f64> {
    let mut solver = solver.ok()?;
    solver.solve().ok()?;
    let start = Instant::now();
    solver.solve().ok()?;
    Some(start.elapsed().as_secs_f64() / CALIBRATION_EPOCHS as f64)
}

/// Measures every size; after each one, `on_point` gets all points so far (to write them out).
/// Stops early, keeping what it has, on Ctrl-C. `progress` gets a bar over the points, and the
/// solvers' bars within each.
pub fn run_sweep(
    settings: &SweepSettings,
    options: &SuiteOptions,
    on_point: &mut dyn FnMut(&[SweepPoint]) -> Result<()>,
    progress: &Progress,
) -> Result<Vec<SweepPoint>> {
    let mut points = Vec::new();
    let sweep = progress.task("sweep");
    sweep.set_steps((settings.sizes.len() * settings.models.len()) as u64);
    for &n in &settings.sizes {
        let data = Arc::new(Dataset::synthetic(n, settings.sigma, settings.seed)?);
        for &k in &settings.models {
            if interrupt::requested() {
                return Ok(points);
            }
            let at = match settings.over {
                SweepOver::N => format!("N = {n}"),
                SweepOver::Models => format!("K = {k}"),
            };
            sweep.set_message(format!("{at}: choosing epochs"));
            let steps = model_steps(&data, settings.mu, k)?;
            let epochs = choose_epochs(&data, &steps, options, settings.budget)?;
            sweep.set_message(format!("{at}, {epochs} epochs"));
            let problem = Problem::search(Arc::clone(&data), steps, epochs)?;
            let report = run_suite(&problem, options, progress)?;
            sweep.step();
            points.push(SweepPoint {
                n,
                k,
                epochs,
                reference_mismatch: report.reference.cross_check.status == Status::Mismatch,
                runs: report.runs,
            });
            on_point(&points)?;
        }
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
