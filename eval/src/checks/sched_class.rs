//! Did the scheduler under test run the workload?
//!
//! A verdict about a sched_ext scheduler must be about work it scheduled. Each
//! worker sampled its own `ext.enabled` while it ran; this check holds those
//! samples to what the run promised: under EEVDF no worker is on sched_ext;
//! under a full switch every worker is, except `fifo` and `rr` ones (the rt
//! class outranks sched_ext); under a partial switch
//! ([`SwitchMode::Partial`]) exactly the workers with policy `ext` are.

use ktstr_model::{Policy, SwitchMode, WorkType, WorkerGroup};
use ktstr_wire::{SchedulerEvent, WorkerReport};

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::Ctx;

/// Worker indices named in the summary before "and N more".
const NAMED: usize = 8;

/// What the run promised about the scheduler under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No sched_ext scheduler.
    Eevdf,
    /// A sched_ext scheduler taking every fair-class task.
    Full,
    /// A sched_ext scheduler taking only `SCHED_EXT` tasks.
    Partial,
}

/// Where one worker should have run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// On sched_ext in every sample.
    On,
    /// Off sched_ext in every sample.
    Off,
    /// On sched_ext in some sample: a `policy_churn` worker moves through
    /// classes sched_ext does not take.
    SomeOn,
}

/// How one worker's samples came out.
enum Outcome {
    /// As expected.
    Ok,
    /// Samples say it ran where it should not have.
    Wrong(Detail, Wrong),
    /// It sampled, but no sample could tell (no `ext.enabled` line).
    Unknown,
    /// It started but left no sample (killed before the first).
    Unsampled,
    /// Its declared group, and so its policy, is not known.
    Undeclared,
}

/// Which way a worker was wrong, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrong {
    /// It should have been on sched_ext and was not (always or sometimes).
    Off,
    /// It should have been off sched_ext and was on it.
    On,
}

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    const NAME: &str = "sched_class";
    let sched = &ctx.input.scheduler;
    let mut attached = None;
    for ev in &ctx.scheduler {
        match ev {
            SchedulerEvent::Attached { switch_all, .. } => {
                attached.get_or_insert(*switch_all);
            }
            SchedulerEvent::Died { .. } => {
                return CheckResult::skip(
                    NAME,
                    format!("`{sched}` did not stay attached (see `scheduler`); the workers' classes are not judged"),
                );
            }
        }
    }
    let mode = match (ctx.is_eevdf(), ctx.input.scenario.switch) {
        (true, _) => Mode::Eevdf,
        (false, _) if attached.is_none() => {
            return CheckResult::skip(NAME, format!("`{sched}` never attached (see `scheduler`)"));
        }
        (false, SwitchMode::Full) => Mode::Full,
        (false, SwitchMode::Partial) => Mode::Partial,
    };
    let started: Vec<&WorkerReport> = ctx
        .workers
        .iter()
        .copied()
        .filter(|w| w.started_ns > 0)
        .collect();
    if started.is_empty() {
        return CheckResult::skip(NAME, "no worker started");
    }

    let mut details: Vec<Detail> = attached
        .flatten()
        .and_then(|switch_all| mode_mismatch(sched, mode, switch_all))
        .into_iter()
        .collect();
    let mut wrong: Vec<(Wrong, u32)> = Vec::new();
    let (mut ok, mut unknown, mut unsampled, mut undeclared) = (0usize, 0usize, 0usize, 0usize);
    let mut samples = 0u64;
    for w in &started {
        match judge(ctx, mode, w) {
            Outcome::Ok => {
                ok += 1;
                samples += u64::from(w.ext_samples_on) + u64::from(w.ext_samples_off);
            }
            Outcome::Wrong(d, how) => {
                details.push(d);
                wrong.push((how, w.index));
            }
            Outcome::Unknown => unknown += 1,
            Outcome::Unsampled => unsampled += 1,
            Outcome::Undeclared => undeclared += 1,
        }
    }
    if ok == 0 && details.is_empty() {
        let reason = if unknown > 0 {
            "the guest kernel prints no `ext.enabled` in /proc/<pid>/sched, so no worker's scheduling class is known".to_string()
        } else if unsampled > 0 {
            format!(
                "{} started but none sampled its scheduling class",
                plural(unsampled, "worker")
            )
        } else {
            format!(
                "the declared policy of {} is not known",
                plural(undeclared, "worker")
            )
        };
        return CheckResult::skip(NAME, reason);
    }
    let mut notes = Vec::new();
    if unknown > 0 {
        notes.push(format!(
            "{} of unknown class (no `ext.enabled`)",
            plural(unknown, "worker")
        ));
    }
    if unsampled > 0 {
        notes.push(format!("{} left no sample", plural(unsampled, "worker")));
    }
    if undeclared > 0 {
        notes.push(format!(
            "{} of unknown policy not judged",
            plural(undeclared, "worker")
        ));
    }
    let notes = match notes.is_empty() {
        true => String::new(),
        false => format!("; {}", notes.join(", ")),
    };
    CheckResult::judge(
        NAME,
        details,
        || {
            let what = match mode {
                Mode::Eevdf => "stayed off sched_ext under EEVDF".to_string(),
                Mode::Full => format!("ran where `{sched}` (full switch) should run them"),
                Mode::Partial => {
                    format!("ran where `{sched}` (partial switch) should run them")
                }
            };
            format!(
                "{} {what} ({}){notes}",
                plural(ok, "worker"),
                plural(samples as usize, "sample")
            )
        },
        |_| {
            let mut parts = Vec::new();
            let off = indices(&wrong, Wrong::Off);
            if !off.is_empty() {
                parts.push(format!(
                    "{} ran outside sched_ext under `{sched}` ({})",
                    plural(off.len(), "worker"),
                    named(&off)
                ));
            }
            let on = indices(&wrong, Wrong::On);
            if !on.is_empty() {
                let under = match mode {
                    Mode::Eevdf => "under EEVDF".to_string(),
                    _ => format!("that `{sched}` should not run"),
                };
                parts.push(format!(
                    "{} ran on sched_ext {under} ({})",
                    plural(on.len(), "worker"),
                    named(&on)
                ));
            }
            if parts.is_empty() {
                parts.push(format!(
                    "`{sched}` does not run in the mode the scenario expects"
                ));
            }
            format!("{}{notes}", parts.join("; "))
        },
    )
}

