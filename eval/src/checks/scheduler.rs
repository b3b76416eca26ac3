//! Did the BPF scheduler stay attached for the whole run?

use ktstr_wire::SchedulerEvent;

use super::{CheckResult, Detail, DetailKind};
use crate::context::Ctx;
use crate::terminal_text::strip_escapes;

/// Scheduler output lines kept as evidence, from the end.
const OUTPUT_TAIL: usize = 20;

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let mut details = Vec::new();
    let mut attached = None;
    for ev in &ctx.scheduler {
        match ev {
            SchedulerEvent::Attached { ops, after_ns, .. } => {
                attached.get_or_insert((ops.as_str(), *after_ns));
            }
            SchedulerEvent::Died {
                reason,
                kernel_log,
                output,
                exit_status,
                ..
            } => details.push(died(reason, kernel_log, output, *exit_status)),
        }
    }
    for (line, reason, msg) in console_disables(&ctx.input.console) {
        let (line, reason) = (strip_escapes(line), strip_escapes(reason));
        let msg = msg.map(strip_escapes);
        match details.first_mut() {
            Some(d) => d.evidence.push(format!("console: {line}")),
            None => {
                let message = match msg {
                    Some(m) => format!("scheduler died: {reason} ({m})"),
                    None => format!("scheduler died: {reason}"),
                };
                details.push(
                    Detail::new(DetailKind::SchedulerDied, message)
                        .evidence([format!("console: {line}")]),
                );
            }
        }
    }
    if attached.is_none() && details.is_empty() && !ctx.is_eevdf() {
        details.push(Detail::new(
            DetailKind::SchedulerDied,
            format!("scheduler `{}` never attached", ctx.input.scheduler),
        ));
    }
    if let Some((ops, _)) = attached {
        if let Some(d) = ops_mismatch(&ctx.input.scheduler, ops) {
            details.push(d);
        }
    }
    CheckResult::judge(
        "scheduler",
        details,
        || match attached {
            Some((ops, after)) => format!(
                "`{}` attached after {} ms and stayed attached",
                strip_escapes(ops),
                after / 1_000_000
            ),
            None => "no BPF scheduler (eevdf)".into(),
        },
        |_| format!("`{}` did not stay attached", ctx.input.scheduler),
    )
}

/// The typed "scheduler died" detail: the reason with the kernel's exit
/// message, then exit status, kernel lines and the scheduler's last output,
/// all without terminal escapes (schedulers print in colour).
fn died(reason: &str, kernel_log: &[String], output: &[String], exit: Option<i32>) -> Detail {
    let reason = strip_escapes(reason);
    let kernel_log: Vec<String> = kernel_log.iter().map(|l| strip_escapes(l)).collect();
    let msg = kernel_log.iter().find_map(|l| exit_message(l));
    let message = match msg {
        Some(m) if !reason.contains(m) => format!("scheduler died: {reason} ({m})"),
        _ => format!("scheduler died: {reason}"),
    };
    let mut evidence = Vec::new();
    if let Some(code) = exit {
        evidence.push(format!("exit status: {code}"));
    }
    evidence.extend(
        kernel_log
            .iter()
            .map(|l| format!("kernel: {}", l.trim_end())),
    );
    let tail = output.len().saturating_sub(OUTPUT_TAIL);
    evidence.extend(
        output[tail..]
            .iter()
            .map(|l| format!("output: {}", strip_escapes(l).trim_end())),
    );
    Detail::new(DetailKind::SchedulerDied, message).evidence(evidence)
}

/// The text after `sched_ext: `, if the line has it.
fn sched_ext_text(line: &str) -> Option<&str> {
    line.split_once("sched_ext: ")
        .map(|(_, rest)| rest.trim_end())
}

/// The kernel's exit message from a `sched_ext: <ops>: <msg>` line.
fn exit_message(line: &str) -> Option<&str> {
    let text = sched_ext_text(line)?;
    if text.starts_with("BPF scheduler ") {
        return None;
    }
    let (ops, msg) = text.split_once(": ")?;
    (!ops.is_empty() && !ops.contains(' ')).then_some(msg)
}

/// The reason from a `sched_ext: BPF scheduler "<ops>" disabled (<reason>)` line.
fn disable_reason(line: &str) -> Option<&str> {
    let text = sched_ext_text(line)?.strip_prefix("BPF scheduler ")?;
    let (_, rest) = text.split_once(" disabled (")?;
    rest.strip_suffix(')')
}

