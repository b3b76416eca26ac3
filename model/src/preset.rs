//! Named topologies: shapes a scheduler developer recognises, from 2 to 128 CPUs.
//!
//! A preset name is accepted wherever an `N,L,C,T` topology is (see
//! [`Topology::parse_or_preset`]). NUMA presets get the VM layer's fixed distances
//! (10 within a node, 20 between nodes); a preset carries no distances of its own.
//!
//! ```
//! use ktstr_model::{preset, Topology};
//! assert_eq!(preset("numa2").unwrap().topology.numa_nodes, 2);
//! let t = Topology::parse_or_preset("llc-pair").unwrap();
//! assert_eq!(t, "1,2,2,1".parse().unwrap());
//! ```

use serde::Serialize;

use crate::{Topology, TopologyError};

/// A named topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preset {
    /// Short kebab-case name, e.g. `numa2-smt`.
    pub name: &'static str,
    /// The shape.
    pub topology: Topology,
    /// One sentence on what the shape exercises.
    pub description: &'static str,
}

const fn preset_of(
    name: &'static str,
    [numa_nodes, llcs, cores_per_llc, threads_per_core]: [u32; 4],
    description: &'static str,
) -> Preset {
    Preset {
        name,
        topology: Topology {
            numa_nodes,
            llcs,
            cores_per_llc,
            threads_per_core,
        },
        description,
    }
}

/// Ordered by CPU count, then from the plainest shape to the most varied.
static PRESETS: [Preset; 15] = [
    preset_of(
        "tiny",
        [1, 1, 2, 1],
        "Two cores sharing one LLC: the smallest machine where tasks can migrate.",
    ),
    preset_of(
        "smt-pair",
        [1, 1, 1, 2],
        "One core with two SMT siblings: both CPUs share a core and its caches.",
    ),
    preset_of(
        "llc-pair",
        [1, 2, 2, 1],
        "Two LLCs of two cores: the smallest LLC boundary, and the default topology.",
    ),
    preset_of(
        "numa2",
        [2, 2, 2, 1],
        "Two NUMA nodes of one two-core LLC each: the smallest node boundary.",
    ),
    preset_of(
        "one-llc",
        [1, 1, 8, 1],
        "Eight cores in one LLC: a flat machine with no cache boundary to respect.",
    ),
    preset_of(
        "smt-llcs",
        [1, 2, 2, 2],
        "Two LLCs of two SMT cores: siblings and LLC boundaries together.",
    ),
    preset_of(
        "numa4",
        [4, 4, 2, 1],
        "Four NUMA nodes of one two-core LLC each: more nodes than a pair to pick from.",
    ),
    preset_of(
        "odd",
        [1, 3, 3, 1],
        "Three LLCs of three cores: nine CPUs, so halves and quarters are uneven.",
    ),
    preset_of(
        "many-llcs",
        [1, 8, 2, 1],
        "Eight LLCs of two cores on one node: many small cache domains to balance.",
    ),
    preset_of(
        "numa2-smt",
        [2, 4, 2, 2],
        "Two nodes of two LLCs of two SMT cores: every level of the hierarchy.",
    ),
    preset_of(
        "odd-numa",
        [2, 6, 3, 1],
        "Two nodes of three LLCs of three cores: uneven shapes across a node boundary.",
    ),
    preset_of(
        "wide-llcs",
        [1, 2, 16, 1],
        "Two LLCs of sixteen cores: wide cache domains with much balancing inside each.",
    ),
    preset_of(
        "numa4-smt",
        [4, 8, 2, 2],
        "Four nodes of two LLCs of two SMT cores: a small four-socket server.",
    ),
    preset_of(
        "chiplets",
        [1, 8, 8, 1],
        "Eight LLCs of eight cores on one node: a chiplet desktop or server socket.",
    ),
    preset_of(
        "big-numa",
        [2, 8, 8, 2],
        "Two nodes of four LLCs of eight SMT cores: the largest guest, 128 CPUs.",
    ),
];

/// Every preset, by CPU count.
pub fn presets() -> &'static [Preset] {
    &PRESETS
}

/// The preset called `name` (ASCII case ignored).
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

