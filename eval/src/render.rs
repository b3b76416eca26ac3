//! The human report: what happened, in the order a person asks.

use std::fmt::Write;

use ktstr_model::format_cpulist;

use crate::checks::{Detail, Status};
use crate::terminal_text::strip_escapes;
use crate::Verdict;

/// Details shown per check; the JSON has all of them.
const MAX_DETAILS: usize = 10;
/// Evidence lines shown per detail.
const MAX_EVIDENCE: usize = 8;

impl Verdict {
    /// A short report to scan at a glance: the headline, totals, worst
    /// spread and gap, one line per cgroup, then each failed or skipped
    /// check with its evidence, indented.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        self.headline(&mut out);
        self.totals(&mut out);
        self.cgroup_table(&mut out);
        for c in self.checks.iter().filter(|c| c.status != Status::Pass) {
            let _ = writeln!(
                out,
                "{} {}: {}",
                c.status,
                c.name,
                strip_escapes(&c.summary)
            );
            for d in c.details.iter().take(MAX_DETAILS) {
                // A lone detail the summary already states shows only its evidence.
                let repeat = c.details.len() == 1 && d.message == c.summary;
                detail(&mut out, d, repeat);
            }
            if c.details.len() > MAX_DETAILS {
                let _ = writeln!(out, "    ... and {} more", c.details.len() - MAX_DETAILS);
            }
        }
        out
    }

    fn headline(&self, out: &mut String) {
        let _ = write!(
            out,
            "{} {} ({}, {})",
            self.status, self.scenario, self.topology, self.scheduler
        );
        let failed: Vec<&str> = self.failures().map(|c| c.name).collect();
        if !failed.is_empty() {
            let _ = write!(out, ": {}", failed.join(", "));
        }
        out.push('\n');
    }

    fn totals(&self, out: &mut String) {
        let s = &self.stats;
        let count = |st: Status| self.checks.iter().filter(|c| c.status == st).count();
        let _ = writeln!(
            out,
            "  {} workers in {} cgroups, {} work units, {}; checks: {} pass, {} fail, {} skip",
            s.workers,
            s.per_cgroup.len(),
            si(s.total_work_units as f64),
            self.accel,
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Skip),
        );
        if let Some(w) = &s.worst_spread {
            let _ = writeln!(
                out,
                "  worst spread {:.1}% among `{}` workers of `{}`",
                w.spread_pct, w.work, w.cgroup
            );
        }
        if let Some(g) = &s.worst_gap {
            let _ = writeln!(
                out,
                "  worst gap {} ms: `{}` worker {} on cpu {} at +{} ms",
                g.gap_ms, g.cgroup, g.worker, g.cpu, g.at_ms
            );
        }
    }

    fn cgroup_table(&self, out: &mut String) {
        if self.stats.per_cgroup.is_empty() {
            return;
        }
        let header = [
            "cgroup", "workers", "units", "spread", "max gap", "p99 wake", "migr/s", "cpus",
        ];
        let rows: Vec<[String; 8]> = self
            .stats
            .per_cgroup
            .iter()
            .map(|c| {
                [
                    c.name.clone(),
                    c.workers.to_string(),
                    si(c.work_units as f64),
                    c.spread_pct.map_or("-".into(), |s| format!("{s:.1}%")),
                    format!("{} ms", c.max_gap_ms),
                    c.p99_wake_us.map_or("-".into(), |us| dur(us * 1_000)),
                    format!("{:.1}", c.migrations_per_sec),
                    match c.cpus_used.is_empty() {
                        true => "-".into(),
                        false => format_cpulist(&c.cpus_used),
                    },
                ]
            })
            .collect();
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..header.len()).map(width).collect();
        let line = |out: &mut String, cells: &[&str]| {
            let mut l = format!("  {:<w$}", cells[0], w = widths[0]);
            for (i, cell) in cells.iter().enumerate().skip(1) {
                match i + 1 == cells.len() {
                    true => write!(l, "  {:<w$}", cell, w = widths[i]),
                    false => write!(l, "  {:>w$}", cell, w = widths[i]),
                }
                .expect("writing to a String");
            }
            let _ = writeln!(out, "{}", l.trim_end());
        };
        line(out, &header);
        for r in &rows {
            line(out, &r.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}

/// One detail, indented under its check. Its text comes partly from the guest
/// (console, scheduler output), so it is printed without terminal escapes.
fn detail(out: &mut String, d: &Detail, evidence_only: bool) {
    // Prefix where it happened, unless the message already names the cgroup.
    let prefix = match (&d.cgroup, d.worker) {
        (Some(c), _) if d.message.contains(&format!("`{c}`")) => String::new(),
        (Some(c), Some(w)) => format!("`{c}` worker {w}: "),
        (Some(c), None) => format!("`{c}`: "),
        (None, Some(w)) => format!("worker {w}: "),
        (None, None) => String::new(),
    };
    if !evidence_only {
        let _ = writeln!(out, "    {prefix}{}", strip_escapes(&d.message));
    }
    // Long evidence keeps both ends: kernel lines lead, console tails end.
    let n = d.evidence.len();
    let (head, tail) = match n > MAX_EVIDENCE {
        true => (MAX_EVIDENCE / 2, MAX_EVIDENCE / 2),
        false => (n, 0),
    };
    for e in &d.evidence[..head] {
        let _ = writeln!(out, "      {}", strip_escapes(e));
    }
    if tail > 0 {
        let _ = writeln!(out, "      ... {} more lines", n - head - tail);
    }
    for e in &d.evidence[n - tail..] {
        let _ = writeln!(out, "      {}", strip_escapes(e));
    }
}

/// A count or rate with an SI suffix: `950`, `12.3k`, `4.56M`, `1.20G`.
pub(crate) fn si(x: f64) -> String {
    match x {
        x if x < 1e3 => format!("{x:.0}"),
        x if x < 1e6 => format!("{:.1}k", x / 1e3),
        x if x < 1e9 => format!("{:.2}M", x / 1e6),
        x => format!("{:.2}G", x / 1e9),
    }
}

/// Nanoseconds as seconds with one decimal: `2.0 s`.
pub(crate) fn secs(ns: u64) -> String {
    format!("{:.1} s", ns as f64 / 1e9)
}

/// A short duration in the unit that reads best: `850 µs`, `7.2 ms`, `1.25 s`.
pub(crate) fn dur(ns: u64) -> String {
    match ns {
        n if n < 1_000_000 => format!("{} µs", n / 1_000),
        n if n < 1_000_000_000 => format!("{:.1} ms", n as f64 / 1e6),
        n => format!("{:.2} s", n as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate;
    use crate::testkit::*;
    use ktstr_model::WorkType;
    use ktstr_wire::{Message, SchedulerEvent};

    #[test]
    fn units_and_durations_read_well() {
        assert_eq!(si(950.0), "950");
        assert_eq!(si(12_345.0), "12.3k");
        assert_eq!(si(4_560_000.0), "4.56M");
        assert_eq!(si(1.2e9), "1.20G");
        assert_eq!(dur(850_000), "850 µs");
        assert_eq!(dur(7_200_000), "7.2 ms");
        assert_eq!(dur(1_250_000_000), "1.25 s");
        assert_eq!(secs(2_000_000_000), "2.0 s");
    }

    /// A failing run: one stuck worker, one escaped worker, a dead scheduler.
    fn failing_run() -> crate::RunInput {
        let mut a0 = worker("a", 0, "spin", 2_000_000);
        a0.cpus_by_phase = vec![(0, vec![0, 1])];
        let mut a1 = worker("a", 1, "spin", 1_900_000);
        a1.cpus_by_phase = vec![(0, vec![1])];
        a1.max_gap_ns = 2_310_000_000;
        a1.max_gap_cpu = 3;
        a1.max_gap_at_ns = 1_520_000_000;
        let mut b2 = worker("b", 2, "pipe_ping_pong", 80_000);
        b2.cpus_by_phase = vec![(0, vec![2, 3, 5])];
        b2.wake_latencies_ns = vec![40_000; 50];
        let mut i = input(
            scenario(vec![
                cgroup("a", vec![group(2, WorkType::Spin)]),
                cgroup("b", vec![group(1, WorkType::PipePingPong)]),
            ]),
            vec![a0, a1, b2],
        );
        i.scheduler = "scx_simple".into();
        i.topology = "2n4l2c1t".into();
        i.messages
            .push(phase(0, 10, &[("a", &[0, 1]), ("b", &[2, 3])]));
        i.messages
            .push(Message::Scheduler(SchedulerEvent::Attached {
                at_ns: 5,
                ops: "simple".into(),
                after_ns: 80_000_000,
                switch_all: Some(true),
            }));
        i.messages.push(Message::Scheduler(SchedulerEvent::Died {
            at_ns: 9,
            reason: "runnable task stall".into(),
            kernel_log: vec!["sched_ext: simple: init[1] failed to run for 5.076s".into()],
            output: vec![],
            exit_status: Some(1),
        }));
        i
    }

    #[test]
    fn failing_report_snapshot() {
        let expected = "\
FAIL steady (2n4l2c1t, scx_simple): scheduler, gap, isolation
  3 workers in 2 cgroups, 3.98M work units, kvm; checks: 7 pass, 3 fail, 5 skip
  worst spread 0.0% among `spin` workers of `a`
  worst gap 2310 ms: `a` worker 1 on cpu 3 at +1520 ms
  cgroup  workers  units  spread  max gap  p99 wake  migr/s  cpus
  a             2  3.90M    0.0%  2310 ms         -     5.0  0-1
  b             1  80.0k       -    10 ms     40 µs     5.0  2-3,5
FAIL scheduler: `scx_simple` did not stay attached
    scheduler died: runnable task stall (init[1] failed to run for 5.076s)
      exit status: 1
      kernel: sched_ext: simple: init[1] failed to run for 5.076s
SKIP steps: the scenario has no steps
SKIP sched_class: `scx_simple` did not stay attached (see `scheduler`); the workers' classes are not judged
FAIL gap: 1 worker stuck longer than 250 ms
    `a` worker 1: stuck 2310 ms on cpu 3 at +1520 ms
FAIL isolation: 1 escape outside the cpuset
    worker 2 of cgroup `b` ran on CPU 5 outside its cpuset 2-3 in phase 0
SKIP run_delay: no blocking worker was put on a CPU 10 times
SKIP metrics: the scenario bounds no metric
SKIP throughput: no 2 cgroups of only spin workers with equal counts and like cpusets
";
        assert_eq!(evaluate(&failing_run()).render_text(), expected);
    }

    #[test]
    fn long_evidence_keeps_both_ends() {
        let d = Detail::new(crate::DetailKind::VmFailure, "timed out")
            .evidence((0..20).map(|n| format!("line {n}")));
        let mut out = String::new();
        detail(&mut out, &d, false);
        assert_eq!(
            out,
            "    timed out\n      line 0\n      line 1\n      line 2\n      line 3\n      \
             ... 12 more lines\n      line 16\n      line 17\n      line 18\n      line 19\n"
        );
    }

    #[test]
    fn guest_text_is_rendered_without_escapes() {
        let d = Detail::new(crate::DetailKind::VmFailure, "\u{1b}[31mtimed out\u{1b}[0m")
            .evidence(["console: \u{1b}]0;x\u{7}last\rline".to_string()]);
        let mut out = String::new();
        detail(&mut out, &d, false);
        assert_eq!(out, "    timed out\n      console: lastline\n");
    }

    #[test]
    fn passing_report_is_short() {
        let text = evaluate(&two_spinners()).render_text();
        assert!(
            text.starts_with("PASS steady (1n2l2c1t, eevdf)\n"),
            "{text}"
        );
        assert!(!text.contains("FAIL"));
    }
}
