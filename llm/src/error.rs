//! The crate's error types: one for loading a model, one for running it.

use std::path::PathBuf;

/// Why a model could not be loaded.
///
/// `Clone` because a failure is memoized per process and handed to every
/// caller that asks for the same path. Messages are lowercase, name the file in
/// backticks and end with a `hint:` line saying how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelLoadError {
    /// No model path was given and no cache directory could be derived.
    #[error(
        "failed to find the model cache: none of KTSTR_LLM_MODEL, KTSTR_CACHE_DIR, XDG_CACHE_HOME, HOME is set\n\
         hint: set KTSTR_LLM_MODEL to a GGUF file, or run scripts/fetch-model.sh with HOME set"
    )]
    NoCacheDir,

    /// The model file does not exist.
    #[error(
        "model file `{}` does not exist\n\
         hint: run `ktstr model fetch` (or scripts/fetch-model.sh), or set KTSTR_LLM_MODEL to a GGUF file",
        path.display()
    )]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },

    /// The model file exists but could not be read.
    #[error("failed to read model file `{}`: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        reason: String,
    },

    /// The file is not a GGUF model llama.cpp can load (truncated, corrupt, or
    /// another format).
    #[error(
        "model file `{}` is not a loadable GGUF model: {reason}\n\
         hint: re-run scripts/fetch-model.sh to fetch and verify it again",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },

    /// The llama.cpp backend could not be initialized.
    #[error("failed to initialize the llama.cpp backend: {0}")]
    Backend(String),

    /// llama.cpp was built for instruction-set extensions this CPU lacks; running
    /// it would die with SIGILL.
    #[error(
        "llama.cpp was built for CPU extensions this CPU lacks: {missing}\n\
         hint: rebuild without them: `{fix} cargo build -p ktstr-adapter-llm-extract-plugin` \
         (the environment overrides .cargo/config.toml)"
    )]
    UnsupportedCpu {
        /// The missing extensions, comma-separated (e.g. `avx2, fma`).
        missing: String,
        /// The build options that leave them out (e.g. `GGML_AVX2=OFF GGML_FMA=OFF`).
        fix: String,
    },
}

/// Why an extraction failed after the model loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// A metric hint cannot be used as a JSON key in the grammar.
    #[error("invalid metric hint `{0}`: hints must be non-empty and contain no `\"`, `\\` or control characters")]
    InvalidHint(String),

    /// Building the prompt from the chat template failed.
    #[error("failed to build the prompt: {0}")]
    Prompt(String),

    /// The grammar was rejected by llama.cpp (a bug in this crate's grammar).
    #[error("failed to compile the output grammar: {0}")]
    Grammar(String),

    /// llama.cpp could not create an inference context.
    #[error("failed to create an inference context: {0}")]
    Context(String),

    /// A decode step failed.
    #[error("failed to run the model: {0}")]
    Decode(String),

    /// The model did not finish its JSON object within the token budget.
    #[error("model output did not complete within {max_tokens} tokens: `{raw}`")]
    Incomplete {
        /// The token budget.
        max_tokens: usize,
        /// What the model wrote.
        raw: String,
    },

    /// The model's output was not the JSON object the grammar demands.
    #[error("model output `{raw}` is not a JSON object of numbers: {reason}")]
    BadJson {
        /// What the model wrote.
        raw: String,
        /// The parser's complaint.
        reason: String,
    },
}
