//! Did the guest kernel complain on its console?

use ktstr_model::KernelDetectors;

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::Ctx;

/// Console fragments that mean the kernel saw something wrong.
const PATTERNS: &[&str] = &[
    "WARNING:",
    "BUG:",
    "Oops:",
    "rcu: INFO:",
    "self-detected stall",
    "RCU stall",
    "soft lockup",
    "hard LOCKUP",
    "hung_task",
    "blocked for more than",
];

/// Matching lines reported as details; the summary counts the rest.
const MAX_DETAILS: usize = 10;

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let mut seen: Vec<&str> = Vec::new();
    for line in ctx.input.console.lines() {
        let text = strip_timestamp(line);
        // The command line may name parameters such as `hung_task_panic=1`.
        if text.starts_with("Kernel command line:") || text.starts_with("Command line:") {
            continue;
        }
        if PATTERNS.iter().any(|p| text.contains(p)) && !seen.contains(&text) {
            seen.push(text);
        }
    }
    let total = seen.len();
    let blind = dropped_console_bytes(&ctx.input.console);
    let note = detector_note(ctx, blind);
    let details = seen
        .iter()
        .take(MAX_DETAILS)
        .map(|l| Detail::new(DetailKind::KernelHealth, *l))
        .collect();
    CheckResult::judge(
        "kernel_health",
        details,
        || format!("no kernel warnings, bugs, stalls or lockups; {note}"),
        |d| match total > d.len() {
            true => format!(
                "{} (showing {}); {note}",
                plural(total, "suspicious kernel line"),
                d.len()
            ),
            false => format!("{}; {note}", plural(total, "suspicious kernel line")),
        },
    )
}

/// The marker the console capture leaves where it dropped its middle.
const DROPPED_MARKER: &str = " console bytes dropped ...]";

/// How many console bytes the capture dropped (their lines were not checked).
fn dropped_console_bytes(console: &str) -> Option<u64> {
    console.lines().find_map(|l| {
        l.strip_prefix("[... ")?
            .strip_suffix(DROPPED_MARKER)?
            .parse()
            .ok()
    })
}

/// What the detectors were set to, as the guest kernel read them back, and
/// what the check could not see.
fn detector_note(ctx: &Ctx<'_>, dropped: Option<u64>) -> String {
    let want = KernelDetectors::for_scenario(&ctx.input.scenario);
    let mut parts = Vec::new();
    match ctx.hello.map(|h| &h.detectors) {
        None => parts.push("detector settings unknown (no hello from the guest)".to_owned()),
        Some(seen) => {
            let secs = |name: &str, got: Option<u32>, asked: u32| match got {
                Some(v) if v == asked => format!("{name} {v} s"),
                Some(v) => format!("{name} {v} s (asked {asked})"),
                None => format!("{name} not built in"),
            };
            parts.push(match seen.watchdog_thresh_s {
                Some(t) if t == want.watchdog_thresh_s => format!("soft lockup {} s", 2 * t),
                Some(t) => format!("soft lockup {} s (asked {})", 2 * t, want.soft_lockup_s()),
                None => "soft lockup not built in".to_owned(),
            });
            parts.push(secs("RCU stall", seen.rcu_stall_s, want.rcu_stall_s));
            parts.push(secs("hung task", seen.hung_task_s, want.hung_task_s));
            parts.push(match seen.scx_watchdog_max_ms {
                Some(ms) if ms > 0 => format!("sched_ext watchdog <= {ms} ms"),
                Some(_) => "sched_ext watchdog: the scheduler's own timeout".to_owned(),
                None => "sched_ext watchdog: the scheduler's own timeout (the kernel lacks scx_watchdog_max_ms)".to_owned(),
            });
        }
    }
    let mut note = format!("detectors: {}", parts.join(", "));
    if let Some(bytes) = dropped {
        note.push_str(&format!(
            "; {bytes} console bytes from the middle of the run were not kept and not checked"
        ));
    }
    note
}

/// The line without a leading `[   12.345678] ` printk timestamp.
fn strip_timestamp(line: &str) -> &str {
    let t = line.trim();
    match t.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((stamp, rest)) if stamp.trim().parse::<f64>().is_ok() => rest.trim(),
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_wire::{Hello, Message, ObservedDetectors};

    #[test]
    fn clean_console_passes() {
        let mut i = two_spinners();
        i.console =
            "[    0.000000] Linux version 6.12\n[    1.0] Run /init as init process\n".into();
        assert_eq!(run(check, &i).status, Status::Pass);
    }

    #[test]
    fn warnings_and_stalls_fail_deduplicated() {
        let mut i = two_spinners();
        i.console = "[ 1.0] WARNING: CPU: 1 PID: 0 at kernel/sched/ext.c:100 f+0x1\n\
                     [ 2.0] WARNING: CPU: 1 PID: 0 at kernel/sched/ext.c:100 f+0x1\n\
                     [ 3.0] rcu: INFO: rcu_sched self-detected stall on CPU\n\
                     [ 4.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!\n\
                     [ 5.0] INFO: task kworker:1 blocked for more than 120 seconds.\n"
            .into();
        let r = run(check, &i);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.details.len(), 4);
        assert_eq!(
            r.details[0].message,
            "WARNING: CPU: 1 PID: 0 at kernel/sched/ext.c:100 f+0x1"
        );
        assert!(
            r.summary
                .starts_with("4 suspicious kernel lines; detectors: "),
            "{}",
            r.summary
        );
    }

    #[test]
    fn caps_details_at_ten() {
        let mut i = two_spinners();
        i.console = (0..15).map(|n| format!("BUG: thing {n}\n")).collect();
        let r = run(check, &i);
        assert_eq!(r.details.len(), MAX_DETAILS);
        assert!(
            r.summary
                .starts_with("15 suspicious kernel lines (showing 10); "),
            "{}",
            r.summary
        );
    }

    #[test]
    fn the_summary_names_the_detector_settings_the_guest_read_back_and_a_dropped_middle() {
        let mut i = two_spinners();
        i.console = "[ 1.0] ok\n[... 4096 console bytes dropped ...]\n[ 9.0] ok\n".into();
        i.messages.insert(
            0,
            Message::Hello(Hello {
                kernel_release: "6.12".into(),
                boot_ns: 1,
                topology: Default::default(),
                sched_ext: true,
                sched_ext_state: None,
                detectors: ObservedDetectors {
                    watchdog_thresh_s: Some(1),
                    rcu_stall_s: Some(21),
                    hung_task_s: Some(2),
                    scx_watchdog_max_ms: None,
                },
            }),
        );
        let r = run(check, &i);
        assert_eq!(r.status, Status::Pass);
        assert_eq!(
            r.summary,
            "no kernel warnings, bugs, stalls or lockups; detectors: soft lockup 2 s, \
             RCU stall 21 s (asked 3), hung task 2 s, sched_ext watchdog: the scheduler's own \
             timeout (the kernel lacks scx_watchdog_max_ms); 4096 console bytes from the middle \
             of the run were not kept and not checked"
        );
    }
}
