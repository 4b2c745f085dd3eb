//! `cpu-persistent` (f64) and `cpu-persistent-f32`: the CPU twin of `gpu-persistent`. One
//! thread per core stays with the descent for all its epochs (no pool dispatch, no sleep, no
//! allocation per epoch): the calling thread, left where it runs, and one spawned thread per
//! other core, pinned to it. Each epoch the threads share the sums as a [`Team`]: each sums its
//! own slice of the samples (and any slice no one has taken), publishes its partial sums, and
//! adds every slice's partials in slice order, so all threads hold bit-identical weights without
//! a second meeting. A thread the scheduler parks costs the others one short wait: they sum its
//! slice themselves and go on without it (a spin barrier held them for its whole time slice:
//! 2–3× slower than one core with one other busy process on 2 cores). The first thread to finish
//! moves the spawned ones onto its own core, so one still queued behind a busy process ends at
//! once (the caller, never pinned, stays where the scheduler keeps it).
//! Too few samples for two slices ([`MIN_SLICE`]): the calling thread alone, as `cpu-fused`.
//!
//! Each slice is summed with `cpu-fused`'s pairwise tree; the slices' sums are added in slice
//! order. The tree is therefore split differently from the reference's (whose top split is
//! leaf-aligned and, at N = 10⁴, gives one thread four times the other's work), so the result
//! is not bit-identical to it but within f64 rounding of a pairwise sum.
//!
//! In f32 each slice is summed by `cpu-fused-f32`'s contracted kernel; its partials are widened
//! to f64 (exactly) to be shared, added in f64 and rounded to f32 for the update, so the result is
//! within f32 rounding of `cpu-fused-f32`'s.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::affinity::{ThreadId, current_core, move_to, this_thread};
use super::descent::{descend_many, in_range, update};
use super::fused::descents_on;
use super::real::Real;
use super::samples::{LINE, Samples, Stored};
use super::sums::{ManySums, error_sums};
use super::team::{Left, RedoAfter, Seen, Team};
use crate::error::{GdError, Result};
use crate::fault;
use crate::problem::Problem;
use crate::solver::{Outcome, Solver};

/// Fewest f64 samples a thread is given: below this, meeting each epoch costs more than the work
/// saves (with 1024, 2 threads at N = 2 154 took 1.2–1.8× one thread's time per sample).
pub const MIN_SLICE: usize = 2048;

/// Fewest samples a thread is given in precision `T`: [`MIN_SLICE`]'s bytes.
fn min_slice<T>() -> usize {
    MIN_SLICE * 8 / std::mem::size_of::<T>()
}

/// Threads for `n` samples on `cores` cores: one per core, each with at least `min_slice`.
pub fn threads_for(n: usize, cores: usize, min_slice: usize) -> usize {
    (n / min_slice).clamp(1, cores.max(1))
}

/// The persistent-threads solver over a problem's data in precision `T`.
pub struct Persistent<'p, T: Real> {
    problem: &'p Problem,
    samples: Samples<'p, T>,
    threads: usize,
    /// The row's name, for its errors.
    name: &'static str,
}

impl<'p, T: Stored> Persistent<'p, T> {
    /// One thread per hardware thread (fewer for small N), over the samples in `T`; `name` is
    /// the row's, for its errors.
    pub fn new(problem: &'p Problem, name: &'static str) -> Result<Self> {
        Ok(Self {
            problem,
            samples: T::store(problem)?,
            threads: threads::<T>(problem.n()),
            name,
        })
    }
}

/// Threads cpu-persistent runs for `n` samples in precision `T` on this machine.
pub fn threads<T>(n: usize) -> usize {
    threads_for(n, crate::machine::cpu_threads(), min_slice::<T>())
}

