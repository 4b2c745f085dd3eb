//! The timing harness: prepare once (timed apart), warm up, then time repeated solves (their
//! statistics are [`crate::stats`]'s).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::error::{GdError, Result};
use crate::interrupt;
use crate::progress::Task;
use crate::solver::{Outcome, Phases, Solver};
pub use crate::stats::TimeStats;

/// How many times to solve, and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchSettings {
    /// Untimed solves before the timed ones (first-touch page faults, caches, lazy init).
    pub warmup: u32,
    /// Timed solves; `None` picks a count from `budget`.
    pub repeat: Option<u32>,
    /// With no fixed `repeat`: aim for about this much timed solving per solver.
    pub budget: Duration,
}

impl BenchSettings {
    /// Fewest timed solves an automatic count gives.
    pub const MIN_AUTO_REPEATS: u32 = 1;
    /// Most timed solves an automatic count gives.
    pub const MAX_AUTO_REPEATS: u32 = 10;
}

impl Default for BenchSettings {
    fn default() -> Self {
        Self {
            warmup: 1,
            repeat: None,
            budget: Duration::from_secs(3),
        }
    }
}

/// What the harness saw for one solver.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Seconds spent preparing (allocation, conversion, pools, upload), not included in `time`.
    pub prepare_s: f64,
    /// Wall time of each timed solve.
    pub time: TimeStats,
    /// The last timed solve's descents, one per step size in step order.
    pub descents: Vec<Outcome>,
    /// Largest difference in any weight between repeats (0 for a deterministic solver).
    pub repeat_spread: f64,
    /// Upload and read-back times the solver reported.
    pub phases: Phases,
    /// The spot check's short descents (one per step), when asked for.
    pub spot: Option<Vec<Outcome>>,
    /// GPU kernel time from instrumented solves run after the timed ones (GPU solvers).
    pub kernel: Option<KernelTimes>,
    /// What the solver said about how it ran ([`crate::solver::Solver::note`]).
    pub note: Option<String>,
    /// Whether diverged descents kept computing to the end of the solve
    /// ([`crate::solver::Solver::diverged_steps_run_on`]).
    pub diverged_run_on: bool,
}

/// GPU kernel time of solves instrumented with timestamp queries, run apart from the timed ones.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelTimes {
    /// Median over the instrumented solves with a valid reading, seconds.
    pub median_s: Option<f64>,
    /// Instrumented solves with a valid reading.
    pub solves: usize,
    /// Why there is no reading (no TIMESTAMP_QUERY, invalid readings).
    pub note: Option<String>,
}

/// Instrumented solves for kernel time at most (fewer when one solve is long).
pub const KERNEL_SOLVES: u32 = 3;

/// The least time a GPU row spends warming up (with `--warmup` ≥ 1), so the card is at its working
/// clocks when timing starts.
pub const GPU_WARMUP: Duration = Duration::from_millis(500);

