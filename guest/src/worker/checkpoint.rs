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
    pub(crate) fn start(slot: &Slot) -> Checkpoint {
        let now = mono_ns();
        slot.start_ns.store(now, Ordering::Relaxed);
        Checkpoint {
            start_ns: now,
            last_ns: now,
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
            slot.max_gap_cpu.store(u64::from(cpu), Ordering::Relaxed);
            slot.max_gap_at_ns
                .store(now - self.start_ns, Ordering::Relaxed);
        }
        if cpu != self.last_cpu {
            slot.migrations.fetch_add(1, Ordering::Relaxed);
            self.last_cpu = cpu;
        }
        slot.mark_cpu(shared.phase(), cpu);
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
                .store(u64::from(current_cpu()), Ordering::Relaxed);
            slot.max_gap_at_ns
                .store(now - self.start_ns, Ordering::Relaxed);
        }
    }

    /// Restarts the gap clock after a voluntary sleep, which is not lost progress.
    pub(crate) fn resume(&mut self) {
        self.last_ns = mono_ns();
    }
}
