//! Plugin files that are not whole plugins for this machine: random bytes, truncated copies
//! of a real plugin, a plugin relabelled for another machine or class. Each is refused with
//! [`PluginLoadError::Open`] naming the file, before the dynamic loader maps it (a truncated
//! library mapped past its end kills the process with SIGBUS).
//!
//! The real plugin is the workspace's exitcode plugin, built by the tests that need it.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ktstr_adapters::{PluginAdapter, PluginLoadError};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The exitcode plugin, built into this test binary's target directory (a no-op when
/// it is current), as `tests/plugins.rs` builds it.
fn built_plugin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let mut cmd = std::process::Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "-p", "ktstr-adapter-exitcode-plugin"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    assert!(cmd.status().unwrap().success(), "{cmd:?} failed");
    profile_dir.join("libktstr_adapter_exitcode_plugin.so")
}

/// Loads `path`, which must fail with `Open` naming it; returns the reason.
fn open_error(path: &Path) -> String {
    match PluginAdapter::load(path) {
        Err(PluginLoadError::Open { path: p, reason }) => {
            assert_eq!(p, path);
            let message = PluginLoadError::Open {
                path: p,
                reason: reason.clone(),
            }
            .to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            reason
        }
        Err(other) => panic!("`{}`: expected Open, got {other}", path.display()),
        Ok(plugin) => panic!("`{}` loaded as {:?}", path.display(), plugin.info()),
    }
}

#[test]
fn random_bytes_are_not_a_plugin() {
    let scratch = tempfile::tempdir().unwrap();
    let mut rng = SmallRng::seed_from_u64(0x2545_f491_4f6c_dd1d);
    for i in 0..200 {
        let len = rng.gen::<u64>() as usize % 4096;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen::<u64>() as u8).collect();
        // Half behind an ELF identification, so the check reads further.
        if i % 2 == 1 && len >= 16 {
            bytes[..16].copy_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        }
        let path = scratch.path().join(format!("lib{i}.so"));
        fs::write(&path, &bytes).unwrap();
        open_error(&path);
    }
}

#[test]
fn truncated_copies_of_a_real_plugin_are_refused() {
    let plugin = built_plugin();
    let scratch = tempfile::tempdir().unwrap();
    let whole = scratch.path().join("libwhole.so");
    fs::copy(&plugin, &whole).unwrap();
    let loaded = PluginAdapter::load(&whole).expect("the untouched copy loads");
    assert_eq!(loaded.info().name, "ExitCode");

    let size = fs::metadata(&whole).unwrap().len();
    let mut rng = SmallRng::seed_from_u64(0x9e37_79b9_7f4a_7c15);
    let mut lengths: Vec<u64> = (0..64).map(|_| rng.gen::<u64>() % size).collect();
    lengths.extend([
        0,
        1,
        3,
        4,
        5,
        63,
        64,
        65,
        120,
        1000,
        4096,
        65_536,
        size / 2,
        size - 1,
    ]);
    lengths.sort_unstable();
    lengths.dedup();
    // One file, cut shorter and shorter.
    let cut = scratch.path().join("libcut.so");
    fs::copy(&plugin, &cut).unwrap();
    let file = OpenOptions::new().write(true).open(&cut).unwrap();
    for &len in lengths.iter().rev() {
        file.set_len(len).unwrap();
        let reason = open_error(&cut);
        let expected = if len < 4 {
            "not an ELF file"
        } else {
            "it is truncated"
        };
        assert!(
            reason.contains(expected),
            "cut at {len} of {size}: {reason}"
        );
    }
}

#[test]
fn a_plugin_for_another_machine_or_class_is_refused() {
    let plugin = built_plugin();
    let scratch = tempfile::tempdir().unwrap();
    let relabel = |name: &str, at: u64, bytes: &[u8]| {
        let path = scratch.path().join(name);
        fs::copy(&plugin, &path).unwrap();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(bytes, at).unwrap();
        drop(file);
        open_error(&path)
    };
    // EM_AARCH64 on x86-64, EM_X86_64 elsewhere.
    let other: u16 = if cfg!(target_arch = "x86_64") {
        183
    } else {
        62
    };
    let reason = relabel("libmachine.so", 18, &other.to_le_bytes());
    assert!(
        reason.contains(&format!("built for ELF machine {other}")),
        "{reason}"
    );
    let reason = relabel("libclass.so", 4, &[1]);
    assert!(reason.contains("not a 64-bit ELF file"), "{reason}");
    let reason = relabel("libexec.so", 16, &[2, 0]);
    assert!(reason.contains("not a shared library"), "{reason}");
}

#[test]
fn a_missing_file_is_an_open_error() {
    let scratch = tempfile::tempdir().unwrap();
    let reason = open_error(&scratch.path().join("libabsent.so"));
    assert!(reason.contains("No such file"), "{reason}");
}
