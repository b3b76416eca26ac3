//! The run, indexed once for the checks: messages by kind, and what the
//! scenario declared for each cgroup.

use std::collections::BTreeMap;

use ktstr_model::{AffinityMode, Hold, Op, Policy, WorkType, WorkerGroup};
use ktstr_wire::{Done, Hello, Message, PhaseEvent, SchedulerEvent, StepEvent, WorkerReport};

use crate::{RunInput, Thresholds};

/// The snake_case tag of a work type, as worker reports name it.
pub(crate) fn work_name(work: &WorkType) -> &'static str {
    work.name()
}

/// The work type tag at the start of a report's `work`, without parameters.
pub(crate) fn base_name(work: &str) -> &str {
    let end = work
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(work.len());
    &work[..end]
}

/// Work units per second of wall time; `None` without wall time.
pub(crate) fn rate(w: &WorkerReport) -> Option<f64> {
    (w.wall_ns > 0).then(|| w.work_units as f64 / (w.wall_ns as f64 / 1e9))
}

/// Whether a work type keeps a CPU busy all the time (so equal shares are expected).
fn cpu_bound(work: &WorkType) -> bool {
    matches!(
        work,
        WorkType::Spin | WorkType::Mixed { .. } | WorkType::CachePressure { .. }
    )
}

/// What the scenario declares for one cgroup over the whole run.
#[derive(Default)]
pub(crate) struct CgroupDecl<'a> {
    /// Every worker group ever placed in it.
    pub groups: Vec<&'a WorkerGroup>,
    /// Present from the start (not added by a step).
    pub initial: bool,
    /// A step spawns more workers into it, stops, moves or re-pins them.
    pub changed_by_step: bool,
    /// A step changes its workers' affinity away from the cgroup's cpuset.
    pub affinity_narrowed: bool,
    /// How many workers the scenario starts in it.
    pub declared_workers: u32,
    /// A repeated step starts workers in it, so the count is not known exactly.
    pub count_unknown: bool,
}

impl CgroupDecl<'_> {
    /// How many worker reports it should produce, when that is known exactly.
    pub fn expected_workers(&self) -> Option<u32> {
        (!self.count_unknown).then_some(self.declared_workers)
    }
}

/// The run, indexed.
pub(crate) struct Ctx<'a> {
    pub input: &'a RunInput,
    pub t: &'a Thresholds,
    pub workers: Vec<&'a WorkerReport>,
    /// Phase events sorted by start time.
    pub phases: Vec<&'a PhaseEvent>,
    /// The first event of each step, by step index.
    pub steps: BTreeMap<u32, &'a StepEvent>,
    pub done: Option<&'a Done>,
    pub hello: Option<&'a Hello>,
    pub scheduler: Vec<&'a SchedulerEvent>,
    pub decl: BTreeMap<String, CgroupDecl<'a>>,
    /// The cgroup and group of each worker index, in the order the guest forks
    /// them (see [`Ctx::declared_group`]); as long as the highest reported index.
    slots: Vec<(&'a str, &'a WorkerGroup)>,
}

impl<'a> Ctx<'a> {
    pub fn new(input: &'a RunInput, t: &'a Thresholds) -> Self {
        let mut ctx = Ctx {
            input,
            t,
            workers: Vec::new(),
            phases: Vec::new(),
            steps: BTreeMap::new(),
            done: None,
            hello: None,
            scheduler: Vec::new(),
            decl: BTreeMap::new(),
            slots: Vec::new(),
        };
        for m in &input.messages {
            match m {
                Message::Worker(w) => ctx.workers.push(w),
                Message::Phase(p) => ctx.phases.push(p),
                Message::Step(s) => {
                    ctx.steps.entry(s.index).or_insert(s);
                }
                Message::Done(d) => ctx.done = Some(d),
                Message::Scheduler(s) => ctx.scheduler.push(s),
                // Payload output is judged by its adapters, not here.
                Message::Hello(h) => ctx.hello = Some(h),
                // Samples are the timeline ([`crate::Timeline`]), not judged.
                Message::Log(_) | Message::Payload(_) | Message::Sample(_) => {}
            }
        }
        ctx.phases.sort_by_key(|p| (p.at_ns, p.index));
        ctx.declare();
        ctx.number_slots();
        ctx
    }

