//! LlmExtract payloads in `ktstr run`: their outputs go through
//! [`ktstr_llm_pipeline`], which applies the LlmExtract contract (pairing by
//! invocation, stdout before stderr, one detail on a model-load failure,
//! sanity, bounds, orphan outputs, empty slots, wire health). The model itself
//! runs in the LlmExtract adapter plugin, so ktstr does not link llama.cpp.

use std::collections::BTreeMap;

use ktstr_adapters::{
    adapter_names_match, AdapterFailure, AdapterInput, AdapterOutput, AdapterRegistry,
    AdapterRunError, Metric, MetricHint, Polarity,
};
use ktstr_llm_pipeline::{
    self as pipeline, Bounds, DetailKind, Extractor, LlmExtractError, Outcome, RawOutput, Slot,
    WireHealth, SOURCE_LLM_EXTRACT,
};
use ktstr_model::Payload;
use ktstr_wire::PayloadResult;

/// The adapter's name; payload definitions may also write `llm_extract`.
const LLM_EXTRACT: &str = SOURCE_LLM_EXTRACT;

/// Whether the payload's metrics come from LlmExtract.
pub fn is_llm_extract(p: &Payload) -> bool {
    adapter_names_match(&p.adapter, LLM_EXTRACT)
}

/// The LlmExtract adapter of a registry (the plugin) as the pipeline's
/// [`Extractor`]: one text at a time, passed as stdout.
pub struct PluginExtractor<'a> {
    registry: &'a AdapterRegistry,
}

impl<'a> PluginExtractor<'a> {
    /// The LlmExtract adapter of `registry`.
    pub fn new(registry: &'a AdapterRegistry) -> Self {
        Self { registry }
    }
}

impl Extractor for PluginExtractor<'_> {
    fn extract(&self, text: &str, hints: &[String]) -> Result<Outcome, LlmExtractError> {
        let input = AdapterInput {
            stdout: text.to_owned(),
            stderr: String::new(),
            exit_code: None,
            hints: hints
                .iter()
                .map(|name| MetricHint {
                    name: name.clone(),
                    polarity: Polarity::Unknown,
                    unit: None,
                })
                .collect(),
        };
        outcome(self.registry.try_extract(LLM_EXTRACT, &input))
    }
}

/// The adapter's answer in the pipeline's terms: a model that cannot load (or
/// a plugin that is not there) is a load failure, a stream it could not read or
/// a panic is a failed extraction, details of a success are rejected values.
fn outcome(
    answer: Result<Result<AdapterOutput, AdapterFailure>, AdapterRunError>,
) -> Result<Outcome, LlmExtractError> {
    match answer {
        Ok(Ok(out)) => Ok(Outcome {
            metrics: out.metrics,
            rejected: out.details,
        }),
        Ok(Err(AdapterFailure::Unavailable(reason))) => Err(LlmExtractError::ModelLoad(reason)),
        Ok(Err(AdapterFailure::Failed(reason))) => Err(LlmExtractError::Failed(reason)),
        Err(AdapterRunError::UnknownAdapter { .. }) => Err(LlmExtractError::ModelLoad(format!(
            "the {LLM_EXTRACT} adapter plugin is not loaded\n\
             hint: build it beside ktstr (`cargo build -p ktstr-adapter-llm-extract-plugin`) or pass `--plugin PATH`"
        ))),
        Err(e @ AdapterRunError::Panicked { .. }) => Err(LlmExtractError::Failed(e.to_string())),
    }
}

/// What LlmExtract made of one payload invocation.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Extracted {
    pub metrics: Vec<Metric>,
    /// Rejected values, failed streams, blank output, duplicate outputs.
    pub details: Vec<String>,
    /// A model-load failure, sanity and bounds violations.
    pub violations: Vec<String>,
    /// The model did not load, so the payload's metric checks are skipped.
    pub model_failed: bool,
}

/// Everything LlmExtract made of one run.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct LlmExtractRun {
    /// By payload invocation.
    pub payloads: BTreeMap<u32, Extracted>,
    /// Findings about the run as a whole: outputs of no known payload, payloads
    /// with no output, frames lost on the wire.
    pub findings: Vec<String>,
}

