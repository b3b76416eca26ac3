//! Did any worker go too long without progress?

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::Ctx;

/// Fails each worker whose longest gap between progress checkpoints exceeds
/// `max_gap_ms` (plus `sleep_ms` for bursty workers, which sleep on purpose).
/// `idle`-policy workers only run on otherwise idle CPUs and are not judged.
pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let judged: Vec<_> = ctx
        .workers
        .iter()
        .filter(|w| !ctx.all_idle(&w.cgroup, &w.work))
        .collect();
    let Some(worst) = judged.iter().max_by_key(|w| w.max_gap_ns) else {
        return CheckResult::skip(
            "gap",
            "no worker to judge (none reported, or all `idle` policy)",
        );
    };
    let limit = ctx.t.max_gap_ms;
    let details = judged
        .iter()
        .filter(|w| {
            let allowed = limit + ctx.sleep_allowance_ms(&w.cgroup, &w.work);
            w.max_gap_ns > allowed.saturating_mul(1_000_000)
        })
        .map(|w| {
            Detail::new(
                DetailKind::Gap,
                format!(
                    "stuck {} ms on cpu {} at +{} ms",
                    w.max_gap_ns / 1_000_000,
                    w.max_gap_cpu,
                    w.max_gap_at_ns / 1_000_000
                ),
            )
            .cgroup(&w.cgroup)
            .worker(w.index)
        })
        .collect();
    CheckResult::judge(
        "gap",
        details,
        || {
            format!(
                "longest gap {} ms (limit {limit} ms)",
                worst.max_gap_ns / 1_000_000
            )
        },
        |d| format!("{} stuck longer than {limit} ms", plural(d.len(), "worker")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_model::{Policy, WorkType};
    use ktstr_wire::Message;

    fn stuck(gap_ms: u64) -> crate::RunInput {
        let mut i = two_spinners();
        if let Message::Worker(w) = &mut i.messages[1] {
            w.max_gap_ns = gap_ms * 1_000_000;
            w.max_gap_cpu = 3;
            w.max_gap_at_ns = 1_520_000_000;
        }
        i
    }

    #[test]
    fn short_gaps_pass() {
        let r = run(check, &stuck(200));
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.summary, "longest gap 200 ms (limit 250 ms)");
    }

    #[test]
    fn long_gap_fails_with_where_and_when() {
        let r = run(check, &stuck(2310));
        assert_eq!(r.status, Status::Fail);
        let d = &r.details[0];
        assert_eq!(d.message, "stuck 2310 ms on cpu 3 at +1520 ms");
        assert_eq!((d.cgroup.as_deref(), d.worker), (Some("a"), Some(1)));
        assert_eq!(r.summary, "1 worker stuck longer than 250 ms");
    }

    #[test]
    fn bursty_sleep_and_idle_policy_are_allowed() {
        let mut i = stuck(600);
        i.scenario.cgroups[0].workers[0].work = WorkType::Bursty {
            burst_ms: 10,
            sleep_ms: 500,
        };
        for m in &mut i.messages {
            if let Message::Worker(w) = m {
                w.work = "bursty".into();
            }
        }
        assert_eq!(run(check, &i).status, Status::Pass);

        let mut i = stuck(5000);
        i.scenario.cgroups[0].workers[0].policy = Policy::Idle;
        assert_eq!(run(check, &i).status, Status::Skip);
    }
}