/// Judges one started worker's samples.
fn judge(ctx: &Ctx<'_>, mode: Mode, w: &WorkerReport) -> Outcome {
    let (on, off) = (w.ext_samples_on, w.ext_samples_off);
    let total = on + off;
    if total == 0 {
        return match w.ext_samples_unknown {
            0 => Outcome::Unsampled,
            _ => Outcome::Unknown,
        };
    }
    let group = ctx.declared_group(w);
    let expect = match (mode, group) {
        // Every policy is outside sched_ext under EEVDF.
        (Mode::Eevdf, _) => Expect::Off,
        (_, Some(g)) => expect(mode, g),
        (_, None) => return Outcome::Undeclared,
    };
    let policy = group.map_or(Policy::Normal, |g| g.policy);
    let who = format!(
        "worker {} of cgroup `{}` (pid {})",
        w.index, w.cgroup, w.pid
    );
    let (message, how) = match expect {
        Expect::On if off > 0 => {
            let has = match mode {
                Mode::Partial => "has policy `ext` but ",
                _ => "",
            };
            (
                format!("{who} {has}ran outside sched_ext in {off} of {total} samples"),
                Wrong::Off,
            )
        }
        Expect::SomeOn if on == 0 => (
            format!("{who} never ran on sched_ext in {total} samples"),
            Wrong::Off,
        ),
        Expect::Off if on > 0 => {
            let (under, why) = match (mode, policy) {
                (Mode::Eevdf, _) => (" under EEVDF", String::new()),
                (_, Policy::Fifo | Policy::Rr) => (
                    "",
                    format!(", though its policy `{}` is rt class", policy_name(policy)),
                ),
                _ => (
                    "",
                    format!(
                        ", though its policy is `{}` and the scenario switches only `ext` workers",
                        policy_name(policy)
                    ),
                ),
            };
            (
                format!("{who} ran on sched_ext{under} in {on} of {total} samples{why}"),
                Wrong::On,
            )
        }
        _ => return Outcome::Ok,
    };
    Outcome::Wrong(
        Detail::new(DetailKind::SchedClass, message)
            .cgroup(&w.cgroup)
            .worker(w.index),
        how,
    )
}

