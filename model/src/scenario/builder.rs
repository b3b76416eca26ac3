//! A fluent way to write scenarios in Rust.

use super::{
    AffinityMode, CgroupSpec, CpusetSpec, Fault, Hold, Op, Policy, Requirements, Scenario, Step,
    SwitchMode, ThresholdOverrides, WorkType, WorkerGroup,
};
use crate::Topology;

/// Builds a [`Scenario`] step by step. Nothing is checked until
/// [`Scenario::validate`], which needs the topology.
///
/// ```
/// use ktstr_model::{AffinityMode, CpusetSpec, Hold, Op, Policy, Scenario, WorkType, WorkerGroup};
/// let s = Scenario::builder("swap")
///     .description("Two halves trade CPUs mid-run.")
///     .duration_ms(3000)
///     .cgroup("a", |c| c.cpuset(CpusetSpec::Split { index: 0, of: 2 }).workers(2, WorkType::Spin))
///     .cgroup("b", |c| {
///         c.cpuset(CpusetSpec::Split { index: 1, of: 2 })
///             .workers_with(WorkerGroup::new(2, WorkType::Yield).policy(Policy::Batch).nice(5))
///     })
///     .step_ops(vec![Op::SwapCpusets { a: "a".into(), b: "b".into() }], Hold::Fraction(0.5))
///     .build();
/// assert_eq!(s.cgroups.len(), 2);
/// assert_eq!(s.cgroups[1].workers[0].affinity, AffinityMode::Inherit);
/// s.validate(&"1,2,2,1".parse().unwrap()).unwrap();
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ScenarioBuilder {
    scenario: Scenario,
}

impl Scenario {
    /// Starts a [`ScenarioBuilder`] for a scenario called `name`.
    pub fn builder(name: impl Into<String>) -> ScenarioBuilder {
        ScenarioBuilder::new(name)
    }
}

impl ScenarioBuilder {
    /// The duration a new builder starts with, in milliseconds.
    pub const DEFAULT_DURATION_MS: u64 = 3000;

    /// An empty scenario called `name`, lasting [`Self::DEFAULT_DURATION_MS`].
    pub fn new(name: impl Into<String>) -> Self {
        ScenarioBuilder {
            scenario: Scenario {
                name: name.into(),
                description: String::new(),
                topology: None,
                requires: Requirements::NONE,
                duration_ms: Self::DEFAULT_DURATION_MS,
                cgroups: Vec::new(),
                steps: Vec::new(),
                switch: SwitchMode::Full,
                scheduler: None,
                thresholds: ThresholdOverrides::default(),
                payloads: Vec::new(),
                metric_bounds: Vec::new(),
            },
        }
    }

    /// The scheduler (with arguments) the scenario is written for; see
    /// [`Scenario::scheduler`].
    pub fn scheduler(mut self, scheduler: impl Into<String>) -> Self {
        self.scenario.scheduler = Some(scheduler.into());
        self
    }

    /// Sets the one-sentence description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.scenario.description = text.into();
        self
    }

    /// Sets how long the workload runs.
    pub fn duration_ms(mut self, ms: u64) -> Self {
        self.scenario.duration_ms = ms;
        self
    }

    /// Pins the scenario to one topology.
    pub fn topology(mut self, topo: Topology) -> Self {
        self.scenario.topology = Some(topo);
        self
    }

    /// Declares the least topology the scenario can run on; smaller ones are skipped.
    ///
    /// ```
    /// use ktstr_model::{CpusetSpec, Requirements, Scenario, WorkType};
    /// let s = Scenario::builder("per-llc")
    ///     .requires(Requirements { min_llcs: 2, ..Requirements::NONE })
    ///     .cgroup("a", |c| c.cpuset(CpusetSpec::Llcs(vec![1])).workers(1, WorkType::Spin))
    ///     .build();
    /// assert!(s.hostable(&"1,1,4,1".parse().unwrap()).unwrap_err().is_skip());
    /// ```
    pub fn requires(mut self, requires: Requirements) -> Self {
        self.scenario.requires = requires;
        self
    }

    /// Adds a cgroup present from the start, shaped by `f`.
    pub fn cgroup(
        mut self,
        name: impl Into<String>,
        f: impl FnOnce(CgroupBuilder) -> CgroupBuilder,
    ) -> Self {
        self.scenario
            .cgroups
            .push(f(CgroupBuilder::new(name)).build());
        self
    }

    /// Adds a cgroup present from the start, already built.
    pub fn cgroup_spec(mut self, cgroup: impl Into<CgroupSpec>) -> Self {
        self.scenario.cgroups.push(cgroup.into());
        self
    }

    /// Appends a step.
    pub fn step(mut self, step: Step) -> Self {
        self.scenario.steps.push(step);
        self
    }

    /// Appends a step doing `ops`, then holding for `hold`.
    pub fn step_ops(self, ops: Vec<Op>, hold: Hold) -> Self {
        self.step(Step { ops, hold })
    }

    /// Replaces the threshold overrides.
    pub fn thresholds(mut self, thresholds: ThresholdOverrides) -> Self {
        self.scenario.thresholds = thresholds;
        self
    }

    /// Writes the scenario for a scheduler in partial mode: only workers with
    /// [`Policy::SchedExt`] are to run on sched_ext (see [`SwitchMode`]).
    pub fn partial_switch(mut self) -> Self {
        self.scenario.switch = SwitchMode::Partial;
        self
    }

    /// Skips the fairness checks, for scenarios that are unfair on purpose.
    pub fn skip_fairness(mut self) -> Self {
        self.scenario.thresholds.skip_fairness = true;
        self
    }

    /// Adds a benchmark payload.
    pub fn payload(mut self, payload: crate::Payload) -> Self {
        self.scenario.payloads.push(payload);
        self
    }

    /// Bounds a custom worker's metric `name`: every reported value within
    /// `min..=max` (either may be open), and at least one reported.
    pub fn metric_bound(
        mut self,
        name: impl Into<String>,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Self {
        self.scenario.metric_bounds.push(crate::MetricBound {
            name: name.into(),
            min,
            max,
        });
        self
    }

    /// The scenario, unvalidated.
    pub fn build(self) -> Scenario {
        self.scenario
    }
}

