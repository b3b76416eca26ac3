//! A requested CPU topology: NUMA nodes × LLCs × cores per LLC × threads per core.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The most CPUs a guest may have; the kernel fragment builds with `NR_CPUS=128`.
pub const MAX_CPUS: u32 = 128;

/// A topology request. LLCs are spread evenly over NUMA nodes, so `llcs` must be a
/// multiple of `numa_nodes`.
///
/// Deserializing runs the same checks as [`Topology::new`], so a scenario
/// file cannot carry a topology the rest of ktstr would divide by zero on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawTopology")]
pub struct Topology {
    /// NUMA nodes (N).
    pub numa_nodes: u32,
    /// Last-level caches in total (L), a multiple of N.
    pub llcs: u32,
    /// Cores per LLC (C).
    pub cores_per_llc: u32,
    /// Hardware threads per core (T).
    pub threads_per_core: u32,
}

/// Where one logical CPU sits in a [`Topology`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuPlace {
    /// NUMA node.
    pub node: u32,
    /// LLC index, across the whole machine.
    pub llc: u32,
    /// Core index within the LLC.
    pub core: u32,
    /// Thread index within the core.
    pub thread: u32,
}

/// Why a topology request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// The text is not four comma-separated positive integers.
    #[error("invalid topology `{0}`: expected N,L,C,T (NUMA nodes, LLCs, cores per LLC, threads per core), e.g. `1,2,2,1`")]
    Syntax(String),
    /// A count is zero.
    #[error("invalid topology `{0}`: every count must be at least 1")]
    Zero(String),
    /// LLCs cannot be spread evenly over the nodes.
    #[error("invalid topology `{spec}`: {llcs} LLCs cannot be split evenly over {nodes} NUMA nodes\nhint: use a multiple of {nodes}")]
    UnevenLlcs {
        /// The request as written.
        spec: String,
        /// L.
        llcs: u32,
        /// N.
        nodes: u32,
    },
    /// Too many CPUs for the guest kernel.
    #[error("invalid topology `{spec}`: {cpus} CPUs exceeds the maximum of {max}")]
    TooManyCpus {
        /// The request as written.
        spec: String,
        /// N×…×T.
        cpus: u64,
        /// [`MAX_CPUS`].
        max: u32,
    },
    /// Neither `N,L,C,T` nor the name of a preset (see [`Topology::parse_or_preset`]).
    #[error(
        "invalid topology `{value}`: expected N,L,C,T (e.g. `1,2,2,1`) or a preset name\n\
         hint: the presets are {}",
        .presets.join(", ")
    )]
    NotSpecOrPreset {
        /// The value as written.
        value: String,
        /// The preset names, in [`crate::presets`] order.
        presets: Vec<&'static str>,
    },
}

/// A topology as written, before [`Topology::validate`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopology {
    numa_nodes: u32,
    llcs: u32,
    cores_per_llc: u32,
    threads_per_core: u32,
}

impl TryFrom<RawTopology> for Topology {
    type Error = TopologyError;

    fn try_from(r: RawTopology) -> Result<Self, Self::Error> {
        Topology::new(r.numa_nodes, r.llcs, r.cores_per_llc, r.threads_per_core)
    }
}

impl Topology {
    /// Builds and validates a topology.
    ///
    /// # Errors
    /// See [`TopologyError`].
    pub fn new(
        numa_nodes: u32,
        llcs: u32,
        cores_per_llc: u32,
        threads_per_core: u32,
    ) -> Result<Self, TopologyError> {
        let t = Topology {
            numa_nodes,
            llcs,
            cores_per_llc,
            threads_per_core,
        };
        t.validate()?;
        Ok(t)
    }

    /// Checks the invariants documented on [`TopologyError`].
    ///
    /// # Errors
    /// See [`TopologyError`].
    pub fn validate(&self) -> Result<(), TopologyError> {
        let spec = self.spec();
        if self.numa_nodes == 0
            || self.llcs == 0
            || self.cores_per_llc == 0
            || self.threads_per_core == 0
        {
            return Err(TopologyError::Zero(spec));
        }
        if !self.llcs.is_multiple_of(self.numa_nodes) {
            return Err(TopologyError::UnevenLlcs {
                spec,
                llcs: self.llcs,
                nodes: self.numa_nodes,
            });
        }
        // Saturating: three u32 counts can overflow even a u64.
        let cpus = u64::from(self.llcs)
            .saturating_mul(u64::from(self.cores_per_llc))
            .saturating_mul(u64::from(self.threads_per_core));
        if cpus > u64::from(MAX_CPUS) {
            return Err(TopologyError::TooManyCpus {
                spec,
                cpus,
                max: MAX_CPUS,
            });
        }
        Ok(())
    }

    /// Total logical CPUs.
    pub fn cpus(&self) -> u32 {
        // A validated topology has at most MAX_CPUS; saturate for the rest.
        self.llcs
            .saturating_mul(self.cores_per_llc)
            .saturating_mul(self.threads_per_core)
    }

    /// LLCs per NUMA node.
    pub fn llcs_per_node(&self) -> u32 {
        self.llcs.checked_div(self.numa_nodes).unwrap_or(0)
    }

    /// Logical CPUs per LLC.
    pub fn cpus_per_llc(&self) -> u32 {
        self.cores_per_llc.saturating_mul(self.threads_per_core)
    }

