//! Errors of the VM backends.

use std::path::PathBuf;

/// Why a VM could not be run. How a VM that did run ended is a [`crate::VmExit`].
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// `qemu-system-x86_64` is not installed.
    #[error("failed to find `{0}`\nhint: install it with `apt-get install qemu-system-x86` (or run scripts/setup.sh)")]
    QemuMissing(String),
    /// The kernel image does not exist.
    #[error("failed to find kernel image `{}`\nhint: run `ktstr kernel build` or pass an existing bzImage", .0.display())]
    KernelMissing(PathBuf),
    /// The initramfs does not exist.
    #[error("failed to find initramfs `{}`", .0.display())]
    InitramfsMissing(PathBuf),
    /// The requested backend cannot run here.
    #[error("backend `{backend}` is not available: {reason}")]
    Unavailable {
        /// The backend asked for.
        backend: &'static str,
        /// Why not.
        reason: String,
    },
    /// The memory size cannot hold the topology or is out of range.
    #[error("invalid memory size {mib} MiB: {reason}")]
    Memory {
        /// The request.
        mib: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// The kernel image, initramfs or command line cannot be booted as given.
    #[error("failed to load kernel `{}`: {reason}", .path.display())]
    BadKernel {
        /// The kernel image.
        path: PathBuf,
        /// What is wrong, with a hint where one helps.
        reason: String,
    },
    /// An OS call failed.
    #[error("failed to {what}")]
    Io {
        /// What was being done, as a fragment after "failed to".
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl VmError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> VmError {
        let what = what.into();
        move |source| VmError::Io { what, source }
    }
}
