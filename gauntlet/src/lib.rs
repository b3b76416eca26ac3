//! The gauntlet: every scenario on every topology preset under every flag
//! profile of every scheduler, or, within a time budget, the combinations
//! that cover the most distinct values per expected second.
//!
//! The crate plans and reports; running a cell is the caller's (the
//! `ktstr gauntlet` command passes its VM runner).
//!
//! ```
//! use ktstr_gauntlet::{plan, select, Durations, SchedulerUnderTest};
//! use ktstr_model::{catalog, presets};
//!
//! let scenarios = catalog::catalog();
//! let presets: Vec<_> = presets().iter().take(3).copied().collect();
//! let scheds = [SchedulerUnderTest::plain("eevdf")];
//! let plan = plan(&scenarios, &presets, &scheds);
//! let chosen = select(&plan.cells, Some(std::time::Duration::from_secs(300)), &Durations::default());
//! assert!(!chosen.is_empty() && chosen.len() <= plan.cells.len());
//! ```
#![deny(missing_docs)]

mod cell;
mod durations;
mod exec;
mod junit;
mod matrix;
mod plan;
mod select;
mod setup;

pub use cell::{Cell, CellOutcome, CellResult, CellStatus};
pub use durations::{Durations, DurationsError};
pub use exec::{execute, Executed, Execution, Progress};
pub use junit::{junit, GauntletJunitError};
pub use matrix::{render_matrix, GauntletReport};
pub use plan::{plan, Plan, SchedulerUnderTest, Skipped};
pub use select::{rank, select};
pub use setup::{default_jobs, parse_budget, resolve_presets, scheduler_under_test};
