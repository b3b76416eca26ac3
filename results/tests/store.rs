//! The results store on a real directory and a real SQLite index: save,
//! list by filter, get by id prefix, import with duplicates, reindex,
//! and the files that are not run records.

use ktstr_model::HintPolarity;
use ktstr_results::{
    Filter, HostInfo, ResultsError, ResultsStore, RunMeta, RunMetric, RunOrigin, StoredRun,
    RUN_RECORD_SCHEMA,
};
use serde_json::json;

fn run(id: &str, scheduler: &str, scenario: &str, passed: bool, units: f64) -> serde_json::Value {
    let r = StoredRun {
        schema: RUN_RECORD_SCHEMA,
        meta: RunMeta {
            id: id.into(),
            started_at: format!("2026-12-02T14:{}:00Z", &id[11..13]),
            origin: RunOrigin::Harness,
            scenario: scenario.into(),
            scheduler: scheduler.into(),
            scheduler_build: Default::default(),
            topology: "1n2l2c1t".into(),
            backend: "qemu".into(),
            accel: "tcg".into(),
            kernel: "258dfc47bb81".into(),
            kernel_build: Default::default(),
            host: HostInfo::this_machine(),
        },
        passed,
        failure: None,
        wall_ms: 8000.0,
        metrics: vec![RunMetric::new(
            "total_work_units",
            units,
            "units",
            Some(HintPolarity::HigherBetter),
        )],
    };
    // A record carries more than the store reads: it must keep it.
    let mut v = serde_json::to_value(&r).unwrap();
    v["verdict"] = json!({"checks": [{"name": "fairness", "status": "pass"}]});
    v
}

#[test]
fn saved_runs_are_listed_filtered_and_found_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = ResultsStore::open(dir.path()).unwrap();
    store
        .save(&run(
            "20261202T140000Z-aaaa0001",
            "scx_simple",
            "steady",
            true,
            100.0,
        ))
        .unwrap();
    store
        .save(&run(
            "20261202T140100Z-bbbb0002",
            "eevdf",
            "steady",
            true,
            120.0,
        ))
        .unwrap();
    store
        .save(&run(
            "20261202T140200Z-cccc0003",
            "scx_simple",
            "mixed",
            false,
            90.0,
        ))
        .unwrap();

    let all = store.list(&Filter::default()).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].meta.id, "20261202T140000Z-aaaa0001", "oldest first");
    let simple = store
        .list(&Filter::parse(["scheduler=scx_simple"]).unwrap())
        .unwrap();
    assert_eq!(simple.len(), 2);
    let either = Filter::parse(["scenario=mixed", "scenario=steady", "passed=true"]).unwrap();
    assert_eq!(store.list(&either).unwrap().len(), 2);

    let (found, record) = store.get("20261202T1402").unwrap();
    assert_eq!(found.meta.scenario, "mixed");
    assert_eq!(record["verdict"]["checks"][0]["name"], "fairness");
    assert!(matches!(
        store.get("20261202T14"),
        Err(ResultsError::AmbiguousId { .. })
    ));
    assert!(matches!(store.get("1999"), Err(ResultsError::NoSuchRun(_))));
    assert!(matches!(
        store.save(&run("20261202T140000Z-aaaa0001", "x", "steady", true, 1.0)),
        Err(ResultsError::Duplicate(_))
    ));
    // Nothing half-written is left beside the records.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".incoming"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn importing_another_store_merges_without_duplicates() {
    let (mine, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = ResultsStore::open(mine.path()).unwrap();
    let b = ResultsStore::open(theirs.path()).unwrap();
    a.save(&run(
        "20261202T140000Z-aaaa0001",
        "scx_simple",
        "steady",
        true,
        100.0,
    ))
    .unwrap();
    b.save(&run(
        "20261202T140000Z-aaaa0001",
        "scx_simple",
        "steady",
        true,
        100.0,
    ))
    .unwrap();
    b.save(&run(
        "20261202T140500Z-dddd0004",
        "scx_simple",
        "steady",
        true,
        101.0,
    ))
    .unwrap();
    std::fs::write(theirs.path().join("runs/notes.json"), "{\"hello\": 1}").unwrap();

    let report = a.import(theirs.path()).unwrap();
    assert_eq!((report.added, report.already_present), (1, 1));
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert!(
        report.rejected[0].contains("notes.json"),
        "{:?}",
        report.rejected
    );
    assert_eq!(a.count().unwrap(), 2);
    // Again: nothing new.
    let again = a.import(theirs.path()).unwrap();
    assert_eq!((again.added, again.already_present), (0, 2));
}

#[test]
fn the_index_is_rebuilt_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = ResultsStore::open(dir.path()).unwrap();
        store
            .save(&run(
                "20261202T140000Z-aaaa0001",
                "scx_simple",
                "steady",
                true,
                100.0,
            ))
            .unwrap();
    }
    // Files copied in by hand (a CI artifact) are indexed on open.
    let copied = run("20261202T140900Z-eeee0005", "eevdf", "steady", true, 99.0);
    std::fs::write(
        dir.path().join("runs/20261202T140900Z-eeee0005.json"),
        serde_json::to_vec(&copied).unwrap(),
    )
    .unwrap();
    // A lost index is rebuilt.
    std::fs::remove_file(dir.path().join("index.sqlite")).unwrap();
    let mut store = ResultsStore::open(dir.path()).unwrap();
    assert_eq!(store.count().unwrap(), 2);
    // A truncated record is reported, not indexed, not fatal.
    std::fs::write(
        dir.path().join("runs/20261202T141000Z-ffff0006.json"),
        "{\"schema\": 2, \"id\"",
    )
    .unwrap();
    let (n, rejected) = store.reindex().unwrap();
    assert_eq!(n, 2);
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].contains("not JSON"), "{rejected:?}");
}

#[test]
fn records_of_another_schema_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = ResultsStore::open(dir.path()).unwrap();
    let mut old = run(
        "20261202T140000Z-aaaa0001",
        "scx_simple",
        "steady",
        true,
        1.0,
    );
    old["schema"] = json!(1);
    let e = store.save(&old).unwrap_err().to_string();
    assert!(e.contains("schema 1 is not 2"), "{e}");
    let mut bad = run(
        "20261202T140000Z-aaaa0001",
        "scx_simple",
        "steady",
        true,
        1.0,
    );
    bad["id"] = json!("../../etc/passwd");
    let e = store.save(&bad).unwrap_err().to_string();
    assert!(e.contains("is not letters, digits"), "{e}");
}

#[test]
fn many_processes_opening_a_new_store_at_once_all_succeed() {
    // Threads stand in for processes: each has its own SQLite connection,
    // as two ktstr processes do.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = ResultsStore::open(&path).unwrap();
                store
                    .save(&run(
                        &format!("20261202T14{i:02}00Z-aaaa00{i:02}"),
                        "scx_simple",
                        "steady",
                        true,
                        1.0,
                    ))
                    .unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(ResultsStore::open(&path).unwrap().count().unwrap(), 8);
}
