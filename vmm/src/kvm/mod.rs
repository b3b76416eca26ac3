//! The own KVM VMM: topology through CPUID and ACPI, guest memory with the
//! wire ring at its top, 16550 serial ports, one thread per vCPU, and exit
//! classification.
//!
//! A [`Machine`] is one VM. [`KvmBackend`] opens `/dev/kvm` once and makes
//! machines; it implements [`Backend`](crate::Backend) for booting kernels.
//!
//! ```no_run
//! use ktstr_vmm::kvm::{CpuMode, KvmBackend, Machine, MachineConfig};
//!
//! let kvm = KvmBackend::open().unwrap();
//! let mut m = Machine::new(&kvm, MachineConfig::new("1,1,2,1".parse().unwrap())).unwrap();
//! // mov dx, 0x3f8; mov al, 'k'; out dx, al; cli; hlt
//! m.load_program(&[0xba, 0xf8, 0x03, 0xb0, b'k', 0xee, 0xfa, 0xf4], CpuMode::Real).unwrap();
//! let report = m.run(&mut |_| {}).unwrap();
//! assert_eq!(report.console.text(), "kk");
//! ```

pub(crate) mod acpi;
mod boot;
mod cpuid;
mod devices;
mod layout;
mod machine;
mod monitor;
mod regs;
mod stop;
mod topology;
mod vcpu;

pub use acpi::{
    parse_acpi, AcpiError, AcpiTables, Gas, MadtCpu, NodeMemory, ParsedAcpi, SratCpu, ACPI_PM_PORT,
    ACPI_RESET_VALUE, IOAPIC_ADDR, LAPIC_ADDR, LOCAL_DISTANCE, REMOTE_DISTANCE, S5_SLP_TYP, SLP_EN,
};
pub use boot::{KernelFormat, LoadedKernel};
pub use cpuid::{
    decode_table, decode_topology, topology_cpuid, vendor_of, CpuVendor, CpuidError, DecodedCpu,
};
pub use devices::{COM1, COM2};
pub use layout::{
    E820Entry, E820Kind, MemoryPlan, ACPI_ADDR, CMDLINE_ADDR, GDT_ADDR, HIGH_RAM_START, IDT_ADDR,
    LOW_RAM_END, MMIO_HOLE_START, PML4_ADDR, PROGRAM_ADDR, PROGRAM_MAX, ZERO_PAGE_ADDR,
};
pub use machine::{CpuMode, Machine, MachineConfig, RunReport};
pub use stop::{GuestStop, ResetKind};
pub use topology::ApicLayout;

use ktstr_wire::Message;
use kvm_bindings::{kvm_cpuid_entry2, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::Kvm;

use crate::{classify, Accel, Backend, VmError, VmOutcome, VmSpec, GUEST_WIRE_ARG};

/// The own VMM on this host's `/dev/kvm`.
pub struct KvmBackend {
    kvm: Kvm,
    cpuid: Vec<kvm_cpuid_entry2>,
}

impl std::fmt::Debug for KvmBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvmBackend")
            .field("vendor", &vendor_of(&self.cpuid).ok())
            .finish_non_exhaustive()
    }
}

impl KvmBackend {
    /// Opens `/dev/kvm` and reads the CPUID KVM supports here.
    ///
    /// # Errors
    /// [`VmError::Unavailable`] when `/dev/kvm` cannot be opened, lacks an
    /// in-kernel irqchip, or the host CPU's vendor is not Intel or AMD.
    pub fn open() -> Result<Self, VmError> {
        let unavailable = |reason: String| VmError::Unavailable {
            backend: "kvm",
            reason,
        };
        let kvm = Kvm::new().map_err(|e| {
            unavailable(format!(
                "failed to open `/dev/kvm`: {e}\nhint: load kvm-intel or kvm-amd, or use `--backend qemu`"
            ))
        })?;
        for cap in [
            kvm_ioctls::Cap::Irqchip,
            kvm_ioctls::Cap::Pit2,
            kvm_ioctls::Cap::Irqfd,
            kvm_ioctls::Cap::ExtCpuid,
        ] {
            if !kvm.check_extension(cap) {
                return Err(unavailable(format!("`/dev/kvm` lacks {cap:?}")));
            }
        }
        let mut cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(|e| unavailable(format!("failed to read the supported CPUID: {e}")))?
            .as_slice()
            .to_vec();
        vendor_of(&cpuid).map_err(|e| unavailable(e.to_string()))?;
        let tsc_deadline = kvm.check_extension(kvm_ioctls::Cap::TscDeadlineTimer);
        for e in cpuid.iter_mut().filter(|e| e.function == 1) {
            // KVM leaves these to the VMM. Without the hypervisor bit Linux
            // ignores the KVM leaves (no kvmclock: it then tries to calibrate
            // the TSC against the PIT, which fails when the guest runs slow);
            // the in-kernel LAPIC has a TSC-deadline timer where KVM says so.
            e.ecx |= 1 << 31;
            if tsc_deadline {
                e.ecx |= 1 << 24;
            }
        }
        Ok(KvmBackend { kvm, cpuid })
    }

