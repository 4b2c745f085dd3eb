//! Moving a team member's thread to another core: once the first member has finished the
//! descent, the others are moved onto its core, idle now, so a member still waiting for its turn
//! behind a busy process ends at once (seen: cpu-persistent's solve held 3–6 ms past its last
//! epoch by a member pinned behind a busy process, which it then needed only microseconds to
//! end; widening its pin did not help: the scheduler keeps a thread that ran a moment ago where
//! it is).

/// One member's thread, as [`move_to`] names it (its Linux thread id; 0 elsewhere).
pub type ThreadId = i32;

/// The calling thread's id, for another member to [`move_to`] another core.
pub fn this_thread() -> ThreadId {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions.
    return unsafe { libc::gettid() };
    #[cfg(not(target_os = "linux"))]
    0
}

/// The core the calling thread runs on now (None where the OS does not say).
pub fn current_core() -> Option<core_affinity::CoreId> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_getcpu has no preconditions; it returns −1 on failure.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu)
            .ok()
            .map(|id| core_affinity::CoreId { id })
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Pins thread `thread` to `core` from any thread (a no-op where threads are not named). The
/// caller must know the thread still runs: an ended thread's id may soon name another.
pub fn move_to(thread: ThreadId, core: core_affinity::CoreId) {
    #[cfg(target_os = "linux")]
    if thread != 0 && core.id < libc::CPU_SETSIZE as usize {
        // SAFETY: a zeroed cpu_set_t is an empty set; `core.id` is within it; the call reads
        // only the set, of the size given.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core.id, &mut set);
            libc::sched_setaffinity(thread, std::mem::size_of_val(&set), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (thread, core);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn a_thread_moved_to_a_core_runs_there_next() {
        let cores = core_affinity::get_core_ids().expect("the cores this process may use");
        for &core in &cores {
            let (name, named) = channel();
            let (go, went) = channel::<()>();
            let thread = std::thread::spawn(move || {
                name.send(this_thread()).unwrap();
                went.recv().unwrap();
                current_core()
            });
            move_to(named.recv().unwrap(), core);
            go.send(()).unwrap();
            assert_eq!(thread.join().unwrap(), Some(core));
        }
    }
}
