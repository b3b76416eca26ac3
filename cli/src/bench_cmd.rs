//! `ktstr bench`: measurements that need a real VM, with medians and ratios from
//! one run on one backend.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use ktstr_model::{GuestPlan, GuestTask, Scenario, Topology, WorkType};
use ktstr_vmm::VmExit;
use serde::Serialize;

use ktstr_runner::{BackendChoice, BootKernel, GuestRuntime, VmRequest};

use crate::failure::{Failure, OrUsage};
use crate::CmdResult;

/// Length of the steady workload compared against a bare boot.
const WORKLOAD_MS: u64 = 2000;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Harness overhead: a 2 s steady scenario vs a bare boot-and-poweroff + 2 s.
    Overhead(OverheadArgs),
}

#[derive(Args)]
pub(crate) struct OverheadArgs {
    /// Pairs of runs (bare, scenario), interleaved so drift hits both alike.
    #[arg(long, default_value_t = 5)]
    runs: u32,
    /// Topology.
    #[arg(long, default_value = "1,1,2,1")]
    topology: String,
    /// Kernel: a cache id (prefix) or a path to a bzImage.
    #[arg(long)]
    kernel: Option<String>,
    /// VM backend.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct OverheadReport {
    backend: &'static str,
    accel: String,
    topology: String,
    runs: u32,
    bare_ms: Vec<f64>,
    scenario_ms: Vec<f64>,
    bare_median_ms: f64,
    scenario_median_ms: f64,
    /// scenario / (bare + 2000 ms); 1.0 means the harness adds nothing.
    ratio: f64,
    /// Peak resident memory of the ktstr process, MiB.
    host_peak_rss_mib: f64,
    /// Peak resident memory of the largest child (QEMU), MiB.
    vm_peak_rss_mib: f64,
}

pub(crate) fn run(cmd: BenchCommand) -> CmdResult {
    match cmd {
        BenchCommand::Overhead(a) => overhead(a),
    }
}

fn overhead(a: OverheadArgs) -> CmdResult {
    let topo: Topology = a.topology.parse().or_usage()?;
    let kernel = BootKernel::resolve(a.kernel.as_deref())?;
    let backend = a.backend.open()?;
    let steady = Scenario::builder("overhead-steady")
        .description("two spinners for 2 s, the harness's cheapest real workload")
        .duration_ms(WORKLOAD_MS)
        .cgroup("a", |c| c.workers(topo.cpus(), WorkType::Spin))
        .build();
    let plans = [
        GuestPlan {
            topology: topo,
            task: GuestTask::Boot,
        },
        GuestPlan {
            topology: topo,
            task: GuestTask::Scenario {
                scenario: Box::new(steady),
                scheduler: None,
            },
        },
    ];
    let (mut bare, mut scen) = (Vec::new(), Vec::new());
    let mut accel = String::new();
    for i in 0..a.runs * 2 {
        let plan = plans[(i % 2) as usize].clone();
        let req = VmRequest {
            image: kernel.image.clone(),
            plan,
            present: topo,
            memory_mib: None,
            timeout: Duration::from_secs(120),
            binaries: Vec::new(),
            cmdline: Vec::new(),
            backend: backend.as_ref(),
            runtime: &GuestRuntime::Beside,
        };
        let res = ktstr_runner::run_vm(req, &mut |_| {})?;
        if res.outcome.exit != VmExit::Completed {
            return Err(Failure::failed(anyhow!(
                "benchmark run {i} did not complete: {:?}",
                res.outcome.exit
            )));
        }
        accel = res.outcome.accel.to_string();
        let ms = res.outcome.wall.as_secs_f64() * 1e3;
        if i % 2 == 0 { &mut bare } else { &mut scen }.push(ms);
        if !a.json {
            eprintln!(
                "  run {:>2}: {} {:.0} ms",
                i / 2 + 1,
                if i % 2 == 0 { "bare    " } else { "scenario" },
                ms
            );
        }
    }
    let (bm, sm) = (median(&bare), median(&scen));
    let report = OverheadReport {
        backend: backend.name(),
        accel,
        topology: topo.to_string(),
        runs: a.runs,
        bare_median_ms: bm,
        scenario_median_ms: sm,
        ratio: sm / (bm + WORKLOAD_MS as f64),
        bare_ms: bare,
        scenario_ms: scen,
        host_peak_rss_mib: peak_rss_mib(libc::RUSAGE_SELF),
        vm_peak_rss_mib: peak_rss_mib(libc::RUSAGE_CHILDREN),
    };
    if a.json {
        crate::failure::print_json(&report)?;
    } else {
        println!(
            "overhead on {} ({}), {}: bare boot {:.0} ms + {WORKLOAD_MS} ms vs steady scenario {:.0} ms (medians of {}): ratio {:.3}",
            report.backend, report.accel, report.topology, bm, sm, a.runs, report.ratio
        );
        println!(
            "peak memory: ktstr {:.1} MiB, QEMU {:.1} MiB",
            report.host_peak_rss_mib, report.vm_peak_rss_mib
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn peak_rss_mib(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills a plain-data struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return 0.0;
    }
    ru.ru_maxrss as f64 / 1024.0
}
