//! Booting a kernel with a topology and comparing what the guest sees: the
//! library side of `ktstr boot`, and its machine format.

use std::time::Duration;

use ktstr_model::{GuestPlan, GuestTask, Topology};
use ktstr_vmm::{VmExit, WireStats};
use ktstr_wire::ObservedTopology;
use serde::Serialize;

use crate::{BackendChoice, BootKernel, GuestRuntime, RunError, VmRequest};

/// What to boot.
#[derive(Debug, Clone)]
pub struct BootRequest {
    /// The topology the guest must see.
    pub topology: Topology,
    /// Hand the VM this topology instead (tests the comparison).
    pub present: Option<Topology>,
    /// Kernel: a cache id prefix, `debug`, or a bzImage path; `None`: the newest.
    pub kernel: Option<String>,
    /// Guest memory, MiB.
    pub memory_mib: Option<u32>,
    /// The backend.
    pub backend: BackendChoice,
    /// Give up after this long.
    pub timeout: Duration,
    /// Extra kernel command-line words.
    pub cmdline: Vec<String>,
}

/// The result of a boot: requested against observed topology, timings,
/// how the VM ended. The JSON of `ktstr boot --json`.
#[derive(Debug, Serialize)]
pub struct BootReport {
    /// What was asked for.
    pub requested: TopologyView,
    /// What the guest reported in sysfs (`None`: no Hello arrived).
    pub observed: Option<ObservedTopology>,
    /// Whether the two agree.
    pub matches: bool,
    /// How they differ.
    pub mismatches: Vec<String>,
    /// Guest CLOCK_BOOTTIME when the runtime started, in ms.
    pub boot_ms: Option<f64>,
    /// Host wall time of the whole VM run, in ms.
    pub wall_ms: f64,
    /// The backend (`qemu`, `kvm`).
    pub backend: &'static str,
    /// How vCPUs were executed.
    pub accel: String,
    /// The kernel that booted.
    pub kernel: KernelView,
    /// Whether `/sys/kernel/sched_ext` exists in the guest.
    pub sched_ext: Option<bool>,
    /// How the VM ended.
    pub exit: VmExit,
    /// Wire counters.
    pub wire: WireStats,
    /// The guest console (not in the JSON; `ktstr boot --console` prints it).
    #[serde(skip)]
    pub console: String,
}

/// A topology, spelled out.
#[derive(Debug, Serialize)]
pub struct TopologyView {
    /// `N,L,C,T`.
    pub spec: String,
    /// `1n2l2c1t`.
    pub name: String,
    /// NUMA nodes.
    pub numa_nodes: u32,
    /// LLCs in all.
    pub llcs: u32,
    /// Cores per LLC.
    pub cores_per_llc: u32,
    /// Threads per core.
    pub threads_per_core: u32,
    /// CPUs in all.
    pub cpus: u32,
}

impl From<&Topology> for TopologyView {
    fn from(t: &Topology) -> Self {
        TopologyView {
            spec: t.spec(),
            name: t.to_string(),
            numa_nodes: t.numa_nodes,
            llcs: t.llcs,
            cores_per_llc: t.cores_per_llc,
            threads_per_core: t.threads_per_core,
            cpus: t.cpus(),
        }
    }
}

/// The kernel of a boot.
#[derive(Debug, Serialize)]
pub struct KernelView {
    /// Cache id, or `path`.
    pub id: String,
    /// `uname -r` in the guest.
    pub release: Option<String>,
    /// The image booted.
    pub image: String,
}

impl BootReport {
    /// The topology matched and the VM completed.
    pub fn ok(&self) -> bool {
        self.matches && self.exit == VmExit::Completed
    }
}

/// Boots `req` with the guest runtime only (no scenario) and reports.
///
/// # Errors
///
/// As [`BootKernel::resolve`], [`BackendChoice::open`] and
/// [`run_vm`](crate::run_vm); [`RunError::Interrupted`] after Ctrl-C.
pub fn boot(req: &BootRequest) -> Result<BootReport, RunError> {
    let kernel = BootKernel::resolve(req.kernel.as_deref())?;
    let backend = req.backend.open()?;
    let vm = VmRequest {
        image: kernel.image.clone(),
        plan: GuestPlan {
            topology: req.topology,
            task: GuestTask::Boot,
            fault: None,
        },
        present: req.present.unwrap_or(req.topology),
        memory_mib: req.memory_mib,
        timeout: req.timeout,
        binaries: Vec::new(),
        cmdline: req.cmdline.clone(),
        backend: backend.as_ref(),
        runtime: &GuestRuntime::Beside,
    };
    let res = crate::run_vm(vm, &mut |_| {})?;
    if res.outcome.exit == VmExit::Interrupted {
        return Err(RunError::Interrupted);
    }
    let hello = res.hello.as_ref();
    Ok(BootReport {
        requested: TopologyView::from(&req.topology),
        observed: hello.map(|h| h.topology.clone()),
        matches: res.topology.matches,
        mismatches: res.topology.mismatches,
        boot_ms: hello.map(|h| h.boot_ns as f64 / 1e6),
        wall_ms: res.outcome.wall.as_secs_f64() * 1e3,
        backend: res.outcome.backend,
        accel: res.outcome.accel.to_string(),
        kernel: KernelView {
            id: kernel.id.clone(),
            release: hello.map(|h| h.kernel_release.clone()),
            image: kernel.image.display().to_string(),
        },
        sched_ext: hello.map(|h| h.sched_ext),
        exit: res.outcome.exit.clone(),
        wire: res.outcome.wire.clone(),
        console: res.outcome.console.text(),
    })
}
