//! The canned scenarios.
//!
//! Each runs 2–4 s with a handful of workers, because the guest may be emulated
//! (TCG) on two host cores. Cpusets are LLC ids or `split` parts, never fixed CPU
//! lists, and each scenario declares under `requires` what they need (at most four
//! CPUs and two LLCs); it is valid on every topology that meets that.
//!
//! ```
//! use ktstr_model::{catalog, preset};
//! let steady = catalog::find("steady").unwrap();
//! steady.validate(&"1,2,2,1".parse().unwrap()).unwrap();
//! let split = catalog::find("cpuset-llc-split").unwrap();
//! assert!(split.hostable(&preset("one-llc").unwrap().topology).is_err());
//! assert!(catalog::catalog().iter().all(|s| s.name != "fault-freeze"));
//! assert!(catalog::find("fault-freeze").is_some());
//! ```

use crate::{
    AffinityMode, CgroupSpec, CpusetSpec, Fault, HintPolarity, Hold, Op, Payload, PayloadCheck,
    PayloadHint, PayloadStart, Policy, Requirements, Scenario, WorkType, WorkerGroup,
};

/// The scenarios a full run executes, in a stable order.
pub fn catalog() -> Vec<Scenario> {
    vec![
        steady(),
        mixed(),
        cpuset_llc_split(),
        cpuset_swap(),
        cpuset_change(),
        cgroup_churn(),
        oversubscribe(),
        affinity_churn(),
        nested(),
        wake_pingpong(),
        futex_fanout(),
        bursty_io(),
        policy_mix(),
        churn(),
        cache_pressure(),
        move_all(),
    ]
}

/// Scenarios with a deliberate fault, which a correct run must report as failed.
/// They prove the checks work and are not part of [`catalog`].
pub fn fault_scenarios() -> Vec<Scenario> {
    vec![
        fault_escape(),
        fault_freeze(),
        fault_starve(),
        fault_first_run_delay(),
        fault_wake_delay(),
        fault_never_run(),
        fault_short_slices(),
        fault_bpf_exit(),
        fault_bpf_exit_reattach(),
        fault_cpuset_escape(),
        fault_kthread_starve(),
    ]
}

/// The cgroup ktstr's fault scheduler (`scx_ktstr_fault -c victim ...`) targets.
pub const FAULT_VICTIM: &str = "victim";

/// A scenario run under ktstr's fault scheduler with `flags`: a `victim`
/// cgroup the fault hits and a `bystander` cgroup it leaves alone.
fn under_fault_scheduler(name: &str, flags: &str) -> crate::ScenarioBuilder {
    Scenario::builder(name).scheduler(format!("scx_ktstr_fault -c {FAULT_VICTIM} {flags}"))
}

fn fault_first_run_delay() -> Scenario {
    under_fault_scheduler("fault-first-run-delay", "-d 1000")
        .description(
            "The fault scheduler holds the victim cgroup's workers 1 s before their first run; the gap check must fail.",
        )
        .cgroup(FAULT_VICTIM, |c| c.workers(2, WorkType::Spin))
        .cgroup("bystander", |c| c.workers(2, WorkType::Spin))
        .skip_fairness()
        .build()
}

fn fault_wake_delay() -> Scenario {
    under_fault_scheduler("fault-wake-delay", "-w 300")
        .description(
            "The fault scheduler holds every wake-up of the victim's bursty workers 300 ms; wake latency must fail.",
        )
        .cgroup(FAULT_VICTIM, |c| {
            c.workers(
                2,
                WorkType::Bursty {
                    burst_ms: 5,
                    sleep_ms: 20,
                },
            )
        })
        .cgroup("bystander", |c| c.workers(2, WorkType::Spin))
        .skip_fairness()
        .build()
}

fn fault_never_run() -> Scenario {
    under_fault_scheduler("fault-never-run", "-n")
        .description(
            "The fault scheduler never runs the victim cgroup's workers; the sched_ext watchdog (capped per run) must eject it, failing the scheduler and gap checks.",
        )
        .cgroup(FAULT_VICTIM, |c| c.workers(2, WorkType::Spin))
        .cgroup("bystander", |c| c.workers(2, WorkType::Spin))
        .skip_fairness()
        .build()
}

