//! The stable plugin interface for ktstr's payload output adapters.
//!
//! An output adapter turns a benchmark's captured output into [`Metric`]s. Adapters are either
//! linked into the host or loaded at run time from shared libraries built against this crate;
//! both are used through an [`AdapterRegistry`]. The plugin boundary is checked by abi_stable
//! (type layouts, this crate's version) so an incompatible plugin is refused with a message
//! naming the file, the problem and the fix.
//!
//! A third-party adapter is a `cdylib` crate depending only on this one:
//!
//! ```
//! use ktstr_adapters::{Adapter, AdapterInfo, AdapterInput, AdapterOutput, Metric, Stream};
//!
//! /// Reports the number of lines of stdout.
//! struct LineCount;
//!
//! impl Adapter for LineCount {
//!     fn info(&self) -> AdapterInfo {
//!         AdapterInfo { name: "LineCount".into(), version: "0.1.0".into(), description: "stdout lines".into() }
//!     }
//!     fn extract(&self, input: &AdapterInput) -> AdapterOutput {
//!         let lines = input.stdout.lines().count() as f64;
//!         AdapterOutput { metrics: vec![Metric::new("lines", lines, Stream::Stdout, "LineCount")], details: vec![] }
//!     }
//! }
//!
//! // In the plugin crate: `ktstr_adapters::export_adapter!(LineCount);`
//! // In a host, built in:
//! let registry = ktstr_adapters::AdapterRegistry::new().with_builtin(LineCount);
//! let input = AdapterInput { stdout: "a\nb\n".into(), ..Default::default() };
//! assert_eq!(registry.extract("LineCount", &input).unwrap().metrics[0].value, 2.0);
//! ```
//!
//! Hosts load plugins with [`AdapterRegistry::load_plugin`], [`AdapterRegistry::load_dir`] and
//! [`AdapterRegistry::load_from_env`] (`$KTSTR_ADAPTER_PATH`). Payload definitions are
//! `ktstr-model`'s, re-exported here ([`Payload`], [`PayloadCheck`], [`PayloadBounds`],
//! [`PayloadHint`]); judging extracted metrics against them lives in [`spec`].
#![deny(missing_docs)]

mod adapter;
mod export;
pub mod ffi;
mod loader;
mod registry;
pub mod spec;
mod types;

pub use adapter::Adapter;
pub use ktstr_model::{
    HintPolarity, Payload, PayloadBounds, PayloadCheck, PayloadHint, PayloadStart,
    DEFAULT_PAYLOAD_TIMEOUT_MS,
};
pub use loader::{PluginAdapter, PluginLoadError};
pub use registry::{
    adapter_names_match, AdapterRegistry, AdapterRunError, Origin, ADAPTER_PATH_ENV,
};
pub use spec::{bounds_violations, check_violations, evaluate, evaluate_checks};
pub use types::{
    AdapterFailure, AdapterInfo, AdapterInput, AdapterOutput, Metric, MetricHint,
    MetricHintParseError, Polarity, Stream,
};

/// What [`export_adapter!`] expands to refers to these; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{extract_guarded, root_module, try_extract_guarded};
    pub use abi_stable::library::{
        __call_root_module_loader as call_root_module_loader, CheckTypeLayout, LibHeader,
        RootModuleResult,
    };
    pub use abi_stable::std_types::{RResult, RString};
}
