//! `ktstr boot`: boot a kernel with a topology and compare what the guest sees.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ktstr_model::{format_cpulist as cpulist, GuestPlan, GuestTask, Topology};
use ktstr_runner::{BackendChoice, BootKernel, GuestRuntime, VmRequest, VmResult};
use ktstr_vmm::{VmExit, WireStats};
use ktstr_wire::ObservedTopology;
use serde::Serialize;

use crate::failure::{Failure, OrUsage};
use crate::CmdResult;

#[derive(Args)]
pub(crate) struct BootArgs {
    /// Topology as N,L,C,T: NUMA nodes, LLCs (a multiple of N), cores per LLC, threads per core.
    #[arg(long, short = 't', default_value = "1,1,2,1")]
    topology: String,
    /// Guest memory in MiB (default: 256 per NUMA node, at least 512).
    #[arg(long)]
    memory: Option<u32>,
    /// Kernel: a cache id (prefix) from `ktstr kernel list`, or a path to a bzImage.
    #[arg(long)]
    kernel: Option<String>,
    /// VM backend: auto, qemu or kvm.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    json: bool,
    /// Present this topology to the VM instead of the requested one (tests the comparison).
    #[arg(long, hide = true)]
    present_topology: Option<String>,
    /// Extra kernel command-line words (e.g. `loglevel=8`).
    #[arg(long, allow_hyphen_values = true)]
    cmdline: Option<String>,
    /// Print the guest's captured console (stderr) after the report.
    #[arg(long)]
    console: bool,
}

/// The machine-readable result of a boot.
#[derive(Serialize)]
struct BootReport {
    requested: TopologyView,
    observed: Option<ObservedTopology>,
    matches: bool,
    mismatches: Vec<String>,
    /// Guest CLOCK_BOOTTIME when the runtime started, in ms.
    boot_ms: Option<f64>,
    /// Host wall time of the whole VM run, in ms.
    wall_ms: f64,
    backend: &'static str,
    accel: String,
    kernel: KernelView,
    sched_ext: Option<bool>,
    exit: VmExit,
    wire: WireStats,
}

#[derive(Serialize)]
struct TopologyView {
    spec: String,
    name: String,
    numa_nodes: u32,
    llcs: u32,
    cores_per_llc: u32,
    threads_per_core: u32,
    cpus: u32,
}

#[derive(Serialize)]
struct KernelView {
    id: String,
    release: Option<String>,
    image: String,
}

pub(crate) fn run(a: BootArgs) -> CmdResult {
    let requested: Topology = a.topology.parse().or_usage()?;
    let present: Topology = match &a.present_topology {
        Some(p) => p.parse().or_usage()?,
        None => requested,
    };
    let kernel = BootKernel::resolve(a.kernel.as_deref())?;
    let backend = a.backend.open()?;
    let plan = GuestPlan {
        topology: requested,
        task: GuestTask::Boot,
    };
    let req = VmRequest {
        image: kernel.image.clone(),
        plan,
        present,
        memory_mib: a.memory,
        timeout: Duration::from_secs(a.timeout),
        binaries: Vec::new(),
        cmdline: a
            .cmdline
            .iter()
            .flat_map(|c| c.split_whitespace())
            .map(str::to_string)
            .collect(),
        backend: backend.as_ref(),
        runtime: &GuestRuntime::Beside,
    };
    let VmResult {
        outcome,
        hello,
        topology: verdict,
    } = ktstr_runner::run_vm(req, &mut |_| {})?;
    if outcome.exit == VmExit::Interrupted {
        return Err(Failure::interrupted());
    }
    if a.console {
        eprintln!(
            "--- guest console ---\n{}\n--- end of console ---",
            outcome.console.text()
        );
    }
    let hello = hello.as_ref();
    let report = BootReport {
        requested: view(&requested),
        observed: hello.map(|h| h.topology.clone()),
        matches: verdict.matches,
        mismatches: verdict.mismatches,
        boot_ms: hello.map(|h| h.boot_ns as f64 / 1e6),
        wall_ms: outcome.wall.as_secs_f64() * 1e3,
        backend: outcome.backend,
        accel: outcome.accel.to_string(),
        kernel: KernelView {
            id: kernel.id.clone(),
            release: hello.map(|h| h.kernel_release.clone()),
            image: kernel.image.display().to_string(),
        },
        sched_ext: hello.map(|h| h.sched_ext),
        exit: outcome.exit.clone(),
        wire: outcome.wire.clone(),
    };
    if a.json {
        crate::failure::print_json(&report)?;
    } else {
        print_human(&report);
    }
    if report.sched_ext == Some(false) {
        return Err(Failure::usage(anyhow::anyhow!(
            "kernel `{}` has no sched_ext (/sys/kernel/sched_ext is missing in the guest)\nhint: build one with `ktstr kernel build`",
            report.kernel.image
        )));
    }
    let ok = report.matches && report.exit == VmExit::Completed;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::failure::EXIT_FAILED)
    })
}

