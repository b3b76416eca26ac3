//! A comparison for people: a table to scan in a terminal, Markdown for a
//! pull-request comment.

use std::fmt::Write;

use crate::{Comparison, MetricChange, Outcome};

/// The terminal table: a headline, then regressions, improvements and
/// changes first, then the metrics that did not change.
pub fn render_text(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(c));
    let _ = writeln!(
        out,
        "A = {} ({} runs)   B = {} ({} runs)   gate: q < {} and |change| >= {}%",
        c.a.label,
        c.a.run_ids.len(),
        c.b.label,
        c.b.run_ids.len(),
        c.gate.alpha,
        c.gate.min_change_pct
    );
    let rows: Vec<[String; 8]> = sorted(c)
        .iter()
        .map(|m| {
            [
                m.outcome.label().to_string(),
                m.scenario.clone(),
                metric_label(m),
                value(m.a.median),
                value(m.b.median),
                change(m),
                format!("{:.3}", m.p_value),
                format!("{:.3}", m.q_value),
            ]
        })
        .collect();
    let header = [
        "",
        "scenario",
        "metric",
        "A median",
        "B median",
        "change [95% CI]",
        "p",
        "q",
    ];
    let widths: Vec<usize> = (0..8)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            match i {
                3 | 4 | 6 | 7 => l.push_str(&format!("{}{cell}  ", " ".repeat(pad))),
                _ => l.push_str(&format!("{cell}{}  ", " ".repeat(pad))),
            }
        }
        l.trim_end().to_string()
    };
    if !rows.is_empty() {
        let _ = writeln!(out, "{}", line(&header.map(String::from)));
        for r in &rows {
            let _ = writeln!(out, "{}", line(r));
        }
    }
    for n in &c.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for (side, s) in [("A", &c.a), ("B", &c.b)] {
        if !s.failed_runs.is_empty() {
            let _ = writeln!(
                out,
                "note: {} of side {side}'s runs failed their checks ({}); `ktstr results show ID` says why",
                s.failed_runs.len(),
                s.failed_runs.join(", ")
            );
        }
    }
    out
}

/// GitHub-flavoured Markdown: a headline and one table.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "**ktstr compare**: {}\n", headline(c));
    let _ = writeln!(
        out,
        "A = `{}` ({} runs), B = `{}` ({} runs); a change counts when q < {} and |change| ≥ {} % \
         (p: Mann–Whitney U; q: p adjusted for the number of metrics).\n",
        c.a.label,
        c.a.run_ids.len(),
        c.b.label,
        c.b.run_ids.len(),
        c.gate.alpha,
        c.gate.min_change_pct
    );
    let _ = writeln!(
        out,
        "| | scenario | metric | A median | B median | change [95% CI] | p | q |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|");
    for m in sorted(c) {
        let mark = match m.outcome {
            Outcome::Regressed => "🔴 regressed",
            Outcome::Improved => "🟢 improved",
            Outcome::Changed => "🟡 changed",
            Outcome::NoSignificantChange => "no significant change",
            Outcome::TooFewRuns => "too few runs",
        };
        let _ = writeln!(
            out,
            "| {mark} | {} | `{}` | {} | {} | {} | {:.3} | {:.3} |",
            m.scenario,
            metric_label(m).replace('|', "\\|"),
            value(m.a.median),
            value(m.b.median),
            change(m),
            m.p_value,
            m.q_value
        );
    }
    for n in &c.notes {
        let _ = writeln!(out, "\n> {n}");
    }
    out
}

fn headline(c: &Comparison) -> String {
    let (r, i, ch, same, few) = (
        c.count(Outcome::Regressed),
        c.count(Outcome::Improved),
        c.count(Outcome::Changed),
        c.count(Outcome::NoSignificantChange),
        c.count(Outcome::TooFewRuns),
    );
    if c.changes.is_empty() {
        return "nothing to compare: the sides share no scenario and metric".into();
    }
    let mut parts = Vec::new();
    if r > 0 {
        parts.push(format!("{r} regressed"));
    }
    if i > 0 {
        parts.push(format!("{i} improved"));
    }
    if ch > 0 {
        parts.push(format!("{ch} changed (no polarity)"));
    }
    if same > 0 {
        parts.push(format!("{same} no significant change"));
    }
    if few > 0 {
        parts.push(format!(
            "{few} with too few runs to detect a change (use --repeat 5 or more)"
        ));
    }
    let verdict = if r > 0 { "REGRESSION" } else { "no regression" };
    format!("{verdict}: {}", parts.join(", "))
}

fn sorted(c: &Comparison) -> Vec<&MetricChange> {
    let mut v: Vec<&MetricChange> = c.changes.iter().collect();
    v.sort_by(|x, y| (x.outcome, &x.scenario, &x.metric).cmp(&(y.outcome, &y.scenario, &y.metric)));
    v
}

fn metric_label(m: &MetricChange) -> String {
    match &m.unit {
        Some(u) => format!("{} ({u})", m.metric),
        None => m.metric.clone(),
    }
}

fn value(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn change(m: &MetricChange) -> String {
    match (m.change_pct, m.change_interval_pct) {
        (Some(c), Some((lo, hi))) => format!("{c:+.1}% [{lo:+.1}, {hi:+.1}]"),
        (Some(c), None) => format!("{c:+.1}%"),
        (None, _) => format!("{:+}", m.b.median - m.a.median),
    }
}
