//! Compares a requested [`Topology`] with what the guest kernel reported.
//!
//! The comparison is about shape, not numbering: a guest that numbers its CPUs
//! differently but has the requested LLCs, cores, SMT siblings and nodes matches.

use std::collections::{BTreeMap, BTreeSet};

use ktstr_wire::ObservedTopology;
use serde::{Deserialize, Serialize};

use crate::{format_cpulist as list, Topology};

/// Distance the kernel reports from a node to itself (ACPI SLIT convention).
const LOCAL_DISTANCE: u32 = 10;

/// The verdict of [`compare_topology`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopologyMatch {
    /// True when no mismatch was found.
    pub matches: bool,
    /// One sentence per difference, e.g. `LLC 1 has 3 CPUs, expected 4`.
    pub mismatches: Vec<String>,
}

/// Checks that `observed` has the shape of `requested`: CPU count, LLC count and
/// size, cores per LLC, threads per core, NUMA nodes with whole LLCs, and a sane
/// distance matrix (10 on the diagonal, more elsewhere, symmetric).
pub fn compare_topology(requested: &Topology, observed: &ObservedTopology) -> TopologyMatch {
    let mut m = Vec::new();
    let t = requested;

    if observed.cpus.len() as u32 != t.cpus() {
        m.push(format!(
            "{} CPUs online, expected {}",
            observed.cpus.len(),
            t.cpus()
        ));
    }

    // LLCs: taken from each CPU's own view so a CPU without cache info is caught.
    let mut llcs: BTreeSet<Vec<u32>> = BTreeSet::new();
    for c in &observed.cpus {
        match &c.llc {
            Some(set) => {
                llcs.insert(set.clone());
            }
            None => m.push(format!("CPU {} reports no last-level cache", c.cpu)),
        }
    }
    if llcs.len() as u32 != t.llcs {
        m.push(format!("{} LLCs, expected {}", llcs.len(), t.llcs));
    }
    for (i, set) in llcs.iter().enumerate() {
        if set.len() as u32 != t.cpus_per_llc() {
            m.push(format!(
                "LLC {i} (CPUs {}) has {} CPUs, expected {}",
                list(set),
                set.len(),
                t.cpus_per_llc()
            ));
        }
    }

    // SMT siblings and cores per LLC.
    for c in &observed.cpus {
        if c.siblings.len() as u32 != t.threads_per_core {
            m.push(format!(
                "CPU {} has {} SMT thread(s) (siblings {}), expected {}",
                c.cpu,
                c.siblings.len(),
                list(&c.siblings),
                t.threads_per_core
            ));
        }
        if let Some(llc) = &c.llc {
            if let Some(s) = c.siblings.iter().find(|s| !llc.contains(s)) {
                m.push(format!("CPU {} has SMT sibling {s} outside its LLC", c.cpu));
            }
        }
    }
    for set in &llcs {
        let cores: BTreeSet<&Vec<u32>> = observed
            .cpus
            .iter()
            .filter(|c| set.contains(&c.cpu))
            .map(|c| &c.siblings)
            .collect();
        if cores.len() as u32 != t.cores_per_llc {
            m.push(format!(
                "LLC with CPUs {} has {} cores, expected {}",
                list(set),
                cores.len(),
                t.cores_per_llc
            ));
        }
    }

    // NUMA nodes: only nodes with CPUs count; each must hold whole LLCs.
    let nodes: Vec<_> = observed
        .nodes
        .iter()
        .filter(|n| !n.cpus.is_empty())
        .collect();
    if nodes.len() as u32 != t.numa_nodes {
        m.push(format!(
            "{} NUMA node(s) with CPUs, expected {}",
            nodes.len(),
            t.numa_nodes
        ));
    }
    let node_of: BTreeMap<u32, u32> = observed.cpus.iter().map(|c| (c.cpu, c.node)).collect();
    for set in &llcs {
        let owners: BTreeSet<Option<&u32>> = set.iter().map(|c| node_of.get(c)).collect();
        if owners.len() > 1 {
            m.push(format!(
                "LLC with CPUs {} spans several NUMA nodes",
                list(set)
            ));
        }
    }
    for n in &nodes {
        let want = t.cpus() / t.numa_nodes;
        if n.cpus.len() as u32 != want {
            m.push(format!(
                "node {} has {} CPUs, expected {want}",
                n.id,
                n.cpus.len()
            ));
        }
    }

    // Distances, over all nodes the kernel lists.
    let all = &observed.nodes;
    for (i, n) in all.iter().enumerate() {
        if n.distances.len() != all.len() {
            m.push(format!(
                "node {} lists {} distances for {} nodes",
                n.id,
                n.distances.len(),
                all.len()
            ));
            continue;
        }
        for (j, &d) in n.distances.iter().enumerate() {
            let back = all[j].distances.get(i).copied();
            if i == j && d != LOCAL_DISTANCE {
                m.push(format!(
                    "node {} distance to itself is {d}, expected {LOCAL_DISTANCE}",
                    n.id
                ));
            } else if i != j && d <= LOCAL_DISTANCE {
                m.push(format!(
                    "node {} distance to node {} is {d}, expected more than {LOCAL_DISTANCE}",
                    n.id, all[j].id
                ));
            } else if back.is_some_and(|b| b != d) {
                m.push(format!(
                    "distance between nodes {} and {} is not symmetric",
                    n.id, all[j].id
                ));
            }
        }
    }

    TopologyMatch {
        matches: m.is_empty(),
        mismatches: m,
    }
}

