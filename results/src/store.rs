//! The results store: one JSON file per run under `runs/`, and an SQLite
//! index beside them that can always be rebuilt from the files.
//!
//! ```text
//! <dir>/runs/20261202T135501Z-3fa91c0e.json   the run record, as written
//! <dir>/index.sqlite                          runs and metrics, for queries
//! ```
//!
//! Files are the truth: merging results from other machines is copying
//! their `runs/*.json` here (or [`ResultsStore::import`]); the index picks
//! up files it does not know when the store is opened.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::{Filter, ResultsError, StoredRun};

const RUNS_DIR: &str = "runs";
const INDEX_FILE: &str = "index.sqlite";
/// Bumped when the index's tables change; an index of another version is rebuilt.
const INDEX_VERSION: i64 = 1;

/// What [`ResultsStore::import`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Runs copied in.
    pub added: usize,
    /// Runs the store already had (same id).
    pub already_present: usize,
    /// Files that are not run records, each with why.
    pub rejected: Vec<String>,
}

/// A results directory, opened.
///
/// ```no_run
/// use ktstr_results::{Filter, ResultsStore};
///
/// let store = ResultsStore::open("target/ktstr")?;
/// for run in store.list(&Filter::parse(["scheduler=scx_simple"])?)? {
///     println!("{} {} {}", run.meta.id, run.meta.scenario, run.passed);
/// }
/// # Ok::<(), ktstr_results::ResultsError>(())
/// ```
pub struct ResultsStore {
    dir: PathBuf,
    index: Connection,
}

