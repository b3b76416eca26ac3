//! Tests against llama.cpp and the real model. Tests that need the GGUF are
//! listed as ignored, with the reason, when it is not in the cache (run
//! scripts/fetch-model.sh); the others need only the llama.cpp backend.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ktstr_llm::pipeline::{self, DetailKind, ModelExtractor, RawOutput, Slot, Stream, WireHealth};
use ktstr_llm::{extract, extract_model_only, resolve_model_path, Model, ModelLoadError};

const HACKBENCH: &str =
    "Running in process mode with 10 groups using 40 file descriptors each (== 400 tasks)\n\
                         Each sender will pass 100 messages of 100 bytes\n\
                         Time: 0.123\n";

/// Why the model cannot be used here: not fetched.
fn model_missing() -> Option<String> {
    let path = resolve_model_path(None).expect("a model path");
    (!path.exists()).then(|| {
        format!(
            "`{}` not found (run scripts/fetch-model.sh)",
            path.display()
        )
    })
}

/// The real model (the tests that call this need [`model_missing`]).
fn model() -> Arc<Model> {
    let path = resolve_model_path(None).expect("a model path");
    Model::load(&path).expect("the fetched model loads")
}

fn hints(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn extracts_hackbench_time() {
    let model = model();
    let found = extract(&model, HACKBENCH, &hints(&["time"])).unwrap();
    assert_eq!(found.metrics, vec![("time".to_owned(), 0.123)], "{found:?}");
    assert!(found.rejected.is_empty(), "{found:?}");
    assert!(!found.truncated);
}

fn cannot_invent_a_metric_the_text_lacks() {
    let model = model();
    let text = "hackbench: all groups finished\nno timing was reported\n";
    // Candidates first: no number, so no candidate, and a detail naming the hint.
    let found = extract(&model, text, &hints(&["time"])).unwrap();
    assert!(found.metrics.is_empty(), "{found:?}");
    assert_eq!(found.rejected.len(), 1, "{found:?}");
    assert!(
        found.rejected[0].starts_with("hint `time` matches no number"),
        "{found:?}"
    );
    // Model only: the grammar leaves the model only `null`, and any number it
    // could still write would fail validation and be rejected.
    let found = extract_model_only(&model, text, &hints(&["time"])).unwrap();
    assert!(found.metrics.is_empty(), "{found:?}");
    for detail in &found.rejected {
        assert!(detail.starts_with("model value `time`="), "{detail}");
        assert!(detail.ends_with("does not occur in the output"), "{detail}");
    }
}

fn extracts_several_hinted_percentiles() {
    let model = model();
    let text = "Wakeup Latencies percentiles (usec) runtime 10 (s)\n\
                \t  50.0th: 12\n\t  90.0th: 31\n\t* 99.0th: 870\n\t  99.9th: 2052\n";
    let found = extract(&model, text, &hints(&["p50", "p99", "p99_9", "p95"])).unwrap();
    assert_eq!(
        found.metrics,
        vec![
            ("p50".to_owned(), 12.0),
            ("p99".to_owned(), 870.0),
            ("p99_9".to_owned(), 2052.0)
        ],
        "{found:?}"
    );
    // No 95th percentile in the text: a detail, not the nearest number.
    assert!(
        found.rejected.iter().any(|d| d.contains("`p95`")),
        "{found:?}"
    );
    // The model-only path may pick anything, but only numbers of the text.
    let found = extract_model_only(&model, text, &hints(&["p50", "p99"])).unwrap();
    for (name, value) in &found.metrics {
        assert!(["p50", "p99"].contains(&name.as_str()));
        assert!([50.0, 12.0, 90.0, 31.0, 99.0, 870.0, 99.9, 2052.0, 10.0].contains(value));
    }
}

fn free_keys_without_hints_are_the_measurements_named_by_their_labels() {
    let model = model();
    let text = "ops: 5000\nbogo ops/s: 1234.5\npid: 4242\n";
    let found = extract(&model, text, &[]).unwrap();
    assert_eq!(
        found.metrics,
        vec![
            ("ops".to_owned(), 5000.0),
            ("bogo_ops_s".to_owned(), 1234.5)
        ],
        "ids are not measurements: {found:?}"
    );
}

fn pipeline_end_to_end_with_the_real_model() {
    let model = model();
    let extractor = ModelExtractor::new(model.path());
    let slots = [Slot {
        invocation: 4,
        hints: hints(&["time"]),
        ..Slot::default()
    }];
    let outputs = [RawOutput {
        invocation: 4,
        stdout: HACKBENCH.into(),
        stderr: String::new(),
    }];
    let report = pipeline::run(&extractor, &slots, &outputs, WireHealth::default());
    assert!(report.details.is_empty(), "{:?}", report.details);
    let out = &report.outputs[0];
    assert_eq!(out.stream, Some(Stream::Stdout));
    assert_eq!(out.metrics.len(), 1);
    assert_eq!(
        (out.metrics[0].name.as_str(), out.metrics[0].value),
        ("time", 0.123)
    );
    assert_eq!(out.metrics[0].source, pipeline::SOURCE_LLM_EXTRACT);
}

fn write_temp(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn assert_corrupt_with_hint(err: &ModelLoadError, path: &Path) {
    assert!(matches!(err, ModelLoadError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("`{}`", path.display())),
        "{message}"
    );
    assert!(
        message.contains("re-run scripts/fetch-model.sh"),
        "{message}"
    );
}

fn corrupt_model_is_a_typed_error_naming_the_file_and_fix() {
    let (_dir, path) = write_temp(b"this is not a model at all");
    assert_corrupt_with_hint(&Model::load(&path).unwrap_err(), &path);
}

fn truncated_gguf_is_refused_before_llama_cpp() {
    let (_dir, path) = write_temp(b"GGUF\x03\x00\x00\x00garbage after a valid magic");
    let err = Model::load(&path).unwrap_err();
    assert_corrupt_with_hint(&err, &path);
    // ktstr's own header walk refuses it; llama.cpp never sees the file.
    assert!(
        err.to_string().contains("more than llama.cpp's limit"),
        "{err}"
    );
}

fn load_failure_is_memoized() {
    let (_dir, path) = write_temp(b"nope");
    let first = Model::load(&path).unwrap_err();
    // A valid file now would not be seen: the failure is the process's answer.
    std::fs::write(&path, b"GGUF but still not a model").unwrap();
    assert_eq!(Model::load(&path).unwrap_err(), first);
}

fn missing_model_reaches_the_pipeline_as_one_load_failure() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.gguf");
    let extractor = ModelExtractor::new(&missing);
    let slots = [Slot {
        invocation: 0,
        ..Slot::default()
    }];
    let outputs = [RawOutput {
        invocation: 0,
        stdout: HACKBENCH.into(),
        stderr: "more text".into(),
    }];
    let report = pipeline::run(&extractor, &slots, &outputs, WireHealth::default());
    assert_eq!(report.details.len(), 1, "{:?}", report.details);
    let detail = &report.details[0];
    assert_eq!(detail.kind, DetailKind::ModelLoadFailed);
    assert!(
        detail.message.starts_with(&format!(
            "LlmExtract model load failed: model file `{}` does not exist",
            missing.display()
        )),
        "{detail}"
    );
    assert!(report.outputs[0].metrics.is_empty());
}

fn main() {
    ktstr_test_support::main(ktstr_test_support::cases![
        [model_missing] extracts_hackbench_time,
        [model_missing] cannot_invent_a_metric_the_text_lacks,
        [model_missing] extracts_several_hinted_percentiles,
        [model_missing] free_keys_without_hints_are_the_measurements_named_by_their_labels,
        [model_missing] pipeline_end_to_end_with_the_real_model,
        [] corrupt_model_is_a_typed_error_naming_the_file_and_fix,
        [] truncated_gguf_is_refused_before_llama_cpp,
        [] load_failure_is_memoized,
        [] missing_model_reaches_the_pipeline_as_one_load_failure,
    ]);
}
