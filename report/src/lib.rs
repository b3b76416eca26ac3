//! ktstr's HTML report: one self-contained file (no network, no scripts)
//! with the verdict table, each run's per-worker progress over time with
//! gaps shaded, per-CPU occupancy with steps as lines, wake-latency
//! distributions, and for a comparison, A against B per metric.
//!
//! ```no_run
//! # fn get() -> (ktstr_results::RunMeta, ktstr_eval::Verdict) { unimplemented!() }
//! use ktstr_report::{runs_html, RunView};
//!
//! let (meta, verdict) = get();
//! let html = runs_html("ktstr run", &[RunView { meta: &meta, passed: true, failure: None, verdict: &verdict, timeline: None }])?;
//! std::fs::write("report.html", html).unwrap();
//! # Ok::<(), ktstr_report::ReportError>(())
//! ```
#![deny(missing_docs)]

mod html;
pub mod plots;

pub use html::{comparison_html, runs_html, RunView};

/// What can go wrong drawing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// plotters could not draw a plot.
    #[error("cannot draw a plot for the report: {0}")]
    Plot(String),
}
