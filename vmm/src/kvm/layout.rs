//! Where things live in guest physical memory, and how RAM, the wire ring
//! and the NUMA nodes divide it.

use ktstr_model::Topology;

use super::acpi::NodeMemory;
use crate::VmError;

/// The boot GDT (null, null, 64-bit code at 0x10, data at 0x18, TSS at
/// 0x20: the selectors Linux's boot protocol names `__BOOT_CS`/`__BOOT_DS`).
pub const GDT_ADDR: u64 = 0x500;
/// An empty IDT: any exception in a guest program escalates to a triple fault.
pub const IDT_ADDR: u64 = 0x540;
/// Linux's `boot_params` (the zero page).
pub const ZERO_PAGE_ADDR: u64 = 0x7000;
/// The identity-mapping page tables: PML4, PDPT, then four page directories
/// of 2 MiB pages covering the first 4 GiB.
pub const PML4_ADDR: u64 = 0x9000;
/// Where a guest program's first byte is loaded; every vCPU starts there.
pub const PROGRAM_ADDR: u64 = 0x1_0000;
/// The most bytes a guest program may have.
pub const PROGRAM_MAX: usize = 0x1_0000;
/// The kernel command line.
pub const CMDLINE_ADDR: u64 = 0x2_0000;
/// The ACPI tables, RSDP first (inside the BIOS area a legacy guest scans).
pub const ACPI_ADDR: u64 = 0xe_0000;
/// End of conventional memory; the EBDA/BIOS area above is reserved.
pub const LOW_RAM_END: u64 = 0x9_fc00;
/// Start of RAM above the BIOS area (where Linux's protected-mode kernel goes).
pub const HIGH_RAM_START: u64 = 0x10_0000;
/// Start of the 32-bit MMIO hole (IOAPIC, local APIC); RAM resumes at 4 GiB.
pub const MMIO_HOLE_START: u64 = 0xc000_0000;
const FOUR_GIB: u64 = 1 << 32;
const PAGE: u64 = 4096;
/// Node boundaries are aligned to this.
const NODE_ALIGN: u64 = 2 << 20;
/// Least RAM (besides the ring) a guest gets.
const MIN_RAM: u64 = 16 << 20;

/// An E820 entry type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum E820Kind {
    /// Usable RAM.
    Ram = 1,
    /// Reserved.
    Reserved = 2,
}

/// One entry of the guest's E820 memory map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    /// First byte.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// What it is.
    pub kind: E820Kind,
}

/// The guest's physical memory, decided from a size, a ring size and a topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Backed ranges `(start, len)`, each one KVM memory slot; the ring is
    /// the top of the last one.
    pub slots: Vec<(u64, u64)>,
    /// Guest address of the wire ring.
    pub ring_addr: u64,
    /// Its length in bytes (the requested size rounded up to a page).
    pub ring_len: u64,
    /// The map the guest is given: RAM without the ring, which is absent.
    pub e820: Vec<E820Entry>,
    /// RAM by NUMA node, for the SRAT.
    pub nodes: Vec<NodeMemory>,
}

impl MemoryPlan {
    /// Lays out `memory_mib` MiB with a ring of `ring_bytes` at the top,
    /// split evenly over `topology`'s nodes.
    ///
    /// # Errors
    /// [`VmError::Memory`] when the ring leaves too little RAM or a node
    /// would get less than 2 MiB.
    pub fn new(memory_mib: u32, ring_bytes: usize, topology: &Topology) -> Result<Self, VmError> {
        let total = u64::from(memory_mib) << 20;
        let ring_len = (ring_bytes as u64).next_multiple_of(PAGE);
        let err = |reason: String| VmError::Memory {
            mib: memory_mib,
            reason,
        };
        if ring_len == 0 || total < ring_len + MIN_RAM {
            return Err(err(format!(
                "a {ring_bytes}-byte ring needs at least {} MiB",
                (ring_len + MIN_RAM) >> 20
            )));
        }
        let slots = if total <= MMIO_HOLE_START {
            vec![(0, total)]
        } else {
            vec![(0, MMIO_HOLE_START), (FOUR_GIB, total - MMIO_HOLE_START)]
        };
        let (last_start, last_len) = *slots.last().expect("one slot at least");
        let ring_addr = last_start + last_len - ring_len;
        // Address spans below the ring, and the usable RAM in them (the
        // BIOS area between conventional memory and 1 MiB is not).
        let spans: Vec<(u64, u64)> = slots
            .iter()
            .map(|&(s, l)| (s, l.min(ring_addr - s)))
            .collect();
        let mut ram: Vec<(u64, u64)> = vec![(0, LOW_RAM_END)];
        for &(s, l) in &spans {
            let start = s.max(HIGH_RAM_START);
            if s + l > start {
                ram.push((start, s + l - start));
            }
        }
        let mut e820: Vec<E820Entry> = ram
            .iter()
            .map(|&(addr, size)| E820Entry {
                addr,
                size,
                kind: E820Kind::Ram,
            })
            .collect();
        e820.insert(
            1,
            E820Entry {
                addr: LOW_RAM_END,
                size: HIGH_RAM_START - LOW_RAM_END,
                kind: E820Kind::Reserved,
            },
        );
        let nodes = split_nodes(&ram, &spans, topology.numa_nodes).ok_or_else(|| {
            err(format!(
                "{} NUMA nodes need at least 2 MiB of RAM each",
                topology.numa_nodes
            ))
        })?;
        Ok(MemoryPlan {
            slots,
            ring_addr,
            ring_len,
            e820,
            nodes,
        })
    }