/// The run's wire counters as the pipeline reports them.
pub(crate) fn wire_health(w: &ktstr_vmm::WireStats) -> WireHealth {
    WireHealth {
        ring_drops: w.ring_dropped_frames,
        crc_errors: w.crc_errors + w.bad_lengths,
        host_drops: w.host_dropped_messages,
    }
}

/// Runs the pipeline over the LlmExtract payloads of `payloads` and the
/// results the guest sent for them (and for invocations no payload has). A
/// result that could not start its payload has no output to read. Nothing runs
/// when there is neither.
pub(crate) fn extract_run(
    extractor: &dyn Extractor,
    payloads: &[Payload],
    results: &[&PayloadResult],
    wire: WireHealth,
) -> LlmExtractRun {
    let slots: Vec<Slot> = payloads
        .iter()
        .zip(0u32..)
        .filter(|(p, _)| is_llm_extract(p))
        .map(|(p, invocation)| slot(invocation, p))
        .collect();
    let has_slot = |n: u32| slots.iter().any(|s| s.invocation == n);
    let outputs: Vec<RawOutput> = results
        .iter()
        .filter(|r| r.error.is_none())
        .filter(|r| has_slot(r.invocation) || r.invocation as usize >= payloads.len())
        .map(|r| RawOutput {
            invocation: r.invocation,
            stdout: r.stdout.clone(),
            stderr: r.stderr.clone(),
        })
        .collect();
    let mut run = LlmExtractRun::default();
    if slots.is_empty() && outputs.is_empty() {
        return run;
    }
    let report = pipeline::run(extractor, &slots, &outputs, wire);
    for out in report.outputs {
        let hints: Vec<MetricHint> = payloads[out.invocation as usize]
            .hints
            .iter()
            .map(MetricHint::from)
            .collect();
        let mut adapted = AdapterOutput {
            metrics: out.metrics,
            details: Vec::new(),
        };
        adapted.apply_hint_units(&hints);
        run.payloads.entry(out.invocation).or_default().metrics = adapted.metrics;
    }
    for detail in report.details {
        let Some(n) = detail.invocation.filter(|&n| has_slot(n)) else {
            run.findings.push(detail.message);
            continue;
        };
        let extracted = run.payloads.entry(n).or_default();
        match detail.kind {
            DetailKind::ModelLoadFailed => {
                extracted.model_failed = true;
                extracted.violations.push(detail.message);
            }
            DetailKind::Sanity | DetailKind::Bounds => extracted.violations.push(detail.message),
            _ => extracted.details.push(detail.message),
        }
    }
    run
}

fn slot(invocation: u32, p: &Payload) -> Slot {
    let bounds = p.bounds.as_ref();
    Slot {
        invocation,
        hints: p.hints.iter().map(|h| h.name.clone()).collect(),
        bounds: Bounds {
            min_count: bounds.and_then(|b| b.min_count),
            floor: bounds.and_then(|b| b.floor),
            ceiling: bounds.and_then(|b| b.ceiling),
        },
    }
}

#[cfg(test)]
mod tests {
    use ktstr_adapters::{Adapter, AdapterInfo, Stream};
    use ktstr_model::{PayloadBounds, PayloadHint};

    use super::*;

    /// A stand-in for the plugin: answers by text.
    struct FakeLlm(fn(&str) -> Result<AdapterOutput, AdapterFailure>);

    impl Adapter for FakeLlm {
        fn info(&self) -> AdapterInfo {
            AdapterInfo {
                name: LLM_EXTRACT.into(),
                version: "0".into(),
                description: String::new(),
            }
        }
        fn extract(&self, _: &AdapterInput) -> AdapterOutput {
            unreachable!("ktstr run uses try_extract")
        }
        fn try_extract(&self, input: &AdapterInput) -> Result<AdapterOutput, AdapterFailure> {
            assert!(input.stderr.is_empty(), "one stream at a time");
            (self.0)(&input.stdout)
        }
    }

    fn time(text: &str) -> Result<AdapterOutput, AdapterFailure> {
        match text.strip_prefix("Time: ") {
            Some(v) => Ok(AdapterOutput {
                metrics: vec![Metric::new(
                    "time",
                    v.trim().parse().unwrap(),
                    Stream::Stdout,
                    LLM_EXTRACT,
                )],
                details: vec!["model value `x`=9 does not occur in the output".into()],
            }),
            None if text == "garbage" => Err(AdapterFailure::Failed("no JSON".into())),
            None => Ok(AdapterOutput::default()),
        }
    }