fn fault_short_slices() -> Scenario {
    // Twice as many spinners as CPUs, so slices decide who runs: the victim's
    // 5% slices give it a fraction of the bystander's CPU time.
    under_fault_scheduler("fault-short-slices", "-u 5")
        .description(
            "The fault scheduler gives the victim cgroup 5% slices while both cgroups oversubscribe the CPUs; throughput must fail.",
        )
        .requires(cpus(2))
        .cgroup(FAULT_VICTIM, |c| c.workers(4, WorkType::Spin))
        .cgroup("bystander", |c| c.workers(4, WorkType::Spin))
        .build()
}

fn fault_bpf_exit() -> Scenario {
    under_fault_scheduler("fault-bpf-exit", "-e 1000")
        .description(
            "The fault scheduler unregisters itself from BPF (scx_bpf_exit) 1 s after attaching; the scheduler check must fail.",
        )
        .cgroup(FAULT_VICTIM, |c| c.workers(2, WorkType::Spin))
        .cgroup("bystander", |c| c.workers(2, WorkType::Spin))
        .build()
}

fn fault_bpf_exit_reattach() -> Scenario {
    under_fault_scheduler("fault-bpf-exit-reattach", "-e 1000 -r")
        .description(
            "The fault scheduler unregisters itself from BPF 1 s after attaching, then attaches again; the run ends on a live scheduler but the scheduler check must still fail.",
        )
        .cgroup(FAULT_VICTIM, |c| c.workers(2, WorkType::Spin))
        .cgroup("bystander", |c| c.workers(2, WorkType::Spin))
        .build()
}

fn fault_cpuset_escape() -> Scenario {
    under_fault_scheduler("fault-cpuset-escape", "-x")
        .description(
            "The fault scheduler dispatches the victim cgroup's workers to a CPU outside its cpuset; the kernel refuses and ejects it, which the scheduler check must report.",
        )
        .requires(cpus(2))
        .cgroup(FAULT_VICTIM, |c| c.cpuset(split(0, 2)).workers(2, WorkType::Spin))
        .cgroup("bystander", |c| c.cpuset(split(1, 2)).workers(2, WorkType::Spin))
        .build()
}

fn fault_kthread_starve() -> Scenario {
    // rcu_preempt drives RCU grace periods: starving it trips the sched_ext
    // watchdog (capped per run) and, later, the RCU stall detector.
    under_fault_scheduler("fault-kthread-starve", "-k rcu_preempt")
        .description(
            "The fault scheduler never runs the rcu_preempt kernel thread; the sched_ext watchdog must eject it and the scheduler check report the stalled thread.",
        )
        .cgroup(FAULT_VICTIM, |c| c.workers(2, WorkType::Spin))
        .cgroup("bystander", |c| c.workers(2, WorkType::Spin))
        .build()
}

/// Scenarios that run real benchmark binaries from Debian (fio, cyclictest,
/// hackbench, stress-ng) in the guest; they need those installed on the host.
pub fn payload_scenarios() -> Vec<Scenario> {
    vec![fio(), cyclictest(), hackbench(), stress_ng()]
}

/// The scenario called `name`, from [`catalog`], [`fault_scenarios`] or [`payload_scenarios`].
pub fn find(name: &str) -> Option<Scenario> {
    catalog()
        .into_iter()
        .chain(fault_scenarios())
        .chain(payload_scenarios())
        .find(|s| s.name == name)
}

fn split(index: u32, of: u32) -> CpusetSpec {
    CpusetSpec::Split { index, of }
}

fn llc(id: u32) -> CpusetSpec {
    CpusetSpec::Llcs(vec![id])
}

/// At least `n` CPUs: what `split` parts `of` up to `n` need.
fn cpus(n: u32) -> Requirements {
    Requirements {
        min_cpus: n,
        ..Requirements::NONE
    }
}

