//! `cpu-persistent`: the CPU twin of `gpu-persistent`. One thread per core, pinned to its core,
//! stays with the descent for all its epochs (no pool dispatch, no sleep, no allocation per
//! epoch; the calling thread only waits). Each epoch the threads share the sums as a
//! [`Team`]: each sums its own slice of the samples (and any slice no one has taken), publishes
//! its partial sums, and adds every slice's partials in slice order, so all threads hold
//! bit-identical weights without a second meeting. A thread the scheduler parks costs the others
//! one short wait: they sum its slice themselves and go on without it (a spin barrier held them
//! for its whole time slice: 2–3× slower than one core with one other busy process on 2 cores).
//!
//! Each slice is summed with `cpu-fused`'s pairwise tree; the slices' sums are added in slice
//! order. The tree is therefore split differently from the reference's (whose top split is
//! leaf-aligned and, at N = 10⁴, gives one thread four times the other's work), so the result
//! is not bit-identical to it but within f64 rounding of a pairwise sum.

use std::time::{Duration, Instant};

use super::descent::{descend_many, in_range, update};
use super::sums::{ManySums, error_sums};
use super::team::{Left, RedoAfter, Seen, Team};
use crate::error::{GdError, Result};
use crate::fault;
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// Fewest samples a thread is given: below this, meeting each epoch costs more than the work
/// saves.
pub const MIN_SLICE: usize = 1024;

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

impl Solver for Persistent<'_> {
    fn epochs(&self) -> u64 {
        self.problem.epochs()
    }

    /// One step: the persistent descent. Several: every thread sums its slice at every step's
    /// weights in one walk per epoch, and the threads meet once per epoch for all of them.
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        let p = self.problem;
        match p.steps() {
            &[mu] => Ok(vec![self.descent(mu, epochs)?]),
            steps => self.search(steps, epochs),
        }
    }
}

/// What one member of the team needs to sum a slice: the data and where each slice lies.
#[derive(Clone, Copy)]
struct Slices<'a> {
    x: &'a [f64],
    d: &'a [f64],
    threads: usize,
}

impl<'a> Slices<'a> {
    /// Slice `c`'s x and d (`threads` slices of nearly equal length, in order).
    fn get(&self, c: usize) -> (&'a [f64], &'a [f64]) {
        let n = self.x.len();
        let (a, b) = (c * n / self.threads, (c + 1) * n / self.threads);
        (&self.x[a..b], &self.d[a..b])
    }
}

/// One member's view of the team: its index, the wait before summing a missing slice itself
/// (from its own slices' times), what it knows of the others, and whether it has left.
struct Member<'t> {
    team: &'t Team,
    index: usize,
    /// Its last few slices' times (one in 64 epochs is timed): the shortest is what a slice takes
    /// when the thread is not parked in the middle of it.
    slices: [Duration; 4],
    seen: Seen,
    left: Option<Left>,
    /// `GDBENCH_FAULT=worker-panic`: this member panics in the first epoch it runs.
    panics: bool,
    /// `GDBENCH_FAULT=worker-park`: this member sleeps 20 ms before epoch 50, as a thread the
    /// scheduler parks would.
    parks: bool,
}

impl<'t> Member<'t> {
    fn new(team: &'t Team, index: usize, threads: usize) -> Self {
        Self {
            team,
            index,
            slices: [Duration::ZERO; 4],
            seen: Seen::new(threads),
            left: None,
            panics: index + 1 == threads && fault::injected("worker-panic"),
            parks: index + 1 == threads && fault::injected("worker-park"),
        }
    }

    /// Epoch `epoch`'s sums into `out`, each slice summed by `sum(slice, out)`, or why not.
    fn sums(
        &mut self,
        epoch: u64,
        mut sum: impl FnMut(usize, &mut [(f64, f64)]),
        out: &mut [(f64, f64)],
    ) -> std::result::Result<(), Left> {
        if self.panics {
            panic!("a planted fault (GDBENCH_FAULT=worker-panic)");
        }
        if self.parks && epoch == 50 {
            std::thread::sleep(Duration::from_millis(20));
        }
        let redo = RedoAfter::after(self.slices.iter().copied().min().unwrap_or_default());
        // A slice's time, for how long to wait for a missing one: taken now and then (reading the
        // clock twice a slice costs a few per cent at the article's size).
        let clock = epoch % 64 == 1;
        let last = &mut self.slices[(epoch / 64) as usize % 4];
        let timed = |c: usize, o: &mut [(f64, f64)]| {
            let start = clock.then(Instant::now);
            sum(c, o);
            if let Some(start) = start {
                *last = start.elapsed();
            }
        };
        self.team
            .epoch((self.index, epoch), redo, &mut self.seen, timed, out)
    }

    /// Leaves the team: its answer will not count.
    fn leave(&mut self, why: Left) {
        self.left = Some(why);
    }
}

