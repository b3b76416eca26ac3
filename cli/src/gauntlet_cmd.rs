//! `ktstr gauntlet`: scenarios × topology presets × flag profiles × schedulers,
//! within a time budget, in parallel VMs, ending in one matrix.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use ktstr_gauntlet::{
    execute, plan, rank, render_matrix, select, Cell, Durations, Execution, SchedulerUnderTest,
};
use ktstr_model::{presets, Preset};

use ktstr_runner::{BackendChoice, BootKernel, Runner, RunnerOptions, SchedulerArg};

use crate::failure::{Failure, OrUsage, EXIT_FAILED};
use crate::run_cmd;
use crate::CmdResult;

#[derive(Args)]
pub(crate) struct GauntletArgs {
    /// Scheduler(s): as for `ktstr run -s`, or a declaration file (`.toml`) whose flag
    /// profiles `--profiles` runs. Repeatable.
    #[arg(long, short = 's', required = true)]
    scheduler: Vec<String>,
    /// Scenario(s) (default: the catalog).
    #[arg(long = "scenario", short = 'c')]
    scenarios: Vec<String>,
    /// Presets to run on, comma-separated (default: all; see `ktstr topo list`).
    #[arg(long, value_delimiter = ',')]
    presets: Vec<String>,
    /// Run every flag profile of declared schedulers, not only their default.
    #[arg(long)]
    profiles: bool,
    /// At most this many profiles per declared scheduler.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    max_profiles: u16,
    /// Time budget, e.g. `20m`, `90s`, `1h`: the combinations covering the most
    /// distinct (scenario, preset, profile) values per expected second are run.
    #[arg(long, value_parser = parse_budget)]
    budget: Option<Duration>,
    /// VMs run at once (default: what the host's cores and memory hold without
    /// slowing each VM).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,
    /// Kernel: a cache id (prefix), a flavour (`debug`) or a path to a bzImage.
    #[arg(long)]
    kernel: Option<String>,
    /// VM backend: auto, qemu or kvm.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Seconds a scheduler may take to attach.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    attach_timeout: u64,
    /// Print the whole report as JSON (every cell) instead of the matrix.
    #[arg(long)]
    json: bool,
}

