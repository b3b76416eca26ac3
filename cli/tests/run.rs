//! `ktstr run` against the real kernel, real schedulers from the kernel tree and
//! real workers: healthy scenarios pass, and seeded faults fail with the right reason.

mod common;

use common::{failed_checks, run, run_json};

/// Runs one scenario under one scheduler; returns the exit code and the record.
fn run_one(scheduler: &str, scenario: &str) -> (i32, serde_json::Value) {
    let (code, r, stderr) = run_json(&["run", "-s", scheduler, "-c", scenario, "--json"]);
    let records = r.as_array().unwrap_or_else(|| panic!("{r:#}\n{stderr}"));
    assert_eq!(records.len(), 1);
    (code, records[0].clone())
}

fn assert_passes(scheduler: &str, scenario: &str) {
    let (code, rec) = run_one(scheduler, scenario);
    assert_eq!(
        code,
        0,
        "{scenario} under {scheduler} failed: {:?}\n{}",
        failed_checks(&rec),
        rec["verdict"]
    );
    assert_eq!(rec["verdict"]["status"], "pass");
    let units = rec["verdict"]["stats"]["total_work_units"]
        .as_u64()
        .unwrap();
    assert!(units > 0, "no work was done");
}

fn assert_fails_with(scheduler: &str, scenario: &str, check: &str, evidence: &str) {
    let (code, rec) = run_one(scheduler, scenario);
    assert_eq!(
        code, 1,
        "{scenario} under {scheduler} should fail: {}",
        rec["verdict"]
    );
    assert_check_failed_with(&rec, check, evidence);
}

/// `check` failed in the run record, and its verdict mentions `evidence`.
fn assert_check_failed_with(rec: &serde_json::Value, check: &str, evidence: &str) {
    let failed = failed_checks(rec);
    assert!(
        failed.iter().any(|c| c == check),
        "expected `{check}` to fail, failed: {failed:?}"
    );
    let text = rec["verdict"].to_string();
    assert!(
        text.contains(evidence),
        "evidence `{evidence}` missing from {text}"
    );
}

fn steady_passes_under_eevdf() {
    assert_passes("eevdf", "steady");
}

fn cpuset_swap_passes_under_scx_simple() {
    assert_passes("scx_simple", "cpuset-swap");
}

fn wake_pingpong_passes_under_scx_simple() {
    assert_passes("scx_simple", "wake-pingpong");
}

fn cgroup_churn_passes_under_eevdf() {
    assert_passes("eevdf", "cgroup-churn");
}

fn qmap_stall_is_a_scheduler_death_with_the_kernel_reason() {
    assert_fails_with(
        "scx_qmap -t 2",
        "steady",
        "scheduler",
        "runnable task stall",
    );
}

fn escaping_workers_fail_isolation() {
    assert_fails_with("eevdf", "fault-escape", "isolation", "outside its cpuset");
}

fn a_frozen_worker_fails_the_gap_check() {
    assert_fails_with("eevdf", "fault-freeze", "gap", "stuck");
}

fn a_worker_that_never_progresses_fails_starvation() {
    assert_fails_with("scx_simple", "fault-starve", "starvation", "did no work");
}

