//! Turning errors into one headline, their causes, their hints, and an exit code.
//!
//! A fix the user can make is a `hint: ...` line at the end of a library's
//! error message (`"unknown accelerator `{0}`\nhint: use `kvm` or `tcg`"`), so
//! it survives in every place the message is shown. This printer lifts those
//! lines out of the headline and every cause and prints them once, after the
//! causes.

use std::process::ExitCode;

/// Exit code for usage and environment errors (bad request, missing kernel, ...).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code when a check failed or the VM did not complete.
pub(crate) const EXIT_FAILED: u8 = 1;

/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// An error with the exit code it maps to.
pub(crate) struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    /// A usage or environment error (exit 2).
    pub(crate) fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_USAGE,
            error: error.into(),
        }
    }

    /// A failed run (exit 1).
    pub(crate) fn failed(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_FAILED,
            error: error.into(),
        }
    }

    /// The user interrupted the run (exit 130).
    pub(crate) fn interrupted() -> Self {
        Failure {
            code: EXIT_INTERRUPTED,
            error: anyhow::anyhow!("interrupted; the VM was stopped and its files removed"),
        }
    }

    /// A failed kernel or scheduler build: exit 130 when it was Ctrl-C
    /// (the build's processes were stopped, nothing installed), else a
    /// usage or environment error (exit 2).
    pub(crate) fn build(error: impl Into<anyhow::Error>) -> Self {
        use ktstr_kernel::KernelError;
        let error = error.into();
        // The scheduler's error wraps the kernel's transparently, so it is
        // not a separate link of the chain.
        let interrupted = error.chain().any(|c| {
            let kernel = c.downcast_ref::<KernelError>().or_else(|| {
                match c.downcast_ref::<ktstr_scheduler::SchedulerError>() {
                    Some(ktstr_scheduler::SchedulerError::Cache(k)) => Some(k),
                    _ => None,
                }
            });
            matches!(kernel, Some(KernelError::Interrupted { .. }))
        });
        Failure {
            code: if interrupted {
                EXIT_INTERRUPTED
            } else {
                EXIT_USAGE
            },
            error,
        }
    }

    /// Prints `error: headline`, then each cause, then each hint, and returns the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprint!("{}", render(&self.error));
        ExitCode::from(self.code)
    }
}

impl From<ktstr_runner::RunError> for Failure {
    /// Ctrl-C is exit 130; everything else that keeps a run from a verdict
    /// (a missing kernel, scheduler, payload binary, backend) is exit 2.
    fn from(e: ktstr_runner::RunError) -> Self {
        match e {
            ktstr_runner::RunError::Interrupted => Failure::interrupted(),
            e @ ktstr_runner::RunError::Incomplete { .. } => Failure::failed(e),
            e => Failure::usage(e),
        }
    }
}

/// Prints `warning: message`, its hint lines set apart as for an error.
pub(crate) fn warn(message: &str) {
    eprint!("{}", render_warning(message));
}

/// `error: headline`, a `caused by:` line for each cause the lines above do
/// not already say (library errors often print their OS error in their own
/// message and also hold it as their source), then a `hint:` line for each
/// distinct hint of the headline and the causes.
fn render(error: &anyhow::Error) -> String {
    let message = error.to_string();
    let causes: Vec<String> = error.chain().skip(1).map(|c| c.to_string()).collect();
    let (headline, mut hints) = ktstr_runner::split_hints(&message);
    let mut said = headline.to_owned();
    let mut out = format!("error: {headline}\n");
    for cause in &causes {
        let (text, more) = ktstr_runner::split_hints(cause);
        if !said.contains(text) {
            out.push_str(&format!("  caused by: {text}\n"));
            said.push_str(text);
        }
        hints.extend(more);
    }
    push_hints(&mut out, &hints);
    out
}

/// `warning: message` with its hints on lines of their own.
fn render_warning(message: &str) -> String {
    let (body, hints) = ktstr_runner::split_hints(message);
    let mut out = format!("warning: {body}\n");
    push_hints(&mut out, &hints);
    out
}

/// One `  hint: ...` line per distinct hint, in order.
fn push_hints(out: &mut String, hints: &[&str]) {
    for (i, hint) in hints.iter().enumerate() {
        if !hints[..i].contains(hint) {
            out.push_str(&format!("  hint: {hint}\n"));
        }
    }
}

