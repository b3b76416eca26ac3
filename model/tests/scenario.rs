//! Scenarios end to end: the catalog, TOML in both directions, cpuset resolution and
//! every validation rule.

use ktstr_model::{
    catalog, AffinityMode, CgroupSpec, CpusetSpec, Fault, Hold, Op, Policy, Scenario,
    ScenarioBuilder, ScenarioError, Step, ThresholdOverrides, Topology, WorkType, WorkerGroup,
};
use proptest::prelude::*;

const TOPOLOGIES: [&str; 4] = ["1,2,2,1", "1,2,2,2", "2,4,2,1", "1,3,3,1"];

fn topo(spec: &str) -> Topology {
    spec.parse().unwrap()
}

fn everything() -> Vec<Scenario> {
    catalog::catalog()
        .into_iter()
        .chain(catalog::fault_scenarios())
        .collect()
}

#[test]
fn every_scenario_is_valid_on_every_test_topology() {
    for s in everything() {
        for t in TOPOLOGIES {
            if let Err(e) = s.validate(&topo(t)) {
                panic!("{} on {t}: {e}", s.name);
            }
        }
    }
}

#[test]
fn every_scenario_round_trips_through_toml() {
    for s in everything() {
        let text = s.to_toml().unwrap();
        let back = Scenario::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", s.name));
        assert_eq!(back, s, "{text}");
    }
}

/// What `tests/data/example.toml` says, written with the builder.
fn example_built() -> Scenario {
    let tmp = |cpuset| CgroupSpec {
        name: "tmp".into(),
        cpuset,
        workers: vec![],
    };
    Scenario::builder("example")
        .description("Two cgroups trade halves of the CPUs while a third comes and goes.")
        .duration_ms(3000)
        .thresholds(ThresholdOverrides {
            max_gap_ms: Some(500),
            ..Default::default()
        })
        .cgroup("a", |c| {
            c.cpuset(CpusetSpec::Split { index: 0, of: 2 })
                .workers(2, WorkType::Spin)
                .workers_with(
                    WorkerGroup::new(2, WorkType::Mixed { spin_us: 500 })
                        .policy(Policy::Batch)
                        .nice(5)
                        .affinity(AffinityMode::SingleCpu),
                )
        })
        .cgroup("b", |c| {
            c.cpuset(CpusetSpec::Llcs(vec![1]))
                .workers(2, WorkType::PipePingPong)
        })
        .cgroup("n", |c| c)
        .cgroup("n/inner", |c| {
            c.workers(
                1,
                WorkType::Bursty {
                    burst_ms: 10,
                    sleep_ms: 20,
                },
            )
        })
        .step_ops(
            vec![Op::SwapCpusets {
                a: "a".into(),
                b: "b".into(),
            }],
            Hold::Fraction(0.25),
        )
        .step_ops(
            vec![
                Op::SetCpuset {
                    cgroup: "a".into(),
                    cpuset: CpusetSpec::Llcs(vec![0]),
                },
                Op::AddCgroup {
                    cgroup: CgroupSpec::builder("tmp")
                        .workers(1, WorkType::Yield)
                        .build(),
                },
            ],
            Hold::Ms(300),
        )
        .step(Step {
            ops: vec![
                Op::RemoveCgroup { name: "tmp".into() },
                Op::AddCgroup {
                    cgroup: tmp(Some(CpusetSpec::Overlap {
                        index: 1,
                        of: 2,
                        fraction: 0.5,
                    })),
                },
            ],
            hold: Hold::Repeat {
                every_ms: 200,
                times: 3,
            },
        })
        .step_ops(
            vec![Op::SetAffinity {
                cgroup: "a".into(),
                affinity: AffinityMode::Inherit,
            }],
            Hold::Fraction(0.25),
        )
        .build()
}

#[test]
fn example_toml_means_what_the_builder_says() {
    let text = include_str!("data/example.toml");
    let parsed = Scenario::from_toml(text).unwrap();
    assert_eq!(parsed, example_built());
    for t in TOPOLOGIES {
        parsed.validate(&topo(t)).unwrap();
    }
    let rewritten = example_built().to_toml().unwrap();
    assert_eq!(
        Scenario::from_toml(&rewritten).unwrap(),
        parsed,
        "{rewritten}"
    );
}

