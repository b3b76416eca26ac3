//! Were the custom workers' metrics within the scenario's bounds?

use super::{plural, CheckResult, Detail, DetailKind};
use crate::context::Ctx;

pub(crate) fn check(ctx: &Ctx<'_>) -> CheckResult {
    let bounds = &ctx.input.scenario.metric_bounds;
    let reported: usize = ctx.workers.iter().map(|w| w.metrics.len()).sum();
    if bounds.is_empty() {
        return CheckResult::skip(
            "metrics",
            match reported {
                0 => "the scenario bounds no metric".to_owned(),
                n => format!("{} reported, none bounded", plural(n, "custom metric")),
            },
        );
    }
    let mut details = Vec::new();
    let mut judged = 0;
    for b in bounds {
        let values: Vec<(&str, u32, f64)> = ctx
            .workers
            .iter()
            .flat_map(|w| {
                w.metrics
                    .iter()
                    .filter(|(n, _)| *n == b.name)
                    .map(|(_, v)| (w.cgroup.as_str(), w.index, *v))
            })
            .collect();
        if values.is_empty() {
            details.push(Detail::new(
                DetailKind::MetricBound,
                format!("metric `{}` was never reported", b.name),
            ));
            continue;
        }
        for (cgroup, worker, v) in values {
            judged += 1;
            let low = b
                .min
                .filter(|lo| v < *lo)
                .map(|lo| format!("below its min {lo}"));
            let high = b
                .max
                .filter(|hi| v > *hi)
                .map(|hi| format!("above its max {hi}"));
            if let Some(why) = low.or(high) {
                details.push(
                    Detail::new(
                        DetailKind::MetricBound,
                        format!("metric `{}` = {v} is {why}", b.name),
                    )
                    .cgroup(cgroup)
                    .worker(worker),
                );
            }
        }
    }
    CheckResult::judge(
        "metrics",
        details,
        || {
            format!(
                "{} within {}",
                plural(judged, "metric value"),
                plural(bounds.len(), "bound")
            )
        },
        |d| format!("{} outside or missing", plural(d.len(), "bounded metric")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::testkit::*;
    use ktstr_model::{MetricBound, WorkType};

    fn with_metric(value: Option<f64>) -> crate::RunInput {
        let mut w = worker("a", 0, "custom", 100);
        w.metrics = value
            .map(|v| ("ops_per_sec".to_owned(), v))
            .into_iter()
            .collect();
        let mut s = scenario(vec![cgroup(
            "a",
            vec![group(
                1,
                WorkType::Custom {
                    name: "counter".into(),
                },
            )],
        )]);
        s.metric_bounds.push(MetricBound {
            name: "ops_per_sec".into(),
            min: Some(1000.0),
            max: None,
        });
        input(s, vec![w])
    }

    #[test]
    fn a_value_within_its_bound_passes() {
        let r = run(check, &with_metric(Some(2500.0)));
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.summary, "1 metric value within 1 bound");
    }

    #[test]
    fn a_value_outside_or_a_missing_metric_fails_naming_it() {
        let r = run(check, &with_metric(Some(12.5)));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.details[0].message,
            "metric `ops_per_sec` = 12.5 is below its min 1000"
        );
        assert_eq!(r.details[0].worker, Some(0));
        let r = run(check, &with_metric(None));
        assert_eq!(
            r.details[0].message,
            "metric `ops_per_sec` was never reported"
        );
    }
}
