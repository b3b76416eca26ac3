//! Did any worker go too long without progress?

use super::{plural, CheckResult, Detail, DetailKind, Measure};
use crate::context::Ctx;

/// Fails each worker whose longest gap between progress checkpoints exceeds
/// `max_gap_ms` (plus `sleep_ms` for bursty workers, which sleep on purpose).
/// `idle`-policy workers only run on otherwise idle CPUs and are not judged.
pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let judged: Vec<_> = ctx
        .workers
        .iter()
        .filter(|w| !ctx.worker_is_idle(w))
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
            // The worker's clock starts at its release: a gap that ends
            // where it began is the wait before the first run.
            let from_release =
                w.max_gap_at_ns >= w.max_gap_ns && w.max_gap_at_ns - w.max_gap_ns < 1_000_000;
            let message = if from_release {
                format!(
                    "not run for {} ms after its release (first ran on cpu {})",
                    w.max_gap_ns / 1_000_000,
                    w.max_gap_cpu
                )
            } else {
                format!(
                    "stuck {} ms on cpu {} at +{} ms",
                    w.max_gap_ns / 1_000_000,
                    w.max_gap_cpu,
                    w.max_gap_at_ns / 1_000_000
                )
            };
            Detail::new(DetailKind::Gap, message)
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
    .with_measure(Measure::worst(judged.iter().map(|w| {
        let allowance = ctx.sleep_allowance_ms(&w.cgroup, &w.work) as f64;
        let gap_ms = w.max_gap_ns as f64 / 1e6;
        ((gap_ms - allowance).max(0.0), limit as f64)
    })))
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
    fn a_gap_from_the_release_is_named_as_the_wait_before_the_first_run() {
        let mut i = stuck(2310);
        for m in &mut i.messages {
            if let ktstr_wire::Message::Worker(w) = m {
                w.max_gap_at_ns = w.max_gap_ns;
            }
        }
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "not run for 2310 ms after its release (first ran on cpu 3)"
        );
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

    /// Regression: policy-mix under EEVDF put an idle-policy spinner beside
    /// normal ones in one cgroup; it waited 985 ms for an idle CPU and failed
    /// the gap check, although idle policy promises nothing more.
    #[test]
    fn an_idle_worker_beside_normal_ones_is_not_judged_but_they_are() {
        let mut i = stuck(5000);
        let spin = i.scenario.cgroups[0].workers[0].clone();
        let mut idle = spin.clone();
        idle.count = 1;
        idle.policy = Policy::Idle;
        let mut normal = spin;
        normal.count = 1;
        i.scenario.cgroups[0].workers = vec![normal, idle];
        // messages[1] is worker 1 of `a`, the idle one: its gap is forgiven.
        assert_eq!(run(check, &i).status, Status::Pass);
        // The same gap on the normal worker fails.
        if let (Message::Worker(a), Message::Worker(b)) = {
            let (x, y) = i.messages.split_at_mut(1);
            (&mut x[0], &mut y[0])
        } {
            std::mem::swap(&mut a.max_gap_ns, &mut b.max_gap_ns);
        }
        assert_eq!(run(check, &i).status, Status::Fail);
    }
}
