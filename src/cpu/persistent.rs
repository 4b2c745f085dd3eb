//! `cpu-persistent`: the CPU twin of `gpu-persistent`. One thread per core, pinned to its core,
//! stays with its slice of the samples for the whole descent; each epoch every thread sums its
//! slice, writes its two partial sums, and meets the others at a spin barrier (no pool dispatch,
//! no sleep, no allocation per epoch). The calling thread only waits: a spinning thread that
//! shares a core with another runnable one loses whole time slices (seen: 3× slower epochs). Then every thread adds the partials in the same order and applies the
//! same update, so all threads hold bit-identical weights without a second barrier.
//!
//! Each slice is summed with `cpu-fused`'s pairwise tree; the slices' sums are added in slice
//! order. The tree is therefore split differently from the reference's (whose top split is
//! leaf-aligned and, at N = 10⁴, gives one thread four times the other's work), so the result
//! is not bit-identical to it but within f64 rounding of a pairwise sum (≪ 1e-9 relative).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::descent::descend_many;
use super::sums::{ManySums, error_sums};
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// Fewest samples a thread is given: below this, the barrier costs more than the work saves.
pub const MIN_SLICE: usize = 1024;

/// Spins before a waiting thread starts yielding its core (a preempted partner would otherwise
/// be spun against for a whole time slice).
const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// A partial pair (as f64 bits) alone on its cache line, so threads writing theirs do not
/// contend. Relaxed accesses: the barrier orders them.
#[repr(align(128))]
#[derive(Default)]
struct Slot {
    s0: AtomicU64,
    s1: AtomicU64,
}

impl Slot {
    fn store(&self, (a, b): (f64, f64)) {
        self.s0.store(a.to_bits(), Ordering::Relaxed);
        self.s1.store(b.to_bits(), Ordering::Relaxed);
    }

    fn load(&self) -> (f64, f64) {
        (
            f64::from_bits(self.s0.load(Ordering::Relaxed)),
            f64::from_bits(self.s1.load(Ordering::Relaxed)),
        )
    }
}

/// A reusable barrier for a fixed number of threads that spins instead of sleeping.
struct SpinBarrier {
    threads: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    fn new(threads: usize) -> Self {
        Self {
            threads,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    /// Returns once every thread has called `wait` for this generation. Writes made before the
    /// call are visible to every thread after it (release on arrival, acquire on leaving).
    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::AcqRel);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if spins < SPINS_BEFORE_YIELD {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Threads for `n` samples on `cores` cores: one per core, each with at least [`MIN_SLICE`].
pub fn threads_for(n: usize, cores: usize) -> usize {
    (n / MIN_SLICE).clamp(1, cores.max(1))
}

/// The persistent-threads solver over a problem's f64 data.
pub struct Persistent<'p> {
    problem: &'p Problem,
    threads: usize,
}

impl<'p> Persistent<'p> {
    /// One thread per hardware thread (fewer for small N).
    pub fn new(problem: &'p Problem) -> Self {
        Self {
            problem,
            threads: threads(problem.n()),
        }
    }
}

/// Threads cpu-persistent runs for `n` samples on this machine.
pub fn threads(n: usize) -> usize {
    threads_for(n, crate::machine::cpu_threads())
}

/// One thread's descent over its slice (`x`, `d`) as thread `t`; every thread computes the same
/// weights, so all stop at the same epoch and return the same outcome.
fn descend_slice(
    x: &[f64],
    d: &[f64],
    (n, mu, epochs, limit): (usize, f64, u64, f64),
    t: usize,
    slots: &[[Slot; 2]],
    barrier: &SpinBarrier,
) -> Outcome {
    let f = 2.0 / n as f64;
    let (mut w0, mut w1) = (0.0f64, 0.0f64);
    for epoch in 1..=epochs {
        // Double-buffered slots: a thread writing epoch k+1's partial cannot overwrite one that
        // a slower thread is still reading for epoch k (it cannot pass k+1's barrier before them).
        let parity = (epoch % 2) as usize;
        slots[t][parity].store(error_sums(x, d, w0, w1));
        barrier.wait();
        let (mut s0, mut s1) = (0.0, 0.0);
        for slot in slots {
            let (a, b) = slot[parity].load();
            s0 += a;
            s1 += b;
        }
        w0 += mu * (f * s0);
        w1 += mu * (f * s1);
        if !(w0.abs() <= limit && w1.abs() <= limit) {
            return Outcome {
                w: [w0, w1],
                diverged_at: Some(epoch),
            };
        }
    }
    Outcome {
        w: [w0, w1],
        diverged_at: None,
    }
}

impl Solver for Persistent<'_> {
    fn epochs(&self) -> u64 {
        self.problem.epochs()
    }

    /// One step: the persistent descent. Several: every thread sums its slice at every step's
    /// weights in one walk per epoch, and the threads meet once per epoch for all of them.
    fn descents(&mut self, epochs: u64) -> crate::error::Result<Vec<Outcome>> {
        let p = self.problem;
        Ok(match p.steps() {
            &[mu] => vec![self.descent(mu, epochs)],
            steps => self.search(steps, epochs),
        })
    }
}

/// One thread's partial sums for every step, as f64 bits (Relaxed: the barrier orders them).
struct ManySlot {
    bits: Vec<AtomicU64>,
}

impl ManySlot {
    fn new(steps: usize) -> Self {
        Self {
            bits: (0..2 * steps).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn store(&self, sums: &[(f64, f64)]) {
        for (pair, &(a, b)) in self.bits.chunks_exact(2).zip(sums) {
            pair[0].store(a.to_bits(), Ordering::Relaxed);
            pair[1].store(b.to_bits(), Ordering::Relaxed);
        }
    }

    fn load(&self, i: usize) -> (f64, f64) {
        (
            f64::from_bits(self.bits[2 * i].load(Ordering::Relaxed)),
            f64::from_bits(self.bits[2 * i + 1].load(Ordering::Relaxed)),
        )
    }
}

impl Persistent<'_> {
    /// Runs `work(t, x, d)` on a thread per slice, each pinned to a core of its own where the OS
    /// lets us (the calling thread only waits, so no two spinning threads ever share a core), and
    /// returns thread 0's answer (every thread computes the same).
    fn on_slices<R: Send + PartialEq + std::fmt::Debug>(
        &self,
        work: impl Fn(usize, &[f64], &[f64]) -> R + Sync,
    ) -> R {
        let p = self.problem;
        let (x, d, n) = (p.x(), p.d(), p.n());
        let threads = self.threads;
        let bounds = |t: usize| (t * n / threads, (t + 1) * n / threads);
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        std::thread::scope(|scope| {
            let work = &work;
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (a, b) = bounds(t);
                    let core = (cores.len() >= threads).then(|| cores[t]);
                    scope.spawn(move || {
                        if let Some(core) = core {
                            core_affinity::set_for_current(core);
                        }
                        work(t, &x[a..b], &d[a..b])
                    })
                })
                .collect();
            let mut outcomes: Vec<R> = workers
                .into_iter()
                .map(|w| w.join().expect("a cpu-persistent thread panicked"))
                .collect();
            debug_assert!(outcomes.iter().all(|o| *o == outcomes[0]));
            outcomes.swap_remove(0)
        })
    }