/// Builds a [`CgroupSpec`]; used by [`ScenarioBuilder::cgroup`] and for
/// [`Op::AddCgroup`].
///
/// ```
/// use ktstr_model::{CgroupSpec, CpusetSpec, WorkType};
/// let c = CgroupSpec::builder("tmp").cpuset(CpusetSpec::Llcs(vec![1])).workers(1, WorkType::Spin).build();
/// assert_eq!(c.name, "tmp");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CgroupBuilder {
    cgroup: CgroupSpec,
}

impl CgroupSpec {
    /// Starts a [`CgroupBuilder`] for a cgroup at path `name`.
    pub fn builder(name: impl Into<String>) -> CgroupBuilder {
        CgroupBuilder::new(name)
    }
}

impl CgroupBuilder {
    /// A cgroup at path `name` with no cpuset and no workers.
    pub fn new(name: impl Into<String>) -> Self {
        CgroupBuilder {
            cgroup: CgroupSpec {
                name: name.into(),
                cpuset: None,
                workers: Vec::new(),
            },
        }
    }

    /// Sets its cpuset.
    pub fn cpuset(mut self, spec: CpusetSpec) -> Self {
        self.cgroup.cpuset = Some(spec);
        self
    }

    /// Adds `count` workers doing `work`, with the defaults of [`WorkerGroup::new`].
    pub fn workers(self, count: u32, work: WorkType) -> Self {
        self.workers_with(WorkerGroup::new(count, work))
    }

    /// Adds a worker group.
    pub fn workers_with(mut self, group: WorkerGroup) -> Self {
        self.cgroup.workers.push(group);
        self
    }

    /// The cgroup.
    pub fn build(self) -> CgroupSpec {
        self.cgroup
    }
}

impl From<CgroupBuilder> for CgroupSpec {
    fn from(b: CgroupBuilder) -> Self {
        b.build()
    }
}

impl WorkerGroup {
    /// `count` workers doing `work` under `normal` policy, nice 0, inherited
    /// affinity and no fault.
    ///
    /// ```
    /// use ktstr_model::{Fault, Policy, WorkType, WorkerGroup};
    /// let g = WorkerGroup::new(2, WorkType::Spin)
    ///     .policy(Policy::Batch)
    ///     .fault(Fault::Freeze { after_ms: 500, for_ms: 1000 });
    /// assert_eq!(g.nice, 0);
    /// ```
    #[must_use]
    pub fn new(count: u32, work: WorkType) -> Self {
        WorkerGroup {
            count,
            work,
            policy: Policy::default(),
            nice: 0,
            affinity: AffinityMode::default(),
            fault: None,
        }
    }

    /// Sets the scheduling policy.
    #[must_use]
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the nice value.
    #[must_use]
    pub fn nice(mut self, nice: i32) -> Self {
        self.nice = nice;
        self
    }

    /// Sets the CPU affinity.
    #[must_use]
    pub fn affinity(mut self, affinity: AffinityMode) -> Self {
        self.affinity = affinity;
        self
    }

    /// Makes the workers misbehave on purpose.
    #[must_use]
    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }
}
