//! A team of threads that share each epoch's sums, and hold up when the machine is busy.
//!
//! The samples are cut into fixed chunks, one per thread. Each epoch every thread sums its own
//! chunk and publishes the partial sums in a slot of its own; every thread then adds the chunks'
//! partials in chunk order, so all hold the same bit-identical sums whoever summed which chunk.
//! A spin barrier (what this replaced) waits for every thread: one the scheduler has parked holds
//! all the others for its time slice (seen: cpu-persistent 2–3× slower than one core with one
//! other busy process on 2 cores). Here a thread that finds a chunk missing after [`RedoAfter`]
//! sums it itself (the answer is the same: a chunk's partial depends only on the chunk and the
//! weights) and from then on sums it every epoch, its owner being away, until it sees the owner
//! publish it again. An owner that wakes one epoch late catches up; one that finds the team two
//! epochs on takes the latest state a member posted ([`Team::post`], [`Team::latest`]) and
//! rejoins from there, or, where its caller cannot take a state, leaves the team. So the team
//! runs at the speed of the threads that are running, waits on one that is not once, and on a
//! quiet machine costs what a barrier did: no read-modify-write at all, one cache line written
//! and read per thread and epoch.
//!
//! A slot is a sequence lock: its tag is `2e + 1` while epoch `e`'s partials are being written
//! and `2e` once they are, and a reader checks the tag again after reading, so it never adds
//! half-written partials. Slots alternate by epoch parity: epoch `e`'s stay until their thread
//! writes `e + 2`'s.
//!
//! A worker that panics sets [`Team::fail`]: the others stop at their next wait instead of
//! carrying on without it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::time::{Duration, Instant};

/// How long a thread waits for a missing chunk before summing it itself: a few times its own last
/// chunk, and never less than [`MIN_REDO_WAIT`].
#[derive(Debug, Clone, Copy)]
pub struct RedoAfter(Duration);

/// The least wait before a missing chunk is summed by another thread: above a quiet virtual
/// machine's timer interrupts (microseconds), and far below a time slice (1–6 ms), since a
/// parked thread costs the team this once each time it is parked (with one other busy process
/// on 2 cores, 1 ms left cpu-persistent-f32 at 1.0–1.4× cpu-fused-f32's time; 100 µs, at
/// 0.9–1.2×). Summing a chunk whose owner was merely late costs two chunks' sums, not a wrong
/// answer.
pub const MIN_REDO_WAIT: Duration = Duration::from_micros(100);

impl RedoAfter {
    /// Eight times `chunk` (one chunk's sum), at least [`MIN_REDO_WAIT`].
    pub fn after(chunk: Duration) -> Self {
        Self((chunk * 8).max(MIN_REDO_WAIT))
    }
}

/// Why a thread's epoch ended without sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// The team moved two epochs past this thread while it was away: it leaves the team.
    Behind,
    /// A worker panicked: every thread stops.
    Failed,
}

/// What one thread knows of the others between epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// Per chunk: its owner was found away (this thread sums it every epoch until it is back).
    pub away: Vec<bool>,
    /// Per chunk, this epoch: the thread whose slot holds it, once found.
    at: Vec<Option<usize>>,
}

impl Seen {
    /// Nothing known yet of a team of `threads`.
    pub fn new(threads: usize) -> Self {
        Self {
            away: vec![false; threads],
            at: vec![None; threads],
        }
    }
}

/// Words of a cache line (128 bytes: two lines on CPUs that fetch them in pairs).
const LINE_WORDS: usize = 16;

/// One cache line of a slot: the first word of a slot's first line is its tag, then its pairs.
#[repr(align(128))]
#[derive(Default)]
struct Line([AtomicU64; LINE_WORDS]);

/// The shared state of one descent's team: `threads` threads over as many chunks, up to `width`
/// partial pairs per chunk (one per step size still running).
pub struct Team {
    threads: usize,
    width: usize,
    /// Per thread, chunk and epoch parity: a tag word, then `width` pairs of partial sums as f64
    /// bits, on cache lines of its own. A thread's slots for its own chunk exist from the start;
    /// those for another's only once it sums that chunk (a thousand-step search on many cores
    /// would otherwise hold threads² slots of tens of KiB).
    slots: Vec<OnceLock<Box<[Line]>>>,
    /// Cache lines a slot takes.
    slot_lines: usize,
    /// Per thread: a tag word, then the state it posted last ([`Team::post`]).
    states: Vec<Line>,
    failed: AtomicBool,
}

/// Words of state a thread can post (a line less its tag).
pub const STATE_WORDS: usize = LINE_WORDS - 1;

