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
    /// Untimed solves before the timed ones (first-touch page faults, caches, lazy init); 0 skips
    /// every warm-up, a GPU row's included.
    pub warmup: u32,
    /// Timed solves; `None` samples until the median's 95 % interval is within
    /// [`BenchSettings::TARGET_CI`] or `budget` is spent.
    pub repeat: Option<u32>,
    /// With no fixed `repeat`: the most timed solving per row (a solve that would pass it is not
    /// started, so one long solve may be all a row gets).
    pub budget: Duration,
    /// The row runs on a software adapter (lavapipe, llvmpipe): no clocks to raise, so its GPU
    /// warm-up is a short solve only, and its kernel time (its CPU time) is not measured apart.
    pub software: bool,
}

impl BenchSettings {
    /// Most timed solves automatic sampling takes.
    pub const MAX_AUTO_REPEATS: u32 = 200;
    /// Automatic sampling stops once the median's 95 % interval is within ± this share of it.
    pub const TARGET_CI: f64 = 0.02;
}

impl Default for BenchSettings {
    fn default() -> Self {
        Self {
            warmup: 1,
            repeat: None,
            budget: Duration::from_millis(1500),
            software: false,
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
    /// The timed solves' dispatches, submissions and barriers per epoch (GPU solvers).
    pub pacing: Option<crate::solver::Pacing>,
    /// Whether diverged descents kept computing to the end of the solve
    /// ([`crate::solver::Solver::diverged_steps_run_on`]).
    pub diverged_run_on: bool,
    /// The kernel files the solver compiled (GPU solvers; [`crate::solver::Solver::kernels`]).
    pub kernels: Vec<crate::gpu::shaders::KernelSource>,
    /// An NVIDIA GPU's clocks around the timed solves (where its management library is).
    pub clocks: Option<crate::gpu::clocks::RowClocks>,
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

/// Epochs of the short solves that open a GPU row's warm-up: they build pipelines and touch
/// buffers, and the time of a few against four times as many estimates a whole solve's.
pub const WARM_EPOCHS: u64 = 8;

/// A GPU solve estimated to take at least this long is its own warm-up (clocks rise within its
/// first part): it gets only the short solves.
pub const SELF_WARM: Duration = Duration::from_millis(500);

/// A GPU warm-up ends when its last [`WARM_AGREE_SOLVES`] whole solves agree within this share.
pub const WARM_AGREE: f64 = 0.03;

/// Whole solves whose times must agree before a GPU counts as warm.
pub const WARM_AGREE_SOLVES: usize = 3;

/// Runs `prepare` (timed apart), warms the solver up, times its solves (reading `clocks`, when
/// given, just before and just after), then (untimed) runs the spot check's `spot_epochs` solve
/// and the instrumented solves that give GPU kernel time. `task` counts the warm-up and timed
/// solves.
pub fn measure<'p>(
    prepare: impl FnOnce() -> Result<Box<dyn Solver + 'p>>,
    settings: &BenchSettings,
    spot_epochs: Option<u64>,
    clocks: Option<&crate::gpu::clocks::Watch>,
    task: &Task,
) -> Result<Measurement> {
    task.set_message("preparing");
    let start = Instant::now();
    let mut solver = black_box(prepare()?);
    let prepare_s = start.elapsed().as_secs_f64();

    if solver.has_gpu_passes() {
        let clock_up = || clocks.is_none_or(crate::gpu::clocks::Watch::is_up);
        warm_gpu(&mut *solver, settings, &clock_up, task)?;
    } else {
        for solve in 1..=settings.warmup {
            task.set_message(format!("warm-up {solve}"));
            black_box(solver.solve_all()?);
        }
    }
    let before = clocks.and_then(|w| w.read());
    let (times, mut outcomes) = time_solves(&mut *solver, settings, task)?;
    let clocks = clocks.and_then(|w| {
        let (before, after) = before.zip(w.read())?;
        Some(crate::gpu::clocks::RowClocks::of(
            before,
            after,
            w.sm_max_mhz(),
        ))
    });
    let time = TimeStats::from_samples(times);
    let phases = solver.phases();
    let pacing = solver.pacing();

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
        pacing,
        diverged_run_on: solver.diverged_steps_run_on(),
        kernels: solver.kernels(),
        clocks,
    })
}

