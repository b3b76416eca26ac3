//! Loading one adapter plugin from a shared library, with abi_stable's layout checks.

use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::RSlice;
use thiserror::Error;

use crate::ffi::{AdapterModRef, FfiAdapterInput, FfiMetricHint, ABI_VERSION, INTERFACE_VERSION};
use crate::types::{AdapterFailure, AdapterInfo, AdapterInput, AdapterOutput};

/// An adapter plugin could not be loaded.
#[derive(Debug, Error)]
pub enum PluginLoadError {
    /// The file could not be opened as a shared library.
    #[error("failed to open adapter plugin `{path}`: {reason}")]
    Open {
        /// The plugin file.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The library exports no abi_stable root module.
    #[error(
        "`{path}` is not a ktstr adapter plugin: it exports no adapter module\n\
         hint: export one with `ktstr_adapters::export_adapter!` in a `cdylib` crate"
    )]
    NotAPlugin {
        /// The plugin file.
        path: PathBuf,
    },
    /// The plugin was built against an incompatible interface.
    #[error(
        "adapter plugin `{path}` is incompatible with this ktstr: {problem}\n\
         hint: rebuild the plugin against ktstr-adapters {INTERFACE_VERSION}"
    )]
    Incompatible {
        /// The plugin file.
        path: PathBuf,
        /// What differs, in one line.
        problem: String,
        /// abi_stable's full report (type layouts), for debugging the plugin.
        report: String,
    },
    /// The plugin's initializer failed or panicked.
    #[error("adapter plugin `{path}` failed to initialize: {reason}")]
    Init {
        /// The plugin file.
        path: PathBuf,
        /// The plugin's error.
        reason: String,
    },
    /// A plugin directory could not be listed.
    #[error("failed to list adapter plugin directory `{path}`")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl PluginLoadError {
    /// The plugin file or directory the error is about.
    pub fn path(&self) -> &Path {
        match self {
            PluginLoadError::Open { path, .. }
            | PluginLoadError::NotAPlugin { path }
            | PluginLoadError::Incompatible { path, .. }
            | PluginLoadError::Init { path, .. }
            | PluginLoadError::ReadDir { path, .. } => path,
        }
    }

    fn from_library(path: &Path, err: LibraryError) -> Self {
        let path = path.to_path_buf();
        let incompatible = |problem: String, report: String| PluginLoadError::Incompatible {
            path: path.clone(),
            problem,
            report,
        };
        match err {
            LibraryError::OpenError { err, .. } => PluginLoadError::Open { path, reason: err.to_string() },
            LibraryError::GetSymbolError { .. } => PluginLoadError::NotAPlugin { path },
            LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => incompatible(
                format!("it was built against ktstr-adapters {actual_version}, this ktstr uses {expected_version}"),
                String::new(),
            ),
            LibraryError::AbiInstability(report) => {
                let report = report.to_string();
                incompatible(format!("the layout of its interface types differs: {}", summarize_layout_report(&report)), report)
            }
            LibraryError::InvalidAbiHeader(header) => {
                incompatible(format!("it was built with an incompatible abi_stable ({header:?})"), String::new())
            }
            LibraryError::InvalidCAbi { .. } => {
                incompatible("it was built by a compiler with a different C ABI".into(), String::new())
            }
            LibraryError::ParseVersionError(e) => incompatible(format!("its version string is malformed: {e}"), String::new()),
            LibraryError::RootModule { err, .. } => PluginLoadError::Init { path, reason: err.to_string().trim().to_string() },
            LibraryError::Many(errors) => match errors.into_iter().next() {
                Some(first) => PluginLoadError::from_library(&path, first),
                None => PluginLoadError::Init { path, reason: "unknown error".into() },
            },
        }
    }
}

/// The first `Error:` entry of abi_stable's layout report, as `what (expected X, found Y)`.
fn summarize_layout_report(report: &str) -> String {
    let mut lines = report.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(what) = line.strip_prefix("Error:") else {
            continue;
        };
        let mut expected = None;
        let mut found = None;
        while let Some(l) = lines.next() {
            match l {
                "Expected:" => expected = lines.next(),
                "Found:" => found = lines.next(),
                _ if l.starts_with("Error:") => break,
                _ => {}
            }
            if expected.is_some() && found.is_some() {
                break;
            }
        }
        return match (expected, found) {
            (Some(e), Some(f)) => format!("{} (expected `{e}`, found `{f}`)", what.trim()),
            _ => what.trim().to_string(),
        };
    }
    report
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no details")
        .to_string()
}

