//! Memory shared between the controller (PID 1) and its forked workers.
//!
//! One anonymous `MAP_SHARED` mapping made before any fork: a header (phase,
//! start gate) and one [`Slot`] per worker. Everything in it is an atomic, so
//! both sides read and write it without locks, and a worker that dies leaves
//! its numbers behind for the controller to report.

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

use crate::sys::Mapping;

/// CPUs a slot can record (the kernel fragment's `NR_CPUS`).
pub(crate) const MAX_CPUS: usize = 128;
/// Phases a slot can record CPUs for; validation keeps every run within it.
pub(crate) const MAX_PHASES: usize = ktstr_model::MAX_PHASES as usize;
/// Wake latency samples kept per worker (reservoir).
pub(crate) const WAKE_SAMPLES: usize = 256;
/// Worker slots in one region.
pub(crate) const MAX_WORKERS: usize = ktstr_model::MAX_WORKERS as usize;

/// Per-worker state.
#[repr(C)]
pub(crate) struct Slot {
    /// Start gate: the worker waits for it to become 1 (a futex word).
    pub go: AtomicU32,
    /// When the controller opened the gate (CLOCK_MONOTONIC ns): the worker's
    /// clock starts here, so time before its first run counts against the scheduler.
    pub released_ns: AtomicU64,
    pub stop: AtomicU32,
    pub exited: AtomicU32,
    pub work_units: AtomicU64,
    pub start_ns: AtomicU64,
    pub end_ns: AtomicU64,
    pub cpu_ns: AtomicU64,
    pub max_gap_ns: AtomicU64,
    pub max_gap_cpu: AtomicU64,
    pub max_gap_at_ns: AtomicU64,
    pub migrations: AtomicU64,
    /// The CPU of the latest checkpoint, for the controller's samples.
    pub last_cpu: AtomicU32,
    pub run_delay_ns: AtomicU64,
    /// Scheduling-class samples: on sched_ext, off it, and undecidable.
    pub ext_on: AtomicU32,
    pub ext_off: AtomicU32,
    pub ext_unknown: AtomicU32,
    pub wake_seen: AtomicU64,
    /// A partner's "I woke you at" stamp, for pair work types.
    pub wake_stamp: AtomicU64,
    /// Fan-out: the waker's slot index + 1 this wakee waits on (0: none).
    pub waits_on: AtomicU32,
    /// Fan-out: when the first wake this wakee has not yet consumed was sent
    /// (0: none pending). Set by the waker, taken by the wakee.
    pub wake_pending_since: AtomicU64,
    /// A futex word for pair and fan-out work types.
    pub futex: AtomicU32,
    pub acks: AtomicU32,
    pub cpus: [[AtomicU64; MAX_CPUS / 64]; MAX_PHASES],
    pub wake_ns: [AtomicU64; WAKE_SAMPLES],
}

/// The region's header.
#[repr(C)]
pub(crate) struct Header {
    /// Current scenario phase (odd = transition).
    pub phase: AtomicU32,
    /// Pid of each slot's worker, for the controller.
    pub pids: [AtomicI32; MAX_WORKERS],
}

#[repr(C)]
struct Layout {
    header: Header,
    slots: [Slot; MAX_WORKERS],
}

/// The shared region. Created once by the controller; inherited by forks.
pub(crate) struct Shared {
    map: Mapping,
}

impl Shared {
    /// Maps a zeroed region. Zero is a valid value for every atomic in it.
    pub(crate) fn new() -> std::io::Result<Shared> {
        let map = Mapping::shared_anonymous(std::mem::size_of::<Layout>())?;
        Ok(Shared { map })
    }

    fn layout(&self) -> &Layout {
        // SAFETY: the mapping is page-aligned, `size_of::<Layout>()` bytes long,
        // zero-filled and lives as long as `self`; every field of `Layout` is an
        // atomic, valid when zero, so shared references to it are sound across
        // processes.
        unsafe { &*self.map.as_ptr().cast::<Layout>() }
    }

    /// The header.
    pub(crate) fn header(&self) -> &Header {
        &self.layout().header
    }

    /// Slot `i` (panics if `i >= MAX_WORKERS`, a controller bug).
    pub(crate) fn slot(&self, i: usize) -> &Slot {
        &self.layout().slots[i]
    }

    /// The current phase.
    pub(crate) fn phase(&self) -> u32 {
        self.header().phase.load(Ordering::Relaxed)
    }
}

impl Slot {
    /// Records that the worker ran on `cpu` during `phase`.
    pub(crate) fn mark_cpu(&self, phase: u32, cpu: u32) {
        let p = (phase as usize).min(MAX_PHASES - 1);
        let c = cpu as usize % MAX_CPUS;
        self.cpus[p][c / 64].fetch_or(1 << (c % 64), Ordering::Relaxed);
    }

    /// CPUs used per phase, for phases in which any were recorded.
    pub(crate) fn cpus_by_phase(&self) -> Vec<(u32, Vec<u32>)> {
        let mut out = Vec::new();
        for (p, words) in self.cpus.iter().enumerate() {
            let cpus: Vec<u32> = (0..MAX_CPUS as u32)
                .filter(|&c| words[c as usize / 64].load(Ordering::Relaxed) & (1 << (c % 64)) != 0)
                .collect();
            if !cpus.is_empty() {
                out.push((p as u32, cpus));
            }
        }
        out
    }

    /// Adds a wake latency sample (reservoir sampling keeps a uniform subset).
    pub(crate) fn add_wake(&self, ns: u64, rng: &mut u64) {
        let seen = self.wake_seen.fetch_add(1, Ordering::Relaxed);
        let idx = if (seen as usize) < WAKE_SAMPLES {
            Some(seen as usize)
        } else {
            let r = (next_random(rng) % (seen + 1)) as usize;
            (r < WAKE_SAMPLES).then_some(r)
        };
        if let Some(i) = idx {
            self.wake_ns[i].store(ns, Ordering::Relaxed);
        }
    }

    /// The wake latency samples.
    pub(crate) fn wake_samples(&self) -> Vec<u64> {
        let n = (self.wake_seen.load(Ordering::Relaxed) as usize).min(WAKE_SAMPLES);
        self.wake_ns[..n]
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect()
    }
}

/// xorshift64: a tiny, seedable generator for sampling and random choices.
pub(crate) fn next_random(state: &mut u64) -> u64 {
    let mut x = (*state).max(1);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}
