//! Comparing two sets of runs metric by metric, with a dual gate.

use std::collections::BTreeMap;

use ktstr_model::HintPolarity;
use ktstr_results::StoredRun;
use serde::Serialize;

use crate::stats::{bootstrap_change_pct, mann_whitney, median};

/// When a difference counts: it must be significant **and** large enough.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gate {
    /// The rank test's p-value must be below this (default 0.05).
    pub alpha: f64,
    /// The change of medians must be at least this many percent (default 5).
    pub min_change_pct: f64,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            alpha: 0.05,
            min_change_pct: 5.0,
        }
    }
}

/// What happened to a metric from A to B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Significantly and substantially worse, by the metric's polarity.
    Regressed,
    /// Significantly and substantially better.
    Improved,
    /// Significantly and substantially different; the metric states no
    /// polarity, so it is not judged.
    Changed,
    /// Not significant, or smaller than the gate's thresholds.
    NoSignificantChange,
    /// Too few runs for the test to ever be significant.
    TooFewRuns,
}

impl Outcome {
    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Regressed => "regressed",
            Outcome::Improved => "improved",
            Outcome::Changed => "changed",
            Outcome::NoSignificantChange => "no significant change",
            Outcome::TooFewRuns => "too few runs",
        }
    }
}

/// One side's values of one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideValues {
    /// Runs that had the metric.
    pub n: usize,
    /// Their median.
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl SideValues {
    fn of(values: &[f64]) -> Self {
        SideValues {
            n: values.len(),
            median: median(values),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// One scenario × metric of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricChange {
    /// The scenario.
    pub scenario: String,
    /// The metric.
    pub metric: String,
    /// Its unit, when known.
    pub unit: Option<String>,
    /// Which direction is better (`None`: not stated).
    pub polarity: Option<HintPolarity>,
    /// Side A.
    pub a: SideValues,
    /// Side B.
    pub b: SideValues,
    /// `median(B) / median(A) - 1`, percent (`None` when A's median is 0).
    pub change_pct: Option<f64>,
    /// 95 % bootstrap interval of the change, percent.
    pub change_interval_pct: Option<(f64, f64)>,
    /// The Mann–Whitney U test's two-sided p-value.
    pub p_value: f64,
    /// `p_value` adjusted for testing many metrics at once (Benjamini–Hochberg
    /// over the comparison's metrics with a polarity): the gate reads this.
    pub q_value: f64,
    /// `exact` (a permutation over every split) or `normal` (approximation).
    pub p_method: &'static str,
    /// The metric's noise floor, in its unit: smaller differences of the
    /// medians never count.
    pub noise_floor: Option<f64>,
    /// The verdict on this metric.
    pub outcome: Outcome,
}

/// One side of a comparison, as reports name it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideRuns {
    /// What the side is (`scx_simple`, `scheduler=scx_simple kernel=3fa9`).
    pub label: String,
    /// The runs in it.
    pub run_ids: Vec<String>,
    /// Runs that failed their checks (their numbers are compared all the same).
    pub failed_runs: Vec<String>,
}

/// A whole comparison: the machine format of `ktstr compare --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The baseline.
    pub a: SideRuns,
    /// The candidate.
    pub b: SideRuns,
    /// The gate every metric was judged by.
    pub gate: Gate,
    /// The test used, and why.
    pub method: &'static str,
    /// Every scenario × metric both sides have.
    pub changes: Vec<MetricChange>,
    /// What could not be compared (a scenario one side lacks, sides that
    /// differ in kernel or topology).
    pub notes: Vec<String>,
}

/// The test and interval, as reports state them.
pub const METHOD: &str = "Mann-Whitney U (two-sided; exact over every split for small samples, \
     normal approximation otherwise): TCG run numbers are skewed and have outliers, which a rank \
     test tolerates and a t-test does not; p-values adjusted over the metrics with a polarity \
     (Benjamini-Hochberg) so that testing many metrics does not make false alarms likely; \
     change = ratio of medians with a 95 % percentile bootstrap interval";

