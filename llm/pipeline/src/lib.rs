//! Host-side LlmExtract: turns the raw outputs of LlmExtract payloads into
//! metrics and details, after the run, on the host.
//!
//! The model is not here: [`run`] takes an [`Extractor`]. `ktstr-llm`
//! provides `ModelExtractor` over the local model (and re-exports this crate as
//! `ktstr_llm::pipeline`); `ktstr` brings one over its LlmExtract adapter
//! plugin, so that it does not link llama.cpp.
//!
//! The contract, in the order [`run`] applies it:
//!
//! - raw outputs are paired with their metric slots by payload invocation
//!   index, not by order; a raw output with no slot adds a detail and the
//!   others are still extracted;
//! - stdout is tried first; stderr only when stdout yields no metrics and the
//!   model loaded (a blank stream is never sent to the model);
//! - a model-load failure adds one `LlmExtract model load failed: <reason>`
//!   detail, leaves the output's metrics empty and skips its checks;
//! - structural sanity (unique names, finite values, source tagged
//!   `LlmExtract`) adds one detail per violation; the metrics are kept for
//!   debugging;
//! - bounds (minimum count, floor, ceiling) are checked after sanity, and only
//!   when an extraction succeeded;
//! - slots with no raw output are reported once, listing their invocations;
//! - ring drops and CRC-bad frames seen during the run are reported alongside.

#![deny(missing_docs)]

pub mod model_file;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// The source tag of every metric LlmExtract produces.
pub const SOURCE_LLM_EXTRACT: &str = "LlmExtract";

/// The captured output of one payload invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawOutput {
    /// Index of the payload invocation that printed it.
    pub invocation: u32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Where the metrics of one payload invocation go, and what they must satisfy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slot {
    /// Index of the payload invocation.
    pub invocation: u32,
    /// Metric names to extract; empty lets the model name them.
    pub hints: Vec<String>,
    /// Limits checked once extraction succeeded.
    pub bounds: Bounds,
}

/// Optional limits on an invocation's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bounds {
    /// At least this many metrics.
    pub min_count: Option<usize>,
    /// No value below this.
    pub floor: Option<f64>,
    /// No value above this.
    pub ceiling: Option<f64>,
}

/// Transport health counted by the wire decoder during the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireHealth {
    /// Frames the guest dropped because the ring was full.
    pub ring_drops: u64,
    /// Frames the host discarded for a bad CRC or length.
    pub crc_errors: u64,
    /// Messages the host did not keep because the guest sent more than a
    /// run can (a payload's result may be among them).
    pub host_drops: u64,
}

/// Metrics and streams are the adapters' types: one `Metric` and one
/// `Stream` across ktstr. The pipeline sets each metric's stream to the one
/// it was read from.
pub use ktstr_adapters::{Metric, Stream};

/// What an [`Extractor`] found in one text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The metrics it kept.
    pub metrics: Vec<Metric>,
    /// One detail per value it rejected.
    pub rejected: Vec<String>,
}

/// Why an [`Extractor`] produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmExtractError {
    /// The model could not be loaded; no text can be extracted.
    ModelLoad(String),
    /// The model loaded but this text failed.
    Failed(String),
}

/// Turns one text into metrics; `ktstr_llm::pipeline::ModelExtractor` runs the
/// local model.
pub trait Extractor {
    /// Extracts metrics named by `hints` (or any, when empty) from `text`.
    ///
    /// # Errors
    ///
    /// [`LlmExtractError::ModelLoad`] when the model is unavailable,
    /// [`LlmExtractError::Failed`] when this text could not be extracted.
    fn extract(&self, text: &str, hints: &[String]) -> Result<Outcome, LlmExtractError>;
}

/// What LlmExtract produced for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputReport {
    /// The payload invocation.
    pub invocation: u32,
    /// The stream the metrics came from, if any did.
    pub stream: Option<Stream>,
    /// The metrics (kept even when sanity checks flag them).
    pub metrics: Vec<Metric>,
    /// Whether an extraction succeeded on some stream (bounds were checked).
    pub extracted: bool,
}

