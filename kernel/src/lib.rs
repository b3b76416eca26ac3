//! Kernels for ktstr: a lean sched_ext kconfig fragment, a builder for the
//! kernel and its example schedulers (`tools/sched_ext`), and a cache of
//! the results keyed by (source, fragment).
//!
//! The default source is Debian's `linux-source-6.12` tarball; a kernel
//! tree works too and is built out of tree, so it stays clean.
//!
//! ```no_run
//! use ktstr_kernel::{indicatif_progress, BuildOptions, KernelCache};
//!
//! # fn main() -> Result<(), ktstr_kernel::KernelError> {
//! let cache = KernelCache::default_location()?;
//! let kernel = cache.build(&BuildOptions::default(), &mut indicatif_progress())?;
//! println!("boot {}", kernel.bzimage().display());
//! println!("attach {:?}", kernel.scheduler("scx_simple"));
//!
//! // Later: the newest cached kernel, an id prefix, or a user's bzImage.
//! let resolved = cache.resolve(None)?;
//! # let _ = resolved;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod build;
mod cache;
mod config;
mod error;
mod flavor;
mod patches;
mod progress;
mod resolve;
mod run;
mod source;

pub use build::{BuildEvent, BuildOptions, FAULT_SCHEDULER, SCHEDULERS};
pub use cache::{replace_entry, CachedKernel, KernelCache, KernelMeta};
pub use config::{
    check_config, check_flavor_config, config_has_sched_ext, parse_config, unmet_requirements,
    FRAGMENT, REQUIRED,
};
pub use error::KernelError;
pub use flavor::{Flavor, UnknownFlavor, DEBUG_FRAGMENT, DEBUG_REQUIRED};
pub use patches::{patches_for, KernelPatch, PATCHES, WATCHDOG_MAX_MS_PARAM};
pub use progress::indicatif_progress;
pub use resolve::{check_kernel_image, ResolvedKernel};
pub use run::{run_streamed, BuildLock, TAIL_LINES};
pub use source::{cache_id, flavor_cache_id, KernelSource, DEFAULT_TARBALL};
