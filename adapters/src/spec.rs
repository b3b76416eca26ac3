//! Payload definitions and the checks that judge an adapter's output.
//!
//! Plain serde types with no dependency on the plugin ABI, so a payload definition reads the
//! same from JSON or TOML wherever it is used.

use serde::{Deserialize, Serialize};

use crate::types::{AdapterOutput, Metric, MetricHint};

/// How long a payload may run when its definition says nothing.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// A benchmark binary run in the guest, and how to read and judge its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadSpec {
    /// The binary (packed into the guest with the shared libraries it needs).
    pub binary: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// The cgroup to run it in; `None` runs it in the root cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// Kill it after this long.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Name of the output adapter, e.g. `Json`.
    pub adapter: String,
    /// What the metrics mean.
    #[serde(default)]
    pub hints: Vec<MetricHint>,
    /// Conditions the metrics and the exit code must meet.
    #[serde(default)]
    pub checks: Vec<MetricCheck>,
    /// Sanity limits on the extracted metrics as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<Bounds>,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// A condition on one metric or on the exit code.
///
/// A metric check applies to every metric with that name and fails when there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case", deny_unknown_fields)]
pub enum MetricCheck {
    /// `metric >= value`.
    Min {
        /// Metric name.
        metric: String,
        /// Smallest allowed value.
        value: f64,
    },
    /// `metric <= value`.
    Max {
        /// Metric name.
        metric: String,
        /// Largest allowed value.
        value: f64,
    },
    /// `min <= metric <= max`.
    Range {
        /// Metric name.
        metric: String,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// The metric was extracted.
    Exists {
        /// Metric name.
        metric: String,
    },
    /// The payload exited with this code.
    ExitCodeEquals {
        /// The expected exit code.
        code: i32,
    },
}

/// Limits on the extracted metrics as a whole, catching an adapter that read the wrong thing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// At least this many metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<usize>,
    /// Every value at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<f64>,
    /// Every value at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<f64>,
}

impl MetricCheck {
    /// The violations of this check, one line each; empty when it holds.
    pub fn violations(&self, metrics: &[Metric], exit_code: Option<i32>) -> Vec<String> {
        let (name, lo, hi) = match self {
            MetricCheck::ExitCodeEquals { code } => {
                return match exit_code {
                    Some(c) if c == *code => vec![],
                    Some(c) => vec![format!("exit code {c}, expected {code}")],
                    None => vec![format!(
                        "no exit code (killed or unfinished), expected {code}"
                    )],
                };
            }
            MetricCheck::Exists { metric } => (metric, None, None),
            MetricCheck::Min { metric, value } => (metric, Some(*value), None),
            MetricCheck::Max { metric, value } => (metric, None, Some(*value)),
            MetricCheck::Range { metric, min, max } => (metric, Some(*min), Some(*max)),
        };
        let matching: Vec<&Metric> = metrics.iter().filter(|m| &m.name == name).collect();
        if matching.is_empty() {
            return vec![format!("metric `{name}` was not extracted")];
        }
        let mut out = Vec::new();
        for m in matching {
            if m.value.is_nan() && (lo.is_some() || hi.is_some()) {
                out.push(format!("metric `{name}` is not a number"));
                continue;
            }
            if let Some(lo) = lo.filter(|&lo| m.value < lo) {
                out.push(format!(
                    "metric `{name}` = {} is below the minimum {lo}",
                    m.value
                ));
            }
            if let Some(hi) = hi.filter(|&hi| m.value > hi) {
                out.push(format!(
                    "metric `{name}` = {} is above the maximum {hi}",
                    m.value
                ));
            }
        }
        out
    }
}

impl Bounds {
    /// The violations of these bounds, one line each; empty when they hold.
    pub fn violations(&self, metrics: &[Metric]) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(min) = self.min_count.filter(|&min| metrics.len() < min) {
            out.push(format!(
                "{} metric(s) extracted, expected at least {min}",
                metrics.len()
            ));
        }
        for m in metrics {
            if m.value.is_nan() && (self.floor.is_some() || self.ceiling.is_some()) {
                out.push(format!("metric `{}` is not a number", m.name));
                continue;
            }
            if let Some(floor) = self.floor.filter(|&f| m.value < f) {
                out.push(format!(
                    "metric `{}` = {} is below the floor {floor}",
                    m.name, m.value
                ));
            }
            if let Some(ceiling) = self.ceiling.filter(|&c| m.value > c) {
                out.push(format!(
                    "metric `{}` = {} is above the ceiling {ceiling}",
                    m.name, m.value
                ));
            }
        }
        out
    }
}

/// The violations of `checks` over an adapter's output, one line each, in check order.
pub fn evaluate_checks(
    checks: &[MetricCheck],
    output: &AdapterOutput,
    exit_code: Option<i32>,
) -> Vec<String> {
    checks
        .iter()
        .flat_map(|c| c.violations(&output.metrics, exit_code))
        .collect()
}