/// The kind of a [`Detail`], for machine readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailKind {
    /// The model could not be loaded.
    ModelLoadFailed,
    /// The model loaded but one stream's extraction failed.
    ExtractFailed,
    /// A model value did not occur in the text and was dropped.
    Rejected,
    /// Both streams were blank.
    EmptyOutput,
    /// A structural sanity violation.
    Sanity,
    /// A bound was violated.
    Bounds,
    /// A raw output had no metric slot.
    NoSlot,
    /// A second raw output for one invocation (ignored).
    DuplicateOutput,
    /// A second slot for one invocation (ignored).
    DuplicateSlot,
    /// Slots that received no raw output.
    EmptySlots,
    /// Frames lost or damaged on the wire.
    WireHealth,
}

/// One finding, in words a person reads at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The invocation it concerns, if one.
    pub invocation: Option<u32>,
    /// What kind of finding it is.
    pub kind: DetailKind,
    /// The message.
    pub message: String,
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Everything [`run`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One entry per raw output that had a slot, in input order.
    pub outputs: Vec<OutputReport>,
    /// Findings, in the order they were made.
    pub details: Vec<Detail>,
    /// The transport counts it was given.
    pub wire: WireHealth,
}

/// Runs LlmExtract over `outputs` for `slots` (see the module docs).
pub fn run(
    extractor: &dyn Extractor,
    slots: &[Slot],
    outputs: &[RawOutput],
    wire: WireHealth,
) -> Report {
    let mut details = Details::default();
    let mut by_invocation = BTreeMap::new();
    for slot in slots {
        match by_invocation.entry(slot.invocation) {
            Entry::Vacant(free) => {
                free.insert(slot);
            }
            Entry::Occupied(_) => details.add(
                Some(slot.invocation),
                DetailKind::DuplicateSlot,
                format!(
                    "invocation {} has more than one metric slot; the first is used",
                    slot.invocation
                ),
            ),
        }
    }

    let mut seen = HashSet::new();
    let mut reports = Vec::new();
    for output in outputs {
        let n = output.invocation;
        let Some(slot) = by_invocation.get(&n) else {
            details.add(
                Some(n),
                DetailKind::NoSlot,
                format!("raw output of invocation {n} has no metric slot; it was not extracted"),
            );
            continue;
        };
        if !seen.insert(n) {
            details.add(
                Some(n),
                DetailKind::DuplicateOutput,
                format!(
                    "invocation {n} has more than one raw output; only the first was extracted"
                ),
            );
            continue;
        }
        reports.push(extract_output(extractor, slot, output, &mut details));
    }

    let empty: Vec<String> = by_invocation
        .keys()
        .filter(|n| !seen.contains(*n))
        .map(u32::to_string)
        .collect();
    if !empty.is_empty() {
        details.add(
            None,
            DetailKind::EmptySlots,
            format!(
                "no raw output for the metric slots of invocations {} \
                 (payloads whose Json or ExitCode output was legitimately empty are listed here too)",
                empty.join(", ")
            ),
        );
    }
    if wire.ring_drops > 0 {
        details.add(
            None,
            DetailKind::WireHealth,
            format!(
                "{} telemetry frames were dropped (guest ring full) during the run; metrics may be missing",
                wire.ring_drops
            ),
        );
    }
    if wire.host_drops > 0 {
        details.add(
            None,
            DetailKind::WireHealth,
            format!(
                "{} messages were not kept by the host (the guest sent more than a run can); payload results may be missing",
                wire.host_drops
            ),
        );
    }
    if wire.crc_errors > 0 {
        details.add(
            None,
            DetailKind::WireHealth,
            format!(
                "{} frames failed their CRC or length check during the run and were discarded",
                wire.crc_errors
            ),
        );
    }
    Report {
        outputs: reports,
        details: details.0,
        wire,
    }
}

