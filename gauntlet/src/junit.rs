//! The gauntlet as JUnit XML: one suite per scenario, one case per cell;
//! failed cells are failures, cells the harness could not run are errors,
//! skipped and not-run cells are skipped with their reason.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{CellStatus, GauntletReport};

/// The error of [`junit`]: the XML writer failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the gauntlet as JUnit XML: {0}")]
pub struct GauntletJunitError(String);

/// The report as JUnit XML (`ktstr gauntlet --junit FILE`).
///
/// # Errors
///
/// [`GauntletJunitError`] if the XML cannot be written.
pub fn junit(report: &GauntletReport) -> Result<String, GauntletJunitError> {
    let mut out = Report::new("ktstr gauntlet");
    for scenario in &report.scenarios {
        let mut suite = TestSuite::new(scenario.as_str());
        for c in report.cells.iter().filter(|c| &c.cell.scenario == scenario) {
            let detail = c.detail.clone().unwrap_or_default();
            let status = match c.status {
                CellStatus::Pass => TestCaseStatus::success(),
                CellStatus::Fail | CellStatus::Error => {
                    let kind = match c.status {
                        CellStatus::Fail => NonSuccessKind::Failure,
                        _ => NonSuccessKind::Error,
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(detail);
                    s
                }
                CellStatus::Skip | CellStatus::NotRun => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(detail);
                    s
                }
            };
            let mut case = TestCase::new(
                format!("{} on {}", c.cell.scheduler_label(), c.cell.preset),
                status,
            );
            case.set_classname(format!("ktstr.gauntlet.{scenario}"));
            if let Some(ms) = c.wall_ms {
                case.set_time(Duration::from_secs_f64(ms.max(0.0) / 1e3));
            }
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    out.to_string()
        .map_err(|e| GauntletJunitError(e.to_string()))
}
