//! The output adapters a run judges payload output with.

use std::path::{Path, PathBuf};

use ktstr_adapter_exitcode::ExitCodeAdapter;
use ktstr_adapter_json::JsonAdapter;
use ktstr_adapters::AdapterRegistry;

use crate::RunError;

/// Plugins shipped with ktstr and loaded from beside the executable when
/// present: they are plugins so that ktstr itself does not link llama.cpp.
pub const BUNDLED_PLUGINS: &[&str] = &["libktstr_adapter_llm_extract_plugin.so"];

/// Built-ins, bundled plugins beside the executable, then
/// `$KTSTR_ADAPTER_PATH`, then `plugins`; a later adapter of the same name
/// replaces an earlier one. Returns the registry and the plugins that failed
/// to load from the first two places (warnings: they were not asked for).
///
/// # Errors
///
/// [`RunError::Plugin`] when one of `plugins` (asked for by name) does not load.
pub fn adapter_registry(plugins: &[PathBuf]) -> Result<(AdapterRegistry, Vec<String>), RunError> {
    let mut registry = AdapterRegistry::new()
        .with_builtin(JsonAdapter)
        .with_builtin(ExitCodeAdapter);
    let mut warnings = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        // Integration tests run from target/<profile>/deps; the plugins sit one level up.
        for name in BUNDLED_PLUGINS {
            if let Some(p) = [dir.join(name), dir.join("..").join(name)]
                .into_iter()
                .find(|p| p.is_file())
            {
                if let Err(e) = registry.load_plugin(&p) {
                    warnings.push(e.to_string());
                }
            }
        }
    }
    warnings.extend(registry.load_from_env().into_iter().map(|e| e.to_string()));
    for path in plugins {
        registry.load_plugin(path)?;
    }
    Ok((registry, warnings))
}
