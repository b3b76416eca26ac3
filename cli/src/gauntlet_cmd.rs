//! `ktstr gauntlet`: scenarios × topology presets × flag profiles × schedulers,
//! within a time budget, in parallel VMs, ending in one matrix.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use ktstr_gauntlet::{
    default_jobs, execute, parse_budget, plan, rank, render_matrix, resolve_presets,
    scheduler_under_test, select, Durations, Execution, SchedulerUnderTest,
};

use ktstr_runner::{
    BackendChoice, BootKernel, ResultsDir, RunOrigin, Runner, RunnerOptions, SchedulerArg,
};

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
    /// Also write JUnit XML: one case per cell (failures, errors, skips with reasons).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    #[command(flatten)]
    results: crate::results_cmd::ResultsArg,
}

/// A scheduler of the gauntlet: its binary and the profiles to run.
struct GauntletScheduler {
    arg: SchedulerArg,
    under_test: SchedulerUnderTest,
}

pub(crate) fn run(a: GauntletArgs) -> CmdResult {
    let scenarios = run_cmd::resolve_scenarios(&a.scenarios)?;
    let chosen_presets = resolve_presets(&a.presets).map_err(|e| Failure::usage(anyhow!(e)))?;
    let kernel = BootKernel::resolve(a.kernel.as_deref())?;
    let mut schedulers = Vec::new();
    for value in &a.scheduler {
        let decl = value
            .ends_with(".toml")
            .then(|| crate::scheduler_cmd::declaration_of(value))
            .transpose()?;
        let (arg, under_test) = scheduler_under_test(
            value,
            decl.as_ref(),
            &kernel.resolved,
            a.profiles,
            usize::from(a.max_profiles),
        )?;
        schedulers.push(GauntletScheduler { arg, under_test });
    }
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
        results: ResultsDir::At(a.results.resolve()?),
        origin: RunOrigin::Gauntlet,
        ..RunnerOptions::default()
    };
    for w in Runner::open(options.clone())?.warnings() {
        crate::failure::warn(w);
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
        crate::failure::warn(&e.to_string());
    }
    let report = done.report;
    if let Some(path) = &a.junit {
        let xml = ktstr_gauntlet::junit(&report).map_err(Failure::failed)?;
        crate::failure::write_report(path, "JUnit", &xml)?;
    }
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

fn durations_path() -> Result<PathBuf, Failure> {
    Ok(crate::kernel_cmd::cache()?
        .root()
        .join("gauntlet/durations.json"))
}