/// An adapter loaded from a plugin file. The library stays loaded for the rest of the process.
pub struct PluginAdapter {
    module: AdapterModRef,
    info: AdapterInfo,
    path: PathBuf,
}

impl PluginAdapter {
    /// Loads the plugin at `path`, checking its interface version and type layouts.
    ///
    /// # Errors
    ///
    /// [`PluginLoadError::Open`] when the file is not a loadable library, [`PluginLoadError::NotAPlugin`]
    /// when it exports no adapter module, [`PluginLoadError::Incompatible`] when it was built
    /// against an incompatible `ktstr-adapters`, [`PluginLoadError::Init`] when its initializer failed.
    pub fn load(path: &Path) -> Result<Self, PluginLoadError> {
        let header =
            lib_header_from_path(path).map_err(|e| PluginLoadError::from_library(path, e))?;
        let module = header
            .init_root_module::<AdapterModRef>()
            .map_err(|e| PluginLoadError::from_library(path, e))?;
        let abi = module.abi_version();
        if abi != ABI_VERSION {
            return Err(PluginLoadError::Incompatible {
                path: path.to_path_buf(),
                problem: format!(
                    "it implements adapter ABI version {abi}, this ktstr expects {ABI_VERSION}"
                ),
                report: String::new(),
            });
        }
        Ok(PluginAdapter {
            module,
            info: module.adapter_info(),
            path: path.to_path_buf(),
        })
    }

    /// The plugin file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Name, version and description, as the plugin declared them.
    pub fn info(&self) -> &AdapterInfo {
        &self.info
    }

    /// Runs the plugin.
    ///
    /// # Errors
    ///
    /// The message of a panic the plugin caught at its boundary.
    pub fn try_extract(&self, input: &AdapterInput) -> Result<AdapterOutput, String> {
        let hints: Vec<FfiMetricHint> = input.hints.iter().map(FfiMetricHint::from).collect();
        let extract = self.module.extract();
        extract(&ffi_input(input, &hints))
            .into_result()
            .map(AdapterOutput::from)
            .map_err(|e| e.into_string())
    }

    /// Runs the plugin's [`Adapter::try_extract`](crate::Adapter::try_extract), or its
    /// `extract` when the plugin predates `try_extract` (it then never fails).
    ///
    /// # Errors
    ///
    /// The message of a panic the plugin caught at its boundary; the inner `Err` is the
    /// adapter's own failure.
    pub fn try_extract_typed(
        &self,
        input: &AdapterInput,
    ) -> Result<Result<AdapterOutput, AdapterFailure>, String> {
        let Some(try_extract) = self.module.try_extract() else {
            return self.try_extract(input).map(Ok);
        };
        let hints: Vec<FfiMetricHint> = input.hints.iter().map(FfiMetricHint::from).collect();
        match try_extract(&ffi_input(input, &hints)).into_result() {
            Ok(out) => Ok(Ok(out.into())),
            Err(failure) => failure.into_failure().map(Err),
        }
    }
}

/// The FFI view of `input`, borrowing it and its converted `hints`.
fn ffi_input<'a>(input: &'a AdapterInput, hints: &'a [FfiMetricHint]) -> FfiAdapterInput<'a> {
    FfiAdapterInput {
        stdout: input.stdout.as_str().into(),
        stderr: input.stderr.as_str().into(),
        exit_code: input.exit_code.into(),
        hints: RSlice::from_slice(hints),
    }
}

impl std::fmt::Debug for PluginAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginAdapter")
            .field("info", &self.info)
            .field("path", &self.path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_report_summary_names_the_mismatch() {
        let report = "Compared <this>:\n    AdapterMod\n1 error(s).\n\nError:mismatched package\nExpected:\n    ktstr-adapters\nFound:\n    other-crate\n";
        assert_eq!(
            summarize_layout_report(report),
            "mismatched package (expected `ktstr-adapters`, found `other-crate`)"
        );
        assert_eq!(
            summarize_layout_report("\n  something odd\n"),
            "something odd"
        );
    }

    #[test]
    fn a_file_that_is_not_a_library_is_an_open_error() {
        let dir = std::env::temp_dir().join(format!("ktstr-adapters-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("libnot_a_plugin.so");
        std::fs::write(&file, b"not an ELF file").unwrap();
        let err = PluginAdapter::load(&file).unwrap_err();
        assert!(matches!(err, PluginLoadError::Open { .. }), "{err}");
        assert!(err.to_string().contains("libnot_a_plugin.so"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
