//! Types shared by the ktstr host and the guest runtime.
//!
//! - [`Topology`]: a requested CPU topology (`N,L,C,T`) and its validation;
//! - [`presets`]: named topologies from 2 to 128 CPUs ([`Topology::parse_or_preset`]);
//! - [`compare_topology`]: whether what a guest observed is the requested shape;
//! - [`GuestPlan`]: what the guest runtime is asked to do, serialized into the initramfs.
//!
//! ```
//! use ktstr_model::Topology;
//! let t: Topology = "2,4,2,1".parse().unwrap();
//! assert_eq!(t.cpus(), 8);
//! assert_eq!(t.to_string(), "2n4l2c1t");
//! ```
#![deny(missing_docs)]

mod accel;
pub mod catalog;
mod cpulist;
mod detectors;
mod guest_fault;
mod payload;
mod plan;
mod preset;
mod scenario;
mod topology;
mod topology_match;

pub use accel::{Accel, UnknownAccel};
pub use cpulist::{format_cpulist, parse_cpulist};
pub use detectors::{KernelDetectors, DEFAULT_SCX_WATCHDOG_MS, SCX_WATCHDOG_MS_RANGE};
pub use guest_fault::{GuestFault, UnknownGuestFault, MAX_FLOOD_MIB};
pub use payload::{
    HintPolarity, Payload, PayloadBounds, PayloadCheck, PayloadHint, PayloadStart,
    DEFAULT_PAYLOAD_TIMEOUT_MS,
};
pub use plan::{GuestPlan, GuestTask, SchedulerLaunch, PLAN_PATH};
pub use preset::{preset, presets, Preset};
pub use scenario::*;
pub use topology::{CpuPlace, Topology, TopologyError, MAX_CPUS};
pub use topology_match::{compare_topology, TopologyMatch};