/// At least `n` LLCs: what cpusets naming LLCs `0..n` need.
fn llcs(n: u32) -> Requirements {
    Requirements {
        min_llcs: n,
        ..Requirements::NONE
    }
}

fn steady() -> Scenario {
    Scenario::builder("steady")
        .description("Two cgroups of spinners share every CPU; the baseline for fairness and gaps.")
        .cgroup("a", |c| c.workers(2, WorkType::Spin))
        .cgroup("b", |c| c.workers(2, WorkType::Spin))
        .build()
}

fn mixed() -> Scenario {
    Scenario::builder("mixed")
        .description("Spinners, yielders, spin-then-yield and bursty workers in one cgroup.")
        .cgroup("mix", |c| {
            c.workers(1, WorkType::Spin)
                .workers(1, WorkType::Yield)
                .workers(2, WorkType::Mixed { spin_us: 500 })
                .workers(
                    2,
                    WorkType::Bursty {
                        burst_ms: 5,
                        sleep_ms: 5,
                    },
                )
        })
        .build()
}

fn cpuset_llc_split() -> Scenario {
    Scenario::builder("cpuset-llc-split")
        .description("One cgroup per LLC, each confined to its LLC's CPUs.")
        .requires(llcs(2))
        .cgroup("llc0", |c| c.cpuset(llc(0)).workers(2, WorkType::Spin))
        .cgroup("llc1", |c| c.cpuset(llc(1)).workers(2, WorkType::Spin))
        .build()
}

fn cpuset_swap() -> Scenario {
    let swap = || {
        vec![Op::SwapCpusets {
            a: "a".into(),
            b: "b".into(),
        }]
    };
    Scenario::builder("cpuset-swap")
        .description("Two cgroups on disjoint halves of the CPUs trade halves twice.")
        .requires(cpus(2))
        .cgroup("a", |c| c.cpuset(split(0, 2)).workers(2, WorkType::Spin))
        .cgroup("b", |c| {
            c.cpuset(split(1, 2))
                .workers(2, WorkType::Mixed { spin_us: 200 })
        })
        .step_ops(swap(), Hold::Fraction(0.4))
        .step_ops(swap(), Hold::Fraction(0.4))
        .build()
}

fn cpuset_change() -> Scenario {
    let set = |cpuset| {
        vec![Op::SetCpuset {
            cgroup: "a".into(),
            cpuset,
        }]
    };
    Scenario::builder("cpuset-change")
        .description("A cgroup's cpuset shrinks to one part, grows to a node, then is cleared.")
        .requires(cpus(4))
        .cgroup("a", |c| c.cpuset(split(0, 2)).workers(3, WorkType::Spin))
        .cgroup("b", |c| {
            c.cpuset(CpusetSpec::Overlap {
                index: 1,
                of: 2,
                fraction: 0.5,
            })
            .workers(2, WorkType::Spin)
        })
        .step_ops(set(split(0, 4)), Hold::Fraction(0.3))
        .step_ops(set(CpusetSpec::Nodes(vec![0])), Hold::Fraction(0.3))
        .step_ops(
            vec![Op::ClearCpuset { cgroup: "a".into() }],
            Hold::Fraction(0.3),
        )
        .build()
}

fn cgroup_churn() -> Scenario {
    let tmp = CgroupSpec::builder("tmp")
        .cpuset(split(1, 2))
        .workers(2, WorkType::Spin)
        .build();
    Scenario::builder("cgroup-churn")
        .description(
            "A cgroup of spinners is removed and recreated every 250 ms beside a steady one.",
        )
        .requires(cpus(2))
        .cgroup("base", |c| c.workers(2, WorkType::Spin))
        .step_ops(
            vec![Op::AddCgroup {
                cgroup: tmp.clone(),
            }],
            Hold::Ms(250),
        )
        .step_ops(
            vec![
                Op::RemoveCgroup { name: "tmp".into() },
                Op::AddCgroup { cgroup: tmp },
            ],
            Hold::Repeat {
                every_ms: 250,
                times: 6,
            },
        )
        .build()
}

