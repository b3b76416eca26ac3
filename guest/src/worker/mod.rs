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

use crate::error::{error_chain, GuestError};
use crate::sys::{self, futex_wait, Forked};
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

/// Exit code of a worker that stopped on an error; the error's text is left
/// at [`error_path`] for its report.
const FAILED_EXIT: i32 = 1;

/// Forks a worker. The child waits at its slot's gate until the controller has
/// placed it (cgroup, affinity, policy) and opened the gate; it never returns.
pub(crate) fn spawn(shared: &Shared, setup: WorkerSetup) -> std::io::Result<i32> {
    // SAFETY: the controller is single-threaded when it forks, so the child
    // inherits no lock held by another thread; the child never returns into the
    // controller's code (it ends with `exit_now`).
    let pid = match unsafe { sys::fork() }? {
        Forked::Parent(pid) => pid,
        Forked::Child => {
            let run = std::panic::AssertUnwindSafe(|| child_main(shared, &setup));
            let code = match std::panic::catch_unwind(run) {
                Ok(Ok(())) => 0,
                Ok(Err(e)) => {
                    leave_error(setup.slot, &e);
                    FAILED_EXIT
                }
                Err(_) => 101,
            };
            // Not `exit`: the controller's destructors and atexit handlers
            // belong to PID 1.
            sys::exit_now(code)
        }
    };
    shared.header().pids[setup.slot].store(pid, Ordering::Relaxed);
    Ok(pid)
}

fn child_main(shared: &Shared, setup: &WorkerSetup) -> Result<(), GuestError> {
    let slot = shared.slot(setup.slot);
    while slot.go.load(Ordering::Acquire) == 0 {
        futex_wait(&slot.go, 0, Duration::from_millis(100));
        if slot.stop.load(Ordering::Relaxed) != 0 {
            return Ok(());
        }
    }
    let result = work::run(shared, setup);
    slot.cpu_ns
        .store(crate::sys::process_cpu_ns(), Ordering::Relaxed);
    slot.end_ns.store(crate::sys::mono_ns(), Ordering::Relaxed);
    slot.exited.store(1, Ordering::Release);
    result
}

/// Where a worker that stopped on an error leaves its text for the controller.
fn error_path(slot: usize) -> String {
    format!("/tmp/ktstr-worker-error-{slot}")
}

/// Leaves the error of the worker in `slot` for its report, and on the console
/// (the only place left when the file cannot be written).
fn leave_error(slot: usize, e: &GuestError) {
    let text = error_chain(e);
    eprintln!("ktstr-guest: worker {slot}: {text}");
    if let Err(w) = std::fs::write(error_path(slot), &text) {
        eprintln!(
            "ktstr-guest: worker {slot}: {}",
            error_chain(&GuestError::file("write the error to", error_path(slot))(w))
        );
    }
}

/// The error the worker in `slot` left, removed once read.
pub(crate) fn take_error(slot: usize) -> Option<String> {
    let path = error_path(slot);
    let text = std::fs::read_to_string(&path).ok()?;
    // Slots are not reused within a run, so a file left behind misleads nobody.
    let _ = std::fs::remove_file(&path);
    Some(text)
}

/// Opens the gate of `slot`.
pub(crate) fn release(shared: &Shared, slot: usize) {
    let s = shared.slot(slot);
    s.released_ns
        .store(crate::sys::mono_ns(), Ordering::Relaxed);
    s.go.store(1, Ordering::Release);
    crate::sys::futex_wake(&s.go, 1);
}
