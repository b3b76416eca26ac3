//! The messages the guest sends to the host.
//!
//! Variants are only ever appended: postcard encodes the variant index, so a
//! host built from a newer tree still decodes an older guest's frames.

use serde::{Deserialize, Serialize};

/// One message from the guest runtime to the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Sent once, first, as soon as the guest runtime has mounted its filesystems.
    Hello(Hello),
    /// A line of the guest runtime's own log.
    Log(LogLine),
    /// Sent last, just before the guest powers off.
    Done(Done),
    /// The scheduler under test attached, exited or was disabled by the kernel.
    Scheduler(SchedulerEvent),
    /// A scenario phase began: which CPUs each cgroup may use from now on.
    Phase(PhaseEvent),
    /// A worker's final numbers (also sent for a worker that died).
    Worker(WorkerReport),
    /// A step's operations were applied (or failed).
    Step(StepEvent),
    /// A payload finished (or was killed); its raw output for the host's adapters.
    Payload(PayloadResult),
    /// A periodic sample of the run (every 100 ms or so): each live worker's
    /// progress and CPU, each CPU's busy share. Together they are the run's
    /// timeline, where gaps, migrations and starvation can be seen in time.
    Sample(Sample),
}

/// The run at one moment, as the guest controller sampled it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// CLOCK_BOOTTIME in nanoseconds (the clock of [`PhaseEvent::at_ns`]).
    pub at_ns: u64,
    /// The scenario phase at that moment.
    pub phase: u32,
    /// Each live worker: its index, work units so far, the CPU it last ran on.
    pub workers: Vec<WorkerSample>,
    /// Each CPU's busy share since the previous sample, in permille (index = CPU).
    pub cpu_busy_permille: Vec<u16>,
}

/// One worker in a [`Sample`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSample {
    /// The worker's index ([`WorkerReport::index`]).
    pub index: u32,
    /// Work units done since it started.
    pub work_units: u64,
    /// The CPU it was on at its latest progress checkpoint.
    pub cpu: u32,
}

/// What the guest saw of itself at start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// `uname -r` of the guest kernel.
    pub kernel_release: String,
    /// CLOCK_BOOTTIME when the runtime started, in nanoseconds.
    pub boot_ns: u64,
    /// The CPU topology the guest kernel reports in sysfs.
    pub topology: ObservedTopology,
    /// Whether `/sys/kernel/sched_ext` exists.
    pub sched_ext: bool,
    /// Contents of `/sys/kernel/sched_ext/state` if present (e.g. `disabled`).
    pub sched_ext_state: Option<String>,
    /// The stall detectors' settings as the kernel reports them.
    pub detectors: ObservedDetectors,
}

/// The kernel's stall detector settings read back in the guest; `None` where
/// the file is missing (a detector not built in, or the sched_ext watchdog
/// cap on a kernel without the project's patch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedDetectors {
    /// `/proc/sys/kernel/watchdog_thresh`, s.
    pub watchdog_thresh_s: Option<u32>,
    /// `/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout`, s.
    pub rcu_stall_s: Option<u32>,
    /// `/proc/sys/kernel/hung_task_timeout_secs`.
    pub hung_task_s: Option<u32>,
    /// `/sys/module/kernel/parameters/scx_watchdog_max_ms`.
    pub scx_watchdog_max_ms: Option<u64>,
}

/// Topology as observed in the guest's sysfs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedTopology {
    /// Online CPUs, sorted by CPU number.
    pub cpus: Vec<ObservedCpu>,
    /// Distinct last-level-cache CPU sets (L3 `shared_cpu_list`), sorted.
    pub llcs: Vec<Vec<u32>>,
    /// NUMA nodes, sorted by id.
    pub nodes: Vec<ObservedNode>,
}

/// One online CPU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedCpu {
    /// Logical CPU number.
    pub cpu: u32,
    /// `topology/physical_package_id`.
    pub package: u32,
    /// `topology/core_id`.
    pub core: u32,
    /// `topology/thread_siblings_list`, parsed.
    pub siblings: Vec<u32>,
    /// The NUMA node the CPU belongs to.
    pub node: u32,
    /// The CPUs sharing this CPU's last-level cache, if the kernel exposes it.
    pub llc: Option<Vec<u32>>,
}

/// One NUMA node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedNode {
    /// Node id.
    pub id: u32,
    /// `cpulist`, parsed.
    pub cpus: Vec<u32>,
    /// `distance`, one entry per node.
    pub distances: Vec<u32>,
    /// MemTotal of the node in MiB.
    pub mem_mib: u64,
}

/// A log line from the guest runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// CLOCK_BOOTTIME in nanoseconds.
    pub at_ns: u64,
    /// The text.
    pub text: String,
}

/// The guest's last word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// CLOCK_BOOTTIME in nanoseconds.
    pub at_ns: u64,
    /// Frames the guest could not put into the ring because it was full.
    pub ring_drops: u64,
    /// An error that ended the guest's work early, if any.
    pub error: Option<String>,
}

