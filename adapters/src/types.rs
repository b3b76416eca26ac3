//! The plain Rust types adapters and hosts work with: input, output, metrics and hints.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a metric came from: the payload's stdout, its stderr, or its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// The payload's standard output.
    Stdout,
    /// The payload's standard error.
    Stderr,
    /// The payload's exit status.
    Exit,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Exit => "exit",
        })
    }
}

/// One number extracted from a payload's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Dotted name, e.g. `jobs.0.read.iops`.
    pub name: String,
    /// The value (adapters emit only finite values).
    pub value: f64,
    /// Unit, when the output or a hint says one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The stream the value was read from.
    pub stream: Stream,
    /// Name of the adapter that produced it.
    pub source: String,
}

impl Metric {
    /// A metric without a unit.
    pub fn new(
        name: impl Into<String>,
        value: f64,
        stream: Stream,
        source: impl Into<String>,
    ) -> Self {
        Metric {
            name: name.into(),
            value,
            unit: None,
            stream,
            source: source.into(),
        }
    }

    /// The same metric with a unit.
    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }
}

/// Which direction of a metric is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Larger values are better (throughput, operations per second).
    HigherBetter,
    /// Smaller values are better (latency, run time).
    LowerBetter,
    /// Values closest to this target are best.
    Target(f64),
    /// Not stated: comparisons report a change without judging it.
    #[default]
    Unknown,
}

impl fmt::Display for Polarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Polarity::HigherBetter => f.write_str("higher"),
            Polarity::LowerBetter => f.write_str("lower"),
            Polarity::Target(t) => write!(f, "target={t}"),
            Polarity::Unknown => f.write_str("unknown"),
        }
    }
}

/// What a payload definition says about a metric it expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricHint {
    /// The metric's name.
    pub name: String,
    /// Which direction is better.
    #[serde(default)]
    pub polarity: Polarity,
    /// Unit, given to metrics of this name that carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A hint written as `NAME[:POLARITY[:UNIT]]` could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetricHintParseError {
    /// The name part is empty.
    #[error("hint `{0}` has an empty metric name")]
    EmptyName(String),
    /// The polarity is none of the known words.
    #[error("hint `{hint}` has unknown polarity `{polarity}` (expected `higher`, `lower`, `target=VALUE` or `unknown`)")]
    Polarity {
        /// The whole hint.
        hint: String,
        /// The polarity part.
        polarity: String,
    },
    /// More than three `:`-separated parts.
    #[error(
        "hint `{0}` has more than three `:`-separated parts (expected NAME[:POLARITY[:UNIT]])"
    )]
    TooManyParts(String),
}

impl FromStr for MetricHint {
    type Err = MetricHintParseError;

    /// Parses `NAME[:POLARITY[:UNIT]]`, e.g. `lat.p99:lower:us` or `ops:higher`.
    /// POLARITY is `higher`, `lower`, `target=VALUE`, `unknown` or empty.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() > 3 {
            return Err(MetricHintParseError::TooManyParts(s.to_string()));
        }
        let name = parts[0].trim();
        if name.is_empty() {
            return Err(MetricHintParseError::EmptyName(s.to_string()));
        }
        let polarity_text = parts.get(1).map_or("", |p| p.trim());
        let polarity =
            parse_polarity(polarity_text).ok_or_else(|| MetricHintParseError::Polarity {
                hint: s.to_string(),
                polarity: polarity_text.to_string(),
            })?;
        let unit = parts
            .get(2)
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        Ok(MetricHint {
            name: name.to_string(),
            polarity,
            unit,
        })
    }
}

fn parse_polarity(text: &str) -> Option<Polarity> {
    match text.to_ascii_lowercase().as_str() {
        "" | "unknown" => Some(Polarity::Unknown),
        "higher" | "higher-better" | "higher_better" => Some(Polarity::HigherBetter),
        "lower" | "lower-better" | "lower_better" => Some(Polarity::LowerBetter),
        other => {
            let value = other.strip_prefix("target=")?.parse::<f64>().ok()?;
            value.is_finite().then_some(Polarity::Target(value))
        }
    }
}

