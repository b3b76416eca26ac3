//! Regression tests for inputs that once panicked `ktstr` (exit 101 and a
//! backtrace): each is now refused before any VM starts, with exit 2 and a
//! message naming the field. No kernel or VM is needed: nothing boots.

mod common;

use std::process::Output;

/// A scenario file with `topology` and `workers` spliced in.
fn scenario(topology: &str, workers: u32) -> String {
    format!(
        "name = \"t\"\nduration_ms = 2000\n{topology}\n[[cgroups]]\nname = \"a\"\n\
         [[cgroups.workers]]\ncount = {workers}\nwork = {{ type = \"spin\" }}\n"
    )
}

/// `ktstr run -c FILE` on `text`, with a VM directory that must stay empty.
fn run_file(text: &str, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let vm = dir.path().join("vm");
    std::fs::create_dir(&vm).unwrap();
    let out = common::ktstr()
        .args(["run", "--no-results", "-c"])
        .arg(&file)
        .args(extra)
        .env("KTSTR_RUN_DIR", &vm)
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read_dir(&vm).unwrap().count(),
        0,
        "a VM was started for a bad input"
    );
    out
}

fn refused(out: &Output, names: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in names {
        assert!(stderr.contains(n), "the message must name `{n}`: {stderr}");
    }
}

fn zero_numa_nodes_is_refused_naming_the_field() {
    let t = "[topology]\nnuma_nodes = 0\nllcs = 2\ncores_per_llc = 2\nthreads_per_core = 1";
    refused(&run_file(&scenario(t, 1), &[]), &["topology", "at least 1"]);
}

fn numa_nodes_that_do_not_divide_the_llcs_are_refused() {
    let t = "[topology]\nnuma_nodes = 3\nllcs = 2\ncores_per_llc = 2\nthreads_per_core = 1";
    refused(
        &run_file(&scenario(t, 1), &[]),
        &["topology", "cannot be split evenly"],
    );
}

fn counts_that_overflow_are_refused() {
    let t = "[topology]\nnuma_nodes = 1\nllcs = 4294967295\ncores_per_llc = 4294967295\n\
             threads_per_core = 4294967295";
    refused(&run_file(&scenario(t, 1), &[]), &["topology", "CPUs"]);
}

fn an_attach_timeout_that_overflows_is_refused() {
    let out = run_file(
        &scenario("", 1),
        &["--attach-timeout", "18446744073709551615"],
    );
    refused(&out, &["--attach-timeout"]);
}

fn a_hundred_thousand_workers_are_refused_on_the_host() {
    refused(
        &run_file(&scenario("", 100_000), &[]),
        &["cgroups", "worker slots"],
    );
}

fn main() {
    common::main(common::cases![
        [] zero_numa_nodes_is_refused_naming_the_field,
        [] numa_nodes_that_do_not_divide_the_llcs_are_refused,
        [] counts_that_overflow_are_refused,
        [] an_attach_timeout_that_overflows_is_refused,
        [] a_hundred_thousand_workers_are_refused_on_the_host,
    ]);
}
