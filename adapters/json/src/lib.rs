//! The `Json` output adapter: every numeric leaf of a JSON document becomes a metric.
//!
//! The document is the whole output when it parses, else the first balanced JSON document
//! inside mixed text (see [`find_document`]). Leaves are named by their dotted path
//! (`jobs.0.read.iops`); strings, booleans, nulls and non-finite numbers are skipped, and
//! nesting deeper than [`MAX_DEPTH`] is not read (a detail says where). Stdout is read first;
//! stderr only when stdout gave no metric.
//!
//! ```
//! use ktstr_adapters::{Adapter, AdapterInput};
//! use ktstr_adapter_json::JsonAdapter;
//!
//! let input = AdapterInput { stdout: "done: {\"jobs\": [{\"iops\": 1200.5}]}".into(), ..Default::default() };
//! let out = JsonAdapter.extract(&input);
//! assert_eq!(out.metrics[0].name, "jobs.0.iops");
//! assert_eq!(out.metrics[0].value, 1200.5);
//! ```
//!
//! The same adapter as a plugin is the `ktstr-adapter-json-plugin` crate.
#![deny(missing_docs)]

mod scan;
mod walk;

use ktstr_adapters::{Adapter, AdapterInfo, AdapterInput, AdapterOutput, Stream};

pub use scan::{find_document, Search};
use walk::walk_document;

/// The adapter's name in payload definitions.
pub const NAME: &str = "Json";

/// Containers nested deeper than this are not read.
pub const MAX_DEPTH: usize = 32;

/// The `Json` adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonAdapter;

impl Adapter for JsonAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "numeric leaves of the first JSON document, named by dotted path".into(),
        }
    }

    fn extract(&self, input: &AdapterInput) -> AdapterOutput {
        let mut out = AdapterOutput::default();
        for (stream, text) in [
            (Stream::Stdout, &input.stdout),
            (Stream::Stderr, &input.stderr),
        ] {
            extract_stream(text, stream, &mut out);
            if !out.metrics.is_empty() {
                break;
            }
        }
        out
    }
}

/// Adds the metrics of the document in one stream, and details on what was read.
fn extract_stream(text: &str, stream: Stream, out: &mut AdapterOutput) {
    let search = scan::search(text, |candidate, embedded| {
        walk_document(candidate, stream, embedded)
    });
    if search.gave_up {
        out.details.push(format!(
            "{stream}: gave up searching {} bytes for a JSON document",
            text.len()
        ));
    }
    let Some((range, leaves)) = search.document else {
        out.details
            .push(format!("{stream}: no JSON document found"));
        return;
    };
    out.details.push(format!(
        "{stream}: read the JSON document at bytes {}..{} of {}: {} numeric value(s)",
        range.start,
        range.end,
        text.len(),
        leaves.metrics.len()
    ));
    if leaves.skipped_non_finite > 0 {
        out.details.push(format!(
            "{stream}: skipped {} non-finite value(s)",
            leaves.skipped_non_finite
        ));
    }
    if let Some(path) = leaves.capped_at {
        out.details.push(format!(
            "{stream}: nesting deeper than {MAX_DEPTH} levels was not read (first at `{path}`)"
        ));
    }
    out.metrics.extend(leaves.metrics);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(stdout: &str, stderr: &str) -> AdapterOutput {
        JsonAdapter.extract(&AdapterInput {
            stdout: stdout.into(),
            stderr: stderr.into(),
            ..Default::default()
        })
    }

    fn names(out: &AdapterOutput) -> Vec<(String, f64, Stream)> {
        out.metrics
            .iter()
            .map(|m| (m.name.clone(), m.value, m.stream))
            .collect()
    }

    #[test]
    fn numeric_leaves_become_dotted_names() {
        let out = extract(
            r#"{"jobs": [{"read": {"iops": 10, "name": "x", "ok": true, "n": null}}], "t": -1.5}"#,
            "",
        );
        assert_eq!(
            names(&out),
            vec![
                ("jobs.0.read.iops".into(), 10.0, Stream::Stdout),
                ("t".into(), -1.5, Stream::Stdout)
            ]
        );
        assert!(out.metrics.iter().all(|m| m.source == NAME));
    }

    #[test]
    fn stderr_is_read_only_when_stdout_gives_nothing() {
        let out = extract(r#"{"a": 1}"#, r#"{"b": 2}"#);
        assert_eq!(names(&out), vec![("a".into(), 1.0, Stream::Stdout)]);
        let out = extract(r#"{"only": "strings"}"#, r#"{"b": 2}"#);
        assert_eq!(names(&out), vec![("b".into(), 2.0, Stream::Stderr)]);
        assert!(out
            .details
            .iter()
            .any(|d| d.starts_with("stdout: read the JSON document")
                && d.ends_with(": 0 numeric value(s)")));
    }

    #[test]
    fn no_document_says_so_for_both_streams() {
        let out = extract("plain text", "");
        assert!(out.metrics.is_empty());
        assert_eq!(
            out.details,
            vec![
                "stdout: no JSON document found",
                "stderr: no JSON document found"
            ]
        );
    }

    #[test]
    fn depth_cap_is_reported() {
        let deep = "{\"a\":".repeat(MAX_DEPTH + 3) + "1" + &"}".repeat(MAX_DEPTH + 3);
        let text = format!(r#"{{"shallow": 7, "deep": {deep}}}"#);
        let out = extract(&text, "");
        assert_eq!(names(&out), vec![("shallow".into(), 7.0, Stream::Stdout)]);
        let detail = out
            .details
            .iter()
            .find(|d| d.contains("nesting deeper than 32"))
            .unwrap();
        assert!(
            detail.contains(&format!("`deep{}`", ".a".repeat(MAX_DEPTH - 1))),
            "{detail}"
        );
    }

    #[test]
    fn big_integers_are_read_as_floats() {
        let out = extract(
            r#"{"big": 18446744073709551615, "neg": -9223372036854775808}"#,
            "",
        );
        assert_eq!(out.metrics[0].value, 18446744073709551615u64 as f64);
        assert_eq!(out.metrics[1].value, -9223372036854775808i64 as f64);
    }
}
