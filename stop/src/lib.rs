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
