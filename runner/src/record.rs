//! The run record: what one scenario under one scheduler on one topology did,
//! and how it was judged. The machine format of `ktstr run --json`, and what
//! the results store keeps.

use ktstr_eval::{Timeline, Verdict};
use ktstr_model::{HintPolarity, Scenario};
use ktstr_results::{RunMeta, RunMetric, StoredRun};
use ktstr_vmm::{VmExit, VmOutcome};
use serde::Serialize;

use crate::payload_judge::PayloadReport;

/// One scenario under one scheduler on one topology: the machine format of
/// `ktstr run --json` and the file the results store keeps per run.
///
/// Its JSON form carries `schema` = [`ktstr_results::RUN_RECORD_SCHEMA`],
/// the [`RunMeta`] fields at the top level, and every number in `metrics`.
#[derive(Debug, Serialize)]
pub struct RunRecord {
    /// [`ktstr_results::RUN_RECORD_SCHEMA`].
    pub schema: u32,
    /// What the run was: id, time, scenario, scheduler, topology, kernel, host.
    #[serde(flatten)]
    pub meta: RunMeta,
    /// Whether every check, the topology and every payload passed.
    pub passed: bool,
    /// The first failure, for one-line reports (`None` when it passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Wall time of the whole VM run, ms.
    pub wall_ms: f64,
    /// When the guest runtime started, ms after the kernel booted.
    pub boot_ms: Option<f64>,
    /// How the guest's topology differed from the requested one (empty: it matched).
    pub topology_mismatches: Vec<String>,
    /// Every number the run produced, with unit and polarity, as
    /// comparisons read them.
    pub metrics: Vec<RunMetric>,
    /// Every check's result and the run's numbers.
    pub verdict: Verdict,
    /// The guest's samples over time: each worker's progress and CPU, each
    /// CPU's busy share, phase and step boundaries (`None`: no samples came).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// Each payload's metrics and judgement.
    pub payloads: Vec<PayloadReport>,
    /// Findings about the payload output as a whole (LlmExtract: outputs of no
    /// known payload, payloads with no output, frames lost on the wire).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub payload_findings: Vec<String>,
}

impl RunRecord {
    /// Every check, the topology and every payload passed.
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// The first failed check's first detail, else the topology or payload
    /// problem, for one-line reports; `None` when the run passed.
    pub fn first_failure(&self) -> Option<String> {
        self.failure.clone()
    }

    /// The metric named `name`, if the run produced it.
    pub fn metric(&self, name: &str) -> Option<&RunMetric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The results store's view of this record (what comparisons read).
    pub fn to_stored(&self) -> StoredRun {
        StoredRun {
            schema: self.schema,
            meta: self.meta.clone(),
            passed: self.passed,
            failure: self.failure.clone(),
            wall_ms: self.wall_ms,
            metrics: self.metrics.clone(),
        }
    }
}

/// Whether a run passed, and its first failure.
pub(crate) fn outcome(
    verdict: &Verdict,
    mismatches: &[String],
    payloads: &[PayloadReport],
) -> (bool, Option<String>) {
    let passed = verdict.passed() && mismatches.is_empty() && payloads.iter().all(|p| p.passed);
    let failure = if let Some(c) = verdict.failures().next() {
        Some(match c.details.first() {
            Some(d) => format!("{}: {}", c.name, d.message),
            None => format!("{}: {}", c.name, c.summary),
        })
    } else if let Some(m) = mismatches.first() {
        Some(format!("topology: {m}"))
    } else {
        payloads
            .iter()
            .find(|p| !p.passed)
            .map(|p| format!("payload {} failed", p.name))
    };
    (passed, failure)
}

