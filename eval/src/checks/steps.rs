//! Were the scenario's steps applied as declared?

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::Ctx;

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let declared = ctx.input.scenario.steps.len();
    if declared == 0 {
        return CheckResult::skip("steps", "the scenario has no steps");
    }
    let mut details = Vec::new();
    for ev in ctx.steps.values() {
        details.extend(ev.errors.iter().map(|e| {
            Detail::new(
                DetailKind::StepFailed,
                format!("step {} failed: {e}", ev.index),
            )
        }));
    }
    // Without the guest's final message the run was cut short; the vm check says so.
    if ctx.done.is_some() {
        details.extend(
            (0..declared as u32)
                .filter(|i| !ctx.steps.contains_key(i))
                .map(|i| {
                    Detail::new(
                        DetailKind::MissingReport,
                        format!("step {i} was never reported as applied"),
                    )
                }),
        );
    }
    CheckResult::judge(
        "steps",
        details,
        || format!("{} applied", plural(declared, "step")),
        |d| format!("{} with problems", plural(d.len(), "step operation")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_model::{Hold, Op, Step};
    use ktstr_wire::{Message, StepEvent};

    fn with_step(errors: Vec<String>) -> crate::RunInput {
        let mut i = two_spinners();
        i.scenario.steps.push(Step {
            ops: vec![Op::Stop { cgroup: "a".into() }],
            hold: Hold::Ms(100),
        });
        i.messages.push(Message::Step(StepEvent {
            index: 0,
            at_ns: 1,
            ops: vec!["stop a".into()],
            errors,
        }));
        i
    }

    #[test]
    fn applied_steps_pass_and_no_steps_skip() {
        assert_eq!(run(check, &with_step(vec![])).status, Status::Pass);
        assert_eq!(run(check, &two_spinners()).status, Status::Skip);
    }

    #[test]
    fn failed_or_missing_steps_fail() {
        let r = run(check, &with_step(vec!["stop `a`: no such cgroup".into()]));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "step 0 failed: stop `a`: no such cgroup"
        );

        let mut i = with_step(vec![]);
        i.messages.retain(|m| !matches!(m, Message::Step(_)));
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details[0].kind, DetailKind::MissingReport);
    }
}
