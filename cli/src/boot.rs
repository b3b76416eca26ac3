//! `ktstr boot`: boot a kernel with a topology and compare what the guest sees.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ktstr_model::{format_cpulist as cpulist, Topology};
use ktstr_runner::{BackendChoice, BootReport, BootRequest};
use ktstr_vmm::VmExit;

use crate::failure::{Failure, OrUsage};
use crate::CmdResult;

#[derive(Args)]
pub(crate) struct BootArgs {
    /// Topology as N,L,C,T: NUMA nodes, LLCs (a multiple of N), cores per LLC, threads per core.
    #[arg(long, short = 't', default_value = "1,1,2,1")]
    topology: String,
    /// Guest memory in MiB, 128-262144 (default: 256 per NUMA node, at least 512).
    #[arg(long, value_parser = clap::value_parser!(u32).range(128..=262_144))]
    memory: Option<u32>,
    /// Kernel: a cache id (prefix) from `ktstr kernel list`, or a path to a bzImage.
    #[arg(long)]
    kernel: Option<String>,
    /// VM backend: auto, qemu or kvm.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Give up after this many seconds (1-86400).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
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

pub(crate) fn run(a: BootArgs) -> CmdResult {
    let topology: Topology = a.topology.parse().or_usage()?;
    let present = a
        .present_topology
        .as_deref()
        .map(str::parse)
        .transpose()
        .or_usage()?;
    let report = ktstr_runner::boot(&BootRequest {
        topology,
        present,
        kernel: a.kernel.clone(),
        memory_mib: a.memory,
        backend: a.backend,
        timeout: Duration::from_secs(a.timeout),
        cmdline: a
            .cmdline
            .iter()
            .flat_map(|c| c.split_whitespace())
            .map(str::to_string)
            .collect(),
    })?;
    if a.console {
        eprintln!(
            "--- guest console ---\n{}\n--- end of console ---",
            report.console
        );
    }
    if a.json {
        crate::failure::print_json(&report)?;
    } else {
        print!("{}", render(&report));
    }
    if report.sched_ext == Some(false) {
        return Err(Failure::usage(anyhow::anyhow!(
            "kernel `{}` has no sched_ext (/sys/kernel/sched_ext is missing in the guest)\nhint: build one with `ktstr kernel build`",
            report.kernel.image
        )));
    }
    Ok(if report.ok() {
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

/// The human report of a boot.
fn render(r: &BootReport) -> String {
    let mut out = String::new();
    macro_rules! say {
        ($($t:tt)*) => {{
            out.push_str(&format!($($t)*));
            out.push('\n');
        }};
    }
    let release = r.kernel.release.as_deref().unwrap_or("?");
    say!("kernel     {release} ({})", r.kernel.id);
    say!("backend    {} ({})", r.backend, r.accel);
    match r.boot_ms {
        Some(ms) => say!(
            "boot       {:.0} ms to guest runtime, {:.0} ms wall for the whole VM",
            ms,
            r.wall_ms
        ),
        None => say!(
            "boot       no Hello from the guest; {:.0} ms wall",
            r.wall_ms
        ),
    }
    say!(
        "requested  {} ({} CPUs)",
        r.requested.name,
        r.requested.cpus
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
        say!(
            "observed   {} CPUs, LLCs {}, {} thread(s)/core, {}",
            o.cpus.len(),
            llcs.join(" "),
            smt,
            nodes.join(", ")
        );
    }
    if r.matches {
        say!("topology   matches");
    } else {
        say!("topology   DOES NOT MATCH");
        for m in &r.mismatches {
            say!("  - {m}");
        }
    }
    if let Some(s) = r.sched_ext {
        say!("sched_ext  {}", if s { "present" } else { "missing" });
    }
    if r.wire.has_loss() {
        say!("wire       {:?}", r.wire);
    }
    match &r.exit {
        VmExit::Completed => say!("exit       completed"),
        other => say!(
            "exit       {}\n{}",
            other.kind(),
            serde_json::to_string_pretty(other).unwrap_or_default()
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_runner::{KernelView, TopologyView};
    use ktstr_wire::{ObservedCpu, ObservedNode, ObservedTopology};

    #[test]
    fn report_snapshot() {
        let t: Topology = "1,2,2,1".parse().unwrap();
        let cpus = (0..4)
            .map(|c| ObservedCpu {
                cpu: c,
                package: c / 2,
                core: c % 2,
                siblings: vec![c],
                node: 0,
                llc: Some(if c < 2 { vec![0, 1] } else { vec![2, 3] }),
            })
            .collect();
        let report = BootReport {
            requested: TopologyView::from(&t),
            observed: Some(ObservedTopology {
                cpus,
                llcs: vec![vec![0, 1], vec![2, 3]],
                nodes: vec![ObservedNode {
                    id: 0,
                    cpus: vec![0, 1, 2, 3],
                    distances: vec![10],
                    mem_mib: 512,
                }],
            }),
            matches: true,
            mismatches: Vec::new(),
            boot_ms: Some(812.4),
            wall_ms: 2950.0,
            backend: "qemu",
            accel: "tcg".into(),
            kernel: KernelView {
                id: "52e228cb8f52".into(),
                release: Some("6.12.117".into()),
                image: "/k/bzImage".into(),
            },
            sched_ext: Some(true),
            exit: VmExit::Completed,
            wire: Default::default(),
            console: String::new(),
        };
        assert_eq!(
            render(&report),
            "\
kernel     6.12.117 (52e228cb8f52)
backend    qemu (tcg)
boot       812 ms to guest runtime, 2950 ms wall for the whole VM
requested  1n2l2c1t (4 CPUs)
observed   4 CPUs, LLCs [0-1] [2-3], 1 thread(s)/core, node0 [0-3] [10]
topology   matches
sched_ext  present
exit       completed
"
        );
    }
}
