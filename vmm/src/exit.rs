//! How a VM run ended, decided from the wire and the console, never from the
//! process exit alone.

use serde::Serialize;

use crate::Console;

/// Lines kept as evidence for timeouts and missing results.
const EVIDENCE_LINES: usize = 20;

/// The classified end of a VM run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VmExit {
    /// The guest runtime sent its final message and the VM powered off.
    Completed,
    /// The guest kernel panicked; `text` is the panic line and the report before it.
    KernelPanic {
        /// The panic report from the console.
        text: String,
    },
    /// The VM ran past its time and was killed.
    Timeout {
        /// Seconds allowed.
        after_secs: u64,
        /// The last console lines.
        last_lines: Vec<String>,
    },
    /// The VM ended without the guest's final message.
    NoResult {
        /// The VM process's exit status, as text.
        status: String,
        /// The last console lines.
        last_lines: Vec<String>,
    },
    /// The user interrupted the run (Ctrl-C).
    Interrupted,
}

impl VmExit {
    /// Short name, e.g. `kernel_panic`.
    pub fn kind(&self) -> &'static str {
        match self {
            VmExit::Completed => "completed",
            VmExit::KernelPanic { .. } => "kernel_panic",
            VmExit::Timeout { .. } => "timeout",
            VmExit::NoResult { .. } => "no_result",
            VmExit::Interrupted => "interrupted",
        }
    }
}

/// Decides how a run ended. A panic in the console wins over everything but an
/// interrupt: a guest can send its last frame and still panic while powering off.
pub fn classify(
    done_seen: bool,
    console: &Console,
    timed_out: Option<u64>,
    interrupted: bool,
    status: &str,
) -> VmExit {
    if interrupted {
        return VmExit::Interrupted;
    }
    let text = console.text();
    if let Some(panic) = panic_report(&text) {
        return VmExit::KernelPanic { text: panic };
    }
    if let Some(after_secs) = timed_out {
        return VmExit::Timeout {
            after_secs,
            last_lines: console.last_lines(EVIDENCE_LINES),
        };
    }
    if done_seen {
        return VmExit::Completed;
    }
    VmExit::NoResult {
        status: status.to_string(),
        last_lines: console.last_lines(EVIDENCE_LINES),
    }
}

/// The panic line with the report that led to it (from the last `Oops`, `BUG:` or
/// `------------[ cut here ]` marker, at most 40 lines back).
fn panic_report(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let at = lines
        .iter()
        .position(|l| l.contains("Kernel panic - not syncing"))?;
    let floor = at.saturating_sub(40);
    let start = (floor..at)
        .rev()
        .find(|&i| {
            let l = lines[i];
            l.contains("Oops:")
                || l.contains("BUG:")
                || l.contains("[ cut here ]")
                || l.contains("general protection fault")
        })
        .unwrap_or(at);
    Some(lines[start..=at].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(text: &str) -> Console {
        let mut c = Console::new(1 << 20);
        c.push(text.as_bytes());
        c
    }

    #[test]
    fn panic_is_found_with_its_report() {
        let c = console("boot\n[ 1.0] BUG: kernel NULL pointer dereference\n[ 1.1] RIP: foo\n[ 1.2] Kernel panic - not syncing: Fatal exception\n");
        match classify(true, &c, None, false, "exit 0") {
            VmExit::KernelPanic { text } => {
                assert!(text.starts_with("[ 1.0] BUG: kernel NULL"), "{text}");
                assert!(text.ends_with("Fatal exception"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn init_death_is_a_panic_without_report() {
        let c = console(
            "Run /init as init process\nKernel panic - not syncing: No working init found.\n",
        );
        assert_eq!(
            classify(false, &c, None, false, "exit 0"),
            VmExit::KernelPanic {
                text: "Kernel panic - not syncing: No working init found.".into()
            }
        );
    }

    #[test]
    fn timeout_and_no_result_keep_the_last_lines() {
        let c = console("a\nb\nc\n");
        assert_eq!(
            classify(false, &c, Some(5), false, "killed"),
            VmExit::Timeout {
                after_secs: 5,
                last_lines: vec!["a".into(), "b".into(), "c".into()]
            }
        );
        assert!(matches!(
            classify(false, &c, None, false, "exit 0"),
            VmExit::NoResult { .. }
        ));
        assert_eq!(classify(true, &c, None, false, "exit 0"), VmExit::Completed);
        assert_eq!(
            classify(true, &c, Some(1), true, "killed"),
            VmExit::Interrupted
        );
    }
}
