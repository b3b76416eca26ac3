//! The limits a run is judged by: defaults per accelerator, then the scenario's overrides.

use ktstr_model::ThresholdOverrides;
use serde::Serialize;

use crate::Accel;

/// Limits for the checks. Start from [`Thresholds::for_accel`], then
/// [`apply`](Thresholds::apply) the scenario's overrides.
///
/// ```
/// use ktstr_eval::{Accel, Thresholds};
/// use ktstr_model::ThresholdOverrides;
///
/// let o = ThresholdOverrides { max_gap_ms: Some(500), ..Default::default() };
/// let t = Thresholds::for_accel(Accel::Kvm).apply(&o);
/// assert_eq!(t.max_gap_ms, 500);
/// assert_eq!(t.max_spread_pct, 35.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// Longest tolerated time between two progress checkpoints of a worker, ms.
    ///
    /// KVM 250: EEVDF's base slice is a few ms and sched_ext's default slice
    /// 20 ms, so a runnable worker waiting a quarter second means it was
    /// passed over many times. TCG 2000: vCPU threads of an emulated guest
    /// are themselves descheduled on a busy host for hundreds of ms.
    pub max_gap_ms: u64,
    /// Largest tolerated `(max - min) / mean` of the work rate among
    /// same-type CPU-bound workers of one cgroup, percent.
    ///
    /// KVM 35: identical spinners under a fair scheduler land within a few
    /// percent; 35 leaves room for SMT siblings and cache effects. TCG 60:
    /// emulation speed varies per vCPU thread.
    pub max_spread_pct: f64,
    /// Largest tolerated p99 wake-up latency of a cgroup's blocking workers, µs.
    ///
    /// KVM 5000: a few slices of queueing. TCG 50000: the emulated timer and
    /// IPIs alone add milliseconds.
    pub max_p99_wake_us: u64,
    /// Largest tolerated migrations per second of a worker's wall time.
    ///
    /// KVM 200: one per 5 ms, far above what load balancing needs for a
    /// steady workload. TCG 500: slow vCPUs make idle balancing fire more.
    pub max_migrations_per_sec: f64,
    /// Largest tolerated spread of per-worker work rate between comparable
    /// cgroups, percent (see the throughput check).
    ///
    /// KVM 50, TCG 80: looser than within a cgroup because cgroups run on
    /// different CPUs whose siblings and caches differ.
    pub max_throughput_spread_pct: f64,
    /// A worker whose work rate is below this percentage of its same-type
    /// peers' median is starved. 1 on both: a worker at 1% of its peers has
    /// effectively not run.
    pub starvation_pct: f64,
    /// Skip the fairness, throughput and relative starvation comparisons
    /// (the scenario is deliberately unfair).
    pub skip_fairness: bool,
}

/// The floor of [`Thresholds::for_run_length`]: below this, scheduling noise
/// under TCG on a loaded two-core host (worst healthy gap seen: 255 ms) would
/// trip the gap check.
pub const MIN_RUN_RELATIVE_GAP_MS: u64 = 500;

impl Thresholds {
    /// The defaults for an accelerator; each field documents its values and why.
    pub fn for_accel(accel: Accel) -> Self {
        match accel {
            Accel::Kvm => Thresholds {
                max_gap_ms: 250,
                max_spread_pct: 35.0,
                max_p99_wake_us: 5_000,
                max_migrations_per_sec: 200.0,
                max_throughput_spread_pct: 50.0,
                starvation_pct: 1.0,
                skip_fairness: false,
            },
            Accel::Tcg => Thresholds {
                max_gap_ms: 2_000,
                max_spread_pct: 60.0,
                max_p99_wake_us: 50_000,
                max_migrations_per_sec: 500.0,
                max_throughput_spread_pct: 80.0,
                starvation_pct: 1.0,
                skip_fairness: false,
            },
        }
    }

    /// Tightens the gap limit to a quarter of the run (never below
    /// [`MIN_RUN_RELATIVE_GAP_MS`]): a stall of a third of a short run must
    /// fail even where the accelerator's limit is loose. Applied before the
    /// scenario's overrides, which win.
    #[must_use]
    pub fn for_run_length(mut self, duration_ms: u64) -> Self {
        let relative = (duration_ms / 4).max(MIN_RUN_RELATIVE_GAP_MS);
        self.max_gap_ms = self.max_gap_ms.min(relative);
        self
    }

    /// Replaces each limit the scenario overrides; `skip_fairness` is sticky
    /// (an override can set it, not clear it).
    #[must_use]
    pub fn apply(mut self, overrides: &ThresholdOverrides) -> Self {
        if let Some(v) = overrides.max_gap_ms {
            self.max_gap_ms = v;
        }
        if let Some(v) = overrides.max_spread_pct {
            self.max_spread_pct = v;
        }
        if let Some(v) = overrides.max_p99_wake_us {
            self.max_p99_wake_us = v;
        }
        if let Some(v) = overrides.max_migrations_per_sec {
            self.max_migrations_per_sec = v;
        }
        if let Some(v) = overrides.max_throughput_spread_pct {
            self.max_throughput_spread_pct = v;
        }
        self.skip_fairness |= overrides.skip_fairness;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_limit_follows_short_runs_but_not_below_its_floor() {
        let t = || Thresholds::for_accel(Accel::Tcg);
        assert_eq!(t().for_run_length(3_000).max_gap_ms, 750);
        assert_eq!(
            t().for_run_length(1_000).max_gap_ms,
            MIN_RUN_RELATIVE_GAP_MS
        );
        assert_eq!(t().for_run_length(60_000).max_gap_ms, 2_000);
        // KVM's own limit is already below a quarter of a 3 s run.
        assert_eq!(
            Thresholds::for_accel(Accel::Kvm)
                .for_run_length(3_000)
                .max_gap_ms,
            250
        );
        // The scenario's override wins.
        let o = ThresholdOverrides {
            max_gap_ms: Some(1_500),
            ..Default::default()
        };
        assert_eq!(t().for_run_length(3_000).apply(&o).max_gap_ms, 1_500);
    }

    #[test]
    fn tcg_is_looser_than_kvm_everywhere() {
        let k = Thresholds::for_accel(Accel::Kvm);
        let t = Thresholds::for_accel(Accel::Tcg);
        assert!(t.max_gap_ms > k.max_gap_ms);
        assert!(t.max_spread_pct > k.max_spread_pct);
        assert!(t.max_p99_wake_us > k.max_p99_wake_us);
        assert!(t.max_migrations_per_sec > k.max_migrations_per_sec);
        assert!(t.max_throughput_spread_pct > k.max_throughput_spread_pct);
    }

    #[test]
    fn overrides_replace_only_what_they_set() {
        let o = ThresholdOverrides {
            max_p99_wake_us: Some(1),
            max_throughput_spread_pct: Some(5.0),
            skip_fairness: true,
            ..Default::default()
        };
        let t = Thresholds::for_accel(Accel::Tcg).apply(&o);
        assert_eq!(t.max_p99_wake_us, 1);
        assert_eq!(t.max_throughput_spread_pct, 5.0);
        assert!(t.skip_fairness);
        assert_eq!(t.max_gap_ms, 2_000);
        let cleared = t.apply(&ThresholdOverrides::default());
        assert!(cleared.skip_fairness);
    }
}
