//! The verdict: every check's result and the run's numbers at a glance.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::checks::{self, fair_groups, p99_by_cgroup, CheckResult, Status};
use crate::context::Ctx;
use crate::{Accel, EvalError, RunInput, Thresholds};

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The scenario's name.
    pub scenario: String,
    /// The scheduler under test.
    pub scheduler: String,
    /// The topology label.
    pub topology: String,
    /// How the vCPUs were provided.
    pub accel: Accel,
    /// [`Status::Fail`] if any check failed, else [`Status::Pass`].
    pub status: Status,
    /// Every check, in the order they ran.
    pub checks: Vec<CheckResult>,
    /// The run's numbers.
    pub stats: Summary,
    /// The limits the run was judged by.
    pub thresholds: Thresholds,
}

impl Verdict {
    /// Whether every check passed or was skipped.
    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// The verdict as pretty-printed JSON, for machines.
    ///
    /// # Errors
    ///
    /// [`EvalError::Json`] if serialization fails (it does not for verdicts
    /// built by [`evaluate`]: every map key is a string).
    pub fn to_json(&self) -> Result<String, EvalError> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

/// The run's numbers, for the report's first lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Worker reports received.
    pub workers: usize,
    /// Work units over all workers.
    pub total_work_units: u64,
    /// The largest spread among the groups the fairness check judged.
    pub worst_spread: Option<WorstSpread>,
    /// The longest progress gap of any worker.
    pub worst_gap: Option<WorstGap>,
    /// The longest mean wait to run of a blocking worker (schedstat), µs.
    pub worst_wait_to_run_us: Option<u64>,
    /// Every metric custom workers reported.
    pub custom_metrics: Vec<CustomMetric>,
    /// One entry per cgroup with worker reports, by name.
    pub per_cgroup: Vec<CgroupSummary>,
}

/// A metric a custom worker reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomMetric {
    /// The worker's cgroup.
    pub cgroup: String,
    /// The worker's index.
    pub worker: u32,
    /// The metric's name.
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// Where the largest within-cgroup spread was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstSpread {
    /// The cgroup.
    pub cgroup: String,
    /// The work type of the compared workers.
    pub work: String,
    /// `(max - min) / mean` of their work rates, percent.
    pub spread_pct: f64,
}

/// Where the longest progress gap was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstGap {
    /// The worker's cgroup.
    pub cgroup: String,
    /// The worker's index.
    pub worker: u32,
    /// The CPU it was on when the gap ended.
    pub cpu: u32,
    /// The gap, ms.
    pub gap_ms: u64,
    /// When the gap ended, ms after the worker started.
    pub at_ms: u64,
}

/// One cgroup's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CgroupSummary {
    /// Its path under the scenario root.
    pub name: String,
    /// Worker reports from it.
    pub workers: usize,
    /// Work units over its workers.
    pub work_units: u64,
    /// Mean work units per worker.
    pub mean_units: f64,
    /// The largest spread the fairness check judged in it, percent.
    pub spread_pct: Option<f64>,
    /// Its longest worker gap, ms.
    pub max_gap_ms: u64,
    /// The p99 of its workers' wake-up latencies, µs, if there were samples.
    pub p99_wake_us: Option<u64>,
    /// Migrations per second of wall time, averaged over its workers.
    pub migrations_per_sec: f64,
    /// Every CPU any of its workers ran on.
    pub cpus_used: Vec<u32>,
}

/// Judges a run with the default thresholds for its accelerator and the
/// scenario's overrides.
pub fn evaluate(input: &RunInput) -> Verdict {
    let t = Thresholds::for_accel(input.accel)
        .for_run_length(input.scenario.duration_ms)
        .apply(&input.scenario.thresholds);
    evaluate_with(input, &t)
}

/// Judges a run with the given thresholds.
pub fn evaluate_with(input: &RunInput, thresholds: &Thresholds) -> Verdict {
    let ctx = Ctx::new(input, thresholds);
    let checks = checks::run_all(&ctx);
    let status = match checks.iter().any(|c| c.status == Status::Fail) {
        true => Status::Fail,
        false => Status::Pass,
    };
    Verdict {
        scenario: input.scenario.name.clone(),
        scheduler: input.scheduler.clone(),
        topology: input.topology.clone(),
        accel: input.accel,
        status,
        checks,
        stats: summarize(&ctx),
        thresholds: thresholds.clone(),
    }
}

