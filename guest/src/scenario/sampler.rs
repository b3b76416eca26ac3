//! The run's timeline: every interval, each live worker's progress and CPU
//! (read from the shared slots) and each CPU's busy share (`/proc/stat`),
//! sent as one [`Sample`] frame.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ktstr_wire::{Message, Sample, WorkerSample};

use crate::boottime_ns;
use crate::worker::Shared;
use crate::WireOut;

/// The usual interval between samples.
const INTERVAL: Duration = Duration::from_millis(100);
/// At most about this many samples per run: longer runs sample less often.
const MAX_SAMPLES: u64 = 600;

/// Takes samples on the controller's poll loop.
pub(crate) struct Sampler {
    interval: Duration,
    next: Instant,
    /// Per CPU: (busy, total) jiffies at the previous sample.
    prev: Vec<(u64, u64)>,
}

impl Sampler {
    /// A sampler for a run of `duration`.
    pub(crate) fn new(duration: Duration) -> Sampler {
        let interval = INTERVAL.max(duration / MAX_SAMPLES as u32);
        Sampler {
            interval,
            next: Instant::now(),
            prev: cpu_jiffies(),
        }
    }

    /// Sends a sample if one is due: `workers` are (index, slot) of live workers.
    pub(crate) fn maybe_sample(
        &mut self,
        shared: &Shared,
        phase: u32,
        workers: impl Iterator<Item = (u32, usize)>,
        wire: &mut WireOut,
    ) {
        let now = Instant::now();
        if now < self.next {
            return;
        }
        self.next = now + self.interval;
        let jiffies = cpu_jiffies();
        let cpu_busy_permille = jiffies
            .iter()
            .enumerate()
            .map(|(cpu, &(busy, total))| {
                let (pb, pt) = self.prev.get(cpu).copied().unwrap_or((busy, total));
                let (db, dt) = (busy.saturating_sub(pb), total.saturating_sub(pt));
                (db.min(dt) * 1000).checked_div(dt).unwrap_or(0) as u16
            })
            .collect();
        self.prev = jiffies;
        let workers = workers
            .map(|(index, slot)| {
                let s = shared.slot(slot);
                WorkerSample {
                    index,
                    work_units: s.work_units.load(Ordering::Relaxed),
                    cpu: s.last_cpu.load(Ordering::Relaxed),
                }
            })
            .collect();
        wire.send(&Message::Sample(Sample {
            at_ns: boottime_ns(),
            phase,
            workers,
            cpu_busy_permille,
        }));
    }
}

/// `/proc/stat`'s `cpuN` lines: (busy, total) jiffies per CPU, in CPU order
/// (a CPU without a line, offline, reads as zero).
fn cpu_jiffies() -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    parse_cpu_jiffies(&text)
}

fn parse_cpu_jiffies(text: &str) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for line in text.lines() {
        // `cpuN ...`; the first line, `cpu  ...`, is the sum over CPUs.
        let Some(rest) = line
            .strip_prefix("cpu")
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let Some(Ok(cpu)) = fields.next().map(str::parse::<usize>) else {
            continue;
        };
        let v: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal ...
        let total: u64 = v.iter().take(8).sum();
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        if cpu < 4096 {
            if out.len() <= cpu {
                out.resize(cpu + 1, (0, 0));
            }
            out[cpu] = (total.saturating_sub(idle), total);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_lines_give_busy_and_total_per_cpu() {
        let text = "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu2 1 1 1 6 1 0 0 0 0 0\nintr 1\n";
        assert_eq!(parse_cpu_jiffies(text), vec![(10, 50), (0, 0), (3, 10)]);
    }
}
