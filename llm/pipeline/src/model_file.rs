//! Where the LlmExtract model file lives and what it must hash to, without
//! linking llama.cpp (the command line's `ktstr model` reads this).

use std::path::{Path, PathBuf};

/// File name of the model in the cache (`<cache>/models/<name>`).
pub const MODEL_FILE_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// SHA-256 of the model file `scripts/fetch-model.sh` installs.
pub const MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// Environment variable naming another GGUF file to use.
pub const MODEL_ENV: &str = "KTSTR_LLM_MODEL";

/// The model path: `explicit`, else `$KTSTR_LLM_MODEL`, else
/// `models/<MODEL_FILE_NAME>` in the ktstr cache (`$KTSTR_CACHE_DIR`,
/// `$XDG_CACHE_HOME/ktstr` or `~/.cache/ktstr`); `None` when no cache
/// directory can be named.
pub fn model_path(explicit: Option<&Path>) -> Option<PathBuf> {
    model_path_with(explicit, |name| std::env::var_os(name).map(PathBuf::from))
}

/// [`model_path`] with the environment given by `var` (for tests).
pub fn model_path_with(
    explicit: Option<&Path>,
    var: impl Fn(&str) -> Option<PathBuf>,
) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_owned());
    }
    let var = |name| var(name).filter(|v| !v.as_os_str().is_empty());
    if let Some(path) = var(MODEL_ENV) {
        return Some(path);
    }
    var("KTSTR_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|p| p.join("ktstr")))
        .or_else(|| var("HOME").map(|p| p.join(".cache/ktstr")))
        .map(|cache| cache.join("models").join(MODEL_FILE_NAME))
}

/// What is on disk at a model path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelFile {
    /// The path looked at.
    pub path: PathBuf,
    /// Size in bytes, when the file exists.
    pub size: Option<u64>,
    /// Its SHA-256 (hex), when it was read.
    pub sha256: Option<String>,
    /// Whether the SHA-256 is [`MODEL_SHA256`] (another GGUF named by
    /// `$KTSTR_LLM_MODEL` may still load, but is not the tested model).
    pub verified: bool,
}

/// Looks at `path`; with `hash`, reads the file and checks its SHA-256.
///
/// # Errors
///
/// When the file exists but cannot be read.
pub fn inspect_model(path: &Path, hash: bool) -> std::io::Result<ModelFile> {
    use sha2::Digest;
    let size = match std::fs::metadata(path) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let sha256 = match (size, hash) {
        (Some(_), true) => {
            let mut file = std::fs::File::open(path)?;
            let mut hasher = sha2::Sha256::new();
            std::io::copy(&mut file, &mut hasher)?;
            Some(hex::encode(hasher.finalize()))
        }
        _ => None,
    };
    Ok(ModelFile {
        path: path.to_owned(),
        size,
        verified: sha256.as_deref() == Some(MODEL_SHA256),
        sha256,
    })
}
