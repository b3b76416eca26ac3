//! Did every worker make progress?

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::{rate, Ctx};
use crate::render::{secs, si};
use crate::stats::median;

/// Fails a worker that did no work at all, or, among peers (same cgroup, work
/// type, policy and nice), whose rate is below `starvation_pct` of the peers'
/// median. `fifo` and `idle` workers may rightly stand still and are not
/// judged; the relative part is off with `skip_fairness`.
pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    if ctx.workers.is_empty() {
        return CheckResult::skip("starvation", "no worker reports");
    }
    let pct = ctx.t.starvation_pct;
    let mut details = Vec::new();
    for ((cgroup, work), all) in ctx.by_cgroup_work() {
        // `fifo` and `idle` workers may stand still; the others in the same
        // cgroup are still judged (policy-mix puts them side by side).
        let workers: Vec<_> = all
            .into_iter()
            .filter(|w| !ctx.worker_may_starve(w))
            .collect();
        if workers.is_empty() {
            continue;
        }
        let rates: Vec<f64> = workers.iter().filter_map(|w| rate(w)).collect();
        let compare = !ctx.t.skip_fairness
            && rates.len() >= 2
            && ctx.peers(cgroup, work)
            && !ctx.may_starve(cgroup, work);
        let med = median(&rates).filter(|m| compare && *m > 0.0);
        for w in &workers {
            let message = match (w.work_units, rate(w), med) {
                (0, _, _) => format!("did no work in {}", secs(w.wall_ns)),
                (_, Some(r), Some(m)) if r < m * pct / 100.0 => format!(
                    "did {} units/s, {:.1}% of the median of its {} `{work}` peers ({} units/s)",
                    si(r),
                    r / m * 100.0,
                    workers.len(),
                    si(m)
                ),
                _ => continue,
            };
            details.push(
                Detail::new(DetailKind::Starvation, message)
                    .cgroup(cgroup)
                    .worker(w.index),
            );
        }
    }
    CheckResult::judge(
        "starvation",
        details,
        || format!("{} made progress", plural(ctx.workers.len(), "worker")),
        |d| format!("{} starved", plural(d.len(), "worker")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_model::Policy;
    use ktstr_wire::Message;

    #[test]
    fn progressing_workers_pass() {
        assert_eq!(run(check, &spinners(&[1000, 900, 50])).status, Status::Pass);
    }

    #[test]
    fn zero_units_fail() {
        let r = run(check, &spinners(&[1000, 0]));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details[0].message, "did no work in 2.0 s");
        assert_eq!(r.details[0].worker, Some(1));
    }

    #[test]
    fn far_below_median_fails() {
        let r = run(check, &spinners(&[100_000, 100_000, 500]));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "did 250 units/s, 0.5% of the median of its 3 `spin` peers (50.0k units/s)"
        );
    }

    #[test]
    fn idle_workers_and_skip_fairness_are_not_judged_relatively() {
        let mut i = spinners(&[100_000, 100_000, 0]);
        i.scenario.cgroups[0].workers[0].policy = Policy::Idle;
        assert_eq!(run(check, &i).status, Status::Pass);

        let mut i = spinners(&[100_000, 100_000, 500]);
        i.scenario.thresholds.skip_fairness = true;
        assert_eq!(run(check, &i).status, Status::Pass);
        if let Message::Worker(w) = &mut i.messages[2] {
            w.work_units = 0;
        }
        assert_eq!(run(check, &i).status, Status::Fail);
    }
}
