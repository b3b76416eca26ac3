//! The ktstr guest runtime: PID 1 inside the test VM.
//!
//! It mounts the pseudo filesystems, opens the wire to the host (a shared-memory
//! ring on an ivshmem PCI device, else raw frames on COM2), reads its
//! [`GuestPlan`](ktstr_model::GuestPlan) from the initramfs, reports a Hello with the
//! topology it observes, does its task and powers the VM off.
//!
//! Binaries embed it with one call:
//!
//! ```no_run
//! ktstr_guest::run_as_init();
//! ```
#![deny(missing_docs)]

mod clock;
mod error;
mod fault;
mod kmsg;
mod mounts;
mod power;
mod runtime;
mod scenario;
mod sys;
mod topology;
mod wire_out;
mod worker;

pub use clock::boottime_ns;
pub use runtime::run_as_init;
pub use topology::observe_topology;
pub use wire_out::WireOut;
pub use worker::custom::{set_custom_workers, CustomWorker, CustomWorkerFn, CustomWorkerLookup};
