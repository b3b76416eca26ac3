//! Judging an adapter's output against a payload definition.
//!
//! The payload definition types themselves ([`Payload`], [`PayloadCheck`], [`PayloadBounds`],
//! [`PayloadHint`], [`HintPolarity`]) are `ktstr-model`'s, re-exported here so that a payload
//! reads the same from a scenario, a `--spec` file or a third-party host.

use ktstr_model::{HintPolarity, Payload, PayloadBounds, PayloadCheck, PayloadHint};

use crate::types::{AdapterOutput, Metric, MetricHint, Polarity};

impl From<HintPolarity> for Polarity {
    fn from(p: HintPolarity) -> Self {
        match p {
            HintPolarity::HigherBetter => Polarity::HigherBetter,
            HintPolarity::LowerBetter => Polarity::LowerBetter,
            HintPolarity::Target(t) => Polarity::Target(t),
        }
    }
}

/// A payload definition's hint as adapters take it; no polarity is [`Polarity::Unknown`].
impl From<&PayloadHint> for MetricHint {
    fn from(h: &PayloadHint) -> Self {
        MetricHint {
            name: h.name.clone(),
            polarity: h.polarity.map_or(Polarity::Unknown, Polarity::from),
            unit: h.unit.clone(),
        }
    }
}

/// The violations of one check, one line each; empty when it holds.
///
/// A metric check applies to every metric with that name and fails when there is none; a
/// value that is not a number fails a `min`, `max` or `range` check.
pub fn check_violations(
    check: &PayloadCheck,
    metrics: &[Metric],
    exit_code: Option<i32>,
) -> Vec<String> {
    let (name, lo, hi) = match check {
        PayloadCheck::ExitCodeEquals { code } => {
            return match exit_code {
                Some(c) if c == *code => vec![],
                Some(c) => vec![format!("exit code {c}, expected {code}")],
                None => vec![format!(
                    "no exit code (killed or unfinished), expected {code}"
                )],
            };
        }
        PayloadCheck::Exists { metric } => (metric, None, None),
        PayloadCheck::Min { metric, value } => (metric, Some(*value), None),
        PayloadCheck::Max { metric, value } => (metric, None, Some(*value)),
        PayloadCheck::Range { metric, min, max } => (metric, Some(*min), Some(*max)),
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

/// The violations of a payload's bounds, one line each; empty when they hold.
pub fn bounds_violations(bounds: &PayloadBounds, metrics: &[Metric]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(min) = bounds.min_count.filter(|&min| metrics.len() < min) {
        out.push(format!(
            "{} metric(s) extracted, expected at least {min}",
            metrics.len()
        ));
    }
    for m in metrics {
        if m.value.is_nan() && (bounds.floor.is_some() || bounds.ceiling.is_some()) {
            out.push(format!("metric `{}` is not a number", m.name));
            continue;
        }
        if let Some(floor) = bounds.floor.filter(|&f| m.value < f) {
            out.push(format!(
                "metric `{}` = {} is below the floor {floor}",
                m.name, m.value
            ));
        }
        if let Some(ceiling) = bounds.ceiling.filter(|&c| m.value > c) {
            out.push(format!(
                "metric `{}` = {} is above the ceiling {ceiling}",
                m.name, m.value
            ));
        }
    }
    out
}

/// The violations of `checks` over an adapter's output, one line each, in check order.
pub fn evaluate_checks(
    checks: &[PayloadCheck],
    output: &AdapterOutput,
    exit_code: Option<i32>,
) -> Vec<String> {
    checks
        .iter()
        .flat_map(|c| check_violations(c, &output.metrics, exit_code))
        .collect()
}

/// The violations of a payload's checks, then its bounds, over an adapter's output.
pub fn evaluate(payload: &Payload, output: &AdapterOutput, exit_code: Option<i32>) -> Vec<String> {
    let mut out = evaluate_checks(&payload.checks, output, exit_code);
    if let Some(bounds) = &payload.bounds {
        out.extend(bounds_violations(bounds, &output.metrics));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Stream;
    use ktstr_model::DEFAULT_PAYLOAD_TIMEOUT_MS;

    fn output(pairs: &[(&str, f64)]) -> AdapterOutput {
        AdapterOutput {
            metrics: pairs
                .iter()
                .map(|(n, v)| Metric::new(*n, *v, Stream::Stdout, "Json"))
                .collect(),
            details: vec![],
        }
    }

    fn min(metric: &str, value: f64) -> PayloadCheck {
        PayloadCheck::Min {
            metric: metric.into(),
            value,
        }
    }

    #[test]
    fn checks_pass_and_fail() {
        let out = output(&[("iops", 100.0), ("lat", 5.0)]);
        let checks = vec![
            min("iops", 50.0),
            PayloadCheck::Max {
                metric: "lat".into(),
                value: 10.0,
            },
            PayloadCheck::Range {
                metric: "lat".into(),
                min: 1.0,
                max: 6.0,
            },
            PayloadCheck::Exists {
                metric: "iops".into(),
            },
            PayloadCheck::ExitCodeEquals { code: 0 },
        ];
        assert_eq!(
            evaluate_checks(&checks, &out, Some(0)),
            Vec::<String>::new()
        );

        let failing = vec![
            min("iops", 150.0),
            PayloadCheck::Max {
                metric: "lat".into(),
                value: 1.0,
            },
            PayloadCheck::Range {
                metric: "lat".into(),
                min: 6.0,
                max: 7.0,
            },
            PayloadCheck::Exists {
                metric: "bw".into(),
            },
            PayloadCheck::ExitCodeEquals { code: 0 },
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
    fn range_fails_above_its_maximum() {
        let check = PayloadCheck::Range {
            metric: "lat".into(),
            min: 1.0,
            max: 6.0,
        };
        assert_eq!(
            check_violations(&check, &output(&[("lat", 9.0)]).metrics, None),
            vec!["metric `lat` = 9 is above the maximum 6"]
        );
    }

    #[test]
    fn missing_metric_and_missing_exit_code_fail() {
        let out = output(&[]);
        assert_eq!(
            evaluate_checks(&[min("x", 0.0)], &out, None),
            vec!["metric `x` was not extracted"]
        );
        let v = evaluate_checks(&[PayloadCheck::ExitCodeEquals { code: 0 }], &out, None);
        assert_eq!(v, vec!["no exit code (killed or unfinished), expected 0"]);
    }

    #[test]
    fn every_metric_of_the_name_is_checked_and_nan_fails() {
        let out = output(&[("lat", 1.0), ("lat", 20.0), ("nan", f64::NAN)]);
        assert_eq!(
            evaluate_checks(
                &[PayloadCheck::Max {
                    metric: "lat".into(),
                    value: 10.0
                }],
                &out,
                None
            ),
            vec!["metric `lat` = 20 is above the maximum 10"]
        );
        let nan_fails = [
            min("nan", 0.0),
            PayloadCheck::Max {
                metric: "nan".into(),
                value: 0.0,
            },
            PayloadCheck::Range {
                metric: "nan".into(),
                min: 0.0,
                max: 1.0,
            },
        ];
        for check in &nan_fails {
            assert_eq!(
                check_violations(check, &out.metrics, None),
                vec!["metric `nan` is not a number"],
                "{check:?}"
            );
        }
        // Extracted is all `exists` asks for.
        let exists = PayloadCheck::Exists {
            metric: "nan".into(),
        };
        assert!(check_violations(&exists, &out.metrics, None).is_empty());
    }

    #[test]
    fn bounds_check_count_floor_and_ceiling() {
        let out = output(&[("a", -1.0), ("b", 5.0), ("c", 1e9)]);
        let bounds = PayloadBounds {
            min_count: Some(4),
            floor: Some(0.0),
            ceiling: Some(1e6),
        };
        assert_eq!(
            bounds_violations(&bounds, &out.metrics),
            vec![
                "3 metric(s) extracted, expected at least 4",
                "metric `a` = -1 is below the floor 0",
                "metric `c` = 1000000000 is above the ceiling 1000000",
            ]
        );
        assert!(bounds_violations(&PayloadBounds::default(), &out.metrics).is_empty());
    }

    #[test]
    fn bounds_reject_nan_only_when_limited() {
        let out = output(&[("nan", f64::NAN)]);
        let floor = PayloadBounds {
            floor: Some(0.0),
            ..Default::default()
        };
        assert_eq!(
            bounds_violations(&floor, &out.metrics),
            vec!["metric `nan` is not a number"]
        );
        let ceiling = PayloadBounds {
            ceiling: Some(1.0),
            ..Default::default()
        };
        assert_eq!(
            bounds_violations(&ceiling, &out.metrics),
            vec!["metric `nan` is not a number"]
        );
        let count = PayloadBounds {
            min_count: Some(1),
            ..Default::default()
        };
        assert!(bounds_violations(&count, &out.metrics).is_empty());
    }

    #[test]
    fn payload_reads_from_json_with_defaults_and_evaluates() {
        let payload: Payload = serde_json::from_str(
            r#"{
                "name": "fio", "binary": "fio", "args": ["--output-format=json"], "adapter": "Json",
                "hints": [{"name": "jobs.0.read.iops", "polarity": "higher_better"}],
                "checks": [{"check": "min", "metric": "jobs.0.read.iops", "value": 1000},
                           {"check": "exit_code_equals", "code": 0}],
                "bounds": {"min_count": 2, "floor": 0}
            }"#,
        )
        .unwrap();
        assert_eq!(payload.timeout_ms, DEFAULT_PAYLOAD_TIMEOUT_MS);
        assert_eq!(payload.cgroup, None);
        let out = output(&[("jobs.0.read.iops", 500.0)]);
        assert_eq!(
            evaluate(&payload, &out, Some(1)),
            vec![
                "metric `jobs.0.read.iops` = 500 is below the minimum 1000",
                "exit code 1, expected 0",
                "1 metric(s) extracted, expected at least 2",
            ]
        );
        let hints: Vec<MetricHint> = payload.hints.iter().map(MetricHint::from).collect();
        assert_eq!(hints[0].polarity, Polarity::HigherBetter);
    }

    #[test]
    fn payload_rejects_unknown_fields() {
        let err = serde_json::from_str::<Payload>(
            r#"{"name": "x", "binary": "x", "adapter": "Json", "adaptor": 1}"#,
        );
        assert!(err.is_err());
    }

    #[test]
    fn hints_convert_with_every_polarity() {
        let hint = |polarity| PayloadHint {
            name: "lat".into(),
            polarity,
            unit: Some("us".into()),
        };
        for (given, expected) in [
            (None, Polarity::Unknown),
            (Some(HintPolarity::HigherBetter), Polarity::HigherBetter),
            (Some(HintPolarity::LowerBetter), Polarity::LowerBetter),
            (Some(HintPolarity::Target(2.5)), Polarity::Target(2.5)),
        ] {
            assert_eq!(
                MetricHint::from(&hint(given)),
                MetricHint {
                    name: "lat".into(),
                    polarity: expected,
                    unit: Some("us".into()),
                }
            );
        }
    }
}