/// Runs `prepare` (timed apart), warms the solver up, times its solves, then (untimed) runs the
/// spot check's `spot_epochs` solve and the instrumented solves that give GPU kernel time.
/// `task` counts the warm-up and timed solves.
pub fn measure<'p>(
    prepare: impl FnOnce() -> Result<Box<dyn Solver + 'p>>,
    settings: &BenchSettings,
    spot_epochs: Option<u64>,
    task: &Task,
) -> Result<Measurement> {
    task.set_message("preparing");
    let start = Instant::now();
    let mut solver = black_box(prepare()?);
    let prepare_s = start.elapsed().as_secs_f64();

    let warmup = u64::from(settings.warmup);
    if let Some(repeat) = settings.repeat {
        task.set_steps(warmup + u64::from(repeat));
    }
    let mut estimate = None;
    // A GPU idles at low clocks and takes a while to leave them: its warm-up goes on until
    // GPU_WARMUP has passed (an H200 read 2.6× slower in 10 ms solves straight after idling).
    let floor = if solver.has_gpu_passes() && settings.warmup > 0 {
        GPU_WARMUP.min(settings.budget)
    } else {
        Duration::ZERO
    };
    let warm_start = Instant::now();
    let mut solves = 0;
    while solves < settings.warmup || (warm_start.elapsed() < floor && !interrupt::requested()) {
        solves += 1;
        task.set_message(format!("warm-up {solves}"));
        let start = Instant::now();
        black_box(solver.solve_all()?);
        estimate = Some(start.elapsed());
        if solves <= settings.warmup {
            task.step();
        }
    }
    if let (None, Some(one)) = (settings.repeat, estimate) {
        task.set_steps(warmup + u64::from(auto_repeats(one, settings.budget)));
    }

    let mut times = Vec::new();
    let mut outcomes: Vec<Vec<Outcome>> = Vec::new();
    loop {
        task.set_message(format!("repeat {}", times.len() + 1));
        let start = Instant::now();
        let outcome = match solver.solve_all() {
            Ok(o) => black_box(o),
            // Ctrl-C inside a solve: keep the repeats already timed, if any.
            Err(GdError::Interrupted) if !times.is_empty() => break,
            Err(e) => return Err(e),
        };
        let took = start.elapsed();
        times.push(took.as_secs_f64());
        outcomes.push(outcome);
        let wanted = settings
            .repeat
            .unwrap_or_else(|| auto_repeats(estimate.unwrap_or(took), settings.budget));
        task.set_steps(warmup + u64::from(wanted));
        task.step();
        if times.len() as u32 >= wanted || interrupt::requested() {
            break;
        }
    }
    let time = TimeStats::from_samples(times);
    let phases = solver.phases();

    let last = outcomes.pop().expect("at least one timed solve");
    let repeat_spread = outcomes
        .iter()
        .flat_map(|repeat| repeat.iter().zip(&last))
        .flat_map(|(o, l)| (0..2).map(move |i| (o.w[i] - l.w[i]).abs()))
        .fold(0.0, f64::max);
    task.set_message("checks");
    let spot = match spot_epochs {
        Some(epochs) if !interrupt::requested() => Some(solver.descents(epochs)?),
        _ => None,
    };
    let kernel = kernel_times(&mut *solver, &time, settings)?;
    Ok(Measurement {
        prepare_s,
        time,
        descents: last,
        repeat_spread,
        phases,
        spot,
        kernel,
        note: solver.note(),
        diverged_run_on: solver.diverged_steps_run_on(),
    })
}

/// Up to [`KERNEL_SOLVES`] instrumented solves (as many as fit the budget) when the solver has GPU
/// passes; `None` otherwise. A solve longer than the whole budget is not repeated for this: the
/// note says so rather than doubling a long run.
fn kernel_times(
    solver: &mut dyn Solver,
    time: &TimeStats,
    settings: &BenchSettings,
) -> Result<Option<KernelTimes>> {
    if !solver.has_gpu_passes() {
        return Ok(None);
    }
    if time.median > settings.budget.as_secs_f64() {
        return Ok(Some(KernelTimes {
            median_s: None,
            solves: 0,
            note: Some(format!(
                "kernel time not measured: one solve takes longer than the {:.0} s budget, and an instrumented solve would double the run",
                settings.budget.as_secs_f64()
            )),
        }));
    }
    let solves =
        auto_repeats(Duration::from_secs_f64(time.median), settings.budget).min(KERNEL_SOLVES);
    let mut readings = Vec::new();
    let mut note = None;
    for _ in 0..solves {
        if interrupt::requested() {
            break;
        }
        match solver.kernel_time() {
            None => return Ok(None),
            Some(reading) => match reading? {
                Ok(s) => readings.push(s),
                Err(why) => note = Some(why),
            },
        }
    }
    let median_s = (!readings.is_empty()).then(|| TimeStats::from_samples(readings.clone()).median);
    Ok(Some(KernelTimes {
        median_s,
        solves: readings.len(),
        note: if median_s.is_some() { None } else { note },
    }))
}

