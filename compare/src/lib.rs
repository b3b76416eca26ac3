//! A/B comparison of ktstr runs: did B get better or worse than A, and is
//! the difference real or noise?
//!
//! For each scenario × metric both sides have: the median of each side, the
//! change in percent with a bootstrap interval, a Mann–Whitney U p-value
//! ([`stats`] says why that test), and a dual [`Gate`]: a difference counts
//! only when it is significant **and** at least the gate's relative change
//! (and above the metric's noise floor), judged by the metric's polarity.
//!
//! ```
//! use ktstr_compare::{interleaved, Side};
//!
//! // Runs now: A and B alternate so machine drift hits both alike.
//! assert_eq!(interleaved(2), [Side::A, Side::B, Side::B, Side::A]);
//! ```
#![deny(missing_docs)]

mod comparison;
mod junit;
mod render;
pub mod stats;

pub use comparison::{Comparison, Gate, MetricChange, Outcome, SideRuns, SideValues, METHOD};
pub use junit::{junit, CompareJunitError};
pub use render::{render_markdown, render_text};
pub use stats::{bootstrap_change_pct, mann_whitney, median, RankTest};

/// Which side a run belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The baseline.
    A,
    /// The candidate.
    B,
}

/// The order of `repeat` runs per side: A B B A, A B B A, ... — each pair of
/// pairs balanced, so a trend in the machine's speed (a warming cache, a
/// neighbour starting) moves both sides' medians alike.
pub fn interleaved(repeat: usize) -> Vec<Side> {
    (0..repeat)
        .flat_map(|i| match i % 2 {
            0 => [Side::A, Side::B],
            _ => [Side::B, Side::A],
        })
        .collect()
}
