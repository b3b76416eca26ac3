//! Where the model file is: an explicit path, else `$KTSTR_LLM_MODEL`, else the
//! file `scripts/fetch-model.sh` puts in the ktstr cache. Nothing is downloaded.

use std::path::{Path, PathBuf};

use crate::LoadError;

/// File name of the default model in the cache's `models/` directory.
pub const MODEL_FILE_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// SHA-256 of the default model, as `scripts/fetch-model.sh` verifies it.
pub const MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// Environment variable naming another GGUF model to use.
pub const MODEL_ENV: &str = "KTSTR_LLM_MODEL";

/// The model to load: `explicit` if given, else `$KTSTR_LLM_MODEL`, else the
/// default model in the cache (`$KTSTR_CACHE_DIR`, `$XDG_CACHE_HOME/ktstr` or
/// `$HOME/.cache/ktstr`, then `models/`). Empty variables count as unset.
///
/// Only resolves the path; [`Model::load`](crate::Model::load) checks the file.
///
/// # Errors
///
/// [`LoadError::NoCacheDir`] when nothing names a path.
pub fn resolve_model_path(explicit: Option<&Path>) -> Result<PathBuf, LoadError> {
    resolve_with(explicit, |name| std::env::var_os(name).map(PathBuf::from))
}

/// [`resolve_model_path`] with the environment read through `var` (testable).
fn resolve_with(
    explicit: Option<&Path>,
    var: impl Fn(&str) -> Option<PathBuf>,
) -> Result<PathBuf, LoadError> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let var = |name| var(name).filter(|v| !v.as_os_str().is_empty());
    if let Some(path) = var(MODEL_ENV) {
        return Ok(path);
    }
    var("KTSTR_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|p| p.join("ktstr")))
        .or_else(|| var("HOME").map(|p| p.join(".cache/ktstr")))
        .map(|cache| cache.join("models").join(MODEL_FILE_NAME))
        .ok_or(LoadError::NoCacheDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<PathBuf> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| PathBuf::from(v))
        }
    }

    #[test]
    fn explicit_beats_env_beats_cache() {
        let all = [
            (MODEL_ENV, "/env.gguf"),
            ("KTSTR_CACHE_DIR", "/k"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        let explicit = Path::new("/given.gguf");
        assert_eq!(resolve_with(Some(explicit), env(&all)).unwrap(), explicit);
        assert_eq!(
            resolve_with(None, env(&all)).unwrap(),
            Path::new("/env.gguf")
        );
        let cached = |root: &str| Path::new(root).join("models").join(MODEL_FILE_NAME);
        assert_eq!(resolve_with(None, env(&all[1..])).unwrap(), cached("/k"));
        assert_eq!(
            resolve_with(None, env(&all[2..])).unwrap(),
            cached("/x/ktstr")
        );
        assert_eq!(
            resolve_with(None, env(&all[3..])).unwrap(),
            cached("/h/.cache/ktstr")
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let vars = [(MODEL_ENV, ""), ("KTSTR_CACHE_DIR", ""), ("HOME", "/h")];
        let want = Path::new("/h/.cache/ktstr/models").join(MODEL_FILE_NAME);
        assert_eq!(resolve_with(None, env(&vars)).unwrap(), want);
        assert_eq!(resolve_with(None, env(&[])), Err(LoadError::NoCacheDir));
    }
}
