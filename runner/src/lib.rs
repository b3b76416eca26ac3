//! One run of a ktstr scenario, end to end: resolve the kernel and the
//! scheduler, assemble the guest image, boot the VM, judge the telemetry and
//! the payload output, and return a [`RunRecord`].
//!
//! The command line, the gauntlet and the test harness all run through
//! [`Runner::run`]; [`Run`] is the one-expression form:
//!
//! ```no_run
//! use ktstr_model::catalog;
//! use ktstr_runner::Run;
//!
//! let record = Run::new(catalog::find("cpuset-swap").unwrap())
//!     .scheduler("scx_simple")
//!     .run()?;
//! println!("{}", record.verdict.render_text());
//! # Ok::<(), ktstr_runner::RunError>(())
//! ```
#![deny(missing_docs)]

mod backend;
mod boot;
mod error;
mod guest_image;
mod kernel;
mod llm_extract;
mod overhead;
mod payload_judge;
mod payloads;
mod record;
mod registry;
pub mod repeat;
mod run;
mod scheduler;
mod soak;
mod vm;

pub use backend::{BackendChoice, UnknownBackend};
pub use boot::{boot, BootReport, BootRequest, KernelView, TopologyView};
pub use error::{error_text, split_hints, RunError};
pub use guest_image::{GuestRuntime, GUEST_BIN_ENV};
pub use kernel::BootKernel;
pub use ktstr_results::{RunMeta, RunMetric, RunOrigin, RUN_RECORD_SCHEMA};
pub use llm_extract::{is_llm_extract, PluginExtractor};
pub use overhead::{overhead, OverheadReport, WORKLOAD_MS};
pub use payload_judge::{render as render_payloads, PayloadReport};
pub use record::RunRecord;
pub use registry::{adapter_registry, BUNDLED_PLUGINS};
pub use run::{ResultsDir, Run, Runner, RunnerOptions, DEFAULT_ATTACH_TIMEOUT_S, DEFAULT_TOPOLOGY};
pub use scheduler::{find_built, resolve as resolve_scheduler, resolve_decl, SchedulerArg, EEVDF};
pub use soak::{soak, SoakReport, SoakSample};
pub use vm::{default_memory, run as run_vm, VmRequest, VmResult};
