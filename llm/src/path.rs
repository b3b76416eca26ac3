//! Where the model file is: an explicit path, else `$KTSTR_LLM_MODEL`, else the
//! file `scripts/fetch-model.sh` puts in the ktstr cache. Nothing is downloaded.

use std::path::{Path, PathBuf};

use ktstr_llm_pipeline::model_file::model_path_with;
pub use ktstr_llm_pipeline::model_file::{MODEL_ENV, MODEL_FILE_NAME, MODEL_SHA256};

use crate::ModelLoadError;

/// The model path (see [`ktstr_llm_pipeline::model_file::model_path`]).
///
/// # Errors
///
/// [`ModelLoadError::NoCacheDir`] when no cache directory can be named.
pub fn resolve_model_path(explicit: Option<&Path>) -> Result<PathBuf, ModelLoadError> {
    resolve_with(explicit, |name| std::env::var_os(name).map(PathBuf::from))
}

fn resolve_with(
    explicit: Option<&Path>,
    var: impl Fn(&str) -> Option<PathBuf>,
) -> Result<PathBuf, ModelLoadError> {
    model_path_with(explicit, var).ok_or(ModelLoadError::NoCacheDir)
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
        assert_eq!(
            resolve_with(None, env(&[])),
            Err(ModelLoadError::NoCacheDir)
        );
    }
}