    /// Worker indices are slots handed out in fork order: the initial cgroups'
    /// groups, then each step's `add_cgroup` and `spawn` ops, once per repetition.
    fn number_slots(&mut self) {
        let Some(needed) = self.workers.iter().map(|w| w.index as usize + 1).max() else {
            return;
        };
        let sc = &self.input.scenario;
        let mut order: Vec<(&'a str, &'a WorkerGroup)> = Vec::new();
        for cg in &sc.cgroups {
            order.extend(cg.workers.iter().map(|g| (cg.name.as_str(), g)));
        }
        let mut slots = Vec::new();
        let mut fill = |order: &[(&'a str, &'a WorkerGroup)]| {
            for &(cgroup, g) in order {
                let room = needed.saturating_sub(slots.len());
                slots.extend(std::iter::repeat_n(
                    (cgroup, g),
                    (g.count as usize).min(room),
                ));
            }
            slots.len() >= needed
        };
        if fill(&order) {
            self.slots = slots;
            return;
        }
        for step in &sc.steps {
            order.clear();
            for op in &step.ops {
                match op {
                    Op::AddCgroup { cgroup } => {
                        order.extend(cgroup.workers.iter().map(|g| (cgroup.name.as_str(), g)))
                    }
                    Op::Spawn { cgroup, workers } => order.push((cgroup.as_str(), workers)),
                    _ => {}
                }
            }
            let times = match step.hold {
                Hold::Repeat { times, .. } => times,
                _ => 1,
            };
            if order.is_empty() {
                continue;
            }
            if (0..times).any(|_| fill(&order)) {
                break;
            }
        }
        self.slots = slots;
    }

    fn declare(&mut self) {
        let sc = &self.input.scenario;
        for cg in &sc.cgroups {
            let d = self.decl.entry(cg.name.clone()).or_default();
            d.initial = true;
            d.groups.extend(cg.workers.iter());
            d.declared_workers += cg.workers.iter().map(|g| g.count).sum::<u32>();
        }
        for step in &sc.steps {
            let repeated = matches!(step.hold, Hold::Repeat { .. });
            for op in &step.ops {
                match op {
                    Op::AddCgroup { cgroup } => {
                        let d = self.decl.entry(cgroup.name.clone()).or_default();
                        d.groups.extend(cgroup.workers.iter());
                        d.changed_by_step |= d.initial;
                        d.declared_workers += cgroup.workers.iter().map(|g| g.count).sum::<u32>();
                        d.count_unknown |= repeated;
                    }
                    Op::Spawn { cgroup, workers } => {
                        let d = self.decl.entry(cgroup.clone()).or_default();
                        d.groups.push(workers);
                        d.changed_by_step = true;
                        d.declared_workers += workers.count;
                        d.count_unknown |= repeated;
                    }
                    Op::Stop { cgroup } => {
                        self.decl.entry(cgroup.clone()).or_default().changed_by_step = true;
                    }
                    Op::MoveAll { from, to } => {
                        for c in [from, to] {
                            self.decl.entry(c.clone()).or_default().changed_by_step = true;
                        }
                    }
                    Op::SetAffinity { cgroup, affinity } => {
                        let d = self.decl.entry(cgroup.clone()).or_default();
                        d.changed_by_step = true;
                        d.affinity_narrowed |= !whole_cpuset(*affinity);
                    }
                    Op::RemoveCgroup { .. }
                    | Op::SetCpuset { .. }
                    | Op::ClearCpuset { .. }
                    | Op::SwapCpusets { .. } => {}
                }
            }
        }
    }

    /// The declared groups of `work` in `cgroup`.
    pub fn groups(&self, cgroup: &str, work: &str) -> Vec<&'a WorkerGroup> {
        let work = base_name(work);
        self.decl
            .get(cgroup)
            .map(|d| {
                d.groups
                    .iter()
                    .copied()
                    .filter(|g| work_name(&g.work) == work)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The declared group worker `w` was forked from. Found by its index when
    /// that slot's cgroup and work type match the report (a failed op can shift
    /// later slots), else the groups of its cgroup and work type if they all
    /// share one policy; `None` when that does not settle it.
    pub fn declared_group(&self, w: &WorkerReport) -> Option<&'a WorkerGroup> {
        let work = base_name(&w.work);
        let by_slot = self
            .slots
            .get(w.index as usize)
            .filter(|(c, g)| *c == w.cgroup && work_name(&g.work) == work)
            .map(|(_, g)| *g);
        by_slot.or_else(|| {
            let groups = self.groups(&w.cgroup, &w.work);
            let first = *groups.first()?;
            groups
                .iter()
                .all(|g| g.policy == first.policy)
                .then_some(first)
        })
    }

    /// Groups that are all the same work type, policy and nice, or `None`.
    fn uniform(&self, cgroup: &str, work: &str) -> Option<Vec<&'a WorkerGroup>> {
        let groups = self.groups(cgroup, work);
        let first = *groups.first()?;
        groups
            .iter()
            .all(|g| g.work == first.work && g.policy == first.policy && g.nice == first.nice)
            .then_some(groups)
    }

