//! Did comparable cgroups get the same throughput per worker?

use std::collections::BTreeMap;

use ktstr_model::{format_cpulist, AffinityMode, Policy, WorkType};
use ktstr_wire::PhaseEvent;

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::{base_name, rate, Ctx};
use crate::render::si;
use crate::stats::{mean, spread_pct};

/// A cgroup whose per-worker spin rate can be set against other cgroups'.
struct Candidate<'a> {
    cgroup: &'a str,
    workers: usize,
    nice: i32,
    /// Its CPUs in each steady phase, in phase order (empty without phase events).
    cpusets: Vec<&'a [u32]>,
    /// Mean work units per wall second per worker.
    rate: f64,
}

/// Compares the mean per-worker rate of cgroups that hold only `spin` workers
/// (`normal` policy, one nice value, whole cpuset, untouched by steps) when
/// they are alike: the same number of workers and, in every steady phase,
/// cpusets of the same size that are either identical or disjoint, with no
/// other cgroup's workers on them. Such cgroups should see the same per-worker
/// throughput whether the scheduler is fair between tasks or between cgroups.
/// Unlike cgroups are not compared; the check skips when no two are alike.
pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    if ctx.t.skip_fairness {
        return CheckResult::skip("throughput", "the scenario sets skip_fairness");
    }
    let steady: Vec<&PhaseEvent> = ctx
        .phases
        .iter()
        .copied()
        .filter(|p| p.index % 2 == 0)
        .collect();
    let candidates: Vec<Candidate<'_>> = ctx
        .decl
        .keys()
        .filter_map(|c| candidate(ctx, c.as_str(), &steady))
        .collect();
    let mut classes: BTreeMap<(usize, i32, Vec<usize>), Vec<&Candidate<'_>>> = BTreeMap::new();
    for c in &candidates {
        let sizes = c.cpusets.iter().map(|s| s.len()).collect();
        classes
            .entry((c.workers, c.nice, sizes))
            .or_default()
            .push(c);
    }
    let mut judged = Vec::new();
    for class in classes.into_values().filter(|c| c.len() >= 2) {
        if !separate(&class) || crowded(ctx, &class, &steady) {
            continue;
        }
        let rates: Vec<f64> = class.iter().map(|c| c.rate).collect();
        if let Some(spread) = spread_pct(&rates) {
            judged.push((class, spread));
        }
    }
    let Some((worst, worst_spread)) = judged.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return CheckResult::skip(
            "throughput",
            "no 2 cgroups of only spin workers with equal counts and like cpusets",
        );
    };
    let limit = ctx.t.max_throughput_spread_pct;
    let details = judged
        .iter()
        .filter(|(_, s)| *s > limit)
        .map(|(class, spread)| uneven(class, *spread, limit))
        .collect();
    CheckResult::judge(
        "throughput",
        details,
        || {
            format!(
                "per-worker throughput of {} within {worst_spread:.1}% (limit {limit:.0}%)",
                names(worst)
            )
        },
        |d| {
            format!(
                "{} over {limit:.0}% spread",
                plural(d.len(), "set of alike cgroups")
            )
        },
    )
}

fn candidate<'a>(
    ctx: &Ctx<'a>,
    cgroup: &'a str,
    steady: &[&'a PhaseEvent],
) -> Option<Candidate<'a>> {
    let decl = &ctx.decl[cgroup];
    let first = decl.groups.first()?;
    let plain = decl.groups.iter().all(|g| {
        g.work == WorkType::Spin
            && g.policy == Policy::Normal
            && g.nice == first.nice
            && matches!(
                g.affinity,
                AffinityMode::Inherit | AffinityMode::CrossCgroup
            )
    });
    if !decl.initial || decl.changed_by_step || decl.affinity_narrowed || !plain {
        return None;
    }
    let reports: Vec<_> = ctx.workers.iter().filter(|w| w.cgroup == cgroup).collect();
    if reports.len() as u32 != decl.declared_workers
        || reports
            .iter()
            .any(|w| base_name(&w.work) != "spin" || w.died.is_some())
    {
        return None;
    }
    let rates: Vec<f64> = reports.iter().map(|w| rate(w)).collect::<Option<_>>()?;
    let cpusets = steady
        .iter()
        .map(|p| {
            p.cpusets
                .iter()
                .find(|(c, _)| c == cgroup)
                .map(|(_, s)| s.as_slice())
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Candidate {
        cgroup,
        workers: reports.len(),
        nice: first.nice,
        cpusets,
        rate: mean(&rates)?,
    })
}

