//! The ktstr results store. Every run — `ktstr run`, a `#[ktstr::test]`
//! case, a gauntlet cell, a side of `ktstr compare` — writes its run record
//! as one JSON file; an SQLite index beside the files answers queries and can
//! be rebuilt from them; results from other machines merge by copying files.
//!
//! - [`RunMeta`], [`RunMetric`]: the identity and numbers every record
//!   carries (the record itself is `ktstr_runner::RunRecord`).
//! - [`StoredRun`]: the store's view of a record.
//! - [`ResultsStore`]: save, list by [`Filter`], get by id, import, reindex.
//! - [`default_results_dir`]: where results go when no directory is given.
#![deny(missing_docs)]

mod error;
mod filter;
mod junit;
mod location;
mod meta;
mod store;
mod stored;

pub use error::ResultsError;
pub use filter::{Clause, Filter, FilterKey};
pub use junit::runs_junit;
pub use location::{cargo_workspace_root, default_results_dir, target_dir_of_binary, RESULTS_ENV};
pub use meta::{
    file_sha256, git_commit_of, new_run_id, rfc3339, HostInfo, KernelBuild, RunMeta, RunMetric,
    RunOrigin, SchedulerBuild, RUN_RECORD_SCHEMA,
};
pub use store::{ImportReport, ResultsStore};
pub use stored::StoredRun;