    /// Usable RAM in bytes.
    pub fn ram_bytes(&self) -> u64 {
        self.e820
            .iter()
            .filter(|e| e.kind == E820Kind::Ram)
            .map(|e| e.size)
            .sum()
    }
}

/// Splits `spans` into `nodes` parts holding equal shares of `ram`, cut at
/// 2 MiB boundaries; node 0 starts at 0 and the last ends below the ring.
fn split_nodes(ram: &[(u64, u64)], spans: &[(u64, u64)], nodes: u32) -> Option<Vec<NodeMemory>> {
    let total: u64 = ram.iter().map(|r| r.1).sum();
    let share = (total / u64::from(nodes)) / NODE_ALIGN * NODE_ALIGN;
    if share == 0 {
        return None;
    }
    let end = spans.last().map(|&(s, l)| s + l)?;
    // The address below which `bytes` of RAM lie.
    let addr_after = |mut bytes: u64| -> u64 {
        for &(s, l) in ram {
            if bytes <= l {
                return s + bytes;
            }
            bytes -= l;
        }
        end
    };
    let cuts: Vec<u64> = (0..=nodes)
        .map(|i| match i {
            0 => 0,
            i if i == nodes => end,
            i => addr_after(share * u64::from(i)).next_multiple_of(NODE_ALIGN),
        })
        .collect();
    let mut out = Vec::new();
    for n in 0..nodes as usize {
        for &(s, l) in spans {
            let (a, b) = (s.max(cuts[n]), (s + l).min(cuts[n + 1]));
            if b > a {
                out.push(NodeMemory {
                    node: n as u32,
                    base: a,
                    len: b - a,
                });
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(mib: u32, ring: usize, spec: &str) -> MemoryPlan {
        MemoryPlan::new(mib, ring, &spec.parse().unwrap()).unwrap()
    }

    #[test]
    fn ring_is_at_the_top_and_out_of_the_map() {
        let p = plan(256, 4 << 20, "1,1,1,1");
        assert_eq!(p.slots, [(0, 256 << 20)]);
        assert_eq!(p.ring_addr, (256 - 4) << 20);
        let top = p.e820.iter().map(|e| e.addr + e.size).max().unwrap();
        assert_eq!(top, p.ring_addr);
        assert_eq!(
            p.e820[0],
            E820Entry {
                addr: 0,
                size: LOW_RAM_END,
                kind: E820Kind::Ram
            }
        );
        assert_eq!(p.e820[1].kind, E820Kind::Reserved);
        assert_eq!(p.e820[2].addr, HIGH_RAM_START);
    }

    #[test]
    fn nodes_split_ram_evenly_and_cover_it() {
        let p = plan(512, 4 << 20, "2,4,2,1");
        assert_eq!(p.nodes.len(), 2);
        assert_eq!(p.nodes[0].base, 0);
        assert_eq!(p.nodes[0].base + p.nodes[0].len, p.nodes[1].base);
        assert_eq!(p.nodes[1].base + p.nodes[1].len, p.ring_addr);
        assert_eq!(p.nodes[0].len, 254 << 20);
    }

    #[test]
    fn memory_above_the_hole_starts_at_4gib() {
        let p = plan(4096, 4 << 20, "2,2,1,1");
        assert_eq!(p.slots, [(0, MMIO_HOLE_START), (FOUR_GIB, 1 << 30)]);
        assert_eq!(p.ring_addr, FOUR_GIB + (1 << 30) - (4 << 20));
        assert!(p
            .e820
            .iter()
            .any(|e| e.addr == FOUR_GIB && e.kind == E820Kind::Ram));
        let covered: u64 = p.nodes.iter().map(|n| n.len).sum();
        assert!(covered >= p.ram_bytes());
        assert!(p.nodes.iter().all(|n| n.base + n.len <= p.ring_addr));
    }

    #[test]
    fn too_small_is_refused() {
        let t = "1,1,1,1".parse().unwrap();
        assert!(MemoryPlan::new(8, 4 << 20, &t).is_err());
        assert!(MemoryPlan::new(64, 0, &t).is_err());
    }
}