/// Whether, in every steady phase, the class's cpusets are pairwise identical or disjoint.
fn separate(class: &[&Candidate<'_>]) -> bool {
    class.iter().enumerate().all(|(i, a)| {
        class[i + 1..].iter().all(|b| {
            a.cpusets
                .iter()
                .zip(&b.cpusets)
                .all(|(x, y)| x == y || !x.iter().any(|c| y.contains(c)))
        })
    })
}

/// Whether workers of a cgroup outside the class may share the class's CPUs.
fn crowded(ctx: &Ctx<'_>, class: &[&Candidate<'_>], steady: &[&PhaseEvent]) -> bool {
    let members: Vec<&str> = class.iter().map(|c| c.cgroup).collect();
    let others = ctx
        .decl
        .iter()
        .filter(|(name, d)| !members.contains(&name.as_str()) && !d.groups.is_empty());
    for (name, _) in others {
        if steady.is_empty() {
            return true;
        }
        for (k, p) in steady.iter().enumerate() {
            let Some((_, theirs)) = p.cpusets.iter().find(|(c, _)| c == name) else {
                continue;
            };
            if class
                .iter()
                .any(|m| m.cpusets[k].iter().any(|c| theirs.contains(c)))
            {
                return true;
            }
        }
    }
    false
}

fn names(class: &[&Candidate<'_>]) -> String {
    class
        .iter()
        .map(|c| format!("`{}`", c.cgroup))
        .collect::<Vec<_>>()
        .join(", ")
}

fn uneven(class: &[&Candidate<'_>], spread: f64, limit: f64) -> Detail {
    let cmp = |a: &&&Candidate<'_>, b: &&&Candidate<'_>| a.rate.total_cmp(&b.rate);
    let slow = class.iter().min_by(cmp).expect("2+ cgroups");
    let fast = class.iter().max_by(cmp).expect("2+ cgroups");
    let message = format!(
        "per-worker throughput of {} spread {spread:.1}% (limit {limit:.0}%): `{}` {} units/s, `{}` {} units/s",
        names(class),
        slow.cgroup,
        si(slow.rate),
        fast.cgroup,
        si(fast.rate)
    );
    let evidence = class.iter().map(|c| {
        let cpus = c.cpusets.first().map_or("all CPUs".to_string(), |s| {
            format!("CPUs {}", format_cpulist(s))
        });
        format!(
            "`{}`: {} workers at {} units/s each on {cpus}",
            c.cgroup,
            c.workers,
            si(c.rate)
        )
    });
    Detail::new(DetailKind::Throughput, message).evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;

    fn two_cgroups(a_units: u64, b_units: u64) -> crate::RunInput {
        let mut i = input(
            scenario(vec![
                cgroup("a", vec![group(2, WorkType::Spin)]),
                cgroup("b", vec![group(2, WorkType::Spin)]),
            ]),
            vec![
                worker("a", 0, "spin", a_units),
                worker("a", 1, "spin", a_units),
                worker("b", 2, "spin", b_units),
                worker("b", 3, "spin", b_units),
            ],
        );
        i.messages
            .push(phase(0, 10, &[("a", &[0, 1]), ("b", &[2, 3])]));
        i
    }

    #[test]
    fn alike_cgroups_pass() {
        let r = run(check, &two_cgroups(1000, 1200));
        assert_eq!(r.status, Status::Pass, "{r:?}");
        assert_eq!(
            r.summary,
            "per-worker throughput of `a`, `b` within 18.2% (limit 50%)"
        );
    }

    #[test]
    fn uneven_cgroups_fail() {
        let r = run(check, &two_cgroups(1000, 3000));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "per-worker throughput of `a`, `b` spread 100.0% (limit 50%): `a` 500 units/s, `b` 1.5k units/s"
        );
        assert_eq!(
            r.details[0].evidence[0],
            "`a`: 2 workers at 500 units/s each on CPUs 0-1"
        );
    }

    #[test]
    fn unlike_cgroups_skip() {
        let mut i = two_cgroups(1000, 3000);
        i.messages
            .push(phase(2, 20, &[("a", &[0, 1]), ("b", &[1, 2])]));
        assert_eq!(run(check, &i).status, Status::Skip);

        let mut i = two_cgroups(1000, 3000);
        i.scenario
            .cgroups
            .push(cgroup("c", vec![group(1, WorkType::Yield)]));
        i.messages
            .push(phase(2, 20, &[("a", &[0, 1]), ("b", &[2, 3]), ("c", &[3])]));
        assert_eq!(run(check, &i).status, Status::Skip);

        let mut i = two_cgroups(1000, 3000);
        i.scenario.thresholds.skip_fairness = true;
        assert_eq!(run(check, &i).status, Status::Skip);
    }
}
