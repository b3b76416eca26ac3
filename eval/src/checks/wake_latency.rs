//! Were blocking workers woken promptly?

use std::collections::BTreeMap;

use super::{plural, CheckResult, Detail, DetailKind, Measure};
use crate::context::Ctx;
use crate::render::dur;
use crate::stats::percentile;

/// Cgroups with fewer wake-up samples are not judged: the p99 of a handful
/// of samples is just their maximum.
pub(crate) const MIN_WAKE_SAMPLES: usize = 10;

/// Per cgroup: the nearest-rank p99 over all its workers' wake latencies, ns,
/// and the sample count. Cgroups without samples are absent.
pub(crate) fn p99_by_cgroup<'a>(ctx: &Ctx<'a>) -> BTreeMap<&'a str, (u64, usize)> {
    let mut samples: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for w in &ctx.workers {
        if !w.wake_latencies_ns.is_empty() {
            samples
                .entry(w.cgroup.as_str())
                .or_default()
                .extend(&w.wake_latencies_ns);
        }
    }
    samples
        .into_iter()
        .filter_map(|(c, s)| Some((c, (percentile(&s, 99.0)?, s.len()))))
        .collect()
}

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let judged: Vec<_> = p99_by_cgroup(ctx)
        .into_iter()
        .filter(|(_, (_, n))| *n >= MIN_WAKE_SAMPLES)
        .collect();
    let Some((worst_cg, (worst, _))) = judged.iter().max_by_key(|(_, (p, _))| *p) else {
        return CheckResult::skip(
            "wake_latency",
            format!("no cgroup has {MIN_WAKE_SAMPLES} wake-up samples"),
        );
    };
    let limit_ns = ctx.t.max_p99_wake_us.saturating_mul(1_000);
    let details = judged
        .iter()
        .filter(|(_, (p99, _))| *p99 > limit_ns)
        .map(|(cgroup, (p99, n))| {
            Detail::new(
                DetailKind::WakeLatency,
                format!(
                    "p99 wake latency {} over {} ({n} samples)",
                    dur(*p99),
                    dur(limit_ns)
                ),
            )
            .cgroup(cgroup)
        })
        .collect();
    CheckResult::judge(
        "wake_latency",
        details,
        || {
            format!(
                "worst p99 {} in `{worst_cg}` (limit {})",
                dur(*worst),
                dur(limit_ns)
            )
        },
        |d| format!("{} over {} p99", plural(d.len(), "cgroup"), dur(limit_ns)),
    )
    .with_measure(Some(Measure {
        value: *worst as f64 / 1e3,
        limit: limit_ns as f64 / 1e3,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_model::WorkType;

    fn woken(latencies_us: &[u64]) -> crate::RunInput {
        let mut w = worker("a", 0, "pipe_ping_pong", 1000);
        w.wake_latencies_ns = latencies_us.iter().map(|u| u * 1_000).collect();
        input(
            scenario(vec![cgroup("a", vec![group(1, WorkType::PipePingPong)])]),
            vec![w],
        )
    }

    #[test]
    fn prompt_wakeups_pass() {
        let r = run(check, &woken(&[50; 200]));
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.summary, "worst p99 50 µs in `a` (limit 5.0 ms)");
    }

    #[test]
    fn slow_p99_fails() {
        let mut lat = vec![50; 95];
        lat.extend([7_200; 5]);
        let r = run(check, &woken(&lat));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "p99 wake latency 7.2 ms over 5.0 ms (100 samples)"
        );
    }

    #[test]
    fn too_few_samples_skip() {
        assert_eq!(run(check, &woken(&[9_000; 3])).status, Status::Skip);
        assert_eq!(run(check, &two_spinners()).status, Status::Skip);
    }
}