fn oversubscribe() -> Scenario {
    // Three spinners per CPU of each half on a 4-CPU guest: the one scenario that
    // exceeds two workers per CPU on purpose.
    Scenario::builder("oversubscribe")
        .description("Each half of the CPUs runs a cgroup of six spinners, several per CPU.")
        .requires(cpus(2))
        .cgroup("a", |c| c.cpuset(split(0, 2)).workers(6, WorkType::Spin))
        .cgroup("b", |c| c.cpuset(split(1, 2)).workers(6, WorkType::Spin))
        .build()
}

fn affinity_churn() -> Scenario {
    let set = |affinity| {
        vec![Op::SetAffinity {
            cgroup: "a".into(),
            affinity,
        }]
    };
    Scenario::builder("affinity-churn")
        .description("Workers move their own affinity while the cgroup's mode cycles.")
        .cgroup("a", |c| {
            c.workers(2, WorkType::AffinityChurn)
                .workers(2, WorkType::Spin)
        })
        .step_ops(set(AffinityMode::SingleCpu), Hold::Fraction(0.25))
        .step_ops(set(AffinityMode::RandomSubset), Hold::Fraction(0.25))
        .step_ops(set(AffinityMode::LlcAligned), Hold::Fraction(0.25))
        .step_ops(set(AffinityMode::Inherit), Hold::Fraction(0.2))
        .build()
}

fn nested() -> Scenario {
    let late = CgroupSpec::builder("p/c")
        .workers(1, WorkType::Yield)
        .build();
    Scenario::builder("nested")
        .description(
            "Child cgroups on the two halves under one parent, and a third child added mid-run.",
        )
        .requires(cpus(2))
        .cgroup("p", |c| c)
        .cgroup("p/base", |c| c.workers(1, WorkType::Spin))
        .cgroup("p/a", |c| c.cpuset(split(0, 2)).workers(2, WorkType::Spin))
        .cgroup("p/b", |c| c.cpuset(split(1, 2)).workers(2, WorkType::Spin))
        .step_ops(vec![Op::AddCgroup { cgroup: late }], Hold::Fraction(0.5))
        .build()
}

fn wake_pingpong() -> Scenario {
    Scenario::builder("wake-pingpong")
        .description("Pairs wake each other through pipes and through futexes.")
        .cgroup("pipe", |c| c.workers(4, WorkType::PipePingPong))
        .cgroup("futex", |c| c.workers(4, WorkType::FutexPingPong))
        .build()
}

fn futex_fanout() -> Scenario {
    Scenario::builder("futex-fanout")
        .description("Two wakers each wake three waiters on a futex.")
        .cgroup("fan", |c| c.workers(8, WorkType::FutexFanOut { wakees: 3 }))
        .build()
}

fn bursty_io() -> Scenario {
    Scenario::builder("bursty-io")
        .description("Bursty sleepers and fsync writers run beside a spinner.")
        .cgroup("bursty", |c| {
            c.workers(
                3,
                WorkType::Bursty {
                    burst_ms: 10,
                    sleep_ms: 20,
                },
            )
        })
        .cgroup("io", |c| c.workers(2, WorkType::SyncIo { block_kb: 64 }))
        .cgroup("spin", |c| c.workers(1, WorkType::Spin))
        .build()
}

fn policy_mix() -> Scenario {
    // No fifo or rr spinners: an RT spinner starves everything else by design.
    let g = |count, policy, nice| {
        WorkerGroup::new(count, WorkType::Spin)
            .policy(policy)
            .nice(nice)
    };
    Scenario::builder("policy-mix")
        .description("Normal, batch and idle spinners at different nice values, and nice sweepers.")
        .cgroup("mix", |c| {
            c.workers_with(g(2, Policy::Normal, -5))
                .workers_with(g(2, Policy::Batch, 5))
                .workers_with(g(1, Policy::Idle, 0))
        })
        .cgroup("sweep", |c| c.workers(2, WorkType::NiceSweep))
        .skip_fairness()
        .build()
}