    fn payload(name: &str, adapter: &str) -> Payload {
        let mut p = Payload::new(name, "/bin/true", adapter);
        p.timeout_ms = 1000;
        p.hints = vec![PayloadHint {
            name: "time".into(),
            polarity: None,
            unit: Some("s".into()),
        }];
        p
    }

    fn result(invocation: u32, stdout: &str, stderr: &str) -> PayloadResult {
        PayloadResult {
            invocation,
            stdout: stdout.into(),
            stderr: stderr.into(),
            exit_code: Some(0),
            ..Default::default()
        }
    }

    fn run_with(
        adapter: FakeLlm,
        payloads: &[Payload],
        results: &[PayloadResult],
        wire: WireHealth,
    ) -> LlmExtractRun {
        let registry = AdapterRegistry::new().with_builtin(adapter);
        let results: Vec<&PayloadResult> = results.iter().collect();
        extract_run(&PluginExtractor::new(&registry), payloads, &results, wire)
    }

    #[test]
    fn adapter_answers_map_to_the_pipeline() {
        let unavailable = Ok(Err(AdapterFailure::Unavailable("no model".into())));
        assert_eq!(
            outcome(unavailable),
            Err(LlmExtractError::ModelLoad("no model".into()))
        );
        let failed = Ok(Err(AdapterFailure::Failed("bad".into())));
        assert_eq!(outcome(failed), Err(LlmExtractError::Failed("bad".into())));
        let unknown = Err(AdapterRunError::UnknownAdapter {
            name: LLM_EXTRACT.into(),
            available: "Json".into(),
        });
        let Err(LlmExtractError::ModelLoad(reason)) = outcome(unknown) else {
            panic!("a missing plugin is a model-load failure");
        };
        assert!(reason.contains("plugin is not loaded"), "{reason}");
        let panicked = Err(AdapterRunError::Panicked {
            name: LLM_EXTRACT.into(),
            message: "boom".into(),
        });
        assert_eq!(
            outcome(panicked),
            Err(LlmExtractError::Failed(
                "adapter `LlmExtract` panicked: boom".into()
            ))
        );
        let found = Ok(Ok(AdapterOutput {
            metrics: vec![Metric::new("t", 1.0, Stream::Stdout, LLM_EXTRACT)],
            details: vec!["rejected".into()],
        }));
        let found = outcome(found).unwrap();
        assert_eq!(found.metrics[0].name, "t");
        assert_eq!(found.metrics[0].source, LLM_EXTRACT);
        assert_eq!(found.rejected, ["rejected"]);
    }

    #[test]
    fn metrics_go_to_their_invocation_with_stream_and_unit() {
        let payloads = [
            payload("json", "json"),
            payload("a", "llm_extract"),
            payload("b", "LlmExtract"),
        ];
        // Out of order; `b` reads from stderr because stdout has nothing.
        let results = [
            result(2, "nothing here", "Time: 2.5"),
            result(0, "{}", ""),
            result(1, "Time: 1.5", ""),
        ];
        let run = run_with(FakeLlm(time), &payloads, &results, WireHealth::default());
        assert!(!run.payloads.contains_key(&0), "Json is not LlmExtract's");
        let a = &run.payloads[&1];
        assert_eq!(
            a.metrics,
            [Metric::new("time", 1.5, Stream::Stdout, LLM_EXTRACT).with_unit("s")]
        );
        assert_eq!(
            a.details,
            ["invocation 1 stdout: model value `x`=9 does not occur in the output"]
        );
        let b = &run.payloads[&2];
        assert_eq!(b.metrics[0].stream, Stream::Stderr);
        assert_eq!(b.metrics[0].value, 2.5);
        assert!(b.violations.is_empty() && !b.model_failed);
        assert!(run.findings.is_empty(), "{:?}", run.findings);
    }

