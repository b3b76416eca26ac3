//! `ktstr bench`: measurements that need a real VM, with medians and ratios from
//! one run on one backend.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use ktstr_model::Topology;
use ktstr_runner::{BackendChoice, WORKLOAD_MS};

use crate::failure::OrUsage;
use crate::CmdResult;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Harness overhead: a 2 s steady scenario vs a bare boot-and-poweroff + 2 s.
    Overhead(OverheadArgs),
}

#[derive(Args)]
pub(crate) struct OverheadArgs {
    /// Pairs of runs (bare, scenario), interleaved so drift hits both alike.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
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

pub(crate) fn run(cmd: BenchCommand) -> CmdResult {
    match cmd {
        BenchCommand::Overhead(a) => overhead(a),
    }
}

fn overhead(a: OverheadArgs) -> CmdResult {
    let topo: Topology = a.topology.parse().or_usage()?;
    let quiet = a.json;
    let report = ktstr_runner::overhead(
        topo,
        a.runs,
        a.kernel.as_deref(),
        a.backend,
        &mut |n, bare, ms| {
            if !quiet {
                eprintln!(
                    "  run {n:>2}: {} {ms:.0} ms",
                    if bare { "bare    " } else { "scenario" }
                );
            }
        },
    )?;
    if a.json {
        crate::failure::print_json(&report)?;
    } else {
        println!(
            "overhead on {} ({}), {}: bare boot {:.0} ms + {WORKLOAD_MS} ms vs steady scenario {:.0} ms (medians of {}): ratio {:.3}",
            report.backend, report.accel, report.topology, report.bare_median_ms, report.scenario_median_ms, report.runs, report.ratio
        );
        println!(
            "peak memory: ktstr {:.1} MiB, QEMU {:.1} MiB",
            report.host_peak_rss_mib, report.vm_peak_rss_mib
        );
    }
    Ok(ExitCode::SUCCESS)
}
