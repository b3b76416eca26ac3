//! The report's plots, drawn with plotters into SVG strings.

use std::collections::BTreeMap;

use ktstr_compare::Comparison;
use ktstr_eval::Timeline;
use plotters::prelude::*;

use crate::ReportError;

const WIDTH: u32 = 960;

/// A worker's colour: one hue per worker index, stable across plots.
fn colour(index: u32) -> RGBColor {
    let palette = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    palette[index as usize % palette.len()]
}

fn err(e: impl std::fmt::Display) -> ReportError {
    ReportError::Plot(e.to_string())
}

/// The end of the timeline, ms (at least 1).
fn span_ms(t: &Timeline) -> f64 {
    t.ticks.last().map_or(1.0, |x| x.at_ms).max(1.0)
}

/// Each worker's work units over time; stretches without progress (two or
/// more samples in a row) shaded red, phase and step boundaries as lines.
pub fn progress_svg(t: &Timeline) -> Result<String, ReportError> {
    let mut series: BTreeMap<u32, Vec<(f64, f64)>> = BTreeMap::new();
    for tick in &t.ticks {
        for w in &tick.workers {
            series
                .entry(w.index)
                .or_default()
                .push((tick.at_ms, w.work_units as f64));
        }
    }
    let top = series
        .values()
        .flat_map(|s| s.iter().map(|p| p.1))
        .fold(1.0f64, f64::max);
    let height = 360;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Work units per worker over time", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..span_ms(t), 0.0..top * 1.05)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("ms after the scenario started")
            .y_desc("work units")
            .draw()
            .map_err(err)?;
        for (index, points) in &series {
            // Gaps: consecutive samples with no progress.
            for pair in points.windows(2) {
                if pair[1].1 <= pair[0].1 {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(pair[0].0, 0.0), (pair[1].0, top * 1.05)],
                            RGBColor(214, 39, 40).mix(0.12).filled(),
                        )))
                        .map_err(err)?;
                }
            }
            let c = colour(*index);
            let label = t.workers.iter().find(|w| w.index == *index).map_or_else(
                || format!("worker {index}"),
                |w| format!("{} {} #{index}", w.cgroup, w.work),
            );
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                });
        }
        draw_boundaries(&mut chart, t, 0.0, top * 1.05)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn draw_boundaries<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    t: &Timeline,
    bottom: f64,
    top: f64,
) -> Result<(), ReportError> {
    for b in &t.steps {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(b.at_ms, bottom), (b.at_ms, top)],
                BLACK.stroke_width(2),
            )))
            .map_err(|e| err(e.to_string()))?;
    }
    for b in t.phases.iter().filter(|b| b.index > 0) {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(b.at_ms, bottom), (b.at_ms, top)],
                RGBColor(120, 120, 120).stroke_width(1),
            )))
            .map_err(|e| err(e.to_string()))?;
    }
    Ok(())
}

/// Which worker was on which CPU over time (a cell per CPU and sample, in
/// the worker's colour, faded by the CPU's idle share), steps as lines.
pub fn occupancy_svg(t: &Timeline) -> Result<String, ReportError> {
    let cpus = t
        .ticks
        .iter()
        .flat_map(|x| x.workers.iter().map(|w| w.cpu as usize + 1))
        .chain(t.ticks.iter().map(|x| x.cpu_busy_permille.len()))
        .max()
        .unwrap_or(1)
        .max(1);
    let height = (90 + 36 * cpus as u32).min(2400);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "CPU occupancy: the worker last seen on each CPU",
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..span_ms(t), -0.5..cpus as f64 - 0.5)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("ms after the scenario started")
            .y_desc("CPU")
            .y_labels(cpus.min(32))
            .y_label_formatter(&|y| format!("{}", y.round() as i64))
            .disable_y_mesh()
            .draw()
            .map_err(err)?;
        let mut prev_at = 0.0;
        for tick in &t.ticks {
            for w in &tick.workers {
                let busy = tick
                    .cpu_busy_permille
                    .get(w.cpu as usize)
                    .map_or(1.0, |&b| f64::from(b) / 1000.0);
                let cpu = f64::from(w.cpu);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(prev_at, cpu - 0.4), (tick.at_ms, cpu + 0.4)],
                        colour(w.index).mix(0.25 + 0.75 * busy).filled(),
                    )))
                    .map_err(err)?;
            }
            prev_at = tick.at_ms;
        }
        draw_boundaries(&mut chart, t, -0.5, cpus as f64 - 0.5)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The distribution of wake-up latencies per cgroup: the share of wake-ups
