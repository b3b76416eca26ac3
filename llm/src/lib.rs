//! Local LLM inference for the LlmExtract output adapter (not yet implemented).
#![deny(missing_docs)]