    #[test]
    fn model_load_failure_is_one_violation_and_no_metrics() {
        let payloads = [payload("a", "llm_extract")];
        let results = [result(0, "Time: 1", "Time: 2")];
        let unavailable = |_: &str| {
            Err(AdapterFailure::Unavailable(
                "model file `/m.gguf` does not exist\nhint: run scripts/fetch-model.sh".into(),
            ))
        };
        let run = run_with(
            FakeLlm(unavailable),
            &payloads,
            &results,
            WireHealth::default(),
        );
        let a = &run.payloads[&0];
        assert!(a.model_failed);
        assert!(a.metrics.is_empty() && a.details.is_empty());
        assert_eq!(
            a.violations,
            ["LlmExtract model load failed: model file `/m.gguf` does not exist; hint: run scripts/fetch-model.sh"]
        );
    }

    #[test]
    fn a_missing_plugin_is_a_model_load_failure() {
        let payloads = [payload("a", "llm_extract")];
        let results: Vec<&PayloadResult> = vec![];
        let registry = AdapterRegistry::new();
        let extractor = PluginExtractor::new(&registry);
        let run = extract_run(&extractor, &payloads, &results, WireHealth::default());
        // No output: nothing was sent to the adapter, the slot is reported empty.
        assert!(run.payloads.is_empty());
        assert_eq!(run.findings.len(), 1);
        assert!(
            run.findings[0].contains("invocations 0 "),
            "{:?}",
            run.findings
        );
        let out = [result(0, "Time: 1", "")];
        let out: Vec<&PayloadResult> = out.iter().collect();
        let run = extract_run(&extractor, &payloads, &out, WireHealth::default());
        assert!(run.payloads[&0].violations[0].starts_with(
            "LlmExtract model load failed: the LlmExtract adapter plugin is not loaded; hint:"
        ));
    }

    #[test]
    fn failed_streams_sanity_and_bounds() {
        let mut p = payload("a", "llm_extract");
        p.bounds = Some(PayloadBounds {
            min_count: Some(2),
            floor: None,
            ceiling: Some(1.0),
        });
        let results = [result(0, "garbage", "Time: 3")];
        let run = run_with(FakeLlm(time), &[p], &results, WireHealth::default());
        let a = &run.payloads[&0];
        assert_eq!(
            a.details[0],
            "invocation 0: LlmExtract on stdout failed: no JSON"
        );
        assert_eq!(
            a.violations,
            [
                "invocation 0: 1 metrics extracted, fewer than the minimum 2",
                "invocation 0: metric `time`=3 is above the ceiling 1",
            ]
        );
    }

    #[test]
    fn orphans_empty_slots_and_wire_loss_are_run_findings() {
        let payloads = [payload("a", "llm_extract"), payload("b", "llm_extract")];
        let mut failed_start = result(1, "", "");
        failed_start.error = Some("exec failed".into());
        let results = [result(7, "Time: 1", ""), failed_start];
        let wire = WireHealth {
            ring_drops: 2,
            crc_errors: 1,
            host_drops: 0,
        };
        let run = run_with(FakeLlm(time), &payloads, &results, wire);
        assert!(run.payloads.is_empty());
        assert_eq!(run.findings.len(), 4, "{:?}", run.findings);
        assert!(run.findings[0].starts_with("raw output of invocation 7 has no metric slot"));
        assert!(run.findings[1].contains("invocations 0, 1 "));
        assert!(run.findings[2].starts_with("2 telemetry frames were dropped"));
        assert!(run.findings[3].starts_with("1 frames failed their CRC"));
    }

    #[test]
    fn nothing_runs_without_llm_extract_payloads() {
        let payloads = [payload("json", "json")];
        let results = [result(0, "{}", "")];
        let wire = WireHealth {
            ring_drops: 1,
            crc_errors: 0,
            host_drops: 0,
        };
        let run = run_with(FakeLlm(time), &payloads, &results, wire);
        assert_eq!(run, LlmExtractRun::default());
    }

    #[test]
    fn wire_health_counts_crc_and_length_errors() {
        let stats = ktstr_vmm::WireStats {
            crc_errors: 2,
            bad_lengths: 3,
            ring_dropped_frames: 4,
            host_dropped_messages: 6,
            ..Default::default()
        };
        assert_eq!(
            wire_health(&stats),
            WireHealth {
                ring_drops: 4,
                crc_errors: 5,
                host_drops: 6,
            }
        );
    }
}
