//! A run as the store reads it back: the run record's identity, outcome and
//! metrics; the rest of the file (checks, payloads, evidence) stays JSON.

use serde::{Deserialize, Serialize};

use crate::{ResultsError, RunMeta, RunMetric, RUN_RECORD_SCHEMA};

/// The part of a run record the store indexes and comparisons read. Its
/// fields have the same names as in the record, so any record file
/// deserializes into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRun {
    /// The record's schema version.
    pub schema: u32,
    /// What the run was.
    #[serde(flatten)]
    pub meta: RunMeta,
    /// Whether every check, the topology and every payload passed.
    pub passed: bool,
    /// The first failure, for one-line reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Wall time of the VM run, ms.
    pub wall_ms: f64,
    /// Every number the run produced.
    #[serde(default)]
    pub metrics: Vec<RunMetric>,
}

impl StoredRun {
    /// Reads the store's view of a run record.
    ///
    /// # Errors
    ///
    /// [`ResultsError::BadRecord`] when the JSON is not a run record of a
    /// schema this version reads, or its id could not name a file.
    pub fn from_record(record: &serde_json::Value, origin: &str) -> Result<Self, ResultsError> {
        let bad = |why: String| ResultsError::BadRecord {
            origin: origin.to_string(),
            why,
        };
        let schema = record.get("schema").and_then(serde_json::Value::as_u64);
        if schema != Some(u64::from(RUN_RECORD_SCHEMA)) {
            return Err(bad(format!(
                "schema {} is not {RUN_RECORD_SCHEMA}, the run record schema this ktstr reads",
                schema.map_or_else(|| "missing".to_string(), |s| s.to_string())
            )));
        }
        let run = StoredRun::deserialize(record).map_err(|e| bad(e.to_string()))?;
        let id_ok = !run.meta.id.is_empty()
            && run
                .meta
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err(bad(format!(
                "id `{}` is not letters, digits, `-` and `_`",
                run.meta.id
            )));
        }
        Ok(run)
    }

    /// The metric named `name`, if the run has it.
    pub fn metric(&self, name: &str) -> Option<&RunMetric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}
