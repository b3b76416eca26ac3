//! Turning payload output from the guest into metrics (through the output
//! adapters) and judging them against the payload's checks and bounds.

use ktstr_adapters::{evaluate, AdapterInput, AdapterRegistry, Metric, MetricHint};
use ktstr_model::Scenario;
use ktstr_wire::{Message, PayloadResult};
use serde::Serialize;

/// One payload's outcome.
#[derive(Debug, Serialize)]
pub(crate) struct PayloadReport {
    pub name: String,
    pub invocation: u32,
    pub adapter: String,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub wall_ms: f64,
    pub metrics: Vec<Metric>,
    /// What the adapter said (where it read, what it skipped).
    pub details: Vec<String>,
    /// Failed checks and bounds, a run that never reported, a timeout.
    pub violations: Vec<String>,
    pub passed: bool,
    /// The last lines the payload printed, as evidence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_tail: Vec<String>,
}

/// Judges every payload the scenario declares, pairing results by invocation index.
pub(crate) fn judge(
    scenario: &Scenario,
    messages: &[Message],
    registry: &AdapterRegistry,
) -> Vec<PayloadReport> {
    let results: Vec<&PayloadResult> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Payload(r) => Some(r),
            _ => None,
        })
        .collect();
    scenario
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
            report.passed = report.violations.is_empty();
            // The end of the output is the evidence a metric can be checked against.
            report.output_tail = tail(&r.stdout, "stdout")
                .chain(tail(&r.stderr, "stderr"))
                .collect();
            report
        })
        .collect()
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

/// One line per payload, for people.
pub(crate) fn render(reports: &[PayloadReport]) -> String {
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
            for l in &r.output_tail {
                out.push_str(&format!("      {l}\n"));
            }
        }
    }
    out
}