/// The tag of a slot holding epoch `e`'s partials.
fn written(epoch: u64) -> u64 {
    2 * epoch
}

impl Team {
    /// A team of `threads` threads, one chunk each, whose partials are at most `width` pairs.
    pub fn new(threads: usize, width: usize) -> Self {
        let slot_lines = (1 + 2 * width).div_ceil(LINE_WORDS);
        let slots: Vec<OnceLock<Box<[Line]>>> = (0..threads * threads * 2)
            .map(|_| OnceLock::new())
            .collect();
        let team = Self {
            threads,
            width,
            slots,
            slot_lines,
            states: (0..threads).map(|_| Line::default()).collect(),
            failed: AtomicBool::new(false),
        };
        for thread in 0..threads {
            for epoch in [0, 1] {
                team.lines(thread, thread, epoch);
            }
        }
        team
    }

    /// Posts `thread`'s `state` at the start of `epoch` (its weights after `epoch − 1` updates),
    /// for a thread left behind to catch up from ([`Team::latest`]). Its own cache line, which no
    /// one reads while the team keeps together: a few stores an epoch.
    pub fn post(&self, thread: usize, epoch: u64, state: &[f64]) {
        assert!(state.len() <= STATE_WORDS, "more state than a line holds");
        let line = &self.states[thread].0;
        line[0].store(written(epoch) + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (word, v) in line[1..].iter().zip(state) {
            word.store(v.to_bits(), Ordering::Relaxed);
        }
        line[0].store(written(epoch), Ordering::Release);
    }

    /// The latest state any thread posted, into `state`, and the epoch it starts; `None` when no
    /// thread has posted one. A post caught in the middle is read again once it is whole (a few
    /// stores later), unless its thread stays parked there: then it is passed over.
    pub fn latest(&self, state: &mut [f64]) -> Option<u64> {
        let mut best = None;
        let mut read = vec![0.0; state.len()];
        for line in &self.states {
            let line = &line.0;
            for _ in 0..1 << 12 {
                let tag = line[0].load(Ordering::Acquire);
                if tag % 2 == 1 {
                    std::hint::spin_loop();
                    continue;
                }
                if tag == 0 || best.is_some_and(|b| b >= tag / 2) {
                    break;
                }
                for (v, word) in read.iter_mut().zip(&line[1..]) {
                    *v = f64::from_bits(word.load(Ordering::Relaxed));
                }
                fence(Ordering::Acquire);
                if line[0].load(Ordering::Relaxed) == tag {
                    best = Some(tag / 2);
                    state.copy_from_slice(&read);
                    break;
                }
            }
        }
        best
    }

    /// Stops every thread at its next wait (a worker panicked).
    pub fn fail(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }

    /// True once [`Team::fail`] was called.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// The cell of `thread`'s slot for `chunk` in `epoch`'s parity.
    fn cell(&self, thread: usize, chunk: usize, epoch: u64) -> &OnceLock<Box<[Line]>> {
        &self.slots[(thread * self.threads + chunk) * 2 + (epoch % 2) as usize]
    }

    /// `thread`'s slot for `chunk` in `epoch`'s parity, made if it is not yet.
    fn lines(&self, thread: usize, chunk: usize, epoch: u64) -> &[Line] {
        self.cell(thread, chunk, epoch)
            .get_or_init(|| (0..self.slot_lines).map(|_| Line::default()).collect())
    }

    /// `thread`'s slot for `chunk` in `epoch`'s parity: its tag, then its words in pairs.
    fn slot(
        &self,
        thread: usize,
        chunk: usize,
        epoch: u64,
    ) -> (&AtomicU64, impl Iterator<Item = &AtomicU64>) {
        let mut words = self
            .lines(thread, chunk, epoch)
            .iter()
            .flat_map(|line| &line.0);
        let tag = words.next().expect("a slot has a tag");
        (tag, words)
    }

    /// The tag of `thread`'s slot for `chunk` in `epoch`'s parity; 0 (nothing written) when the
    /// slot was never made.
    fn tag(&self, thread: usize, chunk: usize, epoch: u64) -> u64 {
        self.cell(thread, chunk, epoch)
            .get()
            .map_or(0, |lines| lines[0].0[0].load(Ordering::Acquire))
    }

    /// Sums `chunk` for `epoch` with `sum` (into `scratch`) and publishes it in `thread`'s slot.
    fn publish(
        &self,
        (thread, chunk, epoch): (usize, usize, u64),
        sum: &mut impl FnMut(usize, &mut [(f64, f64)]),
        scratch: &mut [(f64, f64)],
    ) {
        // The slot is marked as being written before the sum, not after: the store that takes
        // the line back from a reader polling it then overlaps the sum instead of following it.
        let (tag, mut words) = self.slot(thread, chunk, epoch);
        tag.store(written(epoch) + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        sum(chunk, scratch);
        for &(a, b) in &*scratch {
            let mut put = |v: f64| {
                let word = words.next().expect("a slot holds width pairs");
                word.store(v.to_bits(), Ordering::Relaxed);
            };
            put(a);
            put(b);
        }
        tag.store(written(epoch), Ordering::Release);
    }

    /// Where chunk `chunk` of `epoch` is published: the thread whose slot holds it (its owner
    /// first), `Err(Behind)` when a thread has written that parity's slots for a later epoch
    /// (the team is two epochs on), `Ok(None)` while it is missing.
    fn find(&self, chunk: usize, epoch: u64) -> Result<Option<usize>, Left> {
        for k in 0..self.threads {
            let thread = (chunk + k) % self.threads;
            let tag = self.tag(thread, chunk, epoch);
            if tag == written(epoch) {
                return Ok(Some(thread));
            }
            if tag > written(epoch) + 1 {
                return Err(Left::Behind);
            }
        }
        Ok(None)
    }

    /// Adds `thread`'s partials of `chunk` at `epoch` into `out`; false when they were
    /// overwritten while read (the reader is two epochs behind).
    fn add(&self, thread: usize, chunk: usize, epoch: u64, out: &mut [(f64, f64)]) -> bool {
        let (tag, mut words) = self.slot(thread, chunk, epoch);
        for o in out.iter_mut() {
            let mut next = || {
                let word = words.next().expect("a slot holds width pairs");
                f64::from_bits(word.load(Ordering::Relaxed))
            };
            o.0 += next();
            o.1 += next();
        }
        fence(Ordering::Acquire);
        tag.load(Ordering::Relaxed) == written(epoch)
    }

    /// One epoch for `thread`: sums its own chunk and those whose owners it has `seen` away with
    /// `sum(chunk, out)` (the thread's weights are its own, the same in every thread), waits
    /// until every chunk is published (summing, after `redo`, any still missing, and marking its
    /// owner away), and adds the chunks' partials in chunk order into `out` (as many pairs as it
    /// holds, at most the team's width, the same in every thread). `epoch` counts from 1.
    pub fn epoch(
        &self,
        (thread, epoch): (usize, u64),
        redo: RedoAfter,
        seen: &mut Seen,
        mut sum: impl FnMut(usize, &mut [(f64, f64)]),
        out: &mut [(f64, f64)],
    ) -> Result<(), Left> {
        assert!(out.len() <= self.width, "more partials than the team holds");
        let Seen { away, at } = seen;
        for (chunk, &gone) in away.iter().enumerate() {
            if chunk == thread || gone {
                self.publish((thread, chunk, epoch), &mut sum, out);
            }
        }
        at.fill(None);
        // Each chunk in turn: its owner's tag, read in a tight loop (a spinning thread slows a
        // sibling on the same core by what it issues between pauses), and now and then the rest:
        // the other slots, a failed team, a team two epochs on, and after `redo`, summing it here.
        let mut since: Option<Instant> = None;
        for chunk in 0..self.threads {
            let owner = self.slot(chunk, chunk, epoch).0;
            if chunk != thread && away[chunk] && owner.load(Ordering::Acquire) != written(epoch) {
                // Summed here already, its owner still away: nothing to wait for.
                at[chunk] = Some(thread);
                continue;
            }
            let mut spins = 0u32;
            while owner.load(Ordering::Acquire) != written(epoch) {
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(64) {
                    if let Some(thread) = self.find(chunk, epoch)? {
                        at[chunk] = Some(thread);
                        break;
                    }
                    if self.failed() {
                        return Err(Left::Failed);
                    }
                    let waited = since.get_or_insert_with(Instant::now).elapsed();
                    if waited >= redo.0 {
                        // Its owner has not published it: the owner is not running.
                        away[chunk] = true;
                        self.publish((thread, chunk, epoch), &mut sum, out);
                    }
                }
                std::hint::spin_loop();
            }
            at[chunk].get_or_insert(chunk);
        }
        out.fill((0.0, 0.0));
        for (chunk, from) in at.iter().enumerate() {
            let from = from.expect("every chunk found");
            if !self.add(from, chunk, epoch, out) {
                return Err(Left::Behind);
            }
            // Its owner published it: it is back.
            if from == chunk {
                away[chunk] = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When a thread sleeps: before an epoch, or inside its first chunk's sum.
    #[derive(Clone, Copy)]
    enum Park {
        Before,
        InSum,
    }

    /// A thread's sums seen, one per epoch, and why it left (if it did).
    type Record = (Vec<(f64, f64)>, Option<Left>);

    /// Runs `threads` threads over `epochs` epochs of a team whose chunk `c` at epoch `e` sums to
    /// `(c + e, c · e)`; `park(thread, epoch)` says how long, and where, a thread sleeps.
    fn run(
        threads: usize,
        epochs: u64,
        park: impl Fn(usize, u64) -> Option<(Park, Duration)> + Sync,
    ) -> Vec<Record> {
        let team = Team::new(threads, 1);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (team, park) = (&team, &park);
                    s.spawn(move || {
                        let mut seen = Vec::new();
                        let mut seen_by = Seen::new(threads);
                        for e in 1..=epochs {
                            let mut nap = park(t, e);
                            if let Some((Park::Before, d)) =
                                nap.take_if(|n| matches!(n.0, Park::Before))
                            {
                                std::thread::sleep(d);
                            }
                            let mut out = [(0.0, 0.0)];
                            let sum = |c: usize, o: &mut [(f64, f64)]| {
                                if let Some((_, d)) = nap.take() {
                                    std::thread::sleep(d);
                                }
                                o[0] = ((c as u64 + e) as f64, (c as u64 * e) as f64)
                            };
                            let redo = RedoAfter::after(Duration::ZERO);
                            match team.epoch((t, e), redo, &mut seen_by, sum, &mut out) {
                                Ok(()) => seen.push(out[0]),
                                Err(left) => return (seen, Some(left)),
                            }
                        }
                        (seen, None)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    /// The sums every epoch must give: chunks added in order.
    fn expected(threads: usize, epochs: u64) -> Vec<(f64, f64)> {
        (1..=epochs)
            .map(|e| {
                (0..threads).fold((0.0, 0.0), |acc, c| {
                    (acc.0 + (c as u64 + e) as f64, acc.1 + (c as u64 * e) as f64)
                })
            })
            .collect()
    }

    #[test]
    fn every_thread_sees_every_epochs_sums_on_a_quiet_machine() {
        for threads in [1, 2, 3, 5] {
            let results = run(threads, 2000, |_, _| None);
            let want = expected(threads, 2000);
            for (t, (seen, left)) in results.iter().enumerate() {
                // A thread may be left behind by a long interruption (5 threads on 2 cores);
                // whoever finishes saw every epoch, and what anyone saw is right.
                assert_eq!(
                    seen[..],
                    want[..seen.len()],
                    "{threads} threads, thread {t}"
                );
                assert!(left.is_none() || *left == Some(Left::Behind), "{left:?}");
            }
            assert!(
                results
                    .iter()
                    .any(|(seen, left)| left.is_none() && seen.len() == 2000)
            );
        }
    }

    #[test]
    fn a_parked_thread_costs_the_team_one_wait_then_it_goes_on_without_it() {
        // Thread 1 parks for 50 ms at epoch 100 (a time slice given to another program), before
        // summing its chunk or in the middle of it: thread 0 sums it after one wait, then every
        // epoch, and finishes all 400 epochs with the right sums long before thread 1 wakes.
        for park in [Park::Before, Park::InSum] {
            let start = Instant::now();
            let results = run(2, 400, |t, e| {
                (t == 1 && e == 100).then_some((park, Duration::from_millis(50)))
            });
            // What each saw is right, and one of them finished.
            for (seen, _) in &results {
                assert_eq!(seen[..], expected(2, 400)[..seen.len()]);
            }
            assert!(
                results
                    .iter()
                    .any(|(seen, left)| left.is_none() && seen.len() == 400)
            );
            // Thread 0 went on, so thread 1 woke to a team past its epoch and left, after at most
            // the 99 epochs before it parked (fewer if it started late enough to be left behind
            // then). Only if the machine parked thread 0 for longer still could it be otherwise.
            if results[0].1.is_none() {
                assert_eq!(results[1].1, Some(Left::Behind));
                assert!(results[1].0.len() <= 99);
            }
            assert!(start.elapsed() < Duration::from_secs(5));
        }
    }

    #[test]
    fn a_thread_one_epoch_late_catches_up_and_is_summed_for_no_longer() {
        // Thread 0 sums chunk 1 once its owner is away, and stops when the owner publishes it.
        let team = Team::new(2, 1);
        let sum = |c: usize, o: &mut [(f64, f64)]| o[0] = (c as f64 + 1.0, 0.0);
        let mut out = [(0.0, 0.0)];
        let mut first = Seen::new(2);
        first.away[1] = true;
        let redo = RedoAfter::after(Duration::ZERO);
        team.epoch((0, 1), redo, &mut first, sum, &mut out).unwrap();
        assert_eq!(out[0], (3.0, 0.0));
        assert_eq!(first.away, [false, true], "only thread 0 published chunk 1");
        // Thread 1 publishes epoch 1 late, then reads it: both partials are there.
        let mut late = Seen::new(2);
        team.epoch((1, 1), redo, &mut late, sum, &mut out).unwrap();
        assert_eq!(out[0], (3.0, 0.0));
        // Epoch 2: thread 1 first this time; thread 0 finds chunk 1 from its owner again.
        team.epoch((1, 2), redo, &mut late, sum, &mut out).ok();
        let mut summed = Vec::new();
        let count = |c: usize, o: &mut [(f64, f64)]| {
            summed.push(c);
            o[0] = (c as f64 + 1.0, 0.0)
        };
        team.epoch((0, 2), redo, &mut first, count, &mut out)
            .unwrap();
        assert_eq!(out[0], (3.0, 0.0));
        assert_eq!(summed, [0, 1], "still away when epoch 2 began");
        assert_eq!(
            first.away,
            [false, false],
            "back once it published its own chunk"
        );
    }

    #[test]
    fn a_failed_team_stops_its_waiting_threads() {
        let team = Team::new(2, 1);
        team.fail();
        let mut out = [(0.0, 0.0)];
        let never = RedoAfter(Duration::from_secs(3600));
        let mut seen = Seen::new(2);
        let got = team.epoch((0, 1), never, &mut seen, |_, o| o[0] = (1.0, 1.0), &mut out);
        assert_eq!(got, Err(Left::Failed));
    }

    /// A thread's run from `*e` to `last` carrying a state (the running total of every epoch's
    /// first sum), posted each epoch; left behind, it adopts the latest posted state and goes on
    /// from there. Returns how often it rejoined.
    fn carry(
        team: &Team,
        t: usize,
        seen: &mut Seen,
        state: &mut [f64; 1],
        e: &mut u64,
        last: u64,
    ) -> u32 {
        let mut rejoins = 0;
        team.post(t, *e, state);
        while *e <= last {
            let mut out = [(0.0, 0.0)];
            let sum = |c: usize, o: &mut [(f64, f64)]| o[0] = ((c + 1) as f64, 0.0);
            match team.epoch(
                (t, *e),
                RedoAfter::after(Duration::ZERO),
                seen,
                sum,
                &mut out,
            ) {
                Ok(()) => {
                    state[0] += out[0].0;
                    *e += 1;
                }
                Err(Left::Behind) => {
                    let latest = team.latest(state).unwrap();
                    assert!(latest > *e, "{latest} after {e}");
                    rejoins += 1;
                    *e = latest;
                }
                Err(Left::Failed) => panic!("no one failed"),
            }
            team.post(t, *e, state);
        }
        rejoins
    }

    #[test]
    fn a_thread_left_behind_rejoins_from_the_latest_posted_state() {
        // Thread 0 runs 1999 epochs alone (summing chunk 1 itself after one wait), as if thread 1
        // had been parked all that time; then thread 1 starts at epoch 1, finds the team on,
        // adopts thread 0's state at epoch 2000, and both go on together. Both end with the state
        // an undisturbed run reaches. (A fixed sleep once let thread 0 finish every epoch before
        // thread 1 woke on a loaded machine; here the order is fixed.)
        const HOLD: u64 = 2_000;
        let epochs = 5_000u64;
        let team = Team::new(2, 1);
        let (mut seen0, mut state0, mut e0) = (Seen::new(2), [0.0], 1);
        assert_eq!(
            carry(&team, 0, &mut seen0, &mut state0, &mut e0, HOLD - 1),
            0
        );
        assert_eq!(seen0.away, [false, true]);
        let (rejoins, finals) = std::thread::scope(|s| {
            let team = &team;
            let other = s.spawn(move || {
                let (mut seen, mut state, mut e) = (Seen::new(2), [0.0], 1);
                let rejoins = carry(team, 1, &mut seen, &mut state, &mut e, epochs);
                (rejoins, state[0])
            });
            carry(team, 0, &mut seen0, &mut state0, &mut e0, epochs);
            let (rejoins, state1) = other.join().unwrap();
            (rejoins, [state0[0], state1])
        });
        // Three per epoch (chunks 1 and 2).
        assert_eq!(finals, [3.0 * epochs as f64; 2]);
        // At least once, at epoch 1; a busy machine may leave either behind again later.
        assert!(rejoins >= 1);
    }
}