/// What an adapter reads: a payload's captured output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdapterInput {
    /// Captured standard output (invalid UTF-8 replaced).
    pub stdout: String,
    /// Captured standard error (invalid UTF-8 replaced).
    pub stderr: String,
    /// The exit code, or `None` when the payload was killed or did not finish.
    pub exit_code: Option<i32>,
    /// What the payload definition says about the metrics it expects.
    pub hints: Vec<MetricHint>,
}

/// What an adapter returns: the metrics it found and notes on how it got them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdapterOutput {
    /// The metrics, in the order the adapter found them.
    pub metrics: Vec<Metric>,
    /// Human-readable notes: what was skipped, rejected or capped.
    pub details: Vec<String>,
}

impl AdapterOutput {
    /// Gives every metric without a unit the unit of the hint with its name.
    pub fn apply_hint_units(&mut self, hints: &[MetricHint]) {
        for metric in self.metrics.iter_mut().filter(|m| m.unit.is_none()) {
            let hint = hints.iter().find(|h| h.name == metric.name);
            if let Some(unit) = hint.and_then(|h| h.unit.as_ref()) {
                metric.unit = Some(unit.clone());
            }
        }
    }
}

/// Why an adapter extracted nothing, when that is a failure rather than an output without
/// metrics; [`Adapter::try_extract`](crate::Adapter::try_extract) returns it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AdapterFailure {
    /// The adapter cannot run here at all (e.g. its model does not load), so no output can be
    /// extracted; the reason says why and how to fix it.
    #[error("{0}")]
    Unavailable(String),
    /// The adapter ran but could read none of the output's streams.
    #[error("{0}")]
    Failed(String),
}

/// An adapter's name, version and one-line description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterInfo {
    /// The name payload definitions use, e.g. `Json`.
    pub name: String,
    /// The adapter's own version.
    pub version: String,
    /// One line on what it extracts.
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_parses_all_forms() {
        let h: MetricHint = "lat.p99:lower:us".parse().unwrap();
        assert_eq!(
            h,
            MetricHint {
                name: "lat.p99".into(),
                polarity: Polarity::LowerBetter,
                unit: Some("us".into())
            }
        );
        let h: MetricHint = "ops".parse().unwrap();
        assert_eq!(h.polarity, Polarity::Unknown);
        assert_eq!(h.unit, None);
        let h: MetricHint = "util:target=50:%".parse().unwrap();
        assert_eq!(h.polarity, Polarity::Target(50.0));
        let h: MetricHint = "t::s".parse().unwrap();
        assert_eq!(
            (h.polarity, h.unit.as_deref()),
            (Polarity::Unknown, Some("s"))
        );
    }

    #[test]
    fn hint_rejects_bad_syntax() {
        assert!(matches!(
            "".parse::<MetricHint>(),
            Err(MetricHintParseError::EmptyName(_))
        ));
        assert!(matches!(
            "x:sideways".parse::<MetricHint>(),
            Err(MetricHintParseError::Polarity { .. })
        ));
        assert!(matches!(
            "x:target=inf".parse::<MetricHint>(),
            Err(MetricHintParseError::Polarity { .. })
        ));
        assert!(matches!(
            "x:lower:us:extra".parse::<MetricHint>(),
            Err(MetricHintParseError::TooManyParts(_))
        ));
    }

    #[test]
    fn hint_units_fill_only_missing_units() {
        let mut out = AdapterOutput {
            metrics: vec![
                Metric::new("lat", 1.0, Stream::Stdout, "Json"),
                Metric::new("ops", 2.0, Stream::Stdout, "Json").with_unit("op/s"),
            ],
            details: vec![],
        };
        let hints = vec![
            "lat:lower:us".parse().unwrap(),
            "ops:higher:ops".parse().unwrap(),
        ];
        out.apply_hint_units(&hints);
        assert_eq!(out.metrics[0].unit.as_deref(), Some("us"));
        assert_eq!(out.metrics[1].unit.as_deref(), Some("op/s"));
    }

    #[test]
    fn polarity_serializes_readably() {
        let json =
            serde_json::to_string(&vec![Polarity::LowerBetter, Polarity::Target(2.5)]).unwrap();
        assert_eq!(json, r#"["lower_better",{"target":2.5}]"#);
    }
}
