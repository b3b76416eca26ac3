//! CPUID leaves that describe a topology to the guest.
//!
//! [`topology_cpuid`] takes the leaves KVM supports on this host and rewrites
//! the ones that carry topology for one vCPU: 0x1 (APIC ID, addressable
//! logical CPUs, HTT), 0x4 (Intel caches with their sharing), 0xB and 0x1F
//! (SMT and core levels, x2APIC ID), and on AMD 0x80000001 (TopologyExtensions),
//! 0x80000006 (L3 present), 0x80000008 (package size), 0x8000001D (caches with
//! their sharing) and 0x8000001E (extended APIC ID, core id, threads per core).
//! The vendor is the host's: KVM runs the guest on the host's CPU model.
//!
//! One package is one LLC ([`ApicLayout`]), so the L3 is shared by the whole
//! package and 0x1F needs no die level. [`decode_topology`] reads leaves back
//! the way Linux 6.12 does (`topology_ext.c`, `topology_amd.c`, `cacheinfo.c`);
//! the tests and the guest-side proof use it.

use kvm_bindings::{kvm_cpuid_entry2, KVM_CPUID_FLAG_SIGNIFCANT_INDEX};

use super::topology::{bits_for, ApicLayout};

/// The CPU vendor the guest sees, from leaf 0's vendor string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuVendor {
    /// `GenuineIntel`: caches in leaf 4.
    Intel,
    /// `AuthenticAMD` or `HygonGenuine`: caches in leaf 0x8000001D.
    Amd,
}

impl CpuVendor {
    /// The vendor named by leaf 0's EBX, EDX, ECX, or `None` for another vendor.
    pub fn from_leaf0(ebx: u32, ecx: u32, edx: u32) -> Option<Self> {
        let mut s = [0u8; 12];
        s[..4].copy_from_slice(&ebx.to_le_bytes());
        s[4..8].copy_from_slice(&edx.to_le_bytes());
        s[8..].copy_from_slice(&ecx.to_le_bytes());
        match &s {
            b"GenuineIntel" => Some(CpuVendor::Intel),
            b"AuthenticAMD" | b"HygonGenuine" => Some(CpuVendor::Amd),
            _ => None,
        }
    }

    /// Leaf 0's (EBX, ECX, EDX) for this vendor.
    pub fn leaf0_regs(self) -> (u32, u32, u32) {
        let s: &[u8; 12] = match self {
            CpuVendor::Intel => b"GenuineIntel",
            CpuVendor::Amd => b"AuthenticAMD",
        };
        let w = |i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
        (w(0), w(8), w(4))
    }
}

/// Why CPUID leaves could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuidError {
    /// The base leaves have no leaf 0 or name a vendor we do not describe.
    #[error("unsupported CPU vendor `{0}`: only GenuineIntel, AuthenticAMD and HygonGenuine are described")]
    Vendor(String),
    /// The CPU index is outside the topology.
    #[error("cpu {cpu} is outside a topology of {cpus} CPUs")]
    Cpu {
        /// The index asked for.
        cpu: u32,
        /// CPUs in the topology.
        cpus: u32,
    },
}

/// Cache type in leaf 4 / 0x8000001D EAX[4:0].
const DATA: u32 = 1;
const INSTRUCTION: u32 = 2;
const UNIFIED: u32 = 3;

/// One cache level as the guest is told about it.
struct Cache {
    level: u32,
    kind: u32,
    size: u32,
    ways: u32,
    /// Shared by the whole LLC (package) rather than by one core's threads.
    llc: bool,
}

const LINE: u32 = 64;

/// The caches every vCPU reports: per-core L1d, L1i and L2, one L3 per LLC.
const CACHES: [Cache; 4] = [
    Cache {
        level: 1,
        kind: DATA,
        size: 32 << 10,
        ways: 8,
        llc: false,
    },
    Cache {
        level: 1,
        kind: INSTRUCTION,
        size: 32 << 10,
        ways: 8,
        llc: false,
    },
    Cache {
        level: 2,
        kind: UNIFIED,
        size: 1 << 20,
        ways: 16,
        llc: false,
    },
    Cache {
        level: 3,
        kind: UNIFIED,
        size: 16 << 20,
        ways: 16,
        llc: true,
    },
];

