//! VM backends for ktstr, behind one trait.
//!
//! A [`Backend`] boots a kernel with an initramfs and a [`VmSpec`] (topology,
//! memory, timeout), streams the guest's wire frames to the caller while the VM
//! runs, captures the console, and classifies how the run ended ([`VmExit`]).
//! The [`initramfs`] module builds the guest's root filesystem.
//!
//! ```no_run
//! use std::time::Duration;
//! use ktstr_vmm::{Backend, QemuBackend, VmSpec};
//!
//! let spec = VmSpec::new("bzImage".into(), "initramfs.cpio".into(), "1,2,2,1".parse().unwrap());
//! let backend = QemuBackend::detect().unwrap();
//! let outcome = backend.run(&spec, &mut |msg| println!("{msg:?}")).unwrap();
//! println!("{:?} in {:?}", outcome.exit, outcome.wall);
//! ```
#![deny(missing_docs)]

mod accel;
mod backend;
mod console;
mod error;
mod exit;
mod file_hole;
pub mod initramfs;
pub mod kvm;
mod qemu;
mod ring_map;
mod wire_in;

pub use accel::{host_has_hw_virt, hypervisor_signature, speed_class, Accel, TCG_SIGNATURE};
pub use backend::{Backend, VmOutcome, VmSpec, WireStats, GUEST_WIRE_ARG};
pub use console::Console;
pub use error::VmError;
pub use exit::{classify, VmExit};
pub use ktstr_stop::{request_stop, stop_requested};
pub use qemu::{qemu_command_line, vm_run_base, QemuBackend, RUN_DIR_ENV};
