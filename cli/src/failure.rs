//! Turning errors into one headline, their causes, and an exit code.

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

    /// Prints `error: headline`, then each cause, and returns the exit code.
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

/// `error: headline` and a `caused by:` line for each cause the lines above
/// do not already say (library errors often print their OS error in their
/// own message and also hold it as their source).
fn render(error: &anyhow::Error) -> String {
    let mut said = error.to_string();
    let mut out = format!("error: {said}\n");
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !said.contains(&text) {
            out.push_str(&format!("  caused by: {text}\n"));
            said.push_str(&text);
        }
    }
    out
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
}