/// Every number of a run, named for comparisons: the run's totals, each
/// cgroup's, the custom workers' metrics (averaged over workers) and each
/// payload's. Polarity comes from what the number is (work: higher; gaps,
/// latencies, spread: lower), from a scenario's metric bounds (a minimum
/// only: higher; a maximum only: lower) and from payload hints.
pub(crate) fn run_metrics(
    verdict: &Verdict,
    payloads: &[PayloadReport],
    scenario: &Scenario,
) -> Vec<RunMetric> {
    let higher = Some(HintPolarity::HigherBetter);
    let lower = Some(HintPolarity::LowerBetter);
    let s = &verdict.stats;
    let mut out = vec![RunMetric::new(
        "total_work_units",
        s.total_work_units as f64,
        "units",
        higher,
    )];
    if let Some(w) = &s.worst_spread {
        out.push(
            RunMetric::new("worst_spread_pct", w.spread_pct, "%", lower).with_noise_floor(1.0),
        );
    }
    if let Some(g) = &s.worst_gap {
        // Gaps are seen at the guest timer's resolution (4 ms ticks).
        out.push(
            RunMetric::new("worst_gap_ms", g.gap_ms as f64, "ms", lower).with_noise_floor(4.0),
        );
    }
    if let Some(w) = s.worst_wait_to_run_us {
        out.push(
            RunMetric::new("worst_wait_to_run_us", w as f64, "us", lower).with_noise_floor(50.0),
        );
    }
    for c in &s.per_cgroup {
        let name = |m: &str| format!("cgroup.{}.{m}", c.name);
        out.push(RunMetric::new(
            name("work_units"),
            c.work_units as f64,
            "units",
            higher,
        ));
        out.push(
            RunMetric::new(name("max_gap_ms"), c.max_gap_ms as f64, "ms", lower)
                .with_noise_floor(4.0),
        );
        if let Some(sp) = c.spread_pct {
            out.push(RunMetric::new(name("spread_pct"), sp, "%", lower).with_noise_floor(1.0));
        }
        if let Some(p) = c.p99_wake_us {
            out.push(
                RunMetric::new(name("p99_wake_us"), p as f64, "us", lower).with_noise_floor(50.0),
            );
        }
        out.push(RunMetric::new(
            name("migrations_per_sec"),
            c.migrations_per_sec,
            "/s",
            None,
        ));
    }
    let mut custom: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for m in &s.custom_metrics {
        custom.entry(&m.name).or_default().push(m.value);
    }
    for (name, values) in custom {
        let polarity = scenario
            .metric_bounds
            .iter()
            .find(|b| b.name == name)
            .and_then(|b| match (b.min, b.max) {
                (Some(_), None) => higher,
                (None, Some(_)) => lower,
                _ => None,
            });
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        out.push(RunMetric::new(format!("custom.{name}"), mean, "", polarity));
    }
    for p in payloads {
        let decl = scenario.payloads.iter().find(|d| d.name == p.name);
        for m in &p.metrics {
            let hint = decl.and_then(|d| d.hints.iter().find(|h| h.name == m.name));
            let unit = m.unit.clone().or_else(|| hint.and_then(|h| h.unit.clone()));
            let name = match p.invocation {
                0 => format!("payload.{}.{}", p.name, m.name),
                i => format!("payload.{}#{i}.{}", p.name, m.name),
            };
            out.push(RunMetric {
                name,
                value: m.value,
                unit,
                polarity: hint.and_then(|h| h.polarity),
                noise_floor: None,
            });
        }
    }
    out
}

/// The VM's end in the evaluator's terms.
pub(crate) fn vm_end(o: &VmOutcome) -> ktstr_eval::VmEnd {
    use ktstr_eval::VmEnd;
    match &o.exit {
        VmExit::Completed => VmEnd::Completed,
        VmExit::KernelPanic { text } => VmEnd::KernelPanic { text: text.clone() },
        VmExit::Timeout { last_lines, .. } => VmEnd::Timeout {
            last_lines: last_lines.clone(),
        },
        VmExit::NoResult { status, last_lines } => VmEnd::NoResult {
            status: status.clone(),
            last_lines: last_lines.clone(),
        },
        VmExit::Interrupted => VmEnd::Interrupted,
    }
}