/// Warms a GPU row up (none with `warmup` 0): short solves build its pipelines; then, unless it
/// runs on a software adapter or one solve is estimated to be its own warm-up ([`SELF_WARM`]),
/// whole solves until the last [`WARM_AGREE_SOLVES`] agree within [`WARM_AGREE`] (a GPU idles
/// at low clocks: an H200 read 2.6× slower in 10 ms solves straight after idling) and
/// `clock_up` says the GPU's clock has risen (an H200 gave steady solves at its idle 345 MHz:
/// [`crate::gpu::clocks::Watch::is_up`] where NVML reads it), for at most the row's budget.
pub fn warm_gpu(
    solver: &mut dyn Solver,
    settings: &BenchSettings,
    clock_up: &dyn Fn() -> bool,
    task: &Task,
) -> Result<()> {
    if settings.warmup == 0 {
        return Ok(());
    }
    task.set_message("warm-up: pipelines");
    let epochs = solver.epochs();
    let few = WARM_EPOCHS.min(epochs);
    let timed = |solver: &mut dyn Solver, epochs: u64| -> Result<f64> {
        let start = Instant::now();
        black_box(solver.descents(epochs)?);
        Ok(start.elapsed().as_secs_f64())
    };
    timed(solver, few)?;
    let short = timed(solver, few)?;
    let longer = timed(solver, (4 * few).min(epochs))?;
    let per_epoch = ((longer - short) / (3 * few) as f64).max(0.0);
    let estimate = short + per_epoch * epochs.saturating_sub(few) as f64;
    if settings.software || estimate >= SELF_WARM.as_secs_f64() {
        return Ok(());
    }
    let start = Instant::now();
    let mut times: Vec<f64> = Vec::new();
    while !interrupt::requested() && start.elapsed() < settings.budget {
        task.set_message(format!("warm-up {}", times.len() + 1));
        let solve = Instant::now();
        black_box(solver.solve_all()?);
        times.push(solve.elapsed().as_secs_f64());
        if let Some(last) = times
            .len()
            .checked_sub(WARM_AGREE_SOLVES)
            .map(|i| &times[i..])
        {
            let (lo, hi) = last.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &t| {
                (lo.min(t), hi.max(t))
            });
            if times.len() >= settings.warmup as usize
                && hi <= lo * (1.0 + WARM_AGREE)
                && clock_up()
            {
                break;
            }
        }
    }
    Ok(())
}

