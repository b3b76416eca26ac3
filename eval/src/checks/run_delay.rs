//! Did the kernel's own accounting see blocking workers wait long to run?
//!
//! The guest's wake-latency samples are timed by the workers themselves; this
//! check uses schedstat instead (`run_delay / timeslices`: how long, on
//! average, a worker waited on a run queue each time before the kernel put it
//! on a CPU). A scheduler that holds woken tasks shows here even if a worker's
//! own stamps were to miss it.

use ktstr_model::WorkType;
use ktstr_wire::WorkerReport;

use super::{plural, CheckResult, Detail, DetailKind, Measure};
use crate::context::Ctx;
use crate::render::dur;

/// Workers put on a CPU fewer times are not judged: their mean is a few waits.
pub(crate) const MIN_TIMESLICES: u64 = 10;

/// Work types that sleep between bursts, so each wake-up is a wait to run.
/// CPU-bound workers wait whenever the CPUs are oversubscribed, by design.
fn blocks(work: &WorkType) -> bool {
    matches!(
        work,
        WorkType::Bursty { .. }
            | WorkType::SyncIo { .. }
            | WorkType::PipePingPong
            | WorkType::FutexPingPong
            | WorkType::FutexFanOut { .. }
    )
}

/// A worker's mean wait per time slice, ns.
fn mean_wait_ns(w: &WorkerReport) -> Option<u64> {
    (w.timeslices >= MIN_TIMESLICES).then(|| w.run_delay_ns / w.timeslices)
}

/// The judged workers and their mean waits, ns.
fn judged<'a>(ctx: &Ctx<'a>) -> Vec<(&'a WorkerReport, u64)> {
    ctx.workers
        .iter()
        .filter(|w| w.died.is_none())
        .filter(|w| ctx.declared_group(w).is_some_and(|g| blocks(&g.work)))
        .filter_map(|w| Some((*w, mean_wait_ns(w)?)))
        .collect()
}

/// The longest mean wait of a judged worker, ns, for the run's summary.
pub(crate) fn worst_wait_to_run_ns(ctx: &Ctx<'_>) -> Option<u64> {
    judged(ctx).into_iter().map(|(_, ns)| ns).max()
}

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let judged = judged(ctx);
    let Some(&(worst_w, worst)) = judged.iter().max_by_key(|(_, ns)| *ns) else {
        return CheckResult::skip(
            "run_delay",
            format!("no blocking worker was put on a CPU {MIN_TIMESLICES} times"),
        );
    };
    // The mean of every wait must stay within the limit for the p99 of wake-ups.
    let limit_ns = ctx.t.max_p99_wake_us.saturating_mul(1_000);
    let details = judged
        .iter()
        .filter(|(_, ns)| *ns > limit_ns)
        .map(|(w, ns)| {
            Detail::new(
                DetailKind::RunDelay,
                format!(
                    "waited {} on average to run, over {} ({} waits, {} in all, schedstat)",
                    dur(*ns),
                    dur(limit_ns),
                    w.timeslices,
                    dur(w.run_delay_ns)
                ),
            )
            .cgroup(&w.cgroup)
            .worker(w.index)
        })
        .collect();
    CheckResult::judge(
        "run_delay",
        details,
        || {
            format!(
                "worst mean wait to run {} (`{}` worker {}, limit {})",
                dur(worst),
                worst_w.cgroup,
                worst_w.index,
                dur(limit_ns)
            )
        },
        |d| {
            format!(
                "{} waited over {} on average to run",
                plural(d.len(), "blocking worker"),
                dur(limit_ns)
            )
        },
    )
    .with_measure(Some(Measure {
        value: worst as f64 / 1e3,
        limit: limit_ns as f64 / 1e3,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;

    fn bursty(waits: u64, delay_ms: u64) -> crate::RunInput {
        let mut w = worker("a", 0, "bursty", 1000);
        w.timeslices = waits;
        w.run_delay_ns = waits * delay_ms * 1_000_000;
        let spin = worker("b", 1, "spin", 1000);
        let mut s = spin.clone();
        s.timeslices = 100;
        s.run_delay_ns = 100 * 900_000_000;
        input(
            scenario(vec![
                cgroup(
                    "a",
                    vec![group(
                        1,
                        WorkType::Bursty {
                            burst_ms: 5,
                            sleep_ms: 20,
                        },
                    )],
                ),
                cgroup("b", vec![group(1, WorkType::Spin)]),
            ]),
            vec![w, s],
        )
    }

    #[test]
    fn prompt_wake_ups_pass_and_cpu_bound_waits_are_not_judged() {
        let r = run(check, &bursty(100, 1));
        assert_eq!(r.status, Status::Pass, "{r:?}");
        assert_eq!(
            r.summary,
            "worst mean wait to run 1.0 ms (`a` worker 0, limit 5.0 ms)"
        );
    }

    #[test]
    fn held_wake_ups_fail_with_the_kernel_numbers() {
        let r = run(check, &bursty(40, 300));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "waited 300.0 ms on average to run, over 5.0 ms (40 waits, 12.00 s in all, schedstat)"
        );
        assert_eq!(r.details[0].worker, Some(0));
    }

    #[test]
    fn too_few_waits_skip() {
        assert_eq!(run(check, &bursty(3, 300)).status, Status::Skip);
    }
}
