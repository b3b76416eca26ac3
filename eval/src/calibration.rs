//! Thresholds from measurement: the noise healthy runs show on this machine,
//! and the limits it supports.
//!
//! Feed it the verdicts of a healthy catalog run many times (`ktstr calibrate`);
//! for each judged quantity it reports the distribution over runs, the limit
//! in effect and a proposed limit: the worst healthy value times
//! [`MARGIN`], rounded up. A proposed limit above the current one means the
//! current limit is too tight for this machine (false alarms ahead); far
//! below it, the current limit is loose (real faults may pass).

use serde::Serialize;

use crate::{Accel, Verdict};

/// How far above the worst healthy value a limit should sit.
pub const MARGIN: f64 = 2.0;

/// One judged quantity over many runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// What is measured, by the threshold's name (`max_gap_ms`): the value
    /// its check judged closest to the limit in each run.
    pub name: &'static str,
    /// Its unit (`ms`, `%`, `µs`, `/s`).
    pub unit: &'static str,
    /// Runs that produced a value.
    pub samples: usize,
    /// Median over runs.
    pub median: f64,
    /// 95th percentile over runs (nearest rank).
    pub p95: f64,
    /// The worst healthy value.
    pub max: f64,
    /// The strictest limit the runs were judged by.
    pub limit: f64,
    /// `max * MARGIN`, rounded up to two significant digits.
    pub proposed: f64,
    /// The smallest `limit / value` of any run, each against its own limit
    /// (limits follow the run's length): below 1 a healthy run failed,
    /// below [`MARGIN`] one came close.
    pub headroom: f64,
}

/// A run of the healthy set that failed: a false alarm, or a real bug.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalseAlarm {
    /// The scenario.
    pub scenario: String,
    /// The scheduler.
    pub scheduler: String,
    /// The checks that failed, with their summaries.
    pub checks: Vec<String>,
}

/// What a set of healthy runs says about the thresholds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The accelerator of the runs (mixed sets are refused by [`calibrate`]).
    pub accel: Accel,
    /// How many verdicts went in.
    pub runs: usize,
    /// One entry per judged quantity.
    pub distributions: Vec<Distribution>,
    /// The runs that failed.
    pub false_alarms: Vec<FalseAlarm>,
}

/// Summarises `verdicts` (all of one accelerator; `None` if empty or mixed).
///
/// ```
/// use ktstr_eval::calibration::calibrate;
/// assert!(calibrate(&[]).is_none());
/// ```
pub fn calibrate(verdicts: &[Verdict]) -> Option<Calibration> {
    let accel = verdicts.first()?.accel;
    if verdicts.iter().any(|v| v.accel != accel) {
        return None;
    }
    // Each quantity is what its check judged: the value closest to its
    // limit among the workers and groups it judges (exempt ones are left
    // out, allowances such as a bursty worker's sleep are taken off).
    let quantities: [(&'static str, &'static str, &'static str); 5] = [
        ("gap", "max_gap_ms", "ms"),
        ("fairness", "max_spread_pct", "%"),
        ("wake_latency", "max_p99_wake_us", "µs"),
        ("run_delay", "mean_wait_to_run_us", "µs"),
        ("migrations", "max_migrations_per_sec", "/s"),
    ];
    let measure = |v: &Verdict, check: &str| {
        v.checks
            .iter()
            .find(|c| c.name == check)
            .and_then(|c| c.measure)
    };
    let distributions = quantities
        .iter()
        .filter_map(|&(check, name, unit)| {
            let measures: Vec<_> = verdicts.iter().filter_map(|v| measure(v, check)).collect();
            let mut values: Vec<f64> = measures.iter().map(|m| m.value).collect();
            if values.is_empty() {
                return None;
            }
            let headroom = measures
                .iter()
                .filter(|m| m.value > 0.0)
                .map(|m| m.limit / m.value)
                .fold(f64::INFINITY, f64::min);
            values.sort_by(f64::total_cmp);
            let rank = |p: f64| {
                let i = ((p / 100.0) * values.len() as f64).ceil() as usize;
                values[i.clamp(1, values.len()) - 1]
            };
            let max = values[values.len() - 1];
            Some(Distribution {
                name,
                unit,
                samples: values.len(),
                median: rank(50.0),
                p95: rank(95.0),
                max,
                limit: measures
                    .iter()
                    .map(|m| m.limit)
                    .fold(f64::INFINITY, f64::min),
                proposed: round_up_2_digits(max * MARGIN),
                headroom,
            })
        })
        .collect();
    let false_alarms = verdicts
        .iter()
        .filter(|v| !v.passed())
        .map(|v| FalseAlarm {
            scenario: v.scenario.clone(),
            scheduler: v.scheduler.clone(),
            checks: v
                .failures()
                .map(|c| format!("{}: {}", c.name, c.summary))
                .collect(),
        })
        .collect();
    Some(Calibration {
        accel,
        runs: verdicts.len(),
        distributions,
        false_alarms,
    })
}

/// Rounds up to two significant digits (1234 → 1300, 0.123 → 0.13).
fn round_up_2_digits(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return v.max(0.0);
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - 1);
    (v / scale).ceil() * scale
}

