//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong declaring, building or finding a scheduler.
///
/// Messages are lowercase, name the value involved in backticks, and end
/// with a `hint:` line when there is something the user can do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// A file system operation failed.
    #[error("failed to {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The cache location could not be found.
    #[error(transparent)]
    Cache(#[from] ktstr_kernel::KernelError),

    /// A `NAME[@VERSION]` value is malformed.
    #[error("`{spec}` is not a scheduler name: {reason}\nhint: write NAME or NAME@VERSION, e.g. `scx_bpfland@1.1.4`")]
    BadSpec {
        /// The value given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A declaration (TOML file or builder) is invalid.
    #[error("scheduler declaration is invalid: `{field}` {reason}")]
    BadDeclaration {
        /// The offending field, as a path (`flags[2].requires`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A declaration file could not be parsed.
    #[error("scheduler declaration `{}` is malformed: {message}", path.display())]
    MalformedDeclaration {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the field and line).
        message: String,
    },

    /// The build of a scheduler failed.
    #[error("failed to build `{name}`{}\nlast lines of the build:\n{tail}{}",
        missing.as_ref().map(|m| format!(": {m} is missing")).unwrap_or_default(),
        hint.as_ref().map(|h| format!("\nhint: {h}")).unwrap_or_default())]
    BuildFailed {
        /// The scheduler.
        name: String,
        /// The tool or library the output says is missing, if it says.
        missing: Option<String>,
        /// How to fix it, when known.
        hint: Option<String>,
        /// The last lines of the build's output.
        tail: String,
    },

    /// A build tool (cargo) could not be started.
    #[error("failed to run `{program}`\nhint: install the Rust toolchain (rustup) so `cargo` is on PATH")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The build finished but produced no binary of that name.
    #[error("building `{name}` produced no binary `{}`\nhint: the package's binary target must be named like the scheduler; pass the package name", expected.display())]
    NoBinary {
        /// The scheduler.
        name: String,
        /// Where the binary was expected.
        expected: PathBuf,
    },

    /// `--path DIR` names no Cargo project with that scheduler.
    #[error("`{}` holds no scheduler package{}\nhint: pass the scx checkout (or the scheduler's crate directory) and the scheduler's name, e.g. `ktstr scheduler build scx_bpfland --path ~/scx`", dir.display(), name.as_ref().map(|n| format!(" named `{n}`")).unwrap_or_default())]
    NoPackage {
        /// The directory given.
        dir: PathBuf,
        /// The name asked for, if any.
        name: Option<String>,
        /// Package names that were found.
        found: Vec<String>,
    },

    /// No built scheduler matches a name.
    #[error("no built scheduler matches `{spec}`{}\nhint: `ktstr scheduler build {spec}` builds it from crates.io; `ktstr scheduler list` shows what is built",
        if available.is_empty() { String::new() } else { format!(" (built: {})", available.join(", ")) })]
    NotBuilt {
        /// The name (and version) asked for.
        spec: String,
        /// What is cached.
        available: Vec<String>,
    },

    /// A cached binary no longer has the checksum recorded when it was built.
    #[error("cached scheduler `{}` is corrupt: sha256 {got}, recorded {expected}\nhint: rebuild it with `ktstr scheduler build {name} --force`", path.display())]
    Corrupt {
        /// The scheduler name.
        name: String,
        /// The binary.
        path: PathBuf,
        /// The checksum recorded at build time.
        expected: String,
        /// The checksum now.
        got: String,
    },

    /// A cache entry's `meta.json` is unreadable.
    #[error("cache entry `{}` has a corrupt meta.json: {message}\nhint: remove the directory and rebuild the scheduler", dir.display())]
    BadMeta {
        /// The entry directory.
        dir: PathBuf,
        /// The parser's message.
        message: String,
    },
}

impl SchedulerError {
    /// An [`SchedulerError::Io`] builder for `map_err`.
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(io::Error) -> SchedulerError {
        let path = path.to_owned();
        move |source| SchedulerError::Io {
            action,
            path,
            source,
        }
    }

    /// A [`SchedulerError::BadDeclaration`].
    pub(crate) fn decl(field: impl Into<String>, reason: impl Into<String>) -> SchedulerError {
        SchedulerError::BadDeclaration {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
