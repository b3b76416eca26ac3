//! Which VM backend runs the guest.

use std::fmt;
use std::str::FromStr;

use ktstr_vmm::kvm::KvmBackend;
use ktstr_vmm::{Backend, QemuBackend};

use crate::RunError;

/// Which VM backend to use.
///
/// ```
/// use ktstr_runner::BackendChoice;
/// assert_eq!("qemu".parse::<BackendChoice>(), Ok(BackendChoice::Qemu));
/// assert!("vbox".parse::<BackendChoice>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// The own KVM VMM where hardware virtualization exists, QEMU otherwise.
    #[default]
    Auto,
    /// `qemu-system-x86_64` (KVM acceleration if available, TCG otherwise).
    Qemu,
    /// The own KVM VMM (needs `vmx`/`svm`).
    Kvm,
}

impl BackendChoice {
    /// Every choice, in the order help texts list them.
    pub const ALL: [BackendChoice; 3] =
        [BackendChoice::Auto, BackendChoice::Qemu, BackendChoice::Kvm];

    /// Opens the backend. `Auto` is the own VMM where the CPU has hardware
    /// virtualization (`vmx`/`svm`) and `/dev/kvm` opens, QEMU otherwise: a
    /// `/dev/kvm` without them (e.g. a PVM hypervisor) cannot boot Linux fast.
    ///
    /// # Errors
    ///
    /// [`RunError::Vm`]: `/dev/kvm` does not open for `Kvm`, no QEMU binary.
    pub fn open(self) -> Result<Box<dyn Backend>, RunError> {
        match self {
            BackendChoice::Kvm => Ok(Box::new(KvmBackend::open()?)),
            BackendChoice::Auto if ktstr_vmm::host_has_hw_virt() => match KvmBackend::open() {
                Ok(kvm) => Ok(Box::new(kvm)),
                Err(e) => {
                    tracing::info!("own KVM VMM unavailable ({e}); using QEMU");
                    Ok(Box::new(QemuBackend::detect()?))
                }
            },
            BackendChoice::Auto | BackendChoice::Qemu => Ok(Box::new(QemuBackend::detect()?)),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Qemu => "qemu",
            BackendChoice::Kvm => "kvm",
        })
    }
}

/// A backend name that is not `auto`, `qemu` or `kvm`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}`\nhint: use auto, qemu or kvm")]
pub struct UnknownBackend(pub String);

impl FromStr for BackendChoice {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackendChoice::ALL
            .into_iter()
            .find(|b| b.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownBackend(s.to_owned()))
    }
}
