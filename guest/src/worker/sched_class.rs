//! Which scheduling class the worker runs in, sampled while it runs.
//!
//! The host must know that a verdict about a sched_ext scheduler is about work
//! that scheduler ran. A worker reads `/proc/self/sched` (a few KiB of procfs
//! text) at start, at most every [`SAMPLE_EVERY_NS`] at its checkpoints, and
//! at exit, and counts each `ext.enabled` value into its slot, so a worker that
//! dies still leaves its counts behind.

use std::io::Read;
use std::sync::atomic::Ordering;

use super::shared::Slot;
use crate::sys::mono_ns;

/// Least time between two samples: often enough to catch a worker that left
/// sched_ext mid-run, rare enough that the read costs nothing measurable.
const SAMPLE_EVERY_NS: u64 = 200_000_000;
/// Where the kernel prints the calling task's scheduler state.
const SCHED_FILE: &str = "/proc/self/sched";

/// Samples the worker's own class into its slot, rate-limited.
pub(crate) struct ClassSampler {
    next_ns: u64,
    buf: String,
}

impl ClassSampler {
    /// Takes the first sample now.
    pub(crate) fn start(slot: &Slot) -> ClassSampler {
        let mut s = ClassSampler {
            next_ns: 0,
            buf: String::with_capacity(8192),
        };
        s.sample(slot);
        s
    }

    /// Takes a sample if the last one is [`SAMPLE_EVERY_NS`] old.
    pub(crate) fn maybe_sample(&mut self, slot: &Slot) {
        if mono_ns() >= self.next_ns {
            self.sample(slot);
        }
    }

    /// Takes a sample now (at exit, whatever the rate limit says).
    pub(crate) fn sample(&mut self, slot: &Slot) {
        let counter = match self.read() {
            Some(true) => &slot.ext_on,
            Some(false) => &slot.ext_off,
            None => &slot.ext_unknown,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.next_ns = mono_ns() + SAMPLE_EVERY_NS;
    }

    /// `ext.enabled` of this task now; `None` when it cannot be told.
    fn read(&mut self) -> Option<bool> {
        self.buf.clear();
        std::fs::File::open(SCHED_FILE)
            .and_then(|mut f| f.read_to_string(&mut self.buf))
            .ok()?;
        parse_ext_enabled(&self.buf)
    }
}

/// The `ext.enabled` value of a `/proc/<pid>/sched` text: `Some(true)` on
/// sched_ext, `Some(false)` in another class, `None` when the line is absent
/// (a kernel without sched_ext) or unreadable.
fn parse_ext_enabled(text: &str) -> Option<bool> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim() == "ext.enabled")
        .and_then(|(_, value)| value.trim().parse::<i64>().ok())
        .map(|v| v != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tail of a 6.12 `/proc/<pid>/sched`, as `proc_sched_show_task` prints it.
    const SCHED_6_12: &str = "\
spin (77, #threads: 1)
-------------------------------------------------------------------
se.exec_start                                :          1520.123456
se.vruntime                                  :            12.000001
nr_switches                                  :                   41
policy                                       :                    0
prio                                         :                  120
se.slice                                     :             3.000000
ext.enabled                                  :                    1
mm->numa_scan_seq                            :                    0
";

    #[test]
    fn reads_ext_enabled_from_proc_sched() {
        assert_eq!(parse_ext_enabled(SCHED_6_12), Some(true));
        let off = SCHED_6_12.replace(
            "ext.enabled                                  :                    1",
            "ext.enabled                                  :                    0",
        );
        assert_eq!(parse_ext_enabled(&off), Some(false));
    }

    #[test]
    fn a_kernel_without_the_line_is_unknown_not_off() {
        let without: String = SCHED_6_12
            .lines()
            .filter(|l| !l.starts_with("ext.enabled"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(parse_ext_enabled(&without), None);
        assert_eq!(parse_ext_enabled(""), None);
        assert_eq!(parse_ext_enabled("ext.enabled : yes\n"), None);
    }

    #[test]
    fn this_process_reads_as_off_or_unknown() {
        // The test runs on a host without a sched_ext scheduler in charge of
        // it (or without sched_ext at all): never "on" unless one is.
        let mut s = ClassSampler {
            next_ns: 0,
            buf: String::new(),
        };
        if let Some(on) = s.read() {
            let state = std::fs::read_to_string("/sys/kernel/sched_ext/state").unwrap_or_default();
            assert!(!on || state.trim() == "enabled");
        }
    }
}
