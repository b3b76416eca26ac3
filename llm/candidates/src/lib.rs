//! Candidates first: a deterministic reader turns benchmark text into
//! candidate measurements, and metric hints are resolved against them.
//!
//! [`read`] finds every number with the label path that names it (section
//! headings, keys, table headers and row labels), its unit when the text
//! gives one, and whether it is an identifier (PIDs, thread and CPU numbers,
//! intervals, priorities, clock times) rather than a measurement.
//! [`resolve`] matches a hint like `latency_p95_ms` to the one candidate
//! whose label says the same (`Latency (ms)` > `95th percentile`), using
//! synonyms and the unit; when the text leaves it open it returns the
//! contenders for a model to choose from, never a guess. Values are always
//! the text's own: [`Candidate::written`] is the number as printed.
//!
//! ```
//! use ktstr_llm_candidates::{read, resolve, Resolution};
//!
//! let text = "Latency (ms):\n    min: 0.22\n    95th percentile: 4.25\n";
//! let candidates = read(text);
//! match resolve("latency_p95_ms", &candidates) {
//!     Resolution::Found(c) => assert_eq!(candidates[c].written, "4.25"),
//!     other => panic!("{other:?}"),
//! }
//! ```
#![deny(missing_docs)]

pub mod corpus;
mod lex;
mod name;
mod read;
mod resolve;
mod table;
mod vocab;

pub use name::metric_names;
pub use read::read;
pub use resolve::{resolve, Hint, Resolution};

use serde::Serialize;

/// One number of the text, with what labels it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Index in [`read`]'s result.
    pub id: usize,
    /// Label path, outermost first (`["Latency (ms)", "95th percentile"]`).
    pub label: Vec<String>,
    /// The value, parsed from [`Candidate::written`].
    pub value: f64,
    /// The number exactly as written in the text.
    pub written: String,
    /// Canonical unit (`ms`, `us`, `mib/s`, `%`, ...) when the text gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Line number in the text, from 1.
    pub line: usize,
    /// An identifier (PID, thread or CPU number, interval, clock time), not
    /// a measurement: offered only to hints that ask for one.
    pub is_id: bool,
    /// The normalized words of the label and unit, for matching.
    #[serde(skip)]
    tokens: Vec<String>,
}

impl Candidate {
    fn new(
        label: Vec<String>,
        written: &str,
        unit: Option<String>,
        line: usize,
        is_id: bool,
    ) -> Self {
        let label: Vec<String> = label.into_iter().filter(|l| !l.trim().is_empty()).collect();
        let tokens = vocab::tokens(&label.join(" "));
        Candidate {
            id: 0,
            value: written.parse().unwrap_or(f64::NAN),
            written: written.to_owned(),
            label,
            unit,
            line,
            is_id,
            tokens,
        }
    }

    /// The label path as one line: `Latency (ms) > 95th percentile`.
    pub fn label_text(&self) -> String {
        self.label.join(" > ")
    }
}