fn churn() -> Scenario {
    Scenario::builder("churn")
        .description("Fork-and-exit loops and page-fault loops beside spinners.")
        .cgroup("fork", |c| c.workers(2, WorkType::ForkExit))
        .cgroup("fault", |c| c.workers(2, WorkType::PageFaultChurn))
        .cgroup("spin", |c| c.workers(2, WorkType::Spin))
        .build()
}

fn cache_pressure() -> Scenario {
    let walk = |wss_kb| WorkType::CachePressure { wss_kb, stride: 64 };
    Scenario::builder("cache-pressure")
        .description("Working-set walkers pinned to each LLC and one free to roam.")
        .requires(llcs(2))
        .cgroup("llc0", |c| c.cpuset(llc(0)).workers(2, walk(512)))
        .cgroup("llc1", |c| c.cpuset(llc(1)).workers(2, walk(2048)))
        .cgroup("wide", |c| c.workers(2, walk(1024)))
        .build()
}

fn move_all() -> Scenario {
    let mv = |from: &str, to: &str| {
        vec![Op::MoveAll {
            from: from.into(),
            to: to.into(),
        }]
    };
    Scenario::builder("move-all")
        .description("Every task of one cgroup moves to another on the other half, and back.")
        .requires(cpus(2))
        .cgroup("src", |c| c.cpuset(split(0, 2)).workers(3, WorkType::Spin))
        .cgroup("dst", |c| c.cpuset(split(1, 2)).workers(1, WorkType::Spin))
        .step_ops(mv("src", "dst"), Hold::Fraction(0.4))
        .step_ops(mv("dst", "src"), Hold::Fraction(0.4))
        .build()
}

fn fault_escape() -> Scenario {
    let escape = WorkerGroup::new(2, WorkType::Spin).fault(Fault::EscapeCpuset { after_ms: 500 });
    // Four spinners on half the CPUs and the other half idle: once two of them
    // escape, load balancing moves them onto CPUs their cpuset does not allow.
    Scenario::builder("fault-escape")
        .description(
            "Two of four workers leave their cgroup and cpuset after 500 ms; the isolation check must fail.",
        )
        .requires(cpus(2))
        .cgroup("jail", |c| {
            c.cpuset(split(0, 2))
                .workers(2, WorkType::Spin)
                .workers_with(escape)
        })
        .skip_fairness()
        .build()
}

fn fault_freeze() -> Scenario {
    // Longer than the TCG gap limit (2 s), so the gap check fails on any backend.
    let freeze = WorkerGroup::new(1, WorkType::Spin).fault(Fault::Freeze {
        after_ms: 300,
        for_ms: 2300,
    });
    Scenario::builder("fault-freeze")
        .description("One worker stops progressing for 2.3 s; the gap check must fail.")
        .cgroup("a", |c| c.workers(2, WorkType::Spin).workers_with(freeze))
        .skip_fairness()
        .build()
}

fn fault_starve() -> Scenario {
    // Frozen before its first unit of work, until after the run ends.
    let freeze = WorkerGroup::new(1, WorkType::Spin).fault(Fault::Freeze {
        after_ms: 0,
        for_ms: 4000,
    });
    Scenario::builder("fault-starve")
        .description("One worker never makes progress; the starvation check must fail.")
        .cgroup("a", |c| c.workers(2, WorkType::Spin).workers_with(freeze))
        .skip_fairness()
        .build()
}

fn payload(name: &str, binary: &str, args: &[&str], adapter: &str) -> Payload {
    Payload {
        name: name.into(),
        binary: binary.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        cgroup: None,
        timeout_ms: 30_000,
        start: PayloadStart::AtStart,
        output_file: None,
        adapter: adapter.into(),
        hints: Vec::new(),
        checks: vec![PayloadCheck::ExitCodeEquals { code: 0 }],
        bounds: None,
    }
}