/// `20m`, `90s`, `1h`, `1h30m` or plain seconds.
fn parse_budget(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; write e.g. `20m`, `90s`, `1h30m`");
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() {
        total = total
            .checked_add(number.parse().map_err(|_| bad())?)
            .ok_or_else(bad)?;
    }
    if total == 0 || total > 7 * 24 * 3600 {
        return Err(format!(
            "`{text}`: the budget must be between 1 s and 7 days"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// A scheduler of the gauntlet: its binary and the profiles to run.
struct GauntletScheduler {
    arg: SchedulerArg,
    under_test: SchedulerUnderTest,
}

pub(crate) fn run(a: GauntletArgs) -> CmdResult {
    let scenarios = run_cmd::resolve_scenarios(&a.scenarios)?;
    let chosen_presets = resolve_presets(&a.presets)?;
    let kernel = BootKernel::resolve(a.kernel.as_deref())?;
    let schedulers = a
        .scheduler
        .iter()
        .map(|s| resolve_scheduler(s, &kernel.resolved, a.profiles, a.max_profiles))
        .collect::<Result<Vec<_>, _>>()?;
    let unders: Vec<SchedulerUnderTest> = schedulers.iter().map(|s| s.under_test.clone()).collect();
    let the_plan = plan(&scenarios, &chosen_presets, &unders);
    let durations_path = durations_path()?;
    let durations = Durations::load(&durations_path).or_usage()?;
    // With a budget, every cell is queued in order of coverage per expected
    // second, and a cell starts only if it is expected to end in time: when
    // runs are quicker than expected, later cells still get their turn.
    let chosen = match a.budget {
        Some(_) => rank(&the_plan.cells, &durations),
        None => select(&the_plan.cells, None, &durations),
    };
    let expected = select(&the_plan.cells, a.budget, &durations).len();
    let jobs = a
        .jobs
        .map_or_else(|| default_jobs(&chosen), |j| usize::from(j).max(1));
    // Fail fast on the host: a backend and the adapters must load before any VM starts.
    let options = RunnerOptions {
        kernel: a.kernel.clone(),
        backend: a.backend,
        attach_timeout_s: a.attach_timeout,
        ..RunnerOptions::default()
    };
    for w in Runner::open(options.clone())?.warnings() {
        eprintln!("warning: {w}");
    }
    {
        eprintln!(
            "gauntlet: {} cells planned ({} skipped, {} invalid), about {} to run with {jobs} job{}{}",
            the_plan.cells.len() + the_plan.skipped.len() + the_plan.invalid.len(),
            the_plan.skipped.len(),
            the_plan.invalid.len(),
            expected,
            if jobs == 1 { "" } else { "s" },
            a.budget
                .map(|b| format!(" within {} s", b.as_secs()))
                .unwrap_or_default()
        );
    }

    let scheds: Vec<(String, SchedulerArg)> = schedulers
        .iter()
        .map(|s| (s.under_test.name.clone(), s.arg.clone()))
        .collect();
    let exec = Execution {
        scenarios: &scenarios,
        presets: &chosen_presets,
        schedulers: &scheds,
        options,
        jobs,
        budget: a.budget,
    };
    // Progress goes to stderr, so `--json` output stays clean.
    let done = execute(&the_plan, &chosen, expected, durations, &exec, &|line| {
        eprintln!("{line}")
    });
    if done.interrupted {
        return Err(Failure::interrupted());
    }
    if let Err(e) = done.durations.save(&durations_path) {
        eprintln!("warning: {e}");
    }
    let report = done.report;
    if a.json {
        crate::failure::print_json(&report)?;
    } else {
        print!("{}", render_matrix(&report));
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

fn resolve_presets(names: &[String]) -> Result<Vec<Preset>, Failure> {
    if names.is_empty() {
        return Ok(presets().to_vec());
    }
    names
        .iter()
        .map(|n| {
            ktstr_model::preset(n).copied().ok_or_else(|| {
                Failure::usage(anyhow!(
                    "unknown preset `{n}`\nhint: `ktstr topo list` shows the presets"
                ))
            })
        })
        .collect()
}

fn resolve_scheduler(
    value: &str,
    kernel: &ktstr_kernel::ResolvedKernel,
    profiles: bool,
    max: u16,
) -> Result<GauntletScheduler, Failure> {
    if value.ends_with(".toml") {
        let decl = crate::scheduler_cmd::declaration_of(value)?;
        let arg = ktstr_runner::resolve_decl(&decl, kernel)?;
        let all = decl.profiles(if profiles { usize::from(max) } else { 1 });
        let under_test = SchedulerUnderTest {
            name: decl.name().to_owned(),
            profiles: all.into_iter().map(|p| (p.name(), p.args)).collect(),
        };
        return Ok(GauntletScheduler { arg, under_test });
    }
    let arg = ktstr_runner::resolve_scheduler(value, kernel)?;
    // A production scheduler ktstr has a declaration for: its profiles, after
    // whatever arguments the user gave.
    let known = ktstr_scheduler::known(&arg.name).filter(|_| profiles);
    let profiles = match known {
        Some(decl) => decl
            .profiles(usize::from(max))
            .into_iter()
            .map(|p| {
                let name = p.name();
                (name, arg.args.iter().cloned().chain(p.args).collect())
            })
            .collect(),
        None => vec![("default".to_owned(), arg.args.clone())],
    };
    let under_test = SchedulerUnderTest {
        name: arg.name.clone(),
        profiles,
    };
    Ok(GauntletScheduler { arg, under_test })
}

/// VMs that fit at once: host CPUs over the largest cell's vCPUs (TCG runs
/// each vCPU as a host thread, so more would slow every VM), and memory.
fn default_jobs(cells: &[Cell]) -> usize {
    let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_vcpus = cells
        .iter()
        .map(|c| c.topology.cpus() as usize)
        .max()
        .unwrap_or(1);
    let by_cpu = (host_cpus / max_vcpus).max(1);
    let vm_mib = cells
        .iter()
        .map(|c| ktstr_runner::default_memory(&c.topology) as u64 + 256)
        .max()
        .unwrap_or(768);
    let by_mem = (available_mib() / vm_mib).max(1) as usize;
    by_cpu.min(by_mem)
}

/// `MemAvailable` from /proc/meminfo, MiB (1 GiB if unreadable).
fn available_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(1024, |kb| kb / 1024)
}

fn durations_path() -> Result<PathBuf, Failure> {
    Ok(crate::kernel_cmd::cache()?
        .root()
        .join("gauntlet/durations.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_and_bad_ones_say_how() {
        assert_eq!(parse_budget("20m"), Ok(Duration::from_secs(1200)));
        assert_eq!(parse_budget("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_budget("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_budget("5m30s"), Ok(Duration::from_secs(330)));
        for bad in ["", "0", "m", "5x", "-5m", "99999999999999999999h", "8d"] {
            let err = parse_budget(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }
}
