//! `ktstr run` and `ktstr calibrate`: scenarios × schedulers, each in its own
//! VM (through [`ktstr_runner::Runner`]), judged on the host.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;
use ktstr_eval::Verdict;
use ktstr_model::{catalog, Scenario, Topology};
use ktstr_runner::{
    repeat, BackendChoice, ResultsDir, RunRecord, Runner, RunnerOptions, SchedulerArg, EEVDF,
};

use crate::failure::{Failure, OrUsage, EXIT_FAILED};
use crate::CmdResult;

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Scheduler(s): `eevdf`, a built one by name (`scx_simple`, `simple`), or a path;
    /// arguments may follow inside the quotes (`"scx_qmap -t 2"`). Repeatable.
    /// Default: the scheduler a scenario is written for (seeded faults name theirs), else EEVDF.
    #[arg(long, short = 's')]
    scheduler: Vec<String>,
    /// Scenario(s): a catalog name (see `ktstr list`) or a TOML file. Default: the whole catalog.
    #[arg(long = "scenario", short = 'c')]
    scenarios: Vec<String>,
    /// Topology as N,L,C,T or a preset name (see `ktstr topo list`), for scenarios that do not fix their own.
    #[arg(long, short = 't', default_value = "1,2,2,1")]
    topology: String,
    /// Kernel: a cache id (prefix) or a path to a bzImage.
    #[arg(long)]
    kernel: Option<String>,
    /// Guest memory in MiB (128-262144).
    #[arg(long, value_parser = clap::value_parser!(u32).range(128..=262_144))]
    memory: Option<u32>,
    /// VM backend: auto, qemu or kvm.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Seconds the scheduler may take to attach (1-3600).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    attach_timeout: u64,
    /// Output adapter plugin for payloads (repeatable; `$KTSTR_ADAPTER_PATH` is searched too).
    #[arg(long = "plugin", value_name = "PATH")]
    plugins: Vec<std::path::PathBuf>,
    /// Fault injection for ktstr's own tests: the guest runtime `panic`s,
    /// `abort`s, powers off (`poweroff`) or floods the wire (`flood:MIB`).
    #[arg(long, value_name = "FAULT", hide = true)]
    guest_fault: Option<ktstr_model::GuestFault>,
    /// Run every scenario this many times and report the run-to-run spread.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeat: u32,
    /// Print JSON instead of the human report.
    #[arg(long)]
    json: bool,
    /// Also write JUnit XML: one case per run, a failed run a failure.
    #[arg(long, value_name = "FILE")]
    junit: Option<std::path::PathBuf>,
    /// Also write one self-contained HTML report: verdicts, per-worker progress over
    /// time, CPU occupancy with the steps, wake-latency distributions.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
    /// Do not store the run records.
    #[arg(long)]
    no_results: bool,
    #[command(flatten)]
    results: crate::results_cmd::ResultsArg,
}

/// What to print while the runs go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Report {
    /// Each run's full report on stdout, progress on stderr.
    Full,
    /// One progress line per run on stderr.
    Progress,
    /// Nothing (JSON follows at the end).
    Quiet,
}