    /// Whether the workers of `work` in `cgroup` should get equal CPU shares:
    /// CPU-bound, `normal` (or `ext`) policy, one nice value, and free to use the
    /// cgroup's whole cpuset.
    pub fn fair_comparable(&self, cgroup: &str, work: &str) -> bool {
        let Some(groups) = self.uniform(cgroup, work) else {
            return false;
        };
        let narrowed = self.decl.get(cgroup).is_some_and(|d| d.affinity_narrowed);
        !narrowed
            && groups.iter().all(|g| {
                cpu_bound(&g.work)
                    && matches!(g.policy, Policy::Normal | Policy::SchedExt)
                    && whole_cpuset(g.affinity)
            })
    }

    /// Whether the workers of `work` in `cgroup` are peers whose progress can be
    /// compared to their median (one policy that time-slices, one nice value).
    pub fn peers(&self, cgroup: &str, work: &str) -> bool {
        self.uniform(cgroup, work)
            .is_some_and(|g| !matches!(g[0].policy, Policy::Fifo | Policy::Idle))
    }

    /// Whether some workers of `work` in `cgroup` may rightly make no progress:
    /// `fifo` ones never yield to their equals, `idle` ones only use idle CPUs.
    pub fn may_starve(&self, cgroup: &str, work: &str) -> bool {
        self.groups(cgroup, work)
            .iter()
            .any(|g| matches!(g.policy, Policy::Fifo | Policy::Idle))
    }

    /// Whether this worker may rightly stand still (`fifo` or `idle` policy).
    /// Judged per worker when its declared group is known (a cgroup may mix
    /// policies for one work type), else as [`Ctx::may_starve`].
    pub fn worker_may_starve(&self, w: &WorkerReport) -> bool {
        match self.declared_group(w) {
            Some(g) => matches!(g.policy, Policy::Fifo | Policy::Idle),
            None => self.may_starve(&w.cgroup, &w.work),
        }
    }

    /// Whether this worker has `idle` policy (runs only on otherwise idle
    /// CPUs); per worker when its group is known, else as [`Ctx::all_idle`].
    pub fn worker_is_idle(&self, w: &WorkerReport) -> bool {
        match self.declared_group(w) {
            Some(g) => g.policy == Policy::Idle,
            None => self.all_idle(&w.cgroup, &w.work),
        }
    }

    /// Whether every worker of `work` in `cgroup` is `idle` policy.
    pub fn all_idle(&self, cgroup: &str, work: &str) -> bool {
        let g = self.groups(cgroup, work);
        !g.is_empty() && g.iter().all(|g| g.policy == Policy::Idle)
    }

    /// Extra gap tolerated for workers that sleep on purpose, ms.
    pub fn sleep_allowance_ms(&self, cgroup: &str, work: &str) -> u64 {
        self.groups(cgroup, work)
            .iter()
            .filter_map(|g| match g.work {
                WorkType::Bursty { sleep_ms, .. } => Some(sleep_ms),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Where the workers declared in `cgroup` live over time: `(since_ns, cgroup)`,
    /// following the scenario's `move_all` steps. `None` when a move's time is unknown.
    pub fn homes(&self, cgroup: &str) -> Option<Vec<(u64, String)>> {
        let mut homes = vec![(0, cgroup.to_string())];
        for (i, step) in self.input.scenario.steps.iter().enumerate() {
            for op in &step.ops {
                let Op::MoveAll { from, to } = op else {
                    continue;
                };
                if homes.last().is_some_and(|(_, c)| c == from) && from != to {
                    let at = self.steps.get(&(i as u32))?.at_ns;
                    homes.push((at, to.clone()));
                }
            }
        }
        Some(homes)
    }

    /// When the phase after the one starting at `at_ns` starts (`u64::MAX` for the last).
    pub fn phase_end(&self, at_ns: u64) -> u64 {
        self.phases
            .iter()
            .map(|p| p.at_ns)
            .find(|&a| a > at_ns)
            .unwrap_or(u64::MAX)
    }

    /// Workers grouped by `(cgroup, work type tag)`, in report order within a group.
    pub fn by_cgroup_work(&self) -> BTreeMap<(&'a str, &'a str), Vec<&'a WorkerReport>> {
        let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for w in &self.workers {
            out.entry((w.cgroup.as_str(), base_name(&w.work)))
                .or_default()
                .push(*w);
        }
        out
    }

    /// Whether the scheduler under test is the kernel's own.
    pub fn is_eevdf(&self) -> bool {
        self.input.scheduler.eq_ignore_ascii_case("eevdf")
    }
}

/// Whether an affinity mode leaves a worker the cgroup's whole cpuset.
fn whole_cpuset(a: AffinityMode) -> bool {
    matches!(a, AffinityMode::Inherit | AffinityMode::CrossCgroup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_name_drops_parameters() {
        assert_eq!(base_name("mixed(spin_us=100)"), "mixed");
        assert_eq!(base_name("cache_pressure wss=64"), "cache_pressure");
        assert_eq!(base_name("spin"), "spin");
    }
}
