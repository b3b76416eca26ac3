//! Errors of this crate.

/// What can go wrong around evaluation (judging a run itself cannot fail).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The verdict could not be serialized.
    #[error("failed to serialize the verdict")]
    Json(#[from] serde_json::Error),
}