fn exists(metric: &str) -> PayloadCheck {
    PayloadCheck::Exists {
        metric: metric.into(),
    }
}

fn fio() -> Scenario {
    let mut p = payload(
        "fio",
        "fio",
        &[
            "--name=randrw",
            "--directory=/tmp",
            "--rw=randrw",
            "--bs=4k",
            "--size=8m",
            "--ioengine=psync",
            "--runtime=2",
            "--time_based",
            "--output-format=json",
        ],
        "json",
    );
    p.cgroup = Some("io".into());
    p.checks
        .extend([exists("jobs.0.read.iops"), exists("jobs.0.write.iops")]);
    Scenario::builder("fio")
        .description("fio random read/write on tmpfs (JSON metrics) beside two spinners.")
        .requires(cpus(2))
        .duration_ms(3000)
        .cgroup("io", |c| c.cpuset(split(0, 2)))
        .cgroup("bg", |c| c.cpuset(split(1, 2)).workers(2, WorkType::Spin))
        .payload(p)
        .build()
}

fn cyclictest() -> Scenario {
    let mut p = payload(
        "cyclictest",
        "cyclictest",
        &[
            "-q",
            "-D",
            "2",
            "-i",
            "1000",
            "-t",
            "2",
            "--json=/proc/self/fd/1",
        ],
        "json",
    );
    p.checks
        .extend([exists("thread.0.max"), exists("thread.1.avg")]);
    Scenario::builder("cyclictest")
        .description("cyclictest wake-up latency (JSON metrics) beside a spinner per CPU.")
        .duration_ms(3000)
        .cgroup("load", |c| c.workers(2, WorkType::Spin))
        .payload(p)
        .build()
}

fn hackbench() -> Scenario {
    // Text output (`Time: 0.123`): the local model reads it, and may only report
    // numbers that occur in it.
    let mut p = payload(
        "hackbench",
        "hackbench",
        &["-g", "2", "-l", "200"],
        "llm_extract",
    );
    p.checks.push(exists("time"));
    p.hints = vec![PayloadHint {
        name: "time".into(),
        polarity: Some(HintPolarity::LowerBetter),
        unit: Some("s".into()),
    }];
    Scenario::builder("hackbench")
        .description("hackbench message passing between process groups, alone; LlmExtract reads its text output.")
        .duration_ms(2000)
        .payload(p)
        .build()
}

