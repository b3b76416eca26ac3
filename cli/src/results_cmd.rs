//! `ktstr results`: the stored runs — list with filters, show one, import
//! another machine's results, rebuild the index.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use ktstr_results::{default_results_dir, Filter, ResultsStore, StoredRun, RESULTS_ENV};

use crate::failure::{Failure, OrUsage};
use crate::CmdResult;

/// Where results are: `--results DIR` on every command that reads or writes them.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct ResultsArg {
    /// Results directory. Default: $KTSTR_RESULTS, else `target/ktstr` in a cargo
    /// project, else $XDG_DATA_HOME/ktstr/results.
    #[arg(long = "results", id = "results_dir", value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

impl ResultsArg {
    /// The directory these arguments name.
    pub(crate) fn resolve(&self) -> Result<PathBuf, Failure> {
        self.dir.clone().or_else(default_results_dir).ok_or_else(|| {
            Failure::usage(anyhow!(
                "no results directory: no $HOME and no cargo project here\nhint: pass `--results DIR` or set ${RESULTS_ENV}"
            ))
        })
    }

    /// The store these arguments name, opened.
    pub(crate) fn open(&self) -> Result<ResultsStore, Failure> {
        ResultsStore::open(self.resolve()?).or_usage()
    }
}

#[derive(Subcommand)]
pub(crate) enum ResultsCommand {
    /// List stored runs, oldest first; filters are KEY=VALUE (id, scenario, scheduler,
    /// topology, kernel, commit, accel, host, origin, passed).
    List {
        /// Filters; the same key twice means either.
        filters: Vec<String>,
        /// Print JSON (each run's identity, outcome and metrics).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// Show one run: its identity, outcome and every metric (`--json`: the whole record).
    Show {
        /// The run id, or enough of its start to be unique.
        id: String,
        /// Print the whole run record as stored.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// Copy the runs of another results directory (another machine, a CI job) that this one lacks.
    Import {
        /// A results directory, or a directory of run record files.
        from: PathBuf,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// Rebuild the index from the run files.
    Reindex {
        #[command(flatten)]
        results: ResultsArg,
    },
}

pub(crate) fn run(c: ResultsCommand) -> CmdResult {
    match c {
        ResultsCommand::List {
            filters,
            json,
            results,
        } => {
            let filter = Filter::parse(&filters).or_usage()?;
            let store = results.open()?;
            let runs = store.list(&filter).or_usage()?;
            if json {
                crate::failure::print_json(&runs)?;
            } else {
                print!("{}", render_list(&runs, store.dir(), &filter));
            }
            Ok(ExitCode::SUCCESS)
        }
        ResultsCommand::Show { id, json, results } => {
            let store = results.open()?;
            let (run, record) = store.get(&id).or_usage()?;
            if json {
                crate::failure::print_json(&record)?;
            } else {
                print!("{}", render_show(&run, &store.record_path(&run.meta.id)));
            }
            Ok(ExitCode::SUCCESS)
        }
        ResultsCommand::Import { from: dir, results } => {
            if !dir.is_dir() {
                return Err(Failure::usage(anyhow!(
                    "`{}` is not a directory\nhint: give a results directory (holding runs/) or a directory of run .json files",
                    dir.display()
                )));
            }
            let store = results.open()?;
            let report = store.import(&dir).or_usage()?;
            println!(
                "imported {} run(s) into {}; {} already present",
                report.added,
                store.dir().display(),
                report.already_present
            );
            for r in &report.rejected {
                crate::failure::warn(&format!("skipped {r}"));
            }
            Ok(ExitCode::SUCCESS)
        }
        ResultsCommand::Reindex { results } => {
            let mut store = results.open()?;
            let (n, rejected) = store.reindex().or_usage()?;
            println!("indexed {n} run(s) in {}", store.dir().display());
            for r in &rejected {
                crate::failure::warn(&format!("skipped {r}"));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line per run: id, outcome, scenario, scheduler, topology, kernel, time.
fn render_list(runs: &[StoredRun], dir: &Path, filter: &Filter) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        let what = if filter.is_empty() {
            String::new()
        } else {
            format!(" matching {filter}")
        };
        return format!("no runs{what} in {}\n", dir.display());
    }
    let w = |f: &dyn Fn(&StoredRun) -> usize| runs.iter().map(f).max().unwrap_or(0);
    let (wi, ws, wd) = (
        w(&|r| r.meta.id.len()),
        w(&|r| r.meta.scenario.len()).max(8),
        w(&|r| r.meta.scheduler.len()).max(9),
    );
    out.push_str(&format!(
        "{:<wi$}  {:<4}  {:<ws$}  {:<wd$}  {:<9} {:<12} {}\n",
        "id", "", "scenario", "scheduler", "topology", "kernel", "started"
    ));
    for r in runs {
        let m = &r.meta;
        out.push_str(&format!(
            "{:<wi$}  {:<4}  {:<ws$}  {:<wd$}  {:<9} {:<12} {} ({})\n",
            m.id,
            if r.passed { "PASS" } else { "FAIL" },
            m.scenario,
            m.scheduler,
            m.topology,
            m.kernel,
            m.started_at,
            m.origin
        ));
    }
    out.push_str(&format!("{} run(s) in {}\n", runs.len(), dir.display()));
    out
}

/// A run's identity, outcome and metrics.
fn render_show(r: &StoredRun, file: &Path) -> String {
    let m = &r.meta;
    let b = &m.scheduler_build;
    let mut out = String::new();
    let mut row = |k: &str, v: String| out.push_str(&format!("{k:<10} {v}\n"));
    row("run", m.id.clone());
    row(
        "outcome",
        match &r.failure {
            None if r.passed => "PASS".into(),
            None => "FAIL".into(),
            Some(f) => format!("FAIL: {f}"),
        },
    );
    row("scenario", m.scenario.clone());
    let mut sched = m.scheduler.clone();
    if let Some(sha) = &b.sha256 {
        sched.push_str(&format!(" (sha256 {})", &sha[..sha.len().min(12)]));
    }
    if let Some(c) = &b.commit {
        sched.push_str(&format!(" (commit {})", &c[..c.len().min(12)]));
    }
    row("scheduler", sched);
    row(
        "topology",
        format!("{} on {} ({})", m.topology, m.backend, m.accel),
    );
    let mut kernel = m.kernel.clone();
    if let Some(v) = &m.kernel_build.version {
        kernel.push_str(&format!(" (Linux {v})"));
    }
    row("kernel", kernel);
    row(
        "host",
        format!(
            "{} ({}, {} cpus)",
            m.host.hostname, m.host.cpu_model, m.host.cores
        ),
    );
    row(
        "started",
        format!("{} by {}, {:.1} s", m.started_at, m.origin, r.wall_ms / 1e3),
    );
    row("file", file.display().to_string());
    if !r.metrics.is_empty() {
        let wn = r.metrics.iter().map(|x| x.name.len()).max().unwrap_or(0);
        out.push_str("metrics\n");
        for x in &r.metrics {
            let polarity = match x.polarity {
                Some(ktstr_model::HintPolarity::HigherBetter) => "higher is better".to_string(),
                Some(ktstr_model::HintPolarity::LowerBetter) => "lower is better".to_string(),
                Some(ktstr_model::HintPolarity::Target(t)) => format!("best at {t}"),
                None => String::new(),
            };
            let line = format!(
                "  {:<wn$}  {:>12} {:<6} {polarity}",
                x.name,
                format_value(x.value),
                x.unit.as_deref().unwrap_or("")
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_model::HintPolarity;
    use ktstr_results::{HostInfo, RunMeta, RunMetric, RunOrigin, SchedulerBuild};

    pub(crate) fn stored(id: &str, scheduler: &str, passed: bool) -> StoredRun {
        StoredRun {
            schema: ktstr_results::RUN_RECORD_SCHEMA,
            meta: RunMeta {
                id: id.into(),
                started_at: "2026-12-02T14:00:00Z".into(),
                origin: RunOrigin::Run,
                scenario: "steady".into(),
                scheduler: scheduler.into(),
                scheduler_build: SchedulerBuild {
                    name: scheduler.into(),
                    sha256: Some("0123456789abcdef".into()),
                    ..Default::default()
                },
                topology: "1n2l2c1t".into(),
                backend: "qemu".into(),
                accel: "tcg".into(),
                kernel: "258dfc47bb81".into(),
                kernel_build: Default::default(),
                host: HostInfo {
                    hostname: "ci-1".into(),
                    cpu_model: "AMD EPYC".into(),
                    cores: 2,
                },
            },
            passed,
            failure: (!passed).then(|| "stall: worker 1 did not run for 2.1 s".into()),
            wall_ms: 8123.0,
            metrics: vec![
                RunMetric::new(
                    "total_work_units",
                    130859.0,
                    "units",
                    Some(HintPolarity::HigherBetter),
                ),
                RunMetric::new("worst_gap_ms", 39.0, "ms", Some(HintPolarity::LowerBetter)),
            ],
        }
    }

    #[test]
    fn list_snapshot() {
        let runs = [
            stored("20261202T140000Z-0a1b2c3d", "scx_simple", true),
            stored("20261202T140010Z-4e5f6a7b", "eevdf", false),
        ];
        let f = Filter::parse(["scenario=steady"]).unwrap();
        assert_eq!(
            render_list(&runs, Path::new("/r"), &f),
            "\
id                               scenario  scheduler   topology  kernel       started
20261202T140000Z-0a1b2c3d  PASS  steady    scx_simple  1n2l2c1t  258dfc47bb81 2026-12-02T14:00:00Z (run)
20261202T140010Z-4e5f6a7b  FAIL  steady    eevdf       1n2l2c1t  258dfc47bb81 2026-12-02T14:00:00Z (run)
2 run(s) in /r
"
        );
        assert_eq!(
            render_list(&[], Path::new("/r"), &f),
            "no runs matching scenario=steady in /r\n"
        );
    }

    #[test]
    fn show_snapshot() {
        let r = stored("20261202T140010Z-4e5f6a7b", "eevdf", false);
        assert_eq!(
            render_show(&r, Path::new("/r/runs/x.json")),
            "\
run        20261202T140010Z-4e5f6a7b
outcome    FAIL: stall: worker 1 did not run for 2.1 s
scenario   steady
scheduler  eevdf (sha256 0123456789ab)
topology   1n2l2c1t on qemu (tcg)
kernel     258dfc47bb81
host       ci-1 (AMD EPYC, 2 cpus)
started    2026-12-02T14:00:00Z by run, 8.1 s
file       /r/runs/x.json
metrics
  total_work_units        130859 units  higher is better
  worst_gap_ms                39 ms     lower is better
"
        );
    }
}
