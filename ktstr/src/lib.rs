//! ktstr as a library: write scheduler tests in your scheduler's own
//! repository and run them in real sched_ext VMs with `cargo test` or
//! `cargo nextest run`.
//!
//! A test is a function marked `#[ktstr::test]`; a test target with
//! `harness = false` calls [`harness::main`]:
//!
//! ```no_run
//! use ktstr::{RunRecord, Scenario, WorkType};
//!
//! /// Declarative: the scenario must pass under scx_simple on two topologies.
//! #[ktstr::test(scheduler = "scx_simple", topology = ["1,2,2,1", "llc-pair"])]
//! fn two_cgroups_share_fairly() -> Scenario {
//!     Scenario::builder("two-cgroups")
//!         .cgroup("a", |c| c.workers(2, WorkType::Spin))
//!         .cgroup("b", |c| c.workers(2, WorkType::Spin))
//!         .build()
//! }
//!
//! /// Host-side assertions against a baseline run of the same scenario.
//! #[ktstr::test(scenario = "steady", scheduler = "scx_simple", baseline = "eevdf")]
//! fn keeps_up_with_eevdf(record: &RunRecord, baseline: &RunRecord) -> Result<(), String> {
//!     ktstr::expect_ratio_at_least("work units", record, baseline, 0.5, ktstr::total_work_units)
//! }
//!
//! fn main() {
//!     ktstr::harness::main();
//! }
//! ```
//!
//! Each `(test, topology, scheduler)` is its own case, named
//! `test/TOPOLOGY/SCHEDULER`; listing boots nothing. A case that cannot run
//! on this machine (no cached kernel, no VM backend, a scheduler not built)
//! is reported as ignored, with the reason on standard error, never as passed.
#![deny(missing_docs)]

pub mod harness;

/// A/B comparison of stored runs (what `ktstr compare` prints).
pub use ktstr_compare as compare;
pub use ktstr_eval::{CheckResult, Detail, DetailKind, Status, Thresholds, Verdict};
pub use ktstr_guest::CustomWorker;
pub use ktstr_macros::{test, worker};
pub use ktstr_model::{
    catalog, preset, presets, AffinityMode, CgroupSpec, CpusetSpec, Hold, MetricBound, Op, Policy,
    Preset, Scenario, ScenarioBuilder, Step, ThresholdOverrides, Topology, WorkType, WorkerGroup,
};
/// The results store every case's run record is written to (`target/ktstr`).
pub use ktstr_results as results;
pub use ktstr_runner::{
    BackendChoice, GuestRuntime, PayloadReport, ResultsDir, Run, RunError, RunMeta, RunMetric,
    RunOrigin, RunRecord, Runner, RunnerOptions, SchedulerArg, EEVDF, RUN_RECORD_SCHEMA,
};
pub use ktstr_scheduler::{FlagDecl, SchedulerDecl, SchedulerSource};

/// Work units over every worker of a run (a throughput measure for
/// [`expect_ratio_at_least`]).
pub fn total_work_units(record: &RunRecord) -> f64 {
    record.verdict.stats.total_work_units as f64
}

/// `Ok` when `measure(record) >= ratio * measure(baseline)`, else an error
/// naming the quantity, both runs' values and schedulers, and the ratio.
///
/// # Errors
///
/// The message above when the ratio is not reached (or the baseline is 0).
pub fn expect_ratio_at_least(
    what: &str,
    record: &RunRecord,
    baseline: &RunRecord,
    ratio: f64,
    measure: impl Fn(&RunRecord) -> f64,
) -> Result<(), String> {
    let (a, b) = (measure(record), measure(baseline));
    if b > 0.0 && a >= ratio * b {
        return Ok(());
    }
    let got = if b > 0.0 {
        format!("{:.3}x", a / b)
    } else {
        "undefined (baseline is 0)".to_owned()
    };
    Err(format!(
        "{what}: {a} under `{}` vs {b} under `{}` (baseline) is {got}, expected at least {ratio}x",
        record.meta.scheduler, baseline.meta.scheduler
    ))
}

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
