//! Schedulers under test for ktstr.
//!
//! - [`SchedulerDecl`]: a scheduler declared once (TOML or builder): where it
//!   comes from, its default arguments and its flags with the flags each
//!   requires or excludes; [`SchedulerDecl::profiles`] derives the valid
//!   flag combinations, most informative first.
//! - [`SchedulerCache::build`]: production schedulers (the scx project's
//!   `scx_bpfland`, `scx_lavd`, `scx_rusty`, ...) built from crates.io or a
//!   local checkout into the ktstr cache, with one shared cargo target dir.
//! - [`SchedulerCache::find`]: a built scheduler by `NAME[@VERSION]`, its
//!   checksum verified.
//!
//! ```no_run
//! use ktstr_scheduler::{BuildRequest, BuildSettings, SchedulerCache};
//!
//! # fn main() -> Result<(), ktstr_scheduler::SchedulerError> {
//! let cache = SchedulerCache::default_location()?;
//! let spec = "scx_bpfland@1.1.4".parse()?;
//! let built = cache.build(
//!     &BuildRequest::Crate(spec),
//!     &BuildSettings::default(),
//!     &mut ktstr_kernel::indicatif_progress(),
//! )?;
//! println!("{} sha256 {}", built.binary.display(), built.sha256);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod build;
mod cache;
mod decl;
mod diagnose;
mod error;
mod known;
mod metadata;
mod profile;
mod spec;

pub use build::{BuildRequest, BuildSettings};
pub use cache::{BuiltFrom, BuiltScheduler, SchedulerCache};
pub use decl::{FlagDecl, SchedulerDecl, SchedulerDeclBuilder, SchedulerSource};
pub use error::SchedulerError;
pub use known::{known, known_names};
pub use profile::FlagProfile;
pub use spec::SchedulerSpec;
