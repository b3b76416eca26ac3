//! Production schedulers from the scx project (built by `ktstr scheduler
//! build`, which scripts/setup.sh runs for `scx_bpfland`), the gauntlet and
//! the preset list, against the real kernel under QEMU.

mod common;

use common::{failed_checks, run, run_json};

/// The scx_bpfland version setup builds.
const BPFLAND: &str = "scx_bpfland@1.1.4";

/// Why `scx_bpfland` cannot be used here (not in the scheduler cache), with how to build it.
fn bpfland_missing() -> Option<String> {
    let (code, list, _) = run_json(&["scheduler", "list", "--json"]);
    assert_eq!(code, 0);
    let built = list
        .as_array()
        .is_some_and(|l| l.iter().any(|s| s["name"] == "scx_bpfland"));
    (!built).then(|| {
        format!(
            "scx_bpfland is not built (run `ktstr scheduler build {BPFLAND}` or scripts/setup.sh)"
        )
    })
}

fn scheduler_list_json_names_version_source_and_sha256() {
    let (_, list, _) = run_json(&["scheduler", "list", "--json"]);
    let b = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "scx_bpfland")
        .unwrap();
    assert_eq!(b["version"], "1.1.4");
    assert_eq!(b["source"]["kind"], "crates_io");
    assert_eq!(b["sha256"].as_str().unwrap().len(), 64);
    assert!(b["build_seconds"].as_f64().unwrap() > 0.0);
    let path = b["binary"].as_str().unwrap();
    assert!(std::path::Path::new(path).is_file(), "{path}");
}

fn bpfland_schedules_steady_and_cpuset_swap_on_two_llcs() {
    let (code, r, stderr) = run_json(&[
        "run",
        "-s",
        BPFLAND,
        "-c",
        "steady",
        "-c",
        "cpuset-swap",
        "--topology",
        "llc-pair",
        "--json",
    ]);
    let records = r.as_array().unwrap_or_else(|| panic!("{r:#}\n{stderr}"));
    assert_eq!(records.len(), 2);
    for rec in records {
        assert_eq!(
            code,
            0,
            "{}: {:?}\n{}",
            rec["scenario"],
            failed_checks(rec),
            rec["verdict"]
        );
        let checks = rec["verdict"]["checks"].as_array().unwrap();
        let find = |name: &str| checks.iter().find(|c| c["name"] == name).unwrap().clone();
        // The verdict is about bpfland: it attached, and the workers ran on sched_ext.
        assert_eq!(find("scheduler")["status"], "pass");
        assert_eq!(
            find("sched_class")["status"],
            "pass",
            "{}",
            find("sched_class")
        );
        assert!(
            rec["verdict"]["stats"]["total_work_units"]
                .as_u64()
                .unwrap()
                > 0
        );
        assert!(rec["topology_mismatches"].as_array().unwrap().is_empty());
    }
}

fn a_scheduler_that_is_not_built_says_how_to_build_it() {
    let out = run(&["run", "-s", "scx_nosuch@9.9.9", "-c", "steady"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ktstr scheduler build scx_nosuch@9.9.9"),
        "{err}"
    );
}

fn topo_list_has_at_least_twelve_presets_from_2_to_128_cpus() {
    let (code, presets, _) = run_json(&["topo", "list", "--json"]);
    assert_eq!(code, 0);
    let presets = presets.as_array().unwrap();
    assert!(presets.len() >= 12, "{}", presets.len());
    let cpus: Vec<u64> = presets
        .iter()
        .map(|p| p["cpus"].as_u64().unwrap())
        .collect();
    assert_eq!(cpus.iter().min(), Some(&2));
    assert_eq!(cpus.iter().max(), Some(&128));
}

/// A small gauntlet: two presets, two scenarios, one of which the smaller
/// preset cannot host. Every cell is in the JSON, the skip carries its reason,
/// and the budget bounds the wall time.
fn gauntlet_lists_every_cell_and_skips_what_a_preset_cannot_host() {
    let started = std::time::Instant::now();
    let (code, report, stderr) = run_json(&[
        "gauntlet",
        "-s",
        "scx_simple",
        "-c",
        "steady",
        "-c",
        "cpuset-llc-split",
        "--presets",
        "tiny,llc-pair",
        "--budget",
        "3m",
        "--jobs",
        "1",
        "--json",
    ]);
    let cells = report["cells"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}\n{stderr}"));
    assert_eq!(cells.len(), 4, "{report:#}");
    let status = |scenario: &str, preset: &str| {
        cells
            .iter()
            .find(|c| c["scenario"] == scenario && c["preset"] == preset)
            .unwrap()
            .clone()
    };
    let skipped = status("cpuset-llc-split", "tiny");
    assert_eq!(skipped["status"], "skip");
    assert!(
        skipped["detail"].as_str().unwrap().contains("LLC"),
        "{skipped}"
    );
    for (s, p) in [
        ("steady", "tiny"),
        ("steady", "llc-pair"),
        ("cpuset-llc-split", "llc-pair"),
    ] {
        assert_eq!(status(s, p)["status"], "pass", "{}\n{stderr}", status(s, p));
    }
    assert_eq!(code, 0);
    // Within the budget plus one run (a run here is well under a minute).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(240),
        "{:?}",
        started.elapsed()
    );
}

fn main() {
    common::main(common::cases![
        [bpfland_missing] scheduler_list_json_names_version_source_and_sha256,
        [common::vm_missing, bpfland_missing] bpfland_schedules_steady_and_cpuset_swap_on_two_llcs,
        [] a_scheduler_that_is_not_built_says_how_to_build_it,
        [] topo_list_has_at_least_twelve_presets_from_2_to_128_cpus,
        [common::vm_missing] gauntlet_lists_every_cell_and_skips_what_a_preset_cannot_host,
    ]);
}
