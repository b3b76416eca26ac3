//! Comparisons over synthetic runs (the numbers are chosen, not measured:
//! the statistics and the gate are what is tested here; the VM test in
//! `tests/` compares real runs).

use ktstr_compare::{render_markdown, render_text, Comparison, Gate, Outcome};
use ktstr_model::HintPolarity;
use ktstr_results::{RunMeta, RunMetric, RunOrigin, StoredRun, RUN_RECORD_SCHEMA};

fn runs(scheduler: &str, units: &[f64], gaps: &[f64]) -> Vec<StoredRun> {
    units
        .iter()
        .zip(gaps)
        .enumerate()
        .map(|(i, (&u, &g))| StoredRun {
            schema: RUN_RECORD_SCHEMA,
            meta: RunMeta {
                id: format!("{scheduler}-{i}"),
                started_at: "2026-12-02T14:00:00Z".into(),
                origin: RunOrigin::Compare,
                scenario: "steady".into(),
                scheduler: scheduler.into(),
                scheduler_build: Default::default(),
                topology: "1n2l2c1t".into(),
                backend: "qemu".into(),
                accel: "tcg".into(),
                kernel: "258dfc47bb81".into(),
                kernel_build: Default::default(),
                host: Default::default(),
            },
            passed: true,
            failure: None,
            wall_ms: 8000.0,
            metrics: vec![
                RunMetric::new(
                    "total_work_units",
                    u,
                    "units",
                    Some(HintPolarity::HigherBetter),
                ),
                RunMetric::new("worst_gap_ms", g, "ms", Some(HintPolarity::LowerBetter))
                    .with_noise_floor(4.0),
            ],
        })
        .collect()
}

fn outcome(c: &Comparison, metric: &str) -> Outcome {
    c.changes
        .iter()
        .find(|m| m.metric == metric)
        .unwrap()
        .outcome
}

#[test]
fn overlapping_samples_are_no_significant_change() {
    let a = runs(
        "A",
        &[100.0, 104.0, 97.0, 101.0, 99.0],
        &[20.0, 24.0, 18.0, 22.0, 21.0],
    );
    let b = runs(
        "B",
        &[102.0, 98.0, 100.0, 103.0, 96.0],
        &[23.0, 19.0, 21.0, 20.0, 22.0],
    );
    let c = Comparison::new(("A", &a), ("B", &b), Gate::default());
    assert_eq!(
        outcome(&c, "total_work_units"),
        Outcome::NoSignificantChange
    );
    assert_eq!(outcome(&c, "worst_gap_ms"), Outcome::NoSignificantChange);
    assert!(!c.regressed());
}

#[test]
fn a_separated_slowdown_is_a_regression_by_polarity() {
    let a = runs(
        "A",
        &[100.0, 104.0, 97.0, 101.0, 99.0],
        &[20.0, 24.0, 18.0, 22.0, 21.0],
    );
    let b = runs(
        "B",
        &[80.0, 83.0, 79.0, 85.0, 81.0],
        &[60.0, 75.0, 58.0, 66.0, 70.0],
    );
    let c = Comparison::new(("A", &a), ("B", &b), Gate::default());
    assert_eq!(outcome(&c, "total_work_units"), Outcome::Regressed);
    assert_eq!(outcome(&c, "worst_gap_ms"), Outcome::Regressed);
    assert!(c.regressed());
    // The other way round it is an improvement.
    let back = Comparison::new(("B", &b), ("A", &a), Gate::default());
    assert_eq!(outcome(&back, "total_work_units"), Outcome::Improved);
    assert!(!back.regressed());
}

#[test]
fn significant_but_small_changes_do_not_pass_the_gate() {
    // Fully separated (p = 0.008) but 2 %: below the 5 % threshold; gaps
    // 2 ms apart: below the 4 ms noise floor.
    let a = runs(
        "A",
        &[100.0, 100.5, 101.0, 101.5, 102.0],
        &[20.0, 20.5, 21.0, 21.5, 22.0],
    );
    let b = runs(
        "B",
        &[97.0, 97.5, 98.0, 98.5, 99.0],
        &[22.5, 23.0, 23.5, 24.0, 24.5],
    );
    let c = Comparison::new(("A", &a), ("B", &b), Gate::default());
    assert_eq!(
        outcome(&c, "total_work_units"),
        Outcome::NoSignificantChange
    );
    assert_eq!(outcome(&c, "worst_gap_ms"), Outcome::NoSignificantChange);
    let strict = Gate {
        min_change_pct: 1.0,
        ..Gate::default()
    };
    let c = Comparison::new(("A", &a), ("B", &b), strict);
    assert_eq!(outcome(&c, "total_work_units"), Outcome::Regressed);
}

#[test]
fn three_runs_a_side_are_too_few() {
    let a = runs("A", &[100.0, 101.0, 102.0], &[20.0, 21.0, 22.0]);
    let b = runs("B", &[50.0, 51.0, 52.0], &[90.0, 91.0, 92.0]);
    let c = Comparison::new(("A", &a), ("B", &b), Gate::default());
    assert_eq!(outcome(&c, "total_work_units"), Outcome::TooFewRuns);
    assert!(!c.regressed());
    assert!(render_text(&c).contains("too few runs to detect a change (use --repeat 5 or more)"));
}

#[test]
fn text_and_markdown_snapshots() {
    let a = runs(
        "scx_simple",
        &[100.0, 104.0, 97.0, 101.0, 99.0],
        &[20.0, 24.0, 18.0, 22.0, 21.0],
    );
    let b = runs(
        "scx_qmap -s 100000",
        &[80.0, 83.0, 79.0, 85.0, 81.0],
        &[23.0, 19.0, 21.0, 20.0, 22.0],
    );
    let c = Comparison::new(
        ("scx_simple", &a),
        ("scx_qmap -s 100000", &b),
        Gate::default(),
    );
    assert_eq!(
        render_text(&c),
        "\
REGRESSION: 1 regressed, 1 no significant change
A = scx_simple (5 runs)   B = scx_qmap -s 100000 (5 runs)   gate: q < 0.05 and |change| >= 5%
                       scenario  metric                    A median  B median  change [95% CI]            p      q
regressed              steady    total_work_units (units)       100        81  -19.0% [-22.1, -14.4]  0.008  0.016
no significant change  steady    worst_gap_ms (ms)               21        21  +0.0% [-13.6, +16.7]   1.000  1.000
"
    );
    assert_eq!(
        render_markdown(&c),
        "\
**ktstr compare**: REGRESSION: 1 regressed, 1 no significant change

A = `scx_simple` (5 runs), B = `scx_qmap -s 100000` (5 runs); a change counts when q < 0.05 and |change| ≥ 5 % (p: Mann–Whitney U; q: p adjusted for the number of metrics).

| | scenario | metric | A median | B median | change [95% CI] | p | q |
|---|---|---|---:|---:|---:|---:|---:|
| 🔴 regressed | steady | `total_work_units (units)` | 100 | 81 | -19.0% [-22.1, -14.4] | 0.008 | 0.016 |
| no significant change | steady | `worst_gap_ms (ms)` | 21 | 21 | +0.0% [-13.6, +16.7] | 1.000 | 1.000 |
"
    );
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["changes"][0]["outcome"], "regressed");
    assert_eq!(json["changes"][0]["p_method"], "exact");
    let xml = ktstr_compare::junit(&c).unwrap();
    assert!(
        xml.contains("<failure") && xml.contains("tests=\"2\""),
        "{xml}"
    );
}
