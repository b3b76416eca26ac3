//! Did the guest kernel complain on its console?

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
    let details = seen
        .iter()
        .take(MAX_DETAILS)
        .map(|l| Detail::new(DetailKind::KernelHealth, *l))
        .collect();
    CheckResult::judge(
        "kernel_health",
        details,
        || "no kernel warnings, bugs, stalls or lockups".into(),
        |d| match total > d.len() {
            true => format!(
                "{} (showing {})",
                plural(total, "suspicious kernel line"),
                d.len()
            ),
            false => plural(total, "suspicious kernel line"),
        },
    )
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
        assert_eq!(r.summary, "4 suspicious kernel lines");
    }

    #[test]
    fn caps_details_at_ten() {
        let mut i = two_spinners();
        i.console = (0..15).map(|n| format!("BUG: thing {n}\n")).collect();
        let r = run(check, &i);
        assert_eq!(r.details.len(), MAX_DETAILS);
        assert_eq!(r.summary, "15 suspicious kernel lines (showing 10)");
    }
}
