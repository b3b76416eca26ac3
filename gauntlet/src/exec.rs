//! Running a gauntlet: cells from a queue, in parallel jobs each with its own
//! [`Runner`], within a budget, then the report of every cell.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ktstr_model::{Preset, Scenario};
use ktstr_runner::{RunRecord, Runner, RunnerOptions, SchedulerArg};

use crate::{Cell, CellResult, CellStatus, Durations, GauntletReport, Plan};

/// What a gauntlet runs with.
pub struct Execution<'a> {
    /// The scenarios the cells name.
    pub scenarios: &'a [Scenario],
    /// The presets, in report order.
    pub presets: &'a [Preset],
    /// Each scheduler under test by name, resolved (cells add their profile's arguments).
    pub schedulers: &'a [(String, SchedulerArg)],
    /// What every job's runner opens.
    pub options: RunnerOptions,
    /// VMs at once.
    pub jobs: usize,
    /// Cells start only if they are expected to end within it.
    pub budget: Option<Duration>,
}

/// How a gauntlet ended: the report, the updated duration history, and
/// whether Ctrl-C cut it short.
pub struct Executed {
    /// Every cell of the plan, run or not.
    pub report: GauntletReport,
    /// The duration history with this run's cells recorded.
    pub durations: Durations,
    /// Ctrl-C stopped it (unfinished cells are reported as not run).
    pub interrupted: bool,
}

/// Runs `queue` (cells in the order to try them; `expected` of them are
/// expected to fit), reporting each finished cell's progress line to `progress`.
pub fn execute(
    plan: &Plan,
    queue: &[Cell],
    expected: usize,
    durations: Durations,
    exec: &Execution<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> Executed {
    let started = Instant::now();
    let shared = Shared {
        queue: Mutex::new(queue.iter().cloned().collect()),
        results: Mutex::new(Vec::new()),
        durations: Mutex::new(durations),
        started,
        budget: exec.budget,
        total: expected,
        jobs: exec.jobs.max(1),
    };
    std::thread::scope(|scope| {
        for _ in 0..shared.jobs {
            let shared = &shared;
            scope.spawn(move || worker(shared, exec, progress));
        }
    });
    let interrupted = ktstr_vmm::stop_requested();
    let durations = shared.durations.into_inner().expect("no worker panicked");
    let mut cells = shared.results.into_inner().expect("no worker panicked");
    let not_run = shared.queue.into_inner().expect("no worker panicked");
    let planned_not_chosen = plan.cells.iter().filter(|c| !queue.contains(c)).cloned();
    cells.extend(
        not_run
            .into_iter()
            .chain(planned_not_chosen)
            .map(|cell| CellResult {
                cell,
                status: CellStatus::NotRun,
                detail: Some(if interrupted { "interrupted" } else { "budget" }.into()),
                wall_ms: None,
            }),
    );
    for (list, status) in [
        (&plan.skipped, CellStatus::Skip),
        (&plan.invalid, CellStatus::Error),
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
            exec.scenarios
                .iter()
                .position(|s| s.name == c.cell.scenario),
            exec.presets.iter().position(|p| p.name == c.cell.preset),
            c.cell.scheduler.clone(),
            c.cell.profile.clone(),
        )
    };
    cells.sort_by_key(order);
    Executed {
        report: GauntletReport {
            scenarios: exec.scenarios.iter().map(|s| s.name.clone()).collect(),
            presets: exec.presets.iter().map(|p| p.name.to_owned()).collect(),
            cells,
            budget_ms: exec.budget.map(|b| b.as_millis() as u64),
            elapsed_ms: started.elapsed().as_millis() as u64,
        },
        durations,
        interrupted,
    }
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

fn worker(shared: &Shared, exec: &Execution<'_>, progress: &(dyn Fn(&str) + Sync)) {
    // The command opened one before starting the jobs, so a failure here is
    // rare; the cells this job leaves are reported as not run.
    let runner = match Runner::open(exec.options.clone()) {
        Ok(r) => r,
        Err(e) => {
            return progress(&format!(
                "warning: a gauntlet job could not open its VM backend or adapters: {}",
                ktstr_runner::error_text(&e)
            ))
        }
    };
    while let Some(cell) = shared.next() {
        if ktstr_vmm::stop_requested() {
            shared.give_back(cell);
            return;
        }
        let scenario = exec
            .scenarios
            .iter()
            .find(|s| s.name == cell.scenario)
            .expect("cells come from these scenarios");
        let mut sched = exec
            .schedulers
            .iter()
            .find(|(n, _)| n == &cell.scheduler)
            .map(|(_, s)| s.clone())
            .expect("cells come from these schedulers");
        sched.args.clone_from(&cell.args);
        let t0 = Instant::now();
        let result = match runner.run(scenario, &sched, cell.topology) {
            // Judged but not stored (a full disk): the cell keeps its verdict.
            Err(ktstr_runner::RunError::NotStored { record, source }) => {
                progress(&format!(
                    "warning: the run record was not stored: {}",
                    ktstr_runner::error_text(&source)
                ));
                Ok(*record)
            }
            other => other,
        };
        let wall = t0.elapsed();
        let (status, detail) = match &result {
            Ok(rec) if rec.passed() => (CellStatus::Pass, None),
            Ok(rec) => (CellStatus::Fail, Some(first_detail(rec))),
            Err(e) => (CellStatus::Error, Some(ktstr_runner::error_text(e))),
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
        let failed = results
            .iter()
            .filter(|r| matches!(r.status, CellStatus::Fail | CellStatus::Error))
            .count();
        let line = Progress {
            done: results.len(),
            total: shared.total,
            approximate: shared.budget.is_some(),
            failed,
            eta: shared.eta(),
        }
        .line(&cell, status, wall, detail.as_deref());
        progress(&line);
    }
}

/// The first failed check's first detail (or the topology or payload problem).
fn first_detail(rec: &RunRecord) -> String {
    rec.first_failure().unwrap_or_else(|| "failed".to_owned())
}

/// Where the gauntlet stands after a cell, for its progress line.
pub struct Progress {
    /// Cells finished.
    pub done: usize,
    /// Cells expected in all.
    pub total: usize,
    /// The total is the budget's estimate.
    pub approximate: bool,
    /// Cells failed or in error so far.
    pub failed: usize,
    /// Expected time left, `3m10s`.
    pub eta: String,
}

impl Progress {
    /// `[12/~47] PASS steady on tiny under scx_simple (4.9 s) — 0 failed so far, ETA 3m10s`.
    pub fn line(
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
                .map(|d| format!(": {}", d.lines().next().unwrap_or_default()))
                .unwrap_or_default(),
            self.failed,
            self.eta
        )
    }
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
}
