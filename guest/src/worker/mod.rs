//! Worker processes: forked by the controller, gated until placed, then each runs
//! its work type until told to stop, publishing progress into shared memory.

mod checkpoint;
pub(crate) mod custom;
mod sched_class;
pub(crate) mod shared;
mod work;

use std::sync::atomic::Ordering;
use std::time::Duration;

use ktstr_model::{Fault, WorkType};

use crate::sys::futex_wait;
pub(crate) use shared::Shared;

/// How a worker relates to others of its group.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    /// Works alone.
    Solo,
    /// First of a pair: starts the exchange.
    PairFirst {
        /// The partner's slot.
        peer: usize,
        /// Pipe to the partner (write end) and from it (read end), for pipe pairs.
        pipes: Option<(i32, i32)>,
    },
    /// Second of a pair.
    PairSecond {
        /// The partner's slot.
        peer: usize,
        /// Pipe to the partner (write end) and from it (read end).
        pipes: Option<(i32, i32)>,
    },
    /// Fan-out waker.
    Waker,
    /// Fan-out waiter on `waker`'s slot.
    Wakee {
        /// The waker's slot.
        waker: usize,
    },
}

/// What a forked worker needs to know.
pub(crate) struct WorkerSetup {
    pub slot: usize,
    pub work: WorkType,
    pub role: Role,
    pub fault: Option<Fault>,
}

/// Forks a worker. The child waits at its slot's gate until the controller has
/// placed it (cgroup, affinity, policy) and opened the gate; it never returns.
pub(crate) fn spawn(shared: &Shared, setup: WorkerSetup) -> std::io::Result<i32> {
    // SAFETY: the controller is single-threaded when it forks, so the child
    // inherits no lock held by another thread; the child never returns into the
    // controller's code (it `_exit`s).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid > 0 {
        shared.header().pids[setup.slot].store(pid, Ordering::Relaxed);
        return Ok(pid);
    }
    let code =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child_main(shared, &setup)))
        {
            Ok(()) => 0,
            Err(_) => 101,
        };
    // SAFETY: ends the child without running the controller's destructors or
    // atexit handlers, which belong to PID 1.
    unsafe { libc::_exit(code) }
}

fn child_main(shared: &Shared, setup: &WorkerSetup) {
    let slot = shared.slot(setup.slot);
    while slot.go.load(Ordering::Acquire) == 0 {
        futex_wait(&slot.go, 0, Duration::from_millis(100));
        if slot.stop.load(Ordering::Relaxed) != 0 {
            return;
        }
    }
    work::run(shared, setup);
    slot.cpu_ns
        .store(crate::sys::process_cpu_ns(), Ordering::Relaxed);
    slot.end_ns.store(crate::sys::mono_ns(), Ordering::Relaxed);
    slot.exited.store(1, Ordering::Release);
}

/// Opens the gate of `slot`.
pub(crate) fn release(shared: &Shared, slot: usize) {
    let s = shared.slot(slot);
    s.released_ns
        .store(crate::sys::mono_ns(), Ordering::Relaxed);
    s.go.store(1, Ordering::Release);
    crate::sys::futex_wake(&s.go, 1);
}
