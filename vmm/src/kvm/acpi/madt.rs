//! MADT: one local APIC entry per CPU in CPU order (Linux numbers CPUs in
//! this order), x2APIC entries for IDs the 8-bit entry cannot hold, and the
//! IOAPIC of KVM's in-kernel irqchip.

use super::sdt::Sdt;
use crate::kvm::topology::ApicLayout;

/// Physical address of the local APICs.
pub const LAPIC_ADDR: u32 = 0xfee0_0000;
/// Physical address of the IOAPIC.
pub const IOAPIC_ADDR: u32 = 0xfec0_0000;
/// APIC ID of the IOAPIC (above every CPU's in an 8-bit space is not
/// guaranteed, so the usual choice: its own namespace, ID 0 is fine there).
const IOAPIC_ID: u8 = 0;
/// MADT flag PCAT_COMPAT: dual 8259s are present (KVM's in-kernel PIC).
const PCAT_COMPAT: u32 = 1;
/// Local APIC entry flag: enabled.
const ENABLED: u32 = 1;
/// The largest ID of an 8-bit local APIC entry (0xFF is the broadcast ID).
pub(crate) const MAX_XAPIC_ID: u32 = 254;

/// The MADT of `layout`.
pub(crate) fn madt(layout: &ApicLayout) -> Vec<u8> {
    let mut t = Sdt::new(b"APIC", 5);
    t.u32(LAPIC_ADDR).u32(PCAT_COMPAT);
    for (cpu, apic) in layout.apic_ids().into_iter().enumerate() {
        if apic <= MAX_XAPIC_ID {
            // Processor Local APIC: type 0, length 8, UID, APIC ID, flags.
            t.u8(0).u8(8).u8(cpu as u8).u8(apic as u8).u32(ENABLED);
        } else {
            // Processor Local x2APIC: type 9, length 16, reserved, ID, flags, UID.
            t.u8(9).u8(16).u16(0).u32(apic).u32(ENABLED).u32(cpu as u32);
        }
    }
    // I/O APIC: type 1, length 12, ID, reserved, address, GSI base.
    t.u8(1).u8(12).u8(IOAPIC_ID).u8(0).u32(IOAPIC_ADDR).u32(0);
    t.finish()
}