/// Timed solves that fit `budget` given one solve takes `one`, within the automatic bounds.
fn auto_repeats(one: Duration, budget: Duration) -> u32 {
    let fits = budget.as_secs_f64() / one.as_secs_f64().max(1e-9);
    (fits.floor() as u32).clamp(
        BenchSettings::MIN_AUTO_REPEATS,
        BenchSettings::MAX_AUTO_REPEATS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_repeats_fit_the_budget_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(auto_repeats(Duration::from_millis(1), s(3)), 10);
        assert_eq!(auto_repeats(Duration::from_millis(700), s(3)), 4);
        assert_eq!(auto_repeats(s(60), s(3)), 1);
    }

    use crate::{Problem, SolverId};

    #[test]
    fn fixed_repeats_are_honoured() {
        let problem =
            Problem::new(crate::Dataset::synthetic(100, 0.1, 1).unwrap(), 0.01, 5).unwrap();
        let settings = BenchSettings {
            warmup: 0,
            repeat: Some(4),
            ..BenchSettings::default()
        };
        let task = crate::progress::Progress::hidden().task("cpu-fused");
        let m = measure(
            || SolverId::CpuFused.prepare(&problem),
            &settings,
            Some(2),
            &task,
        )
        .unwrap();
        assert_eq!(m.time.repeats.len(), 4);
        assert_eq!(m.repeat_spread, 0.0);
        // The spot check ran 2 epochs, apart from the timed 5; CPU solvers have no kernel time.
        let two = Problem::new(crate::Dataset::synthetic(100, 0.1, 1).unwrap(), 0.01, 2).unwrap();
        assert_eq!(
            m.spot,
            Some(
                SolverId::CpuFused
                    .prepare(&two)
                    .unwrap()
                    .solve_all()
                    .unwrap()
            )
        );
        assert_ne!(m.spot, Some(m.descents));
        assert_eq!(m.kernel, None);
    }

    /// Records when each solve starts; claims GPU passes, but has no kernel time to give.
    struct SlowGpu {
        starts: std::rc::Rc<std::cell::RefCell<Vec<Instant>>>,
    }

    impl Solver for SlowGpu {
        fn epochs(&self) -> u64 {
            1
        }
        fn descents(&mut self, _: u64) -> Result<Vec<Outcome>> {
            self.starts.borrow_mut().push(Instant::now());
            std::thread::sleep(Duration::from_millis(20));
            Ok(vec![Outcome {
                w: [1.0, 2.0],
                diverged_at: None,
            }])
        }
        fn has_gpu_passes(&self) -> bool {
            true
        }
    }

    #[test]
    fn gpu_rows_warm_up_for_half_a_second_unless_told_not_to() {
        // Held against the solves' own clock, not against how long a 20 ms sleep takes (a busy
        // machine oversleeps): warm-up solves start until GPU_WARMUP has passed, and no later.
        let task = crate::progress::Progress::hidden().task("gpu");
        for warmup in [1, 0] {
            let starts = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            let recorded = std::rc::Rc::clone(&starts);
            let settings = BenchSettings {
                warmup,
                repeat: Some(1),
                ..BenchSettings::default()
            };
            let prepare =
                move || -> Result<Box<dyn Solver>> { Ok(Box::new(SlowGpu { starts: recorded })) };
            let before = Instant::now();
            measure(prepare, &settings, None, &task).unwrap();
            let starts = starts.borrow();
            // The solves after the warm-up: the timed one (no spot check, no kernel time).
            let warm = &starts[..starts.len() - 1];
            if warmup == 0 {
                assert!(warm.is_empty(), "{} warm-up solves", warm.len());
                continue;
            }
            let (last, timed) = (warm[warm.len() - 1], starts[starts.len() - 1]);
            assert!(warm.len() >= 2, "{} warm-up solves", warm.len());
            assert!(
                timed - before >= GPU_WARMUP,
                "timing began {:?} after the start",
                timed - before
            );
            // A few ms of slack for the clock reads around the loop's own check; one solve more
            // than needed would begin at least 20 ms past.
            assert!(
                last - before < GPU_WARMUP + Duration::from_millis(5),
                "a warm-up solve began {:?} after the start, past {GPU_WARMUP:?}",
                last - before
            );
        }
    }
}
