//! The checks, one per file, and the result types they share.

mod fairness;
mod gap;
mod isolation;
mod kernel_health;
mod metrics;
mod migrations;
mod run_delay;
mod sched_class;
mod scheduler;
mod starvation;
mod steps;
mod throughput;
mod vm;
mod wake_latency;
mod workers;

use std::fmt;

use serde::Serialize;

use crate::context::Ctx;

pub(crate) use fairness::fair_groups;
pub(crate) use run_delay::worst_wait_to_run_ns;
pub(crate) use wake_latency::p99_by_cgroup;

/// How a check, or the whole run, came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Judged and within limits.
    Pass,
    /// Judged and outside limits; the details say where.
    Fail,
    /// Not judged (nothing comparable, or disabled); the summary says why.
    Skip,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        })
    }
}

/// What a detail is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DetailKind {
    /// A worker made no, or almost no, progress.
    Starvation,
    /// Same-type workers of a cgroup got unequal shares.
    Fairness,
    /// A worker went too long without progress.
    Gap,
    /// A worker ran on a CPU outside its cgroup's cpuset.
    Isolation,
    /// Blocking workers were woken too late.
    WakeLatency,
    /// Blocking workers waited too long on a run queue (schedstat).
    RunDelay,
    /// A custom worker's metric was outside the scenario's bound, or missing.
    MetricBound,
    /// A worker changed CPUs too often.
    Migration,
    /// Comparable cgroups got unequal per-worker throughput.
    Throughput,
    /// The kernel logged a warning, bug, stall or lockup.
    KernelHealth,
    /// The BPF scheduler exited or was disabled by the kernel.
    SchedulerDied,
    /// A worker ran in a scheduling class other than the run promised (off
    /// sched_ext under a sched_ext scheduler, or on it under EEVDF), or the
    /// scheduler switched tasks in another mode than the scenario declares.
    SchedClass,
    /// The VM did not end normally.
    VmFailure,
    /// The guest runtime itself reported an error.
    GuestError,
    /// An expected message never arrived.
    MissingReport,
    /// A worker ended abnormally.
    WorkerDied,
    /// A scenario step's operation failed.
    StepFailed,
    /// Messages were lost between guest and host.
    WireLoss,
}

/// One piece of evidence: what went wrong, where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detail {
    /// What it is evidence of.
    pub kind: DetailKind,
    /// One line a person can act on, e.g. `stuck 2310 ms on cpu 3 at +1520 ms`.
    pub message: String,
    /// The cgroup concerned, if one is.
    pub cgroup: Option<String>,
    /// The worker index concerned, if one is.
    pub worker: Option<u32>,
    /// Supporting lines (kernel log, scheduler output, console tail), oldest first.
    pub evidence: Vec<String>,
}

impl Detail {
    pub(crate) fn new(kind: DetailKind, message: impl Into<String>) -> Self {
        Detail {
            kind,
            message: message.into(),
            cgroup: None,
            worker: None,
            evidence: Vec::new(),
        }
    }

    pub(crate) fn cgroup(mut self, cgroup: &str) -> Self {
        self.cgroup = Some(cgroup.to_string());
        self
    }

    pub(crate) fn worker(mut self, index: u32) -> Self {
        self.worker = Some(index);
        self
    }

    pub(crate) fn evidence(mut self, lines: impl IntoIterator<Item = String>) -> Self {
        self.evidence.extend(lines);
        self
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// The check's name, e.g. `gap`.
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// One line: the measured worst case on pass, the count on fail, the reason on skip.
    pub summary: String,
    /// The evidence; empty unless it failed.
    pub details: Vec<Detail>,
    /// For checks that compare a measured value with a limit: the judged
    /// value closest to (or furthest past) its limit, for calibration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
}

/// A judged value and the limit it was held to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measure {
    /// The value, in the limit's unit, with any per-worker allowance (a
    /// bursty worker's sleep) taken off.
    pub value: f64,
    /// The limit.
    pub limit: f64,
}

impl Measure {
    /// The one of `values` (value, limit) with the highest `value / limit`.
    pub(crate) fn worst(values: impl IntoIterator<Item = (f64, f64)>) -> Option<Measure> {
        values
            .into_iter()
            .filter(|(_, limit)| *limit > 0.0)
            .map(|(value, limit)| Measure { value, limit })
            .max_by(|a, b| (a.value / a.limit).total_cmp(&(b.value / b.limit)))
    }
}

impl CheckResult {
    pub(crate) fn skip(name: &'static str, reason: impl Into<String>) -> Self {
        CheckResult {
            name,
            status: Status::Skip,
            summary: reason.into(),
            details: Vec::new(),
            measure: None,
        }
    }

    /// Pass with `ok` when there are no details, else fail with `failed`.
    pub(crate) fn judge(
        name: &'static str,
        details: Vec<Detail>,
        ok: impl FnOnce() -> String,
        failed: impl FnOnce(&[Detail]) -> String,
    ) -> Self {
        let (status, summary) = if details.is_empty() {
            (Status::Pass, ok())
        } else {
            (Status::Fail, failed(&details))
        };
        CheckResult {
            name,
            status,
            summary,
            details,
            measure: None,
        }
    }

    /// Attaches the judged value closest to its limit.
    pub(crate) fn with_measure(mut self, measure: Option<Measure>) -> Self {
        self.measure = measure;
        self
    }
}

/// Runs every check, in report order: the run's integrity first, then the
/// scheduler's behaviour.
pub(crate) fn run_all(ctx: &Ctx<'_>) -> Vec<CheckResult> {
    vec![
        vm::check(ctx),
        scheduler::check(ctx),
        kernel_health::check(ctx),
        steps::check(ctx),
        workers::check(ctx),
        sched_class::check(ctx),
        starvation::check(ctx),
        fairness::check(ctx),
        gap::check(ctx),
        isolation::check(ctx),
        wake_latency::check(ctx),
        run_delay::check(ctx),
        metrics::check(ctx),
        migrations::check(ctx),
        throughput::check(ctx),
    ]
}

/// `n thing` or `n things`.
pub(crate) fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("{n} {thing}")
    } else {
        format!("{n} {thing}s")
    }
}
