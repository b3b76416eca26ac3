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
        eprintln!("error: {}", self.error);
        for cause in self.error.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
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

/// Prints `value` as pretty JSON on standard output (the `--json` of every command).
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).map_err(Failure::failed)?
    );
    Ok(())
}
