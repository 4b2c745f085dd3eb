//! `cpu-threads`: each epoch's sums split across all cores.

use rayon::{ThreadPool, ThreadPoolBuilder};

use super::descent::descend;
use super::sums::error_sums_parallel;
use crate::error::{GdError, Result};
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// A pool built once in `new` and reused by every epoch. Each epoch walks the same summation
/// tree as `cpu-fused`, its upper nodes split across the pool, so the answer is bit-identical
/// to the reference and independent of scheduling.
pub struct Threads<'p> {
    problem: &'p Problem,
    pool: ThreadPool,
    grain: usize,
}

impl<'p> Threads<'p> {
    /// Builds the pool, one thread per hardware thread.
    pub fn new(problem: &'p Problem) -> Result<Self> {
        let threads = crate::machine::cpu_threads();
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("gdbench-cpu-{i}"))
            .build()
            .map_err(|e| GdError::Solver {
                solver: "cpu-threads",
                message: format!("cannot start a thread pool: {e}"),
            })?;
        // About four tasks per thread: enough to balance, few enough that joins stay cheap.
        let grain = problem.n().div_ceil(4 * threads);
        Ok(Self {
            problem,
            pool,
            grain,
        })
    }
}

impl Solver for Threads<'_> {
    fn epochs(&self) -> u64 {
        self.problem.epochs()
    }

    fn solve_for(&mut self, epochs: u64) -> Result<Outcome> {
        let p = self.problem;
        let (x, d, grain) = (p.x(), p.d(), self.grain);
        Ok(self.pool.install(|| {
            descend::<f64>(p.n(), p.mu(), epochs, p.sane_bound(), |w0, w1| {
                error_sums_parallel(x, d, w0, w1, grain)
            })
        }))
    }
}