/// Keeps one idle VM with one vCPU open until the process is killed.
///
/// Creating and destroying KVM VMs flips static keys in the host kernel
/// (preempt notifiers, the LAPIC's enable keys), which patches its text.
/// Under QEMU's multi-threaded TCG that patching is not coherent across
/// vCPUs, and the L1 of the nested test died in `__schedule` on a stale
/// `int3`. A VM held open from the start keeps those keys enabled, so
/// the L2 boots after it patch nothing.
pub(crate) fn kvm_hold() -> CmdResult {
    let kvm = ktstr_vmm::kvm::KvmBackend::open().or_usage()?;
    let config = ktstr_vmm::kvm::MachineConfig::new(Topology::new(1, 1, 1, 1).or_usage()?);
    let _vm = ktstr_vmm::kvm::Machine::new(&kvm, config).or_usage()?;
    println!("holding an idle KVM VM");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn view(t: &Topology) -> TopologyView {
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

fn print_human(r: &BootReport) {
    let release = r.kernel.release.as_deref().unwrap_or("?");
    println!("kernel     {release} ({})", r.kernel.id);
    println!("backend    {} ({})", r.backend, r.accel);
    match r.boot_ms {
        Some(ms) => println!(
            "boot       {:.0} ms to guest runtime, {:.0} ms wall for the whole VM",
            ms, r.wall_ms
        ),
        None => println!(
            "boot       no Hello from the guest; {:.0} ms wall",
            r.wall_ms
        ),
    }
    println!(
        "requested  {} ({} CPUs)",
        r.requested.name, r.requested.cpus
    );
    if let Some(o) = &r.observed {
        let llcs: Vec<String> = o.llcs.iter().map(|l| format!("[{}]", cpulist(l))).collect();
        let nodes: Vec<String> = o
            .nodes
            .iter()
            .filter(|n| !n.cpus.is_empty())
            .map(|n| format!("node{} [{}] {:?}", n.id, cpulist(&n.cpus), n.distances))
            .collect();
        let smt = o.cpus.first().map_or(0, |c| c.siblings.len());
        println!(
            "observed   {} CPUs, LLCs {}, {} thread(s)/core, {}",
            o.cpus.len(),
            llcs.join(" "),
            smt,
            nodes.join(", ")
        );
    }
    if r.matches {
        println!("topology   matches");
    } else {
        println!("topology   DOES NOT MATCH");
        for m in &r.mismatches {
            println!("  - {m}");
        }
    }
    if let Some(s) = r.sched_ext {
        println!("sched_ext  {}", if s { "present" } else { "missing" });
    }
    if r.wire.has_loss() {
        println!("wire       {:?}", r.wire);
    }
    match &r.exit {
        VmExit::Completed => println!("exit       completed"),
        other => println!(
            "exit       {}\n{}",
            other.kind(),
            serde_json::to_string_pretty(other).unwrap_or_default()
        ),
    }
}
