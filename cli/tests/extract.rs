//! `ktstr extract` on saved tool output: metrics, details, violations and exit codes, with
//! built-in adapters and with plugins loaded by `--plugin` and `$KTSTR_ADAPTER_PATH`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn ktstr() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ktstr"))
}

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../adapters/json/tests/data")
        .join(name);
    path.to_str().unwrap().to_string()
}

/// Runs `ktstr extract ARGS`, feeding `stdin`, with `$KTSTR_ADAPTER_PATH` set to `adapter_path`.
fn run(args: &[&str], stdin: &str, adapter_path: Option<&Path>) -> Output {
    let mut cmd = ktstr();
    cmd.arg("extract")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match adapter_path {
        Some(path) => cmd.env("KTSTR_ADAPTER_PATH", path),
        None => cmd.env_remove("KTSTR_ADAPTER_PATH"),
    };
    let mut child = cmd.spawn().expect("spawn ktstr");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn extract(args: &[&str], stdin: &str) -> Output {
    run(args, stdin, None)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// The plugin crates, built together (as the adapter crate's tests build them).
const PLUGINS: [&str; 4] = [
    "ktstr-adapter-json-plugin",
    "ktstr-adapter-exitcode-plugin",
    "ktstr-adapter-example-kv",
    "ktstr-adapter-test-incompatible",
];

/// A plugin crate of this workspace, built into the test's target directory.
fn plugin(package: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let profile_dir = Path::new(env!("CARGO_BIN_EXE_ktstr")).parent().unwrap();
    BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet"])
            .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
        for p in PLUGINS {
            cmd.args(["-p", p]);
        }
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        assert!(cmd.status().unwrap().success(), "{cmd:?} failed");
    });
    profile_dir.join(format!("lib{}.so", package.replace('-', "_")))
}

#[test]
fn json_on_fio_output_prints_metrics_as_json() {
    let out = extract(
        &["--adapter", "Json", "--json", &data("fio_randread.json")],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["adapter"]["name"], "Json");
    assert_eq!(report["origin"], "built-in");
    assert_eq!(report["ok"], true);
    let iops = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "jobs.0.read.iops")
        .unwrap();
    assert_eq!(
        (&iops["stream"], &iops["source"]),
        (&"stdout".into(), &"Json".into())
    );
}

#[test]
fn human_output_from_stdin() {
    let out = extract(
        &["--adapter", "json", "--hint", "lat.p99:lower:us", "-"],
        "run 1\n{\"lat\": {\"p99\": 12.5}, \"ops\": 3}\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "Json 0.1.0 (built-in) on `-`: 2 metric(s)\n\
         \x20 lat.p99          12.5  us      stdout\n\
         \x20 ops                 3          stdout\n\
         details:\n\
         \x20 stdout: read the JSON document at bytes 6..38 of 39: 2 numeric value(s)\n\
         ok\n"
    );
}

#[test]
fn stderr_file_is_read_when_stdout_has_no_document() {
    let out = extract(
        &[
            "--adapter",
            "Json",
            "--json",
            "--stderr",
            &data("cyclictest.json"),
            "-",
        ],
        "no json here\n",
    );
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    let metrics = report["metrics"].as_array().unwrap();
    assert!(metrics.iter().all(|m| m["stream"] == "stderr"));
    assert!(metrics
        .iter()
        .any(|m| m["name"] == "thread.0.max" && m["value"] == 100.0));
}

