//! The kernel's own stall detectors, tuned per run so that they can fire
//! within a scenario of a few seconds.
//!
//! By default they cannot: soft lockup fires after 20 s, an RCU stall after
//! 21 s, a hung task after 120 s and the sched_ext watchdog after the
//! scheduler's `ops.timeout_ms` (30 s unless it sets less). The settings here
//! travel on the guest's kernel command line.

use serde::{Deserialize, Serialize};

use crate::Scenario;

/// The detector settings of one run.
///
/// ```
/// use ktstr_model::{catalog, KernelDetectors};
///
/// let d = KernelDetectors::for_scenario(&catalog::find("steady").unwrap());
/// assert_eq!(d.soft_lockup_s(), 2 * d.watchdog_thresh_s);
/// assert!(d.cmdline().iter().any(|w| w.starts_with("scx_watchdog_max_ms=")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelDetectors {
    /// `watchdog_thresh`, s: a soft lockup is reported after twice this.
    pub watchdog_thresh_s: u32,
    /// `rcupdate.rcu_cpu_stall_timeout`, s (the kernel's minimum is 3).
    pub rcu_stall_s: u32,
    /// `kernel.hung_task_timeout_secs`: a task in uninterruptible sleep this
    /// long is reported.
    pub hung_task_s: u32,
    /// The cap on the sched_ext watchdog, ms: a runnable task not run for
    /// this long makes the kernel eject the scheduler. Needs the project's
    /// kernel patch (`scx_watchdog_max_ms`); the guest reports whether the
    /// kernel took it.
    pub scx_watchdog_ms: u64,
}

/// The sched_ext watchdog cap when the scenario sets none, ms.
///
/// Longer than the worst healthy wait seen under TCG on two loaded host cores
/// (hundreds of ms) by a wide margin, shorter than the catalog's runs, so a
/// task the scheduler never runs ends the scheduler within the run.
pub const DEFAULT_SCX_WATCHDOG_MS: u64 = 2_000;

/// The range a scenario may set `thresholds.scx_watchdog_ms` to: the kernel
/// checks every half timeout, so below 100 ms it would mostly measure its own
/// timer; above 30 s it is the kernel's own maximum.
pub const SCX_WATCHDOG_MS_RANGE: std::ops::RangeInclusive<u64> = 100..=30_000;

impl KernelDetectors {
    /// The settings for `scenario`: the tightest the kernel allows that a
    /// healthy run does not trip, and the scenario's sched_ext watchdog cap.
    ///
    /// `watchdog_thresh` 1 (soft lockup after 2 s): a CPU that has not let
    /// its stopper thread run for 2 s is stuck in the kernel; nothing healthy
    /// holds a CPU that long, also under TCG. RCU 3 s is the kernel's floor.
    /// Hung task 2 s: the guest's blocking I/O finishes in milliseconds.
    pub fn for_scenario(scenario: &Scenario) -> Self {
        KernelDetectors {
            watchdog_thresh_s: 1,
            rcu_stall_s: 3,
            hung_task_s: 2,
            scx_watchdog_ms: scenario
                .thresholds
                .scx_watchdog_ms
                .unwrap_or(DEFAULT_SCX_WATCHDOG_MS),
        }
    }

    /// After how long a soft lockup is reported, s.
    pub fn soft_lockup_s(&self) -> u32 {
        2 * self.watchdog_thresh_s
    }

    /// The kernel command-line words that apply these settings (`sysctl.`
    /// words are boot-time sysctls).
    pub fn cmdline(&self) -> Vec<String> {
        vec![
            format!("watchdog_thresh={}", self.watchdog_thresh_s),
            format!("rcupdate.rcu_cpu_stall_timeout={}", self.rcu_stall_s),
            format!("sysctl.kernel.hung_task_timeout_secs={}", self.hung_task_s),
            format!("scx_watchdog_max_ms={}", self.scx_watchdog_ms),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    #[test]
    fn the_scenario_sets_the_sched_ext_watchdog_and_the_rest_is_fixed() {
        let mut s = catalog::find("steady").unwrap();
        assert_eq!(
            KernelDetectors::for_scenario(&s).scx_watchdog_ms,
            DEFAULT_SCX_WATCHDOG_MS
        );
        s.thresholds.scx_watchdog_ms = Some(700);
        let d = KernelDetectors::for_scenario(&s);
        assert_eq!(
            d.cmdline(),
            [
                "watchdog_thresh=1",
                "rcupdate.rcu_cpu_stall_timeout=3",
                "sysctl.kernel.hung_task_timeout_secs=2",
                "scx_watchdog_max_ms=700",
            ]
        );
        // Every detector can fire well within the catalog's runs.
        for s in catalog::catalog() {
            let d = KernelDetectors::for_scenario(&s);
            let run_s = s.duration_ms / 1000;
            assert!(u64::from(d.soft_lockup_s()) <= run_s.max(2), "{}", s.name);
            assert!(d.scx_watchdog_ms < s.duration_ms, "{}", s.name);
        }
    }
}