impl<T: Real> Solver for Persistent<'_, T> {
    fn epochs(&self) -> u64 {
        self.problem.epochs()
    }

    /// One step: the persistent descent. Several: every thread sums its slice at every step's
    /// weights in one walk per epoch, and the threads meet once per epoch for all of them.
    /// One thread (too few samples to share): the fused pass on the calling thread, which is
    /// what the team would compute, without its thread or its meetings.
    fn descents(&mut self, epochs: u64) -> Result<Vec<Outcome>> {
        let p = self.problem;
        if self.threads == 1 {
            let samples = (self.samples.x(), self.samples.d());
            let many = &mut ManySums::default();
            return Ok(descents_on(
                samples,
                p.steps(),
                epochs,
                p.sane_bound(),
                many,
            ));
        }
        match p.steps() {
            &[mu] => Ok(vec![self.descent(mu, epochs)?]),
            steps => self.search(steps, epochs),
        }
    }
}

/// What one member of the team needs to sum a slice: the data and where each slice lies.
struct Slices<'a, T> {
    x: &'a [T],
    d: &'a [T],
    threads: usize,
}

impl<T> Clone for Slices<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Slices<'_, T> {}

impl<'a, T> Slices<'a, T> {
    /// Slice `c`'s x and d (`threads` slices of nearly equal length, in order), cut where a
    /// cache line of samples begins: from a cut inside a line every vector load of the slice
    /// spans two lines (seen: cpu-persistent-f32 at N = 10⁴, whose second slice began mid-line).
    fn get(&self, c: usize) -> (&'a [T], &'a [T]) {
        let (a, b) = (self.cut(c), self.cut(c + 1));
        (&self.x[a..b], &self.d[a..b])
    }

    /// Where slice `c` begins: its share of the samples, down to a whole cache line of them
    /// from the first (a line boundary where the samples start on one, as the f32 copy does; the
    /// cuts never depend on where the data lie, so every run gives the same bits). The last
    /// slice ends at the last sample.
    fn cut(&self, c: usize) -> usize {
        let n = self.x.len();
        if c == self.threads {
            return n;
        }
        let line = (LINE / std::mem::size_of::<T>().max(1)).max(1);
        c * n / self.threads / line * line
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

/// Which members are pinned to a core, so the first to finish can move the others onto its
/// own: a member still waiting for its turn on a busy core then ends on the core the finisher
/// left idle. One lock orders pinning, moving and forgetting: no member pins itself back after
/// the finisher moved it, and no thread is moved once its member has forgotten it (its id may
/// soon name another thread).
struct Pins {
    /// Per member, its thread while it runs pinned (0 otherwise); the finisher's core once one
    /// member has finished.
    state: Mutex<(Vec<ThreadId>, Option<core_affinity::CoreId>)>,
}

impl Pins {
    fn new(members: usize) -> Self {
        Self {
            state: Mutex::new((vec![0; members], None)),
        }
    }

    /// Pins member `member`'s thread (the caller) to `core`, or, once a member has finished,
    /// to the finisher's core; it is then known until [`Pins::forget`].
    fn pin(&self, member: usize, core: core_affinity::CoreId) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0[member] = this_thread();
        match state.1 {
            Some(finisher) => move_to(state.0[member], finisher),
            None => {
                core_affinity::set_for_current(core);
            }
        }
    }

    /// Member `member`'s thread is about to end: no one moves it from now on.
    fn forget(&self, member: usize) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0[member] = 0;
    }

    /// The first member to finish, running on `core`, moves every member that pinned itself
    /// (the spawned helpers; never the calling thread, which does not pin itself) onto it.
    fn done(&self, core: Option<core_affinity::CoreId>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(core) = core
            && state.1.is_none()
        {
            state.1 = Some(core);
            for &thread in &state.0 {
                move_to(thread, core);
            }
        }
    }
}

/// Forgets a member's thread in [`Pins`] when the member ends, by return or by panic.
struct Forget<'p>(&'p Pins, usize);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
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