fn a_scenario_file_runs_with_the_same_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("halves.toml");
    std::fs::write(
        &path,
        r#"
name = "halves"
description = "two cgroups on disjoint halves, then swapped"
duration_ms = 2000

[[cgroups]]
name = "left"
cpuset = { split = { index = 0, of = 2 } }

[[cgroups.workers]]
count = 2
work = { type = "spin" }

[[cgroups]]
name = "right"
cpuset = { split = { index = 1, of = 2 } }

[[cgroups.workers]]
count = 2
work = { type = "mixed", spin_us = 200 }

[[steps]]
ops = [{ op = "swap_cpusets", a = "left", b = "right" }]
hold = { fraction = 0.5 }
"#,
    )
    .unwrap();
    let (code, r, stderr) = run_json(&["run", "-c", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{r:#}\n{stderr}");
    assert_eq!(r[0]["scenario"], "halves");
    assert_eq!(
        r[0]["verdict"]["stats"]["per_cgroup"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

fn a_malformed_scenario_file_is_a_usage_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "name = \"bad\"\nduration_ms = 1000\n[[cgroups]]\nname = \"a\"\n[[cgroups.workers]]\ncount = 3\nwork = { type = \"pipe_ping_pong\" }\n").unwrap();
    let out = run(&["run", "-c", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cgroups[0].workers[0].count"), "{err}");

    std::fs::write(&path, "name = \"bad\"\nduration_ms = [\n").unwrap();
    let out = run(&["run", "-c", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn unknown_scheduler_and_scenario_are_usage_errors() {
    let out = run(&["run", "-s", "scx_nonesuch", "-c", "steady"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scheduler `scx_nonesuch`"));
    let out = run(&["run", "-c", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario"));
}

fn list_shows_the_catalog() {
    let out = run(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 12, "{text}");
    for name in [
        "steady",
        "cpuset-swap",
        "cgroup-churn",
        "oversubscribe",
        "nested",
        "affinity-churn",
        "mixed",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    // One seeded fault per flag of the fault scheduler.
    let faults = String::from_utf8_lossy(&run(&["list", "--faults"]).stdout).into_owned();
    for name in [
        "fault-first-run-delay",
        "fault-wake-delay",
        "fault-never-run",
        "fault-short-slices",
        "fault-bpf-exit",
        "fault-bpf-exit-reattach",
        "fault-cpuset-escape",
        "fault-kthread-starve",
    ] {
        assert!(faults.contains(name), "{name} missing from {faults}");
    }
}

/// Runs a payload scenario and returns its payload report.
fn payload_report(scheduler: &str, scenario: &str) -> Option<serde_json::Value> {
    let (code, rec) = run_one(scheduler, scenario);
    assert_eq!(
        code, 0,
        "{scenario} under {scheduler}: {:#}",
        rec["payloads"]
    );
    let p = rec["payloads"][0].clone();
    assert_eq!(p["passed"], true, "{p:#}");
    Some(p)
}

fn fio_runs_in_the_guest_and_its_json_becomes_metrics() {
    let Some(p) = payload_report("scx_simple", "fio") else {
        return;
    };
    let names: Vec<&str> = p["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"jobs.0.read.iops"), "{names:?}");
    let iops = p["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "jobs.0.write.iops")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert!(iops > 0.0, "fio did no writes");
}

fn cyclictest_latencies_come_back_as_metrics() {
    let Some(p) = payload_report("eevdf", "cyclictest") else {
        return;
    };
    let max = p["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "thread.0.max")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert!(max > 0.0);
}

/// Why the LlmExtract plugin cannot be used: scripts/setup.sh builds it beside the binaries.
fn llm_plugin_missing() -> Option<String> {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_ktstr"));
    let plugin = bin.with_file_name("libktstr_adapter_llm_extract_plugin.so");
    (!plugin.is_file()).then(|| format!("{} is not built (run scripts/setup.sh)", plugin.display()))
}

fn llm_extract_reads_hackbench_time_from_its_text_output() {
    let Some(p) = payload_report("scx_simple", "hackbench") else {
        return;
    };
    let time = p["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "time")
        .expect("a `time` metric")["value"]
        .as_f64()
        .unwrap();
    // The right value is the one hackbench printed.
    let printed: f64 = p["output_tail"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|l| {
            l.as_str()?
                .strip_prefix("stdout: Time: ")?
                .trim()
                .parse()
                .ok()
        })
        .expect("hackbench printed `Time: ...`");
    assert_eq!(time, printed, "{p:#}");
    assert_eq!(p["metrics"][0]["source"], "LlmExtract");
}

/// A sched_ext scheduler that leaves the workers on EEVDF: `scx_qmap -p`
/// attaches in partial mode, so a normal-policy scenario's workers never
/// enter sched_ext. The verdict must not be about qmap, and says which workers.
fn workers_left_on_eevdf_under_a_sched_ext_scheduler_fail_sched_class() {
    let (code, rec) = run_one("scx_qmap -p", "steady");
    assert_eq!(code, 1, "{}", rec["verdict"]);
    let failed = failed_checks(&rec);
    assert!(failed.iter().any(|c| c == "sched_class"), "{failed:?}");
    let text = rec["verdict"].to_string();
    assert!(
        text.contains("worker 0 of cgroup"),
        "no worker named: {text}"
    );
}

/// The same scheduler with a scenario that asks for partial switching and
/// gives its workers the SCHED_EXT policy: they run on sched_ext and pass.
fn partial_switch_with_sched_ext_workers_passes_under_qmap_partial() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.toml");
    std::fs::write(
        &path,
        r#"
name = "partial-ext"
description = "SCHED_EXT workers under a partial-switch scheduler, beside normal ones."
duration_ms = 2000
switch = "partial"

[[cgroups]]
name = "ext"
[[cgroups.workers]]
count = 2
work = { type = "spin" }
policy = "ext"

[[cgroups]]
name = "fair"
[[cgroups.workers]]
count = 1
work = { type = "spin" }
"#,
    )
    .unwrap();
    let (code, rec) = run_one("scx_qmap -p", path.to_str().unwrap());
    assert_eq!(code, 0, "{:?}\n{}", failed_checks(&rec), rec["verdict"]);
    let checks = rec["verdict"]["checks"].as_array().unwrap();
    let class = checks.iter().find(|c| c["name"] == "sched_class").unwrap();
    assert_eq!(class["status"], "pass", "{class}");
}

/// Runs a seeded fault under the scheduler it names (no `-s`): ktstr's
/// fault scheduler, built with the kernel.
fn assert_fault_caught(scenario: &str, check: &str, evidence: &str) {
    let (code, r, stderr) = run_json(&["run", "-c", scenario, "--json"]);
    let rec = &r.as_array().unwrap_or_else(|| panic!("{r:#}\n{stderr}"))[0];
    assert_eq!(code, 1, "{scenario} should fail: {}", rec["verdict"]);
    assert!(
        rec["scheduler"]
            .as_str()
            .unwrap()
            .starts_with("scx_ktstr_fault -c victim"),
        "{}",
        rec["scheduler"]
    );
    assert_check_failed_with(rec, check, evidence);
}

fn a_worker_held_before_its_first_run_fails_the_gap_check() {
    assert_fault_caught("fault-first-run-delay", "gap", "after its release");
}

fn delayed_wake_ups_fail_wake_latency() {
    assert_fault_caught("fault-wake-delay", "wake_latency", "p99 wake latency");
}

fn a_cgroup_that_never_runs_is_ejected_by_the_sched_ext_watchdog() {
    // The per-run watchdog cap (2 s) ends the scheduler within the run.
    assert_fault_caught("fault-never-run", "scheduler", "failed to run for");
}

fn unfair_slices_between_cgroups_fail_throughput() {
    assert_fault_caught("fault-short-slices", "throughput", "victim");
}

fn a_scheduler_that_unregisters_and_attaches_again_fails() {
    assert_fault_caught(
        "fault-bpf-exit-reattach",
        "scheduler",
        "unregistered from BPF",
    );
}

fn dispatching_outside_the_cpuset_fails() {
    assert_fault_caught("fault-cpuset-escape", "scheduler", "not allowed");
}

fn a_starved_kernel_thread_is_reported_by_the_sched_ext_watchdog() {
    assert_fault_caught("fault-kthread-starve", "scheduler", "rcu_preempt");
}

fn a_scheduler_that_unregisters_itself_from_bpf_fails() {
    assert_fault_caught("fault-bpf-exit", "scheduler", "unregistered from BPF");
}

/// A short soak: four VMs back to back leave no fd, thread, child or VM
/// directory behind (`ktstr bench soak --runs 100` is the long version).
fn a_short_soak_leaks_nothing() {
    // Its own VM run directory: other tests' VMs run beside it.
    let run_dir = tempfile::tempdir().unwrap();
    let out = common::ktstr()
        .args(["bench", "soak", "--runs", "4", "--every", "1", "--json"])
        .env("KTSTR_RUN_DIR", run_dir.path())
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{r:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(r["runs"], 4);
    assert_eq!(r["samples"].as_array().unwrap().len(), 5, "{r:#}");
    assert!(r["fd_growth"].as_i64().unwrap() <= 0, "{r:#}");
    assert!(r["thread_growth"].as_i64().unwrap() <= 0, "{r:#}");
    let last = &r["samples"][4];
    assert_eq!(
        (last["children"].as_u64(), last["leftover_vm_dirs"].as_u64()),
        (Some(0), Some(0)),
        "{r:#}"
    );
}

fn main() {
    common::main(common::cases![
        [common::vm_missing] a_short_soak_leaks_nothing,
        [common::vm_missing] steady_passes_under_eevdf,
        [common::vm_missing] cpuset_swap_passes_under_scx_simple,
        [common::vm_missing] wake_pingpong_passes_under_scx_simple,
        [common::vm_missing] cgroup_churn_passes_under_eevdf,
        [common::vm_missing] qmap_stall_is_a_scheduler_death_with_the_kernel_reason,
        [common::vm_missing] escaping_workers_fail_isolation,
        [common::vm_missing] a_frozen_worker_fails_the_gap_check,
        [common::vm_missing] a_worker_that_never_progresses_fails_starvation,
        [common::vm_missing] a_scenario_file_runs_with_the_same_meaning,
        [] a_malformed_scenario_file_is_a_usage_error_naming_the_field,
        [common::vm_missing] unknown_scheduler_and_scenario_are_usage_errors,
        [] list_shows_the_catalog,
        [common::vm_missing] fio_runs_in_the_guest_and_its_json_becomes_metrics,
        [common::vm_missing] cyclictest_latencies_come_back_as_metrics,
        [common::vm_missing, llm_plugin_missing] llm_extract_reads_hackbench_time_from_its_text_output,
        [common::vm_missing] workers_left_on_eevdf_under_a_sched_ext_scheduler_fail_sched_class,
        [common::vm_missing] partial_switch_with_sched_ext_workers_passes_under_qmap_partial,
        [common::vm_missing] a_worker_held_before_its_first_run_fails_the_gap_check,
        [common::vm_missing] delayed_wake_ups_fail_wake_latency,
        [common::vm_missing] a_cgroup_that_never_runs_is_ejected_by_the_sched_ext_watchdog,
        [common::vm_missing] unfair_slices_between_cgroups_fail_throughput,
        [common::vm_missing] a_scheduler_that_unregisters_and_attaches_again_fails,
        [common::vm_missing] dispatching_outside_the_cpuset_fails,
        [common::vm_missing] a_starved_kernel_thread_is_reported_by_the_sched_ext_watchdog,
        [common::vm_missing] a_scheduler_that_unregisters_itself_from_bpf_fails,
    ]);
}