fn summarize(ctx: &Ctx<'_>) -> Summary {
    let groups = fair_groups(ctx);
    let p99 = p99_by_cgroup(ctx);
    let mut by_cgroup: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for w in &ctx.workers {
        by_cgroup.entry(w.cgroup.as_str()).or_default().push(*w);
    }
    let per_cgroup = by_cgroup
        .into_iter()
        .map(|(name, ws)| {
            let work_units: u64 = ws.iter().map(|w| w.work_units).sum();
            let wall_s: f64 = ws.iter().map(|w| w.wall_ns as f64 / 1e9).sum();
            let migrations: u64 = ws.iter().map(|w| w.migrations).sum();
            let cpus: BTreeSet<u32> = ws
                .iter()
                .flat_map(|w| w.cpus_by_phase.iter().flat_map(|(_, c)| c.iter().copied()))
                .collect();
            CgroupSummary {
                name: name.to_string(),
                workers: ws.len(),
                work_units,
                mean_units: work_units as f64 / ws.len() as f64,
                spread_pct: groups
                    .iter()
                    .filter(|g| g.cgroup == name)
                    .map(|g| g.spread_pct)
                    .max_by(f64::total_cmp),
                max_gap_ms: ws.iter().map(|w| w.max_gap_ns).max().unwrap_or(0) / 1_000_000,
                p99_wake_us: p99.get(name).map(|(ns, _)| ns / 1_000),
                migrations_per_sec: if wall_s > 0.0 {
                    migrations as f64 / wall_s
                } else {
                    0.0
                },
                cpus_used: cpus.into_iter().collect(),
            }
        })
        .collect();
    Summary {
        workers: ctx.workers.len(),
        total_work_units: ctx.workers.iter().map(|w| w.work_units).sum(),
        worst_spread: groups
            .iter()
            .max_by(|a, b| a.spread_pct.total_cmp(&b.spread_pct))
            .map(|g| WorstSpread {
                cgroup: g.cgroup.to_string(),
                work: g.work.to_string(),
                spread_pct: g.spread_pct,
            }),
        worst_gap: ctx
            .workers
            .iter()
            .max_by_key(|w| w.max_gap_ns)
            .map(|w| WorstGap {
                cgroup: w.cgroup.clone(),
                worker: w.index,
                cpu: w.max_gap_cpu,
                gap_ms: w.max_gap_ns / 1_000_000,
                at_ms: w.max_gap_at_ns / 1_000_000,
            }),
        worst_wait_to_run_us: checks::worst_wait_to_run_ns(ctx).map(|ns| ns / 1_000),
        custom_metrics: ctx
            .workers
            .iter()
            .flat_map(|w| {
                w.metrics.iter().map(|(name, value)| CustomMetric {
                    cgroup: w.cgroup.clone(),
                    worker: w.index,
                    name: name.clone(),
                    value: *value,
                })
            })
            .collect(),
        per_cgroup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use ktstr_wire::Message;

    #[test]
    fn healthy_run_passes_every_check() {
        let v = evaluate(&two_spinners());
        assert!(v.passed(), "{}", v.render_text());
        assert_eq!(v.stats.total_work_units, 2000);
        assert_eq!(v.stats.per_cgroup[0].migrations_per_sec, 5.0);
        assert_eq!(v.stats.worst_spread.as_ref().unwrap().spread_pct, 0.0);
    }

    #[test]
    fn one_failing_check_fails_the_run() {
        let mut i = two_spinners();
        if let Message::Worker(w) = &mut i.messages[0] {
            w.max_gap_ns = 3_000_000_000;
        }
        let v = evaluate(&i);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.failures().map(|c| c.name).collect::<Vec<_>>(), ["gap"]);
        assert_eq!(v.stats.worst_gap.as_ref().unwrap().gap_ms, 3000);
    }

    #[test]
    fn tcg_thresholds_and_overrides_reach_the_checks() {
        let mut i = two_spinners();
        if let Message::Worker(w) = &mut i.messages[0] {
            w.max_gap_ns = 400_000_000;
        }
        assert!(!evaluate(&i).passed(), "400 ms is over KVM's 250 ms");
        i.accel = Accel::Tcg;
        assert!(evaluate(&i).passed());
        i.scenario.thresholds.max_gap_ms = Some(300);
        assert!(!evaluate(&i).passed());
    }

    /// A stall of a third of the run fails under TCG even though TCG's own
    /// gap limit (2 s) is longer than the stall.
    #[test]
    fn a_stall_of_a_third_of_a_tcg_run_fails() {
        let mut i = two_spinners();
        i.accel = Accel::Tcg;
        i.scenario.duration_ms = 3_000;
        if let Message::Worker(w) = &mut i.messages[0] {
            w.max_gap_ns = 1_000_000_000;
        }
        let v = evaluate(&i);
        assert_eq!(v.failures().map(|c| c.name).collect::<Vec<_>>(), ["gap"]);
    }

    #[test]
    fn json_has_status_checks_and_stats() {
        let v = evaluate(&two_spinners());
        let json: serde_json::Value = serde_json::from_str(&v.to_json().unwrap()).unwrap();
        assert_eq!(json["status"], "pass");
        assert_eq!(json["accel"], "kvm");
        assert_eq!(json["checks"][0]["name"], "vm");
        assert_eq!(json["stats"]["per_cgroup"][0]["name"], "a");
    }
}