    /// The request in `N,L,C,T` form.
    pub fn spec(&self) -> String {
        format!(
            "{},{},{},{}",
            self.numa_nodes, self.llcs, self.cores_per_llc, self.threads_per_core
        )
    }

    /// Where CPU `cpu` sits when CPUs are numbered thread-fastest, then core, then LLC
    /// (the order QEMU and the own VMM enumerate them in).
    pub fn place(&self, cpu: u32) -> CpuPlace {
        let thread = cpu % self.threads_per_core;
        let core = (cpu / self.threads_per_core) % self.cores_per_llc;
        let llc = cpu / self.cpus_per_llc();
        CpuPlace {
            node: llc / self.llcs_per_node(),
            llc,
            core,
            thread,
        }
    }

    /// The CPUs of LLC `llc`, in the numbering of [`Topology::place`].
    pub fn llc_cpus(&self, llc: u32) -> std::ops::Range<u32> {
        let n = self.cpus_per_llc();
        llc * n..(llc + 1) * n
    }

    /// The CPUs of NUMA node `node`.
    pub fn node_cpus(&self, node: u32) -> std::ops::Range<u32> {
        let n = self.cpus_per_llc() * self.llcs_per_node();
        node * n..(node + 1) * n
    }
}

impl fmt::Display for Topology {
    /// Prints the compact `NnLlCcTt` form, e.g. `2n4l2c1t`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}n{}l{}c{}t",
            self.numa_nodes, self.llcs, self.cores_per_llc, self.threads_per_core
        )
    }
}

impl FromStr for Topology {
    type Err = TopologyError;

    /// Parses `N,L,C,T` or the compact `NnLlCcTt` form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let parts: Vec<&str> = if t.contains(',') {
            t.split(',').map(str::trim).collect()
        } else {
            compact_parts(t).ok_or_else(|| TopologyError::Syntax(s.to_string()))?
        };
        if parts.len() != 4 {
            return Err(TopologyError::Syntax(s.to_string()));
        }
        let mut n = [0u32; 4];
        for (slot, p) in n.iter_mut().zip(&parts) {
            *slot = p
                .parse()
                .map_err(|_| TopologyError::Syntax(s.to_string()))?;
        }
        let topo = Topology {
            numa_nodes: n[0],
            llcs: n[1],
            cores_per_llc: n[2],
            threads_per_core: n[3],
        };
        topo.validate().map_err(|e| match e {
            // Report the user's spelling, not the normalised one.
            TopologyError::Zero(_) => TopologyError::Zero(s.to_string()),
            other => other,
        })?;
        Ok(topo)
    }
}

/// Splits `2n4l2c1t` into `["2", "4", "2", "1"]`.
fn compact_parts(s: &str) -> Option<Vec<&str>> {
    let mut out = Vec::with_capacity(4);
    let mut rest = s;
    for suffix in ['n', 'l', 'c', 't'] {
        let end = rest.find(suffix)?;
        out.push(&rest[..end]);
        rest = &rest[end + 1..];
    }
    rest.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        let a: Topology = "2,4,2,1".parse().unwrap();
        let b: Topology = "2n4l2c1t".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.cpus(), 8);
        assert_eq!(a.to_string(), "2n4l2c1t");
        assert_eq!(a.spec(), "2,4,2,1");
    }

    #[test]
    fn rejects_uneven_llcs() {
        let e = "2,3,1,1".parse::<Topology>().unwrap_err();
        assert!(
            matches!(
                e,
                TopologyError::UnevenLlcs {
                    llcs: 3,
                    nodes: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("multiple of 2"));
    }

    #[test]
    fn rejects_zero_syntax_and_size() {
        assert!(matches!(
            "1,0,1,1".parse::<Topology>(),
            Err(TopologyError::Zero(_))
        ));
        assert!(matches!(
            "1,2,x,1".parse::<Topology>(),
            Err(TopologyError::Syntax(_))
        ));
        assert!(matches!(
            "1,2,1".parse::<Topology>(),
            Err(TopologyError::Syntax(_))
        ));
        assert!(matches!(
            "1,64,2,2".parse::<Topology>(),
            Err(TopologyError::TooManyCpus { cpus: 256, .. })
        ));
    }

    #[test]
    fn places_cpus_thread_fastest() {
        let t: Topology = "2,4,2,2".parse().unwrap();
        assert_eq!(
            t.place(0),
            CpuPlace {
                node: 0,
                llc: 0,
                core: 0,
                thread: 0
            }
        );
        assert_eq!(
            t.place(1),
            CpuPlace {
                node: 0,
                llc: 0,
                core: 0,
                thread: 1
            }
        );
        assert_eq!(
            t.place(2),
            CpuPlace {
                node: 0,
                llc: 0,
                core: 1,
                thread: 0
            }
        );
        assert_eq!(
            t.place(4),
            CpuPlace {
                node: 0,
                llc: 1,
                core: 0,
                thread: 0
            }
        );
        assert_eq!(
            t.place(8),
            CpuPlace {
                node: 1,
                llc: 2,
                core: 0,
                thread: 0
            }
        );
        assert_eq!(t.llc_cpus(3), 12..16);
        assert_eq!(t.node_cpus(1), 8..16);
    }
}
