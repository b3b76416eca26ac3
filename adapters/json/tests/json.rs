//! The Json adapter on real tool output (fio, cyclictest), and property tests of the scanner.

use std::path::Path;

use ktstr_adapter_json::{find_document, JsonAdapter};
use ktstr_adapters::{Adapter, AdapterInput, AdapterOutput, Stream};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn extract_stdout(stdout: String) -> AdapterOutput {
    JsonAdapter.extract(&AdapterInput {
        stdout,
        ..Default::default()
    })
}

fn value(out: &AdapterOutput, name: &str) -> f64 {
    out.metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric `{name}`"))
        .value
}

#[test]
fn fio_json_output() {
    let out = extract_stdout(data("fio_randread.json"));
    assert!(value(&out, "jobs.0.read.iops") > 1000.0);
    assert_eq!(value(&out, "jobs.0.read.io_kbytes"), 33016.0);
    assert!(value(&out, "jobs.0.read.clat_ns.percentile.99.000000") > 0.0);
    assert!(value(&out, "disk_util.0.util") >= 0.0);
    // Strings such as `fio version` and `jobs.0.jobname` are not metrics.
    assert!(!out
        .metrics
        .iter()
        .any(|m| m.name == "fio version" || m.name == "jobs.0.jobname"));
    assert!(out
        .metrics
        .iter()
        .all(|m| m.value.is_finite() && m.stream == Stream::Stdout));
}

#[test]
fn fio_json_after_a_note_line() {
    let out = extract_stdout(data("fio_with_notes.txt"));
    assert!(value(&out, "jobs.0.write.iops") > 0.0);
    assert_eq!(value(&out, "jobs.0.write.io_kbytes"), 2048.0);
}

#[test]
fn cyclictest_json_output() {
    let out = extract_stdout(data("cyclictest.json"));
    assert_eq!(value(&out, "thread.0.max"), 100.0);
    assert_eq!(value(&out, "thread.1.avg"), 90.82);
    assert_eq!(value(&out, "num_threads"), 2.0);
    assert_eq!(value(&out, "sysinfo.realtime"), 0.0);
}

#[test]
fn cyclictest_json_followed_by_its_text_histogram() {
    let out = extract_stdout(data("cyclictest_mixed.txt"));
    assert_eq!(value(&out, "thread.0.max"), 174.0);
    assert_eq!(value(&out, "thread.1.max"), 155.0);
    assert_eq!(value(&out, "thread.0.histogram.67"), 15.0);
}

#[test]
fn stderr_document_is_used_when_stdout_has_none() {
    let input = AdapterInput {
        stdout: "# /dev/cpu_dma_latency set to 0us\n".into(),
        stderr: data("cyclictest.json"),
        ..Default::default()
    };
    let out = JsonAdapter.extract(&input);
    assert!(out.metrics.iter().all(|m| m.stream == Stream::Stderr));
    assert_eq!(value(&out, "thread.0.min"), 68.0);
    assert_eq!(out.details[0], "stdout: no JSON document found");
}

/// JSON values without floats (float text round trips are not exact without serde_json's
/// `float_roundtrip`), with strings full of brackets, quotes and backslashes.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[{}\\[\\]\"\\\\a-z :,]{0,12}".prop_map(Value::String),
        "\\PC{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z{}\"\\\\]{0,6}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-z{}\"]{1,6}", json_value()), 1..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
}

proptest! {
    #[test]
    fn scanner_never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = find_document(&text);
    }

    #[test]
    fn scanner_never_panics_on_bracket_soup(text in "[{}\\[\\]\"\\\\ a1:,]{0,400}") {
        let search = find_document(&text);
        if let Some((range, value)) = search.document {
            prop_assert_eq!(serde_json::from_str::<Value>(&text[range]).unwrap(), value);
        }
    }

    #[test]
    fn embedded_object_is_found(
        prefix in "[^{\\[]{0,80}",
        doc in object(),
        pretty in any::<bool>(),
        suffix in "\\PC{0,80}",
    ) {
        let body = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) }.unwrap();
        let text = format!("{prefix}{body}{suffix}");
        let (range, found) = find_document(&text).document.expect("document not found");
        prop_assert_eq!(found, doc);
        prop_assert_eq!(range.start, prefix.len());
    }

    #[test]
    fn metrics_are_the_numeric_leaves_in_document_order(doc in object(), prefix in "[^{\\[]{0,40}") {
        let mut expected = Vec::new();
        reference_leaves(&doc, String::new(), 0, &mut expected);
        for text in [doc.to_string(), format!("{prefix}{doc}\ntrailing text")] {
            let out = extract_stdout(text);
            let got: Vec<(String, f64)> = out.metrics.iter().map(|m| (m.name.clone(), m.value)).collect();
            prop_assert_eq!(&got, &expected);
        }
    }
}

/// The numeric leaves of a value tree, named by dotted path: what the adapter's streaming walk
/// must produce.
fn reference_leaves(v: &Value, path: String, depth: usize, out: &mut Vec<(String, f64)>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match v {
        Value::Number(n) => out.push((path.clone(), n.as_f64().unwrap())),
        Value::Array(items) if depth < ktstr_adapter_json::MAX_DEPTH => {
            for (i, item) in items.iter().enumerate() {
                reference_leaves(item, join(&i.to_string()), depth + 1, out);
            }
        }
        Value::Object(map) if depth < ktstr_adapter_json::MAX_DEPTH => {
            for (k, item) in map {
                reference_leaves(item, join(k), depth + 1, out);
            }
        }
        _ => {}
    }
}
