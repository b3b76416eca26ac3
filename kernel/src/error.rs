//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong finding, building or caching a kernel.
///
/// Messages are lowercase, name the path or value involved in backticks, and
/// end with a `hint:` line when there is something the user can do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// A file system operation failed.
    #[error("failed to {action} `{}`", path.display())]
    Io {
        /// What was being done, e.g. "read kernel metadata".
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// No cache directory could be derived from the environment.
    #[error(
        "failed to find a cache directory: none of KTSTR_CACHE_DIR, XDG_CACHE_HOME, HOME is set\n\
         hint: set KTSTR_CACHE_DIR to a writable directory"
    )]
    NoCacheDir,

    /// The kernel source (tarball or tree) does not exist.
    #[error(
        "kernel source `{}` does not exist\n\
         hint: install Debian's source (`apt-get install linux-source-6.12`) or pass a kernel tree with --source DIR",
        path.display()
    )]
    SourceNotFound {
        /// The missing tarball or directory.
        path: PathBuf,
    },

    /// A kernel tree lacks a top-level `Makefile`.
    #[error("`{}` is not a kernel source tree (no Makefile)", path.display())]
    NotAKernelTree {
        /// The directory given as a tree.
        path: PathBuf,
    },

    /// A build tool could not be started.
    #[error(
        "failed to run `{program}`\n\
         hint: install the build tools: apt-get install build-essential bc bison flex libelf-dev libssl-dev dwarves clang-19 llvm-19 lld-19 zlib1g-dev"
    )]
    Spawn {
        /// The program that could not be started.
        program: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The process was asked to stop (Ctrl-C) during a build or while
    /// waiting for another build's lock; the build's processes were stopped
    /// and nothing was installed.
    #[error("interrupted during `{stage}`; nothing was installed")]
    Interrupted {
        /// The stage that was running, e.g. `build kernel`.
        stage: String,
    },

    /// A build stage exited unsuccessfully.
    #[error("{stage} failed; last lines of its output:\n{tail}")]
    BuildFailed {
        /// The stage, e.g. "build kernel".
        stage: String,
        /// The last lines the stage printed (stdout and stderr interleaved).
        tail: String,
    },

    /// The final `.config` violates the harness's requirements.
    #[error(
        "kernel config lacks required options: {}\n\
         hint: olddefconfig drops options whose `depends on` is unmet; add the missing dependencies to kernel/config/ktstr.fragment",
        .0.join(", ")
    )]
    MissingOptions(Vec<String>),

    /// A scheduler binary was not produced by `tools/sched_ext`.
    #[error(
        "scheduler `{name}` was not built (looked in `{}`)\n\
         hint: check the `build schedulers` output; clang-19 and bpftool's dependencies must be installed",
        dir.display()
    )]
    SchedulerMissing {
        /// The scheduler, e.g. `scx_simple`.
        name: String,
        /// Where it was expected.
        dir: PathBuf,
    },

    /// The cache holds no kernel at all.
    #[error(
        "no kernel in the cache `{}`\n\
         hint: run `ktstr kernel build`, or pass --kernel PATH to a bzImage",
        cache.display()
    )]
    NoKernel {
        /// The cache root that was searched.
        cache: PathBuf,
    },

    /// No cached kernel id starts with the given prefix.
    #[error(
        "no cached kernel matches `{spec}`\n\
         hint: `ktstr kernel list` shows the cached ids; a path to a bzImage must exist"
    )]
    UnknownKernel {
        /// The id prefix that matched nothing.
        spec: String,
    },

    /// More than one cached kernel id starts with the given prefix.
    #[error("kernel id prefix `{spec}` is ambiguous: it matches {}\nhint: give more characters of the id", matches.join(", "))]
    AmbiguousKernel {
        /// The prefix.
        spec: String,
        /// The ids it matches.
        matches: Vec<String>,
    },

    /// A user-supplied kernel image does not exist or is not a file.
    #[error(
        "kernel image `{}` does not exist\n\
         hint: pass the bzImage of a built kernel (arch/x86/boot/bzImage), or run `ktstr kernel build`",
        path.display()
    )]
    ImageMissing {
        /// The path given.
        path: PathBuf,
    },

    /// A user-supplied file is neither a bzImage nor an ELF vmlinux.
    #[error(
        "`{}` is not a kernel image (neither a bzImage nor an ELF vmlinux)\n\
         hint: pass arch/x86/boot/bzImage from a kernel build",
        path.display()
    )]
    NotAKernelImage {
        /// The path given.
        path: PathBuf,
    },

    /// The `.config` next to a user-supplied image lacks sched_ext.
    #[error(
        "kernel config `{}` lacks CONFIG_SCHED_CLASS_EXT=y, so no sched_ext scheduler can attach\n\
         hint: rebuild with sched_ext enabled, e.g. `ktstr kernel build --source DIR` applies the project's fragment",
        config.display()
    )]
    NoSchedExt {
        /// The `.config` that was checked.
        config: PathBuf,
    },

    /// A cached kernel's image does not match its metadata (truncated, corrupted).
    #[error("cached kernel {id} is damaged: {what}\nhint: rebuild it with `ktstr kernel build --force` (or remove it with `ktstr kernel clean {id}`)")]
    CorruptEntry {
        /// The cache id.
        id: String,
        /// What does not match.
        what: String,
    },
    /// A cache entry's `meta.json` is unreadable.
    #[error(
        "failed to parse kernel metadata `{}`\nhint: remove the entry with `ktstr kernel clean ID`",
        path.display()
    )]
    BadMeta {
        /// The `meta.json` path.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

impl KernelError {
    /// Wraps an I/O error with what was being done and to which path.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| KernelError::Io {
            action,
            path,
            source,
        }
    }
}
