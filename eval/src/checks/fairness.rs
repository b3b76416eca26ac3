//! Did same-type CPU-bound workers of a cgroup get equal shares?

use ktstr_wire::WorkerReport;

use super::{plural, CheckResult, Detail, DetailKind, Measure};
use crate::context::{rate, Ctx};
use crate::render::{secs, si};
use crate::stats::spread_pct;

/// Same-type workers of one cgroup that should have progressed equally.
pub(crate) struct FairGroup<'a> {
    pub cgroup: &'a str,
    pub work: &'a str,
    /// The compared workers and their CPU shares (CPU time per wall second, or
    /// work units per wall second for reports without CPU time).
    pub workers: Vec<(&'a WorkerReport, f64)>,
    /// `(max - min) / mean` of the shares, percent.
    pub spread_pct: f64,
}

/// The groups the fairness check judges: CPU-bound work, `normal` policy, one
/// nice value, the whole cpuset (see [`Ctx::fair_comparable`]). Rates are
/// compared rather than raw units so that workers stopped by a step still
/// compare; workers that ran less than 90% of the group's longest wall time
/// (spawned later, so under different competition) and dead workers are left out.
pub(crate) fn fair_groups<'a>(ctx: &Ctx<'a>) -> Vec<FairGroup<'a>> {
    let mut out = Vec::new();
    for ((cgroup, work), workers) in ctx.by_cgroup_work() {
        if !ctx.fair_comparable(cgroup, work) {
            continue;
        }
        let alive: Vec<&WorkerReport> = workers.into_iter().filter(|w| w.died.is_none()).collect();
        for cohort in cohorts(alive) {
            let compared: Vec<(&WorkerReport, f64)> = cohort
                .into_iter()
                .filter_map(|w| Some((w, share(w)?)))
                .collect();
            if compared.len() < 2 {
                continue;
            }
            let rates: Vec<f64> = compared.iter().map(|(_, r)| *r).collect();
            if let Some(spread) = spread_pct(&rates) {
                out.push(FairGroup {
                    cgroup,
                    work,
                    workers: compared,
                    spread_pct: spread,
                });
            }
        }
    }
    out
}

/// The CPU share the scheduler gave a worker: CPU time per wall second. This is
/// what a scheduler decides; work units per second also depend on how fast the
/// vCPU ran, which under TCG on a busy host varies by vCPU thread. Reports
/// without CPU time fall back to the work rate.
fn share(w: &WorkerReport) -> Option<f64> {
    if w.cpu_ns > 0 && w.wall_ns > 0 {
        Some(w.cpu_ns as f64 / w.wall_ns as f64)
    } else {
        rate(w)
    }
}

/// Splits workers into cohorts that ran together: each cohort is led by its
/// longest-running worker and holds the workers that ran alongside it. Workers
/// of a cgroup that was removed and added again ran at different times, under
/// different competition, and land in different cohorts.
fn cohorts(mut workers: Vec<&WorkerReport>) -> Vec<Vec<&WorkerReport>> {
    // Longest first, earliest first among equals, so each cohort's leader is stable.
    workers.sort_by_key(|w| (std::cmp::Reverse(w.wall_ns), w.started_ns, w.index));
    let mut out: Vec<Vec<&WorkerReport>> = Vec::new();
    for w in workers {
        match out.iter_mut().find(|c| ran_alongside(w, c[0])) {
            Some(c) => c.push(w),
            None => out.push(vec![w]),
        }
    }
    out
}

/// True when `w` ran during at least 90% of `reference`'s run. Without start
/// times (0), only the lengths are compared.
fn ran_alongside(w: &WorkerReport, reference: &WorkerReport) -> bool {
    let need = reference.wall_ns as u128 * 9 / 10;
    if w.started_ns == 0 || reference.started_ns == 0 {
        return w.wall_ns as u128 >= need;
    }
    let start = w.started_ns.max(reference.started_ns);
    let end = (w.started_ns + w.wall_ns).min(reference.started_ns + reference.wall_ns);
    end.saturating_sub(start) as u128 >= need
}

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    if ctx.t.skip_fairness {
        return CheckResult::skip("fairness", "the scenario sets skip_fairness");
    }
    let groups = fair_groups(ctx);
    let Some(worst) = groups
        .iter()
        .max_by(|a, b| a.spread_pct.total_cmp(&b.spread_pct))
    else {
        return CheckResult::skip(
            "fairness",
            "no cgroup has 2 comparable CPU-bound workers of one type, policy and nice",
        );
    };
    let limit = ctx.t.max_spread_pct;
    let details = groups
        .iter()
        .filter(|g| g.spread_pct > limit)
        .map(|g| unfair(g, limit))
        .collect();
    CheckResult::judge(
        "fairness",
        details,
        || {
            format!(
                "worst spread {:.1}% among `{}` workers of `{}` (limit {limit:.0}%)",
                worst.spread_pct, worst.work, worst.cgroup
            )
        },
        |d| format!("{} over {limit:.0}% spread", plural(d.len(), "group")),
    )
    .with_measure(Some(Measure {
        value: worst.spread_pct,
        limit,
    }))
}