fn entry(function: u32, index: u32, regs: [u32; 4]) -> kvm_cpuid_entry2 {
    kvm_cpuid_entry2 {
        function,
        index,
        flags: match function {
            0x4 | 0xb | 0x1f | 0x8000_001d => KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
            _ => 0,
        },
        eax: regs[0],
        ebx: regs[1],
        ecx: regs[2],
        edx: regs[3],
        ..Default::default()
    }
}

/// Leaf 4 / 0x8000001D registers of `c`; `intel` adds EAX[31:26] (cores per package).
fn cache_regs(c: &Cache, layout: &ApicLayout, intel: bool) -> [u32; 4] {
    let share_bits = if c.llc {
        layout.package_shift()
    } else {
        layout.smt_bits()
    };
    // Addressable IDs, not the count: Linux takes get_count_order() of this
    // field as the APIC ID shift of the sharing set.
    let mut eax = c.kind | c.level << 5 | 1 << 8 | ((1 << share_bits) - 1) << 14;
    if intel {
        eax |= ((1u32 << layout.core_bits()) - 1).min(0x3f) << 26;
    }
    let ebx = (LINE - 1) | (c.ways - 1) << 22;
    let sets = c.size / (LINE * c.ways);
    // EDX bit 1: inclusive of lower levels (Intel's L3 is, AMD's is not).
    let edx = u32::from(c.llc && intel) << 1;
    [eax, ebx, sets - 1, edx]
}

/// The topology levels of leaves 0xB and 0x1F for APIC ID `apic`.
fn ext_topology(layout: &ApicLayout, apic: u32) -> [[u32; 4]; 3] {
    let t = layout.topology();
    [
        [layout.smt_bits(), t.threads_per_core, 1 << 8, apic],
        [layout.package_shift(), t.cpus_per_llc(), 1 | 2 << 8, apic],
        [0, 0, 2, apic],
    ]
}

/// The vendor of a CPUID table, from its leaf 0.
///
/// # Errors
/// [`CpuidError::Vendor`] when leaf 0 is missing or names another vendor.
pub fn vendor_of(entries: &[kvm_cpuid_entry2]) -> Result<CpuVendor, CpuidError> {
    let l0 = entries
        .iter()
        .find(|e| e.function == 0)
        .ok_or_else(|| CpuidError::Vendor("(no leaf 0)".into()))?;
    CpuVendor::from_leaf0(l0.ebx, l0.ecx, l0.edx).ok_or_else(|| {
        let mut s = Vec::new();
        for r in [l0.ebx, l0.edx, l0.ecx] {
            s.extend_from_slice(&r.to_le_bytes());
        }
        CpuidError::Vendor(String::from_utf8_lossy(&s).into_owned())
    })
}

