//! `ktstr boot` against the real kernel under QEMU: the guest must see the
//! requested topology, a wrong mapping must be caught, and bad requests get exit 2.

mod common;

use common::{run, run_json};

/// Boots `topology` and checks the report; returns it, or `None` when VMs cannot run here.
fn boot_matches(topology: &str, cpus: u64, nodes: usize) -> Option<serde_json::Value> {
    let (code, r, stderr) = run_json(&["boot", "--topology", topology, "--json"]);
    assert_eq!(code, 0, "{topology}: {r:#}\n{stderr}");
    assert_eq!(r["matches"], true, "{topology}: {:#}", r["mismatches"]);
    assert_eq!(r["requested"]["cpus"], cpus);
    assert_eq!(r["observed"]["cpus"].as_array().unwrap().len() as u64, cpus);
    let with_cpus = r["observed"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !n["cpus"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(
        with_cpus, nodes,
        "{topology}: nodes {:#}",
        r["observed"]["nodes"]
    );
    assert_eq!(r["sched_ext"], true);
    assert_eq!(r["exit"]["kind"], "completed");
    assert!(r["boot_ms"].as_f64().unwrap() > 0.0);
    assert!(["tcg", "kvm"].contains(&r["accel"].as_str().unwrap()));
    assert_eq!(r["backend"], "qemu");
    assert_eq!(
        r["wire"]["transports"][0], "ring",
        "frames should come over the shared-memory ring"
    );
    Some(r)
}

fn boot_1_1_2_1() {
    boot_matches("1,1,2,1", 2, 1);
}

fn boot_1_2_2_1() {
    boot_matches("1,2,2,1", 4, 1);
}

fn boot_1_2_2_2_smt() {
    boot_matches("1,2,2,2", 8, 1);
}

fn boot_2_4_2_1_numa_with_distances() {
    let Some(r) = boot_matches("2,4,2,1", 8, 2) else {
        return;
    };
    let d: Vec<Vec<u64>> = r["observed"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            n["distances"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(d, vec![vec![10, 20], vec![20, 10]]);
}

fn boot_1_3_3_1_odd_shape() {
    boot_matches("1,3,3,1", 9, 1);
}

fn a_wrong_mapping_is_reported_as_a_mismatch() {
    // Ask for two LLCs but present one socket of four cores to the VM.
    let (code, r, _) = run_json(&[
        "boot",
        "--topology",
        "1,2,2,1",
        "--present-topology",
        "1,1,4,1",
        "--json",
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["matches"], false);
    let m = r["mismatches"].to_string();
    assert!(m.contains("1 LLCs, expected 2"), "{m}");
}

fn uneven_topology_is_a_usage_error() {
    let out = run(&["boot", "--topology", "2,3,1,1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("3 LLCs cannot be split evenly over 2 NUMA nodes"),
        "{err}"
    );
}

fn missing_kernel_is_a_usage_error() {
    let out = run(&["boot", "--kernel", "/nonexistent/bzImage"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/bzImage"), "{err}");
}

fn kernel_without_sched_ext_is_a_usage_error() {
    // A real image with a config that lacks sched_ext beside it: resolution must refuse it.
    let list = run(&["kernel", "list", "--json"]);
    let kernels: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap_or_default();
    let dir = kernels
        .get(0)
        .and_then(|k| k["dir"].as_str())
        .expect("vm_missing() found a cached kernel");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(format!("{dir}/bzImage"), tmp.path().join("bzImage")).unwrap();
    let config = std::fs::read_to_string(format!("{dir}/config"))
        .unwrap()
        .replace(
            "CONFIG_SCHED_CLASS_EXT=y",
            "# CONFIG_SCHED_CLASS_EXT is not set",
        );
    std::fs::write(tmp.path().join("config"), config).unwrap();
    let image = tmp.path().join("bzImage");
    let out = run(&["boot", "--kernel", image.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("sched_ext"), "{err}");
}

fn ctrl_c_stops_the_vm_and_leaves_nothing_behind() {
    let run_dir = tempfile::tempdir().unwrap();
    let child = common::ktstr()
        .args(["boot", "--topology", "1,2,2,1"])
        .env(ktstr_vmm_run_dir(), run_dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the VM's private directory exists, i.e. QEMU is starting.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_dir(run_dir.path()).unwrap().next().is_none() {
        assert!(std::time::Instant::now() < deadline, "the VM never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: signals the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(run_dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    let marker = run_dir.path().to_string_lossy().into_owned();
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(&marker),
            "a process still uses {marker}: {}",
            p.path().display()
        );
    }
}

fn ktstr_vmm_run_dir() -> &'static str {
    "KTSTR_RUN_DIR"
}

fn a_kernel_panic_is_classified_with_its_text() {
    // No init where the kernel looks: it panics, and the host must say so.
    let (code, r, _) = run_json(&["boot", "--cmdline", "rdinit=/nonexistent", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(r["exit"]["kind"], "kernel_panic", "{r:#}");
    // Without the initramfs's init the kernel falls back to a root block
    // device (the kernel has virtio-blk for sync_io), finds none and panics.
    let text = r["exit"]["text"].as_str().unwrap();
    assert!(
        text.contains("No working init found") || text.contains("Unable to mount root fs"),
        "{r:#}"
    );
}

fn a_vm_past_its_time_is_a_timeout() {
    let (code, r, _) = run_json(&["boot", "--timeout", "1", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(r["exit"]["kind"], "timeout", "{r:#}");
    assert_eq!(r["exit"]["after_secs"], 1);
}

fn main() {
    common::main(common::cases![
        [common::vm_missing] boot_1_1_2_1,
        [common::vm_missing] boot_1_2_2_1,
        [common::vm_missing] boot_1_2_2_2_smt,
        [common::vm_missing] boot_2_4_2_1_numa_with_distances,
        [common::vm_missing] boot_1_3_3_1_odd_shape,
        [common::vm_missing] a_wrong_mapping_is_reported_as_a_mismatch,
        [] uneven_topology_is_a_usage_error,
        [] missing_kernel_is_a_usage_error,
        [common::vm_missing] kernel_without_sched_ext_is_a_usage_error,
        [common::vm_missing] ctrl_c_stops_the_vm_and_leaves_nothing_behind,
        [common::vm_missing] a_kernel_panic_is_classified_with_its_text,
        [common::vm_missing] a_vm_past_its_time_is_a_timeout,
    ]);
}