impl Calibration {
    /// The human report: one row per quantity, then the false alarms.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "calibration over {} healthy runs ({}); limit = the strictest in effect, proposed = worst x {MARGIN}, headroom = least limit/value of any run\n",
            self.runs, self.accel
        );
        out.push_str(&format!(
            "  {:<28} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}\n",
            "quantity", "samples", "median", "p95", "max", "limit", "proposed", "headroom"
        ));
        for d in &self.distributions {
            out.push_str(&format!(
                "  {:<28} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}\n",
                format!("{} ({})", d.name, d.unit),
                d.samples,
                number(d.median),
                number(d.p95),
                number(d.max),
                number(d.limit),
                number(d.proposed),
                if d.headroom.is_finite() {
                    format!("{:.1}x", d.headroom)
                } else {
                    "-".to_owned()
                }
            ));
        }
        match self.false_alarms.len() {
            0 => out.push_str("  no false alarms\n"),
            n => {
                out.push_str(&format!("  {n} runs failed:\n"));
                for f in &self.false_alarms {
                    out.push_str(&format!(
                        "    {} under {}: {}\n",
                        f.scenario,
                        f.scheduler,
                        f.checks.join("; ")
                    ));
                }
            }
        }
        out
    }
}

fn number(v: f64) -> String {
    if v.is_infinite() {
        "-".to_owned()
    } else if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate;
    use crate::testkit::*;
    use ktstr_wire::Message;

    fn with_gap(gap_ms: u64) -> Verdict {
        let mut i = two_spinners();
        i.accel = Accel::Tcg;
        i.scenario.duration_ms = 3_000;
        if let Message::Worker(w) = &mut i.messages[0] {
            w.max_gap_ns = gap_ms * 1_000_000;
        }
        evaluate(&i)
    }

    #[test]
    fn distributions_limits_and_false_alarms() {
        let verdicts: Vec<Verdict> = [40, 60, 80, 120, 900].map(with_gap).into();
        let c = calibrate(&verdicts).unwrap();
        assert_eq!(c.runs, 5);
        let gap = &c.distributions[0];
        assert_eq!(gap.name, "max_gap_ms");
        assert_eq!((gap.median, gap.p95, gap.max), (80.0, 900.0, 900.0));
        assert_eq!(gap.limit, 750.0, "a quarter of the 3 s run");
        assert_eq!(gap.proposed, 1800.0);
        assert!((gap.headroom - 750.0 / 900.0).abs() < 1e-9);
        assert_eq!(c.false_alarms.len(), 1);
        assert!(c.false_alarms[0].checks[0].starts_with("gap: "));
        let text = c.render_text();
        assert!(text.contains("max_gap_ms (ms)"), "{text}");
        assert!(text.contains("1 runs failed:"), "{text}");
    }

    #[test]
    fn report_snapshot() {
        let verdicts: Vec<Verdict> = [40, 900].map(with_gap).into();
        let text = calibrate(&verdicts).unwrap().render_text();
        assert_eq!(text, SNAPSHOT);
    }

    const SNAPSHOT: &str = "\
calibration over 2 healthy runs (tcg); limit = the strictest in effect, proposed = worst x 2, headroom = least limit/value of any run
  quantity                     samples     median        p95        max      limit   proposed  headroom
  max_gap_ms (ms)                    2         40        900        900        750       1800      0.8x
  max_spread_pct (%)                 2          0          0          0         60          0         -
  max_migrations_per_sec (/s)        2          5          5          5        500         10    100.0x
  1 runs failed:
    steady under eevdf: gap: 1 worker stuck longer than 750 ms
";

    #[test]
    fn mixed_accelerators_are_refused() {
        let mut kvm = with_gap(10);
        kvm.accel = Accel::Kvm;
        assert!(calibrate(&[with_gap(10), kvm]).is_none());
    }

    #[test]
    fn rounding_keeps_two_digits_and_rounds_up() {
        assert_eq!(round_up_2_digits(1234.0), 1300.0);
        assert_eq!(round_up_2_digits(99.0), 99.0);
        assert_eq!(round_up_2_digits(0.0), 0.0);
        assert!((round_up_2_digits(0.123) - 0.13).abs() < 1e-12);
    }
}