/// The CPUID table of CPU `cpu` (numbered as by `Topology::place`): `base`
/// (normally `KVM_GET_SUPPORTED_CPUID`) with its topology leaves replaced.
///
/// # Errors
/// [`CpuidError`] for an unknown vendor or a CPU outside the topology.
pub fn topology_cpuid(
    base: &[kvm_cpuid_entry2],
    layout: &ApicLayout,
    cpu: u32,
) -> Result<Vec<kvm_cpuid_entry2>, CpuidError> {
    let vendor = vendor_of(base)?;
    if cpu >= layout.cpus() {
        return Err(CpuidError::Cpu {
            cpu,
            cpus: layout.cpus(),
        });
    }
    let intel = vendor == CpuVendor::Intel;
    let t = layout.topology();
    let apic = layout.apic_id(cpu);
    let place = t.place(cpu);
    let owned = |f: u32| matches!(f, 0x4 | 0xb | 0x1f | 0x8000_001d | 0x8000_001e);
    let mut out: Vec<kvm_cpuid_entry2> = base
        .iter()
        .filter(|e| !owned(e.function))
        .copied()
        .collect();

    for e in out.iter_mut() {
        match e.function {
            // 0x1F must be reachable for Linux to prefer it.
            0x0 => e.eax = e.eax.max(0x1f),
            0x1 => {
                let addressable = (1u32 << layout.package_shift()).min(0xff);
                e.ebx = (e.ebx & 0xffff) | addressable << 16 | (apic & 0xff) << 24;
                e.edx = set_bit(e.edx, 28, t.cpus_per_llc() > 1);
                if !intel {
                    e.eax = fix_zen1_model(e.eax);
                }
            }
            0x8000_0000 if !intel => e.eax = e.eax.max(0x8000_001e),
            0x8000_0001 if !intel => {
                // Bit 22 TopologyExtensions: 0x8000001D/E are valid.
                // Bit 1 CmpLegacy: more than one logical CPU per package.
                e.ecx = set_bit(e.ecx | 1 << 22, 1, t.cpus_per_llc() > 1);
                e.eax = fix_zen1_model(e.eax);
            }
            0x8000_0006 if !intel => {
                // L3 size in 512 KiB units, associativity code 0x9 (16-way
                // under leaf 0x8000001D's rules), line size.
                let l3 = &CACHES[3];
                e.edx = (l3.size >> 19) << 18 | 0x9 << 12 | LINE;
            }
            0x8000_0008 => {
                e.ecx = if intel {
                    0
                } else {
                    (e.ecx & !0xf0ff)
                        | (t.cpus_per_llc() - 1).min(0xff)
                        | layout.package_shift() << 12
                };
            }
            _ => {}
        }
    }

    for leaf in [0xb, 0x1f] {
        for (i, regs) in ext_topology(layout, apic).into_iter().enumerate() {
            out.push(entry(leaf, i as u32, regs));
        }
    }
    let cache_leaf = if intel { 0x4 } else { 0x8000_001d };
    for (i, c) in CACHES.iter().enumerate() {
        out.push(entry(cache_leaf, i as u32, cache_regs(c, layout, intel)));
    }
    out.push(entry(cache_leaf, CACHES.len() as u32, [0; 4]));
    if !intel {
        let ebx = place.core | (t.threads_per_core - 1) << 8;
        // One node per package (= LLC); NUMA comes from SRAT.
        out.push(entry(0x8000_001e, 0, [apic, ebx, place.llc & 0xff, 0]));
    }
    out.sort_by_key(|e| (e.function, e.index));
    Ok(out)
}

fn set_bit(v: u32, bit: u32, on: bool) -> u32 {
    if on {
        v | 1 << bit
    } else {
        v & !(1 << bit)
    }
}

/// Linux hard-wires the LLC of AMD family 17h models 00h–1Fh (Zen 1) to
/// APIC ID bit 3 (a 4-core CCX) instead of reading 0x8000001D; report such a
/// host as model 31h (Zen 2), which the kernel decodes from the leaves.
fn fix_zen1_model(eax: u32) -> u32 {
    let family = (eax >> 8 & 0xf) + (eax >> 20 & 0xff);
    let model = (eax >> 4 & 0xf) | (eax >> 16 & 0xf) << 4;
    if family == 0x17 && model <= 0x1f {
        (eax & !0x000f_00f0) | 0x3 << 16 | 0x1 << 4
    } else {
        eax
    }
}

/// Topology of one CPU as Linux would read it from its CPUID leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedCpu {
    /// The vendor from leaf 0.
    pub vendor: Option<CpuVendor>,
    /// x2APIC ID (0xB EDX).
    pub apic_id: u32,
    /// Package ID: APIC ID above the core level's shift.
    pub package: u32,
    /// Core ID within the package (APIC ID bits between the SMT and core shifts).
    pub core: u32,
    /// Thread ID within the core.
    pub thread: u32,
    /// SMT level shift.
    pub smt_shift: u32,
    /// Core level (package) shift.
    pub package_shift: u32,
    /// Logical CPUs at the SMT level (threads per core).
    pub threads_per_core: u32,
    /// Logical CPUs at the core level (per package).
    pub cpus_per_package: u32,
    /// LLC ID: APIC ID shifted by the order of the last cache's sharing count.
    pub llc_id: Option<u32>,
    /// Cache level of the LLC.
    pub llc_level: Option<u32>,
    /// Leaf 0x1 EBX[31:24] (the xAPIC ID).
    pub leaf1_apic_id: u32,
    /// Every cross-check between leaves that failed, as text.
    pub inconsistencies: Vec<&'static str>,
}

