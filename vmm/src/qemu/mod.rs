//! The QEMU backend: drives `qemu-system-x86_64`.

mod args;
mod run;

pub use args::qemu_command_line;
pub use run::{vm_run_base, RUN_DIR_ENV};

use std::path::{Path, PathBuf};

use crate::{host_has_hw_virt, Accel, Backend, VmError, VmOutcome, VmSpec};
use ktstr_wire::Message;

/// Runs guests in `qemu-system-x86_64`: KVM acceleration where the host has
/// hardware virtualization, multi-threaded TCG otherwise.
#[derive(Debug, Clone)]
pub struct QemuBackend {
    binary: PathBuf,
    accel: Accel,
}

impl QemuBackend {
    /// Finds QEMU (`$KTSTR_QEMU` or `qemu-system-x86_64` on `PATH`) and picks the
    /// accelerator (`$KTSTR_ACCEL=tcg|kvm` overrides the detection).
    ///
    /// # Errors
    /// [`VmError::QemuMissing`] when no QEMU binary is found.
    pub fn detect() -> Result<Self, VmError> {
        let name = std::env::var("KTSTR_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
        let binary = find_in_path(&name).ok_or(VmError::QemuMissing(name))?;
        let accel = match std::env::var("KTSTR_ACCEL").as_deref() {
            Ok("tcg") => Accel::Tcg,
            Ok("kvm") => Accel::Kvm,
            _ if host_has_hw_virt() => Accel::Kvm,
            _ => Accel::Tcg,
        };
        Ok(QemuBackend { binary, accel })
    }

    /// Forces an accelerator.
    pub fn with_accel(mut self, accel: Accel) -> Self {
        self.accel = accel;
        self
    }

    /// The QEMU binary used.
    pub fn binary(&self) -> &Path {
        &self.binary
    }
}

impl Backend for QemuBackend {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn accel(&self) -> Accel {
        self.accel
    }

    fn run(
        &self,
        spec: &VmSpec,
        on_message: &mut dyn FnMut(&Message),
    ) -> Result<VmOutcome, VmError> {
        run::run(self, spec, on_message)
    }
}

/// Resolves `name` like a shell would: a path as is, else the first match on `PATH`.
fn find_in_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}
