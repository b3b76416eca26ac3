//! The scheduler's VM tests. Each `#[ktstr::test]` is one case per topology
//! and scheduler; `cargo nextest run` lists them without booting anything.

use ktstr::{expect_ratio_at_least, total_work_units, RunRecord, Scenario, WorkType};

/// Declarative: two cgroups of spinners must pass every check under
/// scx_simple, on two topologies.
#[ktstr::test(scheduler = "scx_simple", topology = ["1,2,2,1", "llc-pair"])]
fn spinners_in_two_cgroups() -> Scenario {
    Scenario::builder("two-cgroups")
        .cgroup("a", |c| c.workers(2, WorkType::Spin))
        .cgroup("b", |c| c.workers(2, WorkType::Spin))
        .build()
}

/// Host-side assertions: the catalog's `steady` scenario (CPU-bound
/// spinners) under scx_simple against EEVDF as the baseline; the failure
/// message carries both numbers. One run a side under TCG varies by up to
/// ~30 % (and the nextest profile runs this case alone, so no other VM slows
/// one side): the bound catches a scheduler that leaves CPUs idle, not a
/// 10 % change — `ktstr compare --repeat 5` answers that.
#[ktstr::test(scenario = "steady", scheduler = "scx_simple", baseline = "eevdf")]
fn spinners_keep_up_with_eevdf(record: &RunRecord, baseline: &RunRecord) -> Result<(), String> {
    assert!(record.passed(), "{}", record.verdict.render_text());
    expect_ratio_at_least("work units", record, baseline, 0.6, total_work_units)
}

/// An expected failure: scx_qmap stalling every second user thread must be
/// reported as a stall; the case passes only when it is.
#[ktstr::test(scenario = "steady", scheduler = "scx_qmap -t 2", expect_fail = "stall")]
fn qmap_stalling_threads_is_caught(_record: &RunRecord) {}

/// A custom Rust worker, run inside the VM: a producer that counts batches
/// and reports their rate as a metric.
#[ktstr::worker]
fn batch_producer(w: &mut ktstr::CustomWorker) {
    let start = std::time::Instant::now();
    let mut batches = 0u64;
    while !w.stopped() {
        let mut sum = 0u64;
        for i in 0..20_000u64 {
            sum = std::hint::black_box(sum.wrapping_add(i));
        }
        batches += 1;
        w.tick(1);
    }
    w.metric("batches_per_sec", batches as f64 / start.elapsed().as_secs_f64());
}

/// The custom workers beside spinners under scx_simple: every check passes
/// and each producer's rate stays above its bound (judged on the host).
#[ktstr::test(scheduler = "scx_simple")]
fn producers_keep_their_rate_beside_spinners() -> Scenario {
    Scenario::builder("producers")
        .cgroup("producers", |c| {
            c.workers(2, WorkType::Custom { name: "batch_producer".into() })
        })
        .cgroup("spinners", |c| c.workers(2, WorkType::Spin))
        .metric_bound("batches_per_sec", Some(10.0), None)
        .build()
}

fn main() {
    ktstr::harness::main();
}