/// Runs every (scheduler, scenario) pair of `a`, `a.repeat` times each.
fn run_pairs(a: &RunArgs, report: Report) -> Result<(Vec<Scenario>, Vec<RunRecord>), Failure> {
    let default_topo = Topology::parse_or_preset(&a.topology).or_usage()?;
    let scenarios = resolve_scenarios(&a.scenarios)?;
    for s in &scenarios {
        let topo = s.topology.unwrap_or(default_topo);
        s.validate(&topo).map_err(Failure::usage)?;
    }
    let runner = open_runner(a)?;
    // (scheduler, scenario) in run order: every scenario under each `-s`, or
    // each scenario under the scheduler it names (EEVDF if none).
    let mut pairs: Vec<(SchedulerArg, &Scenario)> = Vec::new();
    if a.scheduler.is_empty() {
        for s in &scenarios {
            pairs.push((
                runner.scheduler(s.scheduler.as_deref().unwrap_or(EEVDF))?,
                s,
            ));
        }
    } else {
        for value in &a.scheduler {
            let sched = runner.scheduler(value)?;
            pairs.extend(scenarios.iter().map(|s| (sched.clone(), s)));
        }
    }
    let total = pairs.len() * a.repeat as usize;
    let mut records = Vec::new();
    for (sched, scenario) in pairs
        .iter()
        .flat_map(|p| std::iter::repeat_n(p, a.repeat as usize))
    {
        let (sched, scenario) = (sched, *scenario);
        let topo = scenario.topology.unwrap_or(default_topo);
        if report != Report::Quiet {
            eprintln!(
                "[{}/{total}] running {} under {} on {} ...",
                records.len() + 1,
                scenario.name,
                sched.label(),
                topo
            );
        }
        let rec = match runner.run(scenario, sched, topo) {
            Ok(rec) => rec,
            // The verdict is shown even when it could not be stored (on
            // stderr when stdout is JSON, which this error ends).
            Err(ktstr_runner::RunError::NotStored { record, source }) => {
                if report == Report::Full {
                    println!("{}", record.verdict.render_text());
                } else {
                    eprintln!("{}", record.verdict.render_text());
                }
                return Err(ktstr_runner::RunError::NotStored { record, source }.into());
            }
            Err(e) => return Err(e.into()),
        };
        if report == Report::Full {
            println!("{}", rec.verdict.render_text());
            for m in &rec.topology_mismatches {
                println!("  topology mismatch: {m}");
            }
            print!(
                "{}",
                ktstr_runner::render_payloads(&rec.payloads, &rec.payload_findings)
            );
            println!();
        }
        records.push(rec);
    }
    Ok((scenarios, records))
}