/// Extracts one output: stdout, then stderr; sanity; bounds.
fn extract_output(
    extractor: &dyn Extractor,
    slot: &Slot,
    output: &RawOutput,
    details: &mut Details,
) -> OutputReport {
    let n = output.invocation;
    let mut report = OutputReport {
        invocation: n,
        stream: None,
        metrics: Vec::new(),
        extracted: false,
    };
    let mut attempted = false;
    for (stream, text) in [
        (Stream::Stdout, &output.stdout),
        (Stream::Stderr, &output.stderr),
    ] {
        if text.trim().is_empty() {
            continue;
        }
        attempted = true;
        match extractor.extract(text, &slot.hints) {
            Err(LlmExtractError::ModelLoad(reason)) => {
                let reason = reason.replace('\n', "; ");
                let message = format!("LlmExtract model load failed: {reason}");
                details.add(Some(n), DetailKind::ModelLoadFailed, message);
                return report;
            }
            Err(LlmExtractError::Failed(reason)) => {
                let message = format!("invocation {n}: LlmExtract on {stream} failed: {reason}");
                details.add(Some(n), DetailKind::ExtractFailed, message);
            }
            Ok(outcome) => {
                report.extracted = true;
                for rejected in outcome.rejected {
                    let message = format!("invocation {n} {stream}: {rejected}");
                    details.add(Some(n), DetailKind::Rejected, message);
                }
                if !outcome.metrics.is_empty() {
                    report.stream = Some(stream);
                    report.metrics = outcome
                        .metrics
                        .into_iter()
                        .map(|m| Metric { stream, ..m })
                        .collect();
                    break;
                }
            }
        }
    }
    if !attempted {
        let message = format!("invocation {n}: stdout and stderr are empty; nothing to extract");
        details.add(Some(n), DetailKind::EmptyOutput, message);
    }
    check_sanity(&report, details);
    if report.extracted {
        check_bounds(&slot.bounds, &report, details);
    }
    report
}

/// One detail per structural violation.
fn check_sanity(report: &OutputReport, details: &mut Details) {
    let n = report.invocation;
    let mut names = HashSet::new();
    for m in &report.metrics {
        if !names.insert(m.name.as_str()) {
            let message = format!(
                "invocation {n}: metric name `{}` appears more than once",
                m.name
            );
            details.add(Some(n), DetailKind::Sanity, message);
        }
        if !m.value.is_finite() {
            let message = format!(
                "invocation {n}: metric `{}` is not finite ({})",
                m.name, m.value
            );
            details.add(Some(n), DetailKind::Sanity, message);
        }
        if m.source != SOURCE_LLM_EXTRACT {
            let message = format!(
                "invocation {n}: metric `{}` is tagged `{}`, not `{SOURCE_LLM_EXTRACT}`",
                m.name, m.source
            );
            details.add(Some(n), DetailKind::Sanity, message);
        }
    }
}

/// One detail per violated bound.
fn check_bounds(bounds: &Bounds, report: &OutputReport, details: &mut Details) {
    let n = report.invocation;
    let count = report.metrics.len();
    if let Some(min) = bounds.min_count.filter(|&min| count < min) {
        let message =
            format!("invocation {n}: {count} metrics extracted, fewer than the minimum {min}");
        details.add(Some(n), DetailKind::Bounds, message);
    }
    for m in &report.metrics {
        if let Some(floor) = bounds.floor.filter(|&f| m.value < f) {
            let message = format!(
                "invocation {n}: metric `{}`={} is below the floor {floor}",
                m.name, m.value
            );
            details.add(Some(n), DetailKind::Bounds, message);
        }
        if let Some(ceiling) = bounds.ceiling.filter(|&c| m.value > c) {
            let message = format!(
                "invocation {n}: metric `{}`={} is above the ceiling {ceiling}",
                m.name, m.value
            );
            details.add(Some(n), DetailKind::Bounds, message);
        }
    }
}

#[derive(Default)]
struct Details(Vec<Detail>);

impl Details {
    fn add(&mut self, invocation: Option<u32>, kind: DetailKind, message: String) {
        self.0.push(Detail {
            invocation,
            kind,
            message,
        });
    }
}

