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
    /// Many short VMs back to back: fds, threads, RSS, children and leftover files after each ten.
    Soak(SoakArgs),
}

#[derive(Args)]
pub(crate) struct SoakArgs {
    /// Short VMs to run (1-100000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    runs: u32,
    /// Sample after every this many runs (1-1000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    every: u32,
    #[command(flatten)]
    vm: BenchVm,
}

/// What every benchmark boots.
#[derive(Args)]
pub(crate) struct BenchVm {
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

#[derive(Args)]
pub(crate) struct OverheadArgs {
    /// Pairs of runs (bare, scenario), interleaved so drift hits both alike.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    #[command(flatten)]
    vm: BenchVm,
}

pub(crate) fn run(cmd: BenchCommand) -> CmdResult {
    match cmd {
        BenchCommand::Overhead(a) => overhead(a),
        BenchCommand::Soak(a) => soak(a),
    }
}

/// RSS may settle by this much over a soak without counting as growth, MiB.
const SOAK_RSS_SLACK_MIB: f64 = 8.0;

fn soak(a: SoakArgs) -> CmdResult {
    let topo: Topology = a.vm.topology.parse().or_usage()?;
    let quiet = a.vm.json;
    if !quiet {
        println!("{}", soak_header());
    }
    let report = ktstr_runner::soak(
        topo,
        a.runs,
        a.every,
        ktstr_runner::RunnerOptions {
            kernel: a.vm.kernel.clone(),
            backend: a.vm.backend,
            ..Default::default()
        },
        &mut |s| {
            if !quiet {
                println!("{}", soak_line(s));
            }
        },
    )?;
    let flat = report.flat(SOAK_RSS_SLACK_MIB);
    if a.vm.json {
        crate::failure::print_json(&report)?;
    } else {
        println!(
            "{} runs ({} failed): fds {:+}, threads {:+}, RSS {:+.1} MiB: {}",
            report.runs,
            report.failed_runs,
            report.fd_growth,
            report.thread_growth,
            report.rss_growth_mib,
            if flat { "flat" } else { "GROWING" }
        );
    }
    Ok(if flat {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::failure::EXIT_FAILED)
    })
}

fn soak_header() -> String {
    format!(
        "{:>6} {:>5} {:>7} {:>9} {:>8} {:>9}",
        "runs", "fds", "threads", "rss MiB", "children", "vm dirs"
    )
}

fn soak_line(s: &ktstr_runner::SoakSample) -> String {
    format!(
        "{:>6} {:>5} {:>7} {:>9.1} {:>8} {:>9}",
        s.after_runs, s.fds, s.threads, s.rss_mib, s.children, s.leftover_vm_dirs
    )
}

fn overhead(a: OverheadArgs) -> CmdResult {
    let topo: Topology = a.vm.topology.parse().or_usage()?;
    let quiet = a.vm.json;
    let report = ktstr_runner::overhead(
        topo,
        a.runs,
        a.vm.kernel.as_deref(),
        a.vm.backend,
        &mut |n, bare, ms| {
            if !quiet {
                eprintln!(
                    "  run {n:>2}: {} {ms:.0} ms",
                    if bare { "bare    " } else { "scenario" }
                );
            }
        },
    )?;
    if a.vm.json {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soak_lines_snapshot() {
        let s = ktstr_runner::SoakSample {
            after_runs: 10,
            fds: 7,
            threads: 1,
            rss_mib: 21.25,
            children: 0,
            leftover_vm_dirs: 0,
        };
        assert_eq!(
            soak_header(),
            "  runs   fds threads   rss MiB children   vm dirs"
        );
        assert_eq!(
            soak_line(&s),
            "    10     7       1      21.2        0         0"
        );
    }
}
