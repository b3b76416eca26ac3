//! Expanding scenarios × presets × schedulers' profiles into cells.

use ktstr_model::{Preset, Scenario};

use crate::Cell;

/// A scheduler with the flag profiles to run it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerUnderTest {
    /// The name reports use.
    pub name: String,
    /// `(profile name, whole argument list)`; at least one.
    pub profiles: Vec<(String, Vec<String>)>,
}

impl SchedulerUnderTest {
    /// A scheduler run only with its default (no) arguments.
    pub fn plain(name: &str) -> SchedulerUnderTest {
        SchedulerUnderTest {
            name: name.to_owned(),
            profiles: vec![("default".to_owned(), Vec::new())],
        }
    }
}

/// A combination that cannot run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The combination.
    pub cell: Cell,
    /// The preset lacks what the scenario needs (or the scenario is pinned
    /// to another topology).
    pub reason: String,
}

/// The cells to choose from and the ones skipped with their reasons.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Runnable combinations, in scenario, preset, scheduler, profile order.
    pub cells: Vec<Cell>,
    /// Combinations the preset cannot host.
    pub skipped: Vec<Skipped>,
    /// Combinations whose scenario is invalid on the preset although the
    /// preset meets its declared needs: a scenario bug, reported as an error.
    pub invalid: Vec<Skipped>,
}

/// Every combination of `scenarios`, `presets` and the schedulers' profiles.
pub fn plan(scenarios: &[Scenario], presets: &[Preset], schedulers: &[SchedulerUnderTest]) -> Plan {
    let mut out = Plan::default();
    for s in scenarios {
        for p in presets {
            let hostable = s.hostable(&p.topology);
            for sched in schedulers {
                for (profile, args) in &sched.profiles {
                    let cell = Cell {
                        scenario: s.name.clone(),
                        preset: p.name.to_owned(),
                        topology: p.topology,
                        scheduler: sched.name.clone(),
                        profile: profile.clone(),
                        args: args.clone(),
                        scenario_ms: s.duration_ms,
                    };
                    match &hostable {
                        Ok(()) => out.cells.push(cell),
                        Err(e) if e.is_skip() => out.skipped.push(Skipped {
                            cell,
                            reason: e.to_string(),
                        }),
                        Err(e) => out.invalid.push(Skipped {
                            cell,
                            reason: e.to_string(),
                        }),
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_model::{catalog, preset};

    #[test]
    fn a_preset_that_cannot_host_a_scenario_is_skipped_with_the_reason() {
        let split = catalog::find("cpuset-llc-split").unwrap();
        let steady = catalog::find("steady").unwrap();
        let presets = [*preset("tiny").unwrap(), *preset("llc-pair").unwrap()];
        let mut bpf = SchedulerUnderTest::plain("scx_x");
        bpf.profiles.push(("fast".into(), vec!["-f".into()]));
        let p = plan(
            &[split, steady],
            &presets,
            &[SchedulerUnderTest::plain("eevdf"), bpf],
        );
        // 2 scenarios x 2 presets x 3 (scheduler, profile) = 12, one pair skipped 3 times.
        assert_eq!(p.cells.len() + p.skipped.len(), 12);
        assert_eq!(p.skipped.len(), 3);
        assert!(p.invalid.is_empty());
        let s = &p.skipped[0];
        assert_eq!(
            (s.cell.scenario.as_str(), s.cell.preset.as_str()),
            ("cpuset-llc-split", "tiny")
        );
        assert!(s.reason.contains("LLC"), "{}", s.reason);
        assert!(p
            .cells
            .iter()
            .any(|c| c.profile == "fast" && c.args == ["-f"]));
    }
}
