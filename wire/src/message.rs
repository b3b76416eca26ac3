//! The messages the guest sends to the host.
//!
//! Variants are only ever appended: postcard encodes the variant index, so a
//! host built from a newer tree still decodes an older guest's frames.

use serde::{Deserialize, Serialize};

/// One message from the guest runtime to the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Sent once, first, as soon as the guest runtime has mounted its filesystems.
    Hello(Hello),
    /// A line of the guest runtime's own log.
    Log(LogLine),
    /// Sent last, just before the guest powers off.
    Done(Done),
}

/// What the guest saw of itself at start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// `uname -r` of the guest kernel.
    pub kernel_release: String,
    /// CLOCK_BOOTTIME when the runtime started, in nanoseconds.
    pub boot_ns: u64,
    /// The CPU topology the guest kernel reports in sysfs.
    pub topology: ObservedTopology,
    /// Whether `/sys/kernel/sched_ext` exists.
    pub sched_ext: bool,
    /// Contents of `/sys/kernel/sched_ext/state` if present (e.g. `disabled`).
    pub sched_ext_state: Option<String>,
}

/// Topology as observed in the guest's sysfs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedTopology {
    /// Online CPUs, sorted by CPU number.
    pub cpus: Vec<ObservedCpu>,
    /// Distinct last-level-cache CPU sets (L3 `shared_cpu_list`), sorted.
    pub llcs: Vec<Vec<u32>>,
    /// NUMA nodes, sorted by id.
    pub nodes: Vec<ObservedNode>,
}

/// One online CPU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedCpu {
    /// Logical CPU number.
    pub cpu: u32,
    /// `topology/physical_package_id`.
    pub package: u32,
    /// `topology/core_id`.
    pub core: u32,
    /// `topology/thread_siblings_list`, parsed.
    pub siblings: Vec<u32>,
    /// The NUMA node the CPU belongs to.
    pub node: u32,
    /// The CPUs sharing this CPU's last-level cache, if the kernel exposes it.
    pub llc: Option<Vec<u32>>,
}

/// One NUMA node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedNode {
    /// Node id.
    pub id: u32,
    /// `cpulist`, parsed.
    pub cpus: Vec<u32>,
    /// `distance`, one entry per node.
    pub distances: Vec<u32>,
    /// MemTotal of the node in MiB.
    pub mem_mib: u64,
}

/// A log line from the guest runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// CLOCK_BOOTTIME in nanoseconds.
    pub at_ns: u64,
    /// The text.
    pub text: String,
}

/// The guest's last word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// CLOCK_BOOTTIME in nanoseconds.
    pub at_ns: u64,
    /// Frames the guest could not put into the ring because it was full.
    pub ring_drops: u64,
    /// An error that ended the guest's work early, if any.
    pub error: Option<String>,
}