fn stress_ng() -> Scenario {
    let p = payload(
        "stress-ng",
        "stress-ng",
        &[
            "--cpu",
            "2",
            "--switch",
            "1",
            "--timeout",
            "2s",
            "--metrics-brief",
        ],
        "exit_code",
    );
    Scenario::builder("stress-ng")
        .description("stress-ng CPU and context-switch stressors, alone.")
        .duration_ms(3000)
        .payload(p)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most workers alive at once (initial, added and spawned ones).
    fn peak_workers(s: &Scenario) -> u32 {
        let count = |c: &CgroupSpec| c.workers.iter().map(|w| w.count).sum::<u32>();
        let mut total: u32 = s.cgroups.iter().map(count).sum();
        for op in s.steps.iter().flat_map(|st| &st.ops) {
            match op {
                Op::AddCgroup { cgroup } => total += count(cgroup),
                Op::Spawn { workers, .. } => total += workers.count,
                _ => {}
            }
        }
        total
    }

    #[test]
    fn fault_scheduler_scenarios_name_their_victim_cgroup() {
        let under: Vec<_> = fault_scenarios()
            .into_iter()
            .filter(|s| {
                s.scheduler
                    .as_deref()
                    .is_some_and(|x| x.starts_with("scx_ktstr_fault"))
            })
            .collect();
        // One seeded fault per flag of the fault scheduler (see its --help).
        let mut flags: Vec<char> = under
            .iter()
            .flat_map(|s| s.scheduler.as_deref().unwrap().split_whitespace())
            .filter_map(|w| w.strip_prefix('-')?.chars().next())
            .filter(|&f| f != 'c')
            .collect();
        flags.sort_unstable();
        flags.dedup();
        assert_eq!(flags, ['d', 'e', 'k', 'n', 'r', 'u', 'w', 'x']);
        for s in &under {
            assert!(
                s.cgroups.iter().any(|c| c.name == FAULT_VICTIM),
                "{}",
                s.name
            );
            assert!(
                s.cgroups.iter().any(|c| c.name != FAULT_VICTIM),
                "{}: no bystander",
                s.name
            );
        }
        // The normal catalog is for any scheduler.
        assert!(catalog().iter().all(|s| s.scheduler.is_none()));
    }

    #[test]
    fn names_are_unique_and_found() {
        let all: Vec<_> = catalog().into_iter().chain(fault_scenarios()).collect();
        assert!(catalog().len() >= 14);
        for (i, s) in all.iter().enumerate() {
            assert!(
                all[..i].iter().all(|o| o.name != s.name),
                "duplicate {}",
                s.name
            );
            assert_eq!(find(&s.name).as_ref(), Some(s));
        }
        assert_eq!(find("no-such"), None);
    }

    #[test]
    fn scenarios_are_short_small_and_described() {
        for s in catalog().iter().chain(&fault_scenarios()) {
            assert!((2000..=4000).contains(&s.duration_ms), "{}", s.name);
            let d = &s.description;
            assert!(
                d.ends_with('.') && d.matches(". ").count() == 0,
                "{}: {d}",
                s.name
            );
            // Two workers per CPU of a 4-CPU guest; `oversubscribe` exceeds it on purpose.
            let limit = if s.name == "oversubscribe" { 12 } else { 8 };
            assert!(
                peak_workers(s) <= limit,
                "{} has {} workers",
                s.name,
                peak_workers(s)
            );
        }
    }

    /// Every scenario anywhere in the catalog.
    fn everything() -> Vec<Scenario> {
        catalog()
            .into_iter()
            .chain(fault_scenarios())
            .chain(payload_scenarios())
            .collect()
    }

    #[test]
    fn requirements_are_complete_on_every_preset_and_small_shape() {
        let small = ["1,1,1,1", "1,1,1,2", "1,1,3,1", "1,3,1,1", "2,2,1,1"];
        let topologies: Vec<crate::Topology> = crate::presets()
            .iter()
            .map(|p| p.topology)
            .chain(small.iter().map(|t| t.parse().unwrap()))
            .collect();
        for s in everything() {
            let mut hosts = 0;
            for t in &topologies {
                match s.hostable(t) {
                    Ok(()) => hosts += 1,
                    Err(e) if e.is_skip() => {}
                    Err(e) => panic!("{} on {}: {e}", s.name, t.spec()),
                }
            }
            assert!(hosts >= crate::presets().len() - 3, "{}: {hosts}", s.name);
        }
    }

    #[test]
    fn requirements_skip_with_the_reason() {
        let topo = |name| crate::preset(name).unwrap().topology;
        let reason = |scenario: &str, preset| {
            find(scenario)
                .unwrap()
                .hostable(&topo(preset))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            reason("cpuset-llc-split", "one-llc"),
            "needs 2 LLCs, `1,1,8,1` has 1"
        );
        assert_eq!(
            reason("cache-pressure", "tiny"),
            "needs 2 LLCs, `1,1,2,1` has 1"
        );
        assert_eq!(
            reason("cpuset-change", "smt-pair"),
            "needs 4 CPUs, `1,1,1,2` has 2"
        );
        find("cpuset-change")
            .unwrap()
            .hostable(&topo("llc-pair"))
            .unwrap();
        find("steady")
            .unwrap()
            .hostable(&"1,1,1,1".parse().unwrap())
            .unwrap();
    }

    #[test]
    fn no_rt_policies_in_catalog() {
        for s in catalog().iter().chain(&fault_scenarios()) {
            for w in s.cgroups.iter().flat_map(|c| &c.workers) {
                assert!(!matches!(w.policy, Policy::Fifo | Policy::Rr), "{}", s.name);
            }
        }
    }
}
