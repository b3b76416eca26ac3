//! Progress checkpoints: the worker's heartbeat, and what the gap check sees.

use std::sync::atomic::Ordering;

use super::shared::{Shared, Slot};
use crate::sys::{current_cpu, mono_ns};

/// Tracks time and CPU between checkpoints and publishes them to the slot.
pub(crate) struct Checkpoint {
    start_ns: u64,
    last_ns: u64,
    last_cpu: u32,
}

impl Checkpoint {
    /// Starts the clocks at the worker's release, not at its first run: a
    /// released worker left unscheduled shows as a gap before its first
    /// checkpoint, and its wall time (rate, CPU share) includes the wait.
    pub(crate) fn start(slot: &Slot) -> Checkpoint {
        let now = mono_ns();
        let released = slot.released_ns.load(Ordering::Relaxed);
        let start = if released > 0 && released <= now {
            released
        } else {
            now
        };
        slot.start_ns.store(start, Ordering::Relaxed);
        Checkpoint {
            start_ns: start,
            last_ns: start,
            last_cpu: current_cpu(),
        }
    }

    /// Nanoseconds since the worker started.
    pub(crate) fn elapsed_ns(&self) -> u64 {
        mono_ns().saturating_sub(self.start_ns)
    }

    /// Records `units` of progress now.
    pub(crate) fn tick(&mut self, shared: &Shared, slot: &Slot, units: u64) {
        let now = mono_ns();
        let cpu = current_cpu();
        let gap = now.saturating_sub(self.last_ns);
        if gap > slot.max_gap_ns.load(Ordering::Relaxed) {
            slot.max_gap_ns.store(gap, Ordering::Relaxed);
            // Where it was stuck: the CPU it last ran on before the gap, not
            // the one it resumed on.
            slot.max_gap_cpu
                .store(u64::from(self.last_cpu), Ordering::Relaxed);
            slot.max_gap_at_ns
                .store(now - self.start_ns, Ordering::Relaxed);
        }
        if cpu != self.last_cpu {
            slot.migrations.fetch_add(1, Ordering::Relaxed);
            self.last_cpu = cpu;
        }
        slot.mark_cpu(shared.phase(), cpu);
        slot.last_cpu.store(cpu, Ordering::Relaxed);
        slot.work_units.fetch_add(units, Ordering::Relaxed);
        self.last_ns = now;
    }

    /// Records the gap since the last checkpoint at the end of the run, without
    /// counting progress.
    pub(crate) fn finish(&mut self, slot: &Slot) {
        let now = mono_ns();
        let gap = now.saturating_sub(self.last_ns);
        if gap > slot.max_gap_ns.load(Ordering::Relaxed) {
            slot.max_gap_ns.store(gap, Ordering::Relaxed);
            slot.max_gap_cpu
                .store(u64::from(self.last_cpu), Ordering::Relaxed);
            slot.max_gap_at_ns
                .store(now - self.start_ns, Ordering::Relaxed);
        }
    }

    /// Restarts the gap clock after a voluntary wait that ended when the
    /// worker was woken (a futex, a pipe): not lost progress.
    pub(crate) fn resume(&mut self) {
        self.last_ns = mono_ns();
    }

    /// Restarts the gap clock at `due_ns`, when a timed sleep was due to end:
    /// the sleep itself is not lost progress, but the time from the timer's
    /// expiry to the worker running again is the scheduler's, and counts.
    pub(crate) fn resume_from(&mut self, due_ns: u64) {
        self.last_ns = due_ns.min(mono_ns());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_starts_at_the_release_so_the_wait_is_a_gap() {
        let shared = Shared::new().unwrap();
        let slot = shared.slot(0);
        slot.released_ns
            .store(mono_ns() - 300_000_000, Ordering::Relaxed);
        let mut cp = Checkpoint::start(slot);
        cp.tick(&shared, slot, 1);
        let gap = slot.max_gap_ns.load(Ordering::Relaxed);
        assert!(gap >= 300_000_000, "{gap}");
        // The gap ends at its first checkpoint: it began at the release.
        let at = slot.max_gap_at_ns.load(Ordering::Relaxed);
        assert!(at >= gap && at - gap < 1_000_000, "{at} {gap}");
        assert!(cp.elapsed_ns() >= 300_000_000);
    }

    #[test]
    fn a_late_wake_after_a_timed_sleep_counts_but_the_sleep_does_not() {
        let shared = Shared::new().unwrap();
        let slot = shared.slot(1);
        let mut cp = Checkpoint::start(slot);
        cp.tick(&shared, slot, 1);
        // The timer was due 200 ms ago: the worker ran late by that much.
        cp.resume_from(mono_ns() - 200_000_000);
        cp.tick(&shared, slot, 1);
        assert!(slot.max_gap_ns.load(Ordering::Relaxed) >= 200_000_000);
        // A wake-up due in the future (clock skew) never makes a negative gap.
        let slot = shared.slot(2);
        let mut cp = Checkpoint::start(slot);
        cp.resume_from(mono_ns() + 5_000_000_000);
        cp.tick(&shared, slot, 1);
        assert!(slot.max_gap_ns.load(Ordering::Relaxed) < 1_000_000_000);
    }
}
