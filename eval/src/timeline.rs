//! The run's timeline, from the guest's periodic samples: each worker's
//! progress and CPU, each CPU's busy share, the phase and step boundaries —
//! so gaps, migrations and starvation can be seen where they happened.

use ktstr_wire::{Message, WorkerSample};
use serde::{Deserialize, Serialize};

/// More samples than this are thinned (every other one dropped) on the host.
pub const MAX_TICKS: usize = 2_000;

/// The timeline of one run. Times are ms after the scenario started (its
/// first phase).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The median time between samples, ms.
    pub interval_ms: f64,
    /// The workers, by index: cgroup and work type.
    pub workers: Vec<TimelineWorker>,
    /// The samples, in time order.
    pub ticks: Vec<Tick>,
    /// When each phase began.
    pub phases: Vec<Boundary>,
    /// When each step was applied.
    pub steps: Vec<Boundary>,
    /// Samples dropped on the host to stay within [`MAX_TICKS`].
    pub thinned: usize,
}

/// A worker as the timeline names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineWorker {
    /// Its index ([`WorkerSample::index`]).
    pub index: u32,
    /// Its cgroup.
    pub cgroup: String,
    /// Its work type.
    pub work: String,
    /// Its wake-up latencies (a bounded sample), µs; empty for work that
    /// does not block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wake_latencies_us: Vec<u32>,
}

/// One sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// When, ms after the start.
    pub at_ms: f64,
    /// The phase.
    pub phase: u32,
    /// Each live worker's progress and CPU.
    pub workers: Vec<WorkerSample>,
    /// Each CPU's busy share since the previous sample, permille.
    pub cpu_busy_permille: Vec<u16>,
}

/// A phase or step boundary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Boundary {
    /// The phase or step number.
    pub index: u32,
    /// When, ms after the start.
    pub at_ms: f64,
}

impl Timeline {
    /// The timeline of a run's messages; `None` when the guest sent no samples.
    pub fn from_messages(messages: &[Message]) -> Option<Timeline> {
        let t0 = messages
            .iter()
            .filter_map(|m| match m {
                Message::Phase(p) => Some(p.at_ns),
                _ => None,
            })
            .min()?;
        let ms = |ns: u64| ns.saturating_sub(t0) as f64 / 1e6;
        let mut t = Timeline::default();
        for m in messages {
            match m {
                Message::Sample(s) => t.ticks.push(Tick {
                    at_ms: ms(s.at_ns),
                    phase: s.phase,
                    workers: s.workers.clone(),
                    cpu_busy_permille: s.cpu_busy_permille.clone(),
                }),
                Message::Phase(p) => t.phases.push(Boundary {
                    index: p.index,
                    at_ms: ms(p.at_ns),
                }),
                Message::Step(s) => t.steps.push(Boundary {
                    index: s.index,
                    at_ms: ms(s.at_ns),
                }),
                Message::Worker(w) => t.workers.push(TimelineWorker {
                    index: w.index,
                    cgroup: w.cgroup.clone(),
                    work: w.work.clone(),
                    wake_latencies_us: w
                        .wake_latencies_ns
                        .iter()
                        .map(|&ns| (ns / 1_000).min(u64::from(u32::MAX)) as u32)
                        .collect(),
                }),
                _ => {}
            }
        }
        if t.ticks.is_empty() {
            return None;
        }
        t.ticks.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        while t.ticks.len() > MAX_TICKS {
            let before = t.ticks.len();
            t.ticks = t.ticks.into_iter().step_by(2).collect();
            t.thinned += before - t.ticks.len();
        }
        let mut gaps: Vec<f64> = t
            .ticks
            .windows(2)
            .map(|w| w[1].at_ms - w[0].at_ms)
            .collect();
        gaps.sort_by(f64::total_cmp);
        t.interval_ms = gaps.get(gaps.len() / 2).copied().unwrap_or(0.0);
        t.workers.sort_by_key(|w| w.index);
        Some(t)
    }

    /// The longest time worker `index` made no progress between two samples
    /// while it was sampled, and when that stretch ended (ms).
    pub fn longest_stall(&self, index: u32) -> Option<(f64, f64)> {
        let mut last: Option<(f64, u64)> = None;
        let mut worst: Option<(f64, f64)> = None;
        for t in &self.ticks {
            let Some(w) = t.workers.iter().find(|w| w.index == index) else {
                continue;
            };
            match last {
                Some((since, units)) if w.work_units == units => {
                    let len = t.at_ms - since;
                    if worst.is_none_or(|(l, _)| len > l) {
                        worst = Some((len, t.at_ms));
                    }
                }
                _ => last = Some((t.at_ms, w.work_units)),
            }
        }
        worst
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_wire::{PhaseEvent, Sample};

    fn sample(at_ms: u64, units: u64) -> Message {
        Message::Sample(Sample {
            at_ns: 1_000_000_000 + at_ms * 1_000_000,
            phase: 0,
            workers: vec![WorkerSample {
                index: 0,
                work_units: units,
                cpu: 1,
            }],
            cpu_busy_permille: vec![1000, 0],
        })
    }

    #[test]
    fn samples_become_ticks_after_the_first_phase() {
        let mut msgs = vec![Message::Phase(PhaseEvent {
            index: 0,
            at_ns: 1_000_000_000,
            cpusets: vec![],
            members: vec![],
        })];
        msgs.extend([
            sample(100, 10),
            sample(200, 20),
            sample(300, 20),
            sample(400, 20),
            sample(500, 30),
        ]);
        let t = Timeline::from_messages(&msgs).unwrap();
        assert_eq!(t.ticks.len(), 5);
        assert_eq!(t.interval_ms, 100.0);
        assert_eq!(t.ticks[0].at_ms, 100.0);
        assert_eq!(t.longest_stall(0), Some((200.0, 400.0)));
        assert!(Timeline::from_messages(&msgs[..1]).is_none());
    }
}
