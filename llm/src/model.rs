//! Loading a GGUF model through llama.cpp, once per path per process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;

use crate::extract::PrefixState;
use crate::gguf::check_gguf;
use crate::ModelLoadError;

/// A loaded model, shared by every extraction in the process.
pub struct Model {
    pub(crate) llama: LlamaModel,
    /// Serializes context creation: llama.cpp mutates the model while it
    /// builds a context, so two contexts must not be built at once.
    pub(crate) context_lock: Mutex<()>,
    /// The evaluated beginning every prompt shares (see `extract::load_prefix`).
    pub(crate) prefix: Mutex<Option<PrefixState>>,
    path: PathBuf,
    load_time: Duration,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.path)
            .field("load_time", &self.load_time)
            .finish_non_exhaustive()
    }
}

type Memo = Mutex<HashMap<PathBuf, Result<Arc<Model>, ModelLoadError>>>;

impl Model {
    /// Loads the GGUF model at `path`, or returns the result of an earlier
    /// call with the same path: success and failure are both memoized for the
    /// life of the process (a model fetched later needs a new process).
    ///
    /// # Errors
    ///
    /// [`ModelLoadError::NotFound`] or [`ModelLoadError::Io`] when the file cannot be
    /// read, [`ModelLoadError::Corrupt`] when it is not a GGUF model llama.cpp can
    /// load, [`ModelLoadError::Backend`] when llama.cpp cannot start,
    /// [`ModelLoadError::UnsupportedCpu`] when llama.cpp was built for CPU
    /// extensions this machine lacks.
    pub fn load(path: &Path) -> Result<Arc<Model>, ModelLoadError> {
        static MEMO: OnceLock<Memo> = OnceLock::new();
        let memo = MEMO.get_or_init(Memo::default);
        // Holding the lock across the load makes concurrent callers wait for
        // one load instead of each loading the file.
        let mut memo = memo.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        memo.entry(path.to_owned())
            .or_insert_with(|| load_uncached(path).map(Arc::new))
            .clone()
    }

    /// The file this model was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long the first load took (reading the file and building tensors).
    pub fn load_time(&self) -> Duration {
        self.load_time
    }
}

/// The process's llama.cpp backend, started once with its logging silenced
/// (failures are reported through [`ModelLoadError`] instead).
pub(crate) fn backend() -> Result<&'static LlamaBackend, ModelLoadError> {
    static BACKEND: OnceLock<Result<LlamaBackend, ModelLoadError>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend =
                LlamaBackend::init().map_err(|e| ModelLoadError::Backend(e.to_string()))?;
            backend.void_logs();
            Ok(backend)
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn load_uncached(path: &Path) -> Result<Model, ModelLoadError> {
    let start = Instant::now();
    // The file first (a truncated one is named as such, not as a hash
    // mismatch), in Rust; then the CPU, before llama.cpp runs any code (its
    // backend init already uses the build's instruction set).
    check_gguf(path)?;
    check_pinned(path)?;
    crate::cpu::check()?;
    let backend = backend()?;
    let llama =
        LlamaModel::load_from_file(backend, path, &LlamaModelParams::default()).map_err(|e| {
            ModelLoadError::Corrupt {
                path: path.to_owned(),
                reason: format!("llama.cpp refused it ({e})"),
            }
        })?;
    Ok(Model {
        llama,
        context_lock: Mutex::new(()),
        prefix: Mutex::new(None),
        path: path.to_owned(),
        load_time: start.elapsed(),
    })
}

/// The pinned model (the cache's file of that name) must hash to
/// [`MODEL_SHA256`](crate::MODEL_SHA256): damage inside its tensors passes the header walk
/// and would only show as wrong answers. Hashing 98 MB takes a while, so a stamp beside the
/// file (`<file>.verified`: its size, mtime and hash) spares it until the file changes.
/// Another GGUF (`$KTSTR_LLM_MODEL`) has no pinned hash and is not checked here.
fn check_pinned(path: &Path) -> Result<(), ModelLoadError> {
    use ktstr_llm_pipeline::model_file::inspect_model;
    if path.file_name() != Some(std::ffi::OsStr::new(crate::MODEL_FILE_NAME)) {
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(path) else {
        // Missing or unreadable: the header walk names it.
        return Ok(());
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let want = format!("{} {mtime} {}\n", meta.len(), crate::MODEL_SHA256);
    let mut stamp = path.as_os_str().to_owned();
    stamp.push(".verified");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(());
    }
    let file = inspect_model(path, true).map_err(|e| ModelLoadError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if !file.verified {
        return Err(ModelLoadError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "its SHA-256 is {}, not the pinned {}",
                file.sha256.as_deref().unwrap_or("unknown"),
                crate::MODEL_SHA256
            ),
        });
    }
    // A stamp that cannot be written only means hashing again next time.
    let _ = std::fs::write(&stamp, want);
    Ok(())
}
