//! Synthetic runs for the unit tests.

use ktstr_model::{
    AffinityMode, CgroupSpec, Policy, Scenario, SwitchMode, ThresholdOverrides, WorkType,
    WorkerGroup,
};
use ktstr_wire::{Done, Message, PhaseEvent, WorkerReport};

use crate::checks::CheckResult;
use crate::context::Ctx;
use crate::{Accel, RunInput, Thresholds, VmEnd};

pub fn group(count: u32, work: WorkType) -> WorkerGroup {
    WorkerGroup {
        count,
        work,
        policy: Policy::Normal,
        nice: 0,
        affinity: AffinityMode::Inherit,
        fault: None,
    }
}

pub fn cgroup(name: &str, workers: Vec<WorkerGroup>) -> CgroupSpec {
    CgroupSpec {
        name: name.into(),
        cpuset: None,
        workers,
    }
}

pub fn scenario(cgroups: Vec<CgroupSpec>) -> Scenario {
    Scenario {
        name: "steady".into(),
        description: String::new(),
        topology: None,
        requires: Default::default(),
        duration_ms: 2_000,
        cgroups,
        steps: Vec::new(),
        switch: SwitchMode::Full,
        scheduler: None,
        thresholds: ThresholdOverrides::default(),
        payloads: Vec::new(),
        metric_bounds: Vec::new(),
    }
}

/// A healthy worker under EEVDF: 2 s of wall time, 10 ms longest gap, a few
/// migrations, every class sample off sched_ext.
pub fn worker(cgroup: &str, index: u32, work: &str, units: u64) -> WorkerReport {
    WorkerReport {
        cgroup: cgroup.into(),
        index,
        pid: 100 + index as i32,
        work: work.into(),
        work_units: units,
        cpu_ns: 1_900_000_000,
        wall_ns: 2_000_000_000,
        max_gap_ns: 10_000_000,
        max_gap_cpu: 0,
        max_gap_at_ns: 500_000_000,
        migrations: 10,
        cpus_by_phase: Vec::new(),
        wake_latencies_ns: Vec::new(),
        run_delay_ns: 0,
        timeslices: 0,
        metrics: Vec::new(),
        died: None,
        started_ns: 1_000_000_000,
        ext_samples_on: 0,
        ext_samples_off: 10,
        ext_samples_unknown: 0,
    }
}

/// A phase event without membership lists.
pub fn phase(index: u32, at_ns: u64, cpusets: &[(&str, &[u32])]) -> Message {
    phase_with_members(index, at_ns, cpusets, &[])
}

pub fn phase_with_members(
    index: u32,
    at_ns: u64,
    cpusets: &[(&str, &[u32])],
    members: &[(&str, &[u32])],
) -> Message {
    let owned = |v: &[(&str, &[u32])]| -> Vec<(String, Vec<u32>)> {
        v.iter().map(|(c, l)| (c.to_string(), l.to_vec())).collect()
    };
    Message::Phase(PhaseEvent {
        index,
        at_ns,
        cpusets: owned(cpusets),
        members: owned(members),
    })
}

pub fn done() -> Message {
    Message::Done(Done {
        at_ns: 3_000_000_000,
        ring_drops: 0,
        error: None,
    })
}

/// A completed KVM run of `scenario` under eevdf with `workers` and a Done message.
pub fn input(scenario: Scenario, workers: Vec<WorkerReport>) -> RunInput {
    let mut messages: Vec<Message> = workers.into_iter().map(Message::Worker).collect();
    messages.push(done());
    RunInput {
        scenario,
        scheduler: "eevdf".into(),
        topology: "1n2l2c1t".into(),
        accel: Accel::Kvm,
        messages,
        console: String::new(),
        vm_exit: VmEnd::Completed,
        wire_loss: None,
    }
}

/// Runs one check over `input` with the thresholds eval would use.
pub fn run(check: fn(&Ctx<'_>) -> CheckResult, input: &RunInput) -> CheckResult {
    let t = Thresholds::for_accel(input.accel).apply(&input.scenario.thresholds);
    check(&Ctx::new(input, &t))
}

/// Two identical spinners in cgroup `a`.
pub fn two_spinners() -> RunInput {
    input(
        scenario(vec![cgroup("a", vec![group(2, WorkType::Spin)])]),
        vec![worker("a", 0, "spin", 1000), worker("a", 1, "spin", 1000)],
    )
}

/// One cgroup `a` of spinners that did `units` each, with CPU time in
/// proportion to their work, as real spinners' would be.
pub fn spinners(units: &[u64]) -> RunInput {
    input(
        scenario(vec![cgroup(
            "a",
            vec![group(units.len() as u32, WorkType::Spin)],
        )]),
        units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let mut w = worker("a", i as u32, "spin", *u);
                w.cpu_ns = w.wall_ns * *u / 2000;
                w
            })
            .collect(),
    )
}
