//! A process-wide stop request, set from a Ctrl-C handler.
//!
//! Backends poll it while a VM runs, kill the VM and clean up, so an interrupted
//! run leaves no process, file or mapping behind.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Asks every running VM to stop. Safe to call from a signal handler thread.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether [`request_stop`] has been called.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
