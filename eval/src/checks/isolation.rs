//! Did every worker stay on its cgroup's CPUs?

use std::collections::BTreeSet;

use ktstr_model::{format_cpulist, Op};
use ktstr_wire::{PhaseEvent, WorkerReport};

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::Ctx;

/// For each worker and each even (steady) phase it ran in, the CPUs it used
/// must lie within the effective cpuset of its cgroup in that phase. Odd
/// phases are transitions and not judged. A worker's cgroup in a phase is the
/// one the phase event lists it in, else where the scenario's `move_all` steps
/// put it; in the phase a move happens in, it may use both cgroups' CPUs.
/// Phases where its cgroup has no cpuset entry are skipped.
pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let mut details = Vec::new();
    let mut judged_workers = 0;
    let mut judged_phases = BTreeSet::new();
    for w in &ctx.workers {
        let homes = ctx.homes(&w.cgroup);
        let mut judged = false;
        for (index, cpus) in w.cpus_by_phase.iter().filter(|(i, _)| i % 2 == 0) {
            let Some(phase) = ctx.phases.iter().find(|p| p.index == *index) else {
                continue;
            };
            let Some(allowed) = allowed(ctx, w, phase, homes.as_deref()) else {
                continue;
            };
            judged = true;
            judged_phases.insert(*index);
            let outside: Vec<u32> = cpus
                .iter()
                .copied()
                .filter(|c| !allowed.contains(c))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !outside.is_empty() {
                details.push(escaped(w, &outside, &allowed, *index));
            }
        }
        judged_workers += usize::from(judged);
    }
    if judged_workers == 0 {
        return CheckResult::skip(
            "isolation",
            "no worker ran in a steady phase with a known cpuset",
        );
    }
    CheckResult::judge(
        "isolation",
        details,
        || {
            format!(
                "{} stayed within their cpusets over {}",
                plural(judged_workers, "worker"),
                plural(judged_phases.len(), "steady phase")
            )
        },
        |d| format!("{} outside the cpuset", plural(d.len(), "escape")),
    )
}

/// The CPUs `w` may use in `phase`, or `None` if one of its cgroups there is
/// unknown or has no cpuset entry.
fn allowed(
    ctx: &Ctx<'_>,
    w: &WorkerReport,
    phase: &PhaseEvent,
    homes: Option<&[(u64, String)]>,
) -> Option<Vec<u32>> {
    let (start, end) = (phase.at_ns, ctx.phase_end(phase.at_ns));
    let mut cgroups: Vec<&str> = phase
        .members
        .iter()
        .filter(|(_, members)| members.contains(&w.index))
        .map(|(c, _)| c.as_str())
        .collect();
    if cgroups.is_empty() {
        let homes = homes?;
        for (i, (since, cgroup)) in homes.iter().enumerate() {
            let until = homes.get(i + 1).map_or(u64::MAX, |h| h.0);
            if *since < end && until > start {
                cgroups.push(cgroup);
            }
        }
    }
    for (i, step) in ctx.input.scenario.steps.iter().enumerate() {
        match ctx.steps.get(&(i as u32)) {
            Some(ev) if (start..end).contains(&ev.at_ns) => {}
            _ => continue,
        }
        for op in &step.ops {
            if let Op::MoveAll { from, to } = op {
                if cgroups.contains(&from.as_str()) && !cgroups.contains(&to.as_str()) {
                    cgroups.push(to);
                }
            }
        }
    }
    let mut cpus = BTreeSet::new();
    for cgroup in cgroups {
        let (_, set) = phase.cpusets.iter().find(|(c, _)| c == cgroup)?;
        cpus.extend(set.iter().copied());
    }
    Some(cpus.into_iter().collect())
}

fn escaped(w: &WorkerReport, outside: &[u32], allowed: &[u32], phase: u32) -> Detail {
    let which = match outside {
        [one] => format!("CPU {one}"),
        many => format!("CPUs {}", format_cpulist(many)),
    };
    Detail::new(
        DetailKind::Isolation,
        format!(
            "worker {} of cgroup `{}` ran on {which} outside its cpuset {} in phase {phase}",
            w.index,
            w.cgroup,
            format_cpulist(allowed)
        ),
    )
    .cgroup(&w.cgroup)
    .worker(w.index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_model::{Hold, Op, Step, WorkType};
    use ktstr_wire::{Message, StepEvent};

    fn pinned(ran_on: Vec<(u32, Vec<u32>)>) -> crate::RunInput {
        let mut w = worker("a", 3, "spin", 1000);
        w.cpus_by_phase = ran_on;
        let mut i = input(
            scenario(vec![
                cgroup("a", vec![group(1, WorkType::Spin)]),
                cgroup("b", vec![]),
            ]),
            vec![w],
        );
        i.messages
            .push(phase(0, 10, &[("a", &[0, 1]), ("b", &[2, 3])]));
        i.messages.push(phase(1, 20, &[("a", &[0, 1, 2, 3])]));
        i.messages
            .push(phase(2, 30, &[("a", &[0, 1]), ("b", &[2, 3])]));
        i
    }

    #[test]
    fn staying_inside_passes_and_transitions_are_ignored() {
        let r = run(
            check,
            &pinned(vec![(0, vec![0, 1]), (1, vec![5]), (2, vec![1])]),
        );
        assert_eq!(r.status, Status::Pass);
        assert_eq!(
            r.summary,
            "1 worker stayed within their cpusets over 2 steady phases"
        );
    }

    #[test]
    fn cpu_outside_fails() {
        let r = run(check, &pinned(vec![(0, vec![0]), (2, vec![1, 5])]));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "worker 3 of cgroup `a` ran on CPU 5 outside its cpuset 0-1 in phase 2"
        );
        let r = run(check, &pinned(vec![(0, vec![2, 3, 6])]));
        assert!(r.details[0].message.contains("ran on CPUs 2-3,6 outside"));
    }

    #[test]
    fn no_cpuset_entry_skips() {
        let mut i = pinned(vec![(4, vec![7])]);
        i.messages.push(phase(4, 40, &[("b", &[2, 3])]));
        assert_eq!(run(check, &i).status, Status::Skip);
    }

    #[test]
    fn listed_membership_wins_over_the_declared_cgroup() {
        let mut i = pinned(vec![(4, vec![2])]);
        i.messages.push(phase_with_members(
            4,
            40,
            &[("a", &[0, 1]), ("b", &[2, 3])],
            &[("b", &[3])],
        ));
        assert_eq!(run(check, &i).status, Status::Pass);
        if let Message::Worker(w) = &mut i.messages[0] {
            w.cpus_by_phase = vec![(4, vec![0])];
        }
        assert_eq!(run(check, &i).status, Status::Fail);
    }

    #[test]
    fn moved_workers_may_use_both_cgroups_in_the_move_phase() {
        let mut i = pinned(vec![(0, vec![1, 2]), (2, vec![2])]);
        i.scenario.steps.push(Step {
            ops: vec![Op::MoveAll {
                from: "a".into(),
                to: "b".into(),
            }],
            hold: Hold::Ms(10),
        });
        i.messages.push(Message::Step(StepEvent {
            index: 0,
            at_ns: 15,
            ops: vec![],
            errors: vec![],
        }));
        assert_eq!(run(check, &i).status, Status::Pass);
        let mut i = i.clone();
        if let Message::Worker(w) = &mut i.messages[0] {
            w.cpus_by_phase = vec![(2, vec![0])];
        }
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert!(r.details[0].message.contains("outside its cpuset 2-3"));
    }
}
