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

/// A test of a `harness = false` test binary and what it needs.
pub struct Case {
    /// The test's name.
    pub name: &'static str,
    /// Each returns why the test cannot run here, or `None`.
    pub needs: &'static [fn() -> Option<String>],
    /// The test; it panics to fail.
    pub run: fn(),
}

/// Runs `cases` with libtest-mimic: a case whose needs are not met is listed
/// as ignored (the reason goes to stderr) and fails with the reason when run
/// anyway; it never counts as passed.
pub fn main(cases: Vec<Case>) -> ! {
    let args = libtest_mimic::Arguments::from_args();
    let trials = cases
        .into_iter()
        .map(|case| {
            let reason = case.needs.iter().find_map(|need| need());
            if let (Some(r), false) = (&reason, args.list) {
                eprintln!("skipping {}: {r}", case.name);
            }
            let ignored = reason.is_some();
            libtest_mimic::Trial::test(case.name, move || match reason {
                Some(r) => Err(format!("cannot run here: {r}").into()),
                None => {
                    (case.run)();
                    Ok(())
                }
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

/// `cases![needs => fn, ...]`: the [`Case`] list of a test binary.
#[macro_export]
macro_rules! cases {
    ($( [$($need:expr),*] $name:ident ),* $(,)?) => {
        vec![$( common::Case { name: stringify!($name), needs: &[$($need),*], run: $name } ),*]
    };
}

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
