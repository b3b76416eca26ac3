//! SRAT (which CPUs and which memory belong to which node) and SLIT (the
//! distances between nodes: 10 local, 20 remote).

use super::madt::MAX_XAPIC_ID;
use super::sdt::Sdt;
use super::NodeMemory;
use crate::kvm::topology::ApicLayout;

/// SLIT distance of a node to itself.
pub const LOCAL_DISTANCE: u8 = 10;
/// SLIT distance between two different nodes.
pub const REMOTE_DISTANCE: u8 = 20;
const ENABLED: u32 = 1;

/// The SRAT of `layout` with memory ranges `memory`.
pub(crate) fn srat(layout: &ApicLayout, memory: &[NodeMemory]) -> Vec<u8> {
    let mut t = Sdt::new(b"SRAT", 3);
    t.u32(1).u64(0); // reserved (1 for compatibility), reserved
    let topo = layout.topology();
    for cpu in 0..layout.cpus() {
        let node = topo.place(cpu).node;
        let apic = layout.apic_id(cpu);
        if apic <= MAX_XAPIC_ID {
            // Processor Local APIC affinity: type 0, length 16.
            t.u8(0)
                .u8(16)
                .u8(node as u8)
                .u8(apic as u8)
                .u32(ENABLED)
                .u8(0);
            t.bytes(&node.to_le_bytes()[1..]).u32(0); // domain [31:8], clock domain
        } else {
            // Processor Local x2APIC affinity: type 2, length 24.
            t.u8(2)
                .u8(24)
                .u16(0)
                .u32(node)
                .u32(apic)
                .u32(ENABLED)
                .u32(0)
                .u32(0);
        }
    }
    for m in memory {
        // Memory affinity: type 1, length 40.
        t.u8(1).u8(40).u32(m.node).u16(0);
        t.u64(m.base).u64(m.len).u32(0).u32(ENABLED).u64(0);
    }
    t.finish()
}

/// The SLIT of `nodes` nodes.
pub(crate) fn slit(nodes: u32) -> Vec<u8> {
    let mut t = Sdt::new(b"SLIT", 1);
    t.u64(u64::from(nodes));
    for i in 0..nodes {
        for j in 0..nodes {
            t.u8(if i == j {
                LOCAL_DISTANCE
            } else {
                REMOTE_DISTANCE
            });
        }
    }
    t.finish()
}
