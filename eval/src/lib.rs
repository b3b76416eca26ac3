//! Host-side judgement of a ktstr run: checks over the guest's messages and
//! console, a [`Verdict`] with evidence a person can act on, and two
//! renderings of it ([`Verdict::render_text`] for people, [`Verdict::to_json`]
//! for machines).
//!
//! Each check passes, fails with [`Detail`]s saying what went wrong where, or
//! is skipped with the reason. Limits come from [`Thresholds::for_accel`]
//! with the scenario's overrides applied.
//!
//! ```
//! use ktstr_eval::{evaluate, Accel, RunInput, VmEnd};
//! use ktstr_model::Scenario;
//! use ktstr_wire::{Done, Message};
//!
//! let scenario: Scenario = serde_json::from_str(
//!     r#"{"name": "one", "duration_ms": 1000,
//!         "cgroups": [{"name": "a", "workers": [{"count": 1, "work": {"type": "spin"}}]}]}"#,
//! )?;
//! let input = RunInput {
//!     scenario,
//!     scheduler: "eevdf".into(),
//!     topology: "1n1l2c1t".into(),
//!     accel: Accel::Kvm,
//!     messages: vec![Message::Done(Done { at_ns: 1, ring_drops: 0, error: None })],
//!     console: String::new(),
//!     vm_exit: VmEnd::Completed,
//!     wire_loss: None,
//! };
//! let verdict = evaluate(&input);
//! // The scenario declares a worker but none reported: the run fails and says so.
//! assert!(!verdict.passed());
//! assert!(verdict.render_text().contains("no worker reports arrived"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod calibration;
mod checks;
mod context;
mod error;
mod input;
mod render;
mod stats;
mod terminal_text;
mod thresholds;
mod timeline;
mod verdict;

#[cfg(test)]
mod testkit;

pub use checks::{CheckResult, Detail, DetailKind, Measure, Status};
pub use error::EvalError;
pub use input::{Accel, RunInput, VmEnd};
pub use thresholds::{Thresholds, MIN_RUN_RELATIVE_GAP_MS};
pub use timeline::{Boundary, Tick, Timeline, TimelineWorker, MAX_TICKS};
pub use verdict::{
    evaluate, evaluate_with, CgroupSummary, CustomMetric, Summary, Verdict, WorstGap, WorstSpread,
};
