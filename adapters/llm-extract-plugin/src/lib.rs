//! The `LlmExtract` adapter: metrics from free-form text (e.g. hackbench's
//! `Time: 0.123`) with the local SmolLM2 model of `ktstr-llm`.
//!
//! It is a plugin only (`libktstr_adapter_llm_extract_plugin.so`): the host
//! does not link llama.cpp; `ktstr` loads it from `--plugin`,
//! `$KTSTR_ADAPTER_PATH` or the directory beside its own executable. The
//! model may only report numbers that occur in the text (see `ktstr-llm`);
//! stdout is tried first, stderr only when stdout gave no metrics and the model
//! loaded.
//!
//! [`Adapter::try_extract`] reports a model that cannot load as
//! [`AdapterFailure::Unavailable`] and streams that all failed as
//! [`AdapterFailure::Failed`], so that `ktstr run` can apply the LlmExtract
//! contract of `ktstr_llm::pipeline`; [`Adapter::extract`] folds them into one
//! `LlmExtract model load failed:` detail, or one detail per failed stream.
#![deny(missing_docs)]

use ktstr_adapters::{
    Adapter, AdapterFailure, AdapterInfo, AdapterInput, AdapterOutput, Metric, Stream,
};

/// The adapter's name in payload definitions.
pub const NAME: &str = "LlmExtract";

/// The `LlmExtract` adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct LlmExtractAdapter;

/// What the streams gave: metrics and rejections, and the streams that failed.
struct Attempt {
    out: AdapterOutput,
    failed: Vec<(Stream, String)>,
    succeeded: bool,
}

impl LlmExtractAdapter {
    /// Loads the model (memoized per process), then tries stdout, then stderr.
    ///
    /// # Errors
    ///
    /// Why the model did not load.
    fn attempt(input: &AdapterInput) -> Result<Attempt, String> {
        let model = ktstr_llm::resolve_model_path(None)
            .and_then(|p| ktstr_llm::Model::load(&p))
            .map_err(|e| e.to_string())?;
        let hints: Vec<String> = input.hints.iter().map(|h| h.name.clone()).collect();
        let mut attempt = Attempt {
            out: AdapterOutput::default(),
            failed: Vec::new(),
            succeeded: false,
        };
        for (stream, text) in [
            (Stream::Stdout, &input.stdout),
            (Stream::Stderr, &input.stderr),
        ] {
            if text.trim().is_empty() {
                continue;
            }
            match ktstr_llm::extract(&model, text, &hints) {
                Ok(x) => {
                    attempt.succeeded = true;
                    attempt.out.details.extend(x.rejected);
                    attempt.out.metrics.extend(
                        x.metrics
                            .into_iter()
                            .map(|(name, value)| Metric::new(name, value, stream, NAME)),
                    );
                }
                Err(e) => attempt.failed.push((stream, e.to_string())),
            }
            if !attempt.out.metrics.is_empty() {
                break;
            }
        }
        Ok(attempt)
    }
}

/// One detail per failed stream, as [`Adapter::extract`] reports them.
fn failure_details(failed: &[(Stream, String)]) -> impl Iterator<Item = String> + '_ {
    failed
        .iter()
        .map(|(stream, e)| format!("LlmExtract failed on {stream}: {e}"))
}

impl Adapter for LlmExtractAdapter {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "numbers from free-form text, named by hints, read by a local model"
                .into(),
        }
    }

    fn extract(&self, input: &AdapterInput) -> AdapterOutput {
        match Self::attempt(input) {
            Ok(mut attempt) => {
                let failed = failure_details(&attempt.failed);
                attempt.out.details.extend(failed);
                attempt.out
            }
            Err(reason) => AdapterOutput {
                metrics: Vec::new(),
                details: vec![format!("LlmExtract model load failed: {reason}")],
            },
        }
    }

    fn try_extract(&self, input: &AdapterInput) -> Result<AdapterOutput, AdapterFailure> {
        let mut attempt = Self::attempt(input).map_err(AdapterFailure::Unavailable)?;
        if !attempt.succeeded && !attempt.failed.is_empty() {
            // One failed stream is the usual case (the host sends one stream at a time).
            let reason = match attempt.failed.as_slice() {
                [(_, e)] => e.clone(),
                all => failure_details(all).collect::<Vec<_>>().join("; "),
            };
            return Err(AdapterFailure::Failed(reason));
        }
        let failed = failure_details(&attempt.failed);
        attempt.out.details.extend(failed);
        Ok(attempt.out)
    }
}

ktstr_adapters::export_adapter!(LlmExtractAdapter);
