//! One combination the gauntlet can run, and what came of it.

use serde::{Deserialize, Serialize};

use ktstr_model::Topology;

/// One run: a scenario on a preset under one profile of one scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The scenario's name.
    pub scenario: String,
    /// The preset's name.
    pub preset: String,
    /// The preset's topology.
    pub topology: Topology,
    /// The scheduler's name (`eevdf`, `scx_bpfland`, ...).
    pub scheduler: String,
    /// The flag profile's name (`default` without flags).
    pub profile: String,
    /// The scheduler's whole argument list for this profile.
    pub args: Vec<String>,
    /// The scenario's own run time, ms (the floor of a cell's duration).
    pub scenario_ms: u64,
}

impl Cell {
    /// `scheduler` or `scheduler[profile]` when the profile is not the default.
    pub fn scheduler_label(&self) -> String {
        if self.profile == "default" {
            self.scheduler.clone()
        } else {
            format!("{}[{}]", self.scheduler, self.profile)
        }
    }
}

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// Every check passed.
    Pass,
    /// A check failed (the detail says which).
    Fail,
    /// The preset cannot host the scenario (the reason says why).
    Skip,
    /// Left out: the budget ran out, or the run was interrupted.
    NotRun,
    /// The harness could not run it (no VM, bad input): an error, not a verdict.
    Error,
}

/// What running a cell gave: the caller's runner returns this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellOutcome {
    /// Pass, fail or error.
    pub status: CellStatus,
    /// The first failed detail (or the error), for the failure list.
    pub first_detail: Option<String>,
    /// Wall time of the run, ms.
    pub wall_ms: f64,
}

/// A cell with its outcome, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// The combination.
    #[serde(flatten)]
    pub cell: Cell,
    /// Its status.
    pub status: CellStatus,
    /// Why it failed, errored, was skipped or not run.
    pub detail: Option<String>,
    /// Wall time, ms (absent unless it ran).
    pub wall_ms: Option<f64>,
}
