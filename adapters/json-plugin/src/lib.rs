//! The `Json` adapter as a plugin: `libktstr_adapter_json_plugin.so`.
//!
//! The adapter lives in `ktstr-adapter-json`, which hosts also link statically; the plugin
//! export is a separate crate because every plugin exports the same symbol, which may appear
//! only once in a host binary.
#![deny(missing_docs)]

ktstr_adapters::export_adapter!(ktstr_adapter_json::JsonAdapter);
