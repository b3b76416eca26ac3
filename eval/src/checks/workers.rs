//! Did every worker report, and did any die?

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::Ctx;

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let sc = &ctx.input.scenario;
    let declares_workers = sc.cgroups.iter().any(|c| !c.workers.is_empty())
        || sc.steps.iter().flat_map(|s| &s.ops).any(|op| {
            matches!(op, ktstr_model::Op::Spawn { .. })
                || matches!(op, ktstr_model::Op::AddCgroup { cgroup } if !cgroup.workers.is_empty())
        });
    if ctx.workers.is_empty() && !declares_workers {
        return CheckResult::skip(
            "workers",
            "the scenario declares no workers (payloads only)",
        );
    }
    if ctx.workers.is_empty() {
        return CheckResult::judge(
            "workers",
            vec![Detail::new(
                DetailKind::MissingReport,
                "no worker reports arrived",
            )],
            String::new,
            |d| d[0].message.clone(),
        );
    }
    let mut details = Vec::new();
    for w in &ctx.workers {
        if let Some(why) = &w.died {
            details.push(
                Detail::new(DetailKind::WorkerDied, format!("worker died: {why}"))
                    .cgroup(&w.cgroup)
                    .worker(w.index),
            );
        }
    }
    for (name, decl) in &ctx.decl {
        let Some(expected) = decl.expected_workers() else {
            continue;
        };
        let got = ctx.workers.iter().filter(|w| &w.cgroup == name).count() as u32;
        if got < expected {
            details.push(
                Detail::new(
                    DetailKind::MissingReport,
                    format!("{got} of {expected} worker reports arrived"),
                )
                .cgroup(name),
            );
        }
    }
    let n = ctx.workers.len();
    CheckResult::judge(
        "workers",
        details,
        || format!("{} reported, none died", plural(n, "worker")),
        |d| {
            let died = d
                .iter()
                .filter(|d| d.kind == DetailKind::WorkerDied)
                .count();
            let missing = d.len() - died;
            match (died, missing) {
                (_, 0) => format!("{} died", plural(died, "worker")),
                (0, _) => format!("reports missing from {}", plural(missing, "cgroup")),
                _ => format!(
                    "{} died, reports missing from {}",
                    plural(died, "worker"),
                    plural(missing, "cgroup")
                ),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_wire::Message;

    #[test]
    fn all_reported_passes() {
        let r = run(check, &two_spinners());
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.summary, "2 workers reported, none died");
    }

    #[test]
    fn died_worker_fails() {
        let mut i = two_spinners();
        if let Message::Worker(w) = &mut i.messages[1] {
            w.died = Some("killed by signal 9".into());
        }
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details[0].message, "worker died: killed by signal 9");
        assert_eq!(r.details[0].worker, Some(1));
    }

    #[test]
    fn missing_reports_fail() {
        let mut i = two_spinners();
        i.messages.remove(0);
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details[0].message, "1 of 2 worker reports arrived");
        assert_eq!(r.details[0].cgroup.as_deref(), Some("a"));

        i.messages.retain(|m| !matches!(m, Message::Worker(_)));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details[0].message, "no worker reports arrived");
    }
}