impl<T: Real> Persistent<'_, T> {
    /// Runs `work(member, slices)` for every member: the first on the calling thread, the
    /// others on threads of their own, each pinned to a core of its own where the OS lets us (the
    /// ones after the caller's; the caller is left where it runs: pinning it too changed nothing
    /// measurable), and returns [`one_answer`] of those that stayed to the end.
    fn on_team<R: Send + std::fmt::Debug>(
        &self,
        width: usize,
        work: impl Fn(&mut Member, Slices<T>) -> R + Sync,
    ) -> Result<R> {
        let threads = self.threads;
        let slices = Slices {
            x: self.samples.x(),
            d: self.samples.d(),
            threads,
        };
        let team = Team::new(threads, width);
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        // Member t's core: the t-th after the caller's.
        let here = current_core()
            .and_then(|c| cores.iter().position(|&k| k == c))
            .unwrap_or(0);
        let core_of = |t: usize| (cores.len() >= threads).then(|| cores[(here + t) % cores.len()]);
        let pins = Pins::new(threads);
        let member = |t: usize| {
            let _fail = FailOnPanic(&team);
            let _forget = Forget(&pins, t);
            if let Some(core) = core_of(t).filter(|_| t > 0) {
                pins.pin(t, core);
            }
            let mut member = Member::new(&team, t, threads);
            let out = work(&mut member, slices);
            if member.left.is_none() {
                pins.done(current_core());
            }
            (out, member.left)
        };
        let (joined, unspawned) = std::thread::scope(|scope| {
            let member = &member;
            let (mut helpers, mut unspawned) = (Vec::new(), None);
            for t in 1..threads {
                match std::thread::Builder::new().spawn_scoped(scope, move || member(t)) {
                    Ok(helper) => helpers.push(helper),
                    Err(e) => {
                        // The members that started stop at their next meeting.
                        team.fail();
                        unspawned = Some(e);
                        break;
                    }
                }
            }
            let first = std::panic::catch_unwind(AssertUnwindSafe(|| member(0)));
            let joined: Vec<std::thread::Result<(R, Option<Left>)>> = std::iter::once(first)
                .chain(helpers.into_iter().map(|h| h.join()))
                .collect();
            (joined, unspawned)
        });
        if let Some(e) = unspawned {
            return Err(GdError::Solver {
                solver: self.name,
                message: format!(
                    "the OS would not start a worker thread ({e}); free some or use cpu-fused"
                ),
            });
        }
        one_answer(self.name, joined)
    }

    /// One descent of step `mu`: the threads start, share every epoch's sums, end. A member
    /// left behind (parked while the team went on) takes the latest weights a member posted and
    /// rejoins: the update is the one every CPU descent shares, so every member's weights are
    /// bit-identical to each other's and to a descent alone.
    fn descent(&self, mu: f64, epochs: u64) -> Result<Outcome> {
        let p = self.problem;
        let (mu, f, limit) = (
            T::from_f64(mu),
            T::from_f64(2.0 / p.n() as f64),
            p.sane_bound(),
        );
        self.on_team(1, |member, slices| {
            let mut w = [T::ZERO; 2];
            let mut state = [0.0; 2];
            let mut epoch = 1;
            member.team.post(member.index, epoch, &w.map(T::to_f64));
            while epoch <= epochs {
                let mut out = [(0.0, 0.0)];
                let sum = |c: usize, o: &mut [(f64, f64)]| {
                    let (x, d) = slices.get(c);
                    o[0] = wide(error_sums(x, d, w[0], w[1]));
                };
                match member.sums(epoch, sum, &mut out) {
                    Ok(()) => {
                        w = update(w, mu, f, narrow(out[0]));
                        if !in_range(w, limit) {
                            return Outcome {
                                w: w.map(T::to_f64),
                                diverged_at: Some(epoch),
                            };
                        }
                        epoch += 1;
                        member.team.post(member.index, epoch, &w.map(T::to_f64));
                    }
                    Err(Left::Behind) => match member.team.latest(&mut state) {
                        Some(latest) if latest > epoch => {
                            epoch = latest;
                            w = state.map(T::from_f64);
                            member.team.post(member.index, epoch, &state);
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
                w: w.map(T::to_f64),
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
            // A slice's sums in `T`, and every slice's added in f64, one pair per running step.
            let (mut own, mut all) = (Vec::new(), Vec::new());
            let mut epoch = 0;
            descend_many::<T>(p.n(), steps, epochs, p.sane_bound(), |w, out| {
                own.resize(w.len(), (T::ZERO, T::ZERO));
                all.resize(w.len(), (0.0, 0.0));
                let sum = |c: usize, o: &mut [(f64, f64)]| {
                    let (x, d) = slices.get(c);
                    many.sums(x, d, w, &mut own);
                    for (o, &s) in o.iter_mut().zip(&own) {
                        *o = wide(s);
                    }
                };
                epoch += 1;
                match member.sums(epoch, sum, &mut all) {
                    Ok(()) => {
                        for (o, &s) in out.iter_mut().zip(&all) {
                            *o = narrow(s);
                        }
                    }
                    Err(why) => {
                        // NaN sums end every descent at once; the outcome does not count.
                        member.leave(why);
                        out.fill(narrow((f64::NAN, f64::NAN)));
                    }
                }
            })
        })
    }
}

/// The answer of a team's members: an error if one panicked, or if those that stayed to the end
/// disagree (they never should); else the one they agree on.
fn one_answer<R: std::fmt::Debug>(
    name: &'static str,
    joined: Vec<std::thread::Result<(R, Option<Left>)>>,
) -> Result<R> {
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
                    solver: name,
                    message: format!("a worker thread panicked ({why}); the others stopped"),
                });
            }
        }
    }
    // By their printed form, exact for every bit of an f64, so NaN answers (a descent gone
    // past infinity) agree with each other.
    let bits = |o: &R| format!("{o:?}");
    if stayed.iter().any(|o| bits(o) != bits(&stayed[0])) {
        return Err(GdError::Solver {
            solver: name,
            message: format!("its workers ended with different answers: {stayed:?}"),
        });
    }
    stayed.into_iter().next().ok_or(GdError::Solver {
        solver: name,
        message: "every worker left the team".into(),
    })
}