/// The requested scheduler's base name: the first word of the label, its
/// file name, without `scx_` and without `-`/`_`, lowercase.
fn base_name(label: &str) -> String {
    let first = label.split_whitespace().next().unwrap_or_default();
    let file = first.rsplit('/').next().unwrap_or(first);
    let file = file.split('@').next().unwrap_or(file);
    normalise(file.strip_prefix("scx_").unwrap_or(file))
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A detail when the attached ops is not the scheduler that was asked for:
/// `scx_bpfland` attaches as `bpfland_1.1.4_x86_64_...`, `scx_simple` as
/// `simple`; another name means another scheduler was judged.
fn ops_mismatch(label: &str, ops: &str) -> Option<Detail> {
    let want = base_name(label);
    let have = normalise(ops);
    if want.is_empty() || have.starts_with(&want) || want.starts_with(&have) {
        return None;
    }
    Some(Detail::new(
        DetailKind::SchedulerDied,
        format!(
            "the attached scheduler is `{}`, not `{}`: the verdict would be about another scheduler",
            strip_escapes(ops),
            label.split_whitespace().next().unwrap_or(label)
        ),
    ))
}

/// Abnormal disables on the console: `(line, reason, exit message)`.
/// Only `unregistered from user space` (the scheduler's own exit when the
/// guest stops it) is normal; `unregistered from BPF` (`scx_bpf_exit`),
/// `unregistered from the main kernel`, sysrq and every error are not.
fn console_disables(console: &str) -> Vec<(&str, &str, Option<&str>)> {
    let lines: Vec<&str> = console.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(reason) = disable_reason(line) else {
            continue;
        };
        if reason == "unregistered from user space" {
            continue;
        }
        let msg = lines.get(i + 1).and_then(|l| exit_message(l));
        out.push((line.trim(), reason, msg));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_wire::Message;

    fn with_scx(events: Vec<SchedulerEvent>) -> crate::RunInput {
        let mut i = two_spinners();
        i.scheduler = "scx_simple".into();
        i.messages
            .extend(events.into_iter().map(Message::Scheduler));
        i
    }

    fn attached() -> SchedulerEvent {
        SchedulerEvent::Attached {
            at_ns: 1,
            ops: "simple".into(),
            after_ns: 120_000_000,
            switch_all: Some(true),
        }
    }

    #[test]
    fn attached_scheduler_passes() {
        let r = run(check, &with_scx(vec![attached()]));
        assert_eq!(r.status, Status::Pass);
        assert_eq!(
            r.summary,
            "`simple` attached after 120 ms and stayed attached"
        );
        assert_eq!(run(check, &two_spinners()).status, Status::Pass);
    }

    #[test]
    fn died_scheduler_fails_with_reason_and_kernel_message() {
        let mut i = with_scx(vec![
            attached(),
            SchedulerEvent::Died {
                at_ns: 2,
                reason: "runnable task stall".into(),
                kernel_log: vec![
                    "sched_ext: BPF scheduler \"simple\" disabled (runnable task stall)".into(),
                    "sched_ext: simple: init[1] failed to run for 5.076s".into(),
                ],
                output: (0..30).map(|n| format!("line {n}")).collect(),
                exit_status: Some(1),
            },
        ]);
        i.console =
            "[ 9.1] sched_ext: BPF scheduler \"simple\" disabled (runnable task stall)\n".into();
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        let d = &r.details[0];
        assert_eq!(d.kind, DetailKind::SchedulerDied);
        assert_eq!(
            d.message,
            "scheduler died: runnable task stall (init[1] failed to run for 5.076s)"
        );
        assert_eq!(d.evidence[0], "exit status: 1");
        assert_eq!(d.evidence[3], "output: line 10");
        assert!(d.evidence.last().unwrap().starts_with("console: "));
        assert_eq!(r.details.len(), 1);
    }

    #[test]
    fn console_disable_alone_fails_but_unregister_does_not() {
        let mut i = with_scx(vec![attached()]);
        i.console =
            "sched_ext: BPF scheduler \"simple\" disabled (unregistered from user space)\n".into();
        assert_eq!(run(check, &i).status, Status::Pass);
        i.console = "[ 3.2] sched_ext: BPF scheduler \"simple\" disabled (runtime error)\n\
                     [ 3.2] sched_ext: simple: bad dispatch\n"
            .into();
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "scheduler died: runtime error (bad dispatch)"
        );
    }

    #[test]
    fn scheduler_output_loses_its_terminal_escapes() {
        let i = with_scx(vec![
            attached(),
            SchedulerEvent::Died {
                at_ns: 2,
                reason: "scheduler exited: \u{1b}[31mEXIT: runtime error\u{1b}[0m".into(),
                kernel_log: vec!["sched_ext: simple: \u{1b}]0;title\u{7}bad dispatch".into()],
                output: vec!["\u{1b}[1;32mstats\u{1b}[0m\r".into(), "\u{1b}[2Kbye".into()],
                exit_status: None,
            },
        ]);
        let d = &run(check, &i).details[0];
        assert_eq!(
            d.message,
            "scheduler died: scheduler exited: EXIT: runtime error (bad dispatch)"
        );
        assert_eq!(
            d.evidence,
            [
                "kernel: sched_ext: simple: bad dispatch",
                "output: stats",
                "output: bye"
            ]
        );
    }

    #[test]
    fn unregistering_from_bpf_or_the_kernel_is_not_a_normal_exit() {
        for reason in [
            "unregistered from BPF",
            "unregistered from the main kernel",
            "disabled by sysrq-S",
        ] {
            let mut i = with_scx(vec![attached()]);
            i.console = format!("[ 2.0] sched_ext: BPF scheduler \"simple\" disabled ({reason})\n");
            let r = run(check, &i);
            assert_eq!(r.status, Status::Fail, "{reason}");
            assert!(
                r.details[0].message.contains(reason),
                "{}",
                r.details[0].message
            );
        }
    }

    #[test]
    fn the_attached_ops_must_be_the_requested_scheduler() {
        let ops = |name: &str| SchedulerEvent::Attached {
            at_ns: 1,
            ops: name.into(),
            after_ns: 1,
            switch_all: Some(true),
        };
        let mut i = with_scx(vec![ops("bpfland_1.1.4_x86_64_unknown_linux_gnu")]);
        i.scheduler = "scx_bpfland --local-pcpu".into();
        assert_eq!(run(check, &i).status, Status::Pass);
        i.scheduler = "/root/.cache/ktstr/schedulers/scx_bpfland-1.1.4/bin/scx_bpfland".into();
        assert_eq!(run(check, &i).status, Status::Pass);
        i.scheduler = "scx_qmap -t 2".into();
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.details[0].message.contains("not `scx_qmap`"),
            "{}",
            r.details[0].message
        );
        let i = with_scx(vec![ops("simple")]);
        assert_eq!(run(check, &i).status, Status::Pass);
    }

    #[test]
    fn never_attached_fails() {
        let r = run(check, &with_scx(vec![]));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "scheduler `scx_simple` never attached"
        );
    }
}
