//! The CPU state a vCPU starts in: real mode at a program, or 64-bit long
//! mode with a flat GDT and identity-mapped 2 MiB pages over the first 4 GiB
//! (what the Linux 64-bit boot protocol asks for).

use kvm_bindings::{kvm_fpu, kvm_regs, kvm_segment, kvm_sregs, kvm_xcr, kvm_xcrs};
use kvm_ioctls::VcpuFd;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::layout::{GDT_ADDR, IDT_ADDR, PML4_ADDR};
use super::VmError;

const CR0_PE: u64 = 1;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;
/// RFLAGS bit 1 is always set.
pub(crate) const RFLAGS_FIXED: u64 = 2;
/// RFLAGS.IF.
pub(crate) const RFLAGS_IF: u64 = 1 << 9;

/// A GDT descriptor from access flags, base and limit.
const fn gdt_entry(flags: u16, base: u32, limit: u32) -> u64 {
    ((base as u64 & 0xff00_0000) << 32)
        | ((flags as u64 & 0xf0ff) << 40)
        | ((limit as u64 & 0x000f_0000) << 32)
        | ((base as u64 & 0x00ff_ffff) << 16)
        | (limit as u64 & 0xffff)
}

/// Null, unused, 64-bit code (0x10), data (0x18), TSS (0x20): the boot
/// protocol asks for code at `__BOOT_CS` = 0x10 and data at `__BOOT_DS` = 0x18.
const GDT: [u64; 5] = [
    0,
    0,
    gdt_entry(0xa09b, 0, 0xfffff),
    gdt_entry(0xc093, 0, 0xfffff),
    gdt_entry(0x808b, 0, 0xfffff),
];

const CODE: usize = 2;
const DATA: usize = 3;
const TSS: usize = 4;

/// The KVM segment register for GDT entry `index`.
fn segment(index: usize) -> kvm_segment {
    let e = GDT[index];
    let g = (e >> 55 & 1) as u8;
    let mut limit = ((e & 0xffff) | (e >> 32 & 0xf_0000)) as u32;
    if g == 1 {
        limit = limit << 12 | 0xfff;
    }
    let present = (e >> 47 & 1) as u8;
    kvm_segment {
        base: (e >> 16 & 0xff_ffff) | (e >> 32 & 0xff00_0000),
        limit,
        selector: (index * 8) as u16,
        type_: (e >> 40 & 0xf) as u8,
        present,
        dpl: (e >> 45 & 3) as u8,
        db: (e >> 54 & 1) as u8,
        s: (e >> 44 & 1) as u8,
        l: (e >> 53 & 1) as u8,
        g,
        avl: (e >> 52 & 1) as u8,
        unusable: u8::from(present == 0),
        padding: 0,
    }
}

/// Writes the GDT, an empty IDT and the identity page tables.
pub(crate) fn write_boot_tables(mem: &GuestMemoryMmap) -> Result<(), VmError> {
    let err = |e: vm_memory::GuestMemoryError| VmError::Io {
        what: "write the boot page tables".into(),
        source: std::io::Error::other(e.to_string()),
    };
    for (i, d) in GDT.iter().enumerate() {
        mem.write_obj(*d, GuestAddress(GDT_ADDR + 8 * i as u64))
            .map_err(err)?;
    }
    mem.write_obj(0u64, GuestAddress(IDT_ADDR)).map_err(err)?;
    let pdpt = PML4_ADDR + 0x1000;
    mem.write_obj(pdpt | 3, GuestAddress(PML4_ADDR))
        .map_err(err)?;
    for dir in 0..4u64 {
        let pd = pdpt + 0x1000 * (dir + 1);
        mem.write_obj(pd | 3, GuestAddress(pdpt + 8 * dir))
            .map_err(err)?;
        let entries: Vec<u8> = (0..512u64)
            .flat_map(|i| ((dir * 512 + i) << 21 | 0x83).to_le_bytes())
            .collect();
        mem.write_slice(&entries, GuestAddress(pd)).map_err(err)?;
    }
    Ok(())
}

fn kvm(what: &str) -> impl FnOnce(kvm_ioctls::Error) -> VmError + '_ {
    move |e| VmError::Io {
        what: what.to_string(),
        source: std::io::Error::from_raw_os_error(e.errno()),
    }
}

/// Puts `vcpu` in 64-bit mode at `rip` with `rdi` = `arg`, interrupts off.
pub(crate) fn set_long_mode(vcpu: &VcpuFd, rip: u64, arg: u64) -> Result<(), VmError> {
    set_long_mode_sregs(vcpu)?;
    set_common(vcpu, rip, arg, 0)
}

/// The boot CPU's state at a Linux kernel's 64-bit entry: long mode with
/// the boot GDT, identity paging, interrupts off, `rsi` = the zero page.
pub(crate) fn set_linux_entry(vcpu: &VcpuFd, entry: u64, zero_page: u64) -> Result<(), VmError> {
    set_long_mode_sregs(vcpu)?;
    set_common(vcpu, entry, 0, zero_page)
}

/// LVT0 and LVT1 of the local APIC in `kvm_lapic_state.regs`.
const APIC_LVT0: usize = 0x350;
const APIC_LVT1: usize = 0x360;
const APIC_MODE_MASK: u32 = 0x700;
const APIC_MODE_EXTINT: u32 = 0x700;
const APIC_MODE_NMI: u32 = 0x400;

