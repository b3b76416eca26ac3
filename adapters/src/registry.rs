//! The set of adapters a host can run: built-in ones and plugins loaded from files.

use std::ffi::OsStr;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::adapter::Adapter;
use crate::export::panic_message;
use crate::loader::{PluginAdapter, PluginLoadError};
use crate::types::{AdapterFailure, AdapterInfo, AdapterInput, AdapterOutput};

/// Environment variable with extra plugin locations: `:`-separated directories or files.
pub const ADAPTER_PATH_ENV: &str = "KTSTR_ADAPTER_PATH";

/// The registry could not run an adapter: no adapter has the name, or it panicked. (An
/// adapter that runs and extracts nothing reports an [`AdapterFailure`] instead.)
#[derive(Debug, Error)]
pub enum AdapterRunError {
    /// No adapter has this name.
    #[error("unknown adapter `{name}`\nhint: available adapters: {available}")]
    UnknownAdapter {
        /// The requested name.
        name: String,
        /// The registered names, comma-separated.
        available: String,
    },
    /// The adapter panicked (caught at the plugin boundary or around a built-in).
    #[error("adapter `{name}` panicked: {message}")]
    Panicked {
        /// The adapter's name.
        name: String,
        /// The panic message.
        message: String,
    },
}

/// Where a registered adapter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// Linked into the host.
    BuiltIn,
    /// Loaded from this plugin file.
    Plugin(&'a Path),
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::Plugin(path) => write!(f, "plugin {}", path.display()),
        }
    }
}

enum Entry {
    BuiltIn(AdapterInfo, Box<dyn Adapter>),
    Plugin(PluginAdapter),
}

impl Entry {
    fn info(&self) -> &AdapterInfo {
        match self {
            Entry::BuiltIn(info, _) => info,
            Entry::Plugin(p) => p.info(),
        }
    }

    fn origin(&self) -> Origin<'_> {
        match self {
            Entry::BuiltIn(..) => Origin::BuiltIn,
            Entry::Plugin(p) => Origin::Plugin(p.path()),
        }
    }

    fn panicked(&self, message: String) -> AdapterRunError {
        AdapterRunError::Panicked {
            name: self.info().name.clone(),
            message,
        }
    }
}

/// Adapters by name. Names match ignoring ASCII case, `_` and `-`, so payload definitions may
/// write `exit_code` for `ExitCode`. A later registration under the same name replaces the
/// earlier one, so an explicitly loaded plugin
/// overrides a built-in.
#[derive(Default)]
pub struct AdapterRegistry {
    entries: Vec<Entry>,
}

