//! `ktstr list`: the scenario catalog.

use std::process::ExitCode;

use clap::Args;
use ktstr_model::{catalog, Scenario};
use serde::Serialize;

use crate::CmdResult;

#[derive(Args)]
pub(crate) struct ListArgs {
    /// Also list the seeded-fault scenarios (they must fail).
    #[arg(long)]
    faults: bool,
    /// Also list the scenarios that run benchmark payloads (fio, cyclictest, ...).
    #[arg(long)]
    payloads: bool,
    /// Print JSON (the full scenario definitions).
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Entry<'a> {
    seeded_fault: bool,
    #[serde(flatten)]
    scenario: &'a Scenario,
}

pub(crate) fn run(a: ListArgs) -> CmdResult {
    let normal = catalog::catalog();
    let faults = if a.faults {
        catalog::fault_scenarios()
    } else {
        Vec::new()
    };
    let entries: Vec<Entry<'_>> = normal
        .iter()
        .map(|s| Entry {
            seeded_fault: false,
            scenario: s,
        })
        .chain(faults.iter().map(|s| Entry {
            seeded_fault: true,
            scenario: s,
        }))
        .collect();
    if a.json {
        crate::failure::print_json(&entries)?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in &entries {
        let s = e.scenario;
        let workers: u32 = s
            .cgroups
            .iter()
            .flat_map(|c| &c.workers)
            .map(|w| w.count)
            .sum();
        let mark = match (e.seeded_fault, s.payloads.is_empty()) {
            (true, _) => " [fault]",
            (false, false) => " [payload]",
            _ => "",
        };
        println!(
            "{:<18} {:>5.1} s  {:>2} cgroups  {:>3} workers  {:>2} steps  {}{mark}",
            s.name,
            s.duration_ms as f64 / 1e3,
            s.cgroups.len(),
            workers,
            s.steps.len(),
            s.description
        );
    }
    Ok(ExitCode::SUCCESS)
}