    /// The host's CPU vendor, which the guest sees too.
    pub fn vendor(&self) -> CpuVendor {
        vendor_of(&self.cpuid).expect("checked in open")
    }

    /// Tells guests they run on `vendor`'s CPUs (leaf 0 and 0x80000000), so
    /// they read that vendor's topology leaves. For proving both vendors'
    /// leaves on one host: a real kernel may take paths a foreign CPU lacks.
    pub fn with_vendor(mut self, vendor: CpuVendor) -> Self {
        let (ebx, ecx, edx) = vendor.leaf0_regs();
        for e in &mut self.cpuid {
            if e.function == 0 || e.function == 0x8000_0000 {
                (e.ebx, e.ecx, e.edx) = (ebx, ecx, edx);
            }
        }
        self
    }

    /// The CPUID table KVM supports here, before any topology is applied.
    pub fn supported_cpuid(&self) -> &[kvm_cpuid_entry2] {
        &self.cpuid
    }
}

impl Backend for KvmBackend {
    fn name(&self) -> &'static str {
        "kvm"
    }

    fn accel(&self) -> Accel {
        Accel::Kvm
    }

    /// Boots `spec.kernel` (bzImage or `vmlinux` ELF) with the initramfs;
    /// the guest writes its frames into the ring region (named on the
    /// command line as `ktstr.wire=mem:ADDR,LEN`), COM2 as its fallback.
    fn run(
        &self,
        spec: &VmSpec,
        on_message: &mut dyn FnMut(&Message),
    ) -> Result<VmOutcome, VmError> {
        let started = std::time::Instant::now();
        if !spec.kernel.is_file() {
            return Err(VmError::KernelMissing(spec.kernel.clone()));
        }
        if !spec.initramfs.is_file() {
            return Err(VmError::InitramfsMissing(spec.initramfs.clone()));
        }
        let mut machine = Machine::new(self, MachineConfig::from_spec(spec))?;
        let cmdline = kernel_cmdline(spec, machine.memory_plan());
        machine.load_kernel(&spec.kernel, &spec.initramfs, &cmdline)?;
        let report = machine.run(on_message)?;
        drop(machine);
        let done = report
            .messages
            .iter()
            .any(|m| matches!(m, Message::Done(_)));
        let timed_out = match report.stop {
            GuestStop::Watchdog { after } => Some(after.as_secs()),
            _ => None,
        };
        let mut status = report.stop.describe();
        if matches!(report.stop, GuestStop::Error { .. }) && !crate::host_has_hw_virt() {
            status.push_str(
                "\nhint: this CPU has no vmx/svm, so `/dev/kvm` is a software or paravirtual \
                 hypervisor that may not run an unmodified kernel; use `--backend qemu`",
            );
        }
        let exit = classify(
            done,
            &report.console,
            timed_out,
            report.stop == GuestStop::Interrupted,
            &status,
        );
        Ok(VmOutcome {
            exit,
            messages: report.messages,
            console: report.console,
            wire: report.wire,
            wall: started.elapsed(),
            backend: "kvm",
            accel: Accel::Kvm,
        })
    }
}

/// The guest kernel command line: console on COM1, reboot at once on a
/// panic (the reset ends the run), the wire in the ring region.
fn kernel_cmdline(spec: &VmSpec, plan: &MemoryPlan) -> String {
    let mut words = vec![
        "console=ttyS0".to_string(),
        "panic=-1".into(),
        "rdinit=/init".into(),
        format!(
            "{GUEST_WIRE_ARG}=mem:{:#x},{}",
            plan.ring_addr, plan.ring_len
        ),
    ];
    words.extend(spec.cmdline_extra.iter().cloned());
    words.join(" ")
}
