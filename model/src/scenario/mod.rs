//! Scenarios: cgroups with cpusets and workers, steps that change them, and the
//! thresholds they are judged by. Plain data: the same meaning whether built in
//! Rust ([`ScenarioBuilder`]) or read from TOML ([`Scenario::from_toml`]).

mod builder;
mod cpuset;
mod requires;
mod validate;

use serde::{Deserialize, Serialize};

use crate::Topology;

pub use builder::{CgroupBuilder, ScenarioBuilder};
pub use requires::{Requirements, Unhostable};
pub use validate::ScenarioError;

/// A declared test scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short unique name, e.g. `steady`.
    pub name: String,
    /// One sentence on what it exercises.
    #[serde(default)]
    pub description: String,
    /// The topology it needs; `None` runs on the one given on the command line.
    #[serde(default)]
    pub topology: Option<Topology>,
    /// The least topology it can run on; one that falls short is skipped, not failed
    /// (see [`Scenario::hostable`]).
    #[serde(default, skip_serializing_if = "Requirements::is_empty")]
    pub requires: Requirements,
    /// How long the workload runs, in milliseconds.
    pub duration_ms: u64,
    /// The cgroups present from the start (created under the scenario's root cgroup).
    #[serde(default)]
    pub cgroups: Vec<CgroupSpec>,
    /// Changes made while the workload runs, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Which of the workers the sched_ext scheduler under test is meant to run
    /// (`switch = "partial"` in TOML); see [`SwitchMode`].
    #[serde(default, skip_serializing_if = "SwitchMode::is_full")]
    pub switch: SwitchMode,
    /// The scheduler, with arguments, the scenario is written for (a seeded
    /// fault's `scx_ktstr_fault -c victim -d 1000`); `ktstr run` uses it when
    /// no `--scheduler` is given. `None`: any scheduler, EEVDF by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    /// Threshold overrides for this scenario.
    #[serde(default)]
    pub thresholds: ThresholdOverrides,
    /// Benchmark binaries run beside (or instead of) the workers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<crate::Payload>,
    /// Bounds on the metrics custom workers report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_bounds: Vec<MetricBound>,
}

impl Scenario {
    /// Every worker group the scenario ever starts: the cgroups' at the
    /// start, then those its steps add or spawn.
    pub fn worker_groups(&self) -> impl Iterator<Item = &WorkerGroup> {
        let initial = self.cgroups.iter().flat_map(|c| c.workers.iter());
        let stepped = self.steps.iter().flat_map(|s| s.ops.iter()).flat_map(|op| {
            let groups: Box<dyn Iterator<Item = &WorkerGroup>> = match op {
                Op::AddCgroup { cgroup } => Box::new(cgroup.workers.iter()),
                Op::Spawn { workers, .. } => Box::new(std::iter::once(workers)),
                _ => Box::new(std::iter::empty()),
            };
            groups
        });
        initial.chain(stepped)
    }

    /// Whether some worker does blocking disk I/O (`sync_io`), so the VM
    /// needs a scratch disk.
    pub fn needs_scratch_disk(&self) -> bool {
        self.worker_groups()
            .any(|g| matches!(g.work, WorkType::SyncIo { .. }))
    }
}

/// A cgroup with an optional cpuset and its workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupSpec {
    /// Path under the scenario root; `a/b` nests `b` in `a`.
    pub name: String,
    /// Which CPUs it may use; `None` inherits its parent's.
    #[serde(default)]
    pub cpuset: Option<CpusetSpec>,
    /// Worker groups placed in it at the start.
    #[serde(default)]
    pub workers: Vec<WorkerGroup>,
}

/// How a cgroup's CPUs are chosen, resolved against the topology in the guest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CpusetSpec {
    /// An exact kernel CPU list, e.g. `0-1,4`.
    Cpus(String),
    /// The CPUs of these LLCs.
    Llcs(Vec<u32>),
    /// The CPUs of these NUMA nodes.
    Nodes(Vec<u32>),
    /// Part `index` of `of` disjoint, LLC-ordered, near-equal parts of all CPUs.
    Split {
        /// Which part, from 0.
        index: u32,
        /// How many parts.
        of: u32,
    },
    /// Like `Split`, widened by `fraction` of a part on each side so neighbours overlap.
    Overlap {
        /// Which part, from 0.
        index: u32,
        /// How many parts.
        of: u32,
        /// Overlap with each neighbour, as a fraction of a part (0..=1).
        fraction: f64,
    },
}

/// `count` identical workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerGroup {
    /// How many workers (even for pair types).
    pub count: u32,
    /// What each does.
    pub work: WorkType,
    /// Scheduling policy.
    #[serde(default)]
    pub policy: Policy,
    /// Nice value for `normal`, `batch` and `ext`.
    #[serde(default)]
    pub nice: i32,
    /// CPU affinity.
    #[serde(default)]
    pub affinity: AffinityMode,
    /// A deliberate fault, to prove the checks catch it.
    #[serde(default)]
    pub fault: Option<Fault>,
}

