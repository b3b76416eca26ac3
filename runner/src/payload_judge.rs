//! Turning payload output from the guest into metrics (through the output
//! adapters, or the LlmExtract pipeline) and judging them against the
//! payload's checks and bounds.

use ktstr_adapters::{
    check_violations, evaluate, AdapterInput, AdapterRegistry, Metric, MetricHint, PayloadCheck,
};
use ktstr_llm_pipeline::{Extractor, WireHealth};
use ktstr_model::Scenario;
use ktstr_wire::{Message, PayloadResult};
use serde::Serialize;

use crate::llm_extract::{self, Extracted};

/// One payload's outcome.
#[derive(Debug, Serialize)]
pub struct PayloadReport {
    /// The payload's name.
    pub name: String,
    /// Which run of it (payloads may start several times).
    pub invocation: u32,
    /// The output adapter that read its output.
    pub adapter: String,
    /// Its exit code (`None`: killed or never reported).
    pub exit_code: Option<i32>,
    /// Whether it was killed at its time limit.
    pub timed_out: bool,
    /// Its wall time, ms.
    pub wall_ms: f64,
    /// The metrics read from its output.
    pub metrics: Vec<Metric>,
    /// What the adapter said (where it read, what it skipped).
    pub details: Vec<String>,
    /// Failed checks and bounds, a run that never reported, a timeout.
    pub violations: Vec<String>,
    /// Whether it exited as expected and every check and bound held.
    pub passed: bool,
    /// The last lines the payload printed, as evidence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_tail: Vec<String>,
}

/// Every payload's outcome, and findings about the run's payload output as a
/// whole (outputs of no known payload, payloads with no output, wire loss).
#[derive(Debug, Default)]
pub(crate) struct PayloadJudgement {
    pub reports: Vec<PayloadReport>,
    pub findings: Vec<String>,
}

/// Judges every payload the scenario declares, pairing results by invocation
/// index: LlmExtract payloads through `llm` and the LlmExtract pipeline, the
/// others through the registry's adapters.
pub(crate) fn judge(
    scenario: &Scenario,
    messages: &[Message],
    registry: &AdapterRegistry,
    llm: &dyn Extractor,
    wire: WireHealth,
) -> PayloadJudgement {
    let results: Vec<&PayloadResult> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Payload(r) => Some(r),
            _ => None,
        })
        .collect();
    let mut llm_run = llm_extract::extract_run(llm, &scenario.payloads, &results, wire);
    let reports = scenario
        .payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut report = PayloadReport {
                name: p.name.clone(),
                invocation: i as u32,
                adapter: p.adapter.clone(),
                exit_code: None,
                timed_out: false,
                wall_ms: 0.0,
                metrics: Vec::new(),
                details: Vec::new(),
                violations: Vec::new(),
                passed: false,
                output_tail: Vec::new(),
            };
            let Some(r) = results.iter().find(|r| r.invocation == i as u32) else {
                report.violations.push(
                    "no result from the guest: the payload never reported (the run ended early?)"
                        .into(),
                );
                return report;
            };
            report.exit_code = r.exit_code;
            report.timed_out = r.timed_out;
            report.wall_ms = r.wall_ns as f64 / 1e6;
            if let Some(e) = &r.error {
                report.violations.push(e.clone());
                return report;
            }
            if r.timed_out {
                report
                    .violations
                    .push(format!("killed after its timeout of {} ms", p.timeout_ms));
            }
            if r.truncated_bytes > 0 {
                report.details.push(format!(
                    "{} output bytes beyond the capture limit were dropped",
                    r.truncated_bytes
                ));
            }
            if llm_extract::is_llm_extract(p) {
                let out = llm_run.payloads.remove(&(i as u32)).unwrap_or_default();
                judge_llm_extract(&p.checks, out, r.exit_code, &mut report);
            } else {
                let input = AdapterInput {
                    stdout: r.stdout.clone(),
                    stderr: r.stderr.clone(),
                    exit_code: r.exit_code,
                    hints: p.hints.iter().map(MetricHint::from).collect(),
                };
                match registry.extract(&p.adapter, &input) {
                    Ok(out) => {
                        report.violations.extend(evaluate(p, &out, r.exit_code));
                        report.details.extend(out.details);
                        report.metrics = out.metrics;
                    }
                    Err(e) => report.violations.push(e.to_string()),
                }
            }
            report.passed = report.violations.is_empty();
            // The end of the output is the evidence a metric can be checked against.
            report.output_tail = tail(&r.stdout, "stdout")
                .chain(tail(&r.stderr, "stderr"))
                .collect();
            report
        })
        .collect();
    PayloadJudgement {
        reports,
        findings: llm_run.findings,
    }
}