#[cfg(test)]
mod tests {
    use ktstr_wire::{ObservedCpu, ObservedNode};

    use super::*;

    /// What a guest with exactly the requested topology reports.
    fn ideal(t: &Topology) -> ObservedTopology {
        let cpus = (0..t.cpus())
            .map(|cpu| {
                let p = t.place(cpu);
                let first = cpu - p.thread;
                ObservedCpu {
                    cpu,
                    package: p.llc,
                    core: p.core,
                    siblings: (first..first + t.threads_per_core).collect(),
                    node: p.node,
                    llc: Some(t.llc_cpus(p.llc).collect()),
                }
            })
            .collect();
        let nodes = (0..t.numa_nodes)
            .map(|id| ObservedNode {
                id,
                cpus: t.node_cpus(id).collect(),
                distances: (0..t.numa_nodes)
                    .map(|j| if j == id { 10 } else { 20 })
                    .collect(),
                mem_mib: 256,
            })
            .collect();
        let llcs = (0..t.llcs).map(|l| t.llc_cpus(l).collect()).collect();
        ObservedTopology { cpus, llcs, nodes }
    }

    #[test]
    fn ideal_guest_matches() {
        for spec in [
            "1,1,2,1", "1,2,2,1", "1,2,2,2", "2,4,2,1", "1,3,3,1", "4,8,2,2",
        ] {
            let t: Topology = spec.parse().unwrap();
            let r = compare_topology(&t, &ideal(&t));
            assert!(r.matches, "{spec}: {:?}", r.mismatches);
        }
    }

    #[test]
    fn one_socket_instead_of_two_llcs_fails() {
        // What QEMU shows when the LLC mapping is wrong: all CPUs in one L3.
        let want: Topology = "1,2,2,1".parse().unwrap();
        let got = ideal(&"1,1,4,1".parse().unwrap());
        let r = compare_topology(&want, &got);
        assert!(!r.matches);
        assert!(
            r.mismatches
                .iter()
                .any(|s| s.contains("1 LLCs, expected 2")),
            "{:?}",
            r.mismatches
        );
    }

    #[test]
    fn threads_for_cores_fails() {
        let want: Topology = "1,2,2,1".parse().unwrap();
        let got = ideal(&"1,2,1,2".parse().unwrap());
        let r = compare_topology(&want, &got);
        assert!(!r.matches);
        assert!(
            r.mismatches.iter().any(|s| s.contains("SMT")),
            "{:?}",
            r.mismatches
        );
    }

    #[test]
    fn missing_numa_and_bad_distance_fail() {
        let want: Topology = "2,4,2,1".parse().unwrap();
        let mut got = ideal(&want);
        got.nodes[0].distances[1] = 10;
        let r = compare_topology(&want, &got);
        assert!(
            r.mismatches
                .iter()
                .any(|s| s.contains("distance to node 1 is 10")),
            "{:?}",
            r.mismatches
        );
        let flat = ideal(&"1,4,2,1".parse().unwrap());
        let r = compare_topology(&want, &flat);
        assert!(
            r.mismatches.iter().any(|s| s.contains("1 NUMA node(s)")),
            "{:?}",
            r.mismatches
        );
    }

    #[test]
    fn missing_cache_info_fails() {
        let want: Topology = "1,1,2,1".parse().unwrap();
        let mut got = ideal(&want);
        got.cpus[1].llc = None;
        assert!(!compare_topology(&want, &got).matches);
    }
}