/// Every branch of the contract, without the model: the `Scripted` double
/// stands in for the model only to reach these branches (a load failure, a
/// failing stream, a wrongly tagged metric). `ktstr-llm`'s `tests/llm.rs` runs
/// the real model.
#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;

    /// Answers by text; records every call as (text, hints).
    #[derive(Default)]
    struct Scripted {
        answers: HashMap<&'static str, Result<Outcome, LlmExtractError>>,
        calls: RefCell<Vec<(String, Vec<String>)>>,
    }

    impl Scripted {
        fn answer(mut self, text: &'static str, answer: Result<Outcome, LlmExtractError>) -> Self {
            self.answers.insert(text, answer);
            self
        }
        fn calls(&self) -> Vec<(String, Vec<String>)> {
            self.calls.borrow().clone()
        }
    }

    impl Extractor for Scripted {
        fn extract(&self, text: &str, hints: &[String]) -> Result<Outcome, LlmExtractError> {
            self.calls
                .borrow_mut()
                .push((text.to_owned(), hints.to_vec()));
            self.answers
                .get(text)
                .cloned()
                .unwrap_or_else(|| Ok(Outcome::default()))
        }
    }

    fn metric(name: &str, value: f64) -> Metric {
        Metric::new(name, value, Stream::Stdout, SOURCE_LLM_EXTRACT)
    }

    fn found(metrics: Vec<Metric>) -> Result<Outcome, LlmExtractError> {
        Ok(Outcome {
            metrics,
            rejected: Vec::new(),
        })
    }

    fn slot(invocation: u32, hints: &[&str]) -> Slot {
        Slot {
            invocation,
            hints: hints.iter().map(|h| h.to_string()).collect(),
            bounds: Bounds::default(),
        }
    }

    fn output(invocation: u32, stdout: &str, stderr: &str) -> RawOutput {
        RawOutput {
            invocation,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    fn kinds(report: &Report) -> Vec<DetailKind> {
        report.details.iter().map(|d| d.kind).collect()
    }

    #[test]
    fn outputs_pair_with_slots_by_invocation_not_order() {
        let ex = Scripted::default()
            .answer("out seven", found(vec![metric("a", 7.0)]))
            .answer("out three", found(vec![metric("b", 3.0)]));
        let slots = [slot(3, &["b"]), slot(7, &["a"])];
        let outputs = [output(7, "out seven", ""), output(3, "out three", "")];
        let report = run(&ex, &slots, &outputs, WireHealth::default());
        assert_eq!(
            ex.calls(),
            vec![
                ("out seven".into(), vec!["a".into()]),
                ("out three".into(), vec!["b".into()])
            ]
        );
        assert_eq!(report.outputs[0].invocation, 7);
        assert_eq!(report.outputs[0].metrics, vec![metric("a", 7.0)]);
        assert_eq!(report.outputs[1].metrics, vec![metric("b", 3.0)]);
        assert!(report.details.is_empty(), "{:?}", report.details);
    }

    #[test]
    fn stderr_is_not_tried_when_stdout_has_metrics() {
        let ex = Scripted::default().answer("out", found(vec![metric("t", 1.0)]));
        let report = run(
            &ex,
            &[slot(0, &[])],
            &[output(0, "out", "err")],
            WireHealth::default(),
        );
        assert_eq!(ex.calls().len(), 1);
        assert_eq!(report.outputs[0].stream, Some(Stream::Stdout));
    }

    #[test]
    fn stderr_is_tried_when_stdout_yields_no_metrics() {
        let ex = Scripted::default().answer("err", found(vec![metric("t", 2.0)]));
        let report = run(
            &ex,
            &[slot(0, &[])],
            &[output(0, "out", "err")],
            WireHealth::default(),
        );
        assert_eq!(ex.calls().len(), 2);
        assert_eq!(report.outputs[0].stream, Some(Stream::Stderr));
        // Each metric says which stream it was read from.
        let from_stderr = Metric {
            stream: Stream::Stderr,
            ..metric("t", 2.0)
        };
        assert_eq!(report.outputs[0].metrics, vec![from_stderr]);
    }

    #[test]
    fn stderr_is_tried_when_stdout_extraction_fails() {
        let ex = Scripted::default()
            .answer("out", Err(LlmExtractError::Failed("no JSON".into())))
            .answer("err", found(vec![metric("t", 2.0)]));
        let report = run(
            &ex,
            &[slot(0, &[])],
            &[output(0, "out", "err")],
            WireHealth::default(),
        );
        assert_eq!(kinds(&report), vec![DetailKind::ExtractFailed]);
        assert_eq!(
            report.details[0].message,
            "invocation 0: LlmExtract on stdout failed: no JSON"
        );
        assert_eq!(report.outputs[0].stream, Some(Stream::Stderr));
    }

    #[test]
    fn model_load_failure_is_one_detail_with_no_metrics_no_stderr_no_checks() {
        let ex = Scripted::default().answer(
            "out",
            Err(LlmExtractError::ModelLoad(
                "model file `/m.gguf` does not exist\nhint: run it".into(),
            )),
        );
        let mut s = slot(0, &["t"]);
        s.bounds.min_count = Some(1);
        let report = run(&ex, &[s], &[output(0, "out", "err")], WireHealth::default());
        assert_eq!(ex.calls().len(), 1, "stderr must not be tried");
        assert_eq!(
            kinds(&report),
            vec![DetailKind::ModelLoadFailed],
            "no bounds detail"
        );
        assert_eq!(
            report.details[0].message,
            "LlmExtract model load failed: model file `/m.gguf` does not exist; hint: run it"
        );
        assert!(report.outputs[0].metrics.is_empty());
        assert!(!report.outputs[0].extracted);
    }

    #[test]
    fn sanity_adds_one_detail_per_violation_and_keeps_the_metrics() {
        let mut foreign = metric("c", 1.0);
        foreign.source = "Json".into();
        let metrics = vec![
            metric("a", 1.0),
            metric("a", 2.0),
            metric("b", f64::NAN),
            metric("inf", f64::INFINITY),
            foreign,
        ];
        let ex = Scripted::default().answer("out", found(metrics.clone()));
        let report = run(
            &ex,
            &[slot(0, &[])],
            &[output(0, "out", "")],
            WireHealth::default(),
        );
        assert_eq!(kinds(&report), vec![DetailKind::Sanity; 4]);
        assert!(report.details[0]
            .message
            .contains("`a` appears more than once"));
        assert!(report.details[1]
            .message
            .contains("`b` is not finite (NaN)"));
        assert!(report.details[2]
            .message
            .contains("`inf` is not finite (inf)"));
        assert!(report.details[3]
            .message
            .contains("`c` is tagged `Json`, not `LlmExtract`"));
        assert_eq!(report.outputs[0].metrics.len(), metrics.len());
    }

    #[test]
    fn bounds_are_checked_after_sanity() {
        let ex = Scripted::default().answer(
            "out",
            found(vec![
                metric("low", 1.0),
                metric("low", 5.0),
                metric("high", 99.0),
            ]),
        );
        let mut s = slot(0, &[]);
        s.bounds = Bounds {
            min_count: Some(4),
            floor: Some(2.0),
            ceiling: Some(50.0),
        };
        let report = run(&ex, &[s], &[output(0, "out", "")], WireHealth::default());
        assert_eq!(
            kinds(&report),
            [
                DetailKind::Sanity,
                DetailKind::Bounds,
                DetailKind::Bounds,
                DetailKind::Bounds
            ]
        );
        let messages: Vec<_> = report.details[1..]
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "invocation 0: 3 metrics extracted, fewer than the minimum 4",
                "invocation 0: metric `low`=1 is below the floor 2",
                "invocation 0: metric `high`=99 is above the ceiling 50",
            ]
        );
    }

    #[test]
    fn bounds_are_skipped_when_no_extraction_succeeded() {
        let failed = || Err(LlmExtractError::Failed("bad".into()));
        let ex = Scripted::default()
            .answer("out", failed())
            .answer("err", failed());
        let mut s = slot(0, &[]);
        s.bounds.min_count = Some(1);
        let report = run(&ex, &[s], &[output(0, "out", "err")], WireHealth::default());
        assert_eq!(kinds(&report), vec![DetailKind::ExtractFailed; 2]);
        assert!(!report.outputs[0].extracted);
    }

    #[test]
    fn min_count_fires_when_extraction_succeeded_with_nothing() {
        let mut s = slot(0, &["t"]);
        s.bounds.min_count = Some(1);
        let report = run(
            &Scripted::default(),
            &[s],
            &[output(0, "out", "")],
            WireHealth::default(),
        );
        assert_eq!(kinds(&report), vec![DetailKind::Bounds]);
    }

    #[test]
    fn rejected_values_become_details() {
        let ex = Scripted::default().answer(
            "out",
            Ok(Outcome {
                metrics: vec![metric("t", 1.0)],
                rejected: vec!["model value `x`=123.4 does not occur in the output".into()],
            }),
        );
        let report = run(
            &ex,
            &[slot(2, &[])],
            &[output(2, "out", "")],
            WireHealth::default(),
        );
        assert_eq!(kinds(&report), vec![DetailKind::Rejected]);
        assert_eq!(
            report.details[0].message,
            "invocation 2 stdout: model value `x`=123.4 does not occur in the output"
        );
    }

    #[test]
    fn blank_streams_are_not_sent_to_the_model() {
        let ex = Scripted::default();
        let report = run(
            &ex,
            &[slot(0, &[])],
            &[output(0, " \n", "")],
            WireHealth::default(),
        );
        assert!(ex.calls().is_empty());
        assert_eq!(kinds(&report), vec![DetailKind::EmptyOutput]);
    }

    #[test]
    fn output_without_slot_is_reported_and_others_still_extracted() {
        let ex = Scripted::default().answer("ok", found(vec![metric("t", 1.0)]));
        let outputs = [output(9, "orphan", ""), output(1, "ok", "")];
        let report = run(&ex, &[slot(1, &[])], &outputs, WireHealth::default());
        assert_eq!(kinds(&report), vec![DetailKind::NoSlot]);
        assert_eq!(
            report.details[0].message,
            "raw output of invocation 9 has no metric slot; it was not extracted"
        );
        assert_eq!(report.outputs.len(), 1);
        assert_eq!(report.outputs[0].metrics, vec![metric("t", 1.0)]);
    }

    #[test]
    fn empty_slots_are_reported_once_with_their_invocations() {
        let slots = [slot(0, &[]), slot(5, &[]), slot(2, &[])];
        let report = run(
            &Scripted::default(),
            &slots,
            &[output(0, "x", "")],
            WireHealth::default(),
        );
        assert_eq!(kinds(&report), vec![DetailKind::EmptySlots]);
        let message = &report.details[0].message;
        assert!(message.contains("invocations 2, 5 "), "{message}");
        assert!(message.contains("legitimately empty"), "{message}");
        assert!(message.contains("Json or ExitCode"), "{message}");
    }

    #[test]
    fn duplicates_are_reported_and_the_first_is_used() {
        let ex = Scripted::default();
        let slots = [slot(1, &["first"]), slot(1, &["second"])];
        let outputs = [output(1, "one", ""), output(1, "again", "")];
        let report = run(&ex, &slots, &outputs, WireHealth::default());
        assert_eq!(
            kinds(&report),
            [DetailKind::DuplicateSlot, DetailKind::DuplicateOutput]
        );
        assert_eq!(ex.calls(), vec![("one".into(), vec!["first".into()])]);
    }

    #[test]
    fn ring_drops_and_crc_errors_are_reported_alongside() {
        let wire = WireHealth {
            ring_drops: 3,
            crc_errors: 2,
            host_drops: 7,
        };
        let report = run(&Scripted::default(), &[], &[], wire);
        assert_eq!(kinds(&report), vec![DetailKind::WireHealth; 3]);
        assert!(report.details[0]
            .message
            .starts_with("3 telemetry frames were dropped"));
        assert!(report.details[1]
            .message
            .starts_with("7 messages were not kept by the host"));
        assert!(report.details[2]
            .message
            .starts_with("2 frames failed their CRC"));
        assert_eq!(report.wire, wire);
        assert!(run(&Scripted::default(), &[], &[], WireHealth::default())
            .details
            .is_empty());
    }
}