/// The checks over what the pipeline extracted, then its own violations
/// (sanity, bounds); when the model did not load, that is the one violation and
/// only exit-code checks still apply.
fn judge_llm_extract(
    checks: &[PayloadCheck],
    out: Extracted,
    exit_code: Option<i32>,
    report: &mut PayloadReport,
) {
    let checks = checks
        .iter()
        .filter(|c| !out.model_failed || matches!(c, PayloadCheck::ExitCodeEquals { .. }));
    report
        .violations
        .extend(checks.flat_map(|c| check_violations(c, &out.metrics, exit_code)));
    report.violations.extend(out.violations);
    report.details.extend(out.details);
    report.metrics = out.metrics;
}

/// The last lines of one stream, labelled.
fn tail<'a>(text: &'a str, label: &'a str) -> impl Iterator<Item = String> + 'a {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(8);
    lines
        .into_iter()
        .skip(from)
        .map(move |l| format!("{label}: {l}"))
}

/// One line per payload, for people, then the run-wide findings.
pub fn render(reports: &[PayloadReport], findings: &[String]) -> String {
    let mut out = String::new();
    for r in reports {
        let shown: Vec<String> = r
            .metrics
            .iter()
            .take(4)
            .map(|m| format!("{}={}", m.name, m.value))
            .collect();
        let more = r.metrics.len().saturating_sub(shown.len());
        out.push_str(&format!(
            "{} payload {} ({}): {} metric(s) {}{} in {:.0} ms, exit {}\n",
            if r.passed { "PASS" } else { "FAIL" },
            r.name,
            r.adapter,
            r.metrics.len(),
            shown.join(" "),
            if more > 0 {
                format!(" +{more}")
            } else {
                String::new()
            },
            r.wall_ms,
            r.exit_code
                .map_or_else(|| "-".to_string(), |c| c.to_string()),
        ));
        for v in &r.violations {
            out.push_str(&format!("    {v}\n"));
        }
        if !r.passed {
            for d in &r.details {
                out.push_str(&format!("    note: {d}\n"));
            }
            for l in &r.output_tail {
                out.push_str(&format!("      {l}\n"));
            }
        }
    }
    for f in findings {
        out.push_str(&format!("payloads: {f}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use ktstr_adapter_json::JsonAdapter;
    use ktstr_llm_pipeline::{LlmExtractError, Outcome};
    use ktstr_model::{Payload, PayloadHint};

    use super::*;

    /// The model is missing.
    struct NoModel;

    impl Extractor for NoModel {
        fn extract(&self, _: &str, _: &[String]) -> Result<Outcome, LlmExtractError> {
            Err(LlmExtractError::ModelLoad(
                "model file `/m.gguf` does not exist".into(),
            ))
        }
    }

    fn payload(name: &str, adapter: &str, checks: Vec<PayloadCheck>) -> Payload {
        let mut p = Payload::new(name, "/bin/true", adapter);
        p.timeout_ms = 1000;
        p.hints = vec![PayloadHint {
            name: "time".into(),
            polarity: None,
            unit: None,
        }];
        p.checks = checks;
        p
    }

    fn result(invocation: u32, stdout: &str, exit_code: i32) -> Message {
        Message::Payload(PayloadResult {
            invocation,
            stdout: stdout.into(),
            exit_code: Some(exit_code),
            ..Default::default()
        })
    }

    #[test]
    fn llm_extract_payloads_go_through_the_pipeline_and_others_through_adapters() {
        let exists = PayloadCheck::Exists {
            metric: "time".into(),
        };
        let exit_zero = PayloadCheck::ExitCodeEquals { code: 0 };
        let mut scenario = Scenario::builder("s").build();
        scenario.payloads = vec![
            payload("fio", "json", vec![]),
            payload("hackbench", "llm_extract", vec![exists, exit_zero]),
        ];
        let messages = [result(1, "Time: 0.5", 3), result(0, r#"{"iops": 7}"#, 0)];
        let registry = AdapterRegistry::new().with_builtin(JsonAdapter);
        let wire = WireHealth {
            ring_drops: 1,
            crc_errors: 0,
            host_drops: 0,
        };
        let judged = judge(&scenario, &messages, &registry, &NoModel, wire);

        let fio = &judged.reports[0];
        assert!(fio.passed, "{:?}", fio.violations);
        assert_eq!(fio.metrics[0].name, "iops");

        // The load failure is the one finding of the output; the metric check
        // is skipped, the exit-code check still applies.
        let hackbench = &judged.reports[1];
        assert!(!hackbench.passed);
        assert!(hackbench.metrics.is_empty());
        assert_eq!(
            hackbench.violations,
            [
                "exit code 3, expected 0",
                "LlmExtract model load failed: model file `/m.gguf` does not exist"
            ]
        );
        assert_eq!(judged.findings.len(), 1);
        assert!(judged.findings[0].starts_with("1 telemetry frames were dropped"));

        let text = render(&judged.reports, &judged.findings);
        assert!(
            text.contains("FAIL payload hackbench (llm_extract): 0 metric(s)"),
            "{text}"
        );
        assert!(
            text.contains("    LlmExtract model load failed: "),
            "{text}"
        );
        assert!(
            text.contains("payloads: 1 telemetry frames were dropped"),
            "{text}"
        );
    }
}
