//! ACPI tables that describe the guest: RSDP, XSDT, FADT, DSDT, MADT, SRAT
//! and SLIT, laid out in one blob for a fixed guest address, and a parser
//! that reads them back.

mod dsdt;
mod fadt;
mod madt;
mod numa;
mod parse;
mod sdt;

pub use fadt::{ACPI_PM_PORT, ACPI_RESET_VALUE, S5_SLP_TYP, SLP_EN};
pub use madt::{IOAPIC_ADDR, LAPIC_ADDR};
pub use numa::{LOCAL_DISTANCE, REMOTE_DISTANCE};
pub use parse::{parse_acpi, AcpiError, MadtCpu, ParsedAcpi, SratCpu};
pub use sdt::Gas;

use super::topology::ApicLayout;

/// A range of guest physical memory that belongs to one NUMA node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeMemory {
    /// Node (proximity domain).
    pub node: u32,
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
}

/// The tables of one guest, laid out for guest address `base`.
#[derive(Debug, Clone)]
pub struct AcpiTables {
    base: u64,
    bytes: Vec<u8>,
    tables: Vec<([u8; 4], usize, usize)>,
}

/// Length of an ACPI 2.0+ RSDP.
const RSDP_LEN: usize = 36;

impl AcpiTables {
    /// Builds every table for `layout` and `memory`, the RSDP at `base`
    /// (16-byte aligned; in `0xE0000..0x100000` a legacy guest finds it by
    /// scanning) and the other tables after it.
    pub fn build(layout: &ApicLayout, memory: &[NodeMemory], base: u64) -> Self {
        assert_eq!(base % 16, 0, "RSDP must be 16-byte aligned");
        let mut out = AcpiTables {
            base,
            bytes: vec![0; RSDP_LEN],
            tables: Vec::new(),
        };
        let dsdt = out.push(*b"DSDT", dsdt::dsdt());
        let fadt = out.push(*b"FACP", fadt::fadt(dsdt));
        let madt = out.push(*b"APIC", madt::madt(layout));
        let srat = out.push(*b"SRAT", numa::srat(layout, memory));
        let slit = out.push(*b"SLIT", numa::slit(layout.topology().numa_nodes));
        let mut xsdt = sdt::Sdt::new(b"XSDT", 1);
        for addr in [fadt, madt, srat, slit] {
            xsdt.u64(addr);
        }
        let xsdt = out.push(*b"XSDT", xsdt.finish());
        out.bytes[..RSDP_LEN].copy_from_slice(&rsdp(xsdt));
        out.tables.insert(0, (*b"RSD ", 0, RSDP_LEN));
        out
    }

    /// Appends a table at the next 16-byte boundary; returns its address.
    fn push(&mut self, sig: [u8; 4], table: Vec<u8>) -> u64 {
        let at = self.bytes.len().next_multiple_of(16);
        self.bytes.resize(at, 0);
        self.bytes.extend_from_slice(&table);
        self.tables.push((sig, at, table.len()));
        self.base + at as u64
    }

    /// Guest address of the blob, which is the RSDP's.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Guest address of the RSDP (`boot_params.acpi_rsdp_addr`).
    pub fn rsdp_addr(&self) -> u64 {
        self.base
    }

    /// The whole blob, to be copied to guest memory at [`AcpiTables::base`].
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// One table's bytes by signature (`RSD ` for the RSDP, `FACP` for the FADT).
    pub fn table(&self, signature: &[u8; 4]) -> Option<&[u8]> {
        self.tables
            .iter()
            .find(|(s, ..)| s == signature)
            .map(|&(_, at, len)| &self.bytes[at..at + len])
    }

    /// Signatures of the tables, in blob order.
    pub fn signatures(&self) -> Vec<[u8; 4]> {
        self.tables.iter().map(|(s, ..)| *s).collect()
    }
}

