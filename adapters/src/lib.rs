//! The stable plugin interface for payload output adapters (not yet implemented).
#![deny(missing_docs)]