fn unfair(g: &FairGroup<'_>, limit: f64) -> Detail {
    let cmp = |a: &&(&WorkerReport, f64), b: &&(&WorkerReport, f64)| a.1.total_cmp(&b.1);
    let (slow, fast) = (
        g.workers.iter().min_by(cmp).expect("2+ workers"),
        g.workers.iter().max_by(cmp).expect("2+ workers"),
    );
    let message = format!(
        "{} `{}` workers spread {:.1}% (limit {limit:.0}%): worker {} got {:.0}% of a CPU, worker {} {:.0}%",
        g.workers.len(),
        g.work,
        g.spread_pct,
        slow.0.index,
        slow.1 * 100.0,
        fast.0.index,
        fast.1 * 100.0,
    );
    let evidence = g.workers.iter().map(|(w, s)| {
        format!(
            "worker {}: {:.0}% of a CPU, {} units/s over {}",
            w.index,
            s * 100.0,
            rate(w).map_or_else(|| "-".to_string(), si),
            secs(w.wall_ns)
        )
    });
    Detail::new(DetailKind::Fairness, message)
        .cgroup(g.cgroup)
        .evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_model::WorkType;

    #[test]
    fn equal_spinners_pass() {
        let r = run(check, &spinners(&[1000, 1100, 1050]));
        assert_eq!(r.status, Status::Pass);
        assert_eq!(
            r.summary,
            "worst spread 9.5% among `spin` workers of `a` (limit 35%)"
        );
    }

    #[test]
    fn unequal_spinners_fail() {
        let r = run(check, &spinners(&[1000, 2000]));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "2 `spin` workers spread 66.7% (limit 35%): worker 0 got 50% of a CPU, worker 1 100%"
        );
        assert_eq!(r.details[0].evidence.len(), 2);
    }

    #[test]
    fn cpu_share_not_vcpu_speed_decides() {
        // Equal CPU time, unequal work: a slow vCPU (TCG on a busy host), not
        // the scheduler. Regression for a false alarm seen in cpuset-swap.
        let mut input = spinners(&[1000, 1000]);
        if let Some(ktstr_wire::Message::Worker(w)) = input.messages.get_mut(1) {
            w.work_units = 400;
        }
        assert_eq!(run(check, &input).status, Status::Pass);
    }

    #[test]
    fn skips_when_not_comparable() {
        let mut i = spinners(&[1000, 2000]);
        i.scenario.thresholds.skip_fairness = true;
        assert_eq!(run(check, &i).status, Status::Skip);

        let mut i = spinners(&[1000, 2000]);
        i.scenario.cgroups[0].workers[0].work = WorkType::Yield;
        for m in &mut i.messages {
            if let ktstr_wire::Message::Worker(w) = m {
                w.work = "yield".into();
            }
        }
        assert_eq!(run(check, &i).status, Status::Skip);

        let mut i = spinners(&[1000, 2000]);
        i.scenario.cgroups[0].workers[0].nice = 5;
        let mut other = group(1, WorkType::Spin);
        other.nice = 0;
        i.scenario.cgroups[0].workers.push(other);
        assert_eq!(run(check, &i).status, Status::Skip);
    }

    #[test]
    fn late_workers_are_left_out() {
        let mut i = spinners(&[1000, 1000, 100]);
        if let ktstr_wire::Message::Worker(w) = &mut i.messages[2] {
            w.wall_ns /= 4;
        }
        assert_eq!(run(check, &i).status, Status::Pass);
    }

    #[test]
    fn workers_of_a_recreated_cgroup_are_not_compared() {
        // Regression: cgroup-churn re-adds a cgroup; its workers of different
        // incarnations ran at different times and must not be judged together.
        let mut late = worker("a", 2, "spin", 10);
        late.started_ns += 10_000_000_000;
        let input = input(
            scenario(vec![cgroup("a", vec![group(3, WorkType::Spin)])]),
            vec![
                worker("a", 0, "spin", 1000),
                worker("a", 1, "spin", 1000),
                late,
            ],
        );
        let r = run(check, &input);
        assert_eq!(r.status, Status::Pass, "{r:?}");
    }
}