/// The ACPI 2.0 RSDP pointing at the XSDT.
fn rsdp(xsdt: u64) -> [u8; RSDP_LEN] {
    let mut r = [0u8; RSDP_LEN];
    r[..8].copy_from_slice(b"RSD PTR ");
    r[9..15].copy_from_slice(sdt::OEM_ID);
    r[15] = 2; // revision: ACPI 2.0+
    r[20..24].copy_from_slice(&(RSDP_LEN as u32).to_le_bytes());
    r[24..32].copy_from_slice(&xsdt.to_le_bytes());
    r[8] = sdt::checksum(&r[..20]);
    r[32] = sdt::checksum(&r);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_model::Topology;

    fn memory(nodes: u32) -> Vec<NodeMemory> {
        (0..nodes)
            .map(|n| NodeMemory {
                node: n,
                base: u64::from(n) << 28,
                len: 1 << 28,
            })
            .collect()
    }

    fn round_trip(spec: &str) -> ParsedAcpi {
        let topo: Topology = spec.parse().unwrap();
        let layout = ApicLayout::new(&topo);
        let mem = memory(topo.numa_nodes);
        let t = AcpiTables::build(&layout, &mem, 0xe0000);
        let p = parse_acpi(t.bytes(), t.base(), t.rsdp_addr()).unwrap();
        assert_eq!(p.signatures, ["FACP", "APIC", "SRAT", "SLIT"]);
        assert_eq!(p.madt_cpus.len() as u32, topo.cpus());
        for (cpu, c) in p.madt_cpus.iter().enumerate() {
            assert_eq!(c.apic_id, layout.apic_id(cpu as u32));
            assert_eq!(c.uid, cpu as u32);
            assert_eq!(c.x2apic, c.apic_id > 254);
        }
        assert_eq!(p.ioapics, [(0, IOAPIC_ADDR, 0)]);
        for (cpu, c) in p.srat_cpus.iter().enumerate() {
            assert_eq!(c.apic_id, layout.apic_id(cpu as u32));
            assert_eq!(c.node, topo.place(cpu as u32).node);
        }
        assert_eq!(p.srat_memory, mem);
        for (i, row) in p.slit.iter().enumerate() {
            for (j, &d) in row.iter().enumerate() {
                assert_eq!(d, if i == j { 10 } else { 20 });
            }
        }
        assert!(p.hw_reduced);
        assert_eq!(p.sleep_control, Gas::io_byte(ACPI_PM_PORT));
        assert_eq!(p.reset, (Gas::io_byte(ACPI_PM_PORT), ACPI_RESET_VALUE));
        assert_eq!(p.s5_slp_typ, Some(S5_SLP_TYP));
        p
    }

    #[test]
    fn tables_round_trip() {
        for spec in ["1,2,2,2", "2,4,2,1", "1,3,3,1", "4,8,2,2"] {
            round_trip(spec);
        }
    }

    #[test]
    fn large_ids_get_x2apic_entries() {
        let p = round_trip("1,5,5,5");
        assert!(p.madt_cpus.iter().any(|c| c.x2apic));
        assert!(p.madt_cpus.iter().any(|c| !c.x2apic));
    }

    #[test]
    fn damage_is_caught() {
        let layout = ApicLayout::new(&"2,2,1,1".parse().unwrap());
        let t = AcpiTables::build(&layout, &memory(2), 0xe0000);
        let mut bytes = t.bytes().to_vec();
        let madt = t.table(b"APIC").unwrap().as_ptr() as usize - t.bytes().as_ptr() as usize;
        bytes[madt + 40] ^= 1;
        assert!(matches!(
            parse_acpi(&bytes, t.base(), t.rsdp_addr()),
            Err(AcpiError::Checksum { table, .. }) if table == "APIC"
        ));
        let mut bytes = t.bytes().to_vec();
        bytes[0] = b'X';
        assert!(matches!(
            parse_acpi(&bytes, t.base(), t.rsdp_addr()),
            Err(AcpiError::Rsdp(_))
        ));
    }
}