impl AdapterRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a built-in adapter (linked into the host).
    pub fn with_builtin(mut self, adapter: impl Adapter + 'static) -> Self {
        self.insert(Entry::BuiltIn(adapter.info(), Box::new(adapter)));
        self
    }

    /// Loads one plugin file and registers its adapter.
    ///
    /// # Errors
    ///
    /// See [`PluginAdapter::load`].
    pub fn load_plugin(&mut self, path: &Path) -> Result<&AdapterInfo, PluginLoadError> {
        let plugin = PluginAdapter::load(path)?;
        Ok(self.insert(Entry::Plugin(plugin)).info())
    }

    /// Loads every shared library (`*.so` on Linux) in `dir`, in name order. Returns the
    /// failures; the plugins that loaded are registered either way.
    pub fn load_dir(&mut self, dir: &Path) -> Vec<PluginLoadError> {
        let read = std::fs::read_dir(dir).map_err(|source| PluginLoadError::ReadDir {
            path: dir.to_path_buf(),
            source,
        });
        let mut files: Vec<PathBuf> = match read {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_plugin_file(p))
                .collect(),
            Err(e) => return vec![e],
        };
        files.sort();
        files
            .iter()
            .filter_map(|f| self.load_plugin(f).err())
            .collect()
    }

    /// Loads plugins from a `:`-separated list of directories and files. Returns the failures.
    pub fn load_search_path(&mut self, list: &OsStr) -> Vec<PluginLoadError> {
        let mut errors = Vec::new();
        for entry in std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty()) {
            if entry.is_dir() {
                errors.extend(self.load_dir(&entry));
            } else if let Err(e) = self.load_plugin(&entry) {
                errors.push(e);
            }
        }
        errors
    }

    /// Loads plugins from [`ADAPTER_PATH_ENV`], when set. Returns the failures.
    pub fn load_from_env(&mut self) -> Vec<PluginLoadError> {
        match std::env::var_os(ADAPTER_PATH_ENV) {
            Some(list) => self.load_search_path(&list),
            None => Vec::new(),
        }
    }

    /// Every registered adapter with its origin, in registration order.
    pub fn adapters(&self) -> impl Iterator<Item = (&AdapterInfo, Origin<'_>)> {
        self.entries.iter().map(|e| (e.info(), e.origin()))
    }

    /// The adapter registered under `name` (see [`AdapterRegistry`] for how names match).
    pub fn find(&self, name: &str) -> Option<(&AdapterInfo, Origin<'_>)> {
        self.entry(name).map(|e| (e.info(), e.origin()))
    }

    /// Runs the adapter `name` on `input`; metrics without a unit get the unit of the hint
    /// with their name.
    ///
    /// # Errors
    ///
    /// [`AdapterRunError::UnknownAdapter`] when no adapter has that name,
    /// [`AdapterRunError::Panicked`] when it panicked.
    pub fn extract(
        &self,
        name: &str,
        input: &AdapterInput,
    ) -> Result<AdapterOutput, AdapterRunError> {
        let entry = self.known_entry(name)?;
        let mut out = match entry {
            Entry::BuiltIn(_, adapter) => catch_unwind(AssertUnwindSafe(|| adapter.extract(input)))
                .map_err(|p| entry.panicked(panic_message(p.as_ref())))?,
            Entry::Plugin(plugin) => plugin.try_extract(input).map_err(|m| entry.panicked(m))?,
        };
        out.apply_hint_units(&input.hints);
        Ok(out)
    }

    /// Runs the adapter `name`'s [`Adapter::try_extract`] on `input`: like
    /// [`extract`](Self::extract), but the adapter's own failures (it cannot run here, or it
    /// read no stream) come back as the inner `Err` instead of as details.
    ///
    /// # Errors
    ///
    /// As [`extract`](Self::extract).
    pub fn try_extract(
        &self,
        name: &str,
        input: &AdapterInput,
    ) -> Result<Result<AdapterOutput, AdapterFailure>, AdapterRunError> {
        let entry = self.known_entry(name)?;
        let result = match entry {
            Entry::BuiltIn(_, adapter) => {
                catch_unwind(AssertUnwindSafe(|| adapter.try_extract(input)))
                    .map_err(|p| entry.panicked(panic_message(p.as_ref())))?
            }
            Entry::Plugin(plugin) => plugin
                .try_extract_typed(input)
                .map_err(|m| entry.panicked(m))?,
        };
        Ok(result.map(|mut out| {
            out.apply_hint_units(&input.hints);
            out
        }))
    }

    fn known_entry(&self, name: &str) -> Result<&Entry, AdapterRunError> {
        self.entry(name)
            .ok_or_else(|| AdapterRunError::UnknownAdapter {
                name: name.to_string(),
                available: self
                    .entries
                    .iter()
                    .map(|e| e.info().name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| adapter_names_match(&e.info().name, name))
    }

    fn insert(&mut self, entry: Entry) -> &Entry {
        let name = entry.info().name.clone();
        self.entries
            .retain(|e| !adapter_names_match(&e.info().name, &name));
        self.entries.push(entry);
        self.entries.last().expect("just pushed")
    }
}

impl fmt::Debug for AdapterRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.adapters()
                    .map(|(info, origin)| format!("{} ({origin})", info.name)),
            )
            .finish()
    }
}

/// Whether two adapter names name the same adapter: equal ignoring ASCII case, `_` and `-`
/// (`llm_extract` is `LlmExtract`).
pub fn adapter_names_match(a: &str, b: &str) -> bool {
    fn key(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(|b| !matches!(b, b'_' | b'-'))
            .map(|b| b.to_ascii_lowercase())
    }
    key(a).eq(key(b))
}

