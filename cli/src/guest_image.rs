//! Assembling the guest's initramfs: the runtime as `/init` plus its plan.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use ktstr_model::{GuestPlan, PLAN_PATH};
use ktstr_vmm::initramfs::InitramfsBuilder;

use crate::failure::{Failure, OrUsage};
use crate::kernel_cmd;

/// Environment variable naming the guest runtime binary, for unusual installs.
const GUEST_BIN_ENV: &str = "KTSTR_GUEST_BIN";

/// Finds `ktstr-guest`: `$KTSTR_GUEST_BIN`, else beside the running `ktstr`
/// (cargo and `cargo install` both put the two binaries in one directory).
pub(crate) fn guest_binary() -> Result<PathBuf, Failure> {
    if let Some(p) = std::env::var_os(GUEST_BIN_ENV) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Failure::usage(anyhow!(
                "`{}` (from ${GUEST_BIN_ENV}) does not exist",
                p.display()
            )))
        };
    }
    let exe = std::env::current_exe()
        .context("failed to find the running executable")
        .or_usage()?;
    let dir = exe
        .parent()
        .ok_or_else(|| Failure::usage(anyhow!("`{}` has no parent directory", exe.display())))?;
    // Integration tests run from target/<profile>/deps; the binaries sit one level up.
    [dir.join("ktstr-guest"), dir.join("../ktstr-guest")]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Failure::usage(anyhow!(
                "failed to find the guest runtime `ktstr-guest` next to `{}`\nhint: build it with `cargo build --bins`, or set ${GUEST_BIN_ENV}",
                exe.display()
            ))
        })
}

/// Builds (or reuses from the cache) the initramfs for `plan`, with `binaries`
/// (host path, guest path) and their libraries; returns its path.
pub(crate) fn build(plan: &GuestPlan, binaries: &[(PathBuf, String)]) -> Result<PathBuf, Failure> {
    let mut builder = InitramfsBuilder::new()
        .init_binary(guest_binary()?)
        .dir("/proc")
        .dir("/sys")
        .dir("/dev")
        .dir("/tmp")
        .file(PLAN_PATH, plan.to_bytes(), 0o644);
    for (host, guest) in binaries {
        builder = builder.binary(host.clone(), guest.clone());
    }
    let dir = kernel_cmd::cache()?.root().join("initramfs");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("failed to create `{}`", dir.display()))
        .or_usage()?;
    builder
        .write_cached(&dir)
        .context("failed to build the guest initramfs")
        .or_usage()
}