/// at or below each latency (a CDF, log-scaled latency).
pub fn wake_latency_svg(t: &Timeline) -> Result<Option<String>, ReportError> {
    let mut by_cgroup: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for w in &t.workers {
        by_cgroup
            .entry(&w.cgroup)
            .or_default()
            .extend(w.wake_latencies_us.iter().copied());
    }
    by_cgroup.retain(|_, v| !v.is_empty());
    if by_cgroup.is_empty() {
        return Ok(None);
    }
    let max = by_cgroup
        .values()
        .flat_map(|v| v.iter())
        .copied()
        .max()
        .unwrap_or(1)
        .max(2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Wake-up latency (share of wake-ups at or below)",
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d((1.0..f64::from(max) * 1.2).log_scale(), 0.0..1.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("µs")
            .y_desc("share")
            .draw()
            .map_err(err)?;
        for (i, (cgroup, values)) in by_cgroup.iter().enumerate() {
            let mut v = values.clone();
            v.sort_unstable();
            let n = v.len() as f64;
            let points: Vec<(f64, f64)> = v
                .iter()
                .enumerate()
                .map(|(k, &us)| (f64::from(us.max(1)), (k + 1) as f64 / n))
                .collect();
            let c = colour(i as u32);
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))
                .map_err(err)?
                .label(format!("{cgroup} ({} wake-ups)", v.len()))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(Some(svg))
}

/// A vs B per metric: each side's range (min–max) and median, relative to
/// A's median, with B's bootstrap interval of the change.
pub fn comparison_svg(c: &Comparison) -> Result<String, ReportError> {
    let rows: Vec<_> = c
        .changes
        .iter()
        .filter(|m| m.a.median != 0.0 && m.a.median.is_finite())
        .collect();
    let height = (80 + 28 * rows.len() as u32).clamp(140, 4000);
    let rel = |v: f64, base: f64| (v / base - 1.0) * 100.0;
    let extent = rows
        .iter()
        .flat_map(|m| {
            [
                rel(m.a.min, m.a.median),
                rel(m.a.max, m.a.median),
                rel(m.b.min, m.a.median),
                rel(m.b.max, m.a.median),
            ]
        })
        .filter(|v| v.is_finite())
        .fold(10.0f64, |acc, v| acc.max(v.abs()))
        .min(1000.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("B against A per metric: % of A's median (A blue, B orange; lines: min-max, dots: medians)", ("sans-serif", 14))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(260)
            .build_cartesian_2d(-extent * 1.1..extent * 1.1, 0.0..rows.len().max(1) as f64)
            .map_err(err)?;
        let names: Vec<String> = rows
            .iter()
            .map(|m| format!("{} {}", m.scenario, m.metric))
            .collect();
        chart
            .configure_mesh()
            .x_desc("% of A's median")
            .y_labels(rows.len().max(1))
            .y_label_formatter(&|y| {
                let i = y.floor() as usize;
                names.get(i).cloned().unwrap_or_default()
            })
            .disable_y_mesh()
            .draw()
            .map_err(err)?;
        let (blue, orange) = (colour(0), colour(1));
        for (i, m) in rows.iter().enumerate() {
            let y = i as f64 + 0.5;
            let base = m.a.median;
            for (side, dy, col) in [(&m.a, 0.15, blue), (&m.b, -0.15, orange)] {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(rel(side.min, base), y + dy), (rel(side.max, base), y + dy)],
                        col.stroke_width(3),
                    )))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (rel(side.median, base), y + dy),
                        4,
                        col.filled(),
                    )))
                    .map_err(err)?;
            }
            if let Some((lo, hi)) = m.change_interval_pct {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (lo.max(-extent * 1.1), y - 0.3),
                            (hi.min(extent * 1.1), y - 0.05),
                        ],
                        orange.mix(0.2).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