fn is_plugin_file(path: &Path) -> bool {
    path.is_file() && path.extension() == Some(OsStr::new(std::env::consts::DLL_EXTENSION))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Metric, MetricHint, Stream};

    struct Fixed(&'static str);
    impl Adapter for Fixed {
        fn info(&self) -> AdapterInfo {
            AdapterInfo {
                name: self.0.into(),
                version: "1".into(),
                description: "fixed".into(),
            }
        }
        fn extract(&self, input: &AdapterInput) -> AdapterOutput {
            if input.stdout == "panic" {
                panic!("asked to");
            }
            AdapterOutput {
                metrics: vec![Metric::new("lat", 2.0, Stream::Stdout, self.0)],
                details: vec![],
            }
        }
    }

    #[test]
    fn finds_case_insensitively_and_applies_hint_units() {
        let reg = AdapterRegistry::new().with_builtin(Fixed("Fixed"));
        let hints: Vec<MetricHint> = vec!["lat:lower:us".parse().unwrap()];
        let out = reg
            .extract(
                "fixed",
                &AdapterInput {
                    hints,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(out.metrics[0].unit.as_deref(), Some("us"));
        assert_eq!(reg.find("FIXED").unwrap().1, Origin::BuiltIn);
        assert!(reg.find("fi_x-ed").is_some());
        assert!(reg.find("fixe").is_none());
    }

    #[test]
    fn unknown_adapter_lists_the_available_ones() {
        let reg = AdapterRegistry::new()
            .with_builtin(Fixed("A"))
            .with_builtin(Fixed("B"));
        let err = reg.extract("C", &AdapterInput::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown adapter `C`\nhint: available adapters: A, B"
        );
    }

    #[test]
    fn later_registration_replaces_earlier() {
        let reg = AdapterRegistry::new()
            .with_builtin(Fixed("A"))
            .with_builtin(Fixed("a"));
        assert_eq!(reg.adapters().count(), 1);
        assert_eq!(reg.find("A").unwrap().0.name, "a");
    }

    #[test]
    fn a_panicking_builtin_is_an_error() {
        let reg = AdapterRegistry::new().with_builtin(Fixed("A"));
        let input = AdapterInput {
            stdout: "panic".into(),
            ..Default::default()
        };
        assert!(matches!(
            reg.extract("A", &input),
            Err(AdapterRunError::Panicked { .. })
        ));
    }

    struct Unavailable;
    impl Adapter for Unavailable {
        fn info(&self) -> AdapterInfo {
            Fixed("Unavailable").info()
        }
        fn extract(&self, _: &AdapterInput) -> AdapterOutput {
            AdapterOutput::default()
        }
        fn try_extract(&self, _: &AdapterInput) -> Result<AdapterOutput, AdapterFailure> {
            Err(AdapterFailure::Unavailable("no model".into()))
        }
    }

    #[test]
    fn try_extract_keeps_the_adapters_failure_apart() {
        let reg = AdapterRegistry::new()
            .with_builtin(Fixed("A"))
            .with_builtin(Unavailable);
        let hints: Vec<MetricHint> = vec!["lat:lower:us".parse().unwrap()];
        let input = AdapterInput {
            hints,
            ..Default::default()
        };
        let out = reg.try_extract("a", &input).unwrap().unwrap();
        assert_eq!(out.metrics[0].unit.as_deref(), Some("us"));
        assert_eq!(
            reg.try_extract("unavailable", &input).unwrap(),
            Err(AdapterFailure::Unavailable("no model".into()))
        );
        let panics = AdapterInput {
            stdout: "panic".into(),
            ..Default::default()
        };
        assert!(matches!(
            reg.try_extract("A", &panics),
            Err(AdapterRunError::Panicked { .. })
        ));
        assert!(matches!(
            reg.try_extract("B", &input),
            Err(AdapterRunError::UnknownAdapter { .. })
        ));
    }

    #[test]
    fn missing_directory_is_reported() {
        let mut reg = AdapterRegistry::new();
        let errors = reg.load_search_path(OsStr::new("/nonexistent-ktstr-dir/:"));
        assert_eq!(errors.len(), 1);
        assert!(
            matches!(errors[0], PluginLoadError::Open { .. }),
            "{}",
            errors[0]
        );
    }
}