/// `ktstr calibrate`: the healthy runs' noise and the limits it supports.
pub(crate) fn calibrate(a: RunArgs) -> CmdResult {
    let report = if a.json {
        Report::Quiet
    } else {
        Report::Progress
    };
    let (_, records) = run_pairs(&a, report)?;
    let verdicts: Vec<Verdict> = records.into_iter().map(|r| r.verdict).collect();
    let calibration = ktstr_eval::calibration::calibrate(&verdicts).ok_or_else(|| {
        Failure::usage(anyhow!(
            "no runs to calibrate from, or runs on different accelerators\nhint: pick one `--backend`"
        ))
    })?;
    if a.json {
        crate::failure::print_json(&calibration)?;
    } else {
        if a.repeat < 10 {
            println!(
                "note: {} run(s) per scenario; `--repeat 10` or more gives limits worth keeping",
                a.repeat
            );
        }
        print!("{}", calibration.render_text());
    }
    Ok(if calibration.false_alarms.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

pub(crate) fn run(a: RunArgs) -> CmdResult {
    let report = if a.json { Report::Quiet } else { Report::Full };
    let (scenarios, records) = run_pairs(&a, report)?;
    let failed = records.iter().filter(|r| !r.passed()).count();
    let durations: BTreeMap<&str, u64> = scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.duration_ms))
        .collect();
    let spread = repeat::summarise(records.iter().map(|r| {
        (
            &r.verdict,
            durations
                .get(r.meta.scenario.as_str())
                .copied()
                .unwrap_or(1),
        )
    }));
    if let Some(path) = &a.junit {
        write_junit(path, "ktstr run", &records)?;
    }
    if let Some(path) = &a.html {
        write_html(path, &records)?;
    }
    if a.json && a.repeat > 1 {
        let out = serde_json::json!({ "runs": records, "repeat": spread });
        crate::failure::print_json(&out)?;
    } else if a.json {
        crate::failure::print_json(&records)?;
    } else {
        print!("{}", render_summary(&records));
        if a.repeat > 1 {
            print!("{}", repeat::render(&spread));
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// Writes `records` as JUnit XML to `path`.
pub(crate) fn write_junit(path: &Path, name: &str, records: &[RunRecord]) -> Result<(), Failure> {
    let stored: Vec<_> = records.iter().map(RunRecord::to_stored).collect();
    let xml = ktstr_results::runs_junit(name, &stored).map_err(Failure::failed)?;
    crate::failure::write_report(path, "JUnit", &xml)
}

/// Writes `records` as an HTML report to `path`.
fn write_html(path: &Path, records: &[RunRecord]) -> Result<(), Failure> {
    let views: Vec<ktstr_report::RunView<'_>> = records
        .iter()
        .map(|r| ktstr_report::RunView {
            meta: &r.meta,
            passed: r.passed,
            failure: r.failure.as_deref(),
            verdict: &r.verdict,
            timeline: r.timeline.as_ref(),
        })
        .collect();
    let html = ktstr_report::runs_html("ktstr run", &views).map_err(Failure::failed)?;
    crate::failure::write_report(path, "the HTML report", &html)
}

/// The runner for `a`'s kernel, backend and plugins; plugin warnings go to stderr.
fn open_runner(a: &RunArgs) -> Result<Runner, Failure> {
    let results = if a.no_results {
        ResultsDir::Off
    } else {
        ResultsDir::At(a.results.resolve()?)
    };
    let runner = Runner::open(RunnerOptions {
        kernel: a.kernel.clone(),
        backend: a.backend,
        plugins: a.plugins.clone(),
        memory_mib: a.memory,
        attach_timeout_s: a.attach_timeout,
        results,
        guest_fault: a.guest_fault,
        ..RunnerOptions::default()
    })?;
    if let Some(dir) = runner.results_dir() {
        eprintln!("results: run records go to {}", dir.display());
    }
    for w in runner.warnings() {
        crate::failure::warn(w);
    }
    Ok(runner)
}

/// Catalog names or TOML files; none = the whole catalog.
pub(crate) fn resolve_scenarios(names: &[String]) -> Result<Vec<Scenario>, Failure> {
    if names.is_empty() {
        return Ok(catalog::catalog());
    }
    names
        .iter()
        .map(|n| {
            let p = Path::new(n);
            if n.ends_with(".toml") || p.is_file() {
                let text = std::fs::read_to_string(p).map_err(|e| Failure::usage(anyhow!("failed to read scenario file `{n}`: {e}")))?;
                Scenario::from_toml(&text).map_err(|e| Failure::usage(anyhow!("scenario file `{n}` is malformed: {e}")))
            } else {
                catalog::find(n).ok_or_else(|| Failure::usage(anyhow!("unknown scenario `{n}`\nhint: `ktstr list` shows the catalog; a path to a .toml file also works")))
            }
        })
        .collect()
}

/// The last lines of `ktstr run`: one per run.
fn render_summary(records: &[RunRecord]) -> String {
    let passed = records.iter().filter(|r| r.passed()).count();
    let mut out = format!("summary: {passed} of {} runs passed\n", records.len());
    for r in records {
        out.push_str(&format!(
            "  {}  {:<20} {:<16} {}  {:.1} s\n",
            if r.passed() { "PASS" } else { "FAIL" },
            r.meta.scenario,
            r.meta.scheduler,
            r.meta.topology,
            r.wall_ms / 1e3
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_eval::{evaluate, Accel, RunInput, VmEnd};

    fn record(scenario: &str, scheduler: &str, completed: bool) -> RunRecord {
        let s = catalog::find(scenario).unwrap();
        let verdict = evaluate(&RunInput {
            scenario: s,
            scheduler: scheduler.into(),
            topology: "1n2l2c1t".into(),
            accel: Accel::Tcg,
            messages: Vec::new(),
            console: String::new(),
            vm_exit: if completed {
                VmEnd::Completed
            } else {
                VmEnd::Interrupted
            },
            wire_loss: None,
        });
        RunRecord {
            schema: ktstr_runner::RUN_RECORD_SCHEMA,
            meta: ktstr_runner::RunMeta {
                id: format!("20261202T140000Z-{scenario}"),
                started_at: "2026-12-02T14:00:00Z".into(),
                origin: ktstr_runner::RunOrigin::Run,
                scenario: scenario.into(),
                scheduler: scheduler.into(),
                scheduler_build: Default::default(),
                topology: "1n2l2c1t".into(),
                backend: "qemu".into(),
                accel: "tcg".into(),
                kernel: "52e228cb8f52".into(),
                kernel_build: Default::default(),
                host: Default::default(),
            },
            passed: verdict.passed(),
            failure: None,
            metrics: Vec::new(),
            timeline: None,
            wall_ms: 5234.0,
            boot_ms: Some(800.0),
            topology_mismatches: Vec::new(),
            verdict,
            payloads: Vec::new(),
            payload_findings: Vec::new(),
        }
    }

    #[test]
    fn summary_snapshot() {
        // No worker reports: both runs fail, which is what the summary shows.
        let records = [
            record("steady", "eevdf", true),
            record("cpuset-swap", "scx_simple", false),
        ];
        assert_eq!(
            render_summary(&records),
            "\
summary: 0 of 2 runs passed
  FAIL  steady               eevdf            1n2l2c1t  5.2 s
  FAIL  cpuset-swap          scx_simple       1n2l2c1t  5.2 s
"
        );
    }
}
