//! Run-to-run spread of repeated runs: how many passed, and how much the main
//! statistics moved between runs (the noise a verdict must tolerate).

use std::collections::BTreeMap;

use ktstr_eval::Verdict;
use serde::Serialize;

/// min / median / max of one statistic over repeated runs.
#[derive(Debug, Clone, Serialize)]
pub struct Range {
    /// The smallest value.
    pub min: f64,
    /// The median.
    pub median: f64,
    /// The largest value.
    pub max: f64,
    /// (max - min) / median, percent; 0 when the median is 0.
    pub spread_pct: f64,
}

impl Range {
    fn of(mut v: Vec<f64>) -> Option<Range> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let median = if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        let (min, max) = (v[0], v[v.len() - 1]);
        let spread_pct = if median > 0.0 {
            (max - min) / median * 100.0
        } else {
            0.0
        };
        Some(Range {
            min,
            median,
            max,
            spread_pct,
        })
    }
}

/// The repeated runs of one scenario under one scheduler.
#[derive(Debug, Clone, Serialize)]
pub struct RepeatSummary {
    /// The scenario.
    pub scenario: String,
    /// The scheduler.
    pub scheduler: String,
    /// How many runs.
    pub runs: usize,
    /// How many of them passed.
    pub passed: usize,
    /// Work units per second of scenario time, over all workers.
    pub work_rate: Option<Range>,
    /// Longest progress gap of any worker, ms.
    pub worst_gap_ms: Option<Range>,
    /// Largest within-cgroup fairness spread, percent.
    pub worst_spread_pct: Option<Range>,
}

/// Groups verdicts by (scenario, scheduler) and summarises each group.
pub fn summarise<'a>(verdicts: impl IntoIterator<Item = (&'a Verdict, u64)>) -> Vec<RepeatSummary> {
    let mut groups: BTreeMap<(String, String), Vec<(&Verdict, u64)>> = BTreeMap::new();
    for (v, duration_ms) in verdicts {
        groups
            .entry((v.scenario.clone(), v.scheduler.clone()))
            .or_default()
            .push((v, duration_ms));
    }
    groups
        .into_iter()
        .map(|((scenario, scheduler), vs)| RepeatSummary {
            runs: vs.len(),
            passed: vs.iter().filter(|(v, _)| v.passed()).count(),
            work_rate: Range::of(
                vs.iter()
                    .map(|(v, ms)| v.stats.total_work_units as f64 / (*ms as f64 / 1e3).max(1e-3))
                    .collect(),
            ),
            worst_gap_ms: Range::of(
                vs.iter()
                    .filter_map(|(v, _)| v.stats.worst_gap.as_ref().map(|g| g.gap_ms as f64))
                    .collect(),
            ),
            worst_spread_pct: Range::of(
                vs.iter()
                    .filter_map(|(v, _)| v.stats.worst_spread.as_ref().map(|s| s.spread_pct))
                    .collect(),
            ),
            scenario,
            scheduler,
        })
        .collect()
}

/// One line per group for people.
pub fn render(summaries: &[RepeatSummary]) -> String {
    let fmt = |r: &Option<Range>, unit: &str| match r {
        Some(r) => format!(
            "{:.1}/{:.1}/{:.1}{unit} (±{:.0}%)",
            r.min,
            r.median,
            r.max,
            r.spread_pct / 2.0
        ),
        None => "-".into(),
    };
    let mut out = String::from("run-to-run spread (min/median/max):\n");
    for s in summaries {
        out.push_str(&format!(
            "  {:<18} {:<14} {}/{} passed  rate {}  worst gap {}  worst spread {}\n",
            s.scenario,
            s.scheduler,
            s.passed,
            s.runs,
            fmt(
                &s.work_rate.as_ref().map(|r| Range {
                    min: r.min / 1e3,
                    median: r.median / 1e3,
                    max: r.max / 1e3,
                    spread_pct: r.spread_pct
                }),
                "k/s"
            ),
            fmt(&s.worst_gap_ms, " ms"),
            fmt(&s.worst_spread_pct, "%"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_min_median_max() {
        let r = Range::of(vec![3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((r.min, r.median, r.max), (1.0, 2.5, 10.0));
        assert!((r.spread_pct - 360.0).abs() < 1e-9);
        assert!(Range::of(vec![]).is_none());
        assert_eq!(Range::of(vec![0.0]).unwrap().spread_pct, 0.0);
    }
}