/// Where a worker of group `g` should run under a sched_ext scheduler in `mode`.
fn expect(mode: Mode, g: &WorkerGroup) -> Expect {
    let churns = matches!(g.work, WorkType::PolicyChurn);
    match (mode, g.policy) {
        (Mode::Eevdf, _) => Expect::Off,
        // sched_ext never takes rt tasks; a churning worker only passes through rt.
        (_, Policy::Fifo | Policy::Rr) if !churns => Expect::Off,
        (Mode::Full, _) | (Mode::Partial, Policy::SchedExt) if churns => Expect::SomeOn,
        (Mode::Full, _) | (Mode::Partial, Policy::SchedExt) => Expect::On,
        (Mode::Partial, _) => Expect::Off,
    }
}

/// A failing detail when the kernel's `switch_all` contradicts the scenario.
fn mode_mismatch(sched: &str, mode: Mode, switch_all: bool) -> Option<Detail> {
    let (message, hint) = match (mode, switch_all) {
        (Mode::Full, false) => (
            format!("`{sched}` attached in partial mode (`switch_all` is 0) but the scenario expects it to take every task"),
            "hint: start the scheduler without its partial-switch option, or write the scenario for it: `switch = \"partial\"` and `policy = \"ext\"` on the workers it should run",
        ),
        (Mode::Partial, true) => (
            format!("`{sched}` took every task (`switch_all` is 1) but the scenario asks for a partial switch"),
            "hint: start the scheduler in partial mode (SCX_OPS_SWITCH_PARTIAL, e.g. `scx_qmap -p`)",
        ),
        _ => return None,
    };
    Some(Detail::new(DetailKind::SchedClass, message).evidence([hint.to_string()]))
}

/// The scenario's name for a policy.
fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Normal => "normal",
        Policy::Batch => "batch",
        Policy::Idle => "idle",
        Policy::Fifo => "fifo",
        Policy::Rr => "rr",
        Policy::SchedExt => "ext",
    }
}

fn indices(wrong: &[(Wrong, u32)], how: Wrong) -> Vec<u32> {
    wrong
        .iter()
        .filter(|(h, _)| *h == how)
        .map(|(_, i)| *i)
        .collect()
}

