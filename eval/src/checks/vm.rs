//! Did the VM end normally and did the guest say its last word?

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::Ctx;
use crate::VmEnd;

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let mut details = Vec::new();
    match &ctx.input.vm_exit {
        VmEnd::Completed => {}
        VmEnd::KernelPanic { text } => {
            let headline = text
                .lines()
                .find_map(|l| l.split_once("Kernel panic - ").map(|(_, rest)| rest.trim()))
                .or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()))
                .unwrap_or("no message");
            let message = match init_death(headline) {
                Some(why) => format!("kernel panic: {headline} (the guest runtime, PID 1, {why})"),
                None => format!("kernel panic: {headline}"),
            };
            details.push(
                Detail::new(DetailKind::VmFailure, message)
                    .evidence(text.lines().map(str::to_string)),
            );
        }
        VmEnd::Timeout { last_lines } => details.push(
            Detail::new(
                DetailKind::VmFailure,
                "timed out waiting for the guest to finish",
            )
            .evidence(last_lines.iter().cloned()),
        ),
        VmEnd::NoResult { status, last_lines } => details.push(
            Detail::new(
                DetailKind::VmFailure,
                format!("vm exited without a result: {status}"),
            )
            .evidence(last_lines.iter().cloned()),
        ),
        VmEnd::Interrupted => details.push(Detail::new(DetailKind::VmFailure, "run interrupted")),
    }
    match ctx.done {
        None => details.push(Detail::new(
            DetailKind::MissingReport,
            "guest never sent its final message; later results may be missing",
        )),
        Some(done) => {
            if let Some(err) = &done.error {
                details.push(Detail::new(
                    DetailKind::GuestError,
                    format!("guest runtime failed: {err}"),
                ));
            }
            if done.ring_drops > 0 {
                details.push(Detail::new(
                    DetailKind::WireLoss,
                    format!(
                        "guest dropped {} frames because the ring was full; reports may be missing",
                        done.ring_drops
                    ),
                ));
            }
        }
    }
    if let Some(loss) = &ctx.input.wire_loss {
        details.push(Detail::new(
            DetailKind::WireLoss,
            format!("frames lost between guest and host: {loss}"),
        ));
    }
    CheckResult::judge(
        "vm",
        details,
        || "vm completed and the guest finished".into(),
        |d| {
            format!(
                "the run did not end cleanly ({})",
                plural(d.len(), "problem")
            )
        },
    )
}

/// How PID 1 ended, from the kernel's `Attempted to kill init!
/// exitcode=0x...` (a wait status: low 7 bits a signal, else the exit code
/// in the second byte).
fn init_death(headline: &str) -> Option<String> {
    let hex = headline
        .split_once("Attempted to kill init!")?
        .1
        .split_once("exitcode=0x")?
        .1;
    let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
    let status = u32::from_str_radix(&digits, 16).ok()?;
    Some(match status & 0x7f {
        0 => format!("exited with status {}", (status >> 8) & 0xff),
        sig => format!("was killed by signal {sig}{}", signal_name(sig)),
    })
}

fn signal_name(sig: u32) -> &'static str {
    match sig {
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_wire::Message;

    #[test]
    fn completed_run_passes() {
        let r = run(check, &two_spinners());
        assert_eq!(r.status, Status::Pass, "{r:?}");
    }

    #[test]
    fn kernel_panic_fails_with_its_message() {
        let mut i = two_spinners();
        i.vm_exit = VmEnd::KernelPanic {
            text:
                "[ 1.0] CPU: 1 PID: 1\n[ 1.1] Kernel panic - not syncing: Attempted to kill init!\n"
                    .into(),
        };
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "kernel panic: not syncing: Attempted to kill init!"
        );
        assert_eq!(r.details[0].evidence.len(), 2);
    }

    #[test]
    fn a_dead_guest_runtime_is_named_with_its_signal_or_status() {
        for (code, why) in [
            ("0x00000006", "was killed by signal 6 (SIGABRT)"),
            ("0x0000008b", "was killed by signal 11 (SIGSEGV)"),
            ("0x00006500", "exited with status 101"),
        ] {
            let mut i = two_spinners();
            i.vm_exit = VmEnd::KernelPanic {
                text: format!(
                    "[ 1.1] Kernel panic - not syncing: Attempted to kill init! exitcode={code}\n"
                ),
            };
            let r = run(check, &i);
            assert_eq!(
                r.details[0].message,
                format!(
                    "kernel panic: not syncing: Attempted to kill init! exitcode={code} \
                     (the guest runtime, PID 1, {why})"
                )
            );
        }
    }

    #[test]
    fn timeout_keeps_last_lines_as_evidence() {
        let mut i = two_spinners();
        i.vm_exit = VmEnd::Timeout {
            last_lines: vec!["rcu: INFO: rcu_sched detected stalls".into()],
        };
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details[0].kind, DetailKind::VmFailure);
        assert_eq!(r.details[0].evidence.len(), 1);
    }

    #[test]
    fn missing_done_and_wire_loss_fail() {
        let mut i = two_spinners();
        i.messages.retain(|m| !matches!(m, Message::Done(_)));
        i.wire_loss = Some("3 frames with a bad CRC".into());
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        let kinds: Vec<_> = r.details.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [DetailKind::MissingReport, DetailKind::WireLoss]);
    }

    #[test]
    fn ring_drops_and_guest_error_fail() {
        let mut i = two_spinners();
        for m in &mut i.messages {
            if let Message::Done(d) = m {
                d.ring_drops = 4;
                d.error = Some("failed to create cgroup `a`".into());
            }
        }
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details.len(), 2);
        assert_eq!(r.details[0].kind, DetailKind::GuestError);
    }
}
