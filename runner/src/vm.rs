//! One VM run of a guest plan, shared by `boot` and `run`.

use std::path::PathBuf;
use std::time::Duration;

use ktstr_model::{compare_topology, GuestPlan, GuestTask, Topology, TopologyMatch};
use ktstr_vmm::{Backend, VmOutcome, VmSpec};
use ktstr_wire::{Hello, Message};

use crate::guest_image::{self, GuestRuntime};
use crate::RunError;

/// What to boot and how (`ktstr boot` and the benchmarks boot plans of
/// their own; scenario runs go through [`Runner`](crate::Runner)).
pub struct VmRequest<'a> {
    /// The kernel image.
    pub image: PathBuf,
    /// What the guest does.
    pub plan: GuestPlan,
    /// Topology handed to the VM (normally the plan's).
    pub present: Topology,
    /// Guest memory, MiB (`None`: [`default_memory`]).
    pub memory_mib: Option<u32>,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Extra binaries: (host path, guest path), with their libraries.
    pub binaries: Vec<(PathBuf, String)>,
    /// Extra kernel command-line words.
    pub cmdline: Vec<String>,
    /// The backend.
    pub backend: &'a dyn Backend,
    /// The VM's `/init`.
    pub runtime: &'a GuestRuntime,
}

/// A finished run with the guest's Hello and the topology verdict.
pub struct VmResult {
    /// How the VM ended, its messages and console.
    pub outcome: VmOutcome,
    /// The guest's first message, if it sent one.
    pub hello: Option<Hello>,
    /// Requested against observed topology.
    pub topology: TopologyMatch,
}

/// The scratch disk for `sync_io` workers (sparse; each worker writes its own
/// region of it).
const SCRATCH_DISK_MIB: u32 = 1024;

/// Default guest memory: 256 MiB per NUMA node, at least 512.
pub fn default_memory(t: &Topology) -> u32 {
    (256 * t.numa_nodes).max(512)
}

/// Builds the initramfs, boots, and compares the observed topology with the plan's.
///
/// # Errors
///
/// [`RunError`] for a guest image that cannot be built or a VM that cannot start.
pub fn run(req: VmRequest<'_>, on_message: &mut dyn FnMut(&Message)) -> Result<VmResult, RunError> {
    let initramfs = guest_image::build(req.runtime, &req.plan, &req.binaries)?;
    let mut spec = VmSpec::new(req.image, initramfs, req.present);
    spec.memory_mib = req
        .memory_mib
        .unwrap_or_else(|| default_memory(&req.present));
    spec.timeout = req.timeout;
    spec.cmdline_extra = req.cmdline;
    if let GuestTask::Scenario { scenario, .. } = &req.plan.task {
        if scenario.needs_scratch_disk() {
            spec.scratch_disk_mib = SCRATCH_DISK_MIB;
        }
    }
    let outcome = req.backend.run(&spec, on_message)?;
    let hello = outcome.messages.iter().find_map(|m| match m {
        Message::Hello(h) => Some(h.clone()),
        _ => None,
    });
    let topology = match &hello {
        Some(h) => compare_topology(&req.plan.topology, &h.topology),
        None => TopologyMatch {
            matches: false,
            mismatches: vec!["the guest sent no Hello".into()],
        },
    };
    Ok(VmResult {
        outcome,
        hello,
        topology,
    })
}
