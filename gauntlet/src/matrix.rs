//! The gauntlet's report: every cell (the JSON) and the matrix a person
//! scans (scenario rows, preset columns), then the failures.

use serde::{Deserialize, Serialize};

use crate::{CellResult, CellStatus};

/// The whole gauntlet: what `ktstr gauntlet --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GauntletReport {
    /// Scenario names, in row order.
    pub scenarios: Vec<String>,
    /// Preset names, in column order.
    pub presets: Vec<String>,
    /// Every cell: run, skipped (with the reason) or not run.
    pub cells: Vec<CellResult>,
    /// The budget, ms, if one was set.
    pub budget_ms: Option<u64>,
    /// Wall time of the whole gauntlet, ms.
    pub elapsed_ms: u64,
}

impl GauntletReport {
    /// Number of cells with `status`.
    pub fn count(&self, status: CellStatus) -> usize {
        self.cells.iter().filter(|c| c.status == status).count()
    }

    /// Whether no cell failed or errored.
    pub fn passed(&self) -> bool {
        self.count(CellStatus::Fail) == 0 && self.count(CellStatus::Error) == 0
    }
}

/// The text report: the matrix, the failures with their first detail, and
/// a one-line summary.
///
/// A matrix cell aggregates the scheduler profiles run there: `pass`,
/// `FAIL k/n` (k of n runs failed), `ERR`, `skip` (the preset cannot host
/// the scenario), `-` (not run: budget).
pub fn render_matrix(r: &GauntletReport) -> String {
    let first_col = r
        .scenarios
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(8)
        .max(8);
    let widths: Vec<usize> = r.presets.iter().map(|p| p.len().max(8)).collect();
    let mut out = format!("{:<first_col$}", "scenario");
    for (p, w) in r.presets.iter().zip(&widths) {
        out += &format!("  {p:<w$}");
    }
    out = out.trim_end().to_owned() + "\n";
    for s in &r.scenarios {
        let mut line = format!("{s:<first_col$}");
        for (p, w) in r.presets.iter().zip(&widths) {
            let here: Vec<&CellResult> = r
                .cells
                .iter()
                .filter(|c| &c.cell.scenario == s && &c.cell.preset == p)
                .collect();
            line += &format!("  {:<w$}", mark(&here));
        }
        out += line.trim_end();
        out += "\n";
    }
    let bad: Vec<&CellResult> = r
        .cells
        .iter()
        .filter(|c| matches!(c.status, CellStatus::Fail | CellStatus::Error))
        .collect();
    if !bad.is_empty() {
        out += "\nfailures:\n";
        for c in bad {
            let tag = if c.status == CellStatus::Fail {
                "FAIL"
            } else {
                "ERR "
            };
            out += &format!(
                "  {tag} {} on {} under {}: {}\n",
                c.cell.scenario,
                c.cell.preset,
                c.cell.scheduler_label(),
                c.detail.as_deref().unwrap_or("(no detail)")
            );
        }
    }
    let budget = r
        .budget_ms
        .map(|b| format!(" of a {} budget", minutes(b)))
        .unwrap_or_default();
    out += &format!(
        "\n{} cells: {} passed, {} failed, {} errors, {} skipped, {} not run — {}{budget}\n",
        r.cells.len(),
        r.count(CellStatus::Pass),
        r.count(CellStatus::Fail),
        r.count(CellStatus::Error),
        r.count(CellStatus::Skip),
        r.count(CellStatus::NotRun),
        minutes(r.elapsed_ms),
    );
    out
}

fn mark(here: &[&CellResult]) -> String {
    let n = |s| here.iter().filter(|c| c.status == s).count();
    let ran = n(CellStatus::Pass) + n(CellStatus::Fail) + n(CellStatus::Error);
    if n(CellStatus::Error) > 0 && n(CellStatus::Fail) == 0 {
        "ERR".to_owned()
    } else if n(CellStatus::Fail) > 0 {
        format!("FAIL {}/{ran}", n(CellStatus::Fail) + n(CellStatus::Error))
    } else if n(CellStatus::Pass) > 0 {
        "pass".to_owned()
    } else if n(CellStatus::Skip) > 0 {
        "skip".to_owned()
    } else {
        "-".to_owned()
    }
}

fn minutes(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}m{:02}s", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cell;

    fn result(
        scenario: &str,
        preset: &str,
        profile: &str,
        status: CellStatus,
        detail: Option<&str>,
    ) -> CellResult {
        CellResult {
            cell: Cell {
                scenario: scenario.into(),
                preset: preset.into(),
                topology: "1,2,2,1".parse().unwrap(),
                scheduler: "scx_simple".into(),
                profile: profile.into(),
                args: Vec::new(),
                scenario_ms: 3000,
            },
            status,
            detail: detail.map(str::to_owned),
            wall_ms: None,
        }
    }

    #[test]
    fn matrix_snapshot() {
        use CellStatus::*;
        let r = GauntletReport {
            scenarios: vec!["steady".into(), "cpuset-llc-split".into()],
            presets: vec!["tiny".into(), "llc-pair".into(), "numa2-smt".into()],
            cells: vec![
                result("steady", "tiny", "default", Pass, None),
                result("steady", "llc-pair", "default", Pass, None),
                result(
                    "steady",
                    "llc-pair",
                    "fast",
                    Fail,
                    Some("gap: stuck 2300 ms on cpu 1 at +900 ms"),
                ),
                result("steady", "numa2-smt", "default", NotRun, Some("budget")),
                result(
                    "cpuset-llc-split",
                    "tiny",
                    "default",
                    Skip,
                    Some("needs 2 LLCs"),
                ),
                result(
                    "cpuset-llc-split",
                    "llc-pair",
                    "default",
                    Error,
                    Some("vm: qemu failed to start"),
                ),
                result("cpuset-llc-split", "numa2-smt", "default", Pass, None),
            ],
            budget_ms: Some(300_000),
            elapsed_ms: 291_400,
        };
        let expected = "\
scenario          tiny      llc-pair  numa2-smt
steady            pass      FAIL 1/2  -
cpuset-llc-split  skip      ERR       pass

failures:
  FAIL steady on llc-pair under scx_simple[fast]: gap: stuck 2300 ms on cpu 1 at +900 ms
  ERR  cpuset-llc-split on llc-pair under scx_simple: vm: qemu failed to start

7 cells: 3 passed, 1 failed, 1 errors, 1 skipped, 1 not run — 4m51s of a 5m00s budget
";
        assert_eq!(render_matrix(&r), expected);
        assert!(!r.passed());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["cells"].as_array().unwrap().len(), 7);
        assert_eq!(json["cells"][4]["status"], "skip");
        assert_eq!(json["cells"][4]["scenario"], "cpuset-llc-split");
    }
}