#[test]
fn awkward_values_round_trip() {
    let s = Scenario::builder("odd \"name\" \\ 'q'")
        .description("two\nlines with \t a tab and \u{e9}")
        .topology(topo("2,4,2,1"))
        .thresholds(ThresholdOverrides {
            max_gap_ms: Some(u64::from(u32::MAX)),
            max_spread_pct: Some(12.5),
            max_p99_wake_us: Some(0),
            max_migrations_per_sec: Some(1e-3),
            max_throughput_spread_pct: Some(100.0),
            scx_watchdog_ms: Some(30_000),
            skip_fairness: true,
        })
        .cgroup("a", |c| {
            c.cpuset(CpusetSpec::Cpus("0-1,3".into())).workers_with(
                spin(1)
                    .nice(-20)
                    .policy(Policy::Rr)
                    .affinity(AffinityMode::CrossCgroup),
            )
        })
        .step_ops(
            vec![Op::Spawn {
                cgroup: "a".into(),
                workers: spin(2).nice(0).fault(Fault::EscapeCpuset { after_ms: 1 }),
            }],
            Hold::Fraction(1.0),
        )
        .build();
    let text = s.to_toml().unwrap();
    assert_eq!(Scenario::from_toml(&text).unwrap(), s, "{text}");
}

#[test]
fn to_toml_is_readable() {
    let text = example_built().to_toml().unwrap();
    for want in [
        "[[cgroups]]\nname = \"a\"\ncpuset = { split = { index = 0, of = 2 } }\n",
        "[[cgroups.workers]]\ncount = 2\nwork = { type = \"spin\" }\n",
        "ops = [{ op = \"set_affinity\", cgroup = \"a\", affinity = \"inherit\" }]\n",
        "hold = { fraction = 0.25 }\n",
        "thresholds = { max_gap_ms = 500 }\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

fn toml_error(text: &str) -> (usize, usize, String) {
    match Scenario::from_toml(text).unwrap_err() {
        e @ ScenarioError::Toml { line, column, .. } => (line, column, e.to_string()),
        e => panic!("not a TOML error: {e}"),
    }
}

#[test]
fn toml_errors_carry_line_and_column() {
    let (line, column, msg) = toml_error("name = \"x\"\nduration_ms = = 3\n");
    assert_eq!((line, column), (2, 15), "{msg}");
    assert!(
        msg.starts_with("invalid scenario TOML at line 2, column 15: "),
        "{msg}"
    );

    let (line, _, msg) = toml_error("name = \"x\"\nduration_ms = 10\nbogus = 1\n");
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("bogus"), "{msg}");

    let (line, _, msg) = toml_error(
        "name = \"x\"\nduration_ms = 10\n[[cgroups]]\nname = \"a\"\ncpuset = { halves = 2 }\n",
    );
    assert_eq!(line, 5, "{msg}");
    assert!(msg.contains("halves"), "{msg}");

    let (_, _, msg) = toml_error("name = \"x\"\n");
    assert!(msg.contains("duration_ms"), "{msg}");
}

// ---- validation rules: each error names its field ----

/// A valid base: `a` on the first half, `b` on the second, spinners in each.
fn base() -> ScenarioBuilder {
    Scenario::builder("t")
        .duration_ms(3000)
        .cgroup("a", |c| {
            c.cpuset(CpusetSpec::Split { index: 0, of: 2 })
                .workers(2, WorkType::Spin)
        })
        .cgroup("b", |c| {
            c.cpuset(CpusetSpec::Split { index: 1, of: 2 })
                .workers(2, WorkType::Spin)
        })
}

/// Asserts that `s` fails on a `1,2,2,1` topology at `field` with a message containing `text`.
#[track_caller]
fn rejects(s: Scenario, field: &str, text: &str) {
    let e = s.validate(&topo("1,2,2,1")).expect_err(field);
    let msg = e.to_string();
    assert_eq!(e.field(), Some(field), "{msg}");
    assert!(msg.contains(&format!("`{field}`")), "{msg}");
    assert!(msg.contains(text), "{msg} lacks {text:?}");
}

fn with_workers(group: WorkerGroup) -> Scenario {
    base().cgroup("w", |c| c.workers_with(group)).build()
}

fn with_steps(steps: Vec<Step>) -> Scenario {
    steps
        .into_iter()
        .fold(base(), ScenarioBuilder::step)
        .build()
}

fn step(ops: Vec<Op>) -> Step {
    Step {
        ops,
        hold: Hold::Fraction(0.1),
    }
}

fn spin(count: u32) -> WorkerGroup {
    WorkerGroup::new(count, WorkType::Spin)
}

#[test]
fn the_base_is_valid() {
    base().build().validate(&topo("1,2,2,1")).unwrap();
}

#[test]
fn rejects_bad_name_and_duration() {
    rejects(
        ScenarioBuilder::new(" ").build(),
        "name",
        "must not be empty",
    );
    rejects(
        base().duration_ms(0).build(),
        "duration_ms",
        "0 ms is out of range",
    );
    rejects(
        base().duration_ms(600_001).build(),
        "duration_ms",
        "use 1 to 600000",
    );
    base()
        .duration_ms(600_000)
        .build()
        .validate(&topo("1,2,2,1"))
        .unwrap();
}

#[test]
fn rejects_topology_mismatch() {
    rejects(
        base().topology(topo("2,4,2,1")).build(),
        "topology",
        "needs `2,4,2,1` but the VM has `1,2,2,1`",
    );
    base()
        .topology(topo("1,2,2,1"))
        .build()
        .validate(&topo("1,2,2,1"))
        .unwrap();
}

#[test]
fn rejects_bad_cgroup_names() {
    rejects(
        base().cgroup("a", |c| c).build(),
        "cgroups[2].name",
        "cgroup `a` already exists",
    );
    rejects(
        base().cgroup("x/y", |c| c).build(),
        "cgroups[2].name",
        "parent `x` of `x/y` does not exist",
    );
    rejects(
        base().cgroup("a/b/c", |c| c).cgroup("a/b", |c| c).build(),
        "cgroups[2].name",
        "parent `a/b`",
    );
    rejects(
        base().cgroup("", |c| c).build(),
        "cgroups[2].name",
        "must not be empty",
    );
    for bad in ["a//b", "../x", "a b", "/a", "cpu.max"] {
        let text = format!("`{bad}` is not a cgroup path");
        rejects(base().cgroup(bad, |c| c).build(), "cgroups[2].name", &text);
    }
    base()
        .cgroup("p", |c| c)
        .cgroup("p/b", |c| c)
        .cgroup("p/b/c-d_e", |c| c)
        .build()
        .validate(&topo("1,2,2,1"))
        .unwrap();
}

#[test]
fn rejects_cpusets_outside_the_topology() {
    let with = |spec| base().cgroup("c", |c| c.cpuset(spec)).build();
    rejects(
        with(CpusetSpec::Cpus("9".into())),
        "cgroups[2].cpuset",
        "cgroup `c`: cpuset `cpus 9`: CPU 9 is outside the topology (4 CPUs: 0-3)",
    );
    rejects(
        with(CpusetSpec::Cpus(String::new())),
        "cgroups[2].cpuset",
        "selects no CPU",
    );
    rejects(
        with(CpusetSpec::Cpus("0-".into())),
        "cgroups[2].cpuset",
        "not a CPU list",
    );
    rejects(
        with(CpusetSpec::Llcs(vec![2])),
        "cgroups[2].cpuset",
        "LLC 2 is outside",
    );
    rejects(
        with(CpusetSpec::Nodes(vec![1])),
        "cgroups[2].cpuset",
        "NUMA node 1 is outside",
    );
    rejects(
        with(CpusetSpec::Split { index: 0, of: 5 }),
        "cgroups[2].cpuset",
        "cannot cut 4 CPUs into 5 parts",
    );
    rejects(
        with(CpusetSpec::Split { index: 3, of: 3 }),
        "cgroups[2].cpuset",
        "part 3 of 3 does not exist",
    );
    rejects(
        with(CpusetSpec::Overlap {
            index: 0,
            of: 2,
            fraction: -0.1,
        }),
        "cgroups[2].cpuset",
        "overlap fraction -0.1 is outside 0..=1",
    );
}

#[test]
fn rejects_bad_worker_groups() {
    let w = "cgroups[2].workers[0]";
    rejects(
        with_workers(spin(0)),
        &format!("{w}.count"),
        "needs at least one worker",
    );
    rejects(
        with_workers(WorkerGroup::new(3, WorkType::PipePingPong)),
        &format!("{w}.count"),
        "3 is odd",
    );
    rejects(
        with_workers(WorkerGroup::new(1, WorkType::FutexPingPong)),
        &format!("{w}.count"),
        "1 is odd",
    );
    rejects(
        with_workers(WorkerGroup::new(7, WorkType::FutexFanOut { wakees: 3 })),
        &format!("{w}.count"),
        "7 is not a multiple of 4",
    );
    rejects(
        with_workers(WorkerGroup::new(2, WorkType::FutexFanOut { wakees: 0 })),
        &format!("{w}.work.wakees"),
        "is 0",
    );
    rejects(
        with_workers(WorkerGroup::new(
            1,
            WorkType::CachePressure {
                wss_kb: 0,
                stride: 64,
            },
        )),
        &format!("{w}.work.wss_kb"),
        "is 0",
    );
    rejects(
        with_workers(WorkerGroup::new(
            1,
            WorkType::CachePressure {
                wss_kb: 64,
                stride: 0,
            },
        )),
        &format!("{w}.work.stride"),
        "is 0",
    );
    rejects(
        with_workers(WorkerGroup::new(1, WorkType::SyncIo { block_kb: 0 })),
        &format!("{w}.work.block_kb"),
        "is 0",
    );
    rejects(
        with_workers(spin(1).nice(20)),
        &format!("{w}.nice"),
        "20 is outside -20..=19",
    );
    rejects(
        with_workers(spin(1).fault(Fault::Freeze {
            after_ms: 3000,
            for_ms: 10,
        })),
        &format!("{w}.fault.freeze.after_ms"),
        "the fault would never fire",
    );
    rejects(
        with_workers(spin(1).fault(Fault::EscapeCpuset { after_ms: 5000 })),
        &format!("{w}.fault.escape_cpuset.after_ms"),
        "never fire",
    );
    rejects(
        with_workers(spin(1).fault(Fault::Freeze {
            after_ms: 10,
            for_ms: 0,
        })),
        &format!("{w}.fault.freeze.for_ms"),
        "is 0",
    );
    // The second group of a cgroup is named by its own index.
    rejects(
        base()
            .cgroup("w", |c| {
                c.workers(1, WorkType::Spin).workers(0, WorkType::Spin)
            })
            .build(),
        "cgroups[2].workers[1].count",
        "at least one",
    );
}

#[test]
fn rejects_bad_holds() {
    let hold = |hold| {
        with_steps(vec![Step {
            ops: vec![Op::Stop { cgroup: "a".into() }],
            hold,
        }])
    };
    rejects(
        with_steps(vec![Step {
            ops: vec![],
            hold: Hold::Ms(1),
        }]),
        "steps[0].ops",
        "is empty",
    );
    for f in [0.0, -0.5, 1.5, f64::NAN] {
        rejects(
            hold(Hold::Fraction(f)),
            "steps[0].hold.fraction",
            "is outside (0, 1]",
        );
    }
    rejects(hold(Hold::Ms(0)), "steps[0].hold.ms", "is 0");
    rejects(
        hold(Hold::Repeat {
            every_ms: 0,
            times: 2,
        }),
        "steps[0].hold.repeat.every_ms",
        "is 0",
    );
    rejects(
        hold(Hold::Repeat {
            every_ms: 10,
            times: 0,
        }),
        "steps[0].hold.repeat.times",
        "is 0",
    );
    rejects(
        hold(Hold::Ms(3001)),
        "steps[0].hold",
        "holds 3001 ms, longer than `duration_ms` (3000)",
    );
    rejects(
        hold(Hold::Repeat {
            every_ms: 500,
            times: 7,
        }),
        "steps[0].hold",
        "3500 ms",
    );
    hold(Hold::Fraction(1.0))
        .validate(&topo("1,2,2,1"))
        .unwrap();
    let two = |f| {
        let stop = || Op::Stop { cgroup: "a".into() };
        with_steps(vec![
            Step {
                ops: vec![stop()],
                hold: Hold::Fraction(f),
            },
            Step {
                ops: vec![stop()],
                hold: Hold::Fraction(f),
            },
        ])
    };
    rejects(
        two(0.6),
        "steps[1].hold",
        "steps[0..=1] hold 3600 ms in all",
    );
    two(0.5).validate(&topo("1,2,2,1")).unwrap();
}

#[test]
fn rejects_ops_on_cgroups_that_do_not_exist() {
    let s = |name: &str| name.to_string();
    rejects(
        with_steps(vec![step(vec![Op::Stop { cgroup: s("z") }])]),
        "steps[0].ops[0].cgroup",
        "no cgroup `z` exists at this step (existing: a, b)",
    );
    rejects(
        with_steps(vec![step(vec![Op::ClearCpuset { cgroup: s("z") }])]),
        "steps[0].ops[0].cgroup",
        "`z`",
    );
    rejects(
        with_steps(vec![step(vec![Op::SetAffinity {
            cgroup: s("z"),
            affinity: AffinityMode::SingleCpu,
        }])]),
        "steps[0].ops[0].cgroup",
        "`z`",
    );
    rejects(
        with_steps(vec![step(vec![Op::SwapCpusets {
            a: s("a"),
            b: s("z"),
        }])]),
        "steps[0].ops[0].b",
        "`z`",
    );
    rejects(
        with_steps(vec![step(vec![Op::SwapCpusets {
            a: s("a"),
            b: s("a"),
        }])]),
        "steps[0].ops[0].b",
        "with itself",
    );
    rejects(
        with_steps(vec![step(vec![Op::MoveAll {
            from: s("z"),
            to: s("a"),
        }])]),
        "steps[0].ops[0].from",
        "`z`",
    );
    rejects(
        with_steps(vec![step(vec![Op::MoveAll {
            from: s("a"),
            to: s("a"),
        }])]),
        "steps[0].ops[0].to",
        "into itself",
    );
    rejects(
        with_steps(vec![step(vec![Op::RemoveCgroup { name: s("z") }])]),
        "steps[0].ops[0].name",
        "`z`",
    );
    // Removal is tracked through later ops and steps.
    rejects(
        with_steps(vec![
            step(vec![Op::RemoveCgroup { name: s("a") }]),
            step(vec![Op::Spawn {
                cgroup: s("a"),
                workers: spin(1),
            }]),
        ]),
        "steps[1].ops[0].cgroup",
        "(existing: b)",
    );
    rejects(
        with_steps(vec![step(vec![
            Op::RemoveCgroup { name: s("a") },
            Op::MoveAll {
                from: s("b"),
                to: s("a"),
            },
        ])]),
        "steps[0].ops[1].to",
        "no cgroup `a`",
    );
    // ... and so is adding.
    let add = |name: &str| Op::AddCgroup {
        cgroup: CgroupSpec::builder(name).workers(1, WorkType::Spin).build(),
    };
    with_steps(vec![
        step(vec![add("c")]),
        step(vec![Op::Stop { cgroup: s("c") }]),
    ])
    .validate(&topo("1,2,2,1"))
    .unwrap();
    rejects(
        with_steps(vec![step(vec![add("a")])]),
        "steps[0].ops[0].cgroup.name",
        "cgroup `a` already exists",
    );
    rejects(
        with_steps(vec![step(vec![add("c/d")])]),
        "steps[0].ops[0].cgroup.name",
        "parent `c`",
    );
    let add_empty = |name: &str| Op::AddCgroup {
        cgroup: CgroupSpec::builder(name).build(),
    };
    rejects(
        with_steps(vec![
            step(vec![add_empty("e")]),
            step(vec![add_empty("e/c")]),
            step(vec![Op::RemoveCgroup { name: s("e") }]),
        ]),
        "steps[2].ops[0].name",
        "still has child `e/c`",
    );
}

#[test]
fn checks_what_ops_carry() {
    let s = |name: &str| name.to_string();
    rejects(
        with_steps(vec![step(vec![Op::SetCpuset {
            cgroup: s("a"),
            cpuset: CpusetSpec::Llcs(vec![7]),
        }])]),
        "steps[0].ops[0].cpuset",
        "cgroup `a`: cpuset `llcs 7`: LLC 7 is outside",
    );
    rejects(
        with_steps(vec![step(vec![Op::Spawn {
            cgroup: s("a"),
            workers: WorkerGroup::new(1, WorkType::PipePingPong),
        }])]),
        "steps[0].ops[0].workers.count",
        "1 is odd",
    );
    let bad = CgroupSpec::builder("c")
        .cpuset(CpusetSpec::Cpus("4".into()))
        .build();
    rejects(
        with_steps(vec![step(vec![Op::AddCgroup { cgroup: bad }])]),
        "steps[0].ops[0].cgroup.cpuset",
        "CPU 4 is outside",
    );
    let bad = CgroupSpec::builder("c").workers(0, WorkType::Spin).build();
    rejects(
        with_steps(vec![step(vec![Op::AddCgroup { cgroup: bad }])]),
        "steps[0].ops[0].cgroup.workers[0].count",
        "is 0",
    );
}

#[test]
fn repeated_ops_must_leave_cgroups_as_they_found_them() {
    let add = Op::AddCgroup {
        cgroup: CgroupSpec::builder("c").build(),
    };
    let remove = Op::RemoveCgroup { name: "c".into() };
    let repeat = Hold::Repeat {
        every_ms: 100,
        times: 5,
    };
    rejects(
        with_steps(vec![Step {
            ops: vec![add.clone()],
            hold: repeat,
        }]),
        "steps[0].ops[0].cgroup.name",
        "cgroup `c` already exists (when the op repeats)",
    );
    with_steps(vec![Step {
        ops: vec![add, remove],
        hold: repeat,
    }])
    .validate(&topo("1,2,2,1"))
    .unwrap();
}

#[test]
fn rejects_bad_thresholds() {
    let t = ThresholdOverrides {
        max_spread_pct: Some(-1.0),
        ..Default::default()
    };
    rejects(
        base().thresholds(t).build(),
        "thresholds.max_spread_pct",
        "-1 is not a finite number >= 0",
    );
    let t = ThresholdOverrides {
        max_migrations_per_sec: Some(f64::INFINITY),
        ..Default::default()
    };
    rejects(
        base().thresholds(t).build(),
        "thresholds.max_migrations_per_sec",
        "inf",
    );
}

#[test]
fn partial_switch_needs_an_ext_worker() {
    rejects(
        base().partial_switch().build(),
        "switch",
        "no worker has `policy = \"ext\"`",
    );
    // An `ext` worker spawned by a step counts too.
    let s = base()
        .partial_switch()
        .step_ops(
            vec![Op::Spawn {
                cgroup: "a".into(),
                workers: spin(1).policy(Policy::SchedExt),
            }],
            Hold::Fraction(0.5),
        )
        .build();
    s.validate(&topo("1,2,2,1")).unwrap();
    // `ext` workers need no partial switch: under a full switch they run on sched_ext anyway.
    with_workers(spin(1).policy(Policy::SchedExt).nice(3))
        .validate(&topo("1,2,2,1"))
        .unwrap();
}

#[test]
fn partial_switch_and_ext_policy_round_trip_through_toml() {
    let s = base()
        .partial_switch()
        .cgroup("x", |c| c.workers_with(spin(2).policy(Policy::SchedExt)))
        .build();
    let text = s.to_toml().unwrap();
    assert!(text.contains("switch = \"partial\"\n"), "{text}");
    assert!(text.contains("policy = \"ext\"\n"), "{text}");
    assert_eq!(Scenario::from_toml(&text).unwrap(), s, "{text}");
    // The default full switch is left out.
    assert!(!base().build().to_toml().unwrap().contains("switch"));
}

proptest! {
    /// `split` parts of any topology are disjoint, cover every CPU in order and
    /// differ in size by at most one.
    #[test]
    fn split_parts_partition_the_cpus(llcs in 1u32..6, cores in 1u32..5, threads in 1u32..3, of_seed in 0u32..64) {
        let t = Topology::new(1, llcs, cores, threads).unwrap();
        let of = of_seed % t.cpus() + 1;
        let parts: Vec<Vec<u32>> = (0..of)
            .map(|index| CpusetSpec::Split { index, of }.resolve(&t).unwrap())
            .collect();
        prop_assert_eq!(parts.concat(), (0..t.cpus()).collect::<Vec<_>>());
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
    }
}

#[test]
fn workers_in_a_parent_cgroup_are_rejected() {
    use ktstr_model::{Hold, Op, WorkType};
    let topo: ktstr_model::Topology = "1,2,2,1".parse().unwrap();
    let s = ktstr_model::ScenarioBuilder::new("inner")
        .cgroup("p", |c| c.workers(1, WorkType::Spin))
        .cgroup("p/a", |c| c.workers(1, WorkType::Spin))
        .build();
    let e = s.validate(&topo).unwrap_err().to_string();
    assert!(e.contains("cgroups[1].name") && e.contains("leaf"), "{e}");

    let s = ktstr_model::ScenarioBuilder::new("spawn-into-parent")
        .cgroup("p", |c| c)
        .cgroup("p/a", |c| c.workers(1, WorkType::Spin))
        .step_ops(
            vec![Op::Spawn {
                cgroup: "p".into(),
                workers: ktstr_model::WorkerGroup::new(1, WorkType::Spin),
            }],
            Hold::Fraction(0.5),
        )
        .build();
    let e = s.validate(&topo).unwrap_err().to_string();
    assert!(
        e.contains("steps[0].ops[0].cgroup") && e.contains("has child `p/a`"),
        "{e}"
    );
}

#[test]
fn payload_scenarios_are_valid() {
    let topo: ktstr_model::Topology = "1,2,2,1".parse().unwrap();
    for s in ktstr_model::catalog::payload_scenarios() {
        s.validate(&topo)
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert!(!s.payloads.is_empty());
        let back = ktstr_model::Scenario::from_toml(&s.to_toml().unwrap()).unwrap();
        assert_eq!(back, s);
    }
}

#[test]
fn steps_that_would_make_more_phases_than_are_tracked_are_refused() {
    let churn = |times: u32| {
        with_steps(vec![Step {
            ops: vec![
                Op::AddCgroup {
                    cgroup: CgroupSpec::builder("c").build(),
                },
                Op::RemoveCgroup { name: "c".into() },
            ],
            hold: Hold::Repeat { every_ms: 1, times },
        }])
    };
    // 1 + 2 * 127 = 255 phases fit; one more repetition makes 257.
    churn(127).validate(&topo("1,2,2,1")).unwrap();
    rejects(churn(128), "steps[0]", "257 phases");
}

#[test]
fn custom_workers_and_metric_bounds_are_validated() {
    let custom = |name: &str| {
        base()
            .cgroup("w", |c| {
                c.workers(1, WorkType::Custom { name: name.into() })
            })
            .metric_bound("ops", Some(1.0), None)
            .build()
    };
    custom("counter").validate(&topo("1,2,2,1")).unwrap();
    // base() brings two cgroups of its own.
    rejects(
        custom("Not Valid"),
        "cgroups[2].workers[0].work.name",
        "is not a worker name",
    );
    let bounded = |min, max| {
        base()
            .cgroup("w", |c| c.workers(1, WorkType::Spin))
            .metric_bound("ops", min, max)
            .build()
    };
    rejects(bounded(None, None), "metric_bounds[0]", "bounds nothing");
    rejects(
        bounded(Some(2.0), Some(1.0)),
        "metric_bounds[0].min",
        "is above `max`",
    );
    rejects(
        bounded(Some(f64::NAN), None),
        "metric_bounds[0].min",
        "not a finite number",
    );
}

#[test]
fn a_scenario_file_cannot_carry_an_invalid_topology() {
    let with = |t: &str| {
        format!(
            "name = \"t\"\nduration_ms = 2000\n[topology]\n{t}\n[[cgroups]]\nname = \"a\"\n[[cgroups.workers]]\ncount = 1\nwork = {{ type = \"spin\" }}\n"
        )
    };
    for (t, expect) in [
        ("numa_nodes = 0\nllcs = 2\ncores_per_llc = 2\nthreads_per_core = 1", "at least 1"),
        ("numa_nodes = 3\nllcs = 2\ncores_per_llc = 2\nthreads_per_core = 1", "cannot be split evenly"),
        (
            "numa_nodes = 1\nllcs = 4294967295\ncores_per_llc = 4294967295\nthreads_per_core = 4294967295",
            "CPUs",
        ),
    ] {
        let err = Scenario::from_toml(&with(t)).unwrap_err().to_string();
        assert!(err.contains(expect), "{t}: {err}");
    }
}

#[test]
fn more_workers_than_the_guest_has_slots_are_refused_on_the_host() {
    let many = base()
        .cgroup("w", |c| c.workers(100_000, WorkType::Spin))
        .build();
    rejects(many, "cgroups", "100004 workers");
}
