//! The HTML page around the plots.

use std::fmt::Write;

use ktstr_compare::{render_text, Comparison, Outcome};
use ktstr_eval::{Status, Timeline, Verdict};
use ktstr_results::RunMeta;

use crate::{plots, ReportError};

/// One run, as the report shows it.
pub struct RunView<'a> {
    /// What the run was.
    pub meta: &'a RunMeta,
    /// Whether it passed.
    pub passed: bool,
    /// Its first failure.
    pub failure: Option<&'a str>,
    /// Its checks and numbers.
    pub verdict: &'a Verdict,
    /// Its timeline, if the guest sampled one.
    pub timeline: Option<&'a Timeline>,
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f3f3f3}.pass{color:#1a7f37;font-weight:bold}.fail{color:#cf222e;font-weight:bold}\
.skip{color:#777}section{margin:2em 0;border-top:2px solid #ddd;padding-top:1em}\
figure{margin:1em 0}pre{background:#f6f8fa;padding:1em;overflow-x:auto}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n<h1>{}</h1>\n{body}</body></html>\n",
        escape(title),
        escape(title)
    )
}

/// Text made safe for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A report of runs: the verdict table, then each run's checks and plots.
///
/// # Errors
///
/// [`ReportError::Plot`] when a plot cannot be drawn.
pub fn runs_html(title: &str, runs: &[RunView<'_>]) -> Result<String, ReportError> {
    let mut body = String::new();
    body.push_str("<table><tr><th>outcome</th><th>scenario</th><th>scheduler</th><th>topology</th><th>run</th><th>first failure</th></tr>\n");
    for r in runs {
        let _ = writeln!(
            body,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"#{}\">{}</a></td><td>{}</td></tr>",
            if r.passed { "pass" } else { "fail" },
            if r.passed { "PASS" } else { "FAIL" },
            escape(&r.meta.scenario),
            escape(&r.meta.scheduler),
            escape(&r.meta.topology),
            escape(&r.meta.id),
            escape(&r.meta.id),
            escape(r.failure.unwrap_or(""))
        );
    }
    body.push_str("</table>\n");
    for r in runs {
        let _ = writeln!(
            body,
            "<section id=\"{}\"><h2>{} under {} on {}</h2>\n<p>run {} · kernel {} · {} ({}) · {}</p>",
            escape(&r.meta.id),
            escape(&r.meta.scenario),
            escape(&r.meta.scheduler),
            escape(&r.meta.topology),
            escape(&r.meta.id),
            escape(&r.meta.kernel),
            escape(&r.meta.backend),
            escape(&r.meta.accel),
            escape(&r.meta.started_at)
        );
        body.push_str("<table><tr><th>check</th><th>status</th><th>summary</th></tr>\n");
        for c in &r.verdict.checks {
            let (class, word) = match c.status {
                Status::Pass => ("pass", "pass"),
                Status::Fail => ("fail", "FAIL"),
                Status::Skip => ("skip", "skip"),
            };
            let details: String = c
                .details
                .iter()
                .take(5)
                .map(|d| format!("<br>{}", escape(&d.message)))
                .collect();
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td class=\"{class}\">{word}</td><td>{}{details}</td></tr>",
                escape(c.name),
                escape(&c.summary)
            );
        }
        body.push_str("</table>\n");
        match r.timeline {
            Some(t) => {
                let _ = writeln!(
                    body,
                    "<p>{} samples every {:.0} ms{}.</p>",
                    t.ticks.len(),
                    t.interval_ms,
                    if t.steps.is_empty() {
                        String::new()
                    } else {
                        format!("; {} step(s), drawn as black lines", t.steps.len())
                    }
                );
                figure(&mut body, "progress", &plots::progress_svg(t)?);
                figure(&mut body, "occupancy", &plots::occupancy_svg(t)?);
                if let Some(svg) = plots::wake_latency_svg(t)? {
                    figure(&mut body, "wake-latency", &svg);
                }
            }
            None => body.push_str("<p>No timeline: the guest sent no samples.</p>\n"),
        }
        body.push_str("</section>\n");
    }
    Ok(page(title, &body))
}

fn figure(body: &mut String, class: &str, svg: &str) {
    let _ = writeln!(
        body,
        "<figure class=\"plot {class}\">{}</figure>",
        svg.trim_end()
    );
}

/// A report of a comparison: the headline, the table and the per-metric plot.
///
/// # Errors
///
/// [`ReportError::Plot`] when the plot cannot be drawn.
pub fn comparison_html(c: &Comparison) -> Result<String, ReportError> {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p class=\"{}\">{}</p>",
        if c.regressed() { "fail" } else { "pass" },
        escape(render_text(c).lines().next().unwrap_or(""))
    );
    body.push_str("<table><tr><th>outcome</th><th>scenario</th><th>metric</th><th>A median</th><th>B median</th><th>change</th><th>95% interval</th><th>p</th><th>q</th></tr>\n");
    for m in &c.changes {
        let class = match m.outcome {
            Outcome::Regressed => "fail",
            Outcome::Improved => "pass",
            _ => "",
        };
        let _ = writeln!(
            body,
            "<tr><td class=\"{class}\">{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td></tr>",
            m.outcome.label(),
            escape(&m.scenario),
            escape(&m.metric),
            m.a.median,
            m.b.median,
            m.change_pct.map_or_else(String::new, |p| format!("{p:+.1}%")),
            m.change_interval_pct
                .map_or_else(String::new, |(lo, hi)| format!("[{lo:+.1}, {hi:+.1}]")),
            m.p_value,
            m.q_value
        );
    }
    body.push_str("</table>\n");
    figure(&mut body, "comparison", &plots::comparison_svg(c)?);
    let _ = writeln!(body, "<p>{}</p>", escape(c.method));
    for n in &c.notes {
        let _ = writeln!(body, "<p>note: {}</p>", escape(n));
    }
    Ok(page(
        &format!("ktstr compare: {} vs {}", c.a.label, c.b.label),
        &body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_eval::{evaluate, Accel, RunInput, VmEnd};
    use ktstr_wire::{Message, PhaseEvent, Sample, WorkerReport, WorkerSample};

    fn meta() -> RunMeta {
        RunMeta {
            id: "20261202T140000Z-0a1b2c3d".into(),
            started_at: "2026-12-02T14:00:00Z".into(),
            origin: ktstr_results::RunOrigin::Run,
            scenario: "steady".into(),
            scheduler: "scx_simple".into(),
            scheduler_build: Default::default(),
            topology: "1n2l2c1t".into(),
            backend: "qemu".into(),
            accel: "tcg".into(),
            kernel: "258dfc47bb81".into(),
            kernel_build: Default::default(),
            host: Default::default(),
        }
    }

    fn messages() -> Vec<Message> {
        let mut m = vec![Message::Phase(PhaseEvent {
            index: 0,
            at_ns: 1_000_000_000,
            cpusets: vec![],
            members: vec![],
        })];
        for i in 1..=10u64 {
            m.push(Message::Sample(Sample {
                at_ns: 1_000_000_000 + i * 100_000_000,
                phase: 0,
                workers: vec![WorkerSample {
                    index: 0,
                    work_units: i * 100,
                    cpu: 1,
                }],
                cpu_busy_permille: vec![0, 1000],
            }));
        }
        m.push(Message::Worker(WorkerReport {
            cgroup: "a".into(),
            work: "spin".into(),
            ..Default::default()
        }));
        m
    }

    /// The page's text without the plots' SVG, for a snapshot.
    fn without_svg(page: &str) -> String {
        let mut out = String::new();
        let mut rest = page;
        while let Some(at) = rest.find("<svg") {
            out.push_str(&rest[..at]);
            out.push_str("[svg]");
            let end = rest[at..].find("</svg>").map_or(rest.len(), |e| at + e + 6);
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn run_report_snapshot() {
        let msgs = messages();
        let verdict = evaluate(&RunInput {
            scenario: ktstr_model::catalog::find("steady").unwrap(),
            scheduler: "scx_simple".into(),
            topology: "1n2l2c1t".into(),
            accel: Accel::Tcg,
            messages: msgs.clone(),
            console: String::new(),
            vm_exit: VmEnd::Completed,
            wire_loss: None,
        });
        let timeline = Timeline::from_messages(&msgs).unwrap();
        let m = meta();
        let page = runs_html(
            "ktstr run",
            &[RunView {
                meta: &m,
                passed: false,
                failure: Some("workers: 1 of 4 reported"),
                verdict: &verdict,
                timeline: Some(&timeline),
            }],
        )
        .unwrap();
        let text = without_svg(&page);
        assert!(text.starts_with("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ktstr run</title>"));
        assert!(text.contains(
            "<tr><td class=\"fail\">FAIL</td><td>steady</td><td>scx_simple</td><td>1n2l2c1t</td>\
             <td><a href=\"#20261202T140000Z-0a1b2c3d\">20261202T140000Z-0a1b2c3d</a></td>\
             <td>workers: 1 of 4 reported</td></tr>"
        ), "{text}");
        assert!(text.contains("<p>10 samples every 100 ms.</p>\n<figure class=\"plot progress\">[svg]</figure>\n<figure class=\"plot occupancy\">[svg]</figure>\n</section>"), "{text}");
        assert_eq!(page.matches("<svg").count(), 2);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