impl Comparison {
    /// Compares runs `a` (the baseline) with runs `b`, pairing them by
    /// scenario and metric name.
    ///
    /// ```
    /// use ktstr_compare::{Comparison, Gate};
    ///
    /// let c = Comparison::new(("A", &[]), ("B", &[]), Gate::default());
    /// assert!(c.changes.is_empty() && !c.regressed());
    /// ```
    pub fn new(a: (&str, &[StoredRun]), b: (&str, &[StoredRun]), gate: Gate) -> Self {
        let mut notes = Vec::new();
        let by_scenario = |runs: &[StoredRun]| {
            let mut m: BTreeMap<String, Vec<StoredRun>> = BTreeMap::new();
            for r in runs {
                m.entry(r.meta.scenario.clone())
                    .or_default()
                    .push(r.clone());
            }
            m
        };
        let (sa, sb) = (by_scenario(a.1), by_scenario(b.1));
        for (side, mine, other) in [("A", &sa, &sb), ("B", &sb, &sa)] {
            for s in mine.keys().filter(|s| !other.contains_key(*s)) {
                notes.push(format!("scenario `{s}` has runs only on side {side}"));
            }
        }
        for (what, f) in [
            (
                "kernel",
                (|r: &StoredRun| r.meta.kernel.clone()) as fn(&StoredRun) -> String,
            ),
            ("topology", |r| r.meta.topology.clone()),
            ("accel", |r| r.meta.accel.clone()),
        ] {
            let va: std::collections::BTreeSet<String> = a.1.iter().map(f).collect();
            let vb: std::collections::BTreeSet<String> = b.1.iter().map(f).collect();
            if !va.is_empty() && !vb.is_empty() && va != vb {
                notes.push(format!(
                    "the sides differ in {what} (A: {}; B: {}): the difference may not be the scheduler's",
                    va.into_iter().collect::<Vec<_>>().join(", "),
                    vb.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        let mut changes = Vec::new();
        for (scenario, ra) in &sa {
            let Some(rb) = sb.get(scenario) else { continue };
            changes.extend(compare_scenario(scenario, ra, rb, &gate));
        }
        adjust_for_many_metrics(&mut changes, &gate);
        let side = |(label, runs): (&str, &[StoredRun])| SideRuns {
            label: label.to_string(),
            run_ids: runs.iter().map(|r| r.meta.id.clone()).collect(),
            failed_runs: runs
                .iter()
                .filter(|r| !r.passed)
                .map(|r| r.meta.id.clone())
                .collect(),
        };
        Comparison {
            a: side(a),
            b: side(b),
            gate,
            method: METHOD,
            changes,
            notes,
        }
    }

    /// Whether any gated metric regressed.
    pub fn regressed(&self) -> bool {
        self.changes.iter().any(|c| c.outcome == Outcome::Regressed)
    }

    /// How many metrics had `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.changes.iter().filter(|c| c.outcome == outcome).count()
    }
}

fn compare_scenario(
    scenario: &str,
    a: &[StoredRun],
    b: &[StoredRun],
    gate: &Gate,
) -> Vec<MetricChange> {
    // Metric name -> (A values, B values); first-seen unit, polarity, floor.
    let mut names: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in a {
        for m in r.metrics.iter().filter(|m| m.value.is_finite()) {
            names.entry(&m.name).or_default().0.push(m.value);
        }
    }
    for r in b {
        for m in r.metrics.iter().filter(|m| m.value.is_finite()) {
            names.entry(&m.name).or_default().1.push(m.value);
        }
    }
    let describe = |name: &str| {
        a.iter()
            .chain(b)
            .find_map(|r| r.metric(name))
            .map(|m| (m.unit.clone(), m.polarity, m.noise_floor))
            .unwrap_or((None, None, None))
    };
    names
        .into_iter()
        .filter_map(|(name, (va, vb))| {
            let (unit, polarity, noise_floor) = describe(name);
            judge(scenario, name, unit, polarity, noise_floor, &va, &vb, gate)
        })
        .collect()
}

/// A comparison tests many metrics; with 10 of them at p < 0.05 each, one
/// false alarm in every few comparisons of a scheduler with itself would be
/// expected. The Benjamini–Hochberg step-up adjustment keeps the expected
/// share of false alarms among the reported changes at `alpha` while a real
/// change, which moves several metrics at once, still passes. Metrics without
/// polarity are reported, not gated, and stay out of the family.
fn adjust_for_many_metrics(changes: &mut [MetricChange], gate: &Gate) {
    let mut family: Vec<usize> = (0..changes.len())
        .filter(|&i| changes[i].polarity.is_some() && changes[i].outcome != Outcome::TooFewRuns)
        .collect();
    family.sort_by(|&i, &j| changes[i].p_value.total_cmp(&changes[j].p_value));
    let m = family.len() as f64;
    let mut running_min = 1.0f64;
    for (rank, &i) in family.iter().enumerate().rev() {
        let q = (changes[i].p_value * m / (rank + 1) as f64).min(1.0);
        running_min = running_min.min(q);
        changes[i].q_value = running_min;
        if changes[i].q_value >= gate.alpha
            && matches!(changes[i].outcome, Outcome::Regressed | Outcome::Improved)
        {
            changes[i].outcome = Outcome::NoSignificantChange;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn judge(
    scenario: &str,
    name: &str,
    unit: Option<String>,
    polarity: Option<HintPolarity>,
    noise_floor: Option<f64>,
    va: &[f64],
    vb: &[f64],
    gate: &Gate,
) -> Option<MetricChange> {
    // `None` when a side has no value.
    let test = mann_whitney(va, vb)?;
    let (sa, sb) = (SideValues::of(va), SideValues::of(vb));
    let change_pct = (sa.median != 0.0).then(|| (sb.median / sa.median - 1.0) * 100.0);
    let change_interval_pct = bootstrap_change_pct(va, vb);
    let diff = sb.median - sa.median;
    let large = change_pct.is_none_or(|c| c.abs() >= gate.min_change_pct)
        && noise_floor.is_none_or(|f| diff.abs() > f)
        && diff != 0.0;
    let outcome = if test.min_p >= gate.alpha {
        Outcome::TooFewRuns
    } else if test.p >= gate.alpha || !large {
        Outcome::NoSignificantChange
    } else {
        match polarity {
            Some(HintPolarity::HigherBetter) if diff > 0.0 => Outcome::Improved,
            Some(HintPolarity::HigherBetter) => Outcome::Regressed,
            Some(HintPolarity::LowerBetter) if diff < 0.0 => Outcome::Improved,
            Some(HintPolarity::LowerBetter) => Outcome::Regressed,
            Some(HintPolarity::Target(t)) if (sb.median - t).abs() < (sa.median - t).abs() => {
                Outcome::Improved
            }
            Some(HintPolarity::Target(_)) => Outcome::Regressed,
            None => Outcome::Changed,
        }
    };
    Some(MetricChange {
        scenario: scenario.to_string(),
        metric: name.to_string(),
        unit,
        polarity,
        a: sa,
        b: sb,
        change_pct,
        change_interval_pct,
        p_value: test.p,
        q_value: test.p,
        p_method: if test.exact { "exact" } else { "normal" },
        noise_floor,
        outcome,
    })
}