/// Wires LINT0 to the PIC (ExtINT) and LINT1 to NMI, as firmware does
/// before Linux starts: its PIC-based timer checks expect it.
pub(crate) fn set_lapic_lints(vcpu: &VcpuFd) -> Result<(), VmError> {
    let mut lapic = vcpu.get_lapic().map_err(kvm("get the vCPU's local APIC"))?;
    let mut patch = |at: usize, mode: u32| {
        let mut b = [0u8; 4];
        for (i, v) in b.iter_mut().enumerate() {
            *v = lapic.regs[at + i] as u8;
        }
        let v = (u32::from_le_bytes(b) & !APIC_MODE_MASK) | mode;
        for (i, x) in v.to_le_bytes().into_iter().enumerate() {
            lapic.regs[at + i] = x as libc::c_char;
        }
    };
    patch(APIC_LVT0, APIC_MODE_EXTINT);
    patch(APIC_LVT1, APIC_MODE_NMI);
    vcpu.set_lapic(&lapic)
        .map_err(kvm("set the vCPU's local APIC"))
}

/// XCR0's x87, SSE and AVX state bits.
const XCR0_X87: u64 = 1;
const XCR0_SSE: u64 = 2;
const XCR0_AVX: u64 = 4;

/// Starts XCR0 with the x87/SSE/AVX states leaf 0xD offers (`offered`),
/// which is what the kernel's own XSETBV sets moments later. On a real CPU
/// KVM intercepts that XSETBV and this changes nothing; under QEMU TCG's
/// nested SVM the XSETBV is not intercepted, so L1's KVM would keep XCR0 = x87
/// for the guest, report a too-small XSAVE size in CPUID 0xD and restore the
/// stale XCR0 on every entry (the guest kernel then warns "XSAVE consistency
/// problem"). Larger states (AVX-512, AMX) are left to the guest.
pub(crate) fn set_xcr0(vcpu: &VcpuFd, offered: u64) -> Result<(), VmError> {
    let mut xcr0 = XCR0_X87 | offered & (XCR0_SSE | XCR0_AVX);
    if xcr0 & XCR0_SSE == 0 {
        xcr0 &= !XCR0_AVX;
    }
    let mut xcrs = kvm_xcrs {
        nr_xcrs: 1,
        ..Default::default()
    };
    xcrs.xcrs[0] = kvm_xcr {
        xcr: 0,
        reserved: 0,
        value: xcr0,
    };
    vcpu.set_xcrs(&xcrs).map_err(kvm("set the vCPU's XCR0"))
}

fn set_long_mode_sregs(vcpu: &VcpuFd) -> Result<(), VmError> {
    let mut s: kvm_sregs = vcpu.get_sregs().map_err(kvm("get the vCPU's sregs"))?;
    s.gdt.base = GDT_ADDR;
    s.gdt.limit = (GDT.len() * 8 - 1) as u16;
    s.idt.base = IDT_ADDR;
    s.idt.limit = 7;
    s.cs = segment(CODE);
    let data = segment(DATA);
    (s.ds, s.es, s.fs, s.gs, s.ss) = (data, data, data, data, data);
    s.tr = segment(TSS);
    s.cr3 = PML4_ADDR;
    s.cr4 |= CR4_PAE;
    s.cr0 |= CR0_PE | CR0_PG;
    s.efer |= EFER_LME | EFER_LMA;
    vcpu.set_sregs(&s).map_err(kvm("set the vCPU's sregs"))
}

/// Puts `vcpu` in real mode at linear address `entry` (CS = `entry >> 4`,
/// IP = 0; `entry` must be 16-byte aligned below 1 MiB), data segments at 0.
pub(crate) fn set_real_mode(vcpu: &VcpuFd, entry: u64, arg: u64) -> Result<(), VmError> {
    let mut s = vcpu.get_sregs().map_err(kvm("get the vCPU's sregs"))?;
    s.cs.base = entry;
    s.cs.selector = (entry >> 4) as u16;
    for seg in [&mut s.ds, &mut s.es, &mut s.ss] {
        seg.base = 0;
        seg.selector = 0;
    }
    vcpu.set_sregs(&s).map_err(kvm("set the vCPU's sregs"))?;
    set_common(vcpu, 0, arg, 0)
}

fn set_common(vcpu: &VcpuFd, rip: u64, rdi: u64, rsi: u64) -> Result<(), VmError> {
    let fpu = kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    };
    vcpu.set_fpu(&fpu).map_err(kvm("set the vCPU's FPU"))?;
    let regs = kvm_regs {
        rip,
        rdi,
        rsi,
        rflags: RFLAGS_FIXED,
        rsp: 0,
        ..Default::default()
    };
    vcpu.set_regs(&regs)
        .map_err(kvm("set the vCPU's registers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_segment_is_64_bit_ring_0() {
        let cs = segment(CODE);
        assert_eq!((cs.l, cs.db, cs.dpl, cs.present, cs.s), (1, 0, 0, 1, 1));
        assert_eq!(cs.type_, 0xb);
        assert_eq!(cs.limit, 0xffff_ffff);
        assert_eq!(cs.selector, 0x10);
        assert_eq!(segment(DATA).selector, 0x18);
        let tss = segment(TSS);
        assert_eq!((tss.type_, tss.s, tss.selector), (0xb, 0, 0x20));
    }
}
