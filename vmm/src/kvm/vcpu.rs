//! One vCPU thread: runs KVM_RUN, hands port I/O to the devices, and turns
//! the exits that end a guest into a [`GuestStop`].

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Instant;

use kvm_bindings::{
    KVM_MP_STATE_HALTED, KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_UNINITIALIZED,
    KVM_SYSTEM_EVENT_CRASH, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN,
};
use kvm_ioctls::{VcpuExit, VcpuFd};
use vmm_sys_util::eventfd::EventFd;
use vmm_sys_util::signal::{register_signal_handler, SIGRTMIN};

use super::devices::Devices;
use super::regs::RFLAGS_IF;
use super::stop::{GuestStop, ResetKind};

/// What the vCPU threads and the monitor of one VM share.
pub(crate) struct Shared {
    /// Set by the monitor: every vCPU thread returns at its next exit.
    pub(crate) stop: AtomicBool,
    /// The first reason the guest stopped; later ones are ignored.
    pub(crate) reason: Mutex<Option<GuestStop>>,
    /// Per vCPU: halted with interrupts off (or never started), as of the last kick.
    pub(crate) parked: Vec<AtomicBool>,
    /// When a vCPU first exited for port I/O.
    pub(crate) first_io: OnceLock<Instant>,
    pub(crate) devices: Devices,
    /// Written when `reason` is set: wakes the event loop.
    pub(crate) wake: EventFd,
}

impl Shared {
    pub(crate) fn set_reason(&self, stop: GuestStop) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(stop);
        }
        drop(r);
        let _ = self.wake.write(1);
    }
}

/// The signal that kicks a vCPU thread out of KVM_RUN.
pub(crate) fn kick_signal() -> i32 {
    SIGRTMIN() + 4
}

/// Installs the (empty) kick handler once per process: the signal only has
/// to interrupt KVM_RUN with EINTR.
pub(crate) fn install_kick_handler() -> Result<(), std::io::Error> {
    static ONCE: Once = Once::new();
    static RESULT: AtomicI32 = AtomicI32::new(0);
    extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}
    ONCE.call_once(|| {
        if let Err(e) = register_signal_handler(kick_signal(), on_kick) {
            RESULT.store(e.errno(), Ordering::Relaxed);
        }
    });
    match RESULT.load(Ordering::Relaxed) {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(e)),
    }
}

/// The body of vCPU `cpu`'s thread; returns when the guest stops or the
/// monitor says so. The thread owns `vcpu`, which closes when it returns.
pub(crate) fn run_vcpu(cpu: u32, mut vcpu: VcpuFd, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::Acquire) {
        let stop = match vcpu.run() {
            Ok(VcpuExit::IoOut(port, data)) => {
                shared.first_io.get_or_init(Instant::now);
                shared.devices.pio_write(port, data)
            }
            Ok(VcpuExit::IoIn(port, data)) => {
                shared.first_io.get_or_init(Instant::now);
                shared.devices.pio_read(port, data);
                None
            }
            Ok(VcpuExit::MmioRead(_, data)) => {
                data.fill(0xff);
                None
            }
            Ok(VcpuExit::MmioWrite(..)) => None,
            Ok(VcpuExit::Shutdown) => Some(GuestStop::TripleFault { cpu }),
            Ok(VcpuExit::SystemEvent(kind, _)) => Some(match kind {
                KVM_SYSTEM_EVENT_SHUTDOWN => GuestStop::PowerOff,
                KVM_SYSTEM_EVENT_RESET => GuestStop::Reset(ResetKind::SystemEvent),
                KVM_SYSTEM_EVENT_CRASH => GuestStop::Error {
                    cpu,
                    reason: "guest crash event".into(),
                },
                k => GuestStop::Error {
                    cpu,
                    reason: format!("unknown system event {k}"),
                },
            }),
            // Only without an in-kernel LAPIC; ours halts in the kernel.
            Ok(VcpuExit::Hlt) => {
                probe_parked(cpu, &vcpu, &shared);
                None
            }
            Ok(VcpuExit::Intr) => {
                probe_parked(cpu, &vcpu, &shared);
                None
            }
            Ok(VcpuExit::FailEntry(reason, hw_cpu)) => Some(GuestStop::Error {
                cpu,
                reason: format!("entry failed: hardware reason {reason:#x} on host cpu {hw_cpu}"),
            }),
            Ok(VcpuExit::InternalError) => Some(GuestStop::Error {
                cpu,
                reason: internal_error(
                    // SAFETY: KVM_EXIT_INTERNAL_ERROR fills the `internal` member.
                    unsafe { vcpu.get_kvm_run().__bindgen_anon_1.internal.suberror },
                ),
            }),
            Ok(other) => Some(GuestStop::Error {
                cpu,
                reason: format!("unhandled exit {other:?}"),
            }),
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                probe_parked(cpu, &vcpu, &shared);
                None
            }
            Err(e) => Some(GuestStop::Error {
                cpu,
                reason: format!("KVM_RUN failed: {e}"),
            }),
        };
        if let Some(stop) = stop {
            shared.set_reason(stop);
            return;
        }
    }
}

/// Names KVM's internal-error suberrors (`KVM_INTERNAL_ERROR_*`).
fn internal_error(suberror: u32) -> String {
    let what = match suberror {
        1 => "KVM could not emulate an instruction",
        2 => "KVM hit a simultaneous exception",
        3 => "KVM could not deliver an event",
        4 => "KVM could not handle an unexpected exit",
        _ => "KVM internal error",
    };
    format!("{what} (internal error suberror {suberror})")
}

/// Records whether this vCPU can never run again on its own: halted with
/// interrupts disabled, or an AP that was never started.
fn probe_parked(cpu: u32, vcpu: &VcpuFd, shared: &Shared) {
    let parked = match vcpu.get_mp_state().map(|m| m.mp_state) {
        Ok(KVM_MP_STATE_HALTED) => vcpu.get_regs().is_ok_and(|r| r.rflags & RFLAGS_IF == 0),
        Ok(KVM_MP_STATE_UNINITIALIZED | KVM_MP_STATE_INIT_RECEIVED) => true,
        _ => false,
    };
    shared.parked[cpu as usize].store(parked, Ordering::Release);
}