/// `workers 0, 3, 5` with at most [`NAMED`] indices, then `and N more`.
fn named(indices: &[u32]) -> String {
    let shown: Vec<String> = indices.iter().take(NAMED).map(u32::to_string).collect();
    let noun = if indices.len() == 1 {
        "worker"
    } else {
        "workers"
    };
    let mut s = format!("{noun} {}", shown.join(", "));
    if indices.len() > NAMED {
        s.push_str(&format!(" and {} more", indices.len() - NAMED));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use crate::RunInput;
    use ktstr_model::WorkType;
    use ktstr_wire::Message;

    /// Sets the class samples of every worker report: `(on, off, unknown)`.
    fn samples(i: &mut RunInput, f: impl Fn(&WorkerReport) -> (u32, u32, u32)) {
        for m in &mut i.messages {
            if let Message::Worker(w) = m {
                (w.ext_samples_on, w.ext_samples_off, w.ext_samples_unknown) = f(w);
            }
        }
    }

    /// `input` under `scx_simple`, attached with the given `switch_all`.
    fn under_scx(mut i: RunInput, switch_all: Option<bool>) -> RunInput {
        i.scheduler = "scx_simple".into();
        i.messages
            .push(Message::Scheduler(SchedulerEvent::Attached {
                at_ns: 1,
                ops: "simple".into(),
                after_ns: 1,
                switch_all,
            }));
        i
    }

    /// Cgroup `a` with two `normal` spinners, cgroup `b` with two `ext` ones.
    fn mixed() -> RunInput {
        let mut s = scenario(vec![
            cgroup("a", vec![group(2, WorkType::Spin)]),
            cgroup("b", vec![group(2, WorkType::Spin)]),
        ]);
        s.cgroups[1].workers[0].policy = Policy::SchedExt;
        input(
            s,
            vec![
                worker("a", 0, "spin", 1000),
                worker("a", 1, "spin", 1000),
                worker("b", 2, "spin", 1000),
                worker("b", 3, "spin", 1000),
            ],
        )
    }

    #[test]
    fn healthy_full_switch_passes() {
        let mut i = under_scx(two_spinners(), Some(true));
        samples(&mut i, |_| (12, 0, 0));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Pass, "{r:?}");
        assert_eq!(
            r.summary,
            "2 workers ran where `scx_simple` (full switch) should run them (24 samples)"
        );
    }

    #[test]
    fn a_worker_left_on_fair_fails_naming_it() {
        let mut i = under_scx(two_spinners(), Some(true));
        samples(
            &mut i,
            |w| if w.index == 1 { (9, 3, 0) } else { (12, 0, 0) },
        );
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details.len(), 1);
        let d = &r.details[0];
        assert_eq!(d.kind, DetailKind::SchedClass);
        assert_eq!((d.cgroup.as_deref(), d.worker), (Some("a"), Some(1)));
        assert_eq!(
            d.message,
            "worker 1 of cgroup `a` (pid 101) ran outside sched_ext in 3 of 12 samples"
        );
        assert_eq!(
            r.summary,
            "1 worker ran outside sched_ext under `scx_simple` (worker 1)"
        );
    }

    #[test]
    fn a_worker_never_on_sched_ext_fails() {
        let mut i = under_scx(two_spinners(), None);
        samples(
            &mut i,
            |w| if w.index == 0 { (0, 10, 0) } else { (10, 0, 0) },
        );
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert!(r.details[0]
            .message
            .ends_with("ran outside sched_ext in 10 of 10 samples"));
    }

    #[test]
    fn many_wrong_workers_are_capped_in_the_summary() {
        let mut i = under_scx(spinners(&[1000; 11]), Some(true));
        samples(&mut i, |_| (0, 5, 0));
        let r = run(check, &i);
        assert_eq!(r.details.len(), 11);
        assert_eq!(
            r.summary,
            "11 workers ran outside sched_ext under `scx_simple` (workers 0, 1, 2, 3, 4, 5, 6, 7 and 3 more)"
        );
    }

    #[test]
    fn eevdf_with_an_ext_worker_fails() {
        let mut i = two_spinners();
        samples(
            &mut i,
            |w| if w.index == 1 { (2, 8, 0) } else { (0, 10, 0) },
        );
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "worker 1 of cgroup `a` (pid 101) ran on sched_ext under EEVDF in 2 of 10 samples"
        );
        assert_eq!(
            r.summary,
            "1 worker ran on sched_ext under EEVDF (worker 1)"
        );

        samples(&mut i, |_| (0, 10, 0));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Pass);
        assert_eq!(
            r.summary,
            "2 workers stayed off sched_ext under EEVDF (20 samples)"
        );
    }

    #[test]
    fn rt_workers_stay_off_under_a_full_switch() {
        let mut i = under_scx(two_spinners(), Some(true));
        i.scenario.cgroups[0].workers[0].policy = Policy::Fifo;
        samples(&mut i, |_| (0, 10, 0));
        assert_eq!(run(check, &i).status, Status::Pass);
        samples(&mut i, |_| (1, 9, 0));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.details[0]
                .message
                .contains("though its policy `fifo` is rt class"),
            "{}",
            r.details[0].message
        );
    }

    #[test]
    fn policy_churn_needs_only_some_samples_on() {
        let mut i = under_scx(
            input(
                scenario(vec![cgroup("a", vec![group(1, WorkType::PolicyChurn)])]),
                vec![worker("a", 0, "policy_churn", 100)],
            ),
            Some(true),
        );
        samples(&mut i, |_| (6, 4, 0));
        assert_eq!(run(check, &i).status, Status::Pass);
        samples(&mut i, |_| (0, 10, 0));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert!(r.details[0]
            .message
            .ends_with("never ran on sched_ext in 10 samples"));
    }

    #[test]
    fn partial_switch_runs_ext_workers_only() {
        let mut i = under_scx(mixed(), Some(false));
        i.scenario.switch = SwitchMode::Partial;
        samples(&mut i, |w| match w.cgroup.as_str() {
            "b" => (10, 0, 0),
            _ => (0, 10, 0),
        });
        let r = run(check, &i);
        assert_eq!(r.status, Status::Pass, "{r:?}");
        assert_eq!(
            r.summary,
            "4 workers ran where `scx_simple` (partial switch) should run them (40 samples)"
        );

        // A normal worker taken by the scheduler and an ext worker left out.
        samples(&mut i, |w| match w.index {
            0 => (4, 6, 0),
            3 => (0, 10, 0),
            2 => (10, 0, 0),
            _ => (0, 10, 0),
        });
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        let messages: Vec<&str> = r.details.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "worker 0 of cgroup `a` (pid 100) ran on sched_ext in 4 of 10 samples, though its \
                 policy is `normal` and the scenario switches only `ext` workers",
                "worker 3 of cgroup `b` (pid 103) has policy `ext` but ran outside sched_ext in 10 of 10 samples",
            ]
        );
        assert_eq!(
            r.summary,
            "1 worker ran outside sched_ext under `scx_simple` (worker 3); \
             1 worker ran on sched_ext that `scx_simple` should not run (worker 0)"
        );
    }

    #[test]
    fn partial_scenario_under_a_full_switch_scheduler_fails() {
        let mut i = under_scx(mixed(), Some(true));
        i.scenario.switch = SwitchMode::Partial;
        samples(&mut i, |_| (10, 0, 0));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "`scx_simple` took every task (`switch_all` is 1) but the scenario asks for a partial switch"
        );
        assert!(r.details[0].evidence[0].contains("scx_qmap -p"));
        assert_eq!(r.details.len(), 3, "the mode and the two normal workers");
    }

    #[test]
    fn a_partial_scheduler_in_a_full_scenario_fails_even_with_ext_workers_on() {
        let mut s = scenario(vec![cgroup("b", vec![group(1, WorkType::Spin)])]);
        s.cgroups[0].workers[0].policy = Policy::SchedExt;
        let mut i = under_scx(input(s, vec![worker("b", 0, "spin", 1)]), Some(false));
        samples(&mut i, |_| (10, 0, 0));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.summary,
            "`scx_simple` does not run in the mode the scenario expects"
        );
    }

    #[test]
    fn workers_of_one_cgroup_with_different_policies_are_told_apart_by_index() {
        let mut s = scenario(vec![cgroup(
            "a",
            vec![group(1, WorkType::Spin), group(1, WorkType::Spin)],
        )]);
        s.cgroups[0].workers[1].policy = Policy::SchedExt;
        s.switch = SwitchMode::Partial;
        let mut i = under_scx(
            input(
                s,
                vec![worker("a", 0, "spin", 1), worker("a", 1, "spin", 1)],
            ),
            Some(false),
        );
        samples(
            &mut i,
            |w| if w.index == 1 { (10, 0, 0) } else { (0, 10, 0) },
        );
        assert_eq!(run(check, &i).status, Status::Pass);
        samples(
            &mut i,
            |w| if w.index == 0 { (10, 0, 0) } else { (0, 10, 0) },
        );
        assert_eq!(run(check, &i).details.len(), 2);
    }

    #[test]
    fn unknown_class_is_skipped_not_passed() {
        let mut i = under_scx(two_spinners(), None);
        samples(&mut i, |_| (0, 0, 12));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Skip);
        assert!(r.summary.contains("no `ext.enabled`"), "{}", r.summary);

        let mut i = two_spinners();
        samples(&mut i, |_| (0, 0, 3));
        assert_eq!(run(check, &i).status, Status::Skip);
    }

    #[test]
    fn unknown_workers_are_noted_beside_judged_ones() {
        let mut i = under_scx(two_spinners(), Some(true));
        samples(&mut i, |w| if w.index == 0 { (0, 0, 5) } else { (5, 0, 0) });
        let r = run(check, &i);
        assert_eq!(r.status, Status::Pass);
        assert!(
            r.summary
                .ends_with("; 1 worker of unknown class (no `ext.enabled`)"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn workers_that_never_started_are_not_judged() {
        let mut i = under_scx(two_spinners(), Some(true));
        samples(&mut i, |w| if w.index == 0 { (0, 0, 0) } else { (5, 0, 0) });
        for m in &mut i.messages {
            if let Message::Worker(w) = m {
                if w.index == 0 {
                    w.started_ns = 0;
                }
            }
        }
        let r = run(check, &i);
        assert_eq!(r.status, Status::Pass);
        assert_eq!(
            r.summary,
            "1 worker ran where `scx_simple` (full switch) should run them (5 samples)"
        );
    }

    #[test]
    fn a_scheduler_that_died_is_left_to_the_scheduler_check() {
        let mut i = under_scx(two_spinners(), Some(true));
        i.messages.push(Message::Scheduler(SchedulerEvent::Died {
            at_ns: 2,
            reason: "runnable task stall".into(),
            kernel_log: vec![],
            output: vec![],
            exit_status: None,
        }));
        samples(&mut i, |_| (3, 7, 0));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Skip);
        assert!(r.summary.contains("did not stay attached"));
    }
}
