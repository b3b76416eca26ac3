//! `ktstr compare` and `ktstr results` against real runs: the real kernel,
//! QEMU, scx_simple and ktstr's fault scheduler. A scheduler compared with
//! itself shows no significant change; drastically shortened slices for one
//! cgroup are a regression (exit 1); the stored runs list, show, import
//! without duplicates, and compare again from the store.

mod common;

use common::{run, run_json};

/// Both cgroups oversubscribe the 4 CPUs, so slice lengths decide who runs.
const OVERSUBSCRIBED: &str = r#"
name = "oversubscribed"
description = "two cgroups of 4 spinners on 4 CPUs"
duration_ms = 2000

[[cgroups]]
name = "a"

[[cgroups.workers]]
count = 4
work = { type = "spin" }

[[cgroups]]
name = "b"

[[cgroups.workers]]
count = 4
work = { type = "spin" }
"#;

fn outcomes(c: &serde_json::Value, wanted: &str) -> Vec<String> {
    c["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["outcome"] == wanted)
        .map(|m| m["metric"].as_str().unwrap().to_string())
        .collect()
}

fn a_scheduler_compared_with_itself_shows_no_significant_change() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let r = results.to_str().unwrap();
    let (code, c, stderr) = run_json(&[
        "compare",
        "--a",
        "scx_simple",
        "--b",
        "scx_simple",
        "-c",
        "steady",
        "--repeat",
        "5",
        "--json",
        "--results",
        r,
    ]);
    assert_eq!(code, 0, "{c:#}\n{stderr}");
    assert!(
        stderr.contains("[1/10] A: steady") && stderr.contains("[2/10] B: steady"),
        "{stderr}"
    );
    let changes = c["changes"].as_array().unwrap();
    assert!(changes.len() >= 5, "{c:#}");
    for wanted in ["regressed", "improved"] {
        assert!(
            outcomes(&c, wanted).is_empty(),
            "{wanted}: {:?}\n{c:#}",
            outcomes(&c, wanted)
        );
    }
    let units = changes
        .iter()
        .find(|m| m["metric"] == "total_work_units")
        .unwrap();
    assert_eq!(
        (units["a"]["n"].as_u64(), units["b"]["n"].as_u64()),
        (Some(5), Some(5))
    );
    assert!(units["a"]["median"].as_f64().unwrap() > 0.0);

    // Every run was stored, from the command that ran it.
    let (code, list, _) = run_json(&[
        "results",
        "list",
        "origin=compare",
        "--json",
        "--results",
        r,
    ]);
    assert_eq!(code, 0);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 10, "{list:#}");
    let shown = run(&["results", "show", &ids[0][..20], "--results", r]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success() && text.contains("total_work_units"),
        "{text}"
    );

    // Compare again from the store, as Markdown: the same sides by id.
    let a_ids: Vec<String> = c["a"]["run_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("id={}", x.as_str().unwrap()))
        .collect();
    let b_ids: Vec<String> = c["b"]["run_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("id={}", x.as_str().unwrap()))
        .collect();
    let md = run(&[
        "compare",
        "--a",
        &a_ids.join(","),
        "--b",
        &b_ids.join(","),
        "--markdown",
        "--results",
        r,
    ]);
    let text = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&md.stderr)
    );
    assert!(
        text.contains("| | scenario | metric | A median | B median |"),
        "{text}"
    );
    assert!(text.contains("|---|---|---|---:|"), "{text}");

    // Another machine's results merge once.
    let other = dir.path().join("other");
    let o = other.to_str().unwrap();
    for expected in ["imported 10 run(s)", "imported 0 run(s)"] {
        let out = run(&["results", "import", r, "--results", o]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains(expected), "{text}");
    }
    let (_, list, _) = run_json(&["results", "list", "--json", "--results", o]);
    assert_eq!(list.as_array().unwrap().len(), 10);
}

fn drastically_shorter_slices_for_one_cgroup_are_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("oversubscribed.toml");
    std::fs::write(&scenario, OVERSUBSCRIBED).unwrap();
    let junit = dir.path().join("compare.xml");
    let html = dir.path().join("compare.html");
    let results = dir.path().join("results");
    let (code, c, stderr) = run_json(&[
        "compare",
        "--a",
        "scx_ktstr_fault -c a",
        "--b",
        "scx_ktstr_fault -c a -u 5",
        "-c",
        scenario.to_str().unwrap(),
        "--repeat",
        "5",
        "--json",
        "--junit",
        junit.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "a regression exits 1\n{c:#}\n{stderr}");
    let regressed = outcomes(&c, "regressed");
    assert!(
        regressed.iter().any(|m| m == "cgroup.a.work_units"),
        "{regressed:?}\n{c:#}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<figure class=\"plot comparison\"><svg")
            && page.contains("cgroup.a.work_units")
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure") && xml.contains("cgroup.a.work_units"),
        "{xml}"
    );
}

fn compare_refuses_mixed_sides_and_bad_filters() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().to_str().unwrap();
    let out = run(&[
        "compare",
        "--a",
        "scx_simple",
        "--b",
        "scheduler=eevdf",
        "--results",
        r,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("both sides are schedulers to run now"));
    let out = run(&[
        "compare",
        "--a",
        "colour=red",
        "--b",
        "scheduler=eevdf",
        "--results",
        r,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown key `colour`") && err.contains("scheduler"),
        "{err}"
    );
    let out = run(&[
        "compare",
        "--a",
        "scheduler=scx_simple",
        "--b",
        "scheduler=eevdf",
        "--results",
        r,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no stored run matches"));
    let out = run(&["results", "show", "nope", "--results", r]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run `nope`"));
}

fn main() {
    common::main(common::cases![
        [common::vm_missing] a_scheduler_compared_with_itself_shows_no_significant_change,
        [common::vm_missing] drastically_shorter_slices_for_one_cgroup_are_a_regression,
        [] compare_refuses_mixed_sides_and_bad_filters,
    ]);
}