/// A slice's sums in `T`, widened (exactly) to f64 to be shared.
fn wide<T: Real>((a, b): (T, T)) -> (f64, f64) {
    (a.to_f64(), b.to_f64())
}

/// Every slice's sums, added in f64, rounded to `T` for the update.
fn narrow<T: Real>((a, b): (f64, f64)) -> (T, T) {
    (T::from_f64(a), T::from_f64(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_problems_get_one_thread_and_large_ones_one_per_core() {
        assert_eq!(threads_for(10, 8, MIN_SLICE), 1);
        assert_eq!(threads_for(3 * MIN_SLICE, 8, MIN_SLICE), 3);
        assert_eq!(threads_for(1 << 30, 8, MIN_SLICE), 8);
        assert_eq!(threads_for(1 << 30, 0, MIN_SLICE), 1);
        // f32: as many bytes a slice, twice the samples.
        assert_eq!(min_slice::<f32>(), 2 * MIN_SLICE);
    }

    #[test]
    fn slices_hold_every_sample_once_in_order_and_start_on_a_cache_line() {
        for (n, threads) in [(10_000, 2), (10_001, 3), (8_192, 2), (100_003, 7), (40, 2)] {
            let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let slices = Slices {
                x: &x,
                d: &x,
                threads,
            };
            let mut joined = Vec::new();
            for c in 0..threads {
                let (a, b) = (slices.cut(c), slices.cut(c + 1));
                assert_eq!(a % 16, 0, "N {n}, slice {c} starts mid-line at {a}");
                assert!(b - a <= n / threads + 16, "N {n}, slice {c}: {a}..{b}");
                joined.extend_from_slice(slices.get(c).0);
            }
            assert_eq!(joined, x, "N {n}, {threads} slices");
        }
    }
}
