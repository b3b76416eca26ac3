//! Resolving a [`CpusetSpec`] to concrete CPUs of a [`Topology`].
//!
//! CPUs are numbered as [`Topology::place`] does: thread-fastest, then core, then
//! LLC, so "LLC order" is plain numeric order and every LLC is a contiguous range.

use std::fmt;

use super::{CpusetSpec, ScenarioError};
use crate::{format_cpulist, parse_cpulist, Topology};

impl CpusetSpec {
    /// The CPUs this spec selects on `topo`, sorted and without duplicates.
    ///
    /// ```
    /// use ktstr_model::{CpusetSpec, Topology};
    /// let topo: Topology = "1,2,2,1".parse().unwrap();
    /// assert_eq!(CpusetSpec::Split { index: 1, of: 2 }.resolve(&topo).unwrap(), [2, 3]);
    /// assert_eq!(CpusetSpec::Llcs(vec![0]).resolve(&topo).unwrap(), [0, 1]);
    /// let wide = CpusetSpec::Overlap { index: 0, of: 2, fraction: 0.5 };
    /// assert_eq!(wide.resolve(&topo).unwrap(), [0, 1, 2]);
    /// ```
    ///
    /// # Errors
    /// [`ScenarioError::Cpuset`] when the spec names CPUs, LLCs or nodes the
    /// topology lacks, cuts the CPUs into more parts than there are CPUs, asks for a
    /// part that does not exist, has an overlap fraction outside `0..=1`, or selects
    /// no CPU at all.
    pub fn resolve(&self, topo: &Topology) -> Result<Vec<u32>, ScenarioError> {
        let total = topo.cpus();
        let fail = |reason: String| ScenarioError::Cpuset {
            spec: self.to_string(),
            reason,
        };
        let cpus = match self {
            CpusetSpec::Cpus(list) => {
                let cpus = parse_cpulist(list)
                    .ok_or_else(|| fail("is not a CPU list; expected e.g. `0-3,6`".into()))?;
                if let Some(&bad) = cpus.iter().find(|&&c| c >= total) {
                    return Err(fail(format!(
                        "CPU {bad} is outside the topology ({total} CPUs: {})",
                        format_cpulist(&(0..total).collect::<Vec<_>>())
                    )));
                }
                cpus
            }
            CpusetSpec::Llcs(ids) => {
                union(ids, topo.llcs, "LLC", |id| topo.llc_cpus(id)).map_err(fail)?
            }
            CpusetSpec::Nodes(ids) => {
                union(ids, topo.numa_nodes, "NUMA node", |id| topo.node_cpus(id)).map_err(fail)?
            }
            CpusetSpec::Split { index, of } => part(*index, *of, total).map_err(fail)?.collect(),
            CpusetSpec::Overlap {
                index,
                of,
                fraction,
            } => {
                if !(0.0..=1.0).contains(fraction) {
                    return Err(fail(format!(
                        "overlap fraction {fraction} is outside 0..=1"
                    )));
                }
                let base = part(*index, *of, total).map_err(fail)?;
                // `fraction` is in 0..=1 and a part has at most MAX_CPUS CPUs.
                let widen = (fraction * f64::from(base.len() as u32)).round() as u32;
                (base.start.saturating_sub(widen)..(base.end + widen).min(total)).collect()
            }
        };
        if cpus.is_empty() {
            return Err(fail("selects no CPU".into()));
        }
        Ok(cpus)
    }
}

