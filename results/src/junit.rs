//! Runs as JUnit XML, for CI systems: one test case per run, a failed run a
//! failure with its first failure as the message.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{ResultsError, StoredRun};

/// A JUnit report named `name` with one suite per scenario and one case per
/// run (`scheduler on topology`, the run id in its properties).
///
/// # Errors
///
/// [`ResultsError::Junit`] if the XML cannot be written.
pub fn runs_junit(name: &str, runs: &[StoredRun]) -> Result<String, ResultsError> {
    let mut report = Report::new(name);
    let mut scenarios: Vec<&str> = runs.iter().map(|r| r.meta.scenario.as_str()).collect();
    scenarios.sort_unstable();
    scenarios.dedup();
    for scenario in scenarios {
        let mut suite = TestSuite::new(scenario);
        for r in runs.iter().filter(|r| r.meta.scenario == scenario) {
            let status = if r.passed {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(r.failure.clone().unwrap_or_else(|| "failed".into()));
                s.set_description(format!(
                    "run {}: `ktstr results show {}` has the evidence",
                    r.meta.id, r.meta.id
                ));
                s
            };
            let mut case = TestCase::new(
                format!("{} on {}", r.meta.scheduler, r.meta.topology),
                status,
            );
            case.set_classname(format!("ktstr.{scenario}"));
            case.set_time(Duration::from_secs_f64(r.wall_ms.max(0.0) / 1e3));
            case.add_property(quick_junit::Property::new("run_id", r.meta.id.as_str()));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .map_err(|e| ResultsError::Junit(e.to_string()))
}
