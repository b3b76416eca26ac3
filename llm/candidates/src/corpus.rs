//! The accuracy corpus format (`llm/corpus/expected.toml`): real outputs
//! with the values a payload author's hints must give, and hints the text
//! does not answer. Read by the corpus test and the accuracy benchmark.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The corpus: one entry per captured output.
#[derive(Debug, Clone, Deserialize)]
pub struct Corpus {
    /// The outputs.
    pub output: Vec<CorpusOutput>,
    /// The directory the files are in (set by [`Corpus::load`]).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// One captured output and what its hints must give.
#[derive(Debug, Clone, Deserialize)]
pub struct CorpusOutput {
    /// File name in the corpus directory.
    pub file: String,
    /// The tool (Debian package) that printed it.
    pub tool: String,
    /// Hint → the value as printed.
    pub expect: BTreeMap<String, f64>,
    /// Hints the text does not answer: any value for them is wrong.
    #[serde(default)]
    pub none: Vec<String>,
}

/// Why the corpus could not be read (the message names the file).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CorpusError(pub String);

impl Corpus {
    /// Reads `dir/expected.toml`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or parsed.
    pub fn load(dir: &Path) -> Result<Corpus, CorpusError> {
        let path = dir.join("expected.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CorpusError(format!("failed to read `{}`: {e}", path.display())))?;
        let mut corpus: Corpus = toml::from_str(&text)
            .map_err(|e| CorpusError(format!("failed to parse `{}`: {e}", path.display())))?;
        corpus.dir = dir.to_owned();
        Ok(corpus)
    }

    /// The text of one output.
    ///
    /// # Errors
    ///
    /// When the file cannot be read.
    pub fn text(&self, output: &CorpusOutput) -> Result<String, CorpusError> {
        let path = self.dir.join(&output.file);
        std::fs::read_to_string(&path)
            .map_err(|e| CorpusError(format!("failed to read `{}`: {e}", path.display())))
    }
}
