//! How long cells take: measured in earlier gauntlet runs when there are
//! any, else a model of boot cost plus the scenario's own length.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Cell;

/// How many past walls are kept per key.
const KEEP: usize = 5;

/// Boot, scheduler attach and power-off under TCG on the lean kernel (ms).
const BOOT_MS: f64 = 3500.0;
/// Extra boot time per vCPU under TCG (ms): every vCPU is a host thread
/// (measured on 2 host cores: 128 vCPUs boot in 26 s, 64 in 11 s).
const PER_CPU_MS: f64 = 180.0;
/// The scenario's steps run slower than their nominal length (settling,
/// reports, payload start).
const SCENARIO_FACTOR: f64 = 1.25;

/// A [`Durations`] file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} gauntlet durations `{}`: {message}", path.display())]
pub struct DurationsError {
    action: &'static str,
    path: PathBuf,
    message: String,
}

/// Past wall times by (scenario, topology, scheduler), newest last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    walls_ms: BTreeMap<String, Vec<f64>>,
}

impl Durations {
    /// Reads the file at `path`; a missing file is an empty history.
    ///
    /// # Errors
    ///
    /// [`DurationsError`] for an unreadable or corrupt file.
    pub fn load(path: &Path) -> Result<Durations, DurationsError> {
        let err = |action, message: String| DurationsError {
            action,
            path: path.to_owned(),
            message,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| err("parse", e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Durations::default()),
            Err(e) => Err(err("read", e.to_string())),
        }
    }

    /// Writes the history to `path` (atomically: a temporary file renamed).
    ///
    /// # Errors
    ///
    /// [`DurationsError`] when the directory or file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), DurationsError> {
        let err = |action, e: std::io::Error| DurationsError {
            action,
            path: path.to_owned(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err("create the directory of", e))?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let json = serde_json::to_string_pretty(self).expect("durations serialize");
        std::fs::write(&tmp, json).map_err(|e| err("write", e))?;
        std::fs::rename(&tmp, path).map_err(|e| err("rename into", e))
    }

    /// Records that `cell` took `wall`.
    pub fn record(&mut self, cell: &Cell, wall: Duration) {
        let walls = self.walls_ms.entry(key(cell)).or_default();
        walls.push(wall.as_secs_f64() * 1e3);
        if walls.len() > KEEP {
            walls.remove(0);
        }
    }

    /// The expected wall time of `cell`: the median of its past runs, else
    /// of the same scenario and topology under any scheduler, else the model.
    pub fn estimate(&self, cell: &Cell) -> Duration {
        let exact = self.walls_ms.get(&key(cell));
        let prefix = format!("{}|{}|", cell.scenario, cell.topology.spec());
        let similar: Vec<f64> = self
            .walls_ms
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        let ms = match exact {
            Some(w) if !w.is_empty() => median(w),
            _ if !similar.is_empty() => median(&similar),
            _ => {
                BOOT_MS
                    + PER_CPU_MS * f64::from(cell.topology.cpus())
                    + SCENARIO_FACTOR * cell.scenario_ms as f64
            }
        };
        Duration::from_secs_f64(ms / 1e3)
    }
}

fn key(cell: &Cell) -> String {
    format!(
        "{}|{}|{}",
        cell.scenario,
        cell.topology.spec(),
        cell.scheduler_label()
    )
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(scenario: &str, scheduler: &str) -> Cell {
        Cell {
            scenario: scenario.into(),
            preset: "llc-pair".into(),
            topology: "1,2,2,1".parse().unwrap(),
            scheduler: scheduler.into(),
            profile: "default".into(),
            args: Vec::new(),
            scenario_ms: 3000,
        }
    }

    #[test]
    fn history_beats_the_model_and_survives_a_round_trip() {
        let mut d = Durations::default();
        let model = d.estimate(&cell("steady", "eevdf"));
        assert!(model > Duration::from_secs(3), "{model:?}");
        for ms in [9000, 7000, 8000] {
            d.record(&cell("steady", "eevdf"), Duration::from_millis(ms));
        }
        assert_eq!(d.estimate(&cell("steady", "eevdf")), Duration::from_secs(8));
        // Another scheduler on the same scenario and topology borrows it.
        assert_eq!(
            d.estimate(&cell("steady", "scx_simple")),
            Duration::from_secs(8)
        );
        assert_eq!(d.estimate(&cell("mixed", "eevdf")), model);

        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("g/durations.json");
        assert_eq!(Durations::load(&path).unwrap(), Durations::default());
        d.save(&path).unwrap();
        assert_eq!(Durations::load(&path).unwrap(), d);
        std::fs::write(&path, "{").unwrap();
        assert!(Durations::load(&path)
            .unwrap_err()
            .to_string()
            .contains("parse"));
    }

    #[test]
    fn only_the_newest_walls_are_kept() {
        let mut d = Durations::default();
        for ms in 1..=10 {
            d.record(&cell("steady", "eevdf"), Duration::from_millis(ms * 1000));
        }
        assert_eq!(d.estimate(&cell("steady", "eevdf")), Duration::from_secs(8));
    }
}
