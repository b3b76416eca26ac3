//! How a guest stopped, as the VMM saw it.

use std::time::Duration;

/// Which reset path a guest took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetKind {
    /// `0xFE` to the i8042 command port (`reboot=k`).
    I8042,
    /// The FADT reset register.
    AcpiResetRegister,
    /// A reset through the PCI reset control register (`0xCF9`).
    PciResetControl,
    /// KVM reported a reset system event.
    SystemEvent,
}

/// Why a guest stopped running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestStop {
    /// ACPI S5 through the FADT sleep control register, or a KVM shutdown event.
    PowerOff,
    /// The guest asked for a reset (Linux's reboot, or `panic=-1`).
    Reset(ResetKind),
    /// A vCPU faulted while delivering a double fault (KVM_EXIT_SHUTDOWN).
    TripleFault {
        /// The vCPU's CPU number.
        cpu: u32,
    },
    /// Every vCPU is halted with interrupts disabled: nothing can wake it.
    Halted,
    /// The guest ran past its time and was stopped.
    Watchdog {
        /// The limit it ran into.
        after: Duration,
    },
    /// The user asked every VM to stop ([`crate::request_stop`]).
    Interrupted,
    /// KVM could not run a vCPU, or the guest did what no device handles.
    Error {
        /// The vCPU's CPU number.
        cpu: u32,
        /// What happened, as a fragment.
        reason: String,
    },
}

impl GuestStop {
    /// A one-line description, used as the status of a run without a result.
    pub fn describe(&self) -> String {
        match self {
            GuestStop::PowerOff => "guest powered off".into(),
            GuestStop::Reset(k) => format!("guest reset ({k:?})"),
            GuestStop::TripleFault { cpu } => format!("triple fault on cpu {cpu}"),
            GuestStop::Halted => "every vCPU halted with interrupts disabled".into(),
            GuestStop::Watchdog { after } => format!("stopped by the watchdog after {after:?}"),
            GuestStop::Interrupted => "interrupted".into(),
            GuestStop::Error { cpu, reason } => format!("vCPU {cpu} failed: {reason}"),
        }
    }
}
