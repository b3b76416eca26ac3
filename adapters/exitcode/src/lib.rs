//! The `ExitCode` adapter: the payload's exit code as its one metric, `exit_code`.
//!
//! For payloads whose only result is whether they succeeded. A payload that was killed or did
//! not finish has no exit code: no metric, and a detail saying so.
//!
//! ```
//! use ktstr_adapters::{Adapter, AdapterInput, Stream};
//! use ktstr_adapter_exitcode::ExitCodeAdapter;
//!
//! let out = ExitCodeAdapter.extract(&AdapterInput { exit_code: Some(3), ..Default::default() });
//! assert_eq!((out.metrics[0].name.as_str(), out.metrics[0].value), ("exit_code", 3.0));
//! assert_eq!(out.metrics[0].stream, Stream::Exit);
//! ```
//!
//! The same adapter as a plugin is the `ktstr-adapter-exitcode-plugin` crate.
#![deny(missing_docs)]

use ktstr_adapters::{Adapter, AdapterInfo, AdapterInput, AdapterOutput, Metric, Stream};

/// The adapter's name in payload definitions.
pub const NAME: &str = "ExitCode";

/// The name of the one metric.
pub const METRIC: &str = "exit_code";

/// The `ExitCode` adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExitCodeAdapter;

impl Adapter for ExitCodeAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "the payload's exit code as the metric `exit_code`".into(),
        }
    }

    fn extract(&self, input: &AdapterInput) -> AdapterOutput {
        match input.exit_code {
            Some(code) => AdapterOutput {
                metrics: vec![Metric::new(METRIC, f64::from(code), Stream::Exit, NAME)],
                details: vec![],
            },
            None => AdapterOutput {
                metrics: vec![],
                details: vec!["no exit code: the payload was killed or did not finish".into()],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_exit_code_gives_no_metric_and_a_detail() {
        let out = ExitCodeAdapter.extract(&AdapterInput::default());
        assert!(out.metrics.is_empty());
        assert_eq!(out.details.len(), 1);
    }

    #[test]
    fn output_text_is_ignored() {
        let input = AdapterInput {
            stdout: "{\"a\": 1}".into(),
            exit_code: Some(0),
            ..Default::default()
        };
        let out = ExitCodeAdapter.extract(&input);
        assert_eq!(
            out.metrics,
            vec![Metric::new(METRIC, 0.0, Stream::Exit, NAME)]
        );
    }
}