/// What a worker does. Every type calls a progress checkpoint often; the gap between
/// checkpoints is what the gap and starvation checks see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum WorkType {
    /// Pure CPU spin.
    Spin,
    /// `sched_yield` in a loop.
    Yield,
    /// Spin for `spin_us`, then yield.
    Mixed {
        /// Spin time between yields, in µs.
        spin_us: u64,
    },
    /// Spin `burst_ms`, sleep `sleep_ms`.
    Bursty {
        /// Burst length, ms.
        burst_ms: u64,
        /// Sleep length, ms.
        sleep_ms: u64,
    },
    /// Write `block_kb` KiB with `O_DSYNC` to the VM's scratch disk
    /// (`/dev/vda`, each worker its own region), repeatedly: real blocking
    /// I/O. Without a disk (the own KVM VMM), to a file in tmpfs.
    SyncIo {
        /// Block size, KiB.
        block_kb: u32,
    },
    /// Pairs bouncing a byte over two pipes.
    PipePingPong,
    /// Pairs waking each other through a futex.
    FutexPingPong,
    /// One waker and `wakees` waiters on a futex, per group of `wakees + 1` workers.
    FutexFanOut {
        /// Waiters per waker.
        wakees: u32,
    },
    /// Walk a `wss_kb` working set with `stride` bytes.
    CachePressure {
        /// Working-set size, KiB.
        wss_kb: u32,
        /// Stride, bytes.
        stride: u32,
    },
    /// Fork a child that exits at once, repeatedly.
    ForkExit,
    /// Spin while cycling its nice value through -5..=10.
    NiceSweep,
    /// Spin while moving its affinity to another allowed CPU every iteration batch.
    AffinityChurn,
    /// Spin while cycling normal, batch, idle, fifo and rr.
    PolicyChurn,
    /// Map, touch and unmap pages.
    PageFaultChurn,
    /// A Rust function of the test binary, registered under `name` with
    /// `#[ktstr::worker]`: it runs inside the VM as a worker like the others
    /// (progress ticks, gaps, CPU time) and may report named metrics, which
    /// [`Scenario::metric_bounds`] judge.
    Custom {
        /// The registered worker's name.
        name: String,
    },
}

/// A bound on a named metric custom workers report: every reported value
/// must lie within it, and at least one must be reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricBound {
    /// The metric's name, as the worker reports it.
    pub name: String,
    /// The smallest acceptable value.
    #[serde(default)]
    pub min: Option<f64>,
    /// The largest acceptable value.
    #[serde(default)]
    pub max: Option<f64>,
}

impl WorkType {
    /// The type's snake_case tag, as scenario files and worker reports name it.
    ///
    /// ```
    /// assert_eq!(ktstr_model::WorkType::PipePingPong.name(), "pipe_ping_pong");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            WorkType::Spin => "spin",
            WorkType::Yield => "yield",
            WorkType::Mixed { .. } => "mixed",
            WorkType::Bursty { .. } => "bursty",
            WorkType::SyncIo { .. } => "sync_io",
            WorkType::Custom { .. } => "custom",
            WorkType::PipePingPong => "pipe_ping_pong",
            WorkType::FutexPingPong => "futex_ping_pong",
            WorkType::FutexFanOut { .. } => "futex_fan_out",
            WorkType::CachePressure { .. } => "cache_pressure",
            WorkType::ForkExit => "fork_exit",
            WorkType::NiceSweep => "nice_sweep",
            WorkType::AffinityChurn => "affinity_churn",
            WorkType::PolicyChurn => "policy_churn",
            WorkType::PageFaultChurn => "page_fault_churn",
        }
    }
}

/// Scheduling policy of a worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// SCHED_NORMAL (or SCHED_EXT's default class).
    #[default]
    Normal,
    /// SCHED_BATCH.
    Batch,
    /// SCHED_IDLE.
    Idle,
    /// SCHED_FIFO at priority 1.
    Fifo,
    /// SCHED_RR at priority 1.
    Rr,
    /// SCHED_EXT: run by the sched_ext scheduler even when it switches only
    /// some tasks ([`SwitchMode::Partial`]). With no sched_ext scheduler
    /// attached (EEVDF) the kernel runs such a task in the fair class, like
    /// `normal`.
    #[serde(rename = "ext")]
    SchedExt,
}

/// Which tasks the sched_ext scheduler under test takes from the fair class,
/// and so which workers must show they ran on sched_ext.
///
/// A scheduler picks its mode itself (`SCX_OPS_SWITCH_PARTIAL` in its ops
/// flags, e.g. `scx_qmap -p`); the scenario states which one it is written
/// for, and the `sched_class` check holds the run to it. Under EEVDF the mode
/// does not matter: no worker may be on sched_ext.
///
/// ```
/// use ktstr_model::{Scenario, SwitchMode};
/// let s = Scenario::from_toml(r#"
///     name = "part"
///     duration_ms = 1000
///     switch = "partial"
///     [[cgroups]]
///     name = "a"
///     [[cgroups.workers]]
///     count = 1
///     work = { type = "spin" }
///     policy = "ext"
/// "#).unwrap();
/// assert_eq!(s.switch, SwitchMode::Partial);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchMode {
    /// The scheduler takes every fair-class task: every worker except `fifo`
    /// and `rr` ones (rt class) must run on sched_ext.
    #[default]
    Full,
    /// The scheduler takes only `SCHED_EXT` tasks: workers with policy `ext`
    /// must run on sched_ext and all others must not.
    Partial,
}

