//! The topology the guest kernel reports in sysfs.

use std::fs;
use std::path::Path;

use ktstr_wire::{ObservedCpu, ObservedNode, ObservedTopology};

use ktstr_model::parse_cpulist;

/// Reads CPUs, LLCs and NUMA nodes from `/sys`.
pub fn observe_topology() -> ObservedTopology {
    observe_topology_at(Path::new("/sys"))
}

/// Reads the topology from a sysfs tree rooted at `sys` (tests pass a fake tree).
pub(crate) fn observe_topology_at(sys: &Path) -> ObservedTopology {
    let cpu_dir = sys.join("devices/system/cpu");
    let node_dir = sys.join("devices/system/node");
    let online = read(&cpu_dir.join("online"))
        .and_then(|s| parse_cpulist(&s))
        .unwrap_or_default();

    let mut nodes: Vec<ObservedNode> = Vec::new();
    if let Ok(entries) = fs::read_dir(&node_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix("node")
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let p = e.path();
            nodes.push(ObservedNode {
                id,
                cpus: read(&p.join("cpulist"))
                    .and_then(|s| parse_cpulist(&s))
                    .unwrap_or_default(),
                distances: read(&p.join("distance"))
                    .map(|s| {
                        s.split_whitespace()
                            .filter_map(|d| d.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default(),
                mem_mib: read(&p.join("meminfo"))
                    .map(|s| node_mem_mib(&s))
                    .unwrap_or(0),
            });
        }
    }
    nodes.sort_by_key(|n| n.id);

    let mut cpus = Vec::new();
    for cpu in online {
        let base = cpu_dir.join(format!("cpu{cpu}"));
        let num = |f: &str| {
            read(&base.join("topology").join(f))
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(u32::MAX)
        };
        cpus.push(ObservedCpu {
            cpu,
            package: num("physical_package_id"),
            core: num("core_id"),
            siblings: read(&base.join("topology/thread_siblings_list"))
                .and_then(|s| parse_cpulist(&s))
                .unwrap_or_else(|| vec![cpu]),
            node: nodes
                .iter()
                .find(|n| n.cpus.contains(&cpu))
                .map_or(0, |n| n.id),
            llc: last_level_cache(&base),
        });
    }
    let mut llcs: Vec<Vec<u32>> = cpus.iter().filter_map(|c| c.llc.clone()).collect();
    llcs.sort();
    llcs.dedup();
    ObservedTopology { cpus, llcs, nodes }
}

/// The `shared_cpu_list` of the highest-level cache of a CPU.
fn last_level_cache(cpu: &Path) -> Option<Vec<u32>> {
    let mut best: Option<(u32, Vec<u32>)> = None;
    for e in fs::read_dir(cpu.join("cache")).ok()?.flatten() {
        if !e.file_name().to_string_lossy().starts_with("index") {
            continue;
        }
        let p = e.path();
        let Some(level) = read(&p.join("level")).and_then(|s| s.trim().parse::<u32>().ok()) else {
            continue;
        };
        let Some(shared) = read(&p.join("shared_cpu_list")).and_then(|s| parse_cpulist(&s)) else {
            continue;
        };
        if best.as_ref().is_none_or(|(l, _)| level > *l) {
            best = Some((level, shared));
        }
    }
    best.map(|(_, s)| s)
}

/// `Node 0 MemTotal:  498176 kB` → 486.
fn node_mem_mib(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find(|l| l.contains("MemTotal:"))
        .and_then(|l| l.split_whitespace().rev().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn read(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    #[test]
    fn reads_a_fake_two_node_sysfs() {
        let d = tempdir();
        let r = d.as_path();
        write(r, "devices/system/cpu/online", "0-3\n");
        for cpu in 0..4u32 {
            let llc = if cpu < 2 { "0-1" } else { "2-3" };
            write(
                r,
                &format!("devices/system/cpu/cpu{cpu}/topology/physical_package_id"),
                &format!("{}\n", cpu / 2),
            );
            write(
                r,
                &format!("devices/system/cpu/cpu{cpu}/topology/core_id"),
                &format!("{}\n", cpu % 2),
            );
            write(
                r,
                &format!("devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"),
                &format!("{cpu}\n"),
            );
            write(
                r,
                &format!("devices/system/cpu/cpu{cpu}/cache/index0/level"),
                "1\n",
            );
            write(
                r,
                &format!("devices/system/cpu/cpu{cpu}/cache/index0/shared_cpu_list"),
                &format!("{cpu}\n"),
            );
            write(
                r,
                &format!("devices/system/cpu/cpu{cpu}/cache/index3/level"),
                "3\n",
            );
            write(
                r,
                &format!("devices/system/cpu/cpu{cpu}/cache/index3/shared_cpu_list"),
                &format!("{llc}\n"),
            );
        }
        write(r, "devices/system/node/node0/cpulist", "0-1\n");
        write(r, "devices/system/node/node0/distance", "10 20\n");
        write(
            r,
            "devices/system/node/node0/meminfo",
            "Node 0 MemTotal:       524288 kB\nNode 0 MemFree: 1 kB\n",
        );
        write(r, "devices/system/node/node1/cpulist", "2-3\n");
        write(r, "devices/system/node/node1/distance", "20 10\n");
        let t = observe_topology_at(r);
        assert_eq!(t.cpus.len(), 4);
        assert_eq!(t.llcs, vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(t.cpus[3].node, 1);
        assert_eq!(t.cpus[2].package, 1);
        assert_eq!(t.nodes[0].mem_mib, 512);
        assert_eq!(t.nodes[1].distances, vec![20, 10]);
        let _ = fs::remove_dir_all(r);
    }

    /// A unique scratch directory without pulling a crate into the guest for tests.
    fn tempdir() -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!(
            "ktstr-guest-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        p
    }
}
