//! An example third-party ktstr output adapter, `KeyValue`: `key: value` and `key = value`
//! lines with a numeric value become metrics.
//!
//! It depends on nothing but `ktstr-adapters` and builds to a plugin
//! (`libktstr_adapter_example_kv.so`) that hosts load by path or from `$KTSTR_ADAPTER_PATH`.
//!
//! Rules: the key is the text before the first `:` or `=`, trimmed, with leading `#` removed
//! and inner whitespace turned into `_`; the value is the number that starts the rest of the
//! line; a word right after the number (`12.5 ms`, `12.5ms`, `40 ops/s`) is its unit. Other
//! lines are ignored. Stdout is read first, stderr only when stdout gave nothing.
#![deny(missing_docs)]

use ktstr_adapters::{Adapter, AdapterInfo, AdapterInput, AdapterOutput, Metric, Stream};

/// The adapter's name.
pub const NAME: &str = "KeyValue";

/// The `KeyValue` adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyValueAdapter;

impl Adapter for KeyValueAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "`key: value` and `key = value` lines with numeric values".into(),
        }
    }

    fn extract(&self, input: &AdapterInput) -> AdapterOutput {
        let mut out = AdapterOutput::default();
        for (stream, text) in [
            (Stream::Stdout, &input.stdout),
            (Stream::Stderr, &input.stderr),
        ] {
            out.metrics
                .extend(text.lines().filter_map(|l| parse_line(l, stream)));
            if !out.metrics.is_empty() {
                break;
            }
            out.details.push(format!(
                "{stream}: no `key: value` or `key = value` line with a number"
            ));
        }
        out
    }
}

ktstr_adapters::export_adapter!(KeyValueAdapter);

/// The metric on one line, if it has one.
fn parse_line(line: &str, stream: Stream) -> Option<Metric> {
    let split = line.find([':', '='])?;
    let key = line[..split]
        .trim()
        .trim_start_matches('#')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_");
    if key.is_empty() {
        return None;
    }
    let rest = line[split + 1..].trim_start();
    let (value, after) = leading_number(rest)?;
    let metric = Metric::new(key, value, stream, NAME);
    match after.split_whitespace().next() {
        Some(word) if word.starts_with(|c: char| c.is_alphabetic() || c == '%') => {
            Some(metric.with_unit(word))
        }
        _ => Some(metric),
    }
}

/// The finite number at the start of `text`, and the text after it.
fn leading_number(text: &str) -> Option<(f64, &str)> {
    let len = text
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == '-' || c == '+') && i == 0)
                || c == 'e'
                || c == 'E')
        })
        .map_or(text.len(), |(i, _)| i);
    // Shrink until it parses: `3e` or `1.5e+` end in an incomplete exponent.
    (1..=len).rev().find_map(|end| {
        let v = text[..end].parse::<f64>().ok().filter(|v| v.is_finite())?;
        Some((v, &text[end..]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Option<(String, f64, Option<String>)> {
        parse_line(line, Stream::Stdout).map(|m| (m.name, m.value, m.unit))
    }

    #[test]
    fn both_separators_and_units() {
        assert_eq!(parse("Time: 0.123"), Some(("Time".into(), 0.123, None)));
        assert_eq!(
            parse("avg latency = 12.5 ms"),
            Some(("avg_latency".into(), 12.5, Some("ms".into())))
        );
        assert_eq!(
            parse("bw=40MiB/s"),
            Some(("bw".into(), 40.0, Some("MiB/s".into())))
        );
        assert_eq!(
            parse("# Max Latencies: 00129 00108"),
            Some(("Max_Latencies".into(), 129.0, None))
        );
        assert_eq!(
            parse("delta: -3e2 us"),
            Some(("delta".into(), -300.0, Some("us".into())))
        );
        assert_eq!(
            parse("x: 2.5e3ms"),
            Some(("x".into(), 2500.0, Some("ms".into())))
        );
        assert_eq!(
            parse("events: 3each"),
            Some(("events".into(), 3.0, Some("each".into())))
        );
        assert_eq!(
            parse("util: 99.5%"),
            Some(("util".into(), 99.5, Some("%".into())))
        );
    }

    #[test]
    fn lines_without_a_number_are_ignored() {
        for line in [
            "Running in threaded mode with 10 groups",
            "name: hackbench",
            ": 5",
            "x = ",
            "e: e",
            "a: -",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }

    #[test]
    fn stderr_only_when_stdout_has_nothing() {
        let input = AdapterInput {
            stdout: "no numbers".into(),
            stderr: "n: 4".into(),
            ..Default::default()
        };
        let out = KeyValueAdapter.extract(&input);
        assert_eq!(out.metrics[0].stream, Stream::Stderr);
        assert_eq!(out.details.len(), 1);
    }
}