/// Reads a CPU's topology from its CPUID, given as `cpuid(leaf, subleaf)`
/// returning EAX, EBX, ECX, EDX: leaf 0x1F if the maximum basic leaf reaches it,
/// else 0xB; the LLC from leaf 4 (Intel) or 0x8000001D (AMD); and for AMD the
/// legacy 0x80000008 and 0x8000001E leaves, which must agree.
pub fn decode_topology(cpuid: impl Fn(u32, u32) -> [u32; 4]) -> DecodedCpu {
    let l0 = cpuid(0, 0);
    let vendor = CpuVendor::from_leaf0(l0[1], l0[2], l0[3]);
    let mut bad = Vec::new();
    let leaf = if l0[0] >= 0x1f && cpuid(0x1f, 0)[1] != 0 {
        0x1f
    } else {
        0xb
    };
    let (mut smt_shift, mut pkg_shift, mut tpc, mut cpp, mut apic) = (0, 0, 1, 1, 0);
    for sub in 0..8 {
        let r = cpuid(leaf, sub);
        let kind = r[2] >> 8 & 0xff;
        if r[1] & 0xffff == 0 || kind == 0 {
            break;
        }
        if sub == 0 {
            apic = r[3];
        } else if r[3] != apic {
            bad.push("x2APIC ID differs between subleaves");
        }
        match kind {
            1 => {
                smt_shift = r[0] & 0x1f;
                tpc = r[1] & 0xffff;
            }
            _ => {
                pkg_shift = r[0] & 0x1f;
                cpp = r[1] & 0xffff;
            }
        }
    }
    pkg_shift = pkg_shift.max(smt_shift);
    let l1 = cpuid(1, 0);
    let leaf1_apic_id = l1[1] >> 24;
    if leaf1_apic_id != apic & 0xff {
        bad.push("leaf 0x1 APIC ID differs from the x2APIC ID");
    }
    if cpp > 1 && l1[3] & 1 << 28 == 0 {
        bad.push("HTT clear with more than one CPU per package");
    }
    if bits_for(l1[1] >> 16 & 0xff) < pkg_shift {
        bad.push("leaf 0x1 addressable CPUs narrower than the package");
    }
    let amd = vendor == Some(CpuVendor::Amd);
    let cache_leaf = if amd { 0x8000_001d } else { 0x4 };
    let (mut llc_id, mut llc_level) = (None, None);
    for sub in 0..16 {
        let r = cpuid(cache_leaf, sub);
        if r[0] & 0x1f == 0 {
            break;
        }
        let sharing = (r[0] >> 14 & 0xfff) + 1;
        llc_id = Some(apic >> bits_for(sharing));
        llc_level = Some(r[0] >> 5 & 7);
    }
    if amd {
        if cpuid(0x8000_0001, 0)[2] & 1 << 22 == 0 {
            bad.push("AMD TopologyExtensions clear");
        }
        if cpuid(0x8000_0006, 0)[3] == 0 {
            bad.push("AMD 0x80000006 reports no L3");
        }
        let c8 = cpuid(0x8000_0008, 0)[2];
        if c8 >> 12 & 0xf != pkg_shift || (c8 & 0xff) + 1 != cpp {
            bad.push("AMD 0x80000008 package size disagrees with 0xB");
        }
        let e = cpuid(0x8000_001e, 0);
        if e[0] != apic {
            bad.push("AMD 0x8000001E APIC ID differs");
        }
        if (e[1] >> 8 & 0xff) + 1 != tpc {
            bad.push("AMD 0x8000001E threads per core disagrees with 0xB");
        }
    }
    let core_mask = (1u32 << (pkg_shift - smt_shift)) - 1;
    DecodedCpu {
        vendor,
        apic_id: apic,
        package: apic >> pkg_shift,
        core: (apic >> smt_shift) & core_mask,
        thread: apic & ((1 << smt_shift) - 1),
        smt_shift,
        package_shift: pkg_shift,
        threads_per_core: tpc,
        cpus_per_package: cpp,
        llc_id,
        llc_level,
        leaf1_apic_id,
        inconsistencies: bad,
    }
}

