//! `cpu-threads`: each epoch's sums split across all cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rayon::{ThreadPool, ThreadPoolBuilder};

use super::descent::{descend, descend_many};
use super::sums::{ManySums, error_sums_parallel, parallel_width};
use crate::error::{GdError, Result};
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// A pool built once in `new` and reused by every epoch. Each epoch walks the same summation
/// tree as `cpu-fused`, its upper nodes split across the pool, so the answer is bit-identical
/// to the reference and independent of scheduling.
pub struct Threads<'p> {
    problem: &'p Problem,
    pool: Option<ThreadPool>,
    grain: usize,
    /// Scratch of a search's shared pass, kept between epochs.
    many: ManySums<f64>,
    /// Pool threads still running: dropping the solver waits for them to end, so they cannot
    /// take cores from the row measured next.
    alive: Arc<AtomicUsize>,
}

/// How long dropping the solver waits for its pool's threads to end.
const EXIT_WAIT: Duration = Duration::from_secs(2);

impl Drop for Threads<'_> {
    fn drop(&mut self) {
        drop(self.pool.take());
        let start = Instant::now();
        while self.alive.load(Ordering::Acquire) > 0 && start.elapsed() < EXIT_WAIT {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

impl<'p> Threads<'p> {
    /// Builds the pool, one thread per hardware thread.
    pub fn new(problem: &'p Problem) -> Result<Self> {
        let threads = crate::machine::cpu_threads();
        let alive = Arc::new(AtomicUsize::new(threads));
        let exited = Arc::clone(&alive);
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("gdbench-cpu-{i}"))
            .exit_handler(move |_| {
                exited.fetch_sub(1, Ordering::AcqRel);
            })
            .build()
            .map_err(|e| GdError::Solver {
                solver: "cpu-threads",
                message: format!("cannot start a thread pool: {e}"),
            })?;
        // About four tasks per thread: enough to balance, few enough that joins stay cheap.
        let grain = grain(problem.n(), threads);
        Ok(Self {
            problem,
            pool: Some(pool),
            grain,
            many: ManySums::default(),
            alive,
        })
    }
}

impl Solver for Threads<'_> {
    fn epochs(&self) -> u64 {
        self.problem.epochs()
    }

    /// Each epoch's sums split across the pool; several steps share each epoch's walk (every
    /// leaf summed at every step's weights while in cache).
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        let p = self.problem;
        let (x, d, grain) = (p.x(), p.d(), self.grain);
        let pool = self.pool.as_ref().expect("the pool lives until drop");
        let many = &mut self.many;
        Ok(pool.install(|| match p.steps() {
            &[mu] => vec![descend::<f64>(
                p.n(),
                mu,
                epochs,
                p.sane_bound(),
                |w0, w1| error_sums_parallel(x, d, w0, w1, grain),
            )],
            steps => descend_many::<f64>(p.n(), steps, epochs, p.sane_bound(), |w, out| {
                many.sums_parallel(x, d, w, out, grain)
            }),
        }))
    }
}

/// Samples a node of the tree holds at most to be summed whole on `threads` threads: a quarter
/// of each thread's share.
fn grain(n: usize, threads: usize) -> usize {
    n.div_ceil(4 * threads)
}

/// Threads cpu-threads keeps busy at once over `n` samples on this machine: its pool's, or fewer
/// where its tree forks less (none below two halves of two leaves: one thread at N = 10⁴).
pub fn threads_used(n: usize) -> usize {
    let threads = crate::machine::cpu_threads();
    parallel_width(n, grain(n, threads)).min(threads)
}