/// Attaches "usage error" semantics to a result.
pub(crate) trait OrUsage<T> {
    /// Maps the error to a [`Failure`] with exit code 2.
    fn or_usage(self) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> OrUsage<T> for Result<T, E> {
    fn or_usage(self) -> Result<T, Failure> {
        self.map_err(Failure::usage)
    }
}

/// Writes a report (`what`: `JUnit`, `the HTML report`) to `path`; a path
/// that cannot be written is a usage error naming it.
pub(crate) fn write_report(path: &std::path::Path, what: &str, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| {
        Failure::usage(anyhow::anyhow!(
            "cannot write {what} to `{}`: {e}",
            path.display()
        ))
    })
}

/// Prints `value` as pretty JSON on standard output (the `--json` of every command).
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).map_err(Failure::failed)?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_stopped_by_ctrl_c_exits_130_and_other_build_errors_2() {
        let stopped = || ktstr_kernel::KernelError::Interrupted {
            stage: "build kernel".into(),
        };
        assert_eq!(Failure::build(stopped()).code, EXIT_INTERRUPTED);
        let via_scheduler = ktstr_scheduler::SchedulerError::Cache(stopped());
        assert_eq!(Failure::build(via_scheduler).code, EXIT_INTERRUPTED);
        let missing = ktstr_kernel::KernelError::NoCacheDir;
        assert_eq!(Failure::build(missing).code, EXIT_USAGE);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("failed to open the ring: {source}")]
    struct SaysItsSource {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let e = anyhow::Error::new(SaysItsSource { source: io });
        assert_eq!(
            render(&e),
            "error: failed to open the ring: No such file or directory (os error 2)\n"
        );
        let e = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::EACCES))
            .context("cannot write the report");
        assert_eq!(
            render(&e),
            "error: cannot write the report\n  caused by: Permission denied (os error 13)\n"
        );
    }

    /// What `ktstr extract --adapter Yaml` prints.
    #[test]
    fn an_unknown_adapter_prints_its_hint_on_its_own_line() {
        let registry = ktstr_adapters::AdapterRegistry::new()
            .with_builtin(ktstr_adapter_json::JsonAdapter)
            .with_builtin(ktstr_adapter_exitcode::ExitCodeAdapter);
        let e = registry
            .extract("Yaml", &ktstr_adapters::AdapterInput::default())
            .unwrap_err();
        assert_eq!(
            render(&e.into()),
            "error: unknown adapter `Yaml`\n  hint: available adapters: Json, ExitCode\n"
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("failed to pick the accelerator")]
    struct PickAccel {
        #[source]
        source: ktstr_model::UnknownAccel,
    }

    #[test]
    fn hints_print_after_the_causes_in_chain_order() {
        let e = anyhow::Error::new(PickAccel {
            source: ktstr_model::UnknownAccel("hvf".into()),
        })
        .context("cannot boot `1,2,2,1`\nhint: `ktstr boot --help` lists the options");
        assert_eq!(
            render(&e),
            "error: cannot boot `1,2,2,1`\n\
             \x20 caused by: failed to pick the accelerator\n\
             \x20 caused by: unknown accelerator `hvf`\n\
             \x20 hint: `ktstr boot --help` lists the options\n\
             \x20 hint: use `kvm` or `tcg`\n"
        );
    }

    #[test]
    fn a_hint_said_twice_in_the_chain_prints_once() {
        let e = anyhow::Error::new(ktstr_model::UnknownAccel("hvf".into()))
            .context("bad backend: unknown accelerator `hvf`\nhint: use `kvm` or `tcg`");
        assert_eq!(
            render(&e),
            "error: bad backend: unknown accelerator `hvf`\n  hint: use `kvm` or `tcg`\n"
        );
    }

    #[test]
    fn only_trailing_hint_lines_are_lifted() {
        assert_eq!(
            ktstr_runner::split_hints(
                "build failed:\nhint: from the tool's output\nlast line\nhint: fix it"
            ),
            (
                "build failed:\nhint: from the tool's output\nlast line",
                vec!["fix it"]
            )
        );
        assert_eq!(
            ktstr_runner::split_hints("hint: alone"),
            ("hint: alone", vec![])
        );
    }

    #[test]
    fn a_warning_sets_its_hint_apart() {
        assert_eq!(
            render_warning("plugin `x.so` is incompatible\nhint: rebuild it"),
            "warning: plugin `x.so` is incompatible\n  hint: rebuild it\n"
        );
    }
}
