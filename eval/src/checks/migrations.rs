//! Did any worker bounce between CPUs too often?

use super::{plural, CheckResult, Detail, DetailKind, Measure};
use crate::context::{base_name, Ctx};
use crate::render::secs;

/// Workers that ran less than this are not judged: a few migrations at
/// start-up would read as a high rate.
const MIN_WALL_NS: u64 = 100_000_000;

/// Work types not judged by migrations per second: `affinity_churn` migrates
/// on purpose, and the wake-up types (`*_ping_pong`, `futex_fan_out`) can move
/// at most once per wake-up, so their rate follows their wake rate (a faster
/// VM migrates more per second); wake latency judges their placement instead.
const NOT_JUDGED: &[&str] = &[
    "affinity_churn",
    "pipe_ping_pong",
    "futex_ping_pong",
    "futex_fan_out",
];

/// Work types that give up the CPU on purpose (one work unit per
/// `sched_yield`): each yield is a scheduling point where a move is
/// legitimate, so their migrations per second follow their yield rate.
const YIELDING: &[&str] = &["yield", "mixed"];

/// A yielding worker bounces only if more than this share of its yields moved it.
const MAX_MIGRATIONS_PER_YIELD: f64 = 0.5;

/// Migrations per second of wall time, per worker, against the limit; a
/// yielding worker over the rate passes if few of its yields moved it.
pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let judged: Vec<_> = ctx
        .workers
        .iter()
        .filter(|w| w.wall_ns >= MIN_WALL_NS && !NOT_JUDGED.contains(&base_name(&w.work)))
        .filter(|w| {
            !YIELDING.contains(&base_name(&w.work))
                || w.migrations as f64 > MAX_MIGRATIONS_PER_YIELD * w.work_units.max(1) as f64
        })
        .map(|w| (*w, w.migrations as f64 / (w.wall_ns as f64 / 1e9)))
        .collect();
    let Some(worst) = judged.iter().map(|(_, r)| *r).max_by(f64::total_cmp) else {
        return CheckResult::skip("migrations", "no worker ran long enough to judge");
    };
    let limit = ctx.t.max_migrations_per_sec;
    let details = judged
        .iter()
        .filter(|(_, r)| *r > limit)
        .map(|(w, r)| {
            Detail::new(
                DetailKind::Migration,
                format!(
                    "migrated {} times in {} ({r:.0}/s, limit {limit:.0}/s)",
                    w.migrations,
                    secs(w.wall_ns)
                ),
            )
            .cgroup(&w.cgroup)
            .worker(w.index)
        })
        .collect();
    CheckResult::judge(
        "migrations",
        details,
        || format!("highest {worst:.1}/s (limit {limit:.0}/s)"),
        |d| format!("{} over {limit:.0} migrations/s", plural(d.len(), "worker")),
    )
    .with_measure(Measure::worst(judged.iter().map(|(_, r)| (*r, limit))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_wire::Message;

    fn migrating(n: u64, work: &str) -> crate::RunInput {
        let mut i = two_spinners();
        if let Message::Worker(w) = &mut i.messages[0] {
            w.migrations = n;
            w.work = work.into();
        }
        i
    }

    #[test]
    fn few_migrations_pass() {
        let r = run(check, &migrating(300, "spin"));
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.summary, "highest 150.0/s (limit 200/s)");
    }

    #[test]
    fn many_migrations_fail() {
        let r = run(check, &migrating(1234, "spin"));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "migrated 1234 times in 2.0 s (617/s, limit 200/s)"
        );
        assert_eq!(r.details[0].worker, Some(0));
    }

    /// Regression: scx_bpfland's `mixed` workers on 2 NUMA nodes moved 508
    /// times/s, a small share of their yields; a spinner at that rate bounces.
    #[test]
    fn yielding_workers_are_judged_by_the_share_of_yields_that_moved_them() {
        let mut i = migrating(1234, "mixed");
        if let Message::Worker(w) = &mut i.messages[0] {
            w.work_units = 20_000;
        }
        assert_eq!(run(check, &i).status, Status::Pass);
        if let Message::Worker(w) = &mut i.messages[0] {
            w.work_units = 2_000;
        }
        assert_eq!(run(check, &i).status, Status::Fail);
    }

    #[test]
    fn affinity_churn_and_short_workers_are_not_judged() {
        assert_eq!(
            run(check, &migrating(5000, "affinity_churn")).status,
            Status::Pass
        );
        // Regression: scx_simple's ping-pong pairs moved ~550 times/s once the
        // host was idle and the VM ran faster.
        assert_ne!(
            run(check, &migrating(5000, "pipe_ping_pong")).status,
            Status::Fail
        );
        let mut i = two_spinners();
        for m in &mut i.messages {
            if let Message::Worker(w) = m {
                w.wall_ns = 1_000_000;
            }
        }
        assert_eq!(run(check, &i).status, Status::Skip);
    }
}
