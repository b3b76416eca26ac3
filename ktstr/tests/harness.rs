//! ktstr's own VM tests on its own harness (the way a scheduler repository
//! uses it): real kernel, real QEMU, real schedulers. Without a cached kernel
//! every case is listed as ignored, with the reason on standard error.

use ktstr::{expect_ratio_at_least, total_work_units, RunRecord, Scenario, WorkType};

/// Declarative, over two schedulers: one case each.
#[ktstr::test(scheduler = ["eevdf", "scx_simple"])]
fn two_cgroups_of_spinners_pass() -> Scenario {
    Scenario::builder("harness-two-cgroups")
        .cgroup("a", |c| c.workers(2, WorkType::Spin))
        .cgroup("b", |c| c.workers(2, WorkType::Spin))
        .build()
}

/// Host-side assertions against EEVDF as the baseline.
#[ktstr::test(scenario = "steady", scheduler = "scx_simple", baseline = "eevdf")]
fn scx_simple_keeps_up_with_eevdf(record: &RunRecord, baseline: &RunRecord) -> Result<(), String> {
    // Loose on purpose: TCG vCPU speed varies run to run; a scheduler that
    // stalls the workers would be far below.
    expect_ratio_at_least("work units", record, baseline, 0.3, total_work_units)
}

/// An expected failure: the seeded fault must be caught as a stall.
#[ktstr::test(scenario = "fault-first-run-delay", expect_fail = "stall")]
fn a_worker_held_before_its_first_run_is_a_stall(_record: &RunRecord) {}

/// A custom Rust worker: counts loop iterations and reports their rate.
#[ktstr::worker]
fn counter(w: &mut ktstr::CustomWorker) {
    let start = std::time::Instant::now();
    let mut n = 0u64;
    while !w.stopped() {
        for _ in 0..10_000 {
            n = std::hint::black_box(n + 1);
        }
        w.tick(1);
    }
    w.metric(
        "iterations_per_sec",
        n as f64 / start.elapsed().as_secs_f64(),
    );
}

fn counting(bound_min: f64) -> Scenario {
    Scenario::builder("harness-custom-worker")
        .cgroup("count", |c| {
            c.workers(
                2,
                WorkType::Custom {
                    name: "counter".into(),
                },
            )
        })
        .metric_bound("iterations_per_sec", Some(bound_min), None)
        .build()
}

/// A custom worker inside the VM, its metric within its bound.
#[ktstr::test(scheduler = "scx_simple")]
fn a_custom_worker_reports_its_metric() -> Scenario {
    counting(1.0)
}

/// The same metric against a bound no vCPU reaches: the run must fail on it.
#[ktstr::test(scheduler = "scx_simple", expect_fail = "metric_bound")]
fn a_metric_outside_its_bound_fails_the_run() -> Scenario {
    counting(1e15)
}

/// A worker that allocates (and touches) memory without bound, and offers
/// itself to the OOM killer first.
#[ktstr::worker]
fn memory_hog(w: &mut ktstr::CustomWorker) {
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
    let mut held: Vec<Vec<u8>> = Vec::new();
    while !w.stopped() {
        held.push(vec![1u8; 8 << 20]);
        w.tick(1);
    }
}

/// The guest running out of memory: the kernel kills the hog, the run is
/// still judged (the other cgroup's spinner reports) and fails on the death.
/// 256 MiB fill in about 2 s here under TCG; the run lasts 8 s.
#[ktstr::test(expect_fail = "worker_died", memory_mib = 256)]
fn a_worker_that_exhausts_guest_memory_is_reported_dead() -> Scenario {
    Scenario::builder("harness-oom")
        .duration_ms(8000)
        .cgroup("hog", |c| {
            c.workers(
                1,
                WorkType::Custom {
                    name: "memory_hog".into(),
                },
            )
        })
        .cgroup("calm", |c| c.workers(1, WorkType::Spin))
        .build()
}

fn main() {
    ktstr::harness::main();
}
