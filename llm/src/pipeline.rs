//! The host-side LlmExtract pipeline: the crate `ktstr-llm-pipeline`, and
//! [`ModelExtractor`], its [`Extractor`] backed by the local model.

use std::path::{Path, PathBuf};

pub use ktstr_llm_pipeline::*;

use crate::{extract, resolve_model_path, Model, ModelLoadError};

/// The [`Extractor`] backed by the local model, loaded on first use (and
/// memoized per process by [`Model::load`]).
#[derive(Debug, Clone)]
pub struct ModelExtractor {
    path: Result<PathBuf, ModelLoadError>,
}

impl ModelExtractor {
    /// Uses the model at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Ok(path.into()),
        }
    }

    /// Uses the model [`resolve_model_path`] names; a resolution failure is
    /// reported as a model-load failure on first use.
    pub fn resolve(explicit: Option<&Path>) -> Self {
        Self {
            path: resolve_model_path(explicit),
        }
    }
}

impl Extractor for ModelExtractor {
    fn extract(&self, text: &str, hints: &[String]) -> Result<Outcome, LlmExtractError> {
        let load_failed = |e: &ModelLoadError| LlmExtractError::ModelLoad(e.to_string());
        let path = self.path.as_ref().map_err(load_failed)?;
        let model = Model::load(path).map_err(|e| load_failed(&e))?;
        let found =
            extract(&model, text, hints).map_err(|e| LlmExtractError::Failed(e.to_string()))?;
        // The pipeline sets the stream it read the text from.
        let metrics = found
            .metrics
            .into_iter()
            .map(|(name, value)| Metric::new(name, value, Stream::Stdout, SOURCE_LLM_EXTRACT));
        Ok(Outcome {
            metrics: metrics.collect(),
            rejected: found.rejected,
        })
    }
}
