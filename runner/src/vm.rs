//! One VM run of a guest plan, shared by `boot` and `run`.

use std::path::PathBuf;
use std::time::Duration;

use ktstr_model::{compare_topology, GuestPlan, Topology, TopologyMatch};
use ktstr_vmm::{Backend, VmOutcome, VmSpec};
use ktstr_wire::{Hello, Message};

use crate::failure::Failure;
use crate::guest_image;

/// What to boot and how.
pub(crate) struct VmRequest<'a> {
    pub image: PathBuf,
    pub plan: GuestPlan,
    /// Topology handed to the VM (normally the plan's).
    pub present: Topology,
    pub memory_mib: Option<u32>,
    pub timeout: Duration,
    pub binaries: Vec<(PathBuf, String)>,
    /// Extra kernel command-line words.
    pub cmdline: Vec<String>,
    pub backend: &'a dyn Backend,
}

/// A finished run with the guest's Hello and the topology verdict.
pub(crate) struct VmResult {
    pub outcome: VmOutcome,
    pub hello: Option<Hello>,
    pub topology: TopologyMatch,
}

/// Default guest memory: 256 MiB per NUMA node, at least 512.
pub(crate) fn default_memory(t: &Topology) -> u32 {
    (256 * t.numa_nodes).max(512)
}

/// Builds the initramfs, boots, and compares the observed topology with the plan's.
pub(crate) fn run(
    req: VmRequest<'_>,
    on_message: &mut dyn FnMut(&Message),
) -> Result<VmResult, Failure> {
    let initramfs = guest_image::build(&req.plan, &req.binaries)?;
    let mut spec = VmSpec::new(req.image, initramfs, req.present);
    spec.memory_mib = req
        .memory_mib
        .unwrap_or_else(|| default_memory(&req.present));
    spec.timeout = req.timeout;
    spec.cmdline_extra = req.cmdline;
    let outcome = req.backend.run(&spec, on_message).map_err(Failure::usage)?;
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
