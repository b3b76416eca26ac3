//! A comparison as JUnit XML: one case per scenario × metric; a regression
//! is a failure, everything else passes (with the numbers in the output).

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{Comparison, Outcome};

/// The error of [`junit`]: the XML writer failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the comparison as JUnit XML: {0}")]
pub struct CompareJunitError(String);

/// The comparison as a JUnit report (`ktstr compare --junit FILE`).
///
/// # Errors
///
/// [`CompareJunitError`] if the XML cannot be written.
pub fn junit(c: &Comparison) -> Result<String, CompareJunitError> {
    let mut report = Report::new("ktstr compare");
    let mut suite = TestSuite::new(format!("{} vs {}", c.a.label, c.b.label));
    for m in &c.changes {
        let summary = format!(
            "{}: A median {} , B median {}, change {}, p = {:.4} ({})",
            m.outcome.label(),
            m.a.median,
            m.b.median,
            m.change_pct
                .map_or_else(|| "n/a".to_string(), |p| format!("{p:+.1}%")),
            m.p_value,
            m.p_method
        );
        let status = if m.outcome == Outcome::Regressed {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(summary.clone());
            s
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(m.metric.as_str(), status);
        case.set_classname(format!("ktstr.compare.{}", m.scenario));
        case.set_system_out(summary);
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| CompareJunitError(e.to_string()))
}
