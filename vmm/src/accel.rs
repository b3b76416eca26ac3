//! Whether the host can run guests with hardware virtualization.

pub use ktstr_model::Accel;

/// True when the CPU advertises `vmx` or `svm` and `/dev/kvm` can be opened.
///
/// `/dev/kvm` alone is not enough: some nested hypervisors (PVM) expose it without
/// being able to run an unmodified Linux guest, and they do not set these flags.
pub fn host_has_hw_virt() -> bool {
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let hw = flags
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    hw && std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// The hypervisor signature of CPUID leaf `0x4000_0000` (`"KVMKVMKVM"`,
/// `"TCGTCGTCGTCG"`, ...) when the host itself runs in a VM; `None` on bare
/// metal (the CPUID hypervisor bit is clear).
pub fn hypervisor_signature() -> Option<String> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::__cpuid;
        // SAFETY: CPUID exists on every x86_64 CPU and has no side effects.
        #[allow(unused_unsafe)]
        let leaf1 = unsafe { __cpuid(1) };
        if leaf1.ecx & (1 << 31) == 0 {
            return None;
        }
        // SAFETY: as above; leaf 0x4000_0000 is reserved for hypervisors.
        #[allow(unused_unsafe)]
        let hv = unsafe { __cpuid(0x4000_0000) };
        let bytes: Vec<u8> = [hv.ebx, hv.ecx, hv.edx]
            .iter()
            .flat_map(|r| r.to_le_bytes())
            .take_while(|b| *b != 0)
            .collect();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// The speed class a run's vCPUs had, for choosing thresholds: [`Accel::Tcg`]
/// for emulation, and also for KVM on a host that is itself emulated (KVM
/// inside a TCG guest, as in the nested test), whose guests run no faster.
pub fn speed_class(accel: Accel) -> Accel {
    match accel {
        Accel::Kvm if hypervisor_signature().as_deref() == Some(TCG_SIGNATURE) => Accel::Tcg,
        other => other,
    }
}

/// QEMU's TCG hypervisor signature in CPUID leaf `0x4000_0000`.
pub const TCG_SIGNATURE: &str = "TCGTCGTCGTCG";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulation_stays_emulation_and_kvm_follows_the_host() {
        assert_eq!(speed_class(Accel::Tcg), Accel::Tcg);
        let expected = match hypervisor_signature().as_deref() {
            Some(TCG_SIGNATURE) => Accel::Tcg,
            _ => Accel::Kvm,
        };
        assert_eq!(speed_class(Accel::Kvm), expected);
    }
}