impl Topology {
    /// Reads a `--topology` value: a preset name (see [`presets`]), `N,L,C,T` or
    /// the compact `NnLlCcTt`.
    ///
    /// ```
    /// use ktstr_model::{Topology, TopologyError};
    /// assert_eq!(Topology::parse_or_preset("numa4").unwrap().numa_nodes, 4);
    /// assert_eq!(Topology::parse_or_preset("1,3,3,1").unwrap().cpus(), 9);
    /// let e = Topology::parse_or_preset("numa9").unwrap_err();
    /// assert!(matches!(e, TopologyError::NotSpecOrPreset { .. }));
    /// ```
    ///
    /// # Errors
    /// [`TopologyError::NotSpecOrPreset`] when `s` is neither a preset name nor
    /// shaped like a topology; the other [`TopologyError`]s when it is shaped like
    /// one but invalid (e.g. `2,3,1,1`).
    pub fn parse_or_preset(s: &str) -> Result<Topology, TopologyError> {
        if let Some(p) = preset(s.trim()) {
            return Ok(p.topology);
        }
        s.parse().map_err(|e| match e {
            TopologyError::Syntax(_) => TopologyError::NotSpecOrPreset {
                value: s.to_string(),
                presets: PRESETS.iter().map(|p| p.name).collect(),
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_CPUS;

    fn any(f: impl Fn(&Topology) -> bool) -> bool {
        presets().iter().any(|p| f(&p.topology))
    }

    #[test]
    fn every_preset_is_a_valid_topology() {
        for p in presets() {
            p.topology
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(p.topology.spec().parse::<Topology>(), Ok(p.topology));
        }
    }

    #[test]
    fn at_least_twelve_presets_span_two_to_max_cpus_in_order() {
        let cpus: Vec<u32> = presets().iter().map(|p| p.topology.cpus()).collect();
        assert!(cpus.len() >= 12, "{} presets", cpus.len());
        assert_eq!(cpus.first(), Some(&2));
        assert_eq!(cpus.last(), Some(&MAX_CPUS));
        assert!(cpus.windows(2).all(|w| w[0] <= w[1]), "{cpus:?}");
    }

    #[test]
    fn presets_cover_the_shapes_schedulers_care_about() {
        assert!(any(|t| t.threads_per_core > 1), "SMT");
        assert!(any(|t| t.numa_nodes == 2), "2 nodes");
        assert!(any(|t| t.numa_nodes == 4), "4 nodes");
        assert!(
            any(|t| t.numa_nodes > 1 && t.threads_per_core > 1),
            "NUMA with SMT"
        );
        assert!(any(|t| t.llcs == 1 && t.cpus() > 2), "one LLC");
        assert!(any(|t| t.llcs >= 8), "8+ LLCs");
        assert!(any(|t| !t.cpus().is_power_of_two()), "odd shape");
        assert!(
            any(|t| !t.llcs.is_power_of_two() && t.numa_nodes > 1),
            "odd NUMA"
        );
    }

    #[test]
    fn llc_pair_is_the_default_shape() {
        assert_eq!(preset("llc-pair").unwrap().topology.spec(), "1,2,2,1");
    }

    #[test]
    fn names_are_unique_kebab_case_and_never_look_like_a_topology() {
        for (i, p) in presets().iter().enumerate() {
            assert!(
                presets()[..i].iter().all(|o| o.name != p.name),
                "{}",
                p.name
            );
            assert!(
                p.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                p.name
            );
            assert!(p.name.parse::<Topology>().is_err(), "{}", p.name);
            let d = p.description;
            assert!(d.ends_with('.') && !d.contains(". "), "{}: {d}", p.name);
            assert_eq!(preset(&p.name.to_uppercase()), Some(p));
        }
        assert_eq!(preset("no-such"), None);
    }

    #[test]
    fn parse_or_preset_takes_names_and_both_spec_forms() {
        let numa2 = preset("numa2").unwrap().topology;
        assert_eq!(Topology::parse_or_preset("numa2"), Ok(numa2));
        assert_eq!(Topology::parse_or_preset(" numa2 "), Ok(numa2));
        assert_eq!(Topology::parse_or_preset("2,2,2,1"), Ok(numa2));
        assert_eq!(Topology::parse_or_preset("2n2l2c1t"), Ok(numa2));
    }

    #[test]
    fn parse_or_preset_errors_name_both_forms() {
        let e = Topology::parse_or_preset("numa9").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(
                "invalid topology `numa9`: expected N,L,C,T (e.g. `1,2,2,1`) or a preset name\n\
                 hint: the presets are tiny, smt-pair, llc-pair, "
            ),
            "{text}"
        );
        assert!(text.ends_with(", big-numa"), "{text}");
        // Shaped like a topology: the specific error, not the generic one.
        assert!(matches!(
            Topology::parse_or_preset("2,3,1,1"),
            Err(TopologyError::UnevenLlcs { .. })
        ));
        assert!(matches!(
            Topology::parse_or_preset("1,64,2,2"),
            Err(TopologyError::TooManyCpus { .. })
        ));
    }
}