/// [`decode_topology`] over a CPUID table: absent leaves read as zero, as
/// KVM answers leaves inside the range that it was not given.
pub fn decode_table(entries: &[kvm_cpuid_entry2]) -> DecodedCpu {
    decode_topology(|leaf, sub| {
        entries
            .iter()
            .find(|e| {
                e.function == leaf
                    && (e.index == sub || e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX == 0)
            })
            .map_or([0; 4], |e| [e.eax, e.ebx, e.ecx, e.edx])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_model::Topology;

    /// A host table like KVM's on an EPYC (family 19h) or a Xeon, with
    /// topology leaves that say one CPU: everything must come from us.
    fn host(vendor: CpuVendor) -> Vec<kvm_cpuid_entry2> {
        let (b, c, d) = vendor.leaf0_regs();
        let sig = if vendor == CpuVendor::Amd {
            0x00a1_0f11
        } else {
            0x0005_0654
        };
        vec![
            entry(0, 0, [0x10, b, c, d]),
            entry(1, 0, [sig, 0x0001_0800, 0x8120_2000, 0x078b_fbff]),
            entry(4, 0, [0; 4]),
            entry(0xb, 0, [0, 0, 0, 1]),
            entry(0x8000_0000, 0, [0x8000_0008, b, c, d]),
            entry(0x8000_0001, 0, [sig, 0, 0x0000_0001, 0x2fd3_fbff]),
            entry(0x8000_0006, 0, [0, 0, 0x0400_6140, 0]),
            entry(0x8000_0008, 0, [0x3030, 0, 0x7001, 0]),
        ]
    }

    fn check(spec: &str, vendor: CpuVendor) {
        let topo: Topology = spec.parse().unwrap();
        let layout = ApicLayout::new(&topo);
        let base = host(vendor);
        let decoded: Vec<DecodedCpu> = (0..topo.cpus())
            .map(|cpu| decode_table(&topology_cpuid(&base, &layout, cpu).unwrap()))
            .collect();
        for (cpu, d) in decoded.iter().enumerate() {
            let cpu = cpu as u32;
            let p = topo.place(cpu);
            let what = format!("{spec} {vendor:?} cpu {cpu}: {d:?}");
            assert!(d.inconsistencies.is_empty(), "{what}");
            assert_eq!(d.vendor, Some(vendor), "{what}");
            assert_eq!(d.apic_id, layout.apic_id(cpu), "{what}");
            assert_eq!(
                (d.package, d.core, d.thread),
                (p.llc, p.core, p.thread),
                "{what}"
            );
            assert_eq!(d.threads_per_core, topo.threads_per_core, "{what}");
            assert_eq!(d.cpus_per_package, topo.cpus_per_llc(), "{what}");
            assert_eq!(d.llc_level, Some(3), "{what}");
            // The L3 sharing set is exactly the requested LLC.
            let sharers: Vec<u32> = (0..topo.cpus())
                .filter(|&o| decoded[o as usize].llc_id == d.llc_id)
                .collect();
            assert_eq!(sharers, topo.llc_cpus(p.llc).collect::<Vec<_>>(), "{what}");
            // SMT siblings: same package and core.
            let siblings: Vec<u32> = (0..topo.cpus())
                .filter(|&o| {
                    let x = &decoded[o as usize];
                    (x.package, x.core) == (d.package, d.core)
                })
                .collect();
            let first = cpu - p.thread;
            assert_eq!(
                siblings,
                (first..first + topo.threads_per_core).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn intel_leaves_decode_to_the_topology() {
        for spec in ["1,2,2,2", "2,4,2,1", "1,3,3,1", "1,1,1,1", "2,6,5,3"] {
            check(spec, CpuVendor::Intel);
        }
    }

    #[test]
    fn amd_leaves_decode_to_the_topology() {
        for spec in ["1,2,2,2", "2,4,2,1", "1,3,3,1", "1,1,1,1", "2,6,5,3"] {
            check(spec, CpuVendor::Amd);
        }
    }

    #[test]
    fn leaf_0xb_alone_decodes_the_same() {
        // A kernel that stops at 0xB (maximum basic leaf below 0x1F) sees the same.
        let topo: Topology = "1,3,3,1".parse().unwrap();
        let layout = ApicLayout::new(&topo);
        for vendor in [CpuVendor::Intel, CpuVendor::Amd] {
            let mut t = topology_cpuid(&host(vendor), &layout, 7).unwrap();
            t.retain(|e| e.function != 0x1f);
            t.iter_mut()
                .filter(|e| e.function == 0)
                .for_each(|e| e.eax = 0x10);
            let d = decode_table(&t);
            assert_eq!((d.package, d.core, d.thread), (2, 1, 0), "{vendor:?}");
            assert_eq!(d.llc_id, Some(2));
        }
    }

    #[test]
    fn leaf_contents_are_exact() {
        let layout = ApicLayout::new(&"1,2,2,2".parse().unwrap());
        let t = topology_cpuid(&host(CpuVendor::Intel), &layout, 5).unwrap();
        let get = |f, i| t.iter().find(|e| e.function == f && e.index == i).unwrap();
        let l1 = get(1, 0);
        assert_eq!(l1.ebx >> 16, 0x05_04, "APIC ID 5, 4 addressable");
        assert_ne!(l1.edx & 1 << 28, 0);
        let b0 = get(0xb, 0);
        assert_eq!([b0.eax, b0.ebx, b0.ecx, b0.edx], [1, 2, 0x100, 5]);
        let b1 = get(0xb, 1);
        assert_eq!([b1.eax, b1.ebx, b1.ecx, b1.edx], [2, 4, 0x201, 5]);
        let l3 = get(4, 3);
        assert_eq!(l3.eax & 0x1f, UNIFIED);
        assert_eq!(l3.eax >> 5 & 7, 3);
        assert_eq!(l3.eax >> 14 & 0xfff, 3, "4 addressable IDs share the L3");
        assert_eq!(l3.eax >> 26, 1, "2 cores per package");
        assert_eq!((l3.ecx + 1) * 64 * 16, 16 << 20);
        assert_eq!(get(4, 4).eax, 0, "null terminator");
        assert_eq!(get(4, 0).flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
        assert!(t.iter().all(|e| e.function != 0x8000_001e));
        assert_eq!(get(0x8000_0008, 0).ecx, 0);
    }

    #[test]
    fn amd_extended_leaves() {
        let layout = ApicLayout::new(&"2,4,2,1".parse().unwrap());
        let t = topology_cpuid(&host(CpuVendor::Amd), &layout, 5).unwrap();
        let get = |f, i| t.iter().find(|e| e.function == f && e.index == i).unwrap();
        let e = get(0x8000_001e, 0);
        assert_eq!([e.eax, e.ebx, e.ecx], [5, 1, 2]);
        assert_eq!(get(0x8000_0008, 0).ecx & 0xf0ff, 1 << 12 | 1);
        assert_eq!(get(0x8000_0000, 0).eax, 0x8000_001e);
        assert_ne!(get(0x8000_0001, 0).ecx & 1 << 22, 0);
        assert_eq!(get(0x8000_0006, 0).edx >> 18, 32, "16 MiB in 512 KiB units");
        assert_eq!(get(0x8000_001d, 3).eax >> 14 & 0xfff, 1);
    }

    #[test]
    fn zen1_model_is_lifted_past_the_hardwired_ccx() {
        // Family 17h model 01h (EPYC 7001) → model 31h.
        assert_eq!(fix_zen1_model(0x0080_0f12), 0x0083_0f12);
        // Family 19h is left alone.
        assert_eq!(fix_zen1_model(0x00a1_0f11), 0x00a1_0f11);
    }

    #[test]
    fn errors() {
        let layout = ApicLayout::new(&"1,1,2,1".parse().unwrap());
        let mut base = host(CpuVendor::Intel);
        assert_eq!(
            topology_cpuid(&base, &layout, 2),
            Err(CpuidError::Cpu { cpu: 2, cpus: 2 })
        );
        base[0].ebx = u32::from_le_bytes(*b"Cent");
        assert!(matches!(
            topology_cpuid(&base, &layout, 0),
            Err(CpuidError::Vendor(v)) if v.starts_with("Cent")
        ));
    }
}
