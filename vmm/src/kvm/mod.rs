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
mod cpuid;
mod devices;
mod layout;
mod machine;
mod regs;
mod stop;
mod topology;
mod vcpu;

pub use acpi::{
    parse_acpi, AcpiError, AcpiTables, Gas, MadtCpu, NodeMemory, ParsedAcpi, SratCpu, ACPI_PM_PORT,
    ACPI_RESET_VALUE, IOAPIC_ADDR, LAPIC_ADDR, LOCAL_DISTANCE, REMOTE_DISTANCE, S5_SLP_TYP, SLP_EN,
};
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

use crate::{Accel, Backend, VmError, VmOutcome, VmSpec};

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
        let cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(|e| unavailable(format!("failed to read the supported CPUID: {e}")))?
            .as_slice()
            .to_vec();
        vendor_of(&cpuid).map_err(|e| unavailable(e.to_string()))?;
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

    /// Not yet: loading a kernel (bzImage/ELF, boot_params, E820, initramfs)
    /// is the next step; [`Machine`] runs guest programs today.
    fn run(
        &self,
        spec: &VmSpec,
        _on_message: &mut dyn FnMut(&Message),
    ) -> Result<VmOutcome, VmError> {
        if !spec.kernel.is_file() {
            return Err(VmError::KernelMissing(spec.kernel.clone()));
        }
        Err(VmError::Unavailable {
            backend: "kvm",
            reason: "booting a kernel is not implemented yet (the VMM runs guest programs only)\nhint: use `--backend qemu`".into(),
        })
    }
}