    /// One descent of step `mu`: the threads start, keep their slices for `epochs` epochs, end.
    fn descent(&self, mu: f64, epochs: u64) -> Outcome {
        let p = self.problem;
        let shape = (p.n(), mu, epochs, p.sane_bound());
        let slots: Vec<[Slot; 2]> = (0..self.threads).map(|_| Default::default()).collect();
        let barrier = SpinBarrier::new(self.threads);
        self.on_slices(|t, x, d| descend_slice(x, d, shape, t, &slots, &barrier))
    }

    /// Every step of `steps` at once: per epoch each thread sums its slice at every running
    /// step's weights ([`ManySums`], one walk), publishes them, meets the others once, and adds
    /// the threads' partials in thread order, as [`descend_slice`] does for one step; so each
    /// descent is bit-identical to its own [`Persistent::descent`].
    fn search(&self, steps: &[f64], epochs: u64) -> Vec<Outcome> {
        let p = self.problem;
        let k = steps.len();
        let slots: Vec<[ManySlot; 2]> = (0..self.threads)
            .map(|_| [ManySlot::new(k), ManySlot::new(k)])
            .collect();
        let barrier = SpinBarrier::new(self.threads);
        self.on_slices(|t, x, d| {
            let mut many = ManySums::default();
            let mut mine = vec![(0.0, 0.0); k];
            let mut epoch = 0usize;
            descend_many::<f64>(p.n(), steps, epochs, p.sane_bound(), |w, out| {
                // Double-buffered, as in descend_slice.
                epoch += 1;
                let parity = epoch % 2;
                let mine = &mut mine[..w.len()];
                many.sums(x, d, w, mine);
                slots[t][parity].store(mine);
                barrier.wait();
                for (i, o) in out.iter_mut().enumerate() {
                    *o = (0.0, 0.0);
                    for slot in &slots {
                        let (a, b) = slot[parity].load(i);
                        *o = (o.0 + a, o.1 + b);
                    }
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_problems_get_one_thread_and_large_ones_one_per_core() {
        assert_eq!(threads_for(10, 8), 1);
        assert_eq!(threads_for(3 * MIN_SLICE, 8), 3);
        assert_eq!(threads_for(1 << 30, 8), 8);
        assert_eq!(threads_for(1 << 30, 0), 1);
    }

    #[test]
    fn the_spin_barrier_holds_threads_together_over_many_generations() {
        let threads = 3;
        let barrier = SpinBarrier::new(threads);
        let counter = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for round in 0..2000 {
                        counter.fetch_add(1, Ordering::SeqCst);
                        barrier.wait();
                        // Everyone has added for this round, and nobody for the next yet.
                        assert!(counter.load(Ordering::SeqCst) >= threads * (round + 1));
                        barrier.wait();
                        assert!(counter.load(Ordering::SeqCst) <= threads * (round + 2));
                    }
                });
            }
        });
        assert_eq!(counter.into_inner(), threads * 2000);
    }
}
