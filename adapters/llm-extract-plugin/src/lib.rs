//! The `LlmExtract` adapter: metrics from free-form text (e.g. hackbench's
//! `Time: 0.123`) with the local SmolLM2 model of `ktstr-llm`.
//!
//! It is a plugin only (`libktstr_adapter_llm_extract_plugin.so`): the host
//! does not link llama.cpp; `ktstr` loads it from `--plugin`,
//! `$KTSTR_ADAPTER_PATH` or the directory beside its own executable. The
//! model may only report numbers that occur in the text (see `ktstr-llm`);
//! stdout is tried first, stderr only when stdout gave no metrics and the model
//! loaded; a model that cannot load gives one `LlmExtract model load failed:`
//! detail and no metrics.
#![deny(missing_docs)]

use ktstr_adapters::{Adapter, AdapterInfo, AdapterInput, AdapterOutput, Metric, Stream};

/// The adapter's name in payload definitions.
pub const NAME: &str = "LlmExtract";

/// The `LlmExtract` adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct LlmExtractAdapter;

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
        let mut out = AdapterOutput {
            metrics: Vec::new(),
            details: Vec::new(),
        };
        let model = match ktstr_llm::resolve_model_path(None)
            .map_err(|e| e.to_string())
            .and_then(|p| ktstr_llm::Model::load(&p).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(reason) => {
                out.details
                    .push(format!("LlmExtract model load failed: {reason}"));
                return out;
            }
        };
        let hints: Vec<String> = input.hints.iter().map(|h| h.name.clone()).collect();
        for (stream, text) in [
            (Stream::Stdout, &input.stdout),
            (Stream::Stderr, &input.stderr),
        ] {
            if text.trim().is_empty() {
                continue;
            }
            match ktstr_llm::extract(&model, text, &hints) {
                Ok(x) => {
                    out.details.extend(x.rejected);
                    out.metrics.extend(
                        x.metrics
                            .into_iter()
                            .map(|(name, value)| Metric::new(name, value, stream, NAME)),
                    );
                }
                Err(e) => out
                    .details
                    .push(format!("LlmExtract failed on {stream}: {e}")),
            }
            if !out.metrics.is_empty() {
                break;
            }
        }
        out
    }
}

ktstr_adapters::export_adapter!(LlmExtractAdapter);
