//! What a scenario needs of a topology, and whether a topology can host it.
//!
//! A topology that lacks what a scenario declares under `requires` is a reason to
//! skip the pair, never a failure: a gauntlet over [`crate::presets`] asks
//! [`Scenario::hostable`] and skips with the reason it gives.

use serde::{Deserialize, Serialize};

use super::{Scenario, ScenarioError};
use crate::{Topology, MAX_CPUS};

/// The least topology a scenario can run on; every field at its default asks nothing.
///
/// ```
/// use ktstr_model::{Requirements, Topology};
/// let needs = Requirements { min_numa_nodes: 2, ..Requirements::NONE };
/// let topo: Topology = "1,2,2,1".parse().unwrap();
/// assert_eq!(needs.unmet(&topo).unwrap(), "needs 2 NUMA nodes, `1,2,2,1` has 1");
/// assert_eq!(needs.unmet(&"2,2,2,1".parse().unwrap()), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Requirements {
    /// At least this many logical CPUs; 0 sets no minimum.
    #[serde(skip_serializing_if = "is_zero")]
    pub min_cpus: u32,
    /// At least this many LLCs; 0 sets no minimum.
    #[serde(skip_serializing_if = "is_zero")]
    pub min_llcs: u32,
    /// At least this many NUMA nodes; 0 sets no minimum.
    #[serde(skip_serializing_if = "is_zero")]
    pub min_numa_nodes: u32,
    /// SMT: at least two hardware threads per core.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub smt: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A field path under `requires` and what is wrong with it.
pub(super) type Shortfall = (&'static str, String);

impl Requirements {
    /// Asks nothing of the topology.
    pub const NONE: Requirements = Requirements {
        min_cpus: 0,
        min_llcs: 0,
        min_numa_nodes: 0,
        smt: false,
    };

    /// Whether every topology meets it.
    pub fn is_empty(&self) -> bool {
        *self == Requirements::NONE
    }

    /// Why `topo` falls short, e.g. `needs 2 LLCs, `1,1,2,1` has 1`; every
    /// shortfall, joined by `; `. `None` when `topo` meets every requirement.
    pub fn unmet(&self, topo: &Topology) -> Option<String> {
        let reasons: Vec<String> = self.shortfalls(topo).into_iter().map(|(_, r)| r).collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// Each requirement `topo` misses, with its field path.
    pub(super) fn shortfalls(&self, topo: &Topology) -> Vec<Shortfall> {
        let spec = topo.spec();
        let mut out = Vec::new();
        let mut at_least = |field, want: u32, have: u32, what: &str| {
            if have < want {
                out.push((field, format!("needs {want} {what}, `{spec}` has {have}")));
            }
        };
        at_least("requires.min_cpus", self.min_cpus, topo.cpus(), "CPUs");
        at_least("requires.min_llcs", self.min_llcs, topo.llcs, "LLCs");
        at_least(
            "requires.min_numa_nodes",
            self.min_numa_nodes,
            topo.numa_nodes,
            "NUMA nodes",
        );
        if self.smt && topo.threads_per_core < 2 {
            out.push((
                "requires.smt",
                format!("needs SMT (2+ threads per core), `{spec}` has 1 thread per core"),
            ));
        }
        out
    }

    /// The first requirement no topology of at most [`MAX_CPUS`] CPUs can meet.
    pub(super) fn impossible(&self) -> Option<Shortfall> {
        let counts = [
            ("requires.min_cpus", self.min_cpus, "CPUs"),
            ("requires.min_llcs", self.min_llcs, "LLCs"),
            ("requires.min_numa_nodes", self.min_numa_nodes, "NUMA nodes"),
        ];
        for (field, n, what) in counts {
            // Every LLC and node holds at least one CPU.
            if n > MAX_CPUS {
                return Some((
                    field,
                    format!("{n} {what} is above the maximum of {MAX_CPUS} CPUs; no topology can meet it"),
                ));
            }
        }
        let threads = if self.smt { 2 } else { 1 };
        let least = self
            .min_cpus
            .max(self.min_llcs.max(self.min_numa_nodes) * threads);
        if least > MAX_CPUS {
            return Some((
                "requires",
                format!("together need at least {least} CPUs, above the maximum of {MAX_CPUS}\nhint: lower `min_llcs` or `min_numa_nodes`, or drop `smt`"),
            ));
        }
        None
    }
}

/// Why a topology cannot host a scenario; see [`Scenario::hostable`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unhostable {
    /// The scenario is pinned to another topology: skip.
    #[error("runs only on `{}`, not on `{}`", want.spec(), have.spec())]
    Pinned {
        /// The scenario's `topology`.
        want: Topology,
        /// The topology offered.
        have: Topology,
    },
    /// The topology lacks what `requires` declares: skip.
    #[error("{0}")]
    Unmet(String),
    /// The topology meets `requires` but the scenario does not validate on it:
    /// the scenario is wrong, or needs more than it declares. Report, do not skip.
    #[error(
        "{0}\n\
         hint: if the scenario needs more of the topology than it declares, say so under `requires` (min_cpus, min_llcs, min_numa_nodes, smt)"
    )]
    Invalid(ScenarioError),
}

