//! `ktstr gauntlet`: scenarios × topology presets × flag profiles × schedulers,
//! within a time budget, in parallel VMs, ending in one matrix.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use clap::Args;
use ktstr_gauntlet::{
    plan, rank, render_matrix, select, Cell, CellResult, CellStatus, Durations, GauntletReport,
    SchedulerUnderTest,
};
use ktstr_model::{presets, Preset, Scenario};

use ktstr_runner::{BackendChoice, BootKernel, RunRecord, Runner, RunnerOptions, SchedulerArg};

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
    let started = Instant::now();
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

    let shared = Arc::new(Shared {
        queue: Mutex::new(chosen.iter().cloned().collect()),
        results: Mutex::new(Vec::new()),
        durations: Mutex::new(durations),
        started,
        budget: a.budget,
        total: expected,
        jobs,
    });
    let scheds: Vec<(String, SchedulerArg)> = schedulers
        .iter()
        .map(|s| (s.under_test.name.clone(), s.arg.clone()))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let shared = Arc::clone(&shared);
            let (scenarios, scheds, options) = (&scenarios, &scheds, &options);
            scope.spawn(move || worker(&shared, scenarios, scheds, options));
        }
    });
    if ktstr_vmm::stop_requested() {
        return Err(Failure::interrupted());
    }
    let shared = Arc::into_inner(shared).expect("workers are done");
    let durations = shared.durations.into_inner().expect("no worker panicked");
    if let Err(e) = durations.save(&durations_path) {
        eprintln!("warning: {e}");
    }
    let mut cells = shared.results.into_inner().expect("no worker panicked");
    let not_run = shared.queue.into_inner().expect("no worker panicked");
    cells.extend(not_run.into_iter().map(|cell| CellResult {
        cell,
        status: CellStatus::NotRun,
        detail: Some("budget".into()),
        wall_ms: None,
    }));
    let planned_not_chosen = the_plan
        .cells
        .iter()
        .filter(|c| !chosen.contains(c))
        .cloned();
    cells.extend(planned_not_chosen.map(|cell| CellResult {
        cell,
        status: CellStatus::NotRun,
        detail: Some("budget".into()),
        wall_ms: None,
    }));
    for (list, status) in [
        (&the_plan.skipped, CellStatus::Skip),
        (&the_plan.invalid, CellStatus::Error),
    ] {
        cells.extend(list.iter().map(|s| CellResult {
            cell: s.cell.clone(),
            status,
            detail: Some(s.reason.clone()),
            wall_ms: None,
        }));
    }
    let order = |c: &CellResult| {
        (
            scenarios.iter().position(|s| s.name == c.cell.scenario),
            chosen_presets.iter().position(|p| p.name == c.cell.preset),
            c.cell.scheduler.clone(),
            c.cell.profile.clone(),
        )
    };
    cells.sort_by_key(order);
    let report = GauntletReport {
        scenarios: scenarios.iter().map(|s| s.name.clone()).collect(),
        presets: chosen_presets.iter().map(|p| p.name.to_owned()).collect(),
        cells,
        budget_ms: a.budget.map(|b| b.as_millis() as u64),
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
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

struct Shared {
    queue: Mutex<VecDeque<Cell>>,
    results: Mutex<Vec<CellResult>>,
    durations: Mutex<Durations>,
    started: Instant,
    budget: Option<Duration>,
    total: usize,
    jobs: usize,
}

impl Shared {
    /// Puts a cell that was taken but not run (Ctrl-C) back, so it is reported as not run.
    fn give_back(&self, cell: Cell) {
        self.queue
            .lock()
            .expect("no worker panicked")
            .push_front(cell);
    }

    /// The next cell that still fits the budget; cells that do not fit stay
    /// in the queue and are reported as not run.
    fn next(&self) -> Option<Cell> {
        let mut queue = self.queue.lock().expect("no worker panicked");
        let durations = self.durations.lock().expect("no worker panicked");
        let elapsed = self.started.elapsed();
        let pos = queue.iter().position(|c| match self.budget {
            Some(b) => elapsed + durations.estimate(c) <= b,
            None => true,
        })?;
        queue.remove(pos)
    }
}

fn worker(
    shared: &Shared,
    scenarios: &[Scenario],
    scheds: &[(String, SchedulerArg)],
    options: &RunnerOptions,
) {
    // The command opened one before starting the workers, so a failure here
    // is rare; the cells this worker leaves are reported as not run.
    let runner = match Runner::open(options.clone()) {
        Ok(r) => r,
        Err(e) => {
            return eprintln!(
                "warning: a gauntlet job could not open its VM backend or adapters: {e}"
            )
        }
    };
    while let Some(cell) = shared.next() {
        if ktstr_vmm::stop_requested() {
            shared.give_back(cell);
            return;
        }
        let scenario = scenarios
            .iter()
            .find(|s| s.name == cell.scenario)
            .expect("cells come from these scenarios");
        let mut sched = scheds
            .iter()
            .find(|(n, _)| n == &cell.scheduler)
            .map(|(_, s)| s.clone())
            .expect("cells come from these schedulers");
        sched.args.clone_from(&cell.args);
        let t0 = Instant::now();
        let result = runner.run(scenario, &sched, cell.topology);
        let wall = t0.elapsed();
        let (status, detail) = match &result {
            Ok(rec) if rec.passed() => (CellStatus::Pass, None),
            Ok(rec) => (CellStatus::Fail, Some(first_detail(rec))),
            Err(e) => (CellStatus::Error, Some(e.to_string())),
        };
        if ktstr_vmm::stop_requested() {
            shared.give_back(cell);
            return;
        }
        if result.is_ok() {
            shared
                .durations
                .lock()
                .expect("no worker panicked")
                .record(&cell, wall);
        }
        let mut results = shared.results.lock().expect("no worker panicked");
        results.push(CellResult {
            cell: cell.clone(),
            status,
            detail: detail.clone(),
            wall_ms: Some(wall.as_secs_f64() * 1e3),
        });
        // Progress goes to stderr, so `--json` output stays clean.
        {
            let failed = results
                .iter()
                .filter(|r| matches!(r.status, CellStatus::Fail | CellStatus::Error))
                .count();
            let progress = Progress {
                done: results.len(),
                total: shared.total,
                approximate: shared.budget.is_some(),
                failed,
                eta: shared.eta(),
            };
            eprintln!("{}", progress.line(&cell, status, wall, detail.as_deref()));
        }
    }
}

impl Shared {
    /// Expected time left for the queued cells that still fit, spread over the jobs.
    fn eta(&self) -> String {
        let queue = self.queue.lock().expect("no worker panicked");
        let durations = self.durations.lock().expect("no worker panicked");
        let mut left: f64 = queue
            .iter()
            .map(|c| durations.estimate(c).as_secs_f64())
            .sum();
        if let Some(b) = self.budget {
            left = left.min(b.saturating_sub(self.started.elapsed()).as_secs_f64());
        }
        let s = (left / self.jobs as f64).round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Where the gauntlet stands after a cell, for its progress line.
struct Progress {
    done: usize,
    total: usize,
    /// The total is the budget's estimate.
    approximate: bool,
    failed: usize,
    eta: String,
}

impl Progress {
    /// `[12/~47] PASS steady on tiny under scx_simple (4.9 s) — 0 failed so far, ETA 3m10s`.
    fn line(
        &self,
        cell: &Cell,
        status: CellStatus,
        wall: Duration,
        detail: Option<&str>,
    ) -> String {
        format!(
            "[{}/{}{}] {:<4} {} on {} under {} ({:.1} s){} — {} failed so far, ETA {}",
            self.done,
            if self.approximate { "~" } else { "" },
            self.total,
            match status {
                CellStatus::Pass => "PASS",
                CellStatus::Fail => "FAIL",
                _ => "ERR",
            },
            cell.scenario,
            cell.preset,
            cell.scheduler_label(),
            wall.as_secs_f64(),
            detail
                .map(|d| format!(": {}", first_line(d)))
                .unwrap_or_default(),
            self.failed,
            self.eta
        )
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The first failed check's first detail (or the topology or payload problem).
fn first_detail(rec: &RunRecord) -> String {
    rec.first_failure().unwrap_or_else(|| "failed".to_owned())
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
    fn progress_line_snapshot() {
        let cell = Cell {
            scenario: "steady".into(),
            preset: "numa2".into(),
            topology: "2,2,2,1".parse().unwrap(),
            scheduler: "scx_rusty@1.1.4".into(),
            profile: "fifo-sched".into(),
            args: vec!["--fifo-sched".into()],
            scenario_ms: 3000,
        };
        let p = Progress {
            done: 8,
            total: 47,
            approximate: true,
            failed: 1,
            eta: "3m10s".into(),
        };
        assert_eq!(
            p.line(&cell, CellStatus::Fail, Duration::from_millis(6540), Some("fairness: spread 73.5%\nmore")),
            "[8/~47] FAIL steady on numa2 under scx_rusty@1.1.4[fifo-sched] (6.5 s): fairness: spread 73.5% — 1 failed so far, ETA 3m10s"
        );
        let p = Progress {
            approximate: false,
            ..p
        };
        assert!(p
            .line(&cell, CellStatus::Pass, Duration::from_secs(5), None)
            .starts_with("[8/47] PASS "));
    }

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
