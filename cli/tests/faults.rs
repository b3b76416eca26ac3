//! The fault matrix, as far as it runs here: each fault against a real run
//! (real kernel, QEMU, EEVDF), with the classification and exit code it
//! must give and nothing left behind — no VM directory, no process using
//! it, no half-written run record.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A 6 s scenario: long enough to hit it mid-run.
const LONG: &str = r#"
name = "long-steady"
description = "spinners for 6 s"
duration_ms = 6000

[[cgroups]]
name = "a"

[[cgroups.workers]]
count = 2
work = { type = "spin" }
"#;

struct Setup {
    dir: tempfile::TempDir,
    vm: std::path::PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let vm = dir.path().join("vm");
        std::fs::create_dir(&vm).unwrap();
        std::fs::write(dir.path().join("long.toml"), LONG).unwrap();
        Setup { dir, vm }
    }
    fn vm_dir(&self) -> &Path {
        &self.vm
    }
    fn results(&self) -> String {
        self.dir.path().join("results").display().to_string()
    }
    fn spawn_run(&self) -> Child {
        common::ktstr()
            .args([
                "run",
                "-c",
                self.dir.path().join("long.toml").to_str().unwrap(),
                "--json",
            ])
            .args(["--results", &self.results()])
            .env("KTSTR_RUN_DIR", self.vm_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
    /// Waits until the VM has started and then `after` more.
    fn wait_for_vm(&self, after: Duration) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::fs::read_dir(self.vm_dir()).unwrap().next().is_none() {
            assert!(Instant::now() < deadline, "the VM never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(after);
    }
    /// Processes whose command line mentions the VM directory (QEMU).
    fn processes_using_it(&self) -> Vec<i32> {
        let marker = self.vm_dir().to_string_lossy().into_owned();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|p| {
                let pid: i32 = p.file_name().to_str()?.parse().ok()?;
                let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
                String::from_utf8_lossy(&cmdline)
                    .contains(&marker)
                    .then_some(pid)
            })
            .collect()
    }
    /// Nothing of the VM is left, and the results store holds only whole records.
    fn assert_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(self.vm_dir())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "VM files left behind: {left:?}");
        assert!(
            self.processes_using_it().is_empty(),
            "a process still uses the VM directory"
        );
        if let Ok(d) = std::fs::read_dir(self.dir.path().join("results/runs")) {
            for e in d.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                assert!(
                    !name.starts_with(".incoming"),
                    "a half-written record: {name}"
                );
            }
        }
    }
    fn stored_runs(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("results/runs")).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: sends a signal to a process this test started (or its QEMU child).
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

fn qemu_killed_mid_run_is_a_judged_failure_and_nothing_is_left() {
    let s = Setup::new();
    let child = s.spawn_run();
    s.wait_for_vm(Duration::from_secs(4));
    let qemu = s.processes_using_it();
    assert!(!qemu.is_empty(), "no QEMU process found");
    for pid in qemu {
        signal(pid, libc::SIGKILL);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a killed VM is a failed run (exit 1)\n{stderr}"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = common::failed_checks(&r[0]);
    assert!(
        failed.iter().any(|c| c == "vm"),
        "the vm check must fail: {failed:?}"
    );
    let vm = r[0]["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "vm")
        .unwrap();
    assert!(
        vm.to_string().contains("signal 9") || vm.to_string().contains("SIGKILL"),
        "{vm}"
    );
    assert_eq!(s.stored_runs(), 1, "the judged run is stored");
    s.assert_clean();
}

fn ctrl_c_during_a_run_exits_130_and_stores_nothing() {
    let s = Setup::new();
    let child = s.spawn_run();
    s.wait_for_vm(Duration::from_secs(4));
    signal(child.id() as i32, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.stored_runs(), 0, "an interrupted run is not a result");
    s.assert_clean();
}

fn a_second_ctrl_c_still_cleans_up() {
    let s = Setup::new();
    let child = s.spawn_run();
    s.wait_for_vm(Duration::from_secs(3));
    signal(child.id() as i32, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(50));
    signal(child.id() as i32, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.assert_clean();
}

fn two_runs_at_once_both_succeed_into_one_store() {
    let s = Setup::new();
    let (a, b) = (s.spawn_run(), s.spawn_run());
    for (name, child) in [("first", a), ("second", b)] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(s.stored_runs(), 2);
    let out = Command::new(env!("CARGO_BIN_EXE_ktstr"))
        .args(["results", "list", "--json", "--results", &s.results()])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "both runs are indexed");
    s.assert_clean();
}

fn main() {
    common::main(common::cases![
        [common::vm_missing] qemu_killed_mid_run_is_a_judged_failure_and_nothing_is_left,
        [common::vm_missing] ctrl_c_during_a_run_exits_130_and_stores_nothing,
        [common::vm_missing] a_second_ctrl_c_still_cleans_up,
        [common::vm_missing] two_runs_at_once_both_succeed_into_one_store,
    ]);
}
