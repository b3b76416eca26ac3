//! What can go wrong reading or writing results.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// An error of the results store.
#[derive(Debug, Error)]
pub enum ResultsError {
    /// A file or directory could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The SQLite index failed.
    #[error("cannot use the results index {}\nhint: delete it and run `ktstr results reindex` to rebuild it from the run files", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// JSON that is not a run record this version reads.
    #[error("{origin} is not a run record: {why}")]
    BadRecord {
        /// The file or value.
        origin: String,
        /// What is wrong.
        why: String,
    },
    /// A run with this id is stored already.
    #[error("the results store already has run `{0}`")]
    Duplicate(String),
    /// No run has this id or id prefix.
    #[error("no run `{0}` in the results store\nhint: `ktstr results list` shows the ids")]
    NoSuchRun(String),
    /// Several runs start with this prefix.
    #[error("run id `{prefix}` is ambiguous: {}\nhint: give more of the id", candidates.join(", "))]
    AmbiguousId {
        /// The prefix given.
        prefix: String,
        /// Ids that start with it (at most six).
        candidates: Vec<String>,
    },
    /// The JUnit XML writer failed.
    #[error("cannot write JUnit XML: {0}")]
    Junit(String),
    /// A filter clause that does not parse.
    #[error("filter `{clause}`: {why}")]
    BadFilter {
        /// The clause.
        clause: String,
        /// What is wrong.
        why: String,
    },
}

impl ResultsError {
    pub(crate) fn io<'a>(
        action: &'static str,
        path: &'a Path,
    ) -> impl Fn(std::io::Error) -> Self + 'a {
        move |source| ResultsError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn index(path: PathBuf) -> impl Fn(rusqlite::Error) -> Self {
        move |source| ResultsError::Index {
            path: path.clone(),
            source,
        }
    }
}