/// The timed solves: `repeat` of them, or (automatic) until the median's 95 % interval is within
/// [`BenchSettings::TARGET_CI`], [`BenchSettings::MAX_AUTO_REPEATS`] are in, or the next solve
/// would pass the budget (on a software adapter: once, when the budget cannot hold the repeats an
/// interval needs). Returns each solve's seconds and descents.
fn time_solves(
    solver: &mut dyn Solver,
    settings: &BenchSettings,
    task: &Task,
) -> Result<(Vec<f64>, Vec<Vec<Outcome>>)> {
    let warmup = u64::from(settings.warmup);
    if let Some(repeat) = settings.repeat {
        task.set_steps(warmup + u64::from(repeat));
    }
    task.set_position(warmup);
    let start = Instant::now();
    let mut times = Vec::new();
    let mut outcomes: Vec<Vec<Outcome>> = Vec::new();
    loop {
        task.set_message(format!("repeat {}", times.len() + 1));
        let solve = Instant::now();
        let outcome = match solver.solve_all() {
            Ok(o) => black_box(o),
            // Ctrl-C inside a solve: keep the repeats already timed, if any.
            Err(GdError::Interrupted) if !times.is_empty() => break,
            Err(e) => return Err(e),
        };
        let took = solve.elapsed();
        times.push(took.as_secs_f64());
        outcomes.push(outcome);
        if settings.repeat.is_none() {
            // The bar's length: the solves that still fit the budget at this pace.
            let left = settings
                .budget
                .saturating_sub(start.elapsed())
                .as_secs_f64();
            let more = (left / took.as_secs_f64().max(1e-9)).min(f64::from(u32::MAX)) as u64;
            let cap = u64::from(BenchSettings::MAX_AUTO_REPEATS);
            task.set_steps(warmup + (times.len() as u64 + more).min(cap));
        }
        task.set_position(warmup + times.len() as u64);
        let done = match settings.repeat {
            Some(repeat) => times.len() as u32 >= repeat,
            None => {
                let tight = TimeStats::from_samples(times.clone())
                    .ci_half_width()
                    .is_some_and(|h| h <= BenchSettings::TARGET_CI);
                // On a software adapter, a solve so long that the budget cannot hold the
                // repeats an interval needs is timed once: more would not give one either.
                let no_interval = settings.software
                    && took * crate::stats::CI_MIN_REPEATS as u32 > settings.budget;
                tight
                    || no_interval
                    || times.len() as u32 >= BenchSettings::MAX_AUTO_REPEATS
                    || start.elapsed() + took > settings.budget
            }
        };
        if done || interrupt::requested() {
            break;
        }
    }
    task.set_steps(warmup + times.len() as u64);
    Ok((times, outcomes))
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
    if settings.software {
        return Ok(Some(KernelTimes {
            median_s: None,
            solves: 0,
            note: Some("kernel time not measured: on a software adapter it is CPU time".into()),
        }));
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
    let fits = (settings.budget.as_secs_f64() / time.median.max(1e-9)).floor() as u32;
    let solves = fits.clamp(1, KERNEL_SOLVES);
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

#[cfg(test)]
mod tests {
    use super::*;

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
            None,
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

    /// A GPU whose whole solves (100 epochs) take `whole_ms[i]` for the i-th (the last entry
    /// thereafter), as clocks rising from idle would; a shorter solve takes `epoch_ms` an epoch.
    /// Logs each solve's epochs; claims GPU passes, but has no kernel time to give.
    struct WarmingGpu {
        log: std::rc::Rc<std::cell::RefCell<Vec<u64>>>,
        whole_ms: Vec<u64>,
        epoch_ms: f64,
    }

    impl Solver for WarmingGpu {
        fn epochs(&self) -> u64 {
            100
        }
        fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
            let mut log = self.log.borrow_mut();
            let ms = if epochs == 100 {
                let whole = log.iter().filter(|&&e| e == 100).count();
                self.whole_ms[whole.min(self.whole_ms.len() - 1)] as f64
            } else {
                self.epoch_ms * epochs as f64
            };
            log.push(epochs);
            std::thread::sleep(Duration::from_secs_f64(ms / 1e3));
            Ok(vec![Outcome {
                w: [1.0, 2.0],
                diverged_at: None,
            }])
        }
        fn has_gpu_passes(&self) -> bool {
            true
        }
    }

    /// The epochs of every solve `measure` runs on a [`WarmingGpu`] with one timed repeat.
    fn solves(whole_ms: &[u64], epoch_ms: f64, warmup: u32, software: bool) -> Vec<u64> {
        solves_with(whole_ms, epoch_ms, warmup, software, Some(1))
    }

    /// The same with `repeat` timed solves (`None`: automatic).
    fn solves_with(
        whole_ms: &[u64],
        epoch_ms: f64,
        warmup: u32,
        software: bool,
        repeat: Option<u32>,
    ) -> Vec<u64> {
        let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let fake = WarmingGpu {
            log: std::rc::Rc::clone(&log),
            whole_ms: whole_ms.to_vec(),
            epoch_ms,
        };
        let settings = BenchSettings {
            warmup,
            repeat,
            software,
            ..BenchSettings::default()
        };
        let task = crate::progress::Progress::hidden().task("gpu");
        let prepare = move || -> Result<Box<dyn Solver>> { Ok(Box::new(fake)) };
        measure(prepare, &settings, None, None, &task).unwrap();
        log.take()
    }

    #[test]
    fn a_gpu_warms_up_until_its_solves_agree() {
        // Short solves first (8, 8 and 32 epochs: pipelines, and the estimate of a whole solve),
        // then whole solves: 80, 60, 40 ms while "clocks rise", then 20 ms. Timing may begin only
        // once three solves at 20 ms agree: six whole warm-up solves at least (sleeps only ever
        // oversleep, which can add solves, never remove them), then the one timed.
        let log = solves(&[80, 60, 40, 20], 0.1, 1, false);
        assert_eq!(log[..3], [8, 8, 32], "{log:?}");
        let whole = log[3..].iter().filter(|&&e| e == 100).count();
        assert!(whole > 6, "{whole} whole solves: {log:?}");
        assert!(log[3..].iter().all(|&e| e == 100), "{log:?}");
    }

    #[test]
    fn a_gpu_warms_up_until_its_clock_is_up_too() {
        // Steady 20 ms solves from the first: three agree at once, but the clock reads low at
        // the first five checks, so the warm-up runs on until it reads high.
        let whole = |low_reads: usize| {
            let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            let mut fake = WarmingGpu {
                log: std::rc::Rc::clone(&log),
                whole_ms: vec![20],
                epoch_ms: 0.01,
            };
            let reads = std::cell::Cell::new(0);
            let clock_up = || {
                reads.set(reads.get() + 1);
                reads.get() > low_reads
            };
            let task = crate::progress::Progress::hidden().task("gpu");
            warm_gpu(&mut fake, &BenchSettings::default(), &clock_up, &task).unwrap();
            let whole = log.borrow().iter().filter(|&&e| e == 100).count();
            (whole, reads.get())
        };
        // Each read follows a new whole solve once three agree (a late wake-up can add solves,
        // never remove them), and the first high read ends the warm-up.
        let (up, reads) = whole(0);
        assert!(up >= 3 && reads == 1, "{up} solves, {reads} reads");
        let (low, reads) = whole(5);
        assert!(low >= 8 && reads == 6, "{low} solves, {reads} reads");
    }

    #[test]
    fn a_long_solve_a_software_adapter_and_no_warmup_get_no_whole_warm_up_solves() {
        // 10 ms an epoch: a whole solve is estimated at a second, its own warm-up.
        assert_eq!(solves(&[1000], 10.0, 1, false), [8, 8, 32, 100]);
        // A software adapter has no clocks to raise.
        assert_eq!(solves(&[80, 60, 40, 20], 0.1, 1, true), [8, 8, 32, 100]);
        assert_eq!(solves(&[80, 60, 40, 20], 0.1, 0, false), [100]);
    }

    #[test]
    fn a_long_solve_on_a_software_adapter_is_timed_once() {
        // 400 ms a solve: six (an interval's least) would take 2.4 s, past the 1.5 s budget; a
        // second solve would not give an interval either.
        let log = solves_with(&[400], 0.01, 1, true, None);
        assert_eq!(log, [8, 8, 32, 100], "{log:?}");
    }

    #[test]
    fn automatic_sampling_stops_at_a_tight_interval() {
        // A deterministic CPU solve of steady length: the interval is tight once six repeats are
        // in (the fewest that give one); a loose one would sample on to the budget.
        let problem =
            Problem::new(crate::Dataset::synthetic(1000, 0.1, 1).unwrap(), 0.01, 20).unwrap();
        let settings = BenchSettings {
            warmup: 1,
            repeat: None,
            budget: Duration::from_secs(60),
            software: false,
        };
        let task = crate::progress::Progress::hidden().task("cpu-fused");
        let m = measure(
            || SolverId::CpuFused.prepare(&problem),
            &settings,
            None,
            None,
            &task,
        )
        .unwrap();
        let n = m.time.repeats.len();
        assert!(n >= crate::stats::CI_MIN_REPEATS, "{n} repeats");
        assert!(
            m.time.ci_half_width().unwrap() <= BenchSettings::TARGET_CI
                || n == BenchSettings::MAX_AUTO_REPEATS as usize,
            "{:?}",
            m.time
        );
    }
}