/// What happened to the scheduler under test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedulerEvent {
    /// `/sys/kernel/sched_ext/state` became `enabled` with `root/ops` = `ops`.
    Attached {
        /// CLOCK_BOOTTIME in nanoseconds.
        at_ns: u64,
        /// The BPF scheduler's name.
        ops: String,
        /// Time from starting the binary to attachment.
        after_ns: u64,
        /// `/sys/kernel/sched_ext/switch_all` at attachment: `true` when the
        /// scheduler took every fair-class task, `false` when it runs with
        /// `SCX_OPS_SWITCH_PARTIAL` and takes only `SCHED_EXT` tasks; `None`
        /// when the kernel does not say.
        switch_all: Option<bool>,
    },
    /// The scheduler did not attach in time, exited, or the kernel disabled it.
    Died {
        /// CLOCK_BOOTTIME in nanoseconds.
        at_ns: u64,
        /// The kernel's reason (e.g. `runnable task stall`) or what the guest saw.
        reason: String,
        /// The kernel's sched_ext lines from `/dev/kmsg`.
        kernel_log: Vec<String>,
        /// The last lines the scheduler printed.
        output: Vec<String>,
        /// Its exit status, if it exited.
        exit_status: Option<i32>,
    },
}

/// The start of a scenario phase. Phases with an odd `index` are transitions
/// (cpusets are changing) and isolation is not judged in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseEvent {
    /// Phase number, from 0.
    pub index: u32,
    /// CLOCK_BOOTTIME in nanoseconds.
    pub at_ns: u64,
    /// For each cgroup (path under the scenario root): its effective CPUs.
    pub cpusets: Vec<(String, Vec<u32>)>,
    /// For each cgroup: the indices of the workers in it during this phase (a
    /// worker moved by a step belongs to its new cgroup from the next phase on).
    pub members: Vec<(String, Vec<u32>)>,
}

/// A step's operations, applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepEvent {
    /// Step number, from 0.
    pub index: u32,
    /// CLOCK_BOOTTIME in nanoseconds.
    pub at_ns: u64,
    /// One line per operation.
    pub ops: Vec<String>,
    /// Operations that failed, with the reason.
    pub errors: Vec<String>,
}

/// One worker's numbers over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerReport {
    /// The cgroup the worker was declared in (path under the scenario root).
    pub cgroup: String,
    /// Worker index within the scenario.
    pub index: u32,
    /// Process id in the guest.
    pub pid: i32,
    /// The work type's name.
    pub work: String,
    /// Units of work done (type-specific: loop iterations, round trips, ...).
    pub work_units: u64,
    /// CPU time used.
    pub cpu_ns: u64,
    /// Wall time from start to stop.
    pub wall_ns: u64,
    /// Longest time between two progress checkpoints.
    pub max_gap_ns: u64,
    /// The CPU the worker was on when that gap ended.
    pub max_gap_cpu: u32,
    /// When that gap ended, relative to the worker's start.
    pub max_gap_at_ns: u64,
    /// CPU changes seen between checkpoints.
    pub migrations: u64,
    /// CPUs used, per phase: `(phase index, CPUs)`.
    pub cpus_by_phase: Vec<(u32, Vec<u32>)>,
    /// Wake-up latencies for blocking work types (bounded reservoir sample).
    pub wake_latencies_ns: Vec<u64>,
    /// Time spent runnable but waiting for a CPU (`/proc/<pid>/schedstat`).
    pub run_delay_ns: u64,
    /// How many times the kernel put the worker on a CPU (schedstat's third
    /// field); `run_delay_ns / timeslices` is its mean wait to run.
    pub timeslices: u64,
    /// Named metrics a custom worker reported (`WorkType::Custom`), in order.
    pub metrics: Vec<(String, f64)>,
    /// Why the worker ended abnormally (signal, exit code), if it did.
    pub died: Option<String>,
    /// CLOCK_MONOTONIC when the worker started, ns (0 if it never started), so
    /// workers that ran at different times are not compared with each other.
    pub started_ns: u64,
    /// Scheduling-class samples the worker took of itself while it ran (a few
    /// per second, plus one at start and one at exit) in which
    /// `/proc/self/sched` said `ext.enabled: 1`: it was on sched_ext.
    pub ext_samples_on: u32,
    /// Samples in which `ext.enabled` was 0: it was in another class (fair,
    /// or rt for `fifo`/`rr` workers).
    pub ext_samples_off: u32,
    /// Samples that could not tell: the kernel prints no `ext.enabled` line
    /// (built without sched_ext) or the file could not be read. Never counted
    /// as off.
    pub ext_samples_unknown: u32,
}

/// What a payload printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadResult {
    /// The payload's invocation index (its position in the scenario's payloads).
    pub invocation: u32,
    /// Its name.
    pub name: String,
    /// Standard output, cut to a bounded size.
    pub stdout: String,
    /// Standard error, cut to a bounded size.
    pub stderr: String,
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Signal that ended it, when one did.
    pub signal: Option<i32>,
    /// Wall time from start to end.
    pub wall_ns: u64,
    /// Killed for running past its timeout.
    pub timed_out: bool,
    /// Output bytes cut off to fit the bound.
    pub truncated_bytes: u64,
    /// Why it could not be started, if it could not.
    pub error: Option<String>,
}