/// Sets the team's failure flag if the member's thread unwinds, so the others stop waiting.
struct FailOnPanic<'t>(&'t Team);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail();
        }
    }
}

impl Persistent<'_> {
    /// Runs `work(member, slices)` on a thread per slice, each pinned to a core of its own where
    /// the OS lets us (the calling thread only waits), and returns the answer of a member that
    /// stayed to the end (every one that did computed the same). A member that panicked makes
    /// it an error.
    fn on_team<R: Send + PartialEq + std::fmt::Debug>(
        &self,
        width: usize,
        work: impl Fn(&mut Member, Slices) -> R + Sync,
    ) -> Result<R> {
        let p = self.problem;
        let threads = self.threads;
        let slices = Slices {
            x: p.x(),
            d: p.d(),
            threads,
        };
        let team = Team::new(threads, width);
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let joined: Vec<std::thread::Result<(R, Option<Left>)>> = std::thread::scope(|scope| {
            let (work, team) = (&work, &team);
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let core = (cores.len() >= threads).then(|| cores[t]);
                    scope.spawn(move || {
                        let _fail = FailOnPanic(team);
                        if let Some(core) = core {
                            core_affinity::set_for_current(core);
                        }
                        let mut member = Member::new(team, t, threads);
                        let out = work(&mut member, slices);
                        (out, member.left)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join()).collect()
        });
        let mut stayed = Vec::new();
        for result in joined {
            match result {
                Ok((out, None)) => stayed.push(out),
                Ok((_, Some(_))) => {}
                Err(panic) => {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no message".into());
                    return Err(GdError::Solver {
                        solver: "cpu-persistent",
                        message: format!("a worker thread panicked ({why}); the others stopped"),
                    });
                }
            }
        }
        if stayed.iter().any(|o| *o != stayed[0]) {
            return Err(GdError::Solver {
                solver: "cpu-persistent",
                message: format!("its workers ended with different answers: {stayed:?}"),
            });
        }
        stayed.into_iter().next().ok_or(GdError::Solver {
            solver: "cpu-persistent",
            message: "every worker left the team".into(),
        })
    }

    /// One descent of step `mu`: the threads start, share every epoch's sums, end. A member
    /// left behind (parked while the team went on) takes the latest weights a member posted and
    /// rejoins: the update is the one every CPU descent shares, so every member's weights are
    /// bit-identical to each other's and to a descent alone.
    fn descent(&self, mu: f64, epochs: u64) -> Result<Outcome> {
        let p = self.problem;
        let (f, limit) = (2.0 / p.n() as f64, p.sane_bound());
        self.on_team(1, |member, slices| {
            let mut w = [0.0f64; 2];
            let mut epoch = 1;
            member.team.post(member.index, epoch, &w);
            while epoch <= epochs {
                let mut out = [(0.0, 0.0)];
                let sum = |c: usize, o: &mut [(f64, f64)]| {
                    let (x, d) = slices.get(c);
                    o[0] = error_sums(x, d, w[0], w[1]);
                };
                match member.sums(epoch, sum, &mut out) {
                    Ok(()) => {
                        w = update(w, mu, f, out[0]);
                        if !in_range(w, limit) {
                            return Outcome {
                                w,
                                diverged_at: Some(epoch),
                            };
                        }
                        epoch += 1;
                        member.team.post(member.index, epoch, &w);
                    }
                    Err(Left::Behind) => match member.team.latest(&mut w) {
                        Some(latest) if latest > epoch => {
                            epoch = latest;
                            member.team.post(member.index, epoch, &w);
                        }
                        _ => member.leave(Left::Behind),
                    },
                    Err(Left::Failed) => member.leave(Left::Failed),
                }
                if member.left.is_some() {
                    break;
                }
            }
            Outcome {
                w,
                diverged_at: None,
            }
        })
    }

    /// Every step of `steps` at once: per epoch each member sums a slice at every running
    /// step's weights ([`ManySums`], one walk), and the partials are added in slice order, as
    /// [`Persistent::descent`] does for one step; so each descent is bit-identical to its own. A
    /// member left behind leaves the team (a search's state is not posted).
    fn search(&self, steps: &[f64], epochs: u64) -> Result<Vec<Outcome>> {
        let p = self.problem;
        self.on_team(steps.len(), |member, slices| {
            let mut many = ManySums::default();
            let mut epoch = 0;
            descend_many::<f64>(p.n(), steps, epochs, p.sane_bound(), |w, out| {
                let sum = |c: usize, o: &mut [(f64, f64)]| {
                    let (x, d) = slices.get(c);
                    many.sums(x, d, w, o);
                };
                epoch += 1;
                if let Err(why) = member.sums(epoch, sum, out) {
                    // NaN sums end every descent at once; the outcome does not count.
                    member.leave(why);
                    out.fill((f64::NAN, f64::NAN));
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
}
