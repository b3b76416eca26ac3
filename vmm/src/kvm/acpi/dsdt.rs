//! DSDT: the one AML object the guest needs, `_S5_`, so Linux can power off.
//!
//! Devices are found without ACPI: the 16550s at their legacy ports, the
//! IOAPIC and local APICs from the MADT.

use super::fadt::S5_SLP_TYP;
use super::sdt::Sdt;

/// AML for `Name (_S5_, Package (4) { S5_SLP_TYP, 0, 0, 0 })`.
pub(crate) fn s5_aml() -> Vec<u8> {
    let elements = [0x0a, S5_SLP_TYP, 0x00, 0x00, 0x00]; // BytePrefix 5, Zero ×3
    let mut aml = vec![0x08]; // NameOp
    aml.extend_from_slice(b"_S5_");
    aml.push(0x12); // PackageOp
    aml.push((1 + 1 + elements.len()) as u8); // PkgLength (one byte, counts itself)
    aml.push(4); // NumElements
    aml.extend_from_slice(&elements);
    aml
}

/// The DSDT.
pub(crate) fn dsdt() -> Vec<u8> {
    let mut t = Sdt::new(b"DSDT", 2);
    t.bytes(&s5_aml());
    t.finish()
}