impl Unhostable {
    /// Whether the pair should be skipped (the topology cannot host the scenario)
    /// rather than reported as an error.
    pub fn is_skip(&self) -> bool {
        !matches!(self, Unhostable::Invalid(_))
    }
}

impl Scenario {
    /// Whether `topo` can host the scenario: it is not pinned elsewhere, meets
    /// `requires`, and the scenario validates on it.
    ///
    /// ```
    /// use ktstr_model::{catalog, preset, Unhostable};
    /// let split = catalog::find("cpuset-llc-split").unwrap();
    /// let tiny = preset("tiny").unwrap().topology;
    /// let e = split.hostable(&tiny).unwrap_err();
    /// assert!(e.is_skip());
    /// assert_eq!(e.to_string(), "needs 2 LLCs, `1,1,2,1` has 1");
    /// split.hostable(&preset("llc-pair").unwrap().topology).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Unhostable::Pinned`] or [`Unhostable::Unmet`] when the pair should be
    /// skipped; [`Unhostable::Invalid`] when the scenario is at fault, including a
    /// `requires` no topology can meet.
    pub fn hostable(&self, topo: &Topology) -> Result<(), Unhostable> {
        if let Some((field, reason)) = self.requires.impossible() {
            return Err(Unhostable::Invalid(ScenarioError::Invalid {
                scenario: self.name.clone(),
                field: field.into(),
                reason,
            }));
        }
        if let Some(want) = self.topology.filter(|want| want != topo) {
            return Err(Unhostable::Pinned { want, have: *topo });
        }
        if let Some(reason) = self.requires.unmet(topo) {
            return Err(Unhostable::Unmet(reason));
        }
        self.validate(topo).map_err(Unhostable::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CpusetSpec, WorkType};

    fn topo(spec: &str) -> Topology {
        spec.parse().unwrap()
    }

    fn split_scenario(requires: Requirements) -> Scenario {
        Scenario::builder("halves")
            .requires(requires)
            .cgroup("a", |c| {
                c.cpuset(CpusetSpec::Split { index: 0, of: 2 })
                    .workers(1, WorkType::Spin)
            })
            .cgroup("b", |c| {
                c.cpuset(CpusetSpec::Split { index: 1, of: 2 })
                    .workers(1, WorkType::Spin)
            })
            .build()
    }

    #[test]
    fn unmet_names_each_shortfall_with_the_topology() {
        let all = Requirements {
            min_cpus: 16,
            min_llcs: 4,
            min_numa_nodes: 2,
            smt: true,
        };
        assert_eq!(
            all.unmet(&topo("1,2,2,1")).unwrap(),
            "needs 16 CPUs, `1,2,2,1` has 4; needs 4 LLCs, `1,2,2,1` has 2; \
             needs 2 NUMA nodes, `1,2,2,1` has 1; \
             needs SMT (2+ threads per core), `1,2,2,1` has 1 thread per core"
        );
        assert_eq!(
            all.unmet(&topo("2,4,2,1")).unwrap(),
            "needs 16 CPUs, `2,4,2,1` has 8; needs SMT (2+ threads per core), `2,4,2,1` has 1 thread per core"
        );
        assert_eq!(all.unmet(&topo("2,4,2,2")), None);
        assert_eq!(Requirements::NONE.unmet(&topo("1,1,1,1")), None);
    }

    #[test]
    fn zero_sets_no_minimum() {
        let r = Requirements::default();
        assert!(r.is_empty());
        assert_eq!(r.impossible(), None);
        split_scenario(r).validate(&topo("1,1,2,1")).unwrap();
    }

    #[test]
    fn validate_rejects_requirements_no_topology_meets() {
        let e = split_scenario(Requirements {
            min_cpus: MAX_CPUS + 1,
            ..Requirements::NONE
        })
        .validate(&topo("1,2,2,1"))
        .unwrap_err();
        assert_eq!(e.field(), Some("requires.min_cpus"));
        assert!(
            e.to_string()
                .contains("129 CPUs is above the maximum of 128 CPUs"),
            "{e}"
        );
        let e = split_scenario(Requirements {
            min_llcs: 100,
            smt: true,
            ..Requirements::NONE
        })
        .validate(&topo("1,2,2,1"))
        .unwrap_err();
        assert_eq!(e.field(), Some("requires"));
        assert!(e.to_string().contains("at least 200 CPUs"), "{e}");
        // Impossible is the scenario's fault, not the topology's.
        let e = split_scenario(Requirements {
            min_numa_nodes: 200,
            ..Requirements::NONE
        })
        .hostable(&topo("1,2,2,1"))
        .unwrap_err();
        assert!(!e.is_skip(), "{e}");
    }

    #[test]
    fn validate_rejects_a_topology_that_misses_a_requirement() {
        let s = split_scenario(Requirements {
            min_llcs: 2,
            ..Requirements::NONE
        });
        let e = s.validate(&topo("1,1,4,1")).unwrap_err();
        assert_eq!(e.field(), Some("requires.min_llcs"));
        assert_eq!(
            e.to_string(),
            "invalid scenario `halves`: `requires.min_llcs`: needs 2 LLCs, `1,1,4,1` has 1"
        );
        s.validate(&topo("1,2,1,1")).unwrap();
    }

    #[test]
    fn hostable_skips_unmet_and_pinned_and_reports_undeclared_needs() {
        let s = split_scenario(Requirements {
            smt: true,
            ..Requirements::NONE
        });
        let e = s.hostable(&topo("1,2,2,1")).unwrap_err();
        assert!(e.is_skip());
        assert!(matches!(e, Unhostable::Unmet(_)), "{e}");
        s.hostable(&topo("1,1,1,2")).unwrap();

        let mut pinned = s.clone();
        pinned.topology = Some(topo("1,2,2,2"));
        let e = pinned.hostable(&topo("1,1,1,2")).unwrap_err();
        assert_eq!(e.to_string(), "runs only on `1,2,2,2`, not on `1,1,1,2`");
        assert!(e.is_skip());

        // Splitting needs two CPUs, which the scenario does not declare.
        let e = split_scenario(Requirements::NONE)
            .hostable(&topo("1,1,1,1"))
            .unwrap_err();
        assert!(!e.is_skip());
        let text = e.to_string();
        assert!(text.contains("cannot cut 1 CPUs into 2 parts"), "{text}");
        assert!(
            text.contains("\nhint: if the scenario needs more"),
            "{text}"
        );
    }

    #[test]
    fn requires_round_trips_through_toml_and_is_omitted_when_empty() {
        let s = split_scenario(Requirements {
            min_llcs: 2,
            smt: true,
            ..Requirements::NONE
        });
        let text = s.to_toml().unwrap();
        assert!(
            text.contains("requires = { min_llcs = 2, smt = true }\n"),
            "{text}"
        );
        assert_eq!(Scenario::from_toml(&text).unwrap(), s);

        let all = Requirements {
            min_cpus: 4,
            min_llcs: 2,
            min_numa_nodes: 2,
            smt: true,
        };
        let s = split_scenario(all);
        assert_eq!(Scenario::from_toml(&s.to_toml().unwrap()).unwrap(), s);

        let plain = split_scenario(Requirements::NONE);
        let text = plain.to_toml().unwrap();
        assert!(!text.contains("requires"), "{text}");
        assert_eq!(Scenario::from_toml(&text).unwrap(), plain);
    }

    #[test]
    fn requires_rejects_unknown_fields_in_toml() {
        let e =
            Scenario::from_toml("name = \"x\"\nduration_ms = 2000\nrequires = { min_cpu = 2 }\n")
                .unwrap_err();
        assert!(e.to_string().contains("min_cpu"), "{e}");
    }
}
