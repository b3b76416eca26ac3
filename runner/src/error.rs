//! What can keep a run from producing a verdict.

use std::path::PathBuf;

/// An error before, around or instead of a judged run. A run that happened
/// and failed its checks is not an error: its [`RunRecord`](crate::RunRecord)
/// says so.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A scheduler value that cannot mean anything (`""`, `eevdf` with arguments).
    #[error("invalid scheduler `{value}`: {reason}")]
    BadSchedulerValue {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A scheduler name that is neither EEVDF, a kernel-tree scheduler, a
    /// built production scheduler nor a path.
    #[error("unknown scheduler `{name}`\nhint: use `eevdf`, a path to a scheduler binary, one built with the kernel ({tree}), or build it first: `ktstr scheduler build {name}`")]
    UnknownScheduler {
        /// The name.
        name: String,
        /// The kernel tree's schedulers, comma-separated.
        tree: String,
    },
    /// A scheduler binary named by path (or by a declaration) that does not exist.
    #[error("scheduler binary `{}` does not exist", path.display())]
    SchedulerBinaryMissing {
        /// The path.
        path: PathBuf,
    },
    /// A declared scheduler whose binary has not been built or cached.
    #[error("{what} is not available\nhint: {fix}")]
    SchedulerNotBuilt {
        /// What was asked for (`scx_lavd@1.1.4 (declared by x)`).
        what: String,
        /// The command or step that provides it.
        fix: String,
    },
    /// The scheduler cache or a declaration.
    #[error(transparent)]
    Scheduler(#[from] ktstr_scheduler::SchedulerError),
    /// The kernel cache or the kernel image.
    #[error(transparent)]
    Kernel(#[from] ktstr_kernel::KernelError),
    /// Starting or running the VM.
    #[error(transparent)]
    Vm(#[from] ktstr_vmm::VmError),
    /// Assembling the guest's initramfs.
    #[error("failed to build the guest initramfs")]
    Initramfs(#[from] ktstr_vmm::initramfs::InitramfsError),
    /// A scenario that does not validate against its topology.
    #[error(transparent)]
    Scenario(#[from] ktstr_model::ScenarioError),
    /// An output adapter plugin that did not load.
    #[error(transparent)]
    Plugin(#[from] ktstr_adapters::PluginLoadError),
    /// The guest runtime (the VM's `/init`) was not found.
    #[error("failed to find the guest runtime: {detail}\nhint: build it with `cargo build --bins`, or set ${env}", env = crate::guest_image::GUEST_BIN_ENV)]
    GuestRuntimeMissing {
        /// Where it was looked for.
        detail: String,
    },
    /// A payload binary that is neither an existing path nor on `PATH`.
    #[error("payload `{payload}`: binary `{binary}` not found{on_path}\nhint: install it (e.g. `apt-get install rt-tests stress-ng fio`) or give an absolute path", on_path = if binary.contains('/') { "" } else { " on PATH" })]
    PayloadBinaryMissing {
        /// The payload's name.
        payload: String,
        /// Its binary as declared.
        binary: String,
    },
    /// A file-system operation.
    #[error("failed to {action} `{}`", path.display())]
    Io {
        /// What was being done (`create`, `read`).
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A VM that had to complete did not (a benchmark run).
    #[error("{what} did not complete: {exit}")]
    Incomplete {
        /// Which run.
        what: String,
        /// How it ended.
        exit: String,
    },
    /// The run record could not be stored, or the store not opened.
    #[error(transparent)]
    Results(#[from] ktstr_results::ResultsError),
    /// The run was judged but its record could not be stored (a full disk,
    /// say): the record is here, so the verdict is not lost with it.
    #[error(
        "failed to store the record of run `{}` ({})",
        record.meta.id,
        if record.passed { "passed" } else { "failed" }
    )]
    NotStored {
        /// The judged run.
        record: Box<crate::RunRecord>,
        /// Why the store refused it.
        #[source]
        source: ktstr_results::ResultsError,
    },
    /// No results directory is known (no `$HOME`, no cargo project).
    #[error("no results directory\nhint: set ${env} or pass one (`--results DIR`)", env = ktstr_results::RESULTS_ENV)]
    NoResultsDir,
    /// The user pressed Ctrl-C; the VM was stopped and its files removed.
    #[error("interrupted; the VM was stopped and its files removed")]
    Interrupted,
}

impl RunError {
    /// An [`RunError::Io`] maker for `map_err`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> RunError {
        let path = path.into();
        move |source| RunError::Io {
            action,
            path,
            source,
        }
    }
}

/// An error and its causes as one text: the messages joined with `: ` (a
/// cause whose text the ones before already say is left out), then their
/// `hint:` lines. For places that hold one string (a test's failure, a
/// gauntlet cell); a terminal gets the CLI's multi-line form instead.
///
/// ```
/// let io = std::io::Error::from_raw_os_error(28);
/// let e = ktstr_runner::RunError::Io { action: "write", path: "/x".into(), source: io };
/// assert_eq!(
///     ktstr_runner::error_text(&e),
///     "failed to write `/x`: No space left on device (os error 28)"
/// );
/// ```
pub fn error_text(error: &dyn std::error::Error) -> String {
    let mut said = String::new();
    let mut hints: Vec<String> = Vec::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let text = e.to_string();
        let (body, own) = split_hints(&text);
        if !said.contains(body) {
            if !said.is_empty() {
                said.push_str(": ");
            }
            said.push_str(body);
        }
        for h in own {
            if !hints.iter().any(|k| k == h) {
                hints.push(h.to_string());
            }
        }
        cause = e.source();
    }
    for h in hints {
        said.push_str("\nhint: ");
        said.push_str(&h);
    }
    said
}

/// An error message's body and its hints: the trailing lines that start
/// with `hint: ` (the workspace's one format for a fix the user can make).
/// Only trailing lines count, so a `hint:` quoted inside a command's output
/// stays part of the body.
///
/// ```
/// let (body, hints) = ktstr_runner::split_hints("no kernel\nhint: run `ktstr kernel build`");
/// assert_eq!((body, hints), ("no kernel", vec!["run `ktstr kernel build`"]));
/// ```
pub fn split_hints(message: &str) -> (&str, Vec<&str>) {
    let mut body = message;
    let mut hints = Vec::new();
    while let Some((rest, last)) = body.rsplit_once('\n') {
        let Some(hint) = last.trim_start().strip_prefix("hint: ") else {
            break;
        };
        hints.push(hint);
        body = rest;
    }
    hints.reverse();
    (body, hints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_join_once_and_hints_go_last() {
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let vm = RunError::Vm(ktstr_vmm::VmError::Io {
            what: "create the VM's private directory".into(),
            source: io,
        });
        assert_eq!(
            error_text(&vm),
            "failed to create the VM's private directory: No space left on device (os error 28)"
        );
        let results = RunError::Results(ktstr_results::ResultsError::Duplicate("r1".into()));
        assert_eq!(
            error_text(&results),
            "the results store already has run `r1`"
        );
        let hinted = RunError::NoResultsDir;
        let text = error_text(&hinted);
        assert!(text.starts_with("no results directory\nhint: "), "{text}");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("failed to build\ngit said:\nhint: use --force\nmore output\nhint: read the log")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to run\nhint: build it first")]
    struct Outer(#[source] Inner);

    #[test]
    fn an_inner_hint_goes_after_every_cause_and_quoted_hints_stay_in_the_body() {
        assert_eq!(
            error_text(&Outer(Inner)),
            "failed to run: failed to build\ngit said:\nhint: use --force\nmore output\n\
             hint: build it first\nhint: read the log"
        );
    }
}