impl PayloadSpec {
    /// The violations of this payload's checks and bounds over an adapter's output.
    pub fn evaluate(&self, output: &AdapterOutput, exit_code: Option<i32>) -> Vec<String> {
        let mut out = evaluate_checks(&self.checks, output, exit_code);
        if let Some(bounds) = &self.bounds {
            out.extend(bounds.violations(&output.metrics));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Stream;

    fn output(pairs: &[(&str, f64)]) -> AdapterOutput {
        AdapterOutput {
            metrics: pairs
                .iter()
                .map(|(n, v)| Metric::new(*n, *v, Stream::Stdout, "Json"))
                .collect(),
            details: vec![],
        }
    }

    fn min(metric: &str, value: f64) -> MetricCheck {
        MetricCheck::Min {
            metric: metric.into(),
            value,
        }
    }

    #[test]
    fn checks_pass_and_fail() {
        let out = output(&[("iops", 100.0), ("lat", 5.0)]);
        let checks = vec![
            min("iops", 50.0),
            MetricCheck::Max {
                metric: "lat".into(),
                value: 10.0,
            },
            MetricCheck::Range {
                metric: "lat".into(),
                min: 1.0,
                max: 6.0,
            },
            MetricCheck::Exists {
                metric: "iops".into(),
            },
            MetricCheck::ExitCodeEquals { code: 0 },
        ];
        assert_eq!(
            evaluate_checks(&checks, &out, Some(0)),
            Vec::<String>::new()
        );

        let failing = vec![
            min("iops", 150.0),
            MetricCheck::Max {
                metric: "lat".into(),
                value: 1.0,
            },
            MetricCheck::Range {
                metric: "lat".into(),
                min: 6.0,
                max: 7.0,
            },
            MetricCheck::Exists {
                metric: "bw".into(),
            },
            MetricCheck::ExitCodeEquals { code: 0 },
        ];
        assert_eq!(
            evaluate_checks(&failing, &out, Some(3)),
            vec![
                "metric `iops` = 100 is below the minimum 150",
                "metric `lat` = 5 is above the maximum 1",
                "metric `lat` = 5 is below the minimum 6",
                "metric `bw` was not extracted",
                "exit code 3, expected 0",
            ]
        );
    }

    #[test]
    fn missing_metric_and_missing_exit_code_fail() {
        let out = output(&[]);
        assert_eq!(
            evaluate_checks(&[min("x", 0.0)], &out, None),
            vec!["metric `x` was not extracted"]
        );
        let v = evaluate_checks(&[MetricCheck::ExitCodeEquals { code: 0 }], &out, None);
        assert_eq!(v, vec!["no exit code (killed or unfinished), expected 0"]);
    }

    #[test]
    fn every_metric_of_the_name_is_checked_and_nan_fails() {
        let out = output(&[("lat", 1.0), ("lat", 20.0), ("nan", f64::NAN)]);
        assert_eq!(
            evaluate_checks(
                &[MetricCheck::Max {
                    metric: "lat".into(),
                    value: 10.0
                }],
                &out,
                None
            )
            .len(),
            1
        );
        assert_eq!(evaluate_checks(&[min("nan", 0.0)], &out, None).len(), 1);
    }

    #[test]
    fn bounds_check_count_floor_and_ceiling() {
        let out = output(&[("a", -1.0), ("b", 5.0), ("c", 1e9)]);
        let bounds = Bounds {
            min_count: Some(4),
            floor: Some(0.0),
            ceiling: Some(1e6),
        };
        assert_eq!(
            bounds.violations(&out.metrics),
            vec![
                "3 metric(s) extracted, expected at least 4",
                "metric `a` = -1 is below the floor 0",
                "metric `c` = 1000000000 is above the ceiling 1000000",
            ]
        );
        assert!(Bounds::default().violations(&out.metrics).is_empty());
    }

    #[test]
    fn spec_reads_from_json_with_defaults_and_evaluates() {
        let spec: PayloadSpec = serde_json::from_str(
            r#"{
                "binary": "fio", "args": ["--output-format=json"], "adapter": "Json",
                "hints": [{"name": "jobs.0.read.iops", "polarity": "higher_better"}],
                "checks": [{"check": "min", "metric": "jobs.0.read.iops", "value": 1000},
                           {"check": "exit_code_equals", "code": 0}],
                "bounds": {"min_count": 1, "floor": 0}
            }"#,
        )
        .unwrap();
        assert_eq!(spec.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(spec.cgroup, None);
        let out = output(&[("jobs.0.read.iops", 500.0)]);
        assert_eq!(
            spec.evaluate(&out, Some(0)),
            vec!["metric `jobs.0.read.iops` = 500 is below the minimum 1000"]
        );
    }

    #[test]
    fn spec_rejects_unknown_fields() {
        let err = serde_json::from_str::<PayloadSpec>(
            r#"{"binary": "x", "adapter": "Json", "adaptor": 1}"#,
        );
        assert!(err.is_err());
    }
}
