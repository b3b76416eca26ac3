//! Helpers shared by the VM tests: run the real `ktstr` binary against the real
//! cached kernel under QEMU.

#![allow(dead_code)] // each test binary uses a different subset

use std::process::{Command, Output};

/// The `ktstr` binary under test.
pub fn ktstr() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ktstr"))
}

/// Why VM tests cannot run here (no cached kernel, no QEMU); `None` when they can.
pub fn vm_missing() -> Option<String> {
    static REASON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    REASON
        .get_or_init(|| {
            let list = ktstr()
                .args(["kernel", "list", "--json"])
                .output()
                .expect("run ktstr kernel list");
            let kernels: serde_json::Value =
                serde_json::from_slice(&list.stdout).unwrap_or_default();
            if kernels.as_array().is_none_or(|a| a.is_empty()) {
                return Some(
                    "no cached kernel (run `ktstr kernel build` or scripts/setup.sh)".into(),
                );
            }
            if Command::new("qemu-system-x86_64")
                .arg("--version")
                .output()
                .is_err()
            {
                return Some(
                    "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)".into(),
                );
            }
            None
        })
        .clone()
}

pub use ktstr_test_support::{cases, main};

/// Runs `ktstr` with `args`; returns the output.
pub fn run(args: &[&str]) -> Output {
    ktstr().args(args).output().expect("spawn ktstr")
}

/// Runs `ktstr ... --json` and parses stdout.
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = run(args);
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ktstr {args:?} printed no JSON ({e}); exit {code}\nstdout: {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (code, json, stderr)
}

/// The failing check names of a run record's verdict.
pub fn failed_checks(record: &serde_json::Value) -> Vec<String> {
    record["verdict"]["checks"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter(|c| c["status"] == "fail")
                .map(|c| c["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}