impl ResultsStore {
    /// Opens (creating when missing) the store in `dir`, and indexes run
    /// files the index does not know yet.
    ///
    /// # Errors
    ///
    /// [`ResultsError::Io`] when the directory cannot be created,
    /// [`ResultsError::Index`] when the index cannot be opened or rebuilt.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ResultsError> {
        let dir = dir.as_ref().to_path_buf();
        let runs = dir.join(RUNS_DIR);
        fs::create_dir_all(&runs)
            .map_err(ResultsError::io("create the results directory", &runs))?;
        let index_path = dir.join(INDEX_FILE);
        let index =
            Connection::open(&index_path).map_err(ResultsError::index(index_path.clone()))?;
        // Two ktstr processes may write at once; SQLite serializes them.
        index
            .busy_timeout(Duration::from_secs(10))
            .map_err(ResultsError::index(index_path.clone()))?;
        let mut store = ResultsStore { dir, index };
        store.prepare_index()?;
        store.sync()?;
        Ok(store)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a run's record is in.
    pub fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(RUNS_DIR).join(format!("{id}.json"))
    }

    /// Writes a run record (anything that serializes to one: `RunRecord`, a
    /// JSON value) and indexes it. Returns what was stored.
    ///
    /// # Errors
    ///
    /// [`ResultsError::BadRecord`] when it is not a run record,
    /// [`ResultsError::Duplicate`] when the store has that id,
    /// [`ResultsError::Io`] (disk full, say: nothing half-written is left),
    /// [`ResultsError::Index`].
    pub fn save<R: Serialize>(&self, record: &R) -> Result<StoredRun, ResultsError> {
        let value = serde_json::to_value(record).map_err(|e| ResultsError::BadRecord {
            origin: "the record to save".into(),
            why: e.to_string(),
        })?;
        let run = StoredRun::from_record(&value, "the record to save")?;
        let path = self.record_path(&run.meta.id);
        if path.exists() {
            return Err(ResultsError::Duplicate(run.meta.id));
        }
        let text = serde_json::to_vec_pretty(&value).map_err(|e| ResultsError::BadRecord {
            origin: "the record to save".into(),
            why: e.to_string(),
        })?;
        write_atomically(&path, &text)?;
        self.insert(&run, &path)?;
        Ok(run)
    }

    /// Runs matching `filter`, oldest first.
    ///
    /// # Errors
    ///
    /// [`ResultsError::Index`].
    pub fn list(&self, filter: &Filter) -> Result<Vec<StoredRun>, ResultsError> {
        let index_err = ResultsError::index(self.index_path());
        let mut q = self
            .index
            .prepare("SELECT summary FROM runs ORDER BY started_at, id")
            .map_err(&index_err)?;
        let rows = q
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&index_err)?;
        let mut out = Vec::new();
        for row in rows {
            let text = row.map_err(&index_err)?;
            let run: StoredRun =
                serde_json::from_str(&text).map_err(|e| ResultsError::BadRecord {
                    origin: format!("the index {}", self.index_path().display()),
                    why: format!("{e}\nhint: run `ktstr results reindex`"),
                })?;
            if filter.matches(&run) {
                out.push(run);
            }
        }
        Ok(out)
    }

    /// The run whose id is or starts with `id`, and its whole record.
    ///
    /// # Errors
    ///
    /// [`ResultsError::NoSuchRun`], [`ResultsError::AmbiguousId`] (naming
    /// the candidates), [`ResultsError::Io`] / [`ResultsError::BadRecord`]
    /// for a record file that went missing or bad.
    pub fn get(&self, id: &str) -> Result<(StoredRun, serde_json::Value), ResultsError> {
        let index_err = ResultsError::index(self.index_path());
        let mut q = self
            .index
            .prepare("SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 6")
            .map_err(&index_err)?;
        let ids: Vec<String> = q
            .query_map([id], |r| r.get(0))
            .map_err(&index_err)?
            .collect::<Result<_, _>>()
            .map_err(&index_err)?;
        let full = match ids.as_slice() {
            [] => return Err(ResultsError::NoSuchRun(id.to_string())),
            [one] => one.clone(),
            many => {
                return Err(ResultsError::AmbiguousId {
                    prefix: id.to_string(),
                    candidates: many.to_vec(),
                })
            }
        };
        let path = self.record_path(&full);
        let value = read_record(&path)?;
        let run = StoredRun::from_record(&value, &path.display().to_string())?;
        Ok((run, value))
    }

    /// Copies every run record under `from` (its `runs/` directory, or `from`
    /// itself) that the store does not have, and indexes it.
    ///
    /// # Errors
    ///
    /// [`ResultsError::Io`] when `from` cannot be read or a file cannot be
    /// written, [`ResultsError::Index`]. Files that are not run records are
    /// reported in [`ImportReport::rejected`], not errors.
    pub fn import(&self, from: &Path) -> Result<ImportReport, ResultsError> {
        let src = if from.join(RUNS_DIR).is_dir() {
            from.join(RUNS_DIR)
        } else {
            from.to_path_buf()
        };
        let mut report = ImportReport::default();
        for path in json_files(&src)? {
            let value = match read_record(&path) {
                Ok(v) => v,
                Err(e) => {
                    report.rejected.push(e.to_string());
                    continue;
                }
            };
            let run = match StoredRun::from_record(&value, &path.display().to_string()) {
                Ok(r) => r,
                Err(e) => {
                    report.rejected.push(e.to_string());
                    continue;
                }
            };
            let dest = self.record_path(&run.meta.id);
            if dest.exists() {
                report.already_present += 1;
                continue;
            }
            let text = fs::read(&path).map_err(ResultsError::io("read", &path))?;
            write_atomically(&dest, &text)?;
            self.insert(&run, &dest)?;
            report.added += 1;
        }
        Ok(report)
    }

    /// Drops the index and builds it again from the run files. Returns how
    /// many runs it holds and the files it could not read.
    ///
    /// # Errors
    ///
    /// [`ResultsError::Io`], [`ResultsError::Index`].
    pub fn reindex(&mut self) -> Result<(usize, Vec<String>), ResultsError> {
        let index_err = ResultsError::index(self.index_path());
        self.index
            .execute_batch("DELETE FROM metrics; DELETE FROM runs;")
            .map_err(&index_err)?;
        let rejected = self.sync()?;
        Ok((self.count()?, rejected))
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join(INDEX_FILE)
    }

    fn prepare_index(&mut self) -> Result<(), ResultsError> {
        let index_err = ResultsError::index(self.index_path());
        // Two processes may open a new store at once: the write lock taken
        // up front makes one create the tables while the other waits, then
        // finds them made.
        let tx = self
            .index
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&index_err)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&index_err)?;
        if version != INDEX_VERSION {
            tx.execute_batch(
                "DROP TABLE IF EXISTS metrics; DROP TABLE IF EXISTS runs;
                 CREATE TABLE runs (
                    id TEXT PRIMARY KEY, started_at TEXT NOT NULL, scenario TEXT NOT NULL,
                    scheduler TEXT NOT NULL, topology TEXT NOT NULL, kernel TEXT NOT NULL,
                    passed INTEGER NOT NULL, file TEXT NOT NULL, summary TEXT NOT NULL);
                 CREATE INDEX runs_by_scenario ON runs (scenario, scheduler);
                 CREATE TABLE metrics (
                    run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL,
                    value REAL NOT NULL, unit TEXT, PRIMARY KEY (run_id, name));",
            )
            .map_err(&index_err)?;
            tx.pragma_update(None, "user_version", INDEX_VERSION)
                .map_err(&index_err)?;
        }
        tx.commit().map_err(&index_err)?;
        Ok(())
    }

    /// Indexes run files the index lacks; returns files that are not records.
    fn sync(&mut self) -> Result<Vec<String>, ResultsError> {
        let index_err = ResultsError::index(self.index_path());
        let known: HashSet<String> = {
            let mut q = self
                .index
                .prepare("SELECT id FROM runs")
                .map_err(&index_err)?;
            let ids = q
                .query_map([], |r| r.get(0))
                .map_err(&index_err)?
                .collect::<Result<_, _>>()
                .map_err(&index_err)?;
            ids
        };
        let mut rejected = Vec::new();
        for path in json_files(&self.dir.join(RUNS_DIR))? {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            if stem.as_ref().is_some_and(|s| known.contains(s)) {
                continue;
            }
            let run = read_record(&path)
                .and_then(|v| StoredRun::from_record(&v, &path.display().to_string()));
            match run {
                Ok(run) if Some(&run.meta.id) == stem.as_ref() => self.insert(&run, &path)?,
                Ok(run) => rejected.push(format!(
                    "{}: holds run `{}`; a run's file is named after its id",
                    path.display(),
                    run.meta.id
                )),
                Err(e) => rejected.push(e.to_string()),
            }
        }
        Ok(rejected)
    }

    fn insert(&self, run: &StoredRun, path: &Path) -> Result<(), ResultsError> {
        let index_err = ResultsError::index(self.index_path());
        let summary = serde_json::to_string(run).map_err(|e| ResultsError::BadRecord {
            origin: path.display().to_string(),
            why: e.to_string(),
        })?;
        let m = &run.meta;
        let tx = self.index.unchecked_transaction().map_err(&index_err)?;
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO runs (id, started_at, scenario, scheduler, topology, kernel, passed, file, summary)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    m.id,
                    m.started_at,
                    m.scenario,
                    m.scheduler,
                    m.topology,
                    m.kernel,
                    run.passed,
                    path.display().to_string(),
                    summary
                ],
            )
            .map_err(&index_err)?;
        if inserted == 1 {
            for metric in &run.metrics {
                tx.execute(
                    "INSERT OR REPLACE INTO metrics (run_id, name, value, unit) VALUES (?1, ?2, ?3, ?4)",
                    params![m.id, metric.name, metric.value, metric.unit],
                )
                .map_err(&index_err)?;
            }
        }
        tx.commit().map_err(&index_err)?;
        Ok(())
    }

    /// How many runs the index holds.
    ///
    /// # Errors
    ///
    /// [`ResultsError::Index`].
    pub fn count(&self) -> Result<usize, ResultsError> {
        let n: i64 = self
            .index
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .optional()
            .map_err(ResultsError::index(self.index_path()))?
            .unwrap_or(0);
        Ok(n as usize)
    }
}

fn read_record(path: &Path) -> Result<serde_json::Value, ResultsError> {
    let text = fs::read(path).map_err(ResultsError::io("read", path))?;
    serde_json::from_slice(&text).map_err(|e| ResultsError::BadRecord {
        origin: path.display().to_string(),
        why: format!("not JSON: {e}"),
    })
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, ResultsError> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(ResultsError::io("read the directory", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Writes `path` through a temporary file in the same directory, so a
/// reader (or a crash, or a full disk) never sees half a record.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".incoming-")
        .tempfile_in(dir)
        .map_err(ResultsError::io("create a temporary file in", dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(ResultsError::io("write", path))?;
    tmp.persist_noclobber(path)
        .map_err(|e| ResultsError::io("move into place", path)(e.error))?;
    Ok(())
}