/// The CPUs of the LLCs or nodes `ids`, each of which must be below `count`.
fn union(
    ids: &[u32],
    count: u32,
    what: &str,
    cpus_of: impl Fn(u32) -> std::ops::Range<u32>,
) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for &id in ids {
        if id >= count {
            return Err(format!(
                "{what} {id} is outside the topology ({count} {what}s: 0-{})",
                count - 1
            ));
        }
        out.extend(cpus_of(id));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Part `index` of `of` near-equal contiguous parts of `0..total`.
fn part(index: u32, of: u32, total: u32) -> Result<std::ops::Range<u32>, String> {
    if of == 0 || of > total {
        return Err(format!(
            "cannot cut {total} CPUs into {of} parts\nhint: use 1 to {total} parts"
        ));
    }
    if index >= of {
        return Err(format!(
            "part {index} of {of} does not exist; parts are numbered 0 to {}",
            of - 1
        ));
    }
    // Widen to u64 so `index * total` cannot overflow.
    let bound = |i: u32| (u64::from(i) * u64::from(total) / u64::from(of)) as u32;
    Ok(bound(index)..bound(index + 1))
}

impl fmt::Display for CpusetSpec {
    /// A short form for messages and logs, e.g. `split 0 of 2` or `llcs 0,1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids = |ids: &[u32]| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        match self {
            CpusetSpec::Cpus(list) => write!(f, "cpus {list}"),
            CpusetSpec::Llcs(l) => write!(f, "llcs {}", ids(l)),
            CpusetSpec::Nodes(n) => write!(f, "nodes {}", ids(n)),
            CpusetSpec::Split { index, of } => write!(f, "split {index} of {of}"),
            CpusetSpec::Overlap {
                index,
                of,
                fraction,
            } => {
                write!(f, "overlap {index} of {of} by {fraction}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(spec: &str) -> Topology {
        spec.parse().unwrap()
    }

    fn resolve(spec: CpusetSpec, t: &str) -> Result<Vec<u32>, String> {
        spec.resolve(&topo(t)).map_err(|e| e.to_string())
    }

    #[test]
    fn cpus_parses_and_bounds_checks() {
        assert_eq!(
            resolve(CpusetSpec::Cpus("0,2-3".into()), "1,2,2,1"),
            Ok(vec![0, 2, 3])
        );
        let e = resolve(CpusetSpec::Cpus("1,9".into()), "1,2,4,1").unwrap_err();
        assert_eq!(
            e,
            "cpuset `cpus 1,9`: CPU 9 is outside the topology (8 CPUs: 0-7)"
        );
        let e = resolve(CpusetSpec::Cpus("x".into()), "1,2,2,1").unwrap_err();
        assert!(e.contains("not a CPU list"), "{e}");
        let e = resolve(CpusetSpec::Cpus(String::new()), "1,2,2,1").unwrap_err();
        assert!(e.contains("selects no CPU"), "{e}");
    }

    #[test]
    fn llcs_and_nodes_follow_the_numbering() {
        assert_eq!(
            resolve(CpusetSpec::Llcs(vec![1]), "1,2,2,2"),
            Ok(vec![4, 5, 6, 7])
        );
        assert_eq!(
            resolve(CpusetSpec::Llcs(vec![2, 0]), "1,3,1,1"),
            Ok(vec![0, 2])
        );
        assert_eq!(
            resolve(CpusetSpec::Nodes(vec![1]), "2,4,2,1"),
            Ok((4..8).collect())
        );
        let e = resolve(CpusetSpec::Llcs(vec![2]), "1,2,2,1").unwrap_err();
        assert!(
            e.contains("LLC 2 is outside the topology (2 LLCs: 0-1)"),
            "{e}"
        );
        let e = resolve(CpusetSpec::Nodes(vec![1]), "1,2,2,1").unwrap_err();
        assert!(e.contains("NUMA node 1 is outside"), "{e}");
        assert!(resolve(CpusetSpec::Llcs(vec![]), "1,2,2,1")
            .unwrap_err()
            .contains("no CPU"));
    }

    #[test]
    fn split_cuts_near_equal_contiguous_parts() {
        let parts: Vec<_> = (0..3)
            .map(|i| resolve(CpusetSpec::Split { index: i, of: 3 }, "1,2,4,1").unwrap())
            .collect();
        assert_eq!(parts, [vec![0, 1], vec![2, 3, 4], vec![5, 6, 7]]);
        let e = resolve(CpusetSpec::Split { index: 0, of: 5 }, "1,2,2,1").unwrap_err();
        assert!(e.contains("cannot cut 4 CPUs into 5 parts"), "{e}");
        let e = resolve(CpusetSpec::Split { index: 2, of: 2 }, "1,2,2,1").unwrap_err();
        assert!(e.contains("part 2 of 2 does not exist"), "{e}");
        assert!(resolve(CpusetSpec::Split { index: 0, of: 0 }, "1,2,2,1").is_err());
    }

    #[test]
    fn overlap_widens_and_clamps() {
        let o = |index, fraction| CpusetSpec::Overlap {
            index,
            of: 2,
            fraction,
        };
        assert_eq!(resolve(o(0, 0.0), "1,2,4,1"), Ok(vec![0, 1, 2, 3]));
        assert_eq!(resolve(o(0, 0.5), "1,2,4,1"), Ok(vec![0, 1, 2, 3, 4, 5]));
        assert_eq!(resolve(o(1, 0.25), "1,2,4,1"), Ok(vec![3, 4, 5, 6, 7]));
        assert_eq!(resolve(o(1, 1.0), "1,2,4,1"), Ok((0..8).collect()));
        let e = resolve(o(0, 1.5), "1,2,4,1").unwrap_err();
        assert!(e.contains("overlap fraction 1.5 is outside 0..=1"), "{e}");
        assert!(resolve(o(0, f64::NAN), "1,2,4,1").is_err());
    }
}
