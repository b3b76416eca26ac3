//! `ktstr compare`: is B better or worse than A? Either both sides run now,
//! interleaved (A B B A ...) on one kernel and topology, or both come from
//! the results store by filters.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;
use ktstr_compare::{interleaved, render_markdown, render_text, Comparison, Gate, Side};
use ktstr_model::Topology;
use ktstr_results::{Filter, RunOrigin, StoredRun};
use ktstr_runner::{BackendChoice, ResultsDir, Runner, RunnerOptions};

use crate::failure::{Failure, OrUsage, EXIT_FAILED};
use crate::results_cmd::ResultsArg;
use crate::CmdResult;

#[derive(Args)]
pub(crate) struct CompareArgs {
    /// Side A, the baseline: a scheduler to run now (`scx_simple`, `"scx_qmap -s 500"`, a path),
    /// or stored runs by KEY=VALUE filters (`scheduler=scx_simple,kernel=258d`, `id=2026...`).
    #[arg(long = "a", value_name = "SCHEDULER|FILTERS")]
    a: String,
    /// Side B, the candidate: as `--a`.
    #[arg(long = "b", value_name = "SCHEDULER|FILTERS")]
    b: String,
    /// Scenario(s) to run now (catalog names or TOML files); with filters, limits the
    /// stored runs to these scenarios. Default when running now: `steady`.
    #[arg(long = "scenario", short = 'c')]
    scenarios: Vec<String>,
    /// Runs per side and scenario when running now (2-100; 5 or more can detect a change).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=100))]
    repeat: u32,
    /// Topology as N,L,C,T or a preset name, for scenarios that do not fix their own.
    #[arg(long, short = 't', default_value = "1,2,2,1")]
    topology: String,
    /// Kernel: a cache id (prefix) or a path to a bzImage.
    #[arg(long)]
    kernel: Option<String>,
    /// VM backend: auto, qemu or kvm.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// A change counts only when the medians differ by at least this many percent (0-1000).
    #[arg(long, default_value_t = 5.0, value_parser = parse_percent)]
    threshold: f64,
    /// A change counts only when the rank test's p-value is below this (0.001-0.5).
    #[arg(long, default_value_t = 0.05, value_parser = parse_alpha)]
    alpha: f64,
    /// Print JSON (the comparison, every metric).
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// Print Markdown (a pull-request comment).
    #[arg(long)]
    markdown: bool,
    /// Also write the comparison as JUnit XML (one case per metric; a regression fails).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write one self-contained HTML report: the table and A against B per metric.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    #[command(flatten)]
    results: ResultsArg,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|e| format!("{e}"))?;
    (0.0..=1000.0)
        .contains(&v)
        .then_some(v)
        .ok_or_else(|| format!("{v} is not in 0-1000"))
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    (0.001..=0.5)
        .contains(&v)
        .then_some(v)
        .ok_or_else(|| format!("{v} is not in 0.001-0.5"))
}

pub(crate) fn run(a: CompareArgs) -> CmdResult {
    let gate = Gate {
        alpha: a.alpha,
        min_change_pct: a.threshold,
    };
    let (fa, fb) = (a.a.contains('='), a.b.contains('='));
    let (runs_a, runs_b) = match (fa, fb) {
        (true, true) => from_store(&a)?,
        (false, false) => run_now(&a)?,
        _ => {
            return Err(Failure::usage(anyhow!(
                "`--a {}` and `--b {}`: both sides are schedulers to run now, or both are KEY=VALUE filters over stored runs",
                a.a,
                a.b
            )))
        }
    };
    let comparison = Comparison::new((&a.a, &runs_a), (&a.b, &runs_b), gate);
    if let Some(path) = &a.junit {
        let xml = ktstr_compare::junit(&comparison).map_err(Failure::failed)?;
        crate::failure::write_report(path, "JUnit", &xml)?;
    }
    if let Some(path) = &a.html {
        let html = ktstr_report::comparison_html(&comparison).map_err(Failure::failed)?;
        crate::failure::write_report(path, "the HTML report", &html)?;
    }
    if a.json {
        crate::failure::print_json(&comparison)?;
    } else if a.markdown {
        print!("{}", render_markdown(&comparison));
    } else {
        print!("{}", render_text(&comparison));
    }
    Ok(if comparison.regressed() {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Both sides from the results store.
fn from_store(a: &CompareArgs) -> Result<(Vec<StoredRun>, Vec<StoredRun>), Failure> {
    let store = a.results.open()?;
    let scenarios: Vec<String> = a
        .scenarios
        .iter()
        .map(|s| format!("scenario={s}"))
        .collect();
    let side = |spec: &str| -> Result<Vec<StoredRun>, Failure> {
        let filter =
            Filter::parse(std::iter::once(spec.to_string()).chain(scenarios.clone())).or_usage()?;
        let runs = store.list(&filter).or_usage()?;
        if runs.is_empty() {
            return Err(Failure::usage(anyhow!(
                "no stored run matches `{filter}` in {}\nhint: `ktstr results list` shows what is stored",
                store.dir().display()
            )));
        }
        Ok(runs)
    };
    Ok((side(&a.a)?, side(&a.b)?))
}

/// Both sides run now, interleaved A B B A per scenario, each run stored.
fn run_now(a: &CompareArgs) -> Result<(Vec<StoredRun>, Vec<StoredRun>), Failure> {
    let default_topo = Topology::parse_or_preset(&a.topology).or_usage()?;
    let names = if a.scenarios.is_empty() {
        vec!["steady".to_string()]
    } else {
        a.scenarios.clone()
    };
    let scenarios = crate::run_cmd::resolve_scenarios(&names)?;
    for s in &scenarios {
        s.validate(&s.topology.unwrap_or(default_topo))
            .map_err(Failure::usage)?;
    }
    let runner = Runner::open(RunnerOptions {
        kernel: a.kernel.clone(),
        backend: a.backend,
        results: ResultsDir::At(a.results.resolve()?),
        origin: RunOrigin::Compare,
        ..RunnerOptions::default()
    })?;
    for w in runner.warnings() {
        crate::failure::warn(w);
    }
    let (sa, sb) = (runner.scheduler(&a.a)?, runner.scheduler(&a.b)?);
    let order = interleaved(a.repeat as usize);
    let total = order.len() * scenarios.len();
    let (mut runs_a, mut runs_b) = (Vec::new(), Vec::new());
    let mut n = 0;
    for scenario in &scenarios {
        let topo = scenario.topology.unwrap_or(default_topo);
        for side in &order {
            n += 1;
            let (sched, into, label) = match side {
                Side::A => (&sa, &mut runs_a, "A"),
                Side::B => (&sb, &mut runs_b, "B"),
            };
            eprintln!(
                "[{n}/{total}] {label}: {} under {} on {topo} ...",
                scenario.name,
                sched.label()
            );
            let rec = runner.run(scenario, sched, topo)?;
            if !rec.passed() {
                eprintln!(
                    "  {label} run {} failed: {}",
                    rec.meta.id,
                    rec.failure.as_deref().unwrap_or("see `ktstr results show`")
                );
            }
            into.push(rec.to_stored());
        }
    }
    if let Some(dir) = runner.results_dir() {
        eprintln!("{total} runs stored in {}", dir.display());
    }
    Ok((runs_a, runs_b))
}