#[test]
fn no_metrics_exits_1() {
    let out = extract(&["--adapter", "Json", "-"], "nothing to see\n");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("violations:\n  no metrics were extracted\nFAILED: 1 violation(s)\n"),
        "{stdout}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = extract(&["--adapter", "Yaml", "-"], "");
    assert_eq!(out.status.code(), Some(2));
    // The bundled LlmExtract plugin is listed too when it is built beside ktstr.
    let err = text(&out.stderr);
    assert!(
        err.starts_with(
            "error: unknown adapter `Yaml`\n  hint: available adapters: Json, ExitCode"
        ),
        "{err}"
    );

    let out = extract(&["--adapter", "Json", "/nonexistent/output.txt"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr)
        .starts_with("error: failed to read captured output `/nonexistent/output.txt`"));

    let out = extract(&["--adapter", "Json", "--hint", "lat:sideways", "-"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown polarity `sideways`"),
        "{}",
        text(&out.stderr)
    );

    let out = extract(&["-"], "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an adapter or a spec is required"
    );
}

#[test]
fn exit_code_adapter() {
    let out = extract(
        &["--adapter", "ExitCode", "--exit-code", "-3", "--json", "-"],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    assert_eq!(report["metrics"][0]["name"], "exit_code");
    assert_eq!(report["metrics"][0]["value"], -3.0);
    assert_eq!(report["metrics"][0]["stream"], "exit");
}

#[test]
fn spec_checks_and_bounds_decide_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("cyclictest.toml");
    std::fs::write(
        &failing,
        r#"
name = "cyclictest"
binary = "cyclictest"
args = ["-t2", "--json=/dev/stdout"]
adapter = "json"
hints = [{ name = "thread.0.max", polarity = "lower_better", unit = "us" }]
checks = [
  { check = "max", metric = "thread.0.max", value = 50 },
  { check = "exists", metric = "thread.2.max" },
  { check = "exit_code_equals", code = 0 },
]
bounds = { min_count = 5, ceiling = 1000 }
"#,
    )
    .unwrap();
    let out = extract(
        &[
            "--spec",
            failing.to_str().unwrap(),
            "--exit-code",
            "0",
            &data("cyclictest.json"),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("  thread.0.max ") && l.ends_with(" 100  us      stdout")),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(
            "violations:\n  metric `thread.0.max` = 100 is above the maximum 50\n  \
         metric `thread.2.max` was not extracted\nFAILED: 2 violation(s)\n"
        ),
        "{stdout}"
    );

    let passing = dir.path().join("cyclictest.json");
    let spec = r#"{"name": "ct", "binary": "cyclictest", "adapter": "json",
                   "checks": [{"check": "range", "metric": "thread.1.avg", "min": 1, "max": 500}]}"#;
    std::fs::write(&passing, spec).unwrap();
    let out = extract(
        &[
            "--spec",
            passing.to_str().unwrap(),
            &data("cyclictest.json"),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    std::fs::write(&passing, r#"{"binary": "x"}"#).unwrap();
    let out = extract(&["--spec", passing.to_str().unwrap(), "-"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: failed to parse payload definition"));
}

#[test]
fn plugin_loaded_by_path() {
    let kv = plugin("ktstr-adapter-example-kv");
    let out = extract(
        &[
            "--adapter",
            "KeyValue",
            "--plugin",
            kv.to_str().unwrap(),
            "--json",
            "-",
        ],
        "Time: 0.153\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["origin"], "plugin");
    assert_eq!(report["plugin"], kv.to_str().unwrap());
    assert_eq!(report["metrics"][0]["name"], "Time");
    assert_eq!(report["metrics"][0]["value"], 0.153);
}

#[test]
fn plugin_found_through_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin("ktstr-adapter-example-kv"), dir.path().join("kv.so")).unwrap();
    let out = run(
        &["--adapter", "keyvalue", "-"],
        "avg = 12.5 ms\n",
        Some(dir.path()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("  avg          12.5  ms      stdout\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn incompatible_plugin_is_refused() {
    let bad = plugin("ktstr-adapter-test-incompatible");
    let out = extract(
        &["--adapter", "Json", "--plugin", bad.to_str().unwrap(), "-"],
        "{\"a\": 1}",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: adapter plugin `{}` is incompatible with this ktstr: ",
            bad.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("hint: rebuild the plugin against ktstr-adapters 0.1\n"),
        "{stderr}"
    );

    // Through the environment it is only a warning: the built-in adapters still work.
    let out = run(&["--adapter", "Json", "-"], "{\"a\": 1}", Some(&bad));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).starts_with("warning: adapter plugin `"),
        "{}",
        text(&out.stderr)
    );
}
