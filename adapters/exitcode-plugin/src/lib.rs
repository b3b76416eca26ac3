//! The `ExitCode` adapter as a plugin: `libktstr_adapter_exitcode_plugin.so`.
//!
//! The adapter lives in `ktstr-adapter-exitcode`, which hosts also link statically; the plugin
//! export is a separate crate because every plugin exports the same symbol, which may appear
//! only once in a host binary.
#![deny(missing_docs)]

ktstr_adapters::export_adapter!(ktstr_adapter_exitcode::ExitCodeAdapter);