impl SwitchMode {
    /// Whether this is the default, [`SwitchMode::Full`].
    pub fn is_full(&self) -> bool {
        *self == SwitchMode::Full
    }
}

/// CPU affinity of a worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AffinityMode {
    /// Whatever the cgroup allows.
    #[default]
    Inherit,
    /// One CPU of the cgroup's, round-robin over workers.
    SingleCpu,
    /// A random half of the cgroup's CPUs.
    RandomSubset,
    /// The CPUs of one LLC within the cgroup's, round-robin.
    LlcAligned,
    /// All CPUs, including ones outside the cgroup's cpuset (the kernel intersects).
    CrossCgroup,
}

/// Deliberate misbehaviour, for proving that checks catch real failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// After `after_ms`, the worker moves itself to the root cgroup and allows all CPUs.
    EscapeCpuset {
        /// Delay before escaping.
        after_ms: u64,
    },
    /// After `after_ms`, the worker stops making progress for `for_ms`.
    Freeze {
        /// Delay before freezing.
        after_ms: u64,
        /// Length of the freeze.
        for_ms: u64,
    },
}

/// A change during the run, then a hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What to do.
    pub ops: Vec<Op>,
    /// How long to wait after doing it.
    pub hold: Hold,
}

/// One operation of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op", deny_unknown_fields)]
pub enum Op {
    /// Create a cgroup (and start its workers).
    AddCgroup {
        /// The cgroup.
        cgroup: CgroupSpec,
    },
    /// Stop a cgroup's workers and remove it.
    RemoveCgroup {
        /// Its name.
        name: String,
    },
    /// Set a cgroup's cpuset.
    SetCpuset {
        /// Its name.
        cgroup: String,
        /// The new CPUs.
        cpuset: CpusetSpec,
    },
    /// Clear a cgroup's cpuset (inherit the parent's).
    ClearCpuset {
        /// Its name.
        cgroup: String,
    },
    /// Exchange the cpusets of two cgroups.
    SwapCpusets {
        /// One cgroup.
        a: String,
        /// The other.
        b: String,
    },
    /// Start more workers in a cgroup.
    Spawn {
        /// Its name.
        cgroup: String,
        /// The workers.
        workers: WorkerGroup,
    },
    /// Stop all workers of a cgroup (they still report).
    Stop {
        /// Its name.
        cgroup: String,
    },
    /// Move every task of one cgroup into another.
    MoveAll {
        /// Source cgroup.
        from: String,
        /// Destination cgroup.
        to: String,
    },
    /// Change the affinity of a cgroup's workers.
    SetAffinity {
        /// Its name.
        cgroup: String,
        /// The new mode.
        affinity: AffinityMode,
    },
}

/// How long a step holds before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Hold {
    /// A fraction of the scenario's duration.
    Fraction(f64),
    /// Fixed milliseconds.
    Ms(u64),
    /// Repeat the step's ops every `every_ms`, `times` times.
    Repeat {
        /// Interval.
        every_ms: u64,
        /// Repetitions.
        times: u32,
    },
}

/// The most workers a run may start (steps and repeats included): the
/// guest's worker slots.
pub const MAX_WORKERS: u32 = 512;

/// The most phases a run may have (the start, then a transition and a steady
/// phase per step application); the guest tracks the CPUs each worker used in
/// each, and validation refuses scenarios that would make more.
pub const MAX_PHASES: u32 = 256;

/// Per-scenario changes to the default thresholds; `None` keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverrides {
    /// Longest tolerated progress gap, ms.
    pub max_gap_ms: Option<u64>,
    /// Largest tolerated (max-min)/mean of work units within a cgroup, percent.
    pub max_spread_pct: Option<f64>,
    /// Largest tolerated p99 wake latency, µs.
    pub max_p99_wake_us: Option<u64>,
    /// Largest tolerated migrations per second of worker run time.
    pub max_migrations_per_sec: Option<f64>,
    /// Largest tolerated spread of cgroup throughput (per worker), percent.
    pub max_throughput_spread_pct: Option<f64>,
    /// The sched_ext watchdog cap for this run, ms (see
    /// [`KernelDetectors`](crate::KernelDetectors)); `None`: the default.
    pub scx_watchdog_ms: Option<u64>,
    /// Skip the fairness checks (for scenarios where unfairness is intended).
    #[serde(default)]
    pub skip_fairness: bool,
}
