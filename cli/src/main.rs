//! `ktstr`: boot sched_ext kernels in VMs with a chosen topology, and judge schedulers.

mod bench_cmd;
mod boot;
mod compare_cmd;
mod extract_cmd;
mod failure;
mod gauntlet_cmd;
mod kernel_cmd;
mod list_cmd;
mod model_cmd;
mod results_cmd;
mod run_cmd;
mod scheduler_cmd;
mod topo_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use failure::Failure;

/// Test harness for Linux process schedulers (sched_ext and EEVDF) in real VMs.
#[derive(Parser)]
#[command(name = "ktstr", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, list and clean cached sched_ext kernels.
    #[command(subcommand)]
    Kernel(kernel_cmd::KernelCommand),
    /// Build and list production schedulers (scx_bpfland, scx_lavd, ...) and their flag profiles.
    #[command(subcommand)]
    Scheduler(scheduler_cmd::SchedulerCommand),
    /// Boot a kernel with a topology and check what the guest sees.
    Boot(boot::BootArgs),
    /// List the scenario catalog.
    List(list_cmd::ListArgs),
    /// List the named topology presets `--topology` accepts.
    #[command(subcommand)]
    Topo(topo_cmd::TopoCommand),
    /// Run scenarios under schedulers, each in its own VM, and judge them.
    Run(run_cmd::RunArgs),
    /// Run healthy scenarios many times and report the noise and the limits it supports.
    Calibrate(run_cmd::RunArgs),
    /// Run scenarios × topology presets × flag profiles × schedulers, within a budget.
    Gauntlet(gauntlet_cmd::GauntletArgs),
    /// Is B better or worse than A? Runs both interleaved, or compares stored runs.
    Compare(compare_cmd::CompareArgs),
    /// The stored runs: list, show, import, reindex.
    #[command(subcommand)]
    Results(results_cmd::ResultsCommand),
    /// Benchmarks that boot VMs (harness overhead).
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
    /// Run an output adapter on captured output and print the metrics.
    Extract(extract_cmd::ExtractArgs),
    /// The LlmExtract model: status, verify (SHA-256, load time), fetch.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Keep one idle KVM VM open until killed (used by the nested test).
    #[command(hide = true)]
    KvmHold,
}

fn main() -> ExitCode {
    // A closed pipe (`ktstr ... | head`) ends the output quietly, as for any
    // Unix tool, instead of a panic in `println!`.
    // SAFETY: restores the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Ctrl-C: stop VMs in order (they clean up their files) instead of dying mid-run.
    let _ = ctrlc::set_handler(ktstr_vmm::request_stop);
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Kernel(k) => kernel_cmd::run(k),
        Command::Scheduler(s) => scheduler_cmd::run(s),
        Command::Boot(b) => boot::run(b),
        Command::List(l) => list_cmd::run(l),
        Command::Topo(t) => topo_cmd::run(t),
        Command::Run(r) => run_cmd::run(r),
        Command::Calibrate(c) => run_cmd::calibrate(c),
        Command::Gauntlet(g) => gauntlet_cmd::run(g),
        Command::Compare(c) => compare_cmd::run(c),
        Command::Results(r) => results_cmd::run(r),
        Command::Bench(b) => bench_cmd::run(b),
        Command::Extract(e) => extract_cmd::run(e),
        Command::Model(m) => model_cmd::run(m),
        Command::KvmHold => boot::kvm_hold(),
    };
    match result {
        Ok(code) => code,
        Err(f) => f.report(),
    }
}

/// Result of a command: an exit code, or a failure to report.
pub(crate) type CmdResult = Result<ExitCode, Failure>;

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every subcommand's arguments are consistent (unique names, valid
    /// defaults): clap checks this only when that subcommand is parsed.
    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
