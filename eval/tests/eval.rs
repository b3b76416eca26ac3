//! End-to-end: whole runs in, verdicts out.

use ktstr_eval::{evaluate, Accel, DetailKind, RunInput, Status, VmEnd};
use ktstr_model::Scenario;
use ktstr_wire::{Done, Message, PhaseEvent, SchedulerEvent, StepEvent, WorkerReport};

/// Two cgroups of two spinners on disjoint cpusets, swapped halfway; worker 3
/// escapes its cpuset after the swap.
fn swap_scenario() -> Scenario {
    serde_json::from_value(serde_json::json!({
        "name": "swap",
        "duration_ms": 2000,
        "cgroups": [
            {"name": "a", "cpuset": {"cpus": "0-1"}, "workers": [{"count": 2, "work": {"type": "spin"}}]},
            {"name": "b", "cpuset": {"cpus": "2-3"}, "workers": [
                {"count": 1, "work": {"type": "spin"}},
                {"count": 1, "work": {"type": "spin"}, "fault": {"escape_cpuset": {"after_ms": 1500}}}
            ]}
        ],
        "steps": [{"ops": [{"op": "swap_cpusets", "a": "a", "b": "b"}], "hold": {"fraction": 0.5}}]
    }))
    .expect("scenario json")
}

fn spinner(cgroup: &str, index: u32, phases: Vec<(u32, Vec<u32>)>) -> Message {
    Message::Worker(WorkerReport {
        cgroup: cgroup.into(),
        index,
        work: "spin".into(),
        work_units: 1_000_000 + u64::from(index) * 10_000,
        cpu_ns: 1_900_000_000,
        wall_ns: 2_000_000_000,
        max_gap_ns: 20_000_000,
        max_gap_at_ns: 700_000_000,
        migrations: 40,
        cpus_by_phase: phases,
        ..Default::default()
    })
}

fn phase(index: u32, at_ns: u64, a: &[u32], b: &[u32]) -> Message {
    Message::Phase(PhaseEvent {
        index,
        at_ns,
        cpusets: vec![("a".into(), a.to_vec()), ("b".into(), b.to_vec())],
        members: vec![("a".into(), vec![0, 1]), ("b".into(), vec![2, 3])],
    })
}

fn swap_run(escaped_to: u32) -> RunInput {
    let messages = vec![
        phase(0, 1_000, &[0, 1], &[2, 3]),
        Message::Step(StepEvent {
            index: 0,
            at_ns: 1_000_000_000,
            ops: vec!["swap_cpusets a b".into()],
            errors: vec![],
        }),
        phase(1, 1_000_000_000, &[0, 1, 2, 3], &[0, 1, 2, 3]),
        phase(2, 1_010_000_000, &[2, 3], &[0, 1]),
        spinner("a", 0, vec![(0, vec![0]), (1, vec![0, 3]), (2, vec![2])]),
        spinner("a", 1, vec![(0, vec![1]), (2, vec![3])]),
        spinner("b", 2, vec![(0, vec![2]), (2, vec![0])]),
        spinner("b", 3, vec![(0, vec![3]), (2, vec![1, escaped_to])]),
        Message::Done(Done {
            at_ns: 2_100_000_000,
            ring_drops: 0,
            error: None,
        }),
    ];
    RunInput {
        scenario: swap_scenario(),
        scheduler: "eevdf".into(),
        topology: "1n1l4c1t".into(),
        accel: Accel::Kvm,
        messages,
        console: "[    0.000000] Linux version 6.12.0\n".into(),
        vm_exit: VmEnd::Completed,
        wire_loss: None,
    }
}

#[test]
fn swapped_cpusets_are_judged_per_phase() {
    let v = evaluate(&swap_run(1));
    assert!(v.passed(), "{}", v.render_text());
    let status = |name: &str| v.checks.iter().find(|c| c.name == name).unwrap().status;
    assert_eq!(status("isolation"), Status::Pass);
    assert_eq!(status("fairness"), Status::Pass);
    assert_eq!(status("throughput"), Status::Pass);
    assert_eq!(v.stats.per_cgroup[0].cpus_used, [0, 1, 2, 3]);
}

#[test]
fn escaped_worker_fails_isolation_only() {
    let v = evaluate(&swap_run(2));
    assert_eq!(v.status, Status::Fail);
    let failed: Vec<_> = v.failures().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].details[0].kind, DetailKind::Isolation);
    assert_eq!(
        failed[0].details[0].message,
        "worker 3 of cgroup `b` ran on CPU 2 outside its cpuset 0-1 in phase 2"
    );
    let text = v.render_text();
    assert!(
        text.starts_with("FAIL swap (1n1l4c1t, eevdf): isolation\n"),
        "{text}"
    );

    let json: serde_json::Value = serde_json::from_str(&v.to_json().unwrap()).unwrap();
    assert_eq!(json["status"], "fail");
    assert_eq!(json["checks"][9]["name"], "isolation");
    assert_eq!(json["checks"][9]["details"][0]["kind"], "isolation");
    assert_eq!(json["checks"][9]["details"][0]["worker"], 3);
}

#[test]
fn a_worker_outside_the_scheduler_under_test_fails_the_run() {
    let mut run = swap_run(1);
    run.scheduler = "scx_simple".into();
    run.messages.insert(
        0,
        Message::Scheduler(SchedulerEvent::Attached {
            at_ns: 500,
            ops: "simple".into(),
            after_ns: 90_000_000,
            switch_all: Some(true),
        }),
    );
    for m in &mut run.messages {
        if let Message::Worker(w) = m {
            w.started_ns = 1_000;
            (w.ext_samples_on, w.ext_samples_off) = if w.index == 2 { (0, 11) } else { (11, 0) };
        }
    }
    let v = evaluate(&run);
    let failed: Vec<_> = v.failures().map(|c| c.name).collect();
    assert_eq!(failed, ["sched_class"], "{}", v.render_text());
    let text = v.render_text();
    assert!(
        text.contains(
            "    worker 2 of cgroup `b` (pid 0) ran outside sched_ext in 11 of 11 samples\n"
        ),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&v.to_json().unwrap()).unwrap();
    assert_eq!(json["checks"][5]["name"], "sched_class");
    assert_eq!(json["checks"][5]["details"][0]["kind"], "sched_class");
}

#[test]
fn accel_names_parse() {
    assert_eq!("KVM".parse::<Accel>().unwrap(), Accel::Kvm);
    assert_eq!("tcg".parse::<Accel>().unwrap(), Accel::Tcg);
    let err = "hvf".parse::<Accel>().unwrap_err().to_string();
    assert_eq!(err, "unknown accelerator `hvf`\nhint: use `kvm` or `tcg`");
}
