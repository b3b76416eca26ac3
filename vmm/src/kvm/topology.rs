//! APIC ID layout of a [`Topology`].
//!
//! An APIC ID is built from three fields, lowest first: the thread within its
//! core, the core within its LLC, and the LLC index. Each field is as wide as
//! its count needs rounded up to a power of two, as on real x86 parts, so a
//! topology with 3 cores per LLC leaves a hole in the ID space.
//!
//! One LLC is one package: CPUID's package level (leaf 0xB/0x1F "core" shift,
//! 0x80000008 on AMD) ends where the LLC does, and the cache leaves say the
//! L3 is shared by the whole package. Linux then derives the L3 sharing set,
//! SMT siblings and core ids from CPUID alone, with nothing vendor-specific
//! left to guess, and a guest sees the same packages as under the QEMU
//! backend (one socket per LLC). NUMA nodes group LLCs through ACPI SRAT.

use ktstr_model::{CpuPlace, Topology};

/// Bits needed to number `n` things: `ceil(log2(n))`, 0 for one.
pub(crate) fn bits_for(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

/// How a [`Topology`] maps to APIC IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApicLayout {
    topology: Topology,
    smt_bits: u32,
    core_bits: u32,
}

impl ApicLayout {
    /// The layout of `topology`.
    pub fn new(topology: &Topology) -> Self {
        ApicLayout {
            topology: *topology,
            smt_bits: bits_for(topology.threads_per_core),
            core_bits: bits_for(topology.cores_per_llc),
        }
    }

    /// The topology laid out.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// APIC ID bits of the thread within its core.
    pub fn smt_bits(&self) -> u32 {
        self.smt_bits
    }

    /// APIC ID bits of the core within its LLC.
    pub fn core_bits(&self) -> u32 {
        self.core_bits
    }

    /// Right shift from an APIC ID to its package (= LLC) index.
    pub fn package_shift(&self) -> u32 {
        self.smt_bits + self.core_bits
    }

    /// Number of CPUs (in the order of [`Topology::place`]).
    pub fn cpus(&self) -> u32 {
        self.topology.cpus()
    }

    /// The APIC ID of CPU `cpu` (numbered as by [`Topology::place`]).
    pub fn apic_id(&self, cpu: u32) -> u32 {
        let p = self.topology.place(cpu);
        p.llc << self.package_shift() | p.core << self.smt_bits | p.thread
    }

    /// Every CPU's APIC ID, by CPU number; strictly increasing.
    pub fn apic_ids(&self) -> Vec<u32> {
        (0..self.cpus()).map(|c| self.apic_id(c)).collect()
    }

    /// The largest APIC ID in use.
    pub fn max_apic_id(&self) -> u32 {
        self.apic_id(self.cpus() - 1)
    }

    /// Where the CPU with APIC ID `apic_id` sits, or `None` if no CPU has it.
    pub fn place_of(&self, apic_id: u32) -> Option<CpuPlace> {
        let t = &self.topology;
        let thread = apic_id & ((1 << self.smt_bits) - 1);
        let core = (apic_id >> self.smt_bits) & ((1 << self.core_bits) - 1);
        let llc = apic_id >> self.package_shift();
        (thread < t.threads_per_core && core < t.cores_per_llc && llc < t.llcs).then(|| CpuPlace {
            node: llc / t.llcs_per_node(),
            llc,
            core,
            thread,
        })
    }

    /// The CPU number with APIC ID `apic_id`, or `None` if no CPU has it.
    pub fn cpu_of(&self, apic_id: u32) -> Option<u32> {
        let p = self.place_of(apic_id)?;
        let t = &self.topology;
        Some((p.llc * t.cores_per_llc + p.core) * t.threads_per_core + p.thread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(spec: &str) -> ApicLayout {
        ApicLayout::new(&spec.parse().unwrap())
    }

    #[test]
    fn bits_round_up_to_a_power_of_two() {
        let got: Vec<u32> = [1, 2, 3, 4, 5, 8, 9, 65].map(bits_for).to_vec();
        assert_eq!(got, [0, 1, 2, 2, 3, 3, 4, 7]);
    }

    #[test]
    fn dense_topology_has_dense_ids() {
        let l = layout("1,2,2,2");
        assert_eq!((l.smt_bits(), l.core_bits(), l.package_shift()), (1, 1, 2));
        assert_eq!(l.apic_ids(), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn three_cores_leave_a_hole_per_llc() {
        let l = layout("1,3,3,1");
        assert_eq!(l.apic_ids(), [0, 1, 2, 4, 5, 6, 8, 9, 10]);
        assert_eq!(l.place_of(3), None);
        assert_eq!(l.cpu_of(9), Some(7));
        let p = l.place_of(6).unwrap();
        assert_eq!((p.llc, p.core, p.thread), (1, 2, 0));
    }

    #[test]
    fn ids_round_trip_through_place() {
        for spec in ["1,2,2,2", "2,4,2,1", "1,3,3,1", "2,6,3,3", "4,8,5,2"] {
            let l = layout(spec);
            let t = *l.topology();
            for cpu in 0..t.cpus() {
                let id = l.apic_id(cpu);
                assert_eq!(l.place_of(id), Some(t.place(cpu)), "{spec} cpu {cpu}");
                assert_eq!(l.cpu_of(id), Some(cpu), "{spec} cpu {cpu}");
            }
        }
    }

    #[test]
    fn wide_fields_exceed_the_xapic_range() {
        // 5 cores × 5 threads: 3 + 3 bits per LLC, 4 LLCs → IDs up to 3<<6 | 4<<3 | 4.
        let l = layout("1,4,5,5");
        assert_eq!(l.max_apic_id(), 3 << 6 | 4 << 3 | 4);
        let l = layout("1,5,5,5");
        assert!(l.max_apic_id() > 254);
    }
}
