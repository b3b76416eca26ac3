//! A process-wide stop request, set from a Ctrl-C handler.
//!
//! Everything in ktstr that runs for long polls it: VM backends kill the VM
//! and remove its files, kernel and scheduler builds stop their `make` or
//! `cargo` and install nothing, a wait for another build's lock gives up. So
//! an interrupted command stops in order and leaves nothing behind. It sits
//! in a crate of its own so the crates that poll it need not depend on each
//! other.
//!
//! ```
//! // In a binary's main: `ctrlc::set_handler(ktstr_stop::request_stop)`.
//! assert!(!ktstr_stop::stop_requested());
//! ktstr_stop::request_stop();
//! assert!(ktstr_stop::stop_requested());
//! ```
#![deny(missing_docs)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Asks everything running in this process to stop. Safe to call from a
/// signal handler thread.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether [`request_stop`] has been called.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Makes the child `cmd` starts the leader of a process group of its own,
/// killed with SIGKILL if this process dies first (`PR_SET_PDEATHSIG`).
///
/// The own group lets its caller stop the whole tree the child starts
/// (a `make` and its compilers) with one signal, and keeps the terminal's
/// Ctrl-C to this process, which then stops the child in order. The death
/// signal reaches the child only, not what it starts: a caller that cares
/// stops the group while it still can.
pub fn own_group_dying_with_us(cmd: &mut Command) {
    cmd.process_group(0);
    // SAFETY: the hook runs in the forked child before exec and only calls
    // prctl, which is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(die_with_parent);
    }
}

fn die_with_parent() -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and no pointers.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
